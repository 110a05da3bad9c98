#!/usr/bin/env python3
"""botocore as a differential SigV4 signer: the headers botocore's signer adds to one request.

Reads one JSON object on stdin:

    {
      "method": "POST",
      "url": "https://sts.us-east-1.amazonaws.com/",          # path and query exactly as on the wire
      "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
      "body": "Action=GetCallerIdentity&Version=2011-06-15",   # text, or
      "body_base64": "...",                                    # raw octets (give at most one of the two)
      "region": "us-east-1",
      "service": "sts",                                        # "s3" selects S3SigV4Auth
      "access_key": "AKIDEXAMPLE",
      "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      "token": null,                                           # optional session token
      "amz_date": "20260115T120000Z",                          # the signer's clock, frozen
      "unsigned_payload": false                                # optional: X-Amz-Content-SHA256 UNSIGNED-PAYLOAD
    }

and prints one JSON object:

    {"headers": {"X-Amz-Date": ..., ["X-Amz-Security-Token": ...], ["X-Amz-Content-SHA256": ...],
                 "Authorization": ...},
     "canonical_request": "...", "string_to_sign": "...", "signature": "...",
     "botocore_version": "1.44.8"}

``headers`` holds every header the signer added or changed, in the order botocore set them. The
request headers are signed as given (botocore leaves out only its blacklist: user-agent, expect,
transfer-encoding, x-amzn-trace-id), so pass exactly the headers the Rust request carries when it
is signed (no Content-Length if the Rust signer does not sign it either).

Rust tests run it as `.venv/bin/python vendor-tests/botocore_sign.py < request.json` and compare
byte for byte. Exit status 2 and one line on stderr for a malformed description.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
import types
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
# Headers botocore's SigV4 signers (re)set on every signing, even when the caller already gave them.
SIGNER_HEADERS = {"authorization", "x-amz-date", "date", "x-amz-security-token", "x-amz-content-sha256"}
REQUIRED = ("method", "url", "region", "service", "access_key", "secret_key", "amz_date")


class DescriptionError(ValueError):
    pass


def _recording(cls):
    """A subclass of a botocore signer that keeps its canonical request, string to sign and signature."""

    class Recording(cls):
        recorded: dict = {}

        def canonical_request(self, request):
            cr = super().canonical_request(request)
            self.recorded["canonical_request"] = cr
            return cr

        def string_to_sign(self, request, canonical_request):
            sts = super().string_to_sign(request, canonical_request)
            self.recorded["string_to_sign"] = sts
            return sts

        def signature(self, string_to_sign, request):
            sig = super().signature(string_to_sign, request)
            self.recorded["signature"] = sig
            return sig

    return Recording


def sign(desc: dict) -> dict:
    missing = [k for k in REQUIRED if not desc.get(k)]
    if missing:
        raise DescriptionError(f"missing fields: {', '.join(missing)}")
    if "body" in desc and "body_base64" in desc:
        raise DescriptionError("give body or body_base64, not both")
    try:
        when = datetime.datetime.strptime(desc["amz_date"], SIGV4_TIMESTAMP)
    except ValueError as e:
        raise DescriptionError(f"amz_date must look like 20260115T120000Z: {e}") from None
    if "body_base64" in desc:
        body = base64.b64decode(desc["body_base64"], validate=True)
    else:
        body = (desc.get("body") or "").encode("utf-8")
    headers = desc.get("headers") or {}
    if not isinstance(headers, dict):
        raise DescriptionError("headers must be an object of name -> value")

    request = AWSRequest(method=desc["method"], url=desc["url"], headers=dict(headers), data=body)
    if desc.get("unsigned_payload"):
        # SigV4Auth reads this from the request context; S3SigV4Auth from the client's s3 config.
        request.context["payload_signing_enabled"] = False
        request.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
    before = {k: v for k, v in request.headers.items()}

    creds = Credentials(desc["access_key"], desc["secret_key"], desc.get("token"))
    base = botocore.auth.S3SigV4Auth if desc["service"] == "s3" else botocore.auth.SigV4Auth
    signer_cls = _recording(base)
    signer_cls.recorded = {}
    signer = signer_cls(creds, desc["service"], desc["region"])
    # botocore reads the clock through botocore.auth.get_current_datetime (1.31+); freeze it there.
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(request)

    added = {}
    for k, v in request.headers.items():
        if k.lower() in SIGNER_HEADERS or before.get(k) != v:
            added[k] = v.decode() if isinstance(v, bytes) else v
    return {"headers": added, **signer_cls.recorded, "botocore_version": botocore.__version__}


def main() -> int:
    try:
        desc = json.load(sys.stdin)
        if not isinstance(desc, dict):
            raise DescriptionError("stdin must hold one JSON object")
        out = sign(desc)
    except (DescriptionError, json.JSONDecodeError, ValueError) as e:
        print(f"botocore_sign: bad request description: {e}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
