#!/usr/bin/env bash
# The preference stage on Fashion-MNIST (simulations/configs/fmnist-preference.ini:
# the init scenario's pretrained MLP-64 as the reference, 100 clients, 200
# pairs per client and round, 150 rounds):
#   A. DPO with Bradley-Terry preferences (T = 0.1): win rate against the
#      reference, test accuracy against the reference's;
#   B. 30% of preferences flipped: DPO against robust DPO;
#   C. deterministic preferences (T = 0), 300 rounds: the implicit reward
#      margin per round of DPO, IPO and distillation from three bandit
#      regressors (fmnist-init.ini softmax runs of other seeds), with a plot.
# Prints markdown (docs/results/preference.md holds one run) and writes the
# plot to PLOT_DIR/preference-margins.png.
# Usage: bench/preference.sh [seeds] [plot-dir] [build-dir]   (default: 3, docs/results, build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-3}
plot_dir=${2:-"$root/docs/results"}
build=${3:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"
config="$root/simulations/configs/fmnist-preference.ini"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

run() { # run NAME SET...: fedcb simulate of the preference config into $tmp/NAME
  local name=$1
  shift
  local sets=()
  for s in "$@"; do sets+=(--set "$s"); done
  "$fedcb" simulate --config "$config" "${sets[@]}" --out "$tmp/$name" >/dev/null
}
get() { # get NAME JQ-PATH, rounded to 3 decimals
  jq -r "$2 * 1000 | round / 1000" "$tmp/$1/summary.json"
}
# mean_ci VALUES...: "mean ± half-width" of a 95% t-interval
mean_ci() {
  printf '%s\n' "$@" | awk '
    { x[NR] = $1; s += $1 }
    END {
      n = NR; m = s / n; v = 0
      for (i = 1; i <= n; i++) v += (x[i] - m) ^ 2
      split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262", t, " ")
      h = n > 1 ? t[n - 1] * sqrt(v / (n - 1) / n) : 0
      printf "%.3f ± %.3f", m, h
    }'
}

echo "## A. DPO from the pretrained model (T = 0.1, no flips)"
echo
echo "| seed | reference accuracy | DPO accuracy | win rate vs reference | KL(π‖π_ref) | margin βh |"
echo "|---:|---:|---:|---:|---:|---:|"
ref=() acc=() win=()
for seed in $(seq 1 "$seeds"); do
  run "a-$seed" run.seed="$seed"
  ref+=("$(get "a-$seed" .preference.reference_accuracy)")
  acc+=("$(get "a-$seed" .preference.test_accuracy)")
  win+=("$(get "a-$seed" .preference.win_rate)")
  echo "| $seed | ${ref[-1]} | ${acc[-1]} | ${win[-1]} | $(get "a-$seed" .preference.kl) | $(get "a-$seed" .preference.margin) |"
done
echo "| mean | $(mean_ci "${ref[@]}") | $(mean_ci "${acc[@]}") | $(mean_ci "${win[@]}") | | |"
echo

echo "## B. 30% of preferences flipped: DPO against robust DPO (ε = 0.3 known)"
echo
echo "| seed | DPO accuracy | rDPO accuracy | rDPO − DPO | DPO win rate | rDPO win rate |"
echo "|---:|---:|---:|---:|---:|---:|"
diffs=() dpo=() rdpo=()
for seed in $(seq 1 "$seeds"); do
  run "b-dpo-$seed" run.seed="$seed" preference.flip_rate=0.3
  run "b-rdpo-$seed" run.seed="$seed" preference.flip_rate=0.3 preference.loss=rdpo
  dpo+=("$(get "b-dpo-$seed" .preference.test_accuracy)")
  rdpo+=("$(get "b-rdpo-$seed" .preference.test_accuracy)")
  diffs+=("$(jq -n "(${rdpo[-1]} - ${dpo[-1]}) * 1000 | round / 1000")")
  echo "| $seed | ${dpo[-1]} | ${rdpo[-1]} | ${diffs[-1]} | $(get "b-dpo-$seed" .preference.win_rate) |" \
    "$(get "b-rdpo-$seed" .preference.win_rate) |"
done
echo "| mean | $(mean_ci "${dpo[@]}") | $(mean_ci "${rdpo[@]}") | $(mean_ci "${diffs[@]}") | | |"
echo

echo "## C. Deterministic preferences (T = 0), 300 rounds: implicit reward margins"
echo
for s in 101 102 103; do
  "$fedcb" simulate --config "$root/simulations/configs/fmnist-init.ini" --set run.seed=$s --out "$tmp/rm-$s" >/dev/null
done
det=(preference.rounds=300 preference.bt_temperature=0 run.eval_every=50)
run c-dpo "${det[@]}"
run c-ipo "${det[@]}" preference.loss=ipo preference.learning_rate=0.001
run c-distill "${det[@]}" preference.loss=distill preference.learning_rate=0.05 \
  preference.reward_models="$tmp/rm-101,$tmp/rm-102,$tmp/rm-103"
echo "| loss | learning rate | margin at round 50 | 150 | 300 | test accuracy | KL(π‖π_ref) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for loss in dpo ipo distill; do
  m() { jq -r "select(.round == $1) | .margin * 1000 | round / 1000" "$tmp/c-$loss/metrics.jsonl"; }
  echo "| $loss | $(jq -r '.config.preference.learning_rate | tonumber' "$tmp/c-$loss/summary.json") | $(m 50) | $(m 150) | $(m 300)" \
    "| $(get "c-$loss" .preference.test_accuracy) | $(get "c-$loss" .preference.kl) |"
  jq -r '[.round, .margin] | @tsv' "$tmp/c-$loss/metrics.jsonl" >"$tmp/c-$loss.dat"
done
mkdir -p "$plot_dir"
gnuplot <<GP
set terminal pngcairo size 800,480 noenhanced
set output "$plot_dir/preference-margins.png"
set title "Implicit reward margin (mean beta*h of the round's pairs), deterministic preferences"
set xlabel "round"
set ylabel "beta * h"
set key at graph 0.97, graph 0.6 right
set grid
set yrange [0:*]
plot "$tmp/c-dpo.dat" using 1:2 with lines lw 2 title "DPO", \
     0.5 with lines dt 2 lc rgb "gray40" title "IPO's optimum, beta / (2 ipo_tau)", \
     "$tmp/c-ipo.dat" using 1:2 with lines lw 2 title "IPO", \
     "$tmp/c-distill.dat" using 1:2 with lines lw 2 title "distill (3 reward models, pessimistic)"
GP
echo
echo "![margins](preference-margins.png)"
echo
echo "Ran in $(( $(date +%s) - start )) s on $(nproc) cores."
