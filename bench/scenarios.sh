#!/usr/bin/env bash
# The paper scenarios against the supervised ceiling, over several seeds:
#   1. the full-information ceiling of the linear model and of the MLP the
#      bandit configs use (hidden 64, fmnist-ceiling.ini as it is), plus an MLP-128;
#   2. init: softmax (tau 0.05) from implicit feedback after at most 5 passes,
#      and its gap to the MLP-64 ceiling of the same seed;
#   3. init-shift: softmax's test accuracy on the merged classes (Shirt,
#      Pullover, Sneaker) against the pretrained model's.
# Prints markdown tables (docs/results/scenarios.md holds one run).
# Usage: bench/scenarios.sh [seeds] [build-dir]   (default: 3, build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-3}
build=${2:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"
configs="$root/simulations/configs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

summary() { # summary JQ-EXPR: a value from the last run's summary.json
  jq -r "$1" "$tmp/run/summary.json"
}
simulate() {
  rm -rf "$tmp/run"
  "$fedcb" simulate "$@" --out "$tmp/run" > /dev/null
}

echo "## Supervised full-information ceiling (fmnist-ceiling.ini, 10 passes)"
echo
echo "| seed | linear (normalize_input off, lr 0.1) | linear (as the bandit configs) | MLP-64 (fmnist-ceiling.ini) | MLP-128 |"
echo "|---:|---:|---:|---:|---:|"
declare -A ceiling64
for seed in $(seq 1 "$seeds"); do
  simulate --config "$configs/fmnist-ceiling.ini" --set run.seed="$seed" --set model.arch=linear \
    --set model.normalize_input=false --set train.learning_rate=0.1
  linear_raw=$(summary .test_accuracy)
  simulate --config "$configs/fmnist-ceiling.ini" --set run.seed="$seed" --set model.arch=linear
  linear=$(summary .test_accuracy)
  simulate --config "$configs/fmnist-ceiling.ini" --set run.seed="$seed"
  ceiling64[$seed]=$(summary .test_accuracy)
  simulate --config "$configs/fmnist-ceiling.ini" --set run.seed="$seed" --set model.hidden=128
  echo "| $seed | $linear_raw | $linear | ${ceiling64[$seed]} | $(summary .test_accuracy) |"
done

echo
echo "## init: softmax tau 0.05 from implicit feedback (fmnist-init.ini)"
echo
echo "| seed | passes | pretrained | avg online reward | final test accuracy | MLP-64 ceiling | gap (points) |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for seed in $(seq 1 "$seeds"); do
  simulate --config "$configs/fmnist-init.ini" --set run.seed="$seed" --set policy.kind=softmax
  acc=$(summary .test_accuracy)
  gap=$(awk -v c="${ceiling64[$seed]}" -v a="$acc" 'BEGIN {printf "%.1f", 100 * (c - a)}')
  printf '| %s | %.2f | %.4f | %.4f | %s | %s | %s |\n' "$seed" "$(summary .passes)" \
    "$(summary .pretrain_accuracy)" "$(summary .avg_reward)" "$acc" "${ceiling64[$seed]}" "$gap"
done

echo
echo "## init-shift: accuracy on the merged classes (fmnist-init-shift.ini, softmax)"
echo
echo "| seed | pretrained Shirt/Pullover/Sneaker | softmax Shirt/Pullover/Sneaker | pretrained accuracy | softmax accuracy |"
echo "|---:|---:|---:|---:|---:|"
merged='[.[6,2,7] | .*1000 | round / 1000 | tostring] | join(" / ")'
for seed in $(seq 1 $((seeds * 2))); do
  simulate --config "$configs/fmnist-init-shift.ini" --set run.seed="$seed" --set policy.kind=softmax
  echo "| $seed | $(summary ".pretrain_class_accuracy | $merged") | $(summary ".test_class_accuracy | $merged") |" \
       "$(summary .pretrain_accuracy) | $(summary .test_accuracy) |"
done
