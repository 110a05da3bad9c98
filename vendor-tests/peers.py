"""Real IPFIX decoders on loopback, started and stopped by PID, and what they decoded as dicts.

Four peers, each with the same shape: ``start()`` (binds a free port chosen at runtime and waits
until the peer is really listening), ``stop()`` (signal, bounded wait, SIGKILL of its process
group as a last resort), then ``records()``: one dict per data record the peer decoded.

* ``TsharkPeer``    UDP: a Python listener receives the datagrams as a collector does and writes them,
                    with their real source address and port, as raw IPv4 frames to a pcap. TCP: tshark
                    captures ``lo`` with a capture filter for the port, a Python sink accepts the
                    connection. Then ``tshark -r pcap -d udp.port==N,cflow -T json``. (A UDP capture
                    on ``lo`` would show what the *sender* hands the kernel: a run of datagrams sent
                    with UDP segmentation offload is one large frame there, which no collector
                    receives: see the README, "UDP datagrams".)
* ``NfcapdPeer``    nfcapd (nfdump 1.7.1 in Debian 12) writes its file on SIGTERM; ``nfdump -o json``,
                    ``nfdump -E`` (exporters) and nfcapd's closing stats line (Sequence Errors).
* ``NfacctdPeer``   pmacct's nfacctd with a generated config: print plugin, JSON lines, 1 s refresh,
                    no plugin buffer (a plugin buffer holds records back until it fills).
* ``IpfixDumpPeer`` a Python listener stores the raw IPFIX messages as a file (an IPFIX file is
                    concatenated messages), then ``timeout 20 ipfixDump --in FILE [--element-file X]``.

Every record dict has the same normalized keys where the peer reports them (``None`` otherwise):
``srcaddr dstaddr srcport dstport proto tcp_flags packets octets start_ms end_ms direction
forwarding_status if_name ingress_if egress_if ip_version exporter odid sequence template_id
options``, plus peer-specific extras (``enterprise``, ``fields``, ``raw``).

What these decoders do with our IPFIX (found by running them here; the tests pin them):
* tshark 4.0 ignores template withdrawals and keeps the first definition of a template id; it does
  not name enterprise elements and leaves zero-length enterprise values out of its output.
* nfdump 1.7.1 ignores forwardingStatus (89: from 1.7.2), flowStart/EndSeconds (150/151: from 1.7.6)
  and drops enterprise fields; it counts options data records as sequence errors.
* nfacctd 1.7.7 reads tcpControlBits only when it is sent in 1 octet (2 octets decode as 0); custom
  primitives on IANA variable-length elements (interfaceName 82) come back empty while enterprise
  ones work; it prefers IE 130 over the UDP source for ``peer_ip_src``; its print plugin sums
  records whose aggregation keys are equal (the keys include sequence and timestamps here).
* ipfixDump reads files only and names enterprise elements only with an element file.

A missing peer binary is a failure with an install hint (``scripts/test`` installs them), never a skip.
"""

from __future__ import annotations

import datetime
import json
import re
import signal
import socket
import struct
import time
from pathlib import Path
from typing import Any, Iterable

from harness import (  # noqa: F401  (re-exported for tests)
    LOOPBACK,
    START_TIMEOUT,
    ManagedProcess,
    PeerError,
    TcpSink,
    UdpSink,
    free_port,
    port_is_bound,
    require_binary,
    run_decoder,
    send_tcp,
    send_udp,
    tail_file,
    udp_rx_queue,
    utc_env,
    wait_for,
)

# tcpControlBits as nfdump prints them: CWR ECE URG ACK PSH RST SYN FIN, '.' when clear.
NFDUMP_FLAG_LETTERS = "CEUAPRSF"


def utc_text_to_ms(text: str) -> int:
    """'2026-01-15 11:59:00.000' or '2026-01-15T11:59:00.000' (UTC) -> epoch milliseconds."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    base, _, frac = text.replace("T", " ").partition(".")
    dt = datetime.datetime.strptime(base, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + "000")[:3])


def tshark_time_to_ms(text: str) -> int:
    """'Jan 15, 2026 11:59:00.000000000 UTC' (tshark JSON, TZ=UTC) -> epoch milliseconds."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    base, _, frac = text.partition(".")
    dt = datetime.datetime.strptime(base, "%b %d, %Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + "000")[:3])


def nfdump_flags_to_int(text: str) -> int:
    """'...A..SF' -> 0x13."""
    value = 0
    for i, ch in enumerate(text.strip()[-8:].rjust(8, ".")):
        if ch == NFDUMP_FLAG_LETTERS[i]:
            value |= 0x80 >> i
        elif ch != ".":
            raise ValueError(f"unexpected nfdump tcp flags {text!r}")
    return value


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    if isinstance(v, int):
        return v
    s = str(v).strip()
    return int(s, 16) if s.lower().startswith("0x") else int(float(s)) if "." in s else int(s)


def _first(d: dict, *keys: str) -> Any:
    for k in keys:
        if k in d and d[k] not in (None, ""):
            return d[k]
    return None


def _find_nested(d: Any, key: str) -> Any:
    """First value of ``key`` anywhere inside nested dicts/lists."""
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            found = _find_nested(v, key)
            if found is not None:
                return found
    elif isinstance(d, list):
        for v in d:
            found = _find_nested(v, key)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------------------------
# peers


def empty_record() -> dict:
    return {
        "srcaddr": None,
        "dstaddr": None,
        "srcport": None,
        "dstport": None,
        "proto": None,
        "tcp_flags": None,
        "packets": None,
        "octets": None,
        "start_ms": None,
        "end_ms": None,
        "direction": None,
        "forwarding_status": None,
        "if_name": None,
        "ingress_if": None,
        "egress_if": None,
        "ip_version": None,
        "exporter": None,
        "odid": None,
        "sequence": None,
        "template_id": None,
        "options": False,
    }


class Peer:
    """Common life cycle: start() waits until listening; stop() by PID; records() after stop()."""

    name = "peer"
    transports = ("udp",)

    def __init__(self, workdir: Path, transport: str = "udp", host: str = LOOPBACK, port: int | None = None):
        if transport not in self.transports:
            raise PeerError(
                f"{self.name} cannot receive IPFIX over {transport} (supports: {', '.join(self.transports)})"
            )
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.transport = transport
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.processes: list[ManagedProcess] = []
        self.started = False
        self.stopped = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.processes) or f"({self.name}: no process output)"

    def start(self) -> "Peer":
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        """Teardown path: end whatever still runs, without raising."""
        for p in self.processes:
            if p.is_running():
                p.kill()
        self.stopped = True

    def send(self, messages: Iterable[bytes]) -> tuple[str, int]:
        """Send known-good messages to this peer over its transport (for harness tests)."""
        msgs = list(messages)
        if self.transport == "udp":
            return send_udp(self.port, msgs, self.host)
        return send_tcp(self.port, msgs, self.host)

    def _require_stopped(self) -> None:
        if not self.stopped:
            raise PeerError(f"{self.name}: call stop() before reading what it decoded")

    def __enter__(self) -> "Peer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if not self.stopped:
            if exc[0] is None:
                self.stop()
            else:
                self.kill()


def write_raw_ipv4_pcap(path: Path, datagrams: list[tuple[bytes, tuple[str, int]]], dst: tuple[str, int]) -> None:
    """A pcap (LINKTYPE_RAW) of UDP/IPv4 frames: each received payload behind an IPv4 header (with
    its checksum) and a UDP header (checksum 0: none, as IPv4 allows) naming its real source."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    now = time.time()
    for i, (payload, (src_ip, src_port)) in enumerate(datagrams):
        udp = struct.pack("!HHHH", src_port, dst[1], 8 + len(payload), 0)
        total = 20 + len(udp) + len(payload)
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0, socket.inet_aton(src_ip), socket.inet_aton(dst[0])
        )
        words = sum(struct.unpack("!10H", header))
        while words >> 16:
            words = (words & 0xFFFF) + (words >> 16)
        header = header[:10] + struct.pack("!H", ~words & 0xFFFF) + header[12:]
        t = now + i * 1e-6
        out += struct.pack("<IIII", int(t), int(t % 1 * 1e6), total, total)
        out += header + udp + payload
    path.write_bytes(out)


class TsharkPeer(Peer):
    """tshark's cflow dissector over what a collector received (UDP) or a capture on lo (TCP)."""

    name = "tshark"
    transports = ("udp", "tcp")

    def __init__(self, workdir: Path, transport: str = "udp", host: str = LOOPBACK, port: int | None = None):
        super().__init__(workdir, transport, host, port)
        self.pcap = self.workdir / f"tshark-{transport}-{self.port}.pcap"
        self.sink: UdpSink | TcpSink | None = None
        self._decoded: list[dict] | None = None
        self._probe_port = 0

    def start(self) -> "TsharkPeer":
        tshark = require_binary("tshark")
        if self.transport == "udp":
            if ":" in self.host:
                raise PeerError("TsharkPeer writes IPv4 frames: give it an IPv4 host")
            self.sink = UdpSink(self.host, self.port, keep=True)
            self.started = True
            return self
        self.sink = TcpSink(self.host, self.port, keep=False)
        # "Capturing on 'lo'" comes a few ms before the filter really captures, and packets reach the
        # file asynchronously. So a probe port is part of the filter, -P prints each captured packet,
        # and a probe that shows up proves the capture is live (start) or has caught up (stop).
        self._probe_port = free_port(self.host)
        bpf = f"{self.transport} port {self.port} or udp port {self._probe_port}"
        proc = ManagedProcess(
            f"tshark-capture-{self.port}",
            [tshark, "-n", "-l", "-P", "-i", "lo", "-f", bpf, "-F", "pcap", "-w", str(self.pcap)],
            self.workdir,
            env=utc_env(),
        )
        self.processes.append(proc)
        proc.start()
        self._probe_barrier(proc, "start capturing")
        self.started = True
        return self

    def _probe_lines(self, proc: ManagedProcess) -> int:
        try:
            text = proc.stdout_path.read_text(errors="replace")
        except OSError:
            return 0
        return len(re.findall(rf"\b{self._probe_port}\b", text))

    def _probe_barrier(self, proc: ManagedProcess, what: str) -> None:
        """Send probes until tshark prints one more than it had: everything sent before is captured."""
        seen = self._probe_lines(proc)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:

            def caught_up() -> bool:
                if not proc.is_running():
                    return True
                probe.sendto(b"vpcflow-ipfix harness probe", (self.host, self._probe_port))
                time.sleep(0.05)
                return self._probe_lines(proc) > seen

            wait_for(caught_up, START_TIMEOUT, f"tshark to {what} (probe port {self._probe_port})", proc.logs)
        finally:
            probe.close()
        if not proc.is_running():
            raise PeerError(f"tshark capture exited (exit {proc.proc.returncode}) waiting to {what}\n{proc.logs()}")

    def received(self) -> tuple[int, int]:
        """(datagrams or connections, octets) that reached the listener so far."""
        return self.sink.received() if self.sink else (0, 0)

    def wait_received(self, octets: int, timeout: float = 10.0) -> None:
        wait_for(lambda: self.received()[1] >= octets, timeout, f"{octets} octets at {self.address}", self.logs)

    def stop(self) -> None:
        if self.stopped:
            return
        try:
            for p in self.processes:
                if p.is_running():
                    self._probe_barrier(p, "catch up before stopping")
                p.stop(signal.SIGINT)
        finally:
            if self.sink:
                self.sink.close()
            self.stopped = True
        if isinstance(self.sink, UdpSink):
            write_raw_ipv4_pcap(self.pcap, self.sink.datagrams, (self.host, self.port))

    def decode(self) -> list[dict]:
        """tshark's JSON for every captured frame (duplicate keys merged into lists)."""
        self._require_stopped()
        if self._decoded is None:
            if not self.pcap.exists():
                raise PeerError(f"tshark wrote no capture file {self.pcap}\n{self.logs()}")
            out = run_decoder(
                [
                    require_binary("tshark"),
                    "-n",
                    "-r",
                    str(self.pcap),
                    "-d",
                    f"{self.transport}.port=={self.port},cflow",
                    "-T",
                    "json",
                    "--no-duplicate-keys",
                ],
                env=utc_env(),
                what="tshark decode",
            )
            self._decoded = json.loads(out) if out.strip() else []
        return self._decoded

    def messages(self) -> list[dict]:
        """One dict per IPFIX message: header fields, exporter address, set ids."""
        out = []
        for frame_no, layers, cflow in self._cflow_layers():
            sets = [
                int(v["cflow.flowset_id"]) for k, v in cflow.items() if k.startswith("Set ") and isinstance(v, dict)
            ]
            out.append(
                {
                    "frame": frame_no,
                    "exporter": layers["_exporter"],
                    "exporter_port": layers["_exporter_port"],
                    "version": _int(cflow.get("cflow.version")),
                    "length": _int(cflow.get("cflow.len")),
                    "export_time": _int(_find_nested(cflow, "cflow.exporttime")),
                    "sequence": _int(cflow.get("cflow.sequence")),
                    "odid": _int(cflow.get("cflow.od_id")),
                    "sets": sets,
                }
            )
        return out

    def _cflow_layers(self) -> Iterable[tuple[int, dict, dict]]:
        for pkt in self.decode():
            layers = pkt.get("_source", {}).get("layers", {})
            cflows = layers.get("cflow")
            if cflows is None:
                continue
            ip = layers.get("ip") or layers.get("ipv6") or {}
            l4 = layers.get(self.transport) or {}
            layers["_exporter"] = ip.get("ip.src") or ip.get("ipv6.src")
            layers["_exporter_port"] = _int(l4.get(f"{self.transport}.srcport"))
            frame_no = _int(layers.get("frame", {}).get("frame.number"))
            for cflow in cflows if isinstance(cflows, list) else [cflows]:
                yield frame_no, layers, cflow

    def records(self) -> list[dict]:
        records = []
        options_templates: set[tuple[int, int]] = set()
        for frame_no, layers, cflow in self._cflow_layers():
            odid = _int(cflow.get("cflow.od_id"))
            seq = _int(cflow.get("cflow.sequence"))
            for key, st in cflow.items():
                if not (key.startswith("Set ") and isinstance(st, dict)):
                    continue
                set_id = _int(st.get("cflow.flowset_id"))
                if set_id == 3:
                    for k2, tmpl in st.items():
                        if k2.startswith("Options Template") and isinstance(tmpl, dict):
                            options_templates.add((odid, _int(tmpl.get("cflow.template_id"))))
                if set_id is None or set_id < 256:
                    continue
                for k2, flow in st.items():
                    if not re.fullmatch(r"Flow \d+", k2):
                        continue
                    for f in flow if isinstance(flow, list) else [flow]:
                        records.append(
                            self._normalize(f, layers, odid, seq, set_id, (odid, set_id) in options_templates, frame_no)
                        )
        return records

    @staticmethod
    def _normalize(f: dict, layers: dict, odid, seq, set_id, is_options: bool, frame_no) -> dict:
        r = empty_record()
        r.update(
            srcaddr=_first(f, "cflow.srcaddr", "cflow.srcaddrv6"),
            dstaddr=_first(f, "cflow.dstaddr", "cflow.dstaddrv6"),
            srcport=_int(f.get("cflow.srcport")),
            dstport=_int(f.get("cflow.dstport")),
            proto=_int(f.get("cflow.protocol")),
            tcp_flags=_int(f.get("cflow.tcpflags")),
            packets=_int(_first(f, "cflow.packets", "cflow.packets64")),
            octets=_int(_first(f, "cflow.octets", "cflow.octets64")),
            direction=_int(f.get("cflow.direction")),
            if_name=f.get("cflow.if_name"),
            ingress_if=_int(f.get("cflow.inputint")),
            egress_if=_int(f.get("cflow.outputint")),
            ip_version=_int(f.get("cflow.ip_version")),
            exporter=layers["_exporter"],
            odid=odid,
            sequence=seq,
            template_id=set_id,
            options=is_options,
        )
        start = _find_nested(f, "cflow.abstimestart")
        end = _find_nested(f, "cflow.abstimeend")
        r["start_ms"] = tshark_time_to_ms(start) if start else None
        r["end_ms"] = tshark_time_to_ms(end) if end else None
        fs = f.get("Forwarding Status")
        if isinstance(fs, dict) and "cflow.forwarding_status" in fs:
            code = _first(
                fs,
                "cflow.forwarding_status_forward_code",
                "cflow.forwarding_status_drop_code",
                "cflow.forwarding_status_consume_code",
                "cflow.forwarding_status_unknown_code",
            )
            r["forwarding_status"] = (_int(fs["cflow.forwarding_status"]) << 6) | (_int(code) or 0)
        ent = f.get("cflow.enterprise_private_entry")
        r["enterprise"] = [] if ent is None else (ent if isinstance(ent, list) else [ent])
        r["exporter_ie"] = _first(f, "cflow.exporter_addr", "cflow.exporter_addr_v6")
        r["observation_domain_name"] = f.get("cflow.observation_domain_name")
        r["frame"] = frame_no
        r["exporter_port"] = layers["_exporter_port"]
        r["raw"] = f
        return r


class NfcapdPeer(Peer):
    """nfcapd writing into its own directory; read back with nfdump after SIGTERM."""

    name = "nfcapd"
    transports = ("udp",)

    def __init__(
        self,
        workdir: Path,
        transport: str = "udp",
        host: str = LOOPBACK,
        port: int | None = None,
        rcvbuf: int | None = None,
    ):
        super().__init__(workdir, transport, host, port)
        self.flowdir = self.workdir / f"nfcapd-{self.port}"
        self.rcvbuf = rcvbuf  # nfcapd -B: socket receive buffer (bursts of a long run)

    def start(self) -> "NfcapdPeer":
        nfcapd = require_binary("nfcapd")
        require_binary("nfdump")
        self.flowdir.mkdir(parents=True, exist_ok=True)
        proc = ManagedProcess(
            f"nfcapd-{self.port}",
            [nfcapd, "-b", self.host, "-p", str(self.port), "-w", str(self.flowdir)]
            + (["-B", str(self.rcvbuf)] if self.rcvbuf else []),
            self.workdir,
            env=utc_env(),
        )
        self.processes.append(proc)
        proc.start()
        wait_for(
            lambda: port_is_bound(self.port, "udp") or not proc.is_running(),
            START_TIMEOUT,
            f"nfcapd to bind udp {self.address}",
            proc.logs,
        )
        if not proc.is_running():
            raise PeerError(f"nfcapd exited at start (exit {proc.proc.returncode})\n{proc.logs()}")
        self.started = True
        return self

    def stop(self) -> None:
        if self.stopped:
            return
        # datagrams still queued in the socket at SIGTERM would be lost: wait until nfcapd read them
        wait_for(lambda: not udp_rx_queue(self.port), 10.0, f"nfcapd to read its socket on {self.address}", self.logs)
        time.sleep(0.1)
        try:
            for p in self.processes:
                p.stop(signal.SIGTERM)  # nfcapd flushes and renames its file on SIGTERM
        finally:
            self.stopped = True

    def files(self) -> list[Path]:
        self._require_stopped()
        files = sorted(p for p in self.flowdir.iterdir() if re.fullmatch(r"nfcapd\.\d{12}", p.name))
        if not files:
            listing = ", ".join(p.name for p in self.flowdir.iterdir()) or "nothing"
            raise PeerError(f"nfcapd wrote no flow file in {self.flowdir} (found: {listing})\n{self.logs()}")
        return files

    def exporters(self) -> list[dict]:
        """``nfdump -E``: one dict per exporter (sysid, ip, version, odid, sequence_failures, packets, flows)."""
        out = []
        pat = re.compile(
            r"SysID:\s*(\d+),\s*IP:\s*(\S+),\s*version:\s*(\d+),\s*ID:\s*(\d+),\s*Sequence failures:\s*(\d+),"
            r"\s*packets:\s*(\d+),\s*flows:\s*(\d+)"
        )
        for f in self.files():
            for m in pat.finditer(
                run_decoder([require_binary("nfdump"), "-E", str(f)], env=utc_env(), what="nfdump -E")
            ):
                out.append(
                    {
                        "sysid": int(m[1]),
                        "ip": m[2],
                        "version": int(m[3]),
                        "odid": int(m[4]),
                        "sequence_failures": int(m[5]),
                        "packets": int(m[6]),
                        "flows": int(m[7]),
                    }
                )
        return out

    def stats(self) -> dict:
        """nfcapd's closing stats lines, summed: flows, packets, bytes, sequence_errors, bad_packets."""
        self._require_stopped()
        text = "\n".join(p.output() for p in self.processes)
        pat = re.compile(
            r"Flows:\s*(\d+),\s*Packets:\s*(\d+),\s*Bytes:\s*(\d+),\s*Sequence Errors:\s*(\d+),\s*Bad Packets:\s*(\d+)"
        )
        found = pat.findall(text)
        if not found:
            raise PeerError(f"nfcapd printed no stats line\n{self.logs()}")
        keys = ("flows", "packets", "bytes", "sequence_errors", "bad_packets")
        return {k: sum(int(row[i]) for row in found) for i, k in enumerate(keys)}

    def records(self) -> list[dict]:
        sysid_odid = {e["sysid"]: e["odid"] for e in self.exporters()}
        records = []
        for f in self.files():
            out = run_decoder(
                [require_binary("nfdump"), "-r", str(f), "-o", "json"], env=utc_env(), what="nfdump -o json"
            )
            # A file with no flow (nfcapd rotates every 5 minutes: a run across a boundary leaves
            # one) prints "[", "No matching flows", "]".
            out = "\n".join(ln for ln in out.splitlines() if ln.strip() != "No matching flows")
            rows = json.loads(out) if out.strip() else []
            for row in rows:
                if row.get("type") not in (None, "FLOW"):
                    continue
                r = empty_record()
                r.update(
                    srcaddr=_first(row, "src4_addr", "src6_addr"),
                    dstaddr=_first(row, "dst4_addr", "dst6_addr"),
                    srcport=_int(row.get("src_port")),
                    dstport=_int(row.get("dst_port")),
                    proto=_int(row.get("proto")),
                    tcp_flags=nfdump_flags_to_int(row["tcp_flags"]) if "tcp_flags" in row else None,
                    packets=_int(row.get("in_packets")),
                    octets=_int(row.get("in_bytes")),
                    start_ms=utc_text_to_ms(row["first"]) if row.get("first") else None,
                    end_ms=utc_text_to_ms(row["last"]) if row.get("last") else None,
                    direction=_int(row.get("direction")),
                    forwarding_status=_int(row.get("fwd_status")),
                    ingress_if=_int(row.get("input_snmp")),
                    egress_if=_int(row.get("output_snmp")),
                    exporter=_first(row, "ip4_router", "ip6_router"),
                    odid=sysid_odid.get(_int(row.get("export_sysid"))),
                )
                r["raw"] = row
                records.append(r)
        return records


class NfacctdPeer(Peer):
    """pmacct's nfacctd, print plugin writing JSON lines; custom primitives from a pmacct primitives file."""

    name = "nfacctd"
    transports = ("udp",)

    BASE_AGGREGATE = [
        "src_host",
        "dst_host",
        "src_port",
        "dst_port",
        "proto",
        "tcpflags",
        "timestamp_start",
        "timestamp_end",
        "in_iface",
        "out_iface",
        "peer_src_ip",
        "export_proto_sysid",
        "export_proto_seqno",
    ]
    # IANA elements nfacctd has no primitive for; added unless the given file defines the field.
    HARNESS_PRIMITIVES = {
        "h_flow_direction": ("61", "len=1 semantics=u_int"),
        "h_forwarding_status": ("89", "len=1 semantics=u_int"),
        "h_ip_version": ("60", "len=1 semantics=u_int"),
    }

    def __init__(
        self,
        workdir: Path,
        transport: str = "udp",
        host: str = LOOPBACK,
        port: int | None = None,
        primitives_file: Path | None = None,
        extra_config: dict[str, str] | None = None,
    ):
        super().__init__(workdir, transport, host, port)
        self.primitives_file = Path(primitives_file) if primitives_file else None
        self.extra_config = extra_config or {}
        self.out_path = self.workdir / f"nfacctd-{self.port}.jsonl"
        self.conf_path = self.workdir / f"nfacctd-{self.port}.conf"
        self.prim_path = self.workdir / f"nfacctd-{self.port}.primitives.lst"
        self.custom_names: list[str] = []

    @staticmethod
    def parse_primitives(text: str) -> list[tuple[str, str, str]]:
        """(name, field_type, whole line) for each primitive in a pmacct primitives file."""
        out = []
        for line in text.splitlines():
            s = line.strip()
            if not s or s.startswith("!") or s.startswith("#"):
                continue
            kv = dict(tok.split("=", 1) for tok in s.split() if "=" in tok)
            if "name" in kv:
                out.append((kv["name"], kv.get("field_type", ""), s))
        return out

    def _write_primitives(self) -> None:
        user = self.parse_primitives(self.primitives_file.read_text()) if self.primitives_file else []
        user_types = {ft for _, ft, _ in user}
        lines = [f"! generated by vendor-tests/peers.py from {self.primitives_file or 'nothing'}"]
        names = []
        for name, (ft, rest) in self.HARNESS_PRIMITIVES.items():
            if ft not in user_types:
                lines.append(f"name={name} field_type={ft} {rest}")
                names.append(name)
        for name, _, line in user:
            lines.append(line)
            names.append(name)
        self.prim_path.write_text("\n".join(lines) + "\n")
        self.custom_names = names

    def start(self) -> "NfacctdPeer":
        nfacctd = require_binary("nfacctd")
        self._write_primitives()
        conf = {
            "daemonize": "false",
            "nfacctd_ip": self.host,
            "nfacctd_port": str(self.port),
            "aggregate_primitives": str(self.prim_path),
            "plugins": "print",
            "aggregate": ", ".join(self.BASE_AGGREGATE + self.custom_names),
            "print_output": "json",
            "print_output_file": str(self.out_path),
            "print_output_file_append": "true",  # else every purge overwrites the file
            "print_refresh_time": "1",
            "print_num_protos": "true",
            "timestamps_since_epoch": "true",
            "timestamps_utc": "true",
            # no plugin_buffer_size: a buffer holds records back until it fills
        }
        conf.update(self.extra_config)
        self.conf_path.write_text("".join(f"{k}: {v}\n" for k, v in conf.items()))
        proc = ManagedProcess(f"nfacctd-{self.port}", [nfacctd, "-f", str(self.conf_path)], self.workdir, env=utc_env())
        self.processes.append(proc)
        proc.start()
        # Listening is not enough: records that arrive before the print plugin is up are lost.
        wait_for(
            lambda: (
                (port_is_bound(self.port, "udp") and "setting object handlers" in proc.output())
                or not proc.is_running()
            ),
            START_TIMEOUT,
            f"nfacctd to listen on udp {self.address} with its print plugin up",
            proc.logs,
        )
        if not proc.is_running():
            raise PeerError(f"nfacctd exited at start (exit {proc.proc.returncode})\n{proc.logs()}")
        self.started = True
        return self

    def _lines(self) -> list[dict]:
        try:
            text = self.out_path.read_text()
        except FileNotFoundError:
            return []
        rows = []
        lines = text.splitlines()
        for i, line in enumerate(lines):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1 and not text.endswith("\n"):
                    break  # a purge is writing this line right now
                raise PeerError(f"nfacctd wrote a line that is not JSON: {line[:200]!r}") from None
            if row.get("event_type") in (None, "purge"):
                rows.append(row)
        return rows

    def wait_records(self, count: int, timeout: float = 15.0) -> None:
        """Wait until at least ``count`` records were printed (a purge runs every second)."""
        wait_for(lambda: len(self._lines()) >= count, timeout, f"{count} records from nfacctd", self.logs)

    def stop(self) -> None:
        if self.stopped:
            return
        wait_for(lambda: not udp_rx_queue(self.port), 10.0, f"nfacctd to read its socket on {self.address}", self.logs)
        try:
            for p in self.processes:
                p.stop(signal.SIGINT)  # SIGINT = graceful: plugins purge their cache and exit
        finally:
            self.stopped = True

    def records(self) -> list[dict]:
        self._require_stopped()
        records = []
        for row in self._lines():
            r = empty_record()
            r.update(
                srcaddr=row.get("ip_src"),
                dstaddr=row.get("ip_dst"),
                srcport=_int(row.get("port_src")),
                dstport=_int(row.get("port_dst")),
                proto=_int(row.get("ip_proto")),
                tcp_flags=_int(row.get("tcp_flags")),
                packets=_int(row.get("packets")),
                octets=_int(row.get("bytes")),
                direction=_int(row.get("h_flow_direction")),
                forwarding_status=_int(row.get("h_forwarding_status")),
                ingress_if=_int(row.get("iface_in")),
                egress_if=_int(row.get("iface_out")),
                ip_version=_int(row.get("h_ip_version")),
                exporter=row.get("peer_ip_src"),
                odid=_int(row.get("export_proto_sysid")),
                sequence=_int(row.get("export_proto_seqno")),
            )
            for key, field in (("start_ms", "timestamp_start"), ("end_ms", "timestamp_end")):
                if row.get(field) not in (None, ""):
                    r[key] = round(float(row[field]) * 1000)
            r["enterprise"] = {n: row.get(n) for n in self.custom_names if not n.startswith("h_")}
            r["raw"] = row
            records.append(r)
        return records


class IpfixDumpPeer(Peer):
    """A Python collector that stores raw IPFIX messages as files, decoded with libfixbuf's ipfixDump."""

    name = "ipfixDump"
    transports = ("udp", "tcp")

    def __init__(
        self,
        workdir: Path,
        transport: str = "udp",
        host: str = LOOPBACK,
        port: int | None = None,
        element_files: Iterable[Path] = (),
    ):
        super().__init__(workdir, transport, host, port)
        self.element_files = [Path(p) for p in element_files if p]
        self.sink: UdpSink | TcpSink | None = None
        self.files: list[tuple[Path, list[tuple[str, int]]]] = []  # file, sources of its messages in order
        self.dump_texts: list[str] = []

    def start(self) -> "IpfixDumpPeer":
        require_binary("ipfixDump")
        require_binary("timeout")
        for f in self.element_files:
            if not f.is_file():
                raise PeerError(f"ipfixDump element file {f} does not exist")
        self.sink = (UdpSink if self.transport == "udp" else TcpSink)(self.host, self.port, keep=True)
        self.started = True
        return self

    def received(self) -> tuple[int, int]:
        return self.sink.received() if self.sink else (0, 0)

    def wait_received(self, octets: int, timeout: float = 10.0) -> None:
        wait_for(lambda: self.received()[1] >= octets, timeout, f"{octets} octets at {self.address}")

    def stop(self) -> None:
        if self.stopped:
            return
        time.sleep(0.1)
        self.sink.close()
        self.stopped = True
        if isinstance(self.sink, UdpSink):
            path = self.workdir / f"ipfixdump-udp-{self.port}.ipfix"
            path.write_bytes(b"".join(d for d, _ in self.sink.datagrams))
            self.files.append((path, [src for _, src in self.sink.datagrams]))
        else:
            for i, (peer, buf) in enumerate(self.sink.streams):
                path = self.workdir / f"ipfixdump-tcp-{self.port}-conn{i}.ipfix"
                path.write_bytes(bytes(buf))
                self.files.append((path, [peer]))

    def dump(self) -> list[str]:
        """ipfixDump's text output, one string per stored file."""
        self._require_stopped()
        if not self.dump_texts:
            for path, _ in self.files:
                argv = [require_binary("timeout"), "20", require_binary("ipfixDump"), "--in", str(path)]
                for ef in self.element_files:
                    argv += ["--element-file", str(ef)]
                self.dump_texts.append(run_decoder(argv, timeout=30, env=utc_env(), what="ipfixDump"))
        return self.dump_texts

    def messages(self) -> list[dict]:
        return [m for _, msgs, _ in self._parse_all() for m in msgs]

    def records(self) -> list[dict]:
        return [r for _, _, recs in self._parse_all() for r in recs]

    def file_stats(self) -> list[str]:
        return [line for text in self.dump() for line in text.splitlines() if line.startswith("*** File Stats")]

    def _parse_all(self) -> list[tuple[Path, list[dict], list[dict]]]:
        texts = self.dump()
        return [(path, *self._parse(text, sources)) for (path, sources), text in zip(self.files, texts)]

    def _parse(self, text: str, sources: list[tuple[str, int]]) -> tuple[list[dict], list[dict]]:
        messages: list[dict] = []
        records: list[dict] = []
        options_tids: set[tuple[int | None, int]] = set()
        msg: dict | None = None
        rec: dict | None = None
        pending_template: str | None = None  # "template" or "options" while reading its header
        field_re = re.compile(r"^\t\((?P<id>\d+(?:/\d+)?)\)\s+(?:\(S\)\s+)?(?P<name>\S+) : ?(?P<value>.*)$")
        for line in text.splitlines():
            if line.startswith("--- Message Header ---"):
                idx = len(messages)
                src = (
                    sources[idx]
                    if self.transport == "udp" and idx < len(sources)
                    else (sources[0] if sources else (None, None))
                )
                msg = {
                    "exporter": src[0],
                    "exporter_port": src[1],
                    "odid": None,
                    "sequence": None,
                    "export_time": None,
                    "length": None,
                }
                messages.append(msg)
                rec = None
                continue
            m = re.match(r"^export time: (.+?)\s+observation domain id: (\d+)", line)
            if m and msg is not None:
                msg["export_time"] = utc_text_to_ms(m[1]) // 1000
                msg["odid"] = int(m[2])
                continue
            m = re.match(r"^message length: (\d+)\s+sequence number: (\d+)", line)
            if m and msg is not None:
                msg["length"] = int(m[1])
                msg["sequence"] = int(m[2])
                continue
            if line.startswith("--- template record ---"):
                pending_template, rec = "template", None
                continue
            if line.startswith("--- options template record ---"):
                pending_template, rec = "options", None
                continue
            m = re.match(r"^\s*tid:\s*(\d+) \(0x[0-9a-fA-F]+\)\s+field count:\s*(\d+)\s+scope:\s*(\d+)", line)
            if m and pending_template:
                if int(m[3]) > 0 or pending_template == "options":
                    options_tids.add((msg["odid"] if msg else None, int(m[1])))
                pending_template = None
                continue
            m = re.match(r"^--- data record (\d+) ---", line)
            if m:
                rec = {"index": int(m[1]), "tid": None, "fields": {}, "ids": {}, "message": msg}
                records.append(rec)
                continue
            m = re.match(r"^\s*count:\s*(\d+)\s+tid:\s*(\d+)", line)
            if m and rec is not None:
                rec["tid"] = int(m[2])
                continue
            m = field_re.match(line)
            if m and rec is not None:
                value = m["value"]
                sm = re.match(r"^\(len: \d+\) ?(.*)$", value)
                if sm:
                    value = sm[1]
                name = m["name"]
                if name == "_alienInformationElement":
                    name = m["id"]
                rec["fields"][name] = value
                rec["ids"][m["id"]] = value
                continue
        return messages, [self._normalize(r, options_tids) for r in records]

    @staticmethod
    def _normalize(rec: dict, options_tids: set) -> dict:
        f = rec["fields"]
        msg = rec["message"] or {}
        r = empty_record()

        def ms(*names: str) -> int | None:
            for n in names:
                if f.get(n):
                    return utc_text_to_ms(f[n])
            return None

        r.update(
            srcaddr=_first(f, "sourceIPv4Address", "sourceIPv6Address"),
            dstaddr=_first(f, "destinationIPv4Address", "destinationIPv6Address"),
            srcport=_int(f.get("sourceTransportPort")),
            dstport=_int(f.get("destinationTransportPort")),
            proto=_int(f.get("protocolIdentifier")),
            tcp_flags=_int(f.get("tcpControlBits")),
            packets=_int(f.get("packetDeltaCount")),
            octets=_int(f.get("octetDeltaCount")),
            start_ms=ms("flowStartMilliseconds", "flowStartSeconds"),
            end_ms=ms("flowEndMilliseconds", "flowEndSeconds"),
            direction=_int(f.get("flowDirection")),
            forwarding_status=_int(f.get("forwardingStatus")),
            if_name=f.get("interfaceName"),
            ingress_if=_int(f.get("ingressInterface")),
            egress_if=_int(f.get("egressInterface")),
            ip_version=_int(f.get("ipVersion")),
            exporter=msg.get("exporter"),
            odid=msg.get("odid"),
            sequence=msg.get("sequence"),
            template_id=rec["tid"],
            options=(msg.get("odid"), rec["tid"]) in options_tids,
        )
        r["exporter_ie"] = _first(f, "exporterIPv4Address", "exporterIPv6Address")
        r["fields"] = f
        r["ids"] = rec["ids"]
        r["raw"] = rec
        return r


PEER_CLASSES = {
    "tshark": TsharkPeer,
    "nfcapd": NfcapdPeer,
    "nfacctd": NfacctdPeer,
    "ipfixdump": IpfixDumpPeer,
}
