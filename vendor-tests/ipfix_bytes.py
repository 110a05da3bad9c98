"""A small independent IPFIX (RFC 7011) message walker for the harness tests.

It exists to derive variants of the known-good sample messages (e.g. tcpControlBits sent in one
octet, the reduced-size encoding of RFC 7011 §6.2) without hand-editing hex, so a peer's handling of
an encoding choice can be checked before our encoder makes that choice.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

VARLEN = 0xFFFF


@dataclass
class FieldSpec:
    ie: int
    length: int
    pen: int | None = None

    def encode(self) -> bytes:
        if self.pen is None:
            return struct.pack("!HH", self.ie, self.length)
        return struct.pack("!HHI", self.ie | 0x8000, self.length, self.pen)


@dataclass
class Template:
    tid: int
    fields: list[FieldSpec]
    scope_count: int = 0  # > 0 for an options template


@dataclass
class Message:
    export_time: int
    sequence: int
    odid: int
    sets: list[tuple[int, bytes]] = field(default_factory=list)  # (set id, body without set header)

    def encode(self) -> bytes:
        body = b"".join(struct.pack("!HH", sid, 4 + len(b)) + b for sid, b in self.sets)
        return struct.pack("!HHIII", 10, 16 + len(body), self.export_time, self.sequence, self.odid) + body


def parse_message(data: bytes) -> Message:
    version, length, export_time, seq, odid = struct.unpack_from("!HHIII", data, 0)
    if version != 10 or length != len(data):
        raise ValueError(f"not one IPFIX message: version {version}, length {length}, have {len(data)} octets")
    msg = Message(export_time, seq, odid)
    off = 16
    while off < length:
        sid, slen = struct.unpack_from("!HH", data, off)
        if slen < 4 or off + slen > length:
            raise ValueError(f"bad set length {slen} at offset {off}")
        msg.sets.append((sid, data[off + 4 : off + slen]))
        off += slen
    return msg


def parse_templates(set_id: int, body: bytes) -> list[Template]:
    out, off = [], 0
    while off + 4 <= len(body):
        tid, count = struct.unpack_from("!HH", body, off)
        off += 4
        scope = 0
        if set_id == 3:
            (scope,) = struct.unpack_from("!H", body, off)
            off += 2
        specs = []
        for _ in range(count):
            ie, flen = struct.unpack_from("!HH", body, off)
            off += 4
            pen = None
            if ie & 0x8000:
                (pen,) = struct.unpack_from("!I", body, off)
                off += 4
                ie &= 0x7FFF
            specs.append(FieldSpec(ie, flen, pen))
        out.append(Template(tid, specs, scope))
        if len(body) - off < 4:  # the rest is padding
            break
    return out


def encode_templates(set_id: int, templates: list[Template]) -> bytes:
    out = b""
    for t in templates:
        out += struct.pack("!HH", t.tid, len(t.fields))
        if set_id == 3:
            out += struct.pack("!H", t.scope_count)
        out += b"".join(f.encode() for f in t.fields)
    return out


def split_records(template: Template, body: bytes) -> list[list[bytes]]:
    """Each record of a data set as its list of field values (variable-length prefixes removed)."""
    records, off = [], 0
    fixed_min = sum(1 if f.length == VARLEN else f.length for f in template.fields)
    while len(body) - off >= fixed_min and fixed_min > 0:
        values = []
        for f in template.fields:
            if f.length == VARLEN:
                n = body[off]
                off += 1
                if n == 255:
                    (n,) = struct.unpack_from("!H", body, off)
                    off += 2
                values.append(body[off : off + n])
                off += n
            else:
                values.append(body[off : off + f.length])
                off += f.length
        records.append(values)
    return records


def encode_record(template: Template, values: list[bytes]) -> bytes:
    out = b""
    for f, v in zip(template.fields, values):
        if f.length == VARLEN:
            out += (bytes([len(v)]) if len(v) < 255 else b"\xff" + struct.pack("!H", len(v))) + v
        else:
            out += v
    return out


def with_field_length(messages: list[bytes], ie: int, new_length: int, pen: int | None = None) -> list[bytes]:
    """Re-encode messages with one fixed-length field sent in ``new_length`` octets (keeping the low octets).

    Templates are tracked across messages per (observation domain, template id), like a collector does.
    """
    old_templates: dict[tuple[int, int], Template] = {}
    new_templates: dict[tuple[int, int], Template] = {}
    out = []
    for raw in messages:
        msg = parse_message(raw)
        new_sets = []
        for sid, body in msg.sets:
            if sid in (2, 3):
                olds = parse_templates(sid, body)
                news = []
                for t in olds:
                    old_templates[(msg.odid, t.tid)] = t
                    nt = Template(
                        t.tid,
                        [
                            FieldSpec(f.ie, new_length if (f.ie, f.pen) == (ie, pen) else f.length, f.pen)
                            for f in t.fields
                        ],
                        t.scope_count,
                    )
                    new_templates[(msg.odid, t.tid)] = nt
                    news.append(nt)
                new_sets.append((sid, encode_templates(sid, news)))
            elif sid >= 256 and (msg.odid, sid) in old_templates:
                old, new = old_templates[(msg.odid, sid)], new_templates[(msg.odid, sid)]
                recs = []
                for values in split_records(old, body):
                    nv = [
                        v[len(v) - nf.length :] if nf.length != of.length else v
                        for v, of, nf in zip(values, old.fields, new.fields)
                    ]
                    recs.append(encode_record(new, nv))
                new_sets.append((sid, b"".join(recs)))
            else:
                new_sets.append((sid, body))
        msg.sets = new_sets
        out.append(msg.encode())
    return out
