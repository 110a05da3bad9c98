"""moto.py: moto_server starts on a free port, resets, and checks signatures once auth is on."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from moto import MotoServer


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server):
    moto_server.reset()
    yield moto_server
    moto_server.reset()


def unsigned_list_buckets(moto: MotoServer) -> int:
    """GET / for S3 (ListBuckets) with no Authorization header; returns the HTTP status."""
    req = urllib.request.Request(f"{moto.endpoint}/", headers={"Host": "s3.us-east-1.amazonaws.com"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def error_code(call) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def test_server_answers_and_reset_clears_state(moto):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="vpcflow-test-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["vpcflow-test-bucket"]
    moto.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_auth_refuses_unsigned_and_wrongly_signed_requests(moto):
    assert unsigned_list_buckets(moto) == 200  # auth off: moto serves it
    keys = moto.enable_auth()
    # moto 5.2.5 answers an unsigned request with 500 (KeyError on the missing Authorization
    # header) where AWS says 403; either way it is refused.
    assert unsigned_list_buckets(moto) >= 400
    wrong_secret = moto.client("sts", (keys.access_key, "x" + keys.secret_key[1:]))
    assert error_code(wrong_secret.get_caller_identity) == "SignatureDoesNotMatch"
    unknown_key = moto.client("s3", ("AKIAUNKNOWNKEY000000", keys.secret_key))
    assert error_code(unknown_key.list_buckets) == "InvalidAccessKeyId"


def test_boto3_with_the_created_keys_works(moto):
    keys = moto.enable_auth()
    assert moto.client("sts", keys).get_caller_identity()["Arn"] == keys.user_arn
    s3 = moto.client("s3", keys)
    s3.create_bucket(Bucket="vpcflow-test-bucket")
    s3.put_object(Bucket="vpcflow-test-bucket", Key="AWSLogs/x.log.gz", Body=b"\x1f\x8b")
    assert s3.get_object(Bucket="vpcflow-test-bucket", Key="AWSLogs/x.log.gz")["Body"].read() == b"\x1f\x8b"


def test_a_policy_that_denies_is_enforced(moto):
    deny_s3 = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}'
    keys = moto.enable_auth(policy=deny_s3)
    assert moto.client("sts", keys).get_caller_identity()["Arn"] == keys.user_arn
    assert error_code(moto.client("s3", keys).list_buckets) == "AccessDenied"
