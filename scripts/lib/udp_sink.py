#!/usr/bin/env python3
"""A UDP sink for benchmarks: drains datagrams on 127.0.0.1:PORT and counts them.

    python3 scripts/lib/udp_sink.py --port 4739 --report sink.json

Prints "ready <port>" once bound; on SIGTERM or SIGINT writes {"datagrams": N, "octets": M} to
--report (and stdout) and exits 0. It does not decode anything: it only keeps the sender's
socket buffer from filling, so a benchmark measures the sender.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    sock.bind((args.host, args.port))
    sock.settimeout(0.2)
    stats = {"datagrams": 0, "octets": 0}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    print(f"ready {args.port}", flush=True)
    buf = bytearray(65536)
    while not stopping:
        try:
            n = sock.recv_into(buf)
        except (socket.timeout, InterruptedError):
            continue
        stats["datagrams"] += 1
        stats["octets"] += n
    with open(args.report, "w") as f:
        json.dump(stats, f)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
