#!/usr/bin/env bash
# The coordinator killed with SIGKILL at random moments of a networked run
# and restarted on the same --state-dir, KILLS times, while 8 clients keep
# running; then the run ends. The final model must be `fedcb simulate`'s
# (model_sha256) and metrics.jsonl must hold every round once. Prints one
# line per kill (the round the newest checkpoint had, the round the restart
# resumed from) and a summary.
# Usage: bench/kill_campaign.sh [KILLS] [build-dir]   (default 20, build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kills=${1:-20}
build=${2:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb=$build/fedcb
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
config=$root/tests/configs/net_softmax.ini
sets=(--set run.rounds=20000 --set network.round_timeout=20)

"$fedcb" simulate --config "$config" "${sets[@]}" --out "$work/sim" >/dev/null
want=$(sed -nE 's/.*"model_sha256": *"([0-9a-f]+)".*/\1/p' "$work/sim/summary.json")

start_coordinator() {
  rm -f "$work/port"
  "$fedcb" coordinator --config "$config" "${sets[@]}" --insecure --state-dir "$work/state" --out "$work/net" \
    --listen "127.0.0.1:${port:-0}" --port-file "$work/port" >>"$work/coord.out" 2>>"$work/coord.err" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 600); do [[ -s $work/port ]] && break; sleep 0.05; done
  port=$(cat "$work/port")
}
newest_round() {
  ls "$work/state" 2>/dev/null | sed -nE 's/^round-0*([0-9]+)\.ckpt$/\1/p' | sort -n | tail -1
}

start_coordinator
for id in 0 1 2 3 4 5 6 7; do
  "$fedcb" client --client-id "$id" --config "$config" "${sets[@]}" --coordinator "127.0.0.1:$port" --insecure \
    --give-up 60 >/dev/null 2>>"$work/client-$id.err" &
  pids+=("$!")
done
done_kills=0 redone=0
echo "| kill | after (s) | newest checkpoint | resumed from |"
echo "|---:|---:|---:|---:|"
while [[ $done_kills -lt $kills ]]; do
  delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.2 + 1.5 * rand() }')
  sleep "$delay"
  kill -0 "$coord" 2>/dev/null || break
  kill -9 "$coord"
  wait "$coord" 2>/dev/null || true
  checkpoint=$(newest_round)
  done_kills=$((done_kills + 1))
  start_coordinator
  for _ in $(seq 200); do
    [[ $(grep -c 'resuming after round' "$work/coord.err") -ge $done_kills ]] && break
    sleep 0.05
  done
  resumed=$(grep -oE 'resuming after round [0-9]+' "$work/coord.err" | tail -1 | grep -oE '[0-9]+$' || echo "?")
  echo "| $done_kills | $delay | ${checkpoint:-none} | $resumed |"
done
for _ in $(seq 1200); do kill -0 "$coord" 2>/dev/null || break; sleep 0.1; done
status=0
wait "$coord" || status=$?
got=$(sed -nE 's/.*"model_sha256": *"([0-9a-f]+)".*/\1/p' "$work/net/summary.json" 2>/dev/null || true)
rounds=$(wc -l <"$work/net/metrics.jsonl")
echo
echo "kills: $done_kills; coordinator exit status $status; metrics.jsonl rounds: $rounds (simulate: $(wc -l <"$work/sim/metrics.jsonl"))"
if [[ $status -eq 0 && $got == "$want" ]] && cmp -s "$work/sim/metrics.jsonl" "$work/net/metrics.jsonl"; then
  echo "final model equals simulate's ($want) and metrics.jsonl is identical"
else
  echo "WRONG: final model $got, simulate $want"
  exit 1
fi
