#!/usr/bin/env bash
# The privacy-utility curve of DP-FedAvg on Fashion-MNIST with softmax
# exploration (tau 0.05): epsilon (RDP accountant, Poisson-subsampled
# Gaussian) against the final test accuracy for several noise multipliers z.
#   1. fmnist-init.ini as shipped: 100 bandit clients, 20 per round
#      (q = 0.2), 68 rounds, clip norm 1.
#   2. fmnist-dp.ini: the same data over 2,000 bandit clients, 200 per round
#      (q = 0.1), 50 rounds, clip norm 0.5; plus adaptive clipping.
# Each row: z, epsilon at delta = 1 / num_clients^1.1 after the last round,
# the mean (min-max) final accuracy over the seeds, its change against the
# same config without DP, and the mean fraction of clipped updates.
# Prints markdown (docs/results/privacy.md holds one run) and plots epsilon
# against accuracy to PLOT_DIR/privacy-utility.png. One process at a time
# (2 threads); about 10 minutes on 2 cores with the defaults.
# Usage: bench/privacy.sh [seeds] [plot-dir] [build-dir]   (default: 3, docs/results, build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-3}
plot_dir=${2:-"$root/docs/results"}
build=${3:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"
configs="$root/simulations/configs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# accuracies CONFIG ARGS...: runs every seed into $tmp/run-SEED; prints the
# final test accuracies, one per line.
accuracies() {
  local config=$1 seed
  shift
  for seed in $(seq 1 "$seeds"); do
    rm -rf "$tmp/run-$seed"
    "$fedcb" simulate --config "$config" --set policy.kind=softmax --set run.seed="$seed" "$@" \
      --out "$tmp/run-$seed" >/dev/null
    jq -r .test_accuracy "$tmp/run-$seed/summary.json"
  done
}

# row LABEL BASELINE CONFIG ARGS...: one table row for a DP setting.
row() {
  local label=$1 baseline=$2 config=$3
  shift 3
  local acc epsilon clipped
  acc=$(accuracies "$config" "$@")
  epsilon=$(jq -r '.privacy.epsilon // "inf" | if type == "number" then (. * 1000 | round / 1000) else . end' \
    "$tmp/run-1/summary.json")
  clipped=$(cat "$tmp"/run-*/metrics.jsonl | jq -s 'map(.clipped_fraction) | add / length')
  printf '%s\n' "$acc" | awk -v label="$label" -v eps="$epsilon" -v base="$baseline" -v clipped="$clipped" '
    { n++; s += $1; if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1 }
    END { printf "| %s | %s | %.4f (%.4f-%.4f) | %+.1f | %.2f |\n", label, eps, s / n, lo, hi,
          100 * (s / n - base), clipped }'
  # The plot's points: finite epsilon, fixed clipping.
  if [[ $epsilon != inf && $label != *adaptive* ]]; then
    printf '%s\n' "$acc" | awk -v eps="$epsilon" '{ s += $1 } END { printf "%s %.6f\n", eps, s / NR }' \
      >>"$tmp/curve-$CURVE_ID.dat"
  fi
}

curve() {
  local title=$1 config=$2 clip=$3
  shift 3
  local acc baseline pretrain
  acc=$(accuracies "$config" --set dp.enabled=false)
  baseline=$(printf '%s\n' "$acc" | awk '{s += $1} END {printf "%.6f", s / NR}')
  pretrain=$(jq -r .pretrain_accuracy "$tmp/run-1/summary.json")
  echo "## $title"
  echo
  echo "Without DP: $(printf '%.4f' "$baseline") (pretrained model: $(printf '%.4f' "$pretrain"), seed 1)."
  echo
  echo "| z | epsilon | final accuracy, mean (min-max) | change (points) | clipped fraction |"
  echo "|---|---:|---|---:|---:|"
  local z
  for z in "$@"; do
    row "$z" "$baseline" "$config" --set dp.enabled=true --set dp.noise_multiplier="$z" --set dp.clip_norm="$clip"
  done
  CURVE_DELTA=$(jq -r .privacy.delta "$tmp/run-1/summary.json")
  CURVE_BASELINE=$baseline
}

CURVE_ID=init
curve "fmnist-init.ini: 100 clients, 20 per round (q = 0.2), 68 rounds, C = 1" \
  "$configs/fmnist-init.ini" 1 0 0.3 0.5 1 2
echo
echo "delta = $CURVE_DELTA (1 / 100^1.1)."
echo
BASELINE_INIT=$CURVE_BASELINE
CURVE_ID=dp
curve "fmnist-dp.ini: 2,000 clients, 200 per round (q = 0.1), 50 rounds, C = 0.5" \
  "$configs/fmnist-dp.ini" 0.5 0 1 2 4 8 16
for z in 1 4; do
  row "$z, adaptive (C from 0.1, target 0.5, sigma_b 10)" "$CURVE_BASELINE" "$configs/fmnist-dp.ini" \
    --set dp.noise_multiplier="$z" --set dp.adaptive=true --set dp.clipped_count_stddev=10 --set dp.clip_norm=0.1
done
echo
echo "delta = $CURVE_DELTA (1 / 2000^1.1)."

mkdir -p "$plot_dir"
gnuplot <<GP
set terminal pngcairo size 800,480 noenhanced
set output "$plot_dir/privacy-utility.png"
set title "DP-FedAvg on Fashion-MNIST, softmax exploration: privacy against utility"
set xlabel "epsilon (log scale; smaller is more private)"
set ylabel "final test accuracy"
set logscale x
set key right bottom
set grid
plot "$tmp/curve-init.dat" using 1:2 with linespoints lw 2 pt 7 title "100 clients, 20 per round, C = 1", \
     "$tmp/curve-dp.dat" using 1:2 with linespoints lw 2 pt 5 title "2,000 clients, 200 per round, C = 0.5", \
     $BASELINE_INIT with lines dt 2 lc 1 title "100 clients without DP", \
     $CURVE_BASELINE with lines dt 2 lc 2 title "2,000 clients without DP"
GP
echo
echo "![privacy-utility](privacy-utility.png)"
