"""scripts/demo, non-interactive: moto seeded with three VPCs whose flow logs go to CloudWatch Logs,
to S3 (+ SQS) and to a Kinesis-subscribed log group; `vpcflow-ipfix run` reads all three and
`vpcflow-ipfix collect` prints what it decodes. The demo must end by itself with exit 0, every
seeded flow record printed once per seeded line, from each of the three VPCs' ENIs, and nothing it
started left running or on disk.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

DEMO_TIMEOUT = 240  # s: moto's first start imports every backend; the demo's own bound is --duration


def test_demo_runs_to_completion_and_cleans_up(repo_root: Path, vpcflow_bin: Path, tmp_path: Path):
    env = dict(os.environ, VPCFLOW_BIN=str(vpcflow_bin), TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [str(repo_root / "scripts" / "demo"), "--no-build", "--json", "--duration", "120"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"scripts/demo exit {proc.returncode}\n{out[-4000:]}\n{proc.stderr[-4000:]}"

    seeded = int(re.search(r"round 0: (\d+) flow records written", out)[1])
    enis = set(re.findall(r"VPC \S+\s+vpc-\w+\s+instance \S+ \(i-\w+, (eni-\w+)\)", out))
    assert len(enis) == 3, out[:3000]
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(records) == seeded, f"{len(records)} records printed, {seeded} seeded\n{out[-3000:]}"
    by_eni = {r.get("interfaceName") for r in records}
    assert by_eni == enis, f"flows from {by_eni}, ENIs seeded {enis}"
    # One of each path: the polled group (v2), the S3 objects (v5, with a VPC id), Kinesis (v8).
    assert any(r.get("vpcId", "").startswith("vpc-") for r in records), records[:3]
    assert f"{seeded} of {seeded} seeded flow records printed" in out

    # Everything it started is gone: moto no longer answers, its temporary directory was removed.
    port = int(re.search(r"moto_server on http://127\.0\.0\.1:(\d+)", out)[1])
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, "moto_server still listening after the demo"
    assert not list(tmp_path.glob("vpcflow-demo.*")), list(tmp_path.iterdir())
