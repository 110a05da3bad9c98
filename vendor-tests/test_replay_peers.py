"""Issue 2 "Show": the real binary's IPFIX, replayed from the fixture flow logs, as four real decoders see it.

``vpcflow-ipfix replay`` sends every file of fixtures/flowlogs/ (default v2 with CRLF and gzip copies,
the AWS documentation examples v3/v5, custom v4, v5, v7, v8, v11, an unknown field, and
malformed-lines.log) to tshark, nfcapd+nfdump, nfacctd and ipfixDump on loopback, over UDP and (for
the peers that take it) TCP. What each peer must report is computed from the lines themselves by
flowlog_lines.py, which shares no code with the binary:

* every OK line is exactly one record, and every standard field the peer decodes equals the line
  (packet addresses, ports, protocol, packets, bytes, start/end x 1000, tcp flags, direction,
  forwarding status, interface name, ifIndex on the side of the direction, IP version), in the
  observation domain of its VPC;
* NODATA, SKIPDATA and malformed lines give no record; replay exits 0 and its summary counts them and
  lists each malformed line as file:line with the field at fault;
* nfacctd (our primitives file) and ipfixDump (our element file) print our enterprise elements by name
  with the line's values; tshark carries their raw values;
* sequence numbers count every data record (RFC 7011 §3.1); nfdump's errors are exactly the ones its
  documented quirk predicts (it does not count options records);
* bind mode: one nfdump exporter per VPC, with the configured source address;
* --max-packet-size 512 and 9000: no datagram is larger, every record that fits arrives;
* --rate 200: 600 records take at least (600 - 100) / 200 s and none is lost.

Known peer limits (peers.py pins them): nfdump 1.7.1 shows no forwardingStatus, interfaceName,
ipVersion or enterprise element, and fills absent numbers with 0; nfacctd 1.7.7 cannot show
interfaceName, reads tcpControlBits only from 1 octet, fills absent numbers with 0 and absent
timestamps with the arrival time, and sums records with equal aggregation keys (so it gets a corpus
without the byte-identical CRLF and gzip copies); tshark omits zero-length enterprise values.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import flowlog_lines as fl
import peers as peers_mod

# --------------------------------------------------------------------------------------------
# the corpus and what it must become

VPC_A = "vpc-abcdefab012345678"  # the AWS documentation examples
VPC_B = "vpc-0a1b2c3d4e5f60718"  # custom v5 / v11 / malformed-lines
DOMAIN = {VPC_A: 2101, VPC_B: 2202}
EXPORTER_IP_B = "10.255.0.22"  # element mode: IE 130 of VPC_B's records
UNKNOWN_VPC_DOMAIN = 1  # README: records whose VPC is unknown go to domain 1

ELEMENT_CONFIG = f"""\
[exporter {VPC_A}]
domain_id = {DOMAIN[VPC_A]}
[exporter {VPC_B}]
ip = {EXPORTER_IP_B}
domain_id = {DOMAIN[VPC_B]}
"""
BIND_IP = {VPC_A: "127.0.0.21", VPC_B: "127.0.0.22"}
BIND_CONFIG = f"""\
[ipfix]
exporter_identity = bind
[exporter {VPC_A}]
ip = {BIND_IP[VPC_A]}
domain_id = {DOMAIN[VPC_A]}
[exporter {VPC_B}]
ip = {BIND_IP[VPC_B]}
domain_id = {DOMAIN[VPC_B]}
"""

STANDARD = (
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "proto",
    "tcp_flags",
    "packets",
    "octets",
    "start_ms",
    "end_ms",
    "direction",
    "forwarding_status",
    "if_name",
    "ingress_if",
    "egress_if",
    "ip_version",
)
NUMERIC = {k for k in STANDARD if k not in ("srcaddr", "dstaddr", "if_name")}


class _Any:
    """A value a peer invents (nfacctd's arrival time for an absent start): equal to anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()


@dataclass
class Corpus:
    files: list[str]
    lines: list[fl.Line] = field(default_factory=list)
    flows: list[dict] = field(default_factory=list)  # expected_record() of every OK line, in order
    total_lines: int = 0
    header_lines: int = 0
    blank_lines: int = 0

    @property
    def malformed(self) -> list[fl.Line]:
        return [ln for ln in self.lines if ln.malformed]

    def count(self, status: str) -> int:
        return sum(1 for ln in self.lines if not ln.malformed and ln.status == status)

    def domain(self, rec: dict) -> int:
        return DOMAIN[rec["vpc"]] if rec["vpc"] else UNKNOWN_VPC_DOMAIN


def load_corpus(files: list[Path]) -> Corpus:
    c = Corpus([str(f) for f in files])
    for f in c.files:
        got = fl.read_file(f, source=f)
        c.lines += got.lines
        c.total_lines += got.total_lines
        c.header_lines += got.header_lines
        c.blank_lines += got.blank_lines
    c.flows = [fl.expected_record(ln) for ln in c.lines if ln.is_flow]
    unknown = {r["vpc"] for r in c.flows if r["vpc"] and r["vpc"] not in DOMAIN}
    assert not unknown, f"fixture VPCs without a domain_id in this test's config: {unknown}"
    return c


def fixture_dir(repo: Path) -> Path:
    return repo / "fixtures" / "flowlogs"


def all_inputs(repo: Path) -> list[Path]:
    d = fixture_dir(repo)
    return sorted(d.glob("*.log")) + sorted(d.glob("*.log.gz"))


def distinct_inputs(repo: Path) -> list[Path]:
    """The fixtures nfacctd can tell apart record by record (it sums records with equal keys).

    Left out: the byte-identical copies (CRLF, gzip), and default-v2.log, whose REJECT record
    differs from custom-v8-reject-reason.log's only in elements nfacctd does not show (flowDirection
    0 vs absent, rejectReason empty vs absent). aws-doc-default-v2.log still brings the default
    format (with IPv6, NODATA and SKIPDATA).
    """
    skip = {"default-v2-crlf.log", "default-v2.log"}
    return [p for p in sorted(fixture_dir(repo).glob("*.log")) if p.name not in skip]


# --------------------------------------------------------------------------------------------
# running replay and reading its report

SUMMARY_LINES = re.compile(
    r"^replay: (\d+) lines read: (\d+) flow records exported, (\d+) NODATA, (\d+) SKIPDATA, (\d+) malformed, "
    r"(\d+) header, (\d+) blank, (\d+) over-long$",
    re.M,
)
SUMMARY_IPFIX = re.compile(
    r"^replay: (\d+) IPFIX messages, (\d+) bytes, (\d+) datagrams lost, (\d+) records dropped as too large", re.M
)
MALFORMED = re.compile(r"^replay: malformed: (.+):(\d+): (.+)$", re.M)


@dataclass
class Replay:
    returncode: int
    stderr: str
    seconds: float


def run_replay(binary: Path, workdir: Path, args: list[str], timeout: float = 60) -> Replay:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [str(Path(binary).resolve()), "replay", "--quiet", *args],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"vpcflow-ipfix replay {' '.join(args)} did not finish in {timeout}s\n{e.stderr or ''}")
    return Replay(proc.returncode, proc.stderr, time.monotonic() - t0)


def write_config(workdir: Path, name: str, text: str) -> Path:
    path = workdir / name
    path.write_text(text)
    return path


def check_report(rp: Replay, corpus: Corpus, dropped: int = 0) -> None:
    """Exit 0 (malformed lines are not fatal: README), and a summary that counts what the lines are."""
    assert rp.returncode == 0, f"replay exited {rp.returncode}\n{rp.stderr[-4000:]}"
    m = SUMMARY_LINES.search(rp.stderr)
    assert m, f"no summary line in replay's stderr:\n{rp.stderr[-4000:]}"
    names = ("lines", "exported", "nodata", "skipdata", "malformed", "header", "blank", "overlong")
    got = dict(zip(names, map(int, m.groups())))
    assert got == {
        "lines": corpus.total_lines,
        "exported": len(corpus.flows),
        "nodata": corpus.count("NODATA"),
        "skipdata": corpus.count("SKIPDATA"),
        "malformed": len(corpus.malformed),
        "header": corpus.header_lines,
        "blank": corpus.blank_lines,
        "overlong": 0,
    }
    m2 = SUMMARY_IPFIX.search(rp.stderr)
    assert m2, f"no IPFIX summary line:\n{rp.stderr[-4000:]}"
    assert (int(m2[3]), int(m2[4])) == (0, dropped), "datagrams lost, records dropped as too large"
    # every malformed line is named as file:line, in order, with the field at fault
    reported = [(src, int(n), why) for src, n, why in MALFORMED.findall(rp.stderr)]
    assert [(s, n) for s, n, _ in reported] == [(ln.source, ln.number) for ln in corpus.malformed]
    for (_, _, why), ln in zip(reported, corpus.malformed):
        if ln.malformed.startswith("wrong field count"):
            assert why.startswith("wrong field count"), why
        else:
            assert f"field {ln.malformed.split(':')[0]}:" in why, (why, ln.malformed)


# --------------------------------------------------------------------------------------------
# matching decoded records with expected ones


def match(expected: list[dict], got: list[dict]) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Pairs each expected view with an equal decoded view (ANY matches anything); the leftovers."""
    left = list(got)
    pairs, missing = [], []
    # records with fewer wildcards first, so a wildcard never takes another record's partner
    order = sorted(expected, key=lambda e: sum(v is ANY for v in e.values()))
    for e in order:
        keys = [k for k in e if not k.startswith("_")]
        for i, g in enumerate(left):
            if all(e[k] == g.get(k) for k in keys):
                pairs.append((e, left.pop(i)))
                break
        else:
            missing.append(e)
    return pairs, missing, left


SHOW = 12  # mismatches printed per side


def assert_matched(peer: str, expected: list[dict], got: list[dict], logs: str = "") -> list[tuple[dict, dict]]:
    pairs, missing, extra = match(expected, got)
    if missing or extra:
        lines = [
            f"{peer}: {len(expected)} records expected, {len(got)} decoded; "
            f"{len(missing)} missing, {len(extra)} unexpected"
        ]
        lines += [f"  missing ({e.get('_where')}): {_show(e)}" for e in missing[:SHOW]]
        lines += [f"  unexpected: {_show(g)}" for g in extra[:SHOW]]
        if max(len(missing), len(extra)) > SHOW:
            lines.append(f"  (first {SHOW} of each shown)")
        pytest.fail("\n".join(lines) + (f"\n{logs}" if logs else ""))
    return pairs


def _show(d: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items() if not k.startswith("_"))


def exact_view(rec: dict, corpus: Corpus) -> dict:
    """What tshark and ipfixDump must show: every standard field, absent ones absent."""
    v = {k: rec[k] for k in STANDARD}
    v["odid"] = corpus.domain(rec)
    v["exporter_ie"] = EXPORTER_IP_B if rec["vpc"] == VPC_B else None
    v["_where"] = rec["where"]
    v["_rec"] = rec
    return v


def norm_addr(v: object) -> object:
    """Decoders print IPv6 in their own way (ipfixDump: 2001:0db8::0001): compare the canonical form."""
    if isinstance(v, str) and ":" in v:
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            return v
    return v


def exact_got(r: dict) -> dict:
    v = {k: r[k] for k in STANDARD}
    v["srcaddr"], v["dstaddr"] = norm_addr(v["srcaddr"]), norm_addr(v["dstaddr"])
    v["odid"] = r["odid"]
    v["exporter_ie"] = r.get("exporter_ie")
    v["_got"] = r
    return v


def tshark_enterprise(rec: dict) -> list[str]:
    """Our elements' raw values as tshark lists them: hex, zero-length ones left out."""
    raw = [fl.enterprise_wire_value(k, v) for k, v in rec["enterprise"].items()]
    return sorted(b.hex(":") for b in raw if b)


def ipfixdump_enterprise(fields: dict) -> dict:
    return {k: norm_addr(v) for k, v in fields.items() if k in fl.ELEMENT_IDS}


# --------------------------------------------------------------------------------------------
# peers started for a module, stopped at its end


class PeerGroup:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.peers: list[peers_mod.Peer] = []

    def add(self, peer: peers_mod.Peer) -> peers_mod.Peer:
        self.peers.append(peer)
        peer.start()
        return peer

    def logs(self) -> str:
        return "\n\n".join(f"== {p.name} at {p.address} ==\n{p.logs()}" for p in self.peers)

    def close(self) -> None:
        for p in self.peers:
            if not p.stopped:
                p.kill()


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    g = PeerGroup(tmp_path_factory.mktemp("replay-peers"))
    yield g
    g.close()


@pytest.fixture(scope="module")
def corpus_all(repo_root) -> Corpus:
    return load_corpus(all_inputs(repo_root))


@pytest.fixture(scope="module")
def corpus_distinct(repo_root) -> Corpus:
    return load_corpus(distinct_inputs(repo_root))


def test_corpus_covers_what_issue_2_lists(corpus_all):
    """The fixtures hold what the tests claim: v2-v11 formats, IPv6, NODATA, SKIPDATA, malformed lines."""
    versions = {ln.columns.get("version") for ln in corpus_all.lines if ln.is_flow}
    assert {"2", "3", "4", "5", "7", "8", "11"} <= versions
    assert any(r["ip_version"] == 6 for r in corpus_all.flows)
    assert corpus_all.count("NODATA") >= 3 and corpus_all.count("SKIPDATA") >= 3
    assert len(corpus_all.malformed) >= 10
    assert any(r["direction"] == 1 for r in corpus_all.flows) and any(r["direction"] is None for r in corpus_all.flows)
    assert {r["forwarding_status"] for r in corpus_all.flows} >= {64, 129}


# --------------------------------------------------------------------------------------------
# UDP: tshark, ipfixDump and nfcapd fed by one replay of every fixture


@dataclass
class UdpRun:
    replay: Replay
    tshark: peers_mod.TsharkPeer
    ipfixdump: peers_mod.IpfixDumpPeer
    nfcapd: peers_mod.NfcapdPeer
    logs: str


@pytest.fixture(scope="module")
def udp_run(group, vpcflow_bin, corpus_all, ipfix_element_file) -> UdpRun:
    ts = group.add(peers_mod.TsharkPeer(group.workdir, "udp"))
    ix = group.add(peers_mod.IpfixDumpPeer(group.workdir, "udp", element_files=[ipfix_element_file]))
    nf = group.add(peers_mod.NfcapdPeer(group.workdir))
    cfg = write_config(group.workdir, "element.ini", ELEMENT_CONFIG)
    to = [a for p in (ts, ix, nf) for a in ("--to", p.address)]
    rp = run_replay(vpcflow_bin, group.workdir, ["--config", str(cfg), *to, *corpus_all.files])
    for p in (ts, ix, nf):
        p.stop()
    return UdpRun(rp, ts, ix, nf, group.logs())


def test_udp_replay_reports_every_line(udp_run, corpus_all):
    check_report(udp_run.replay, corpus_all)


def test_tshark_udp_every_ok_line_is_one_record_with_its_fields(udp_run, corpus_all):
    recs = udp_run.tshark.records()
    flows = [r for r in recs if not r["options"]]
    expected = [exact_view(r, corpus_all) for r in corpus_all.flows]
    for e in expected:
        e["enterprise"] = tshark_enterprise(e["_rec"])
    got = [{**exact_got(r), "enterprise": sorted(r["enterprise"])} for r in flows]
    assert_matched("tshark/udp", expected, got, udp_run.logs)
    # one UDP socket (element mode): every message from the same source
    assert len({(r["exporter"], r["exporter_port"]) for r in recs}) == 1


def check_sequence_numbers(ts: peers_mod.TsharkPeer) -> dict[int, list[dict]]:
    """RFC 7011 §3.1: per domain, a message's sequence number = data records (options included) before it."""
    per_msg = Counter()
    per_msg_options = Counter()
    for r in ts.records():
        per_msg[(r["frame"], r["odid"], r["sequence"])] += 1
        per_msg_options[(r["frame"], r["odid"], r["sequence"])] += r["options"]
    by_domain: dict[int, list[dict]] = defaultdict(list)
    for m in ts.messages():
        key = (m["frame"], m["odid"], m["sequence"])
        by_domain[m["odid"]].append({**m, "records": per_msg[key], "options": per_msg_options[key]})
    for odid, msgs in by_domain.items():
        expect = 0
        for m in msgs:
            assert m["sequence"] == expect, f"domain {odid}: message in frame {m['frame']} says {m['sequence']}"
            expect += m["records"]
    return by_domain


def test_tshark_udp_sequence_numbers_count_every_data_record(udp_run):
    by_domain = check_sequence_numbers(udp_run.tshark)
    assert set(by_domain) == {DOMAIN[VPC_A], DOMAIN[VPC_B], UNKNOWN_VPC_DOMAIN}


def test_ipfixdump_udp_every_ok_line_is_one_record_with_our_elements_by_name(udp_run, corpus_all):
    recs = udp_run.ipfixdump.records()
    expected = [exact_view(r, corpus_all) for r in corpus_all.flows]
    for e in expected:
        e["enterprise"] = {k: str(v) for k, v in e["_rec"]["enterprise"].items()}
    got = [{**exact_got(r), "enterprise": ipfixdump_enterprise(r["fields"])} for r in recs if not r["options"]]
    pairs = assert_matched("ipfixDump/udp", expected, got, udp_run.logs)
    # every element the fixtures carry was printed by its name (the v11 file alone has 36)
    named = {k for _, g in pairs for k in g["enterprise"]}
    assert len(named) >= 37 and {"vpcId", "ecsTaskArn", "vpcInterfaceSrcIPv4Address", "encryptionStatus"} <= named
    stats = udp_run.ipfixdump.file_stats()
    assert len(stats) == 1 and f"{len(recs)} Data Records" in stats[0]


def test_ipfixdump_udp_options_name_every_interface_and_domain(udp_run, corpus_all):
    recs = udp_run.ipfixdump.records()
    options = [r for r in recs if r["options"]]
    named_ifs = {
        (r["odid"], int(r["fields"]["ingressInterface"]), r["fields"]["interfaceName"])
        for r in options
        if "interfaceName" in r["fields"]
    }
    want_ifs = {
        (corpus_all.domain(r), fl.synthetic_if_index(r["if_name"]), r["if_name"]) for r in corpus_all.flows
    }
    assert named_ifs == want_ifs
    names = {
        int(r["fields"]["observationDomainId"]): r["fields"]["observationDomainName"]
        for r in options
        if "observationDomainName" in r["fields"]
    }
    assert {k: v for k, v in names.items() if k != UNKNOWN_VPC_DOMAIN} == {DOMAIN[VPC_A]: VPC_A, DOMAIN[VPC_B]: VPC_B}
    assert UNKNOWN_VPC_DOMAIN in names


def nfdump_view(rec: dict, corpus: Corpus) -> dict:
    """nfdump 1.7.1: no forwardingStatus/interfaceName/ipVersion; an absent number reads 0."""
    keys = [k for k in STANDARD if k not in ("forwarding_status", "if_name", "ip_version")]
    v = {k: (0 if k in NUMERIC and rec[k] is None else rec[k]) for k in keys}
    v["odid"] = corpus.domain(rec)
    v["_where"] = rec["where"]
    return v


def nfdump_got(r: dict) -> dict:
    keys = [k for k in STANDARD if k not in ("forwarding_status", "if_name", "ip_version")]
    v = {k: (0 if k in NUMERIC and r[k] is None else r[k]) for k in keys}
    v["srcaddr"], v["dstaddr"] = norm_addr(v["srcaddr"]), norm_addr(v["dstaddr"])
    v["odid"] = r["odid"]
    return v


def test_nfdump_every_ok_line_is_one_flow_with_its_fields(udp_run, corpus_all):
    recs = udp_run.nfcapd.records()
    assert_matched(
        "nfdump", [nfdump_view(r, corpus_all) for r in corpus_all.flows], [nfdump_got(r) for r in recs], udp_run.logs
    )
    # nfdump 1.7.1 does not decode forwardingStatus (89): from 1.7.2 on it does, and this fails
    assert {r["forwarding_status"] for r in recs} == {0}


def test_nfdump_sequence_errors_are_only_its_options_quirk(udp_run):
    """nfdump counts only flow records: each message that follows one carrying options records is one error.

    tshark received the same message stream (same replay, one more collector), so it says where the
    options records are; every other message must be in sequence for nfdump.
    """
    by_domain = check_sequence_numbers(udp_run.tshark)
    predicted = {odid: sum(1 for prev in msgs[:-1] if prev["options"]) for odid, msgs in by_domain.items()}
    exporters = udp_run.nfcapd.exporters()
    assert {e["odid"]: e["sequence_failures"] for e in exporters} == predicted
    assert {e["odid"]: e["packets"] for e in exporters} == {odid: len(msgs) for odid, msgs in by_domain.items()}
    assert {(e["ip"], e["version"]) for e in exporters} == {("127.0.0.1", 10)}
    stats = udp_run.nfcapd.stats()
    assert stats["sequence_errors"] == sum(predicted.values())
    assert stats["bad_packets"] == 0


# --------------------------------------------------------------------------------------------
# TCP: tshark and ipfixDump (nfcapd and nfacctd 1.7 receive IPFIX over UDP only)


@dataclass
class TcpRun:
    replay: Replay
    tshark: peers_mod.TsharkPeer
    ipfixdump: peers_mod.IpfixDumpPeer
    logs: str


@pytest.fixture(scope="module")
def tcp_run(group, vpcflow_bin, corpus_all, ipfix_element_file) -> TcpRun:
    ts = group.add(peers_mod.TsharkPeer(group.workdir, "tcp"))
    ix = group.add(peers_mod.IpfixDumpPeer(group.workdir, "tcp", element_files=[ipfix_element_file]))
    cfg = write_config(group.workdir, "element-tcp.ini", ELEMENT_CONFIG)
    to = [a for p in (ts, ix) for a in ("--to", p.address)]
    rp = run_replay(vpcflow_bin, group.workdir, ["--config", str(cfg), "--transport", "tcp", *to, *corpus_all.files])
    for p in (ts, ix):
        p.stop()
    return TcpRun(rp, ts, ix, group.logs())


def test_tcp_replay_reports_every_line(tcp_run, corpus_all):
    check_report(tcp_run.replay, corpus_all)


def test_tshark_tcp_every_ok_line_is_one_record_with_its_fields(tcp_run, corpus_all):
    recs = tcp_run.tshark.records()
    expected = [exact_view(r, corpus_all) for r in corpus_all.flows]
    got = [exact_got(r) for r in recs if not r["options"]]
    assert_matched("tshark/tcp", expected, got, tcp_run.logs)
    check_sequence_numbers(tcp_run.tshark)


def test_ipfixdump_tcp_every_ok_line_is_one_record_with_our_elements_by_name(tcp_run, corpus_all):
    recs = tcp_run.ipfixdump.records()
    expected = [exact_view(r, corpus_all) for r in corpus_all.flows]
    for e in expected:
        e["enterprise"] = {k: str(v) for k, v in e["_rec"]["enterprise"].items()}
    got = [{**exact_got(r), "enterprise": ipfixdump_enterprise(r["fields"])} for r in recs if not r["options"]]
    assert_matched("ipfixDump/tcp", expected, got, tcp_run.logs)
    assert tcp_run.ipfixdump.sink.connections == 1  # one connection carries every domain


# --------------------------------------------------------------------------------------------
# nfacctd: two instances (our primitives split in two: a record with all of them is larger than the
# 1 KiB nfacctd's core hands its plugin per record), fed by one replay of the distinct fixtures

NFACCTD_AWS = (
    "aws_account_id vpc_id subnet_id instance_id traffic_path aws_region az_id pkt_src_aws_service "
    "pkt_dst_aws_service sublocation_type sublocation_id reject_reason vpc_interface_src_ipv4 "
    "vpc_interface_dst_ipv4 vpc_interface_src_ipv6 vpc_interface_dst_ipv6 encryption_status resource_id "
    "interface_type"
).split()


def pmacct_name(element: str) -> str:
    """The primitive name of an element: awsAccountId -> aws_account_id, instanceTag2 -> instance_tag_2."""
    special = {
        "vpcInterfaceSrcIPv4Address": "vpc_interface_src_ipv4",
        "vpcInterfaceDstIPv4Address": "vpc_interface_dst_ipv4",
        "vpcInterfaceSrcIPv6Address": "vpc_interface_src_ipv6",
        "vpcInterfaceDstIPv6Address": "vpc_interface_dst_ipv6",
    }
    if element in special:
        return special[element]
    return re.sub(r"(?<=[a-z])(\d)", r"_\1", re.sub(r"([A-Z])", r"_\1", element).lower())


def primitive_default(line: str) -> str:
    """What nfacctd prints for a primitive the record does not carry."""
    if "semantics=ip" in line:
        return "::" if "len=16" in line else "0.0.0.0"
    if "semantics=u_int" in line:
        return "0"
    return ""


@dataclass
class NfacctdRun:
    replay: Replay
    peers: dict[str, peers_mod.NfacctdPeer]
    primitives: dict[str, dict[str, str]]  # group -> primitive name -> default text
    logs: str


@pytest.fixture(scope="module")
def nfacctd_run(group, vpcflow_bin, corpus_distinct, pmacct_primitives_file) -> NfacctdRun:
    lines = peers_mod.NfacctdPeer.parse_primitives(pmacct_primitives_file.read_text())
    by_name = {name: line for name, _, line in lines}
    element_names = {pmacct_name(e) for e in fl.ELEMENT_IDS}
    assert element_names <= set(by_name), f"not in {pmacct_primitives_file}: {element_names - set(by_name)}"
    # "ecs-tags": the rest, plus the region so that otherwise equal flows of two formats stay apart
    groups = {"aws": NFACCTD_AWS, "ecs-tags": [n for n in by_name if n not in NFACCTD_AWS] + ["aws_region"]}
    started, prims = {}, {}
    for gname, names in groups.items():
        path = group.workdir / f"primitives-{gname}.lst"
        path.write_text("".join(by_name[n] + "\n" for n in names))
        started[gname] = group.add(peers_mod.NfacctdPeer(group.workdir, primitives_file=path))
        prims[gname] = {n: primitive_default(by_name[n]) for n in names}
    cfg = write_config(group.workdir, "element-nfacctd.ini", ELEMENT_CONFIG)
    to = [a for p in started.values() for a in ("--to", p.address)]
    rp = run_replay(vpcflow_bin, group.workdir, ["--config", str(cfg), *to, *corpus_distinct.files])
    for p in started.values():
        try:
            p.wait_records(len(corpus_distinct.flows), timeout=10)
        finally:
            p.stop()
    return NfacctdRun(rp, started, prims, group.logs())


NFACCTD_KEYS = [k for k in STANDARD if k not in ("if_name", "tcp_flags")]


def nfacctd_view(rec: dict, corpus: Corpus, prims: dict[str, str]) -> dict:
    v = {}
    for k in NFACCTD_KEYS:
        if rec[k] is not None:
            v[k] = rec[k]
        elif k in ("start_ms", "end_ms"):
            v[k] = ANY  # nfacctd puts the arrival time (start) or 0 (end) there
        elif k in ("packets", "octets"):
            v[k] = None  # left out of its JSON
        else:
            v[k] = 0
    v["odid"] = corpus.domain(rec)
    ent = {pmacct_name(k): str(val) for k, val in rec["enterprise"].items()}
    v["enterprise"] = {n: ent.get(n, default) for n, default in prims.items()}
    v["_where"] = rec["where"]
    v["_rec"] = rec
    return v


def nfacctd_got(r: dict, prims: dict[str, str]) -> dict:
    v = {k: r[k] for k in NFACCTD_KEYS}
    v["srcaddr"], v["dstaddr"] = norm_addr(v["srcaddr"]), norm_addr(v["dstaddr"])
    v["odid"] = r["odid"]
    v["enterprise"] = {n: r["raw"].get(n) for n in prims}
    v["_got"] = r
    return v


def test_nfacctd_replay_reports_every_line(nfacctd_run, corpus_distinct):
    check_report(nfacctd_run.replay, corpus_distinct)


def test_nfacctd_views_are_one_record_per_line(corpus_distinct, nfacctd_run):
    """Precondition of the next test: nfacctd sums records with equal keys, so no two expected ones may be equal."""
    for gname, prims in nfacctd_run.primitives.items():
        views = [nfacctd_view(r, corpus_distinct, prims) for r in corpus_distinct.flows]
        keys = Counter(repr({k: v for k, v in view.items() if not k.startswith("_")}) for view in views)
        assert max(keys.values()) == 1, f"{gname}: records nfacctd would sum: {[k for k, n in keys.items() if n > 1]}"


@pytest.mark.parametrize("gname", ["aws", "ecs-tags"])
def test_nfacctd_every_ok_line_is_one_record_with_our_primitives_by_name(nfacctd_run, corpus_distinct, gname):
    prims = nfacctd_run.primitives[gname]
    recs = nfacctd_run.peers[gname].records()
    expected = [nfacctd_view(r, corpus_distinct, prims) for r in corpus_distinct.flows]
    got = [nfacctd_got(r, prims) for r in recs]
    pairs = assert_matched(f"nfacctd/{gname}", expected, got, nfacctd_run.logs)
    # our elements arrived by name, with values (not only the defaults of absent ones)
    shown = {n for _, g in pairs for n, val in g["enterprise"].items() if val != prims[n]}
    want = {
        "aws": {"aws_account_id", "vpc_id", "subnet_id", "instance_id", "aws_region", "az_id", "traffic_path",
                "reject_reason", "sublocation_id", "vpc_interface_src_ipv4", "encryption_status", "resource_id"},
        "ecs-tags": {"ecs_cluster_arn", "ecs_container_id", "ecs_task_id", "instance_tag", "asg_tag",
                     "next_hop_vpc_id", "next_hop_interface_type"},
    }[gname]  # fmt: skip
    assert want <= shown, want - shown


def test_nfacctd_tcp_flags_equal_the_line(nfacctd_run, corpus_distinct):
    prims = nfacctd_run.primitives["aws"]
    recs = nfacctd_run.peers["aws"].records()
    expected = [nfacctd_view(r, corpus_distinct, prims) for r in corpus_distinct.flows]
    pairs, _, _ = match(expected, [nfacctd_got(r, prims) for r in recs])
    with_flags = [
        (e["_rec"]["tcp_flags"], g["_got"]["tcp_flags"], e["_where"]) for e, g in pairs if e["_rec"]["tcp_flags"]
    ]
    assert len(with_flags) >= 10
    assert [(w, got) for want, got, w in with_flags if want != got] == []


# --------------------------------------------------------------------------------------------
# bind mode: each VPC's messages leave from its own address


def test_bind_mode_nfdump_shows_one_exporter_per_vpc(group, vpcflow_bin, corpus_all):
    nf = group.add(peers_mod.NfcapdPeer(group.workdir))
    ts = group.add(peers_mod.TsharkPeer(group.workdir, "udp"))
    cfg = write_config(group.workdir, "bind.ini", BIND_CONFIG)
    to = ["--to", nf.address, "--to", ts.address]
    rp = run_replay(vpcflow_bin, group.workdir, ["--config", str(cfg), *to, *corpus_all.files])
    nf.stop()
    ts.stop()
    check_report(rp, corpus_all)
    exporters = {(e["ip"], e["odid"]) for e in nf.exporters()}
    # one exporter per VPC, with its configured source address; VPC-less records from the unbound socket
    assert exporters == {
        (BIND_IP[VPC_A], DOMAIN[VPC_A]),
        (BIND_IP[VPC_B], DOMAIN[VPC_B]),
        ("127.0.0.1", UNKNOWN_VPC_DOMAIN),
    }
    by_domain = Counter(corpus_all.domain(r) for r in corpus_all.flows)
    got = Counter(r["odid"] for r in nf.records())
    assert got == by_domain
    assert {r["odid"]: r["exporter"] for r in nf.records()} == {
        DOMAIN[VPC_A]: BIND_IP[VPC_A],
        DOMAIN[VPC_B]: BIND_IP[VPC_B],
        UNKNOWN_VPC_DOMAIN: "127.0.0.1",
    }
    # the UDP source tshark saw agrees, and bind mode sends no exporterIPv4Address
    src = {(r["odid"], r["exporter"]) for r in ts.records()}
    assert src == {(d, ip) for ip, d in exporters}
    assert {r["exporter_ie"] for r in ts.records()} == {None}


# --------------------------------------------------------------------------------------------
# message size


def fits(rec: dict, max_size: int, exporter_ipv4: bool) -> bool:
    """A record can be sent when it fits in a message alone and so does its template (each after a
    16-octet message header and a 4-octet set header, sets padded to 4 octets)."""
    data, template = fl.encoded_sizes(rec, exporter_ipv4)
    pad4 = lambda n: (n + 3) // 4 * 4  # noqa: E731
    return 16 + pad4(4 + data) <= max_size and 16 + 4 + template <= max_size


@pytest.mark.parametrize("max_size", [512, 9000])
def test_max_packet_size_bounds_every_datagram_and_every_record_that_fits_arrives(
    group, vpcflow_bin, corpus_all, max_size
):
    ts = group.add(peers_mod.TsharkPeer(group.workdir, "udp"))
    cfg = write_config(group.workdir, f"element-{max_size}.ini", ELEMENT_CONFIG)
    rp = run_replay(
        vpcflow_bin,
        group.workdir,
        ["--config", str(cfg), "--max-packet-size", str(max_size), "--to", ts.address, *corpus_all.files],
    )
    ts.stop()
    sendable = [r for r in corpus_all.flows if fits(r, max_size, r["vpc"] == VPC_B)]
    if max_size == 9000:
        assert len(sendable) == len(corpus_all.flows)
    else:
        # the v11 ECS record (727 octets) cannot be sent in 512; the others can
        assert 0 < len(corpus_all.flows) - len(sendable) <= 3
    sizes = []
    for frame in ts.decode():
        layers = frame["_source"]["layers"]
        if "cflow" in layers:
            sizes.append(int(layers["udp"]["udp.length"]) - 8)
    assert sizes and max(sizes) <= max_size
    assert all(m["length"] <= max_size for m in ts.messages())
    if max_size == 9000:
        assert max(sizes) > 1400  # the limit was used, not the default
    expected = [exact_view(r, corpus_all) for r in sendable]
    got = [exact_got(r) for r in ts.records() if not r["options"]]
    assert_matched(f"tshark max {max_size}", expected, got, rp.stderr)
    check_report(rp, corpus_all, dropped=len(corpus_all.flows) - len(sendable))


# --------------------------------------------------------------------------------------------
# files larger than replay's buffers, and the rate limit


def write_synthetic_log(path: Path, records: int) -> Corpus:
    """A default-format file of distinct flows (source address and port vary), with its header line."""
    lines = [" ".join(fl.DEFAULT_V2)]
    for i in range(records):
        lines.append(
            f"2 123456789012 eni-0123456789abcdef0 10.0.{i // 250 % 250}.{i % 250 + 1} 203.0.113.5 "
            f"{20000 + i % 40000} 443 6 {i + 1} {40 * (i + 1)} 1768478340 1768478399 "
            f"{'ACCEPT' if i % 3 else 'REJECT'} OK"
        )
    path.write_text("\n".join(lines) + "\n")
    corpus = load_corpus([path])
    assert len(corpus.flows) == records
    return corpus


def test_replay_sends_a_file_larger_than_its_buffers_to_the_last_line(group, vpcflow_bin, ipfix_element_file):
    """2000 records (230 KB, one read): more than the export buffers hold at once, no --rate. TCP, so
    the collector loses nothing; every line must arrive and the summary must count them all."""
    corpus = write_synthetic_log(group.workdir / "large.log", 2000)
    ix = group.add(peers_mod.IpfixDumpPeer(group.workdir, "tcp", element_files=[ipfix_element_file]))
    rp = run_replay(vpcflow_bin, group.workdir, ["--transport", "tcp", "--to", ix.address, *corpus.files])
    ix.stop()
    got = [exact_got(r) for r in ix.records() if not r["options"]]
    assert_matched("ipfixDump large file", [exact_view(r, corpus) for r in corpus.flows], got, rp.stderr)
    check_report(rp, corpus)


RATE = 200
RATE_RECORDS = 600


def test_rate_limit_slows_replay_and_loses_nothing(group, vpcflow_bin, ipfix_element_file):
    corpus = write_synthetic_log(group.workdir / "rate.log", RATE_RECORDS)
    ix = group.add(peers_mod.IpfixDumpPeer(group.workdir, "udp", element_files=[ipfix_element_file]))
    rp = run_replay(vpcflow_bin, group.workdir, ["--rate", str(RATE), "--to", ix.address, *corpus.files])
    ix.stop()
    expected = [exact_view(r, corpus) for r in corpus.flows]
    got = [exact_got(r) for r in ix.records() if not r["options"]]
    assert_matched("ipfixDump rate", expected, got, rp.stderr)
    check_report(rp, corpus)
    # A lower bound from the configured rate, with half a second of burst allowed: it proves the
    # limiter slows replay (unlimited, 600 records take milliseconds); it says nothing of our speed.
    assert rp.seconds >= (RATE_RECORDS - RATE / 2) / RATE
