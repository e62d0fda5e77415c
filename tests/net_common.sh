# Process helpers for the networked tests (tests/cli_network*.sh), sourced
# after cli_common.sh and cli_init. Every process started here is killed
# when the script exits.

NET_PIDS=()

net_cleanup() {
    local pid
    for pid in "${NET_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap net_cleanup EXIT

# make_certs DIR N: a development CA, server and N client certificates.
make_certs() {
    bash "$SOURCE_DIR/certs/make-dev-certs.sh" --out "$1" --clients "$2" >/dev/null 2>&1 ||
        die "certs/make-dev-certs.sh --out $1 --clients $2 failed"
}

# start_coordinator NAME ARGS...: starts `fedcb coordinator ARGS
# --listen ${LISTEN_HOST:-127.0.0.1}:${LISTEN_PORT:-0} --port-file ...` in the background
# (port 0: any free port); sets COORD_PID and PORT once it listens.
# Logs: $WORK/NAME.out, $WORK/NAME.err.
start_coordinator() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    "$FEDCB" coordinator "$@" --listen "${LISTEN_HOST:-127.0.0.1}:${LISTEN_PORT:-0}" --port-file "$WORK/$name.port" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    COORD_PID=$!
    NET_PIDS+=("$COORD_PID")
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -s $WORK/$name.port ]] && break
        kill -0 "$COORD_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; die "coordinator $name exited at start"; }
        sleep 0.1
    done
    [[ -s $WORK/$name.port ]] || die "coordinator $name did not listen within 60 s"
    PORT=$(cat "$WORK/$name.port")
}

# start_client NAME ID ARGS...: `fedcb client --client-id ID ARGS` in the
# background; its pid is left in CLIENT_PID.
start_client() {
    local name=$1 id=$2
    shift 2
    "$FEDCB" client --client-id "$id" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    CLIENT_PID=$!
    NET_PIDS+=("$CLIENT_PID")
}

# wait_exit PID SECONDS NAME: waits for PID to end; sets EXIT_STATUS. Fails
# the test if it is still running after SECONDS.
wait_exit() {
    local pid=$1 seconds=$2 name=$3 i
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        tail -5 "$WORK/$name.err" >&2
        die "$name (pid $pid) still runs after $seconds s"
    fi
    EXIT_STATUS=0
    wait "$pid" || EXIT_STATUS=$?
}

# wait_rounds DIR N SECONDS: waits until DIR/metrics.jsonl has N lines.
wait_rounds() {
    local dir=$1 n=$2 seconds=$3 i
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -f $dir/metrics.jsonl && $(wc -l <"$dir/metrics.jsonl") -ge $n ]] && return 0
        sleep 0.1
    done
    die "$dir/metrics.jsonl did not reach $n rounds within $seconds s"
}

# no_sanitizer_report FILE...: none of the logs holds a sanitizer report.
no_sanitizer_report() {
    local f
    for f in "$@"; do
        if grep -q -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'ThreadSanitizer' -e 'runtime error' "$f"; then
            sed -n '1,40p' "$f" >&2
            die "sanitizer report in $f"
        fi
    done
}

# same_run SIM_DIR NET_DIR: identical metrics.jsonl and model_sha256.
same_run() {
    cmp -s "$1/metrics.jsonl" "$2/metrics.jsonl" || {
        diff "$1/metrics.jsonl" "$2/metrics.jsonl" | head -6 >&2
        die "metrics.jsonl of the networked run differs from fedcb simulate"
    }
    local a b
    a=$(summary_sha "$1")
    b=$(summary_sha "$2")
    [[ $a == "$b" ]] || die "model_sha256 differs: simulate $a, network $b"
}
