#!/usr/bin/env bash
# The exploration bake-off workload end to end: a 1,000,000-line VW
# multiclass file (K = 10, 20 dense features) made by fedcb's own synthetic
# generator (`fedcb partition`), read by `fedcb simulate` on one thread in
# rounds of 16 examples (62,500 rounds, one client of 16 rows each round),
# for every policy: wall time from the text, wall time from the binary cache
# (data.cache_dir), and the online loss (1 - average reward). Every run
# writes its results (--out: metrics.jsonl, summary.json), as a user's
# would; the wall time includes them. With --before
# REV the same runs are timed on a build of that git revision in the same
# session, so the table holds ratios measured side by side. Then the fixed
# cost of a round: rounds of 1, 16 and 256 examples (epsilon-greedy, cached).
# Usage: bench/bakeoff.sh [--before REV] [--lines N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
before_rev="" lines=1000000
while [[ $# -gt 0 ]]; do
  case $1 in
    --before) before_rev=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    *) echo "usage: bench/bakeoff.sh [--before REV] [--lines N]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"; [[ -z $before_rev ]] || git -C "$root" worktree remove --force "$work-before-src" 2>/dev/null || true' EXIT

build="$root/build-release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
after=$build/fedcb
before=""
if [[ -n $before_rev ]]; then
  git -C "$root" worktree add -q --detach "$work-before-src" "$before_rev"
  cmake -S "$work-before-src" -B "$work/before-build" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$work/before-build" -j"$(nproc)" --target fedcb >/dev/null
  before=$work/before-build/fedcb
fi

# The data: `lines` training rows for one client, 10,000 test rows.
cat >"$work/world.ini" <<EOF
[run]
seed = 7
[data]
source = synthetic
synthetic_train = $lines
synthetic_test = 10000
synthetic_dim = 20
synthetic_classes = 10
[clients]
num_clients = 1
clients_per_round = 1
[model]
arch = linear
EOF
"$after" partition --config "$work/world.ini" --out "$work/data" >/dev/null
rounds=$((lines / 16))
cat >"$work/run.ini" <<EOF
[run]
seed = 1
rounds = $rounds
eval_every = 100000000
threads = 1
wall_clock = false
[data]
source = vw
path = $work/data/client-0.vw
test_path = $work/data/test.vw
[scenario]
kind = scratch
[clients]
num_clients = $rounds
clients_per_round = 1
examples_per_round = 16
[model]
arch = linear
[train]
learning_rate = 0.05
EOF
echo "data: $lines lines, $(du -h "$work/data/client-0.vw" | cut -f1); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# timed BINARY NAME ARGS...: sets SECONDS_WALL and LOSS (1 - avg_reward).
timed() {
  local binary=$1 name=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  rm -rf "$work/$name-out"
  "$binary" simulate --config "$work/run.ini" --out "$work/$name-out" "$@" >"$work/$name.out"
  end=$(date +%s.%N)
  SECONDS_WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  LOSS=$(sed -nE 's/.*avg_reward=([0-9.]+).*/\1/p' "$work/$name.out" | awk '{ printf "%.4f", 1 - $1 }')
}

policies=("greedy" "epsilon_greedy --set policy.epsilon=0.05" "softmax --set policy.temperature=0.05"
          "igw --set policy.igw_gamma=100" "linucb" "thompson" "thompson --set policy.propensity=monte_carlo")
names=(greedy epsilon-greedy softmax igw linucb thompson thompson-mc)
if [[ -n $before ]]; then
  echo "| policy | before: text (s) | after: text (s) | after: cached (s) | text: before / after | loss before | loss after |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
else
  echo "| policy | text (s) | cached (s) | online loss |"
  echo "|---|---:|---:|---:|"
fi
for i in "${!policies[@]}"; do
  read -r -a args <<<"--set policy.kind=${policies[$i]}"
  name=${names[$i]}
  # monte_carlo and the cache are new keys: the before build runs Thompson's only propensity and no cache.
  if [[ $name == thompson-mc && -n $before ]]; then
    before_text="" before_loss=""
  elif [[ -n $before ]]; then
    before_args=("${args[@]}")
    [[ $name == thompson ]] && before_args=(--set policy.kind=thompson)
    timed "$before" "$name-before" "${before_args[@]}"
    before_text=$SECONDS_WALL before_loss=$LOSS
  fi
  rm -rf "$work/cache"
  timed "$after" "$name-text" "${args[@]}"
  text=$SECONDS_WALL loss=$LOSS
  timed "$after" "$name-fill" "${args[@]}" --set data.cache_dir="$work/cache" --set run.rounds=1
  timed "$after" "$name-cached" "${args[@]}" --set data.cache_dir="$work/cache"
  cached=$SECONDS_WALL
  if [[ -n $before ]]; then
    ratio=$( [[ -n $before_text ]] && awk -v a="$before_text" -v b="$text" 'BEGIN { printf "%.2f", a / b }' || echo "")
    echo "| $name | $before_text | $text | $cached | $ratio | $before_loss | $loss |"
  else
    echo "| $name | $text | $cached | $loss |"
  fi
done

echo
echo "Fixed cost of a round (epsilon-greedy, cached data, $lines examples in all):"
echo
echo "| examples per round | rounds | round time (s, summary.json) | µs per round | µs per example |"
echo "|---:|---:|---:|---:|---:|"
rm -rf "$work/cache"
for per_round in 1 16 256; do
  r=$((lines / per_round))
  timed "$after" "fixed-$per_round" --set policy.kind=epsilon_greedy --set data.cache_dir="$work/cache" \
    --set clients.examples_per_round=$per_round --set clients.num_clients=$r --set run.rounds=$r \
    --set train.learning_rate=0.01
  rounds_seconds=$(sed -nE 's/.* seconds=([0-9.]+).*/\1/p' "$work/fixed-$per_round.out")
  awk -v e="$per_round" -v r="$r" -v s="$rounds_seconds" -v n="$lines" \
    'BEGIN { printf "| %d | %d | %.2f | %.2f | %.3f |\n", e, r, s, s / r * 1e6, s / n * 1e6 }'
done
