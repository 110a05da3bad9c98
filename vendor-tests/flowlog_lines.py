"""An independent reading of VPC Flow Log text files, to compute what the IPFIX peers must decode.

It shares no code with the binary under test: the field names and value sets come from the AWS
field table (spec.md §A.2), the mapping from design.md "IPFIX" and the README's element reference.

* ``read_file(path)``: every line of a ``.log`` / ``.log.gz`` (gzip by magic bytes, multi-member)
  as a ``Line``: its 1-based number, its columns by field name, and either its ``log-status`` or
  why it is malformed (wrong field count, a number out of its range, a bad address, a value outside
  a documented set). The first line sets the layout when it is a header line (only field names,
  at least one known); otherwise the default v2 format applies.
* ``expected_record(line)``: the normalized record an IPFIX decoder must report for an ``OK`` line,
  in the keys of ``peers.empty_record()`` (``srcaddr`` … ``ip_version``), plus ``vpc`` (the line's
  VPC, which decides the observation domain) and ``enterprise``: our PEN elements by their element
  names (README element reference) with their values as text for strings, ints for the unsigned8
  codes, address text for the ENI-level addresses.
* ``synthetic_if_index(eni)``: the documented synthetic ifIndex (31-bit FNV-1a of the ENI id, never 0).
"""

from __future__ import annotations

import gzip
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
).split()

# Every field of v2-v11 (spec.md §A.2), in table order.
KNOWN_FIELDS = (
    DEFAULT_V2
    + "vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr".split()  # v3
    + "region az-id sublocation-type sublocation-id".split()  # v4
    + "pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path".split()  # v5
    + (
        "ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id "
        "ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id"
    ).split()  # v7
    + ["reject-reason"]  # v8
    + "resource-id encryption-status".split()  # v9, v10
    + (
        "instance-tag instance-tag-2 interface-tag interface-tag-2 asg-tag asg-tag-2 interface-type "
        "next-hop-interface-id next-hop-subnet-id next-hop-az-id next-hop-vpc-id next-hop-interface-type"
    ).split()  # v11
)

# Unsigned integer fields and their largest value (the IPFIX element's width, spec.md §F.7).
UINT_MAX = {
    "version": 0xFF,
    "srcport": 0xFFFF,
    "dstport": 0xFFFF,
    "protocol": 0xFF,
    "packets": 2**64 - 1,
    "bytes": 2**64 - 1,
    "start": 2**64 - 1,
    "end": 2**64 - 1,
    "tcp-flags": 0xFF,  # tcpControlBits goes in 1 octet (reduced size): VPC flags are <= 0x17
    "traffic-path": 0xFF,
    "encryption-status": 0xFF,
}
ADDRESS_FIELDS = ("srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr")
CHOICES = {
    "action": ("ACCEPT", "REJECT"),
    "log-status": ("OK", "NODATA", "SKIPDATA"),
    "type": ("IPv4", "IPv6", "EFA"),
    "flow-direction": ("ingress", "egress"),
}

# String fields sent as our enterprise elements: flow-log field -> element name (README reference).
ENTERPRISE_STRINGS = {
    "account-id": "awsAccountId",
    "vpc-id": "vpcId",
    "subnet-id": "subnetId",
    "instance-id": "instanceId",
    "region": "awsRegion",
    "az-id": "azId",
    "pkt-src-aws-service": "pktSrcAwsService",
    "pkt-dst-aws-service": "pktDstAwsService",
    "sublocation-type": "sublocationType",
    "sublocation-id": "sublocationId",
    "reject-reason": "rejectReason",
    "ecs-cluster-arn": "ecsClusterArn",
    "ecs-cluster-name": "ecsClusterName",
    "ecs-container-instance-arn": "ecsContainerInstanceArn",
    "ecs-container-instance-id": "ecsContainerInstanceId",
    "ecs-container-id": "ecsContainerId",
    "ecs-second-container-id": "ecsSecondContainerId",
    "ecs-service-name": "ecsServiceName",
    "ecs-task-definition-arn": "ecsTaskDefinitionArn",
    "ecs-task-arn": "ecsTaskArn",
    "ecs-task-id": "ecsTaskId",
    "resource-id": "resourceId",
    "instance-tag": "instanceTag",
    "instance-tag-2": "instanceTag2",
    "interface-tag": "interfaceTag",
    "interface-tag-2": "interfaceTag2",
    "asg-tag": "asgTag",
    "asg-tag-2": "asgTag2",
    "interface-type": "interfaceType",
    "next-hop-interface-id": "nextHopInterfaceId",
    "next-hop-subnet-id": "nextHopSubnetId",
    "next-hop-az-id": "nextHopAzId",
    "next-hop-vpc-id": "nextHopVpcId",
    "next-hop-interface-type": "nextHopInterfaceType",
}
# unsigned8 codes and what a `-` is sent as (README: trafficPath 0, encryptionStatus 255)
ENTERPRISE_CODES = {"traffic-path": ("trafficPath", 0), "encryption-status": ("encryptionStatus", 255)}

# element name -> (PEN element id, pmacct primitive name), from the README element reference and
# scripts/ipfix/pmacct-primitives.lst
ELEMENT_IDS = {
    "awsAccountId": 1,
    "vpcId": 2,
    "subnetId": 3,
    "instanceId": 4,
    "trafficPath": 5,
    "awsRegion": 6,
    "azId": 7,
    "pktSrcAwsService": 8,
    "pktDstAwsService": 9,
    "sublocationType": 10,
    "sublocationId": 11,
    "rejectReason": 12,
    "vpcInterfaceSrcIPv4Address": 13,
    "vpcInterfaceDstIPv4Address": 14,
    "vpcInterfaceSrcIPv6Address": 15,
    "vpcInterfaceDstIPv6Address": 16,
    "encryptionStatus": 17,
    "ecsClusterArn": 18,
    "ecsClusterName": 19,
    "ecsContainerInstanceArn": 20,
    "ecsContainerInstanceId": 21,
    "ecsContainerId": 22,
    "ecsSecondContainerId": 23,
    "ecsServiceName": 24,
    "ecsTaskDefinitionArn": 25,
    "ecsTaskArn": 26,
    "ecsTaskId": 27,
    "resourceId": 28,
    "instanceTag": 29,
    "instanceTag2": 30,
    "interfaceTag": 31,
    "interfaceTag2": 32,
    "asgTag": 33,
    "asgTag2": 34,
    "interfaceType": 35,
    "nextHopInterfaceId": 36,
    "nextHopSubnetId": 37,
    "nextHopAzId": 38,
    "nextHopVpcId": 39,
    "nextHopInterfaceType": 40,
}

ACTION_TO_FORWARDING = {"ACCEPT": 64, "REJECT": 129}  # RFC 7270: forwarded / dropped (ACL deny)
DIRECTION = {"ingress": 0, "egress": 1}  # flowDirection (61)

_NAME_SYNTAX = re.compile(rb"[a-z][a-z0-9-]*")
_SPLIT = re.compile(rb"[ \t\f\r]+")  # runs of ASCII whitespace (\n ends the line)


@dataclass
class Line:
    source: str  # the path as given to replay
    number: int  # 1-based, the header line included
    columns: dict[str, str]  # field name -> raw token (`-` kept)
    status: str | None = None  # OK / NODATA / SKIPDATA, or None when malformed
    malformed: str | None = None  # why, when it is malformed
    layout: list[str] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        """The token of ``name``; None when the format lacks it or the line has `-`."""
        v = self.columns.get(name)
        return None if v in (None, "-") else v

    @property
    def is_flow(self) -> bool:
        return self.malformed is None and self.status == "OK"


@dataclass
class FileLines:
    source: str
    header: list[str] | None
    lines: list[Line]  # record lines only (no header, no blank lines)
    total_lines: int = 0  # every line, header and blank ones included
    header_lines: int = 0
    blank_lines: int = 0


def _tokens(raw: bytes) -> list[bytes]:
    return [t for t in _SPLIT.split(raw) if t]


def is_header_line(raw: bytes) -> bool:
    toks = _tokens(raw)
    return bool(toks) and all(_NAME_SYNTAX.fullmatch(t) for t in toks) and any(
        t.decode() in KNOWN_FIELDS for t in toks
    )


def decompress_if_gzip(data: bytes) -> bytes:
    """gzip (detected by its magic bytes, any number of members) or the bytes as they are."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _why_malformed(columns: dict[str, str]) -> str | None:
    for name, tok in columns.items():
        if tok == "-" or name not in KNOWN_FIELDS:
            continue
        if name in UINT_MAX:
            if not tok.isascii() or not tok.isdigit() or int(tok) > UINT_MAX[name]:
                return f"{name}: bad number {tok!r}"
        elif name in ADDRESS_FIELDS:
            try:
                if "%" in tok:  # a scope id is not an address AWS writes
                    raise ValueError(tok)
                ipaddress.ip_address(tok)
            except ValueError:
                return f"{name}: bad address {tok!r}"
        elif name in CHOICES and tok not in CHOICES[name]:
            return f"{name}: bad value {tok!r}"
    return None


def read_file(path: Path | str, source: str | None = None) -> FileLines:
    """All record lines of one flow-log file (see the module doc)."""
    path = Path(path)
    text = decompress_if_gzip(path.read_bytes())
    raw_lines = text.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    layout = DEFAULT_V2
    header = None
    out = []
    headers = blanks = 0
    for i, raw in enumerate(raw_lines, start=1):
        raw = raw.rstrip(b"\r")
        toks = _tokens(raw)
        if not toks:
            blanks += 1
            continue
        if is_header_line(raw):
            layout = [t.decode() for t in toks]
            header = header or layout
            headers += 1
            continue
        values = [t.decode(errors="replace") for t in toks]
        if len(values) != len(layout):
            out.append(
                Line(
                    source or str(path),
                    i,
                    {},
                    malformed=f"wrong field count: expected {len(layout)}, got {len(values)}",
                    layout=layout,
                )
            )
            continue
        columns = dict(zip(layout, values))
        why = _why_malformed(columns)
        status = None if why else columns.get("log-status", "OK")
        # a format without log-status describes flows only (NODATA/SKIPDATA need the column)
        if status == "-":
            status = "OK"
        out.append(Line(source or str(path), i, columns, status=status, malformed=why, layout=layout))
    return FileLines(source or str(path), header, out, len(raw_lines), headers, blanks)


def synthetic_if_index(eni: str) -> int:
    """31-bit FNV-1a (32-bit offset basis 0x811c9dc5, prime 0x01000193) of the ENI id; 0 becomes 1."""
    h = 0x811C9DC5
    for b in eni.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) or 1


def _addr(text: str | None) -> str | None:
    return None if text is None else str(ipaddress.ip_address(text))


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def expected_record(line: Line) -> dict:
    """What a decoder must report for one OK line (see the module doc)."""
    if not line.is_flow:
        raise ValueError(f"{line.source}:{line.number} is not a flow line")
    v = line.value
    eni_src, eni_dst = _addr(v("srcaddr")), _addr(v("dstaddr"))
    src = _addr(v("pkt-srcaddr")) or eni_src
    dst = _addr(v("pkt-dstaddr")) or eni_dst
    ip_type = v("type")
    if ip_type == "IPv4":
        ip_version = 4
    elif ip_type == "IPv6":
        ip_version = 6
    elif ip_type == "EFA":
        ip_version = None  # not IP: no version is claimed
    else:
        first = src or dst
        ip_version = None if first is None else ipaddress.ip_address(first).version
    direction = DIRECTION.get(v("flow-direction") or "")
    eni = line.columns.get("interface-id")
    if eni is None:
        if_name, ingress_if, egress_if = None, None, None
    else:
        if_name = "" if eni == "-" else eni
        index = synthetic_if_index(if_name) if if_name else 0
        # egress: egressInterface; ingress or unknown direction: ingressInterface (README "Interfaces")
        ingress_if, egress_if = (0, index) if direction == 1 else (index, 0)
    start, end = _int(v("start")), _int(v("end"))
    rec = {
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": _int(v("srcport")),
        "dstport": _int(v("dstport")),
        "proto": _int(v("protocol")),
        "tcp_flags": _int(v("tcp-flags")),
        "packets": _int(v("packets")),
        "octets": _int(v("bytes")),
        "start_ms": None if start is None else start * 1000,
        "end_ms": None if end is None else end * 1000,
        "direction": direction,
        "forwarding_status": ACTION_TO_FORWARDING.get(v("action") or ""),
        "if_name": if_name,
        "ingress_if": ingress_if,
        "egress_if": egress_if,
        "ip_version": ip_version,
    }
    ent: dict[str, object] = {}
    for name, element in ENTERPRISE_STRINGS.items():
        if name in line.columns:
            ent[element] = v(name) or ""  # a `-` string is sent empty
    for name, (element, dash) in ENTERPRISE_CODES.items():
        if name in line.columns:
            ent[element] = dash if v(name) is None else int(v(name))
    # the ENI-level addresses, when they differ from the packet's
    for eni_addr, pkt_addr, side in ((eni_src, src, "Src"), (eni_dst, dst, "Dst")):
        if eni_addr is not None and eni_addr != pkt_addr:
            fam = ipaddress.ip_address(eni_addr).version
            ent[f"vpcInterface{side}IPv{fam}Address"] = eni_addr
    rec["enterprise"] = ent
    rec["vpc"] = v("vpc-id")
    rec["where"] = f"{line.source}:{line.number}"
    return rec


def enterprise_wire_value(element: str, value: object) -> bytes:
    """The value octets of one of our elements as sent (strings UTF-8, codes 1 octet, addresses 4/16)."""
    if element in ("trafficPath", "encryptionStatus"):
        return bytes([int(value)])
    if element.startswith("vpcInterface"):
        return ipaddress.ip_address(value).packed
    return str(value).encode()


# Octets of each standard element as sent (README element reference); strings are variable-length.
STANDARD_OCTETS = {
    "srcport": 2,
    "dstport": 2,
    "proto": 1,
    "tcp_flags": 1,
    "packets": 8,
    "octets": 8,
    "start_ms": 8,
    "end_ms": 8,
    "direction": 1,
    "forwarding_status": 1,
    "ip_version": 1,
    "ingress_if": 4,
    "egress_if": 4,
}


def _varlen(n: int) -> int:
    return (1 if n < 255 else 3) + n  # RFC 7011 §7: 1-octet length, or 255 + 2-octet length


def encoded_sizes(rec: dict, exporter_ipv4: bool = False) -> tuple[int, int]:
    """(data record octets, template record octets) of one expected record, from the element reference.

    The template has one field specifier per present element (4 octets, 8 with an enterprise
    number); the record has each present value (strings with their length prefix).
    """
    data = 0
    fields = 0
    ent_fields = 0
    for addr in ("srcaddr", "dstaddr"):
        if rec[addr] is not None:
            data += ipaddress.ip_address(rec[addr]).packed.__len__()
            fields += 1
    for key, octets in STANDARD_OCTETS.items():
        if rec[key] is not None:
            data += octets
            fields += 1
    if rec["if_name"] is not None:
        data += _varlen(len(rec["if_name"].encode()))
        fields += 1
    if exporter_ipv4:
        data += 4
        fields += 1
    for element, value in rec["enterprise"].items():
        raw = enterprise_wire_value(element, value)
        variable = not (element in ("trafficPath", "encryptionStatus") or element.startswith("vpcInterface"))
        data += _varlen(len(raw)) if variable else len(raw)
        ent_fields += 1
    template = 4 + 4 * fields + 8 * ent_fields  # template id + field count, then the specifiers
    return data, template
