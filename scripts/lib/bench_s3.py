#!/usr/bin/env python3
"""Seeds a moto server for the S3 memory benchmark of scripts/bench.

    .venv/bin/python scripts/lib/bench_s3.py ENDPOINT OBJECT_FILE OBJECTS

Creates bucket `bench-flow-logs` with ObjectCreated notifications to SQS queue `bench-flow-logs`,
then uploads OBJECT_FILE OBJECTS times under flow-log keys (single PUTs; moto sends one
notification per object, as S3 does), waits until the queue holds them, and prints one JSON object:
{"queue_url": ..., "bucket": ..., "keys": [...], "bytes": total uploaded}.
OBJECT_FILE is a multi-member .log.gz (scripts/bench makes it by concatenating copies of its
generated file).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator_client import ACCOUNT, REGION, client  # noqa: E402

BUCKET = "bench-flow-logs"
QUEUE = "bench-flow-logs"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ep, path, objects = argv[0], Path(argv[1]), int(argv[2])
    # Large uploads: a long read timeout, and no retry that would upload (and notify) twice.
    opts = {"read_timeout": 600, "retries": {"max_attempts": 1}}
    s3, sqs = client(ep, "s3", **opts), client(ep, "sqs", **opts)
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    keys = []
    for o in range(objects):
        key = (
            f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2026/01/15/"
            f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0a1b2c3d4e5f60718_20260115T12{o:02d}Z_bench{o:04d}.log.gz"
        )
        with open(path, "rb") as body:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        keys.append(key)
    # the s3:TestEvent of the notification configuration, plus one message per object
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        if n >= objects:
            break
        time.sleep(0.5)
    else:
        print(f"only {n} notifications on the queue for {objects} objects", file=sys.stderr)
        return 1
    print(json.dumps({"queue_url": url, "bucket": BUCKET, "keys": keys, "bytes": path.stat().st_size * objects}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
