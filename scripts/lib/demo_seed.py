#!/usr/bin/env python3
"""Seeds a moto server (the AWS emulator) with what `scripts/demo` shows: three VPCs whose flow
logs reach vpcflow-ipfix by the three inputs, and sample traffic for each.

    .venv/bin/python scripts/lib/demo_seed.py ENDPOINT setup  > demo.json
    .venv/bin/python scripts/lib/demo_seed.py ENDPOINT traffic ROUND < demo.json

`setup` creates, in account 123456789012 / us-east-1:
  - VPC demo-web:  subnet, instance web-1; flow log (default v2 format) -> CloudWatch Logs group
                   demo-web-flow-logs, which the agent polls (GetLogEvents)
  - VPC demo-data: subnet, instance db-1; flow log (custom v5 format) -> S3 bucket
                   demo-data-flow-logs, whose ObjectCreated notifications go to SQS queue
                   demo-data-flow-logs-events
  - VPC demo-app:  subnet, instance app-1; flow log (v2 + flow-direction + reject-reason) ->
                   CloudWatch Logs group demo-app-flow-logs, subscribed to Kinesis stream
                   demo-app-flow-stream (moto forwards its events as CloudWatch Logs does)
then writes round 0 of the traffic and prints one JSON object: the resource ids, the queue URL,
the stream ARN and `flows`, the number of flow records (log-status OK) written.

`traffic ROUND` writes one more round (same sample lines, times moved to now) and prints
{"flows": N}.

The traffic is three sample flow-log files of fixtures/flowlogs/ (copied from
shared/reference/samples): each line keeps its addresses, ports, protocol, counters, action and
status; its account, interface, VPC, subnet and instance columns are replaced by the resources
created here, and its start/end by recent times, so the records describe this emulated VPC.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator_client import ACCOUNT, REGION, client  # noqa: E402

RETRIES = {"max_attempts": 2}
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "flowlogs"

WEB_GROUP = "demo-web-flow-logs"
APP_GROUP = "demo-app-flow-logs"
BUCKET = "demo-data-flow-logs"
QUEUE = "demo-data-flow-logs-events"
STREAM = "demo-app-flow-stream"

# (fixture file, which VPC's resources replace its ids)
WEB_SAMPLE = "default-v2.log"
DATA_SAMPLE = "custom-v5.log"
APP_SAMPLE = "custom-v8-reject-reason.log"



def sample(name: str) -> tuple[str, list[str]]:
    """(header line, data lines) of a fixture file."""
    lines = [ln.rstrip("\r\n") for ln in (FIXTURES / name).read_text().splitlines() if ln.strip()]
    return lines[0], lines[1:]


def retarget(header: str, lines: list[str], vpc: dict, shift_to: int) -> tuple[list[str], int]:
    """The lines with this VPC's ids and times ending at `shift_to`; and how many are flows (OK)."""
    cols = header.split()
    idx = {c: i for i, c in enumerate(cols)}
    starts = [int(ln.split()[idx["start"]]) for ln in lines if "start" in idx and ln.split()[idx["start"]] != "-"]
    ends = [int(ln.split()[idx["end"]]) for ln in lines if "end" in idx and ln.split()[idx["end"]] != "-"]
    offset = shift_to - max(ends) if ends else 0
    if starts and offset < 0:
        offset = 0
    out, flows = [], 0
    for ln in lines:
        f = ln.split()
        for col, value in (
            ("account-id", ACCOUNT),
            ("interface-id", vpc["eni_id"]),
            ("vpc-id", vpc["vpc_id"]),
            ("subnet-id", vpc["subnet_id"]),
            ("instance-id", vpc["instance_id"]),
        ):
            if col in idx and f[idx[col]] != "-":
                f[idx[col]] = value
        for col in ("start", "end"):
            if col in idx and f[idx[col]] != "-":
                f[idx[col]] = str(int(f[idx[col]]) + offset)
        if f[idx["log-status"]] == "OK":
            flows += 1
        out.append(" ".join(f))
    return out, flows


def create_flow_log(ec2, vpc_id: str, header: str | None = None, **destination) -> str:
    """A VPC flow log of all traffic to `destination` (CreateFlowLogs arguments), in the format
    of `header` (a sample file's header line) when given, else the default one; its id."""
    fmt = {"LogFormat": " ".join("${" + c + "}" for c in header.split())} if header else {}
    return ec2.create_flow_logs(
        ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL", **destination, **fmt
    )["FlowLogIds"][0]


def make_vpc(ec2, name: str, cidr: str, instance_name: str) -> dict:
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": name}])
    subnet_cidr = cidr.replace("0.0/16", "1.0/24")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr, AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": f"{name}-a"}])
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": instance_name}]}],
    )["Instances"][0]
    eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    return {
        "name": name,
        "vpc_id": vpc,
        "subnet_id": subnet,
        "instance_id": inst["InstanceId"],
        "instance_name": instance_name,
        "private_ip": inst["PrivateIpAddress"],
        "eni_id": eni,
    }


def setup(ep: str) -> dict:
    ec2, logs, s3, sqs, kinesis = (client(ep, s, retries=RETRIES) for s in ("ec2", "logs", "s3", "sqs", "kinesis"))
    role = f"arn:aws:iam::{ACCOUNT}:role/demo-flow-logs-delivery"
    web = make_vpc(ec2, "demo-web", "10.10.0.0/16", "web-1")
    data = make_vpc(ec2, "demo-data", "10.20.0.0/16", "db-1")
    app = make_vpc(ec2, "demo-app", "10.30.0.0/16", "app-1")

    # demo-web: flow log to a log group the agent polls.
    logs.create_log_group(logGroupName=WEB_GROUP)
    web["flow_log_id"] = create_flow_log(
        ec2,
        web["vpc_id"],
        LogDestinationType="cloud-watch-logs",
        LogGroupName=WEB_GROUP,
        DeliverLogsPermissionArn=role,
    )

    # demo-data: flow log to S3, notifications to SQS.
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    data_header, _ = sample(DATA_SAMPLE)
    data["flow_log_id"] = create_flow_log(
        ec2, data["vpc_id"], data_header, LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{BUCKET}"
    )

    # demo-app: flow log to a log group subscribed to a Kinesis stream.
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    logs.create_log_group(logGroupName=APP_GROUP)
    logs.put_subscription_filter(
        logGroupName=APP_GROUP,
        filterName="to-kinesis",
        filterPattern="",
        destinationArn=stream_arn,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/demo-cwl-to-kinesis",
    )
    app_header, _ = sample(APP_SAMPLE)
    app["flow_log_id"] = create_flow_log(
        ec2,
        app["vpc_id"],
        app_header,
        LogDestinationType="cloud-watch-logs",
        LogGroupName=APP_GROUP,
        DeliverLogsPermissionArn=role,
    )

    state = {
        "account": ACCOUNT,
        "region": REGION,
        "vpcs": {"web": web, "data": data, "app": app},
        "cwl_group": WEB_GROUP,
        "kinesis_group": APP_GROUP,
        "bucket": BUCKET,
        "queue_url": url,
        "stream_arn": stream_arn,
    }
    state["flows"] = traffic(ep, state, 0)["flows"]
    return state


def put_events(logs, group: str, stream: str, lines: list[str]) -> None:
    existing = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
    if stream not in existing:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t0 = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t0 + k, "message": ln} for k, ln in enumerate(lines)],
    )


def traffic(ep: str, state: dict, round_no: int) -> dict:
    """One round of sample traffic through each of the three paths; returns the flow count."""
    logs, s3 = client(ep, "logs", retries=RETRIES), client(ep, "s3", retries=RETRIES)
    now = int(time.time())
    vpcs = state["vpcs"]
    flows = 0

    header, lines = sample(WEB_SAMPLE)
    lines, n = retarget(header, lines, vpcs["web"], now)
    put_events(logs, state["cwl_group"], f"{vpcs['web']['eni_id']}-all", lines)
    flows += n

    header, lines = sample(DATA_SAMPLE)
    lines, n = retarget(header, lines, vpcs["data"], now)
    stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(now))
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    key = (
        f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/{day}/"
        f"{ACCOUNT}_vpcflowlogs_{REGION}_{vpcs['data']['flow_log_id']}_{stamp}_{round_no:08x}.log.gz"
    )
    body = "\n".join([header] + lines) + "\n"
    s3.put_object(Bucket=state["bucket"], Key=key, Body=gzip.compress(body.encode()))
    flows += n

    header, lines = sample(APP_SAMPLE)
    lines, n = retarget(header, lines, vpcs["app"], now)
    put_events(logs, state["kinesis_group"], f"{vpcs['app']['eni_id']}-all", lines)
    flows += n
    return {"flows": flows}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("setup", "traffic"):
        print(__doc__, file=sys.stderr)
        return 2
    ep = argv[0]
    if argv[1] == "setup":
        out = setup(ep)
    else:
        out = traffic(ep, json.load(sys.stdin), int(argv[2]) if len(argv) > 2 else 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
