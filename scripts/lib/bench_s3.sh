# shellcheck shell=bash
# The S3 memory benchmark of scripts/bench (sourced by it; uses its INPUT, BIN, BENCH_DIR, S3_COPIES,
# PY, now, fmt_rate, and common.sh's VENV_DIR/VENV_PY). Sets S3_RESULT.
#
# moto_server on a free port; scripts/lib/bench_s3.py uploads two objects, each S3_COPIES copies of
# INPUT concatenated (a multi-member gzip of S3_COPIES x the generated records), with ObjectCreated
# notifications to SQS; `vpcflow-ipfix run` with [s3] concurrency = 2 exports them to a UDP sink.
# The run is over when checkpoints.json lists both objects as completed (every record acknowledged);
# the agent's VmHWM (peak RSS) is read from /proc just before it is stopped with SIGTERM.
# Everything started here is stopped by PID at the end (and on error).

S3_TARGET_RSS_KIB=$((32 * 1024))

run_s3_memory() {
    local big="$BENCH_DIR/s3-object-${S3_COPIES}x.log.gz" work moto_pid="" sink_pid="" agent_pid="" rc=0
    local moto_port sink_port endpoint seeded queue_url bytes t0 wall hwm="" records ok_per_copy done=0
    work="$(mktemp -d "$BENCH_DIR/s3-run.XXXXXX")"
    _s3_stop() {
        local p
        for p in "$agent_pid" "$sink_pid" "$moto_pid"; do
            [ -n "$p" ] || continue
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 100); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        done
        agent_pid="" sink_pid="" moto_pid=""
    }
    if [ ! -f "$big" ] || [ "$(stat -c %s "$big")" -ne $(($(stat -c %s "$INPUT") * S3_COPIES)) ]; then
        info "making $big ($S3_COPIES copies of $(basename "$INPUT"))"
        for _ in $(seq "$S3_COPIES"); do cat "$INPUT"; done >"$big.tmp"
        mv "$big.tmp" "$big"
    fi
    ok_per_copy=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ok"])' "$INPUT.json")
    records=$((ok_per_copy * S3_COPIES * 2))

    moto_port=$("$VENV_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    endpoint="http://127.0.0.1:$moto_port"
    "$VENV_DIR/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 600); do
        "$VENV_PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=2)' "$endpoint" 2>/dev/null && break
        sleep 0.1
    done
    info "uploading 2 objects of $(($(stat -c %s "$big") / 1048576)) MiB to moto ($endpoint)"
    t0=$(now)
    seeded="$("$VENV_PY" scripts/lib/bench_s3.py "$endpoint" "$big" 2)" || {
        _s3_stop
        return 1
    }
    info "uploaded in $(elapsed_since "$t0")s"
    queue_url=$("$VENV_PY" -c 'import json, sys; print(json.loads(sys.argv[1])["queue_url"])' "$seeded")
    bytes=$("$VENV_PY" -c 'import json, sys; print(json.loads(sys.argv[1])["bytes"])' "$seeded")

    sink_port=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$PY" scripts/lib/udp_sink.py --port "$sink_port" --report "$work/sink.json" >"$work/sink.log" 2>&1 &
    sink_pid=$!
    for _ in $(seq 100); do
        grep -q '^ready' "$work/sink.log" 2>/dev/null && break
        sleep 0.05
    done
    cat >"$work/vpcflow.ini" <<EOF
[agent]
state_dir = $work/state
status_interval = 10s
[s3]
concurrency = 2
[ipfix]
collector = 127.0.0.1:$sink_port
[input s3:arn:aws:s3:::bench-flow-logs]
queue = $queue_url
EOF
    t0=$(now)
    env -i PATH="$PATH" HOME="$work" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
        AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$endpoint" AWS_EC2_METADATA_DISABLED=true \
        "$BIN" --log-level info run --config "$work/vpcflow.ini" 2>"$work/agent.log" &
    agent_pid=$!
    # bounded: 2 x 40 M records at well under 1 M/s through moto takes minutes, not tens of them
    for _ in $(seq 9000); do
        kill -0 "$agent_pid" 2>/dev/null || break
        hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$agent_pid/status" 2>/dev/null || echo "$hwm")
        if "$PY" -c 'import json, sys; sys.exit(0 if len(json.load(open(sys.argv[1]))["inputs"]["s3:bench-flow-logs"]["completed"]) >= 2 else 1)' "$work/state/checkpoints.json" 2>/dev/null; then
            done=1
            break
        fi
        sleep 0.1
    done
    wall=$(elapsed_since "$t0" 1)
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$agent_pid/status" 2>/dev/null || echo "$hwm")
    _s3_stop
    if [ "$done" -ne 1 ]; then
        S3_RESULT="s3 memory: FAILED, the objects were not completed (log: $work/agent.log)"
        tail -n 20 "$work/agent.log" >&2
        return 1
    fi
    # shellcheck disable=SC2034 # read by scripts/bench
    S3_RESULT=$(
        printf 's3 memory (run, [s3] concurrency = 2, 2 objects x %s MiB gzip from moto): peak RSS %s MiB (VmHWM; target <= 32 MiB: %s), %s records in %ss = %s records/s\n' \
            "$((bytes / 2 / 1048576))" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$([ "${hwm:-0}" -le "$S3_TARGET_RSS_KIB" ] && echo met || echo MISSED)" \
            "$records" "$wall" "$(fmt_rate "$records" "$wall")"
        printf '        sink received: %s\n' "$(cat "$work/sink.json" 2>/dev/null || echo '?')"
        grep -h 'status at exit' "$work/agent.log" | sed 's/.*status at exit/        agent at exit:/' | cut -c1-400
    )
    rm -rf "$work"
    return "$rc"
}
