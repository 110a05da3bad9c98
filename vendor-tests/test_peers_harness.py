"""The harness proven on known-good input, before our binary exists.

The sample messages (shared/reference/samples/ipfix/, hex in README-fixtures.txt, checked with tshark
and nfdump in VALIDATION.txt) are sent over loopback with Python to each real decoder, and each must
report exactly the three flows VALIDATION.txt lists. What a decoder is known to miss is asserted as
such (and named in peers.py), so a peer upgrade that changes it shows up here first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ipfix_bytes

ENI = "eni-0123456789abcdef0"
IFINDEX = 6056637  # crc32(ENI) & 0x7fffffff, the sample's synthetic ifIndex
T_START = 1768478340000  # 2026-01-15 11:59:00 UTC
T_END = 1768478399000

# The three flows of msg1 (2 records, sequence 0) and msg2 (1 record, sequence 2), from
# README-fixtures.txt / VALIDATION.txt. forwarding_status: ACCEPT 64, REJECT 129.
EXPECTED = [
    dict(srcaddr="10.0.1.5", dstaddr="52.95.128.179", srcport=34210, dstport=443, proto=6, tcp_flags=0x03,
         packets=7, octets=471, start_ms=T_START, end_ms=T_END, direction=1, forwarding_status=64,
         if_name=ENI, ingress_if=0, egress_if=IFINDEX, odid=1, sequence=0),
    dict(srcaddr="52.95.128.179", dstaddr="10.0.1.5", srcport=443, dstport=34210, proto=6, tcp_flags=0x13,
         packets=14, octets=15044, start_ms=T_START, end_ms=T_END, direction=0, forwarding_status=64,
         if_name=ENI, ingress_if=IFINDEX, egress_if=0, odid=1, sequence=0),
    dict(srcaddr="198.51.100.7", dstaddr="10.0.1.5", srcport=44567, dstport=22, proto=6, tcp_flags=0x02,
         packets=5, octets=300, start_ms=T_START + 5000, end_ms=T_END, direction=0, forwarding_status=129,
         if_name=ENI, ingress_if=IFINDEX, egress_if=0, odid=1, sequence=2),
]  # fmt: skip

# Enterprise strings (PEN 32473) of the same three records, by element name.
EXPECTED_ENTERPRISE = [
    dict(awsAccountId="123456789012", vpcId="vpc-0a1b2c3d4e5f60718", subnetId="subnet-0a1b2c3d4e5f60001",
         instanceId="i-0123456789abcdef0", trafficPath="8", awsRegion="us-east-1", azId="use1-az6",
         pktSrcAwsService="", pktDstAwsService="S3"),
    dict(awsAccountId="123456789012", vpcId="vpc-0a1b2c3d4e5f60718", subnetId="subnet-0a1b2c3d4e5f60001",
         instanceId="i-0123456789abcdef0", trafficPath="0", awsRegion="us-east-1", azId="use1-az6",
         pktSrcAwsService="S3", pktDstAwsService=""),
    dict(awsAccountId="123456789012", vpcId="vpc-0a1b2c3d4e5f60718", subnetId="subnet-0a1b2c3d4e5f60001",
         instanceId="i-0123456789abcdef0", trafficPath="0", awsRegion="us-east-1", azId="use1-az6",
         pktSrcAwsService="", pktDstAwsService=""),
]  # fmt: skip
# pmacct primitive name for each element (scripts/ipfix/pmacct-primitives.lst)
PMACCT_NAME = dict(awsAccountId="aws_account_id", vpcId="vpc_id", subnetId="subnet_id", instanceId="instance_id",
                   trafficPath="traffic_path", awsRegion="aws_region", azId="az_id",
                   pktSrcAwsService="pkt_src_aws_service", pktDstAwsService="pkt_dst_aws_service")  # fmt: skip

HARNESS_DATA = Path(__file__).resolve().parent / "data"


def sample(dir_: Path, *names: str) -> list[bytes]:
    return [(dir_ / n).read_bytes() for n in names]


def plain(records: list[dict], keys) -> list[dict]:
    """The records restricted to ``keys``, in a stable order (by start, source, source port)."""
    rows = [{k: r[k] for k in keys} for r in records]
    return sorted(rows, key=lambda r: (r.get("start_ms") or 0, str(r.get("srcaddr")), r.get("srcport") or 0))


def expected(keys, **override) -> list[dict]:
    rows = [{k: {**e, **override}[k] for k in keys} for e in EXPECTED]
    return sorted(rows, key=lambda r: (r.get("start_ms") or 0, str(r.get("srcaddr")), r.get("srcport") or 0))


def expected_with_options(keys) -> list[dict]:
    """msg1b + msg2b: the same flows; msg2b says sequence 3 (the options record counts)."""
    return [{**r, "sequence": 3} if r.get("sequence") == 2 else r for r in expected(keys)]


def by_flow(records: list[dict]) -> dict:
    return {(r["srcaddr"], r["srcport"]): r for r in records}


def element_file(project_file: Path | None) -> Path:
    """Our element file if the project has it (its ids 1-9 are the sample's), else the harness copy."""
    return project_file or HARNESS_DATA / "sample-elements.xml"


def primitives_file(project_file: Path | None) -> Path:
    return project_file or HARNESS_DATA / "sample-primitives.lst"


ALL_KEYS = list(EXPECTED[0].keys())


def test_expected_flows_are_the_ones_validation_txt_lists(ipfix_samples_dir, shared_dir):
    path = ipfix_samples_dir / "VALIDATION.txt"
    if not path.exists():
        path = shared_dir / "reference" / "samples" / "ipfix" / "VALIDATION.txt"
    text = path.read_text()
    # the nfdump table: "... TCP  10.0.1.5:34210 ->  52.95.128.179:443  ......SF  7  471  0 6056637  E  0"
    rows = re.findall(
        r"^\S+ \S+ \S+ \S+ TCP\s+(\S+):(\d+)\s+->\s+(\S+):(\d+)\s+(\S{8})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([EI])",
        text,
        re.M,
    )
    assert len(rows) == 3
    got = [
        dict(srcaddr=s, srcport=int(sp), dstaddr=d, dstport=int(dp), packets=int(p), octets=int(o),
             ingress_if=int(i), egress_if=int(e), direction=1 if dr == "E" else 0)
        for s, sp, d, dp, _flags, p, o, i, e, dr in rows
    ]  # fmt: skip
    got.sort(key=lambda r: (r["srcaddr"], r["srcport"]))
    keys = ["srcaddr", "srcport", "dstaddr", "dstport", "packets", "octets", "ingress_if", "egress_if", "direction"]
    want = sorted(({k: e[k] for k in keys} for e in EXPECTED), key=lambda r: (r["srcaddr"], r["srcport"]))
    assert got == want
    # the tshark table: sequence numbers 0 then 2, one observation domain (1)
    seqs = re.findall(r"^(\d+)\t1\t", text, re.M)
    assert seqs == ["0", "2"]


def test_tshark_decodes_the_samples_over_udp(peers, ipfix_samples_dir):
    msgs = sample(ipfix_samples_dir, "msg1-template+2records.bin", "msg2-1record-seq2.bin")
    ts = peers.tshark("udp")
    src = ts.send(msgs)
    ts.wait_received(sum(map(len, msgs)))
    ts.stop()
    recs = ts.records()
    assert plain(recs, ALL_KEYS) == expected(ALL_KEYS)
    assert {(r["exporter"], r["exporter_port"]) for r in recs} == {src}
    assert [m["sequence"] for m in ts.messages()] == [0, 2]
    # tshark does not name enterprise elements: their values arrive raw, in template order,
    # and zero-length values are left out (pktSrcAwsService is empty here)
    first = by_flow(recs)[("10.0.1.5", 34210)]
    ent = EXPECTED_ENTERPRISE[0]
    want = [bytes([8]) if k == "trafficPath" else v.encode() for k, v in ent.items() if v != ""]
    assert first["enterprise"] == [w.hex(":") for w in want]


def test_tshark_decodes_the_samples_over_tcp_with_options(peers, ipfix_samples_dir):
    msgs = sample(
        ipfix_samples_dir, "msg1b-template+optionsTemplate+optionsData+2records.bin", "msg2b-1record-seq3.bin"
    )
    ts = peers.tshark("tcp")
    ts.send(msgs)
    ts.wait_received(sum(map(len, msgs)))
    ts.stop()
    recs = ts.records()
    flows = [r for r in recs if not r["options"]]
    options = [r for r in recs if r["options"]]
    assert plain(flows, ALL_KEYS) == expected_with_options(ALL_KEYS)
    assert [(o["template_id"], o["observation_domain_name"]) for o in options] == [
        (258, "123456789012/us-east-1/vpc-0a1b2c3d4e5f60718")
    ]
    assert [m["sequence"] for m in ts.messages()] == [0, 3]


def test_nfcapd_decodes_the_samples(peers, ipfix_samples_dir):
    msgs = sample(ipfix_samples_dir, "msg1-template+2records.bin", "msg2-1record-seq2.bin")
    nf = peers.nfcapd()
    nf.send(msgs)
    nf.stop()
    # nfdump 1.7.1 ignores forwardingStatus (89, decoded from 1.7.2 on), interfaceName and enterprise fields
    keys = [k for k in ALL_KEYS if k not in ("forwarding_status", "if_name", "sequence")]
    recs = nf.records()
    assert plain(recs, keys) == expected(keys)
    assert {r["forwarding_status"] for r in recs} == {0}
    assert {r["exporter"] for r in recs} == {"127.0.0.1"}
    assert nf.stats() == dict(flows=3, packets=26, bytes=15815, sequence_errors=0, bad_packets=0)
    (exp,) = nf.exporters()
    assert (exp["ip"], exp["version"], exp["odid"], exp["sequence_failures"], exp["flows"]) == (
        "127.0.0.1",
        10,
        1,
        0,
        3,
    )


def test_nfcapd_counts_an_options_record_as_a_sequence_error(peers, ipfix_samples_dir):
    # RFC 7011: options data records are data records, so msg2b says sequence 3; nfdump expects 2.
    msgs = sample(
        ipfix_samples_dir, "msg1b-template+optionsTemplate+optionsData+2records.bin", "msg2b-1record-seq3.bin"
    )
    nf = peers.nfcapd()
    nf.send(msgs)
    nf.stop()
    assert len(nf.records()) == 3
    assert nf.stats()["sequence_errors"] == 1
    assert [e["sequence_failures"] for e in nf.exporters()] == [1]


def test_nfacctd_decodes_the_samples_with_enterprise_strings(peers, ipfix_samples_dir, pmacct_primitives_file):
    msgs = sample(ipfix_samples_dir, "msg1-template+2records.bin", "msg2-1record-seq2.bin")
    pm = peers.nfacctd(primitives_file=primitives_file(pmacct_primitives_file))
    pm.send(msgs)
    pm.wait_records(3)
    pm.stop()
    recs = pm.records()
    # nfacctd 1.7.7 cannot show interfaceName (IANA variable-length) and reads tcpControlBits only from 1 octet
    keys = [k for k in ALL_KEYS if k not in ("if_name", "tcp_flags")]
    assert plain(recs, keys) == expected(keys)
    assert {r["exporter"] for r in recs} == {"127.0.0.1"}
    got = {(r["srcaddr"], r["srcport"]): r["enterprise"] for r in recs}
    for e, ent in zip(EXPECTED, EXPECTED_ENTERPRISE):
        want = {PMACCT_NAME[k]: v for k, v in ent.items()}
        assert {k: got[(e["srcaddr"], e["srcport"])][k] for k in want} == want


def test_nfacctd_reads_tcp_flags_only_when_sent_in_one_octet(peers, ipfix_samples_dir):
    two = sample(ipfix_samples_dir, "msg1-template+2records.bin", "msg2-1record-seq2.bin")
    one = ipfix_bytes.with_field_length(two, ie=6, new_length=1)  # reduced-size encoding, RFC 7011 §6.2
    assert [len(a) - len(b) for a, b in zip(two, one)] == [2, 1]  # 1 octet less per record
    flags = {}
    for name, msgs in (("two", two), ("one", one)):
        pm = peers.nfacctd()
        pm.send(msgs)
        pm.wait_records(3)
        pm.stop()
        flags[name] = sorted(r["tcp_flags"] for r in pm.records())
    assert flags == {"two": [0, 0, 0], "one": [0x02, 0x03, 0x13]}


def test_ipfixdump_decodes_the_samples_with_our_element_file(peers, ipfix_samples_dir, ipfix_element_file):
    msgs = sample(ipfix_samples_dir, "msg1-template+2records.bin", "msg2-1record-seq2.bin")
    ix = peers.ipfixdump("udp", element_files=[element_file(ipfix_element_file)])
    src = ix.send(msgs)
    ix.wait_received(sum(map(len, msgs)))
    ix.stop()
    recs = ix.records()
    assert plain(recs, ALL_KEYS) == expected(ALL_KEYS)
    assert {r["exporter"] for r in recs} == {src[0]}
    got = by_flow(recs)
    for e, ent in zip(EXPECTED, EXPECTED_ENTERPRISE):
        fields = got[(e["srcaddr"], e["srcport"])]["fields"]
        assert {k: fields[k] for k in ent} == ent
    assert ix.file_stats() == ["*** File Stats: 2 Messages, 3 Data Records, 1 Template Records ***"]


def test_ipfixdump_decodes_options_over_tcp_and_leaves_unknown_enterprise_elements_raw(peers, ipfix_samples_dir):
    msgs = sample(
        ipfix_samples_dir, "msg1b-template+optionsTemplate+optionsData+2records.bin", "msg2b-1record-seq3.bin"
    )
    ix = peers.ipfixdump("tcp")  # no element file
    ix.send(msgs)
    ix.wait_received(sum(map(len, msgs)))
    ix.stop()
    recs = ix.records()
    flows = [r for r in recs if not r["options"]]
    options = [r for r in recs if r["options"]]
    assert plain(flows, ALL_KEYS) == expected_with_options(ALL_KEYS)
    assert [
        (o["template_id"], o["fields"]["observationDomainName"], o["fields"]["observationDomainId"]) for o in options
    ] == [(258, "123456789012/us-east-1/vpc-0a1b2c3d4e5f60718", "1")]
    # without an element file the PEN elements are only lengths
    assert by_flow(flows)[("10.0.1.5", 34210)]["ids"]["32473/2"] == "len: 21"


def test_a_missing_peer_binary_fails_with_an_install_hint(monkeypatch, tmp_path):
    import harness

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(harness, "FALLBACK_DIRS", ())
    with pytest.raises(harness.PeerError, match=r"apt-get install -y pmacct"):
        harness.require_binary("nfacctd")
