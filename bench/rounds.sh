#!/usr/bin/env bash
# Federated rounds per second of `fedcb simulate` (in process): 64 clients x 100
# examples per round on Fashion-MNIST, linear and MLP models, 1 and 2 threads,
# next to the single-thread sgemm GFLOP/s measured in the same run.
# Usage: bench/rounds.sh [build-dir]   (default: build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb bench_models >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sgemm=$("$build/bench/bench_models" | sed -nE 's/.*baseline ([0-9.]+).*/\1/p' | head -1)
echo "sgemm 1 thread: $sgemm GFLOP/s"
echo
echo "| model | threads | rounds | seconds | rounds/s | rounds/s per sgemm GFLOP/s |"
echo "|---|---:|---:|---:|---:|---:|"
rounds=40
for arch in linear mlp; do
  for threads in 1 2; do
    "$build/fedcb" simulate --config "$root/simulations/configs/fmnist-init-shift.ini" \
      --set scenario.kind=scratch --set model.arch=$arch --set model.hidden=64 \
      --set clients.clients_per_round=64 --set clients.examples_per_round=100 \
      --set run.rounds=$rounds --set run.eval_every=1000 --threads $threads \
      --set policy.kind=softmax --set train.local_epochs=1 --out "$tmp/$arch-$threads" > "$tmp/result"
    # Per-round wall time from metrics.jsonl, excluding the final evaluation round.
    secs=$(sed -E 's/.*"seconds":([0-9.e+-]+).*/\1/' "$tmp/$arch-$threads/metrics.jsonl" | head -n $((rounds - 1)) |
           awk '{s += $1} END {printf "%.3f", s}')
    awk -v a=$arch -v t=$threads -v r=$((rounds - 1)) -v s="$secs" -v g="$sgemm" \
      'BEGIN {printf "| %s | %d | %d | %s | %.1f | %.3f |\n", a, t, r, s, r / s, r / s / g}'
  done
done
