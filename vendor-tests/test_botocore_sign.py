"""botocore_sign.py reproduces botocore's own signatures of the captured sample requests.

The samples in shared/reference/samples/aws-api/*.request.txt were captured from botocore 1.44.8
with fixed credentials and clock (shared/reference/gen/capture_requests.py). Feeding the same request
to the CLI must give the same Authorization (and date / token / payload-hash) headers byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parent / "botocore_sign.py"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # the fixed example credentials of the capture
# Headers the capture removed (volatile) or that botocore adds after signing (unsigned).
NOT_INPUT = {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "content-length", "host"}


def parse_request_txt(path: Path) -> tuple[dict, dict]:
    """(description for the CLI, the headers botocore sent) from a captured .request.txt."""
    text = path.read_text()
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    auth = headers["Authorization"]
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0]  # AKID/date/region/service/aws4_request
    akid, _date, region, service, _ = scope.split("/")
    desc = {
        "method": method,
        "url": f"https://{headers['Host']}{target}",
        "headers": {k: v for k, v in headers.items() if k.lower() not in NOT_INPUT},
        "body": body[:-1] if body.endswith("\n") else body,  # the capture appends one newline
        "region": region,
        "service": service,
        "access_key": akid,
        "secret_key": SECRET,
        "token": headers.get("X-Amz-Security-Token"),
        "amz_date": headers["X-Amz-Date"],
    }
    return desc, headers


def run_cli(desc: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLI)], input=json.dumps(desc), capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "name",
    [
        "sts_GetCallerIdentity",
        "s3_GetObject",
        "s3_GetObject_keyEncoding",
        "sts_error_ExpiredToken",
        "sqs_ReceiveMessage",
    ],
)
def test_cli_reproduces_botocores_signature(aws_samples_dir, name):
    desc, sent = parse_request_txt(aws_samples_dir / f"{name}.request.txt")
    proc = run_cli(desc)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["headers"]["Authorization"] == sent["Authorization"]
    assert out["headers"]["X-Amz-Date"] == sent["X-Amz-Date"]
    for h in ("X-Amz-Content-SHA256", "X-Amz-Security-Token"):
        assert out["headers"].get(h) == sent.get(h)
    assert out["signature"] == sent["Authorization"].rsplit("Signature=", 1)[1]
    assert out["string_to_sign"].startswith(f"AWS4-HMAC-SHA256\n{sent['X-Amz-Date']}\n")


def test_a_changed_body_changes_the_signature(aws_samples_dir):
    desc, sent = parse_request_txt(aws_samples_dir / "sts_GetCallerIdentity.request.txt")
    desc["body"] = desc["body"].replace("2011-06-15", "2011-06-16")
    out = json.loads(run_cli(desc).stdout)
    assert out["headers"]["Authorization"] != sent["Authorization"]


def test_body_base64_signs_the_same_octets(aws_samples_dir):
    import base64

    desc, sent = parse_request_txt(aws_samples_dir / "sts_GetCallerIdentity.request.txt")
    desc["body_base64"] = base64.b64encode(desc.pop("body").encode()).decode()
    out = json.loads(run_cli(desc).stdout)
    assert out["headers"]["Authorization"] == sent["Authorization"]


def test_unsigned_payload_for_s3(aws_samples_dir):
    desc, _ = parse_request_txt(aws_samples_dir / "s3_GetObject.request.txt")
    desc["unsigned_payload"] = True
    out = json.loads(run_cli(desc).stdout)
    assert out["headers"]["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert out["canonical_request"].endswith("\nUNSIGNED-PAYLOAD")


def test_a_malformed_description_exits_2_with_one_line():
    proc = run_cli({"method": "GET"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "missing fields" in proc.stderr
