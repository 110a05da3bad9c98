"""boto3 clients for the local moto server the demo and the benchmark start (one account, one
region, the keys moto accepts), shared by scripts/lib/demo_seed.py and scripts/lib/bench_s3.py."""

from __future__ import annotations

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def client(endpoint: str, service: str, **config):
    """A client of `service` at `endpoint` (path-style S3); `config` adds botocore Config options."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS[0],
        aws_secret_access_key=KEYS[1],
        config=Config(s3={"addressing_style": "path"}, **config),
    )
