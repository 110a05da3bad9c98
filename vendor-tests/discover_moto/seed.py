"""Seeds a running moto_server for the Rust vendor test `discover_moto.rs` (botocore, signature
checking off) with the estate of scripts/fixtures/capture_moto_inventory.py, and prints what
botocore sees in it, so the test can check that `vpcflow-ipfix discover` finds exactly that.

    .venv/bin/python vendor-tests/discover_moto/seed.py http://127.0.0.1:PORT

The estate: account 123456789012 (IAM user `discover`, allowed everything) with VPCs prod
(NAT gateway, endpoints, peering, transit gateway, six instances) and shared, flow logs to
CloudWatch Logs (one group subscribed to Kinesis stream vpc-flow-stream) and to bucket
flow-logs-a (notifying SQS queue flow-logs-a-events); account 222222222222 reached through
AssumeRole (role Discover, external id externalID-2, which may not
logs:DescribeSubscriptionFilters) with VPC analytics, its flow logs to /vpc/analytics and to
bucket flow-logs-b in eu-west-1.

Prints one JSON object:
  {"user": {"access_key", "secret_key"},
   "role": ARN, "external_id": ID,
   "accounts": {ACCOUNT_ID: {REGION: {"vpcs": {ID: NAME or null}, "flow_logs": [ID...],
                                      "log_groups": [NAME...], "streams": [ARN...]}}},
   "buckets": {NAME: {"region": R, "queue_url": URL}}}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))

import capture_moto_inventory as estate  # noqa: E402

BOOTSTRAP = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
ACCOUNTS = {"123456789012": None, estate.ACCOUNT_B: estate.ACCOUNT_B}


def main() -> None:
    endpoint = sys.argv[1]
    key, secret = estate.build_estate(endpoint)
    accounts: dict = {}
    for account_id, header in ACCOUNTS.items():
        client = estate.clients(endpoint, *BOOTSTRAP, account=header)
        regions = accounts.setdefault(account_id, {})
        for region in estate.REGIONS:
            ec2 = client("ec2", region)
            vpcs = {}
            for v in ec2.describe_vpcs()["Vpcs"]:
                names = [t["Value"] for t in v.get("Tags", []) if t["Key"] == "Name"]
                vpcs[v["VpcId"]] = names[0] if names else None
            flow_logs = ec2.describe_flow_logs()["FlowLogs"]
            groups = sorted({f["LogGroupName"] for f in flow_logs if f.get("LogDestinationType") == "cloud-watch-logs"})
            streams = set()
            logs = client("logs", region)
            for g in groups:
                for f in logs.describe_subscription_filters(logGroupName=g)["subscriptionFilters"]:
                    if ":kinesis:" in f["destinationArn"]:
                        streams.add(f["destinationArn"])
            regions[region] = {
                "vpcs": vpcs,
                "flow_logs": sorted(f["FlowLogId"] for f in flow_logs),
                "log_groups": groups,
                "streams": sorted(streams),
            }
    buckets = {}
    for bucket, region, header in [("flow-logs-a", "us-east-1", None), ("flow-logs-b", "eu-west-1", estate.ACCOUNT_B)]:
        sqs = estate.clients(endpoint, *BOOTSTRAP, account=header)("sqs", region)
        url = sqs.get_queue_url(QueueName=f"{bucket}-events")["QueueUrl"]
        buckets[bucket] = {"region": region, "queue_url": url}
    print(json.dumps({
        "user": {"access_key": key, "secret_key": secret},
        "role": estate.ROLE_B,
        "external_id": estate.EXTERNAL_ID_B,
        "accounts": accounts,
        "buckets": buckets,
    }))


if __name__ == "__main__":
    main()
