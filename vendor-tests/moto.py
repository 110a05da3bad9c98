"""moto_server (the AWS emulator from PyPI) on a free loopback port, started and stopped by PID.

    with MotoServer(workdir) as moto:             # waits until it answers
        moto.endpoint                              # http://127.0.0.1:PORT (AWS_ENDPOINT_URL for the agent)
        keys = moto.enable_auth()                  # IAM user + access key with an allow-all policy,
                                                   # then signature checking on for every request
        moto.client("s3", keys)                    # a boto3 client signed with those keys
        moto.reset()                               # auth off, all emulated state gone

Facts about moto found here (shared/README.md): it routes requests by the SigV4 credential scope, so
requests must be signed even with auth off; S3 must be path-style; signature checking is off until
``POST /moto-api/reset-auth`` with body ``0`` (number of requests still allowed without auth), and
IAM users and keys must exist before that, since every later request is checked against them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from harness import LOOPBACK, ManagedProcess, PeerError, free_port, wait_for

START_TIMEOUT = 60.0  # s: moto imports every service backend at first start
REGION = "us-east-1"

# Credentials moto accepts while auth is off (any will do; these are the documentation examples).
BOOTSTRAP_KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str
    user_arn: str = ""


def moto_server_binary() -> str:
    """moto_server next to the running interpreter (the venv), else on PATH."""
    cand = Path(sys.executable).parent / "moto_server"
    if cand.is_file():
        return str(cand)
    import shutil

    found = shutil.which("moto_server")
    if not found:
        raise PeerError(
            "moto_server is not installed: `.venv/bin/pip install -r vendor-tests/requirements.txt` "
            "(scripts/test creates the venv)"
        )
    return found


class MotoServer:
    def __init__(self, workdir: Path, host: str = LOOPBACK, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.proc: ManagedProcess | None = None
        self.auth_enabled = False

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MotoServer":
        env = dict(os.environ)
        env.pop("AWS_PROFILE", None)
        self.proc = ManagedProcess(
            f"moto-{self.port}", [moto_server_binary(), "-H", self.host, "-p", str(self.port)], self.workdir, env=env
        )
        self.proc.start()
        wait_for(
            lambda: self._answers() or not self.proc.is_running(),
            START_TIMEOUT,
            f"moto_server to answer on {self.endpoint}",
            self.proc.logs,
        )
        if not self.proc.is_running():
            raise PeerError(f"moto_server exited at start\n{self.proc.logs()}")
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(signal.SIGTERM)

    def logs(self) -> str:
        return self.proc.logs() if self.proc else "(moto_server not started)"

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.is_running():
            if exc[0] is None:
                self.stop()
            else:
                self.proc.kill()

    # ---- moto's own API

    def _post(self, path: str, body: bytes = b"", content_type: str = "text/plain") -> dict:
        req = urllib.request.Request(
            f"{self.endpoint}{path}", data=body, method="POST", headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            raise PeerError(f"moto {path} answered {e.code}: {e.read()[:500]!r}\n{self.logs()}") from e
        return json.loads(text) if text.strip() else {}

    def set_auth_free_requests(self, count: float) -> None:
        """Requests still served without signature checking: 0 = check all from now, inf = never."""
        self._post("/moto-api/reset-auth", str(count).encode())
        self.auth_enabled = count != float("inf")

    def reset(self) -> None:
        """All emulated state gone and signature checking off (so setup calls need no IAM user)."""
        self.set_auth_free_requests(float("inf"))
        self._post("/moto-api/reset")

    # ---- clients

    def client(self, service: str, keys: Keys | tuple[str, str] | None = None, region: str = REGION):
        import boto3
        from botocore.config import Config

        ak, sk = (keys.access_key, keys.secret_key) if isinstance(keys, Keys) else (keys or BOOTSTRAP_KEYS)
        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=ak,
            aws_secret_access_key=sk,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def create_user(self, name: str = "vpcflow-ipfix-test", policy: str = ALLOW_ALL) -> Keys:
        """An IAM user with an inline policy and an access key (call while auth is off)."""
        iam = self.client("iam")
        user = iam.create_user(UserName=name)["User"]
        iam.put_user_policy(UserName=name, PolicyName="test-policy", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"], user["Arn"])

    def enable_auth(self, name: str = "vpcflow-ipfix-test", policy: str = ALLOW_ALL) -> Keys:
        """Create an IAM user with keys, then have moto check the signature of every request."""
        keys = self.create_user(name, policy)
        self.set_auth_free_requests(0)
        return keys
