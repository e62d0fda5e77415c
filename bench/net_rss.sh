#!/usr/bin/env bash
# Memory of `fedcb coordinator` over a long networked run: its VmRSS
# (/proc/PID/status) after every round, with 64 client processes over
# mutual TLS on 127.0.0.1, every client sampled every round, 50 rounds of
# tests/configs/net_softmax.ini's synthetic world. Printed: RSS at round 1,
# 10 and every fifth of the run (10, 20, 30, 40, 50 by default), the peak
# (VmHWM), the growth from round 10 to the last round sampled (the
# coordinator may exit before the last round's sample), and the
# least-squares slope over rounds 10..last (KiB per round). With
# RSS_HOSTILE=1 the coordinator also serves tests/hostile_peer during the
# run: 500 silent TCP connections (each one it closes is opened again) and
# 4 x 50 connections sending random bytes. The final model is checked
# against `fedcb simulate` of the same config. About 2 minutes on 2 cores.
# Usage: bench/net_rss.sh [build-dir]   (default: build-release)
#   RSS_CLIENTS=64   client processes (all sampled every round)
#   RSS_ROUNDS=50    rounds
#   RSS_HOSTILE=1    hostile load during the run
#   RSS_KEEP=1       keep the logs (their directory is printed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-"$root/build-release"}" && pwd)
fedcb=$build/fedcb
peer=$build/tests/hostile_peer
clients=${RSS_CLIENTS:-64}
rounds=${RSS_ROUNDS:-50}
export OPENBLAS_NUM_THREADS=1
[[ -x $fedcb ]] || { echo "no fedcb in $build (cmake --build $build --target fedcb hostile_peer)" >&2; exit 1; }
if [[ -n ${RSS_HOSTILE:-} && ! -x $peer ]]; then
    echo "no $peer (cmake --build $build --target hostile_peer)" >&2
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fedcb-rss.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ -n ${RSS_KEEP:-} ]]; then echo "logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sets=(--set "run.rounds=$rounds" --set run.eval_every=10 --set "clients.num_clients=$clients"
    --set "clients.clients_per_round=$clients" --set clients.examples_per_round=30
    --set data.synthetic_train=8000)
config=(--config "$root/tests/configs/net_softmax.ini" "${sets[@]}")
bash "$root/certs/make-dev-certs.sh" --out "$tmp/tls" --clients "$clients" >/dev/null 2>&1
"$fedcb" simulate "${config[@]}" --out "$tmp/sim" >/dev/null 2>&1
sim_sha=$(sed -n 's/^[[:space:]]*"model_sha256":[[:space:]]*"\([0-9a-f]*\)".*$/\1/p' "$tmp/sim/summary.json")

"$fedcb" coordinator "${config[@]}" --set network.round_timeout=300 --tls-dir "$tmp/tls" --out "$tmp/net" \
    --listen 127.0.0.1:0 --port-file "$tmp/port" >"$tmp/coord.out" 2>"$tmp/coord.err" &
coord=$!
pids+=("$coord")
for ((i = 0; i < 300; i++)); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")
# Empty once the coordinator has exited (it may, right after its last round).
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$coord/status" 2>/dev/null || true; }
echo "coordinator pid $coord, port $port; RSS before any client: $(rss_kib) KiB"
for ((id = 0; id < clients; id++)); do
    "$fedcb" client --client-id "$id" "${config[@]}" --coordinator "127.0.0.1:$port" --tls-dir "$tmp/tls" \
        >"$tmp/client$id.out" 2>"$tmp/client$id.err" &
    pids+=("$!")
done
if [[ -n ${RSS_HOSTILE:-} ]]; then
    "$peer" idle "$port" 500 100000 >"$tmp/idle.out" 2>&1 &
    pids+=("$!")
    (for r in 1 2 3 4; do "$peer" random "$port" 50; sleep 5; done) >"$tmp/random.out" 2>&1 &
    pids+=("$!")
fi

# One RSS sample per round, taken when metrics.jsonl gains the round's line.
: >"$tmp/rss"
seen=0
marks=()
hwm=?
deadline=$((SECONDS + 1200))
while ((seen < rounds)) && kill -0 "$coord" 2>/dev/null && ((SECONDS < deadline)); do
    n=0
    [[ -f $tmp/net/metrics.jsonl ]] && n=$(wc -l <"$tmp/net/metrics.jsonl")
    if ((n > seen)); then
        rss=$(rss_kib)
        peak=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$coord/status" 2>/dev/null || true)
        [[ -n $peak ]] && hwm=$peak
        if [[ -n $rss ]]; then
            for ((r = seen + 1; r <= n; r++)); do echo "$r $rss" >>"$tmp/rss"; done
        fi
        seen=$n
    fi
    sleep 0.02
done
status=0
wait "$coord" || status=$?
((seen == rounds && status == 0)) || { tail -5 "$tmp/coord.err" >&2; echo "FAILED: $seen of $rounds rounds, status $status" >&2; exit 1; }
net_sha=$(sed -n 's/^[[:space:]]*"model_sha256":[[:space:]]*"\([0-9a-f]*\)".*$/\1/p' "$tmp/net/summary.json")

echo "clients $clients, rounds $rounds, hostile load: ${RSS_HOSTILE:-none}; peak RSS (VmHWM) $hwm KiB"
step=$((rounds >= 50 ? rounds / 5 : 10))
for ((r = step; r <= rounds; r += step)); do marks+=("$r"); done
[[ ${marks[0]} == 10 ]] || marks=(10 "${marks[@]}")
for r in 1 "${marks[@]}"; do
    awk -v r="$r" '$1 == r { printf "round %3d  RSS %7d KiB\n", $1, $2 }' "$tmp/rss"
done
awk -v last="$rounds" '$1 >= 10 { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
    $1 == 10 { a = $2 } { b = $2; l = $1 }
    END { slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
          printf "growth round 10 -> %d: %+d KiB; slope over rounds 10..%d: %+.2f KiB/round\n", l, b - a, l, slope }' \
    "$tmp/rss"
[[ -n ${RSS_HOSTILE:-} ]] && { echo "hostile: $(cat "$tmp/random.out" | tr '\n' ' ')"; }
if [[ $net_sha == "$sim_sha" ]]; then echo "model_sha256 equals fedcb simulate: $net_sha"; else
    echo "model_sha256 differs: network $net_sha, simulate $sim_sha"; fi
