#!/usr/bin/env python3
"""Deterministic synthetic VPC Flow Logs in the default format (version 2) as a .log.gz, for benchmarks.

    python3 scripts/lib/gen_flowlogs.py --records 2000000 --seed 20260115 --out target/bench/x.log.gz

Same seed and count -> byte-identical file (gzip -n: no name, no timestamp). A JSON file next to it
(<out>.json) records what was generated; when it matches the request the file is reused.

The content looks like an S3 flow-log object of a busy account: the header line, then records of a
few hundred ENIs in three VPC CIDRs talking to each other and to public addresses, TCP/UDP/ICMP,
ephemeral and service ports, ACCEPT/REJECT, 10 one-minute capture windows, and some NODATA and
SKIPDATA lines. Speed comes from sampling each column from precomputed string pools in chunks, with
gzip compressing in a second process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

GENERATOR_VERSION = 1
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
BASE_TIME = 1768478340  # 2026-01-15 11:59:00 UTC
WINDOWS = 10  # one-minute aggregation windows (Nitro: always <= 60 s)
CHUNK = 50_000

ACCOUNTS = ["123456789012", "210987654321", "345678901234"]
VPC_NETS = ["10.0", "10.1", "172.31"]
SERVICE_PORTS = [443, 80, 22, 53, 123, 3306, 5432, 6379, 8080, 8443, 9092, 27017, 2049, 3389]
SERVICE_WEIGHTS = [40, 8, 4, 10, 3, 5, 5, 4, 4, 3, 3, 2, 2, 1]
# first octets of large public ranges (cloud, CDN, ISP); never contacted, only written as text
PUBLIC_FIRST_OCTETS = [3, 13, 18, 23, 34, 35, 44, 52, 54, 99, 104, 142, 151, 157, 172, 185, 203, 212]


def build_pools(rng: random.Random, n_eni: int) -> dict:
    enis = []
    for i in range(n_eni):
        net = VPC_NETS[i % len(VPC_NETS)]
        enis.append(
            {
                "id": f"eni-{rng.getrandbits(68):017x}",
                "account": ACCOUNTS[i % len(ACCOUNTS)],
                "ip": f"{net}.{rng.randrange(0, 64)}.{rng.randrange(4, 251)}",
                "net": net,
            }
        )
    public = [
        f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(0, 256)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"
        for _ in range(4000)
    ]
    ephemeral = [str(p) for p in rng.sample(range(32768, 61000), 20000)]
    # (packets, bytes): heavy-tailed packet counts, 40..1500 bytes per packet on average
    pkt_bytes = []
    for _ in range(8000):
        pk = max(1, int(rng.paretovariate(1.2)))
        pk = min(pk, 200_000)
        pkt_bytes.append(f"{pk} {pk * rng.randrange(40, 1501)}")
    # per window: "start end" within the window
    windows = []
    for w in range(WINDOWS):
        ws = BASE_TIME + 60 * w
        pairs = []
        for _ in range(300):
            s = ws + rng.randrange(0, 58)
            e = min(ws + 59, s + rng.randrange(0, 60))
            pairs.append(f"{s} {e}")
        windows.append(pairs)
    return {"enis": enis, "public": public, "ephemeral": ephemeral, "pkt_bytes": pkt_bytes, "windows": windows}


def generate(out, records: int, seed: int, n_eni: int) -> dict:
    rng = random.Random(seed)
    pools = build_pools(rng, n_eni)
    enis = pools["enis"]
    eni_weights = [1.0 / (i + 1) ** 0.6 for i in range(len(enis))]  # a few busy ENIs, a long tail
    private_peers = [e["ip"] for e in enis]
    counts = {
        "records": 0,
        "ok": 0,
        "nodata": 0,
        "skipdata": 0,
        "accept": 0,
        "reject": 0,
        "tcp": 0,
        "udp": 0,
        "icmp": 0,
    }
    out.write((HEADER + "\n").encode())
    done = 0
    while done < records:
        n = min(CHUNK, records - done)
        window = min(WINDOWS - 1, done * WINDOWS // records)
        se_pool = pools["windows"][window]
        eni_col = rng.choices(range(len(enis)), weights=eni_weights, k=n)
        kind_col = rng.choices("ONS", weights=[9940, 50, 10], k=n)  # OK / NODATA / SKIPDATA
        proto_col = rng.choices("TUI", weights=[75, 20, 5], k=n)
        egress_col = rng.choices((True, False), k=n)
        public_col = rng.choices((True, False), weights=[55, 45], k=n)
        remote_pub = rng.choices(pools["public"], k=n)
        remote_priv = rng.choices(private_peers, k=n)
        svc_col = rng.choices(SERVICE_PORTS, weights=SERVICE_WEIGHTS, k=n)
        eph_col = rng.choices(pools["ephemeral"], k=n)
        pb_col = rng.choices(pools["pkt_bytes"], k=n)
        se_col = rng.choices(se_pool, k=n)
        rej_col = rng.choices((False, True), weights=[92, 8], k=n)
        lines = []
        append = lines.append
        for i in range(n):
            eni = enis[eni_col[i]]
            kind = kind_col[i]
            if kind == "N":
                append(f"2 {eni['account']} {eni['id']} - - - - - - - {se_col[i]} - NODATA")
                counts["nodata"] += 1
                continue
            if kind == "S":
                append(f"2 {eni['account']} {eni['id']} - - - - - - - {se_col[i]} - SKIPDATA")
                counts["skipdata"] += 1
                continue
            remote = remote_pub[i] if public_col[i] else remote_priv[i]
            p = proto_col[i]
            if p == "I":
                proto, lport, rport = "1", "0", "0"
                counts["icmp"] += 1
            else:
                proto = "6" if p == "T" else "17"
                counts["tcp" if p == "T" else "udp"] += 1
                # inbound to a service on the ENI, or outbound from an ephemeral port to a service
                inbound_service = not egress_col[i]
                lport, rport = (str(svc_col[i]), eph_col[i]) if inbound_service else (eph_col[i], str(svc_col[i]))
            rejected = rej_col[i] and not egress_col[i]  # rejects are mostly inbound
            action = "REJECT" if rejected else "ACCEPT"
            counts["reject" if rejected else "accept"] += 1
            if egress_col[i]:
                src, dst, sport, dport = eni["ip"], remote, lport, rport
            else:
                src, dst, sport, dport = remote, eni["ip"], rport, lport
            append(
                f"2 {eni['account']} {eni['id']} {src} {dst} {sport} {dport} {proto} {pb_col[i]} {se_col[i]} {action} OK"
            )
            counts["ok"] += 1
        out.write(("\n".join(lines) + "\n").encode())
        done += n
    counts["records"] = records
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=20260115)
    ap.add_argument("--enis", type=int, default=300)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    meta_path = args.out + ".json"
    want = {"generator_version": GENERATOR_VERSION, "records": args.records, "seed": args.seed, "enis": args.enis}
    if os.path.exists(args.out) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if all(meta.get(k) == v for k, v in want.items()) and os.path.getsize(args.out) == meta.get("gz_bytes"):
            print(f"reusing {args.out} ({meta['records']} records, {meta['gz_bytes']} bytes)")
            return 0

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    t0 = time.monotonic()
    with open(tmp, "wb") as f:
        gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=subprocess.PIPE, stdout=f)
        counts = generate(gz.stdin, args.records, args.seed, args.enis)
        gz.stdin.close()
        if gz.wait() != 0:
            print("gzip failed", file=sys.stderr)
            return 1
    os.replace(tmp, args.out)
    meta = {**want, **counts, "gz_bytes": os.path.getsize(args.out), "seconds": round(time.monotonic() - t0, 1)}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(
        f"generated {args.out}: {counts['records']} records ({counts['ok']} OK, {counts['nodata']} NODATA, "
        f"{counts['skipdata']} SKIPDATA), {meta['gz_bytes']} bytes in {meta['seconds']}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
