"""pytest fixtures for the vendor tests: paths, the binary under test, and IPFIX peers on loopback.

``peers`` is the entry point for collector tests::

    def test_x(peers, ipfix_samples_dir):
        ts = peers.tshark()                 # started, listening on a free port
        ts.send([...])                      # or point vpcflow-ipfix at ts.address
        ts.stop()
        assert ts.records()[0]["octets"] == 471

Every peer started through ``peers`` is stopped (killed if needed) at teardown, and when the test
fails each peer's stdout/stderr tail is attached to the report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers as peers_mod  # noqa: E402

REPO = Path(os.environ.get("VPCFLOW_REPO") or Path(__file__).resolve().parent.parent).resolve()
# CI has a copy of shared/ beside the clone; developers have /work/shared beside /work/main.
SHARED = (REPO.parent / "shared").resolve()
HARNESS_DATA = Path(__file__).resolve().parent / "data"


def _first_existing(*candidates: Path) -> Path | None:
    for c in candidates:
        if c.exists():
            return c
    return None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared/ not found at {SHARED} (CI copies it beside the clone as ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def ipfix_samples_dir() -> Path:
    """Known-good IPFIX messages: fixtures/ipfix/ when copied there, else shared/reference/samples/ipfix/."""
    marker = "msg1-template+2records.bin"
    found = _first_existing(REPO / "fixtures" / "ipfix" / marker, SHARED / "reference" / "samples" / "ipfix" / marker)
    if found is None:
        pytest.fail(
            f"no IPFIX samples: neither {REPO}/fixtures/ipfix/ nor {SHARED}/reference/samples/ipfix/ has {marker}"
        )
    return found.parent


@pytest.fixture(scope="session")
def aws_samples_dir() -> Path:
    """botocore-captured requests/responses (shared/reference/samples/aws-api/)."""
    d = SHARED / "reference" / "samples" / "aws-api"
    if not d.is_dir():
        pytest.fail(f"no AWS API samples at {d}")
    return d


@pytest.fixture(scope="session")
def ipfix_element_file() -> Path | None:
    """Our ipfixDump element file (scripts/ipfix/vpcflow-elements.xml), or None until it exists."""
    return _first_existing(REPO / "scripts" / "ipfix" / "vpcflow-elements.xml")


@pytest.fixture(scope="session")
def pmacct_primitives_file() -> Path | None:
    """Our nfacctd primitives file (scripts/ipfix/pmacct-primitives.lst), or None until it exists."""
    return _first_existing(
        REPO / "scripts" / "ipfix" / "pmacct-primitives.lst",
        REPO / "scripts" / "ipfix" / "vpcflow-primitives.lst",
    )


@pytest.fixture(scope="session")
def vpcflow_bin() -> Path:
    """The binary under test: $VPCFLOW_BIN (scripts/test sets it), else target/release/vpcflow-ipfix."""
    path = Path(os.environ.get("VPCFLOW_BIN") or REPO / "target" / "release" / "vpcflow-ipfix")
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build it with `cargo build --release` (scripts/test does)")
    return path


@pytest.fixture
def run_vpcflow(vpcflow_bin: Path, tmp_path: Path):
    """Run the binary under test with a timeout; a non-zero exit fails the test with its stderr.

    ``run_vpcflow("replay", str(log_gz), "--to", peer.address)`` -> CompletedProcess (text).
    The AWS variables of the caller's environment are dropped unless passed in ``env``.
    """

    def run(*args: str, env: dict | None = None, timeout: float = 120, check: bool = True, input: str | None = None):
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update(env or {})
        try:
            proc = subprocess.run(
                [str(vpcflow_bin), *args],
                cwd=tmp_path,
                env=base,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"vpcflow-ipfix {' '.join(args)} did not finish within {timeout}s\n{e.stderr or ''}")
        if check and proc.returncode != 0:
            pytest.fail(
                f"vpcflow-ipfix {' '.join(args)} exited {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}"
            )
        return proc

    return run


class PeerSet:
    """Starts peers for one test and remembers them for teardown and failure reports."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.started: list[peers_mod.Peer] = []

    def _start(self, peer: peers_mod.Peer) -> peers_mod.Peer:
        self.started.append(peer)
        return peer.start()

    def tshark(self, transport: str = "udp", **kw) -> peers_mod.TsharkPeer:
        return self._start(peers_mod.TsharkPeer(self.workdir, transport, **kw))

    def nfcapd(self, **kw) -> peers_mod.NfcapdPeer:
        return self._start(peers_mod.NfcapdPeer(self.workdir, "udp", **kw))

    def nfacctd(self, primitives_file: Path | None = None, **kw) -> peers_mod.NfacctdPeer:
        return self._start(peers_mod.NfacctdPeer(self.workdir, "udp", primitives_file=primitives_file, **kw))

    def ipfixdump(self, transport: str = "udp", element_files=(), **kw) -> peers_mod.IpfixDumpPeer:
        return self._start(peers_mod.IpfixDumpPeer(self.workdir, transport, element_files=element_files, **kw))

    def logs(self) -> str:
        return "\n\n".join(f"== {p.name} at {p.address} ==\n{p.logs()}" for p in self.started)

    def close(self) -> None:
        for p in self.started:
            if not p.stopped:
                p.kill()


@pytest.fixture
def peers(tmp_path: Path, request: pytest.FixtureRequest):
    ps = PeerSet(tmp_path / "peers")
    ps.workdir.mkdir(parents=True, exist_ok=True)
    request.node._vpcflow_peers = ps
    yield ps
    ps.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    ps = getattr(item, "_vpcflow_peers", None)
    if rep.failed and ps is not None and ps.started:
        rep.sections.append(("peer output", ps.logs()))
