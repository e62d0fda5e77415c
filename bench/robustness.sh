#!/usr/bin/env bash
# Robust aggregation against malicious clients on Fashion-MNIST
# (simulations/configs/fmnist-init.ini: init scenario, softmax tau 0.05,
# 100 bandit clients, 20 per round, 68 rounds), and the cost per round of
# every [aggregation], [dp] and [malicious] option against plain FedAvg.
#   1. Final test accuracy of FedAvg (mean), coordinate-wise median, trimmed
#      mean (trim 0.2) and norm bounding (max norm 1.5): clean, and with 20%
#      of the clients sign-flipping their update (scale 1, and scale 10).
#      A run whose model diverges stops with a non-finite score; the table
#      says so and at which round.
#   2. Seconds per round (median over the rounds without an evaluation,
#      one thread), every option run REPEATS times interleaved with FedAvg,
#      reported as the ratio to FedAvg's.
# Prints markdown (docs/results/robustness.md holds one run). One process at
# a time, 2 threads for part 1, 1 thread for part 2; about 10 minutes on 2
# cores with the defaults.
# Usage: bench/robustness.sh [seeds] [build-dir] [repeats]   (default: 3, build-release, 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-3}
build=${2:-"$root/build-release"}
repeats=${3:-2}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"
config="$root/simulations/configs/fmnist-init.ini"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME ARGS...: one simulate into $tmp/NAME; prints the final test
# accuracy, or "div@N" when the model diverged at round N.
run() {
  local name=$1
  shift
  rm -rf "${tmp:?}/$name"
  if "$fedcb" simulate --config "$config" --set policy.kind=softmax "$@" --out "$tmp/$name" \
      >/dev/null 2>"$tmp/$name.err"; then
    jq -r '.test_accuracy' "$tmp/$name/summary.json"
  elif grep -q 'not finite' "$tmp/$name.err"; then
    echo "div@$(sed -n 's/^fedcb: round \([0-9]*\):.*/\1/p' "$tmp/$name.err")"
  else
    cat "$tmp/$name.err" >&2
    exit 1
  fi
}

# cell VALUES...: "mean (min-max)" of the accuracies, or the divergence rounds.
cell() {
  printf '%s\n' "$@" | awk '
    /^div@/ { sub("div@", ""); div = div (div ? ", " : "") $0; next }
    { n++; s += $1; if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1 }
    END {
      if (n) printf "%.3f (%.3f-%.3f)", s / n, lo, hi
      if (div) printf "%sdiverged (round %s)", n ? "; " : "", div
    }'
}

declare -A rule=(
  [mean]="--set aggregation.kind=mean"
  [median]="--set aggregation.kind=median"
  [trimmed_mean]="--set aggregation.kind=trimmed_mean --set aggregation.trim_fraction=0.2"
  [norm_bound]="--set aggregation.kind=norm_bound --set aggregation.max_norm=1.5"
)
rules=(mean median trimmed_mean norm_bound)
attacks=("none" "sign_flip 1" "sign_flip 10")

echo "## Accuracy under attack (fmnist-init.ini, softmax, $seeds seeds)"
echo
echo "Final test accuracy, mean over seeds (min-max). 20% of the 100 clients are malicious."
echo
echo "| attack | FedAvg (mean) | median | trimmed mean 0.2 | norm bound 1.5 |"
echo "|---|---|---|---|---|"
for attack in "${attacks[@]}"; do
  read -r kind scale <<<"$attack"
  row="| ${kind/none/none (clean)}${scale:+ x$scale} |"
  for r in "${rules[@]}"; do
    values=()
    for seed in $(seq 1 "$seeds"); do
      # shellcheck disable=SC2086
      values+=("$(run cell --set run.seed="$seed" ${rule[$r]} --set malicious.kind="$kind" \
        --set malicious.fraction=0.2 --set malicious.scale="${scale:-1}")")
    done
    row="$row $(cell "${values[@]}") |"
  done
  echo "$row"
done

# seconds_per_round NAME: median "seconds" over the rounds without test_accuracy.
seconds_per_round() {
  jq -s '[.[] | select(has("test_accuracy") | not) | .seconds] | sort | .[length / 2 | floor]' \
    "$tmp/$1/metrics.jsonl"
}

declare -A option=(
  [fedavg]=""
  [median]="--set aggregation.kind=median"
  [trimmed_mean]="--set aggregation.kind=trimmed_mean --set aggregation.trim_fraction=0.2"
  [norm_bound]="--set aggregation.kind=norm_bound --set aggregation.max_norm=1.5"
  [dp_fixed]="--set dp.enabled=true --set dp.noise_multiplier=1 --set dp.clip_norm=1"
  [dp_adaptive]="--set dp.enabled=true --set dp.noise_multiplier=1 --set dp.adaptive=true --set dp.clipped_count_stddev=2 --set dp.clip_norm=1"
  [attack_sign_flip]="--set malicious.kind=sign_flip --set malicious.fraction=0.2"
  [attack_noise]="--set malicious.kind=noise --set malicious.fraction=0.2"
)
options=(fedavg median trimmed_mean norm_bound dp_fixed dp_adaptive attack_sign_flip attack_noise)
declare -A seconds
for rep in $(seq 1 "$repeats"); do
  for o in "${options[@]}"; do
    # shellcheck disable=SC2086
    run "cost-$o-$rep" --set run.threads=1 ${option[$o]} >/dev/null
    seconds[$o]="${seconds[$o]:-} $(seconds_per_round "cost-$o-$rep")"
  done
done

echo
echo "## Cost per round (fmnist-init.ini, 20 clients x 200 examples, 50,890 parameters, 1 thread)"
echo
echo "Median seconds per round over the rounds without an evaluation, $repeats interleaved runs each;"
echo "the ratio is to FedAvg's seconds in the same repetition, averaged over repetitions."
echo
echo "| option | seconds per round | ratio to FedAvg |"
echo "|---|---:|---:|"
read -r -a base <<<"${seconds[fedavg]}"
for o in "${options[@]}"; do
  read -r -a mine <<<"${seconds[$o]}"
  awk -v o="$o" -v mine="${mine[*]}" -v base="${base[*]}" 'BEGIN {
    n = split(mine, m, " "); split(base, b, " ")
    for (i = 1; i <= n; i++) { s += m[i]; r += m[i] / b[i] }
    printf "| %s | %.3f | %.2f |\n", o, s / n, r / n
  }'
done
