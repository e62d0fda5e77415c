#!/usr/bin/env bash
# Round latency and loopback traffic of networked runs (`fedcb coordinator` +
# N `fedcb client` processes on 127.0.0.1), plaintext and mutual TLS, next to
# `fedcb simulate` of the same config measured in the same run:
#   1. a small linear model (d = 20, K = 10: 210 parameters) with 1, 8, 32
#      and 128 client processes, every client sampled every round;
#   2. a 1.08M-parameter MLP (d = 20, hidden 1024,1024, K = 10) with 8 clients:
#      the cost of broadcasting and collecting about 4.3 MB per client.
# "median"/"p90": per-round `seconds` of metrics.jsonl (the client phase:
# round open to the last update in, aggregation excluded; the same measure in
# simulate, whose median with 1 thread is the baseline of the ratios) over
# rounds 2..R-1: the first round starts cold (and, networked, as soon as the
# last client registers), the last one evaluates. "period": the mean time
# from the coordinator's "round 1/R" log line to its "round R-1/R" line
# (aggregation, metrics and reopening included).
# Traffic is the "lo" transmit counter of /proc/net/dev. The script re-runs
# itself in a private network namespace (`unshare -rn`) when it can, so that
# counter holds only this benchmark's packets; otherwise it reads the host's
# lo and says so. CPU per round comes from /proc/PID/stat. A run in which a
# process fails or hangs is reported as FAILED, with its log tails on stderr.
# About 3 minutes on 2 cores.
# Usage: bench/net_rounds.sh [build-dir]   (default: build-release)
#   NET_CLIENTS="1 8 32 128"  client counts of part 1
#   NET_ROUNDS=20             rounds of every run
#   NET_BIG_CLIENTS=8         client count of part 2 (0 skips part 2)
#   NET_REPEAT=3              runs of every configuration (seconds pooled)
#   NET_KEEP=1                keep the logs (their directory is printed)
#   NET_SKIP_BUILD=1          use the fedcb already in build-dir
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-release"}

if [[ -z ${FCB_NET_NAMESPACE:-} ]]; then
    if [[ -z ${NET_SKIP_BUILD:-} ]]; then
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
    fi
    build=$(cd "$build" && pwd)
    if unshare -rn true 2>/dev/null; then
        FCB_NET_NAMESPACE=private exec unshare -rn bash "$root/bench/net_rounds.sh" "$build"
    fi
    FCB_NET_NAMESPACE=host
fi
if [[ $FCB_NET_NAMESPACE == private ]]; then
    ip link set lo up
fi

fedcb=$build/fedcb
clients_list=${NET_CLIENTS:-"1 8 32 128"}
rounds=${NET_ROUNDS:-20}
big_clients=${NET_BIG_CLIENTS:-8}
repeats=${NET_REPEAT:-3}
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fedcb-netbench.XXXXXX")
cd "$tmp"
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ -n ${NET_KEEP:-} ]]; then
        echo "logs kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sets LO_TX to the bytes transmitted on lo so far (no fork: it runs per log line).
read_lo_tx() {
    local line fields
    while IFS= read -r line; do
        line=${line/:/ }
        read -r -a fields <<<"$line"
        if [[ ${fields[0]} == lo ]]; then
            LO_TX=${fields[9]}
            return
        fi
    done </proc/net/dev
    LO_TX=0
}

# Sets COORD_TICKS and CLIENT_TICKS to the user + system CPU clock ticks of
# the processes in FILE (first line the coordinator, then the clients).
read_cpu_ticks() {
    local pid stat first=1
    COORD_TICKS=0
    CLIENT_TICKS=0
    while read -r pid; do
        read -r -a stat 2>/dev/null </proc/"$pid"/stat || continue
        if ((first)); then
            COORD_TICKS=$((stat[13] + stat[14]))
            first=0
        else
            CLIENT_TICKS=$((CLIENT_TICKS + stat[13] + stat[14]))
        fi
    done <"$1"
}

# Prefixes every line of the coordinator's stderr with the time and the lo
# counter; the lines closing round 1 and round `rounds`-1 (the ends of the
# measured window) also get the CPU ticks of the processes in PIDS_FILE.
stamp_lines() {
    local pids_file=$1 line cpu
    while IFS= read -r line; do
        read_lo_tx
        cpu=
        if [[ $line == *"round 1/"* || $line == *"round $((rounds - 1))/"* ]] && [[ -s $pids_file ]]; then
            read_cpu_ticks "$pids_file"
            cpu=" cpu $COORD_TICKS $CLIENT_TICKS"
        fi
        printf '%s %s %s%s\n' "$EPOCHREALTIME" "$LO_TX" "$line" "$cpu"
    done
}

# Median and nearest-rank p90 of the numbers on stdin: "median p90".
median_p90() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan nan"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        k = int(0.9 * NR); if (k < 0.9 * NR) k++
        printf "%.4f %.4f\n", m, v[k] }'
}

# Per-round seconds of rounds 2..rounds-1 of a metrics.jsonl.
middle_seconds() {
    jq -r 'select(.round > 1 and .round < '"$rounds"') | .seconds' "$1"
}

# Nominal payload bytes per round (bytes_up + bytes_down), from round 2.
nominal_bytes() {
    jq -r 'select(.round == 2) | .bytes_up + .bytes_down' "$1"
}

# run_simulate NAME THREADS SETS...: appends the per-round seconds of rounds
# 2..rounds-1 to $tmp/NAME.seconds; leaves the model hash in SIM_SHA.
run_simulate() {
    local name=$1 threads=$2
    shift 2
    local dir=$tmp/$name-$REP
    "$fedcb" simulate "$@" --threads "$threads" --out "$dir" >"$dir.out" 2>"$dir.err" || {
        tail -5 "$dir.err" >&2
        echo "fedcb simulate $name failed" >&2
        exit 1
    }
    middle_seconds "$dir/metrics.jsonl" >>"$tmp/$name.seconds"
    SIM_SHA=$(jq -r .model_sha256 "$dir/summary.json")
    NOMINAL=$(nominal_bytes "$dir/metrics.jsonl")
}

# Waits for PID until the bash clock SECONDS reaches DEADLINE; returns its
# exit status, or 124 after killing it if it still runs then.
wait_pid() {
    local pid=$1 deadline=$2 rc=0
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 124
    fi
    wait "$pid" || rc=$?
    return $rc
}

# wait_network NAME DIR COORD_PID CLIENT_PIDS...: waits for the coordinator
# (at most 900 s) and then for the clients (at most 60 s more). A client that
# exits with an error before the coordinator is done ends the run at once
# (every client is needed: quorum 1, all sampled). Failures are described on
# stderr with the log tails and set NET_FAILED=1.
wait_network() {
    local name=$1 dir=$2 coord=$3
    shift 3
    local clients=("$@") id rc
    local -A exit_status=()
    local deadline=$((SECONDS + 900))
    while kill -0 "$coord" 2>/dev/null && ((SECONDS < deadline)) && ((NET_FAILED == 0)); do
        for id in "${!clients[@]}"; do
            [[ -n ${exit_status[$id]:-} ]] && continue
            kill -0 "${clients[$id]}" 2>/dev/null && continue
            rc=0
            wait "${clients[$id]}" || rc=$?
            exit_status[$id]=$rc
            if [[ $rc -ne 0 ]]; then
                echo "$name: client $id exited with status $rc while the run was on; its last lines:" >&2
                tail -5 "$dir/client$id.err" >&2
                echo "$name: the coordinator's last lines:" >&2
                tail -3 "$dir/coord.err" >&2
                NET_FAILED=1
            fi
        done
        sleep 0.5
    done
    ((NET_FAILED == 0)) || deadline=$SECONDS
    rc=0
    wait_pid "$coord" "$deadline" || rc=$?
    if [[ $rc -ne 0 && $NET_FAILED -eq 0 ]]; then
        echo "$name: the coordinator exited with status $rc (124: killed, still running after 900 s); last lines:" >&2
        tail -8 "$dir/coord.err" >&2
        NET_FAILED=1
    fi
    local clients_deadline=$((SECONDS + 60))
    ((NET_FAILED == 0)) || clients_deadline=$SECONDS
    for id in "${!clients[@]}"; do
        [[ -n ${exit_status[$id]:-} ]] && continue
        rc=0
        wait_pid "${clients[$id]}" "$clients_deadline" || rc=$?
        if [[ $rc -ne 0 && $NET_FAILED -eq 0 ]]; then
            echo "$name: client $id exited with status $rc (124: killed, still running 60 s after the coordinator); last lines:" >&2
            tail -5 "$dir/client$id.err" >&2
            NET_FAILED=1
        fi
    done
}

# run_network NAME N TRANSPORT SETS...: coordinator and N clients; appends
# the per-round seconds of rounds 2..rounds-1 to $tmp/NAME.seconds and sets
# NET_SHA CADENCE LO_ROUND LO_TOTAL REGISTERED COORD_CPU CLIENT_CPU, or
# NET_FAILED=1 with the failure described on stderr.
run_network() {
    local name=$1 n=$2 transport=$3
    shift 3
    local auth=(--insecure)
    [[ $transport == mtls ]] && auth=(--tls-dir "$tmp/tls")
    local dir=$tmp/$name-$REP
    mkdir -p "$dir"
    NET_FAILED=0
    read_lo_tx
    local lo_start=$LO_TX
    "$fedcb" coordinator "$@" "${auth[@]}" --listen 127.0.0.1:0 --port-file "$dir/port" --out "$dir/out" \
        >"$dir/coord.out" 2> >(stamp_lines "$dir/pids" >"$dir/coord.err") &
    local coord=$!
    pids+=("$coord")
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -s $dir/port ]] && break
        kill -0 "$coord" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -s $dir/port ]]; then
        echo "$name: the coordinator did not listen; its log:" >&2
        tail -5 "$dir/coord.err" >&2
        NET_FAILED=1
        return
    fi
    local port client_pids=() id
    port=$(cat "$dir/port")
    for ((id = 0; id < n; id++)); do
        "$fedcb" client --client-id "$id" "$@" "${auth[@]}" --coordinator "127.0.0.1:$port" \
            >"$dir/client$id.out" 2>"$dir/client$id.err" &
        client_pids+=($!)
        pids+=($!)
    done
    printf '%s\n' "$coord" "${client_pids[@]}" >"$dir/pids.tmp"
    mv "$dir/pids.tmp" "$dir/pids"
    wait_network "$name" "$dir" "$coord" "${client_pids[@]}"
    sleep 0.2 # let the stamping reader finish the coordinator's log
    read_lo_tx
    LO_TOTAL=$((LO_TX - lo_start))
    [[ $NET_FAILED -eq 0 ]] || return 0
    middle_seconds "$dir/out/metrics.jsonl" >>"$tmp/$name.seconds"
    NET_SHA=$(jq -r .model_sha256 "$dir/out/summary.json")
    # Log lines "T LO fedcb coordinator: round k/R: ..." for k = 1..R-1.
    awk -v r="$rounds" '$5 == "round" && $6 ~ /\// { split($6, k, "/"); if (k[1] + 0 >= 1 && k[1] + 0 <= r - 1) print $1, $2 }' \
        "$dir/coord.err" >"$dir/round_marks"
    CADENCE=$(awk 'NR == 1 {t0 = $1} {t = $1; n = NR} END {printf "%.4f", (n > 1) ? (t - t0) / (n - 1) : 0}' \
        "$dir/round_marks")
    # CPU milliseconds per round of the coordinator and of all clients together.
    read -r COORD_CPU CLIENT_CPU < <(awk -v tick="$(getconf CLK_TCK)" -v r="$rounds" '$(NF - 2) == "cpu" {
            n++; c[n] = $(NF - 1); k[n] = $NF }
        END { if (n == 2) printf "%.1f %.1f\n", (c[2] - c[1]) * 1000 / tick / (r - 2), (k[2] - k[1]) * 1000 / tick / (r - 2)
              else print "- -" }' "$dir/coord.err")
    REGISTERED=$(awk '$5 == "listening" {t0 = $1} $7 == "registered" {t = $1} END {printf "%.2f", t - t0}' "$dir/coord.err")
    LO_ROUND=$(awk 'NR == 1 {t0 = $2} {t = $2; n = NR} END {printf "%.0f", (n > 1) ? (t - t0) / (n - 1) : 0}' \
        "$dir/round_marks")
}

fmt_ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f", a / b; else printf "-"}'; }

max_clients=$big_clients
for n in $clients_list; do
    if ((n > max_clients)); then
        max_clients=$n
    fi
done
bash "$root/certs/make-dev-certs.sh" --out "$tmp/tls" --clients "$max_clients" >/dev/null 2>&1 || {
    echo "certs/make-dev-certs.sh failed" >&2
    exit 1
}

echo "machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $FCB_NET_NAMESPACE == private ]]; then
    echo "traffic: lo of a private network namespace (only this benchmark's packets)"
else
    echo "traffic: the host's lo (unshare -rn was not possible; other loopback traffic is counted too)"
fi
echo "rounds per run: $rounds (statistics over rounds 2..$((rounds - 1))), $repeats runs of every configuration"
echo

base=(--config "$root/tests/configs/net_softmax.ini"
    --set run.rounds="$rounds" --set run.eval_every=1000 --set run.wall_clock=true
    --set data.synthetic_train=20000 --set data.synthetic_test=1000
    --set model.arch=linear --set clients.examples_per_round=60
    --set network.round_timeout=30 --set network.max_attempts=2 --set network.poll_ms=2000
    --set network.linger=5)

# Sets MACHINE_TICKS (busy CPU ticks of the whole machine, /proc/stat),
# IDLE_TICKS, and OWN_SECONDS (user + system CPU of this shell's finished
# children, from `times`).
read_cpu_totals() {
    local label user nice system idle iowait irq softirq steal rest
    read -r label user nice system idle iowait irq softirq steal rest </proc/stat
    MACHINE_TICKS=$((user + nice + system + irq + softirq + steal))
    IDLE_TICKS=$((idle + iowait))
    times >"$tmp/times" # in this shell: a command substitution would see its own children
    OWN_SECONDS=$(awk 'NR == 2 {
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
        printf "%.2f", t }' "$tmp/times")
}

# cpu_note: one line comparing the CPU this benchmark's processes used since
# the last read_cpu_totals with what the whole machine used.
cpu_note() {
    local machine=$MACHINE_TICKS idle=$IDLE_TICKS own=$OWN_SECONDS tick
    tick=$(getconf CLK_TCK)
    read_cpu_totals
    awk -v m=$((MACHINE_TICKS - machine)) -v i=$((IDLE_TICKS - idle)) -v o0="$own" -v o1="$OWN_SECONDS" -v t="$tick" \
        'BEGIN {printf "CPU over this part: benchmark processes %.1f s, whole machine busy %.1f s (kernel softirq and other users included), idle %.1f s\n", o1 - o0, m / t, i / t}'
}

# column_median FILE K: median of the K-th column of FILE.
column_median() {
    cut -d' ' -f"$2" "$1" | median_p90 | cut -d' ' -f1
}

# measure_part LABEL N_LIST UNIT DIVISOR SETS...: for every client count in
# N_LIST, `repeats` times in turn: simulate with 1 and 2 threads, then the
# plaintext and the mTLS networked run. Seconds are pooled over the repeats;
# the other figures are medians over the repeats. Prints the latency table and
# the traffic/CPU table; payload sizes in UNIT (bytes / DIVISOR).
measure_part() {
    local label=$1 n_list=$2 unit=$3 divisor=$4
    shift 4
    read_cpu_totals
    local latency=() traffic=() n transport sim1 sim2 net p90 stats failed
    for n in $n_list; do
        local sets=("$@" --set clients.num_clients="$n" --set clients.clients_per_round="$n"
            --set network.min_clients="$n")
        local key=$label-$n
        for ((REP = 1; REP <= repeats; REP++)); do
            run_simulate "sim-$key-t1" 1 "${sets[@]}"
            run_simulate "sim-$key-t2" 2 "${sets[@]}"
            for transport in plaintext mtls; do
                run_network "$key-$transport" "$n" "$transport" "${sets[@]}"
                if [[ $NET_FAILED -ne 0 ]]; then
                    echo "$key-$transport-$REP" >>"$tmp/failed"
                    continue
                fi
                if [[ $NET_SHA != "$SIM_SHA" ]]; then
                    echo "$key-$transport-$REP: model_sha256 $NET_SHA differs from simulate's $SIM_SHA" >&2
                    echo "$key-$transport-$REP" >>"$tmp/differs"
                fi
                echo "$CADENCE $LO_ROUND $LO_TOTAL $REGISTERED $COORD_CPU $CLIENT_CPU" >>"$tmp/$key-$transport.stats"
            done
        done
        read -r sim1 _ < <(median_p90 <"$tmp/sim-$key-t1.seconds")
        read -r sim2 _ < <(median_p90 <"$tmp/sim-$key-t2.seconds")
        for transport in plaintext mtls; do
            stats=$tmp/$key-$transport.stats
            failed=$(grep -c "^$key-$transport-" "$tmp/failed" 2>/dev/null || true)
            if [[ ! -s $stats ]]; then
                latency+=("| $n | $transport | $(fmt_ms "$sim1") | $(fmt_ms "$sim2") | all $repeats runs FAILED | | | | |")
                traffic+=("| $n | $transport | FAILED | | | | | | |")
                continue
            fi
            local note=""
            [[ ${failed:-0} -gt 0 ]] && note=" ($failed of $repeats runs failed)"
            read -r net p90 < <(median_p90 <"$tmp/$key-$transport.seconds")
            local period lo_round lo_total registered coord_cpu client_cpu
            period=$(column_median "$stats" 1)
            lo_round=$(column_median "$stats" 2)
            lo_total=$(column_median "$stats" 3)
            registered=$(column_median "$stats" 4)
            coord_cpu=$(column_median "$stats" 5)
            client_cpu=$(column_median "$stats" 6)
            latency+=("| $n | $transport$note | $(fmt_ms "$sim1") | $(fmt_ms "$sim2") | $(fmt_ms "$net") | $(fmt_ms "$p90") | $(ratio "$net" "$sim1") | $(ratio "$p90" "$sim1") | $(fmt_ms "$period") |")
            traffic+=("| $n | $transport$note | $(scaled "$NOMINAL" "$divisor") | $(scaled "$lo_round" "$divisor") | $(ratio2 "$lo_round" "$NOMINAL") | $(scaled "$lo_total" "$divisor" "$rounds") | $(printf '%.2f' "$registered") | $(printf '%.1f' "$coord_cpu") | $(printf '%.1f' "$client_cpu") |")
        done
    done
    echo "| clients | transport | simulate ms (1 thread) | simulate ms (2 threads) | net median ms | net p90 ms | net median / simulate | net p90 / simulate | net period ms |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${latency[@]}"
    echo
    echo "| clients | transport | nominal $unit/round | lo $unit/round | lo / nominal | lo whole run $unit / rounds | all registered after s | coordinator CPU ms/round | clients CPU ms/round |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${traffic[@]}"
    echo
    cpu_note
}

# scaled BYTES DIVISOR [TIMES]: BYTES / (DIVISOR * TIMES).
scaled() { awk -v b="$1" -v d="$2" -v t="${3:-1}" 'BEGIN {printf "%.2f", b / (d * t)}'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else printf "-"}'; }

echo "Part 1: linear model, d = 20, K = 10 (210 parameters), 60 examples per client per round"
echo
measure_part small "$clients_list" KB 1000 "${base[@]}"

if ((big_clients > 0)); then
    echo
    echo "Part 2: MLP d = 20, hidden 1024,1024, K = 10 (1,081,354 parameters, 4.33 MB as float32), 60 examples per client per round"
    echo
    measure_part big "$big_clients" MB 1e6 "${base[@]}" --set model.arch=mlp --set model.hidden=1024,1024 \
        --set data.synthetic_test=200
fi
echo
if [[ -s $tmp/differs ]]; then
    echo "model_sha256 differs from simulate in: $(tr '\n' ' ' <"$tmp/differs")"
else
    echo "every completed networked run ended with the same model_sha256 as simulate"
fi
[[ -s $tmp/failed ]] && echo "failed runs (details on stderr): $(tr '\n' ' ' <"$tmp/failed")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
