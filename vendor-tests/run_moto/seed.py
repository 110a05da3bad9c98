"""Seeds a running moto_server for the Rust vendor test `run_moto.rs` (boto3, signature checking off).

    .venv/bin/python vendor-tests/run_moto/seed.py http://127.0.0.1:PORT COMMAND [ARG...]

Every flow-log line it writes is the default (v2) format with a unique `bytes` value (the line's
id), so the test can count each line at the collector:

    2 123456789012 eni-0123456789abcdef0 10.0.0.1 203.0.113.5 49152 443 6 10 <ID> 1768478340 1768478399 ACCEPT OK

commands (each prints one JSON object):
  s3 BUCKET QUEUE OBJECTS LINES FIRST_ID   bucket + queue + ObjectCreated notifications (created if
                                          missing), then OBJECTS gzip objects of LINES lines each,
                                          a header line first, as VPC Flow Logs writes them
  cwl GROUP STREAMS LINES FIRST_ID        a log group with STREAMS streams of LINES events each (stamped
                                          a minute ago: moto, like AWS, drops events older than 14 days);
                                          existing streams get more events
  kinesis STREAM GROUP STREAMS LINES FIRST_ID
                                          a 2-shard Kinesis stream and a log group subscribed to it
                                          (created if missing), then events as `cwl` does: moto
                                          delivers them to the stream as CloudWatch Logs does
  queue-depth QUEUE_URL                   visible and in-flight message counts
  queue-visibility QUEUE_URL SECONDS      sets the queue's VisibilityTimeout
"""

from __future__ import annotations

import gzip
import json
import sys
import time

import boto3
from botocore.config import Config

REGION = "us-east-1"
KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
ACCOUNT = "123456789012"
HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS[0],
        aws_secret_access_key=KEYS[1],
        config=Config(s3={"addressing_style": "path"}),
    )


def line(i: int) -> str:
    return f"2 {ACCOUNT} eni-0123456789abcdef0 10.0.0.1 203.0.113.5 49152 443 6 10 {i} 1768478340 1768478399 ACCEPT OK"


def seed_s3(ep: str, bucket: str, queue: str, objects: int, lines: int, first: int) -> dict:
    s3, sqs = client(ep, "s3"), client(ep, "sqs")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
    keys, ids = [], []
    for o in range(objects):
        start = first + o * lines
        body = "\n".join([HEADER] + [line(i) for i in range(start, start + lines)]) + "\n"
        key = (
            f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2026/01/15/"
            f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0a1b2c3d4e5f60718_20260115T12{o % 60:02d}Z_{start:08x}.log.gz"
        )
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body.encode(), compresslevel=6))
        keys.append(key)
        ids.extend(range(start, start + lines))
    return {"queue_url": url, "keys": keys, "ids": ids}


def seed_cwl(ep: str, group: str, streams: int, lines: int, first: int) -> dict:
    logs = client(ep, "logs")
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    existing = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
    t0 = int(time.time() * 1000) - 60_000
    ids = []
    for s in range(streams):
        name = f"eni-0123456789abcdef{s}-all"
        if name not in existing:
            logs.create_log_stream(logGroupName=group, logStreamName=name)
        start = first + s * lines
        events = [{"timestamp": t0 + k, "message": line(i)} for k, i in enumerate(range(start, start + lines))]
        for b in range(0, len(events), 1000):
            logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=events[b : b + 1000])
        ids.extend(range(start, start + lines))
    return {"ids": ids}


def seed_kinesis(ep: str, stream: str, group: str, streams: int, lines: int, first: int) -> dict:
    kinesis, logs = client(ep, "kinesis"), client(ep, "logs")
    if stream not in kinesis.list_streams()["StreamNames"]:
        kinesis.create_stream(StreamName=stream, ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
        logs.put_subscription_filter(
            logGroupName=group,
            filterName="to-kinesis",
            filterPattern="",
            destinationArn=arn,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/CWLtoKinesis",
        )
    out = seed_cwl(ep, group, streams, lines, first)
    out["stream_arn"] = arn
    return out


def queue_depth(ep: str, url: str) -> dict:
    attrs = client(ep, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]), "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ep, cmd, args = argv[0], argv[1], argv[2:]
    if cmd == "s3":
        out = seed_s3(ep, args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "cwl":
        out = seed_cwl(ep, args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "kinesis":
        out = seed_kinesis(ep, args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "queue-depth":
        out = queue_depth(ep, args[0])
    elif cmd == "queue-visibility":
        client(ep, "sqs").set_queue_attributes(QueueUrl=args[0], Attributes={"VisibilityTimeout": args[1]})
        out = {"visibility_timeout": int(args[1])}
    else:
        print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
