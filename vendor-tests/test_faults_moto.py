"""`vpcflow-ipfix run` with all three inputs at once (S3+SQS, CloudWatch Logs, Kinesis fed by a log
subscription) through fault_proxy.py to moto: a third of the AWS requests (and the first of each
service) are answered with the service's throttling error, a 500 or 503, a reset connection, a lost answer (the request took
effect) or a truncated body. Every seeded flow-log line must reach nfcapd exactly once, counted
with nfdump by its `bytes` value (each line's id).

The SQS queue's VisibilityTimeout is set to 10 s: a ReceiveMessage whose answer the proxy loses
(or truncates) leaves its messages invisible for that long before SQS hands them out again; with
SQS's 30 s default the test would mostly wait, and the agent takes the queue's own setting.
FAULT_RATE=0.5 and FAULT_S3_LINES=100000 (environment) make it harsher.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections import Counter
from pathlib import Path

from fault_proxy import FaultProxy
from harness import ManagedProcess
from moto import BOOTSTRAP_KEYS, MotoServer

HERE = Path(__file__).resolve().parent
DELIVERY_TIMEOUT = 150.0  # s
QUEUE_VISIBILITY_S = 10


def _seed_module():
    spec = importlib.util.spec_from_file_location("run_moto_seed", HERE / "run_moto" / "seed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def agent_env(endpoint: str, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID=BOOTSTRAP_KEYS[0],
        AWS_SECRET_ACCESS_KEY=BOOTSTRAP_KEYS[1],
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def wait_delivered(agent, state: Path, ep: str, seed, queue_url: str, want: int, context, timeout: float = DELIVERY_TIMEOUT):
    """Until delivered: the collectors were sent at least `want` records (status.json), the queue is
    empty (every message deleted) and the count has not moved for a while."""
    t0, last, stable_since = time.monotonic(), -1, time.monotonic()
    while True:
        assert agent.is_running(), f"the agent exited early\n{agent.logs()}"
        status = read_json(state / "status.json")
        sent = sum(c.get("records", 0) for c in status.get("collectors", []))
        if sent != last:
            last, stable_since = sent, time.monotonic()
        depth = seed.queue_depth(ep, queue_url)
        if sent >= want and depth == {"visible": 0, "in_flight": 0}:
            if time.monotonic() - stable_since > 6:
                return
        assert time.monotonic() - t0 < timeout, (
            f"not delivered within {timeout}s: {sent} of {want} records sent, "
            f"queue {depth}, {context()}\n{agent.logs(80)}"
        )
        time.sleep(1)


def check_once_each(nfcapd, want: list[int], context: str, log: str) -> None:
    """nfdump's records: each seeded line id (the `bytes` value) exactly once, nothing else."""
    counts = Counter(r["octets"] for r in nfcapd.records())
    stats = nfcapd.stats()
    missing = [i for i in want if counts[i] == 0]
    twice = [(i, n) for i, n in counts.items() if n > 1]
    extra = set(counts) - set(want)
    print(f"{context}\nnfcapd: {stats}")
    assert not missing, f"{len(missing)} lines never arrived (first {missing[:10]}); {context}\n{log}"
    assert not twice, f"{len(twice)} lines arrived more than once (first {twice[:10]}); {context}\n{log}"
    assert not extra, f"lines nobody seeded: {sorted(extra)[:10]}"
    # (nfcapd's sequence errors are not checked: it counts one after every message with options
    # records, see test_replay_peers.py::test_nfdump_sequence_errors_are_only_its_options_quirk)
    assert stats["bad_packets"] == 0, stats


def test_three_inputs_through_a_faulty_network_deliver_every_line_once(vpcflow_bin: Path, tmp_path: Path, peers):
    seed = _seed_module()
    with MotoServer(tmp_path / "moto") as moto:
        ep = moto.endpoint
        s3 = seed.seed_s3(ep, "flows", "flowq", 3, int(os.environ.get("FAULT_S3_LINES", "1500")), 0)
        sqs = seed.client(ep, "sqs")
        sqs.set_queue_attributes(QueueUrl=s3["queue_url"], Attributes={"VisibilityTimeout": str(QUEUE_VISIBILITY_S)})
        cwl = seed.seed_cwl(ep, "polled", 2, 800, 1_000_000)
        kin = seed.seed_kinesis(ep, "faultstream", "subscribed", 2, 800, 2_000_000)
        want = s3["ids"] + cwl["ids"] + kin["ids"]

        nfcapd = peers.nfcapd()
        state = tmp_path / "state"
        config = tmp_path / "vpcflow.ini"
        config.write_text(
            f"[agent]\nstate_dir = {state}\nstatus_interval = 5s\n"
            "[cloudwatch]\nrequest_interval = 1s\ninitial_position = TRIM_HORIZON\n"
            "[kinesis]\ninitial_position = TRIM_HORIZON\n"
            "[s3]\nconcurrency = 2\n"
            f"[ipfix]\ncollector = {nfcapd.address}\nrate_limit = 5000\n"
            f"[input s3:arn:aws:s3:::flows]\nqueue = {s3['queue_url']}\n"
            "[input cwl:arn:aws:logs:us-east-1:123456789012:log-group:polled]\n"
            f"[input kinesis:{kin['stream_arn']}]\n"
        )
        with FaultProxy(ep, rate=float(os.environ.get("FAULT_RATE", "0.33")), seed=int(time.time())) as proxy:
            agent = ManagedProcess(
                "agent",
                [str(vpcflow_bin), "--log-level", "info", "run", "--config", str(config)],
                tmp_path,
                env=agent_env(proxy.endpoint, tmp_path),
            )
            agent.start()
            try:
                wait_delivered(agent, state, ep, seed, s3["queue_url"], len(want), lambda: f"faults {proxy.summary()}")
                assert agent.stop() == 0, agent.logs()
            finally:
                if agent.is_running():
                    agent.kill()
            faults = proxy.summary()
            # The faults really happened, on every service the inputs use.
            for service in ("s3", "sqs", "logs", "kinesis"):
                assert sum(n for (s, f), n in proxy.counts.items() if s == service and f != "ok") > 0, faults
            for fault in ("throttle", "http500", "http503", "reset", "lost", "truncated"):
                assert proxy.faulted(fault) > 0, faults

        nfcapd.stop()
        check_once_each(nfcapd, want, f"faults injected: {faults}", agent.logs(120))


def test_an_object_of_one_million_lines_reaches_nfdump_once_each(vpcflow_bin: Path, tmp_path: Path, peers):
    """The S3 input streams one object of 1,000,000 lines (never held whole) to nfcapd over UDP;
    nfdump counts every line once. A 4 MiB receive buffer for nfcapd and the export rate limit
    (50,000 records/s) keep nfcapd's socket from overflowing on a busy machine: loss there would be
    the collector's, not ours."""
    seed = _seed_module()
    lines = 1_000_000
    with MotoServer(tmp_path / "moto") as moto:
        ep = moto.endpoint
        s3 = seed.seed_s3(ep, "big", "bigq", 1, lines, 0)
        nfcapd = peers.nfcapd(rcvbuf=4 << 20)
        state = tmp_path / "state"
        config = tmp_path / "vpcflow.ini"
        config.write_text(
            f"[agent]\nstate_dir = {state}\nstatus_interval = 5s\n"
            "[aws]\nregions = us-east-1\n"
            f"[ipfix]\ncollector = {nfcapd.address}\nrate_limit = 50000\n"
            f"[input s3:arn:aws:s3:::big]\nqueue = {s3['queue_url']}\n"
        )
        agent = ManagedProcess(
            "agent",
            [str(vpcflow_bin), "--log-level", "info", "run", "--config", str(config)],
            tmp_path,
            env=agent_env(ep, tmp_path),
        )
        agent.start()
        try:
            wait_delivered(agent, state, ep, seed, s3["queue_url"], lines, lambda: "no faults")
            assert agent.stop() == 0, agent.logs()
        finally:
            if agent.is_running():
                agent.kill()
        nfcapd.stop()
        check_once_each(nfcapd, s3["ids"], f"one object of {lines} lines", agent.logs(40))
