"""`vpcflow-ipfix run` against moto: enriched IPFIX decoded by ipfixDump and nfacctd, the scheduled
inventory refresh, and the Kinesis input's CloudWatch metrics.

moto is seeded (boto3, signature checking off) with a VPC and a subnet with Name tags, an instance
with a Name tag, a NAT gateway, an interface VPC endpoint and an active peering connection to a
second VPC; a Kinesis stream fed by a CloudWatch Logs subscription carries default-format (v2)
flow-log lines of the instance's ENI whose remote addresses are the NAT gateway's, the endpoint's,
the peer VPC's, the own VPC's and an S3 range of the configured ip-ranges file. The v2 format has
no VPC, subnet or instance: everything below comes from the agent's inventory.

One agent run (cron ``* * * * *``, metrics_level SUMMARY) exports to ipfixDump and nfacctd at once:
- every record carries instanceName, vpcName, subnetName, availabilityZone, pathKind (nat-gateway,
  vpc-endpoint, peering, local), remoteAwsService/remoteAwsRegion, and the VPC id the line lacks;
- its observation domain is the one state_dir/exporters.json gives the VPC, and the domain naming
  options record says ``vpc-… prod-vpc``;
- a VPC created after the start gets its exporter (exporters.json, ids of the others unchanged) at
  the next scheduled refresh, and its records are enriched;
- PutMetricData reaches moto: GetMetricData returns RecordsProcessed equal to the stream's records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import peers as peers_mod
from harness import wait_for
from moto import BOOTSTRAP_KEYS, REGION, MotoServer

STREAM = "enrich-flows"
GROUP = "enrich-group"
ACCOUNT = "123456789012"
# A refresh runs at every minute boundary; the late VPC shows at the first one after it exists.
# The S3 line's path is "unknown": moto's main route table has only the local route.
REFRESH_WAIT = 95.0
# The primitives nfacctd prints (a record with all of ours exceeds what its core hands a plugin).
NFACCTD_PRIMITIVES = (
    "vpc_id",
    "instance_name",
    "vpc_name",
    "subnet_name",
    "availability_zone",
    "path_kind",
    "remote_aws_service",
    "remote_aws_region",
)


def client(moto: MotoServer, service: str):
    return boto3.client(
        service,
        endpoint_url=moto.endpoint,
        region_name=REGION,
        aws_access_key_id=BOOTSTRAP_KEYS[0],
        aws_secret_access_key=BOOTSTRAP_KEYS[1],
        config=Config(retries={"max_attempts": 2}),
    )


def named(name: str, kind: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def seed_network(moto: MotoServer) -> dict:
    """The VPC, its subnet, instance, NAT gateway, endpoint, and a peered VPC."""
    ec2 = client(moto, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=named("prod-vpc", "vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock="10.10.1.0/24",
        AvailabilityZone="us-east-1a",
        TagSpecifications=named("app-subnet", "subnet"),
    )["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        TagSpecifications=named("web-1", "instance"),
    )["Instances"][0]
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sqs", VpcEndpointType="Interface", SubnetIds=[subnet]
    )["VpcEndpoint"]
    endpoint_eni = endpoint["NetworkInterfaceIds"][0]
    endpoint_ip = ec2.describe_network_interfaces(NetworkInterfaceIds=[endpoint_eni])["NetworkInterfaces"][0][
        "PrivateIpAddress"
    ]
    peer = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=named("peer-vpc", "vpc"))["Vpc"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer)["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    return {
        "vpc": vpc,
        "peer_vpc": peer,
        "eni": inst["NetworkInterfaces"][0]["NetworkInterfaceId"],
        "ip": inst["PrivateIpAddress"],
        "nat_ip": nat["NatGatewayAddresses"][0]["PrivateIp"],
        "endpoint_ip": endpoint_ip,
    }


def seed_late_vpc(moto: MotoServer) -> dict:
    ec2 = client(moto, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16", TagSpecifications=named("late-vpc", "vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1b", TagSpecifications=named("late-subnet", "subnet")
    )["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=named("late-1", "instance")
    )["Instances"][0]
    return {"vpc": vpc, "eni": inst["NetworkInterfaces"][0]["NetworkInterfaceId"], "ip": inst["PrivateIpAddress"]}


def seed_stream(moto: MotoServer) -> str:
    """A one-shard stream and a log group subscribed to it (moto delivers events as CWL does)."""
    kinesis, logs = client(moto, "kinesis"), client(moto, "logs")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    logs.create_log_group(logGroupName=GROUP)
    logs.put_subscription_filter(
        logGroupName=GROUP,
        filterName="to-kinesis",
        filterPattern="",
        destinationArn=arn,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/CWLtoKinesis",
    )
    return arn


def flow_line(eni: str, src: str, dst: str, octets: int) -> str:
    # v2 default format; `octets` tells the lines apart at the collectors.
    return f"2 {ACCOUNT} {eni} {src} {dst} 49152 443 6 10 {octets} 1768478340 1768478399 ACCEPT OK"


def put_lines(moto: MotoServer, stream: str, lines: list[str]) -> None:
    logs = client(moto, "logs")
    existing = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]}
    if stream not in existing:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    t0 = int(time.time() * 1000) - 1000
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": t0 + i, "message": m} for i, m in enumerate(lines)],
    )


def stream_record_count(moto: MotoServer) -> int:
    kinesis = client(moto, "kinesis")
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    return len(kinesis.get_records(ShardIterator=it, Limit=10000)["Records"])


def metric_sum(moto: MotoServer, metric: str) -> float:
    cw = client(moto, "cloudwatch")
    now = time.time()
    shard = "shardId-000000000000"
    out = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": f"vpcflow-ipfix/{STREAM}",
                        "MetricName": metric,
                        "Dimensions": [
                            {"Name": "Operation", "Value": "ProcessTask"},
                            {"Name": "ShardId", "Value": shard},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - 3600,
        EndTime=now + 600,
    )
    return sum(out["MetricDataResults"][0]["Values"])


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def domains(state: Path) -> dict[str, dict]:
    return {d["vpc_id"]: d for d in read_json(state / "exporters.json").get("domains", [])}


@dataclass
class Scenario:
    net: dict
    late: dict
    lines: dict[int, tuple[str, dict]]  # octets -> (what, the network it belongs to)
    exporters_first: dict[str, dict]
    exporters_last: dict[str, dict]
    ipfixdump: peers_mod.IpfixDumpPeer
    nfacctd: peers_mod.NfacctdPeer
    records_in_stream: int
    records_processed: float
    bytes_processed: float
    agent_log: str
    exit_code: int


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, vpcflow_bin, ipfix_element_file, pmacct_primitives_file, repo_root) -> Scenario:
    work = tmp_path_factory.mktemp("enrich-moto")
    state = work / "state"
    with MotoServer(work / "moto") as moto:
        net = seed_network(moto)
        stream_arn = seed_stream(moto)
        ix = peers_mod.IpfixDumpPeer(work, "udp", element_files=[ipfix_element_file])
        wanted = [
            line
            for line in pmacct_primitives_file.read_text().splitlines()
            if any(f"name={n}\t" in line or f"name={n} " in line for n in NFACCTD_PRIMITIVES)
        ]
        prim = work / "enrich-primitives.lst"
        prim.write_text("\n".join(wanted) + "\n")
        nf = peers_mod.NfacctdPeer(work, primitives_file=prim)
        ix.start()
        nf.start()
        config = work / "vpcflow.ini"
        config.write_text(
            f"[agent]\nstate_dir = {state}\ninventory_refresh = * * * * *\nstatus_interval = 5s\n"
            f"[aws]\nregions = {REGION}\nip_ranges_file = {repo_root / 'fixtures/ip-ranges/ip-ranges.sample.json'}\n"
            "[kinesis]\ninitial_position = TRIM_HORIZON\nmetrics_level = SUMMARY\n"
            f"[ipfix]\ncollector = {ix.address}\ncollector = {nf.address}\nexporter_pool = 10.255.0.0/16\n"
            f"[input kinesis:{stream_arn}]\n"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(work),
            "AWS_ACCESS_KEY_ID": BOOTSTRAP_KEYS[0],
            "AWS_SECRET_ACCESS_KEY": BOOTSTRAP_KEYS[1],
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": moto.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        log_path = work / "agent.log"
        with open(log_path, "w") as log:
            agent = subprocess.Popen(
                [str(vpcflow_bin), "run", "--config", str(config)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        try:

            def agent_log() -> str:
                return log_path.read_text()

            # The first refresh runs at start; lines sent after it are enriched from the first.
            wait_for(lambda: "inventory installed" in agent_log(), 60, "the first inventory refresh", agent_log)
            wait_for(lambda: net["vpc"] in domains(state), 10, "exporters.json with the VPC", agent_log)
            exporters_first = domains(state)
            eni, ip = net["eni"], net["ip"]
            lines = {
                1001: ("nat-gateway", net, net["nat_ip"]),
                1002: ("vpc-endpoint", net, net["endpoint_ip"]),
                1003: ("peering", net, "10.20.7.9"),
                1004: ("local", net, "10.10.1.200"),
                1005: ("s3", net, "52.95.128.10"),
            }
            put_lines(moto, eni, [flow_line(eni, ip, dst, o) for o, (_, _, dst) in lines.items()])
            # A VPC created now gets its exporter at the next scheduled refresh.
            late = seed_late_vpc(moto)
            wait_for(
                lambda: late["vpc"] in domains(state),
                REFRESH_WAIT,
                "the late VPC in exporters.json after a scheduled refresh",
                agent_log,
            )
            lines[1006] = ("late", late, "10.30.1.77")
            put_lines(moto, late["eni"], [flow_line(late["eni"], late["ip"], "10.30.1.77", 1006)])
            nf.wait_records(len(lines), timeout=30)
            wait_for(lambda: ix.received()[0] > 0, 10, "datagrams at ipfixDump")
            records_in_stream = stream_record_count(moto)
            # The first minute's metrics went out a minute after the start (well before now).
            wait_for(
                lambda: metric_sum(moto, "RecordsProcessed") > 0, 70, "RecordsProcessed in moto", agent_log
            )
            # Let the minute of the late line go out too, if it has not yet.
            wait_for(
                lambda: metric_sum(moto, "RecordsProcessed") >= records_in_stream,
                70,
                "every stream record counted in RecordsProcessed",
                agent_log,
            )
            processed = metric_sum(moto, "RecordsProcessed")
            data_bytes = metric_sum(moto, "DataBytesProcessed")
            exporters_last = domains(state)
        finally:
            if agent.poll() is None:
                os.kill(agent.pid, signal.SIGTERM)
            try:
                code = agent.wait(timeout=40)
            except subprocess.TimeoutExpired:
                agent.kill()
                code = agent.wait()
            ix.stop()
            nf.stop()
    return Scenario(
        net=net,
        late=late,
        lines={o: (what, n) for o, (what, n, _) in lines.items()},
        exporters_first=exporters_first,
        exporters_last=exporters_last,
        ipfixdump=ix,
        nfacctd=nf,
        records_in_stream=records_in_stream,
        records_processed=processed,
        bytes_processed=data_bytes,
        agent_log=log_path.read_text(),
        exit_code=code,
    )


EXPECTED = {
    # what -> (instance, VPC, subnet, AZ, path kind, remote service, remote Region)
    "nat-gateway": ("web-1", "prod-vpc", "app-subnet", "us-east-1a", "nat-gateway", None, None),
    "vpc-endpoint": ("web-1", "prod-vpc", "app-subnet", "us-east-1a", "vpc-endpoint", None, None),
    "peering": ("web-1", "prod-vpc", "app-subnet", "us-east-1a", "peering", None, None),
    "local": ("web-1", "prod-vpc", "app-subnet", "us-east-1a", "local", None, None),
    "s3": ("web-1", "prod-vpc", "app-subnet", "us-east-1a", "unknown", "S3", REGION),
    "late": ("late-1", "late-vpc", "late-subnet", "us-east-1b", "local", None, None),
}


def test_agent_stopped_cleanly(scenario):
    assert scenario.exit_code == 0, scenario.agent_log[-4000:]


def test_ipfixdump_records_carry_the_inventory_names_and_path(scenario):
    recs = {
        int(r["octets"]): r
        for r in scenario.ipfixdump.records()
        if not r["options"] and r["octets"] in scenario.lines
    }
    assert sorted(recs) == sorted(scenario.lines), scenario.agent_log[-3000:]
    for octets, (what, net) in scenario.lines.items():
        f = recs[octets]["fields"]
        inst, vpc_name, subnet, az, path, service, region = EXPECTED[what]
        assert f.get("interfaceName") == net["eni"]
        assert f.get("vpcId") == net["vpc"], what
        assert f.get("instanceName") == inst, what
        assert f.get("vpcName") == vpc_name, what
        assert f.get("subnetName") == subnet, what
        assert f.get("availabilityZone") == az, what
        assert f.get("pathKind") == path, what
        assert f.get("remoteAwsService") == service, what
        assert f.get("remoteAwsRegion") == region, what
        domain = scenario.exporters_last[net["vpc"]]
        assert recs[octets]["odid"] == domain["domain_id"], what
        assert recs[octets]["exporter_ie"] == domain["exporter_ipv4"], what


def test_domain_naming_options_carry_the_vpc_name(scenario):
    names = {}
    for r in scenario.ipfixdump.records():
        f = r["fields"]
        if r["options"] and "observationDomainName" in f:
            names[int(f["observationDomainId"])] = f["observationDomainName"]
    for net, name in ((scenario.net, "prod-vpc"), (scenario.late, "late-vpc")):
        domain = scenario.exporters_last[net["vpc"]]["domain_id"]
        assert names.get(domain) == f"{net['vpc']} {name}", names


def test_nfacctd_records_carry_the_inventory_names_and_path(scenario):
    rows = {int(r["octets"]): r["raw"] for r in scenario.nfacctd.records() if r["octets"] in scenario.lines}
    assert sorted(rows) == sorted(scenario.lines)
    for octets, (what, net) in scenario.lines.items():
        row = rows[octets]
        inst, vpc_name, subnet, az, path, service, region = EXPECTED[what]
        assert row["vpc_id"] == net["vpc"], what
        assert row["instance_name"] == inst, what
        assert row["vpc_name"] == vpc_name, what
        assert row["subnet_name"] == subnet, what
        assert row["availability_zone"] == az, what
        assert row["path_kind"] == path, what
        assert row["remote_aws_service"] == (service or ""), what
        assert row["remote_aws_region"] == (region or ""), what
        assert int(row["export_proto_sysid"]) == scenario.exporters_last[net["vpc"]]["domain_id"], what


def test_a_vpc_created_later_gets_an_exporter_and_the_others_keep_theirs(scenario):
    first, last = scenario.exporters_first, scenario.exporters_last
    assert scenario.late["vpc"] not in first
    assert scenario.late["vpc"] in last
    for vpc, d in first.items():
        assert last[vpc] == d, vpc
    # The peer VPC has no flow here but got its exporter from the inventory.
    assert scenario.net["peer_vpc"] in first


def test_summary_metrics_reach_cloudwatch(scenario):
    assert scenario.records_in_stream > 0
    assert scenario.records_processed == scenario.records_in_stream
    assert scenario.bytes_processed > 0
