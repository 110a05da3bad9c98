"""Seeds a running moto_server with boto3 for the Rust vendor test `moto_aws.rs`.

    .venv/bin/python vendor-tests/moto_seed.py http://127.0.0.1:PORT COMMAND [ARG...]

Each command creates resources while signature checking is off (moto.py's bootstrap keys, region
us-east-1) and prints one JSON object with what the Rust side needs (ids, URLs, expected values).
The Rust test drives our own clients against the same server and compares.

commands:
  ec2                           VPCs, subnet, instance, ENI, flow logs, NAT gateway, VPC endpoint,
                                route table, peering, transit gateway + attachment + route
  logs GROUP STREAM             a log group with a stream, three events and a subscription filter
                                to a Kinesis stream
  kinesis STREAM                a one-shard stream with two records
  sqs QUEUE                     a queue with three messages
  s3 BUCKET KEY SIZE [QUEUE]    a bucket with one object of SIZE pattern bytes (byte i = i % 251),
                                notifications to QUEUE's ARN when given
  user NAME [POLICY]            an IAM user with an inline policy (default: allow all) and an access key
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moto import MotoServer  # noqa: E402  (vendor-tests/moto.py, not the moto package)


def server(endpoint: str) -> MotoServer:
    host_port = endpoint.split("://", 1)[1]
    host, port = host_port.rsplit(":", 1)
    return MotoServer(Path(tempfile.gettempdir()) / "vpcflow-moto-seed", host=host, port=int(port))


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def seed_ec2(m: MotoServer) -> dict:
    ec2 = m.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "flow-vpc"}])
    vpc2 = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.1.0/24", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"
    ]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}],
    )["Instances"][0]
    eni = ec2.create_network_interface(SubnetId=subnet, Description="collector eni")["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    m.client("s3").create_bucket(Bucket="flow-logs-bucket")  # moto refuses a destination that does not exist
    flow_log = ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-logs-bucket",
    )["FlowLogIds"][0]
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway", RouteTableIds=[rtb]
    )["VpcEndpoint"]["VpcEndpointId"]
    peering = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=vpc2)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    tgw = ec2.create_transit_gateway(Description="core")["TransitGateway"]
    tgw_id = tgw["TransitGatewayId"]
    attachment = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw_id, VpcId=vpc, SubnetIds=[subnet])[
        "TransitGatewayVpcAttachment"
    ]["TransitGatewayAttachmentId"]
    tgw_rtb = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"
    ]
    ec2.create_transit_gateway_route(
        DestinationCidrBlock="10.10.0.0/16", TransitGatewayRouteTableId=tgw_rtb, TransitGatewayAttachmentId=attachment
    )
    return {
        "vpc_id": vpc,
        "vpc2_id": vpc2,
        "subnet_id": subnet,
        "instance_id": inst["InstanceId"],
        "instance_ip": inst["PrivateIpAddress"],
        "eni_id": eni,
        "flow_log_id": flow_log,
        "nat_gateway_id": nat,
        "route_table_id": rtb,
        "vpc_endpoint_id": endpoint,
        "peering_id": peering,
        "tgw_id": tgw_id,
        "tgw_attachment_id": attachment,
        "tgw_route_table_id": tgw_rtb,
    }


def seed_kinesis(m: MotoServer, name: str, records: list[bytes]) -> dict:
    kinesis = m.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    desc = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    seqs = [kinesis.put_record(StreamName=name, Data=d, PartitionKey="pk")["SequenceNumber"] for d in records]
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    return {"stream_arn": desc["StreamARN"], "shard_id": shard, "sequence_numbers": seqs}


def seed_logs(m: MotoServer, group: str, stream: str) -> dict:
    logs = m.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    messages = [
        "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK",
        "2 123456789012 eni-0a1b2c3d 10.0.0.2 10.0.0.1 49152 443 6 12 9120 1700000000 1700000060 ACCEPT OK",
        "2 123456789012 eni-0a1b2c3d 10.0.0.9 10.0.0.1 22 50000 6 1 40 1700000000 1700000060 REJECT OK",
    ]
    # moto, like AWS, rejects events older than 14 days: stamp them a minute ago.
    t0 = int(time.time() * 1000) - 60_000
    timestamps = [t0 + i for i in range(len(messages))]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": msg} for t, msg in zip(timestamps, messages)],
    )
    target = seed_kinesis(m, group + "-sink", [])
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="to-kinesis",
        filterPattern="",
        destinationArn=target["stream_arn"],
        roleArn="arn:aws:iam::123456789012:role/CWLtoKinesis",
    )
    return {"messages": messages, "timestamps": timestamps, "filter_name": "to-kinesis", "destination_arn": target["stream_arn"]}


def seed_sqs(m: MotoServer, name: str) -> dict:
    sqs = m.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bodies = [f"message {i}" for i in range(3)]
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b)
    return {"queue_url": url, "queue_arn": arn, "bodies": bodies}


def seed_s3(m: MotoServer, bucket: str, key: str, size: int, queue: str | None) -> dict:
    s3 = m.client("s3")
    s3.create_bucket(Bucket=bucket)
    out: dict = {}
    if queue:
        q = seed_sqs(m, queue)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": "flow-logs",
                        "QueueArn": q["queue_arn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".log.gz"}]}},
                    }
                ]
            },
        )
        out["queue_arn"] = q["queue_arn"]
    s3.put_object(Bucket=bucket, Key=key, Body=pattern(size))
    out["etag"] = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    m = server(argv[0])
    cmd, args = argv[1], argv[2:]
    if cmd == "ec2":
        out = seed_ec2(m)
    elif cmd == "logs":
        out = seed_logs(m, args[0], args[1])
    elif cmd == "kinesis":
        out = seed_kinesis(m, args[0], [b"first record", b"second record"])
    elif cmd == "sqs":
        out = seed_sqs(m, args[0])
    elif cmd == "s3":
        out = seed_s3(m, args[0], args[1], int(args[2]), args[3] if len(args) > 3 else None)
    elif cmd == "user":
        keys = m.create_user(args[0], *args[1:2])
        out = {"access_key": keys.access_key, "secret_key": keys.secret_key, "arn": keys.user_arn}
    else:
        print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
