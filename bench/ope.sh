#!/usr/bin/env bash
# Off-policy evaluation on Fashion-MNIST (init scenario): epsilon-greedy 0.2
# logs its decisions; candidates on the model a softmax run of the same
# world trained are evaluated from that log with IPS, SNIPS and DR, and
# compared with their true value on the logged contexts. Several seeds.
# Prints a markdown table (docs/results/ope.md holds one run).
# Usage: bench/ope.sh [seeds] [build-dir]   (default: 3, build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-3}
build=${2:-"$root/build-release"}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"
config="$root/simulations/configs/fmnist-init.ini"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

interval() { # interval FILE ESTIMATOR: "0.812 [0.801, 0.823]", bold when it misses the truth
  jq -r --arg e "$2" '.[$e] as $x | ($x.lower <= .true_value and .true_value <= $x.upper) as $in
    | "\(if $in then "" else "**" end)\($x.value*1000|round/1000) [\($x.lower*1000|round/1000), \($x.upper*1000|round/1000)]\(if $in then "" else "**" end)"' "$1"
}

echo "| seed | candidate | true value | IPS | SNIPS | DR | effective samples |"
echo "|---:|---|---:|---:|---:|---:|---:|"
covered=0
checks=0
for seed in $(seq 1 "$seeds"); do
  logger=(--config "$config" --set run.seed="$seed" --set policy.kind=epsilon_greedy --set policy.epsilon=0.2
          --set run.log_interactions=true)
  "$fedcb" simulate "${logger[@]}" --out "$tmp/log-$seed" >/dev/null
  "$fedcb" simulate --config "$config" --set run.seed="$seed" --out "$tmp/model-$seed" >/dev/null
  for candidate in "greedy" "softmax temperature=0.05" "softmax temperature=0.2" "igw igw_gamma=100"; do
    read -r kind setting <<<"$candidate"
    extra=()
    [[ -n ${setting:-} ]] && extra=(--candidate-set "$setting")
    out="$tmp/ope-$seed-${candidate// /-}.json"
    "$fedcb" ope "${logger[@]}" --log "$tmp/log-$seed" --model "$tmp/model-$seed" --candidate "$kind" \
      "${extra[@]}" --out "$out" >/dev/null
    for e in ips snips dr; do
      checks=$((checks + 1))
      jq -e --arg e "$e" '.[$e].lower <= .true_value and .true_value <= .[$e].upper' "$out" >/dev/null &&
        covered=$((covered + 1))
    done
    echo "| $seed | $candidate | $(jq -r '.true_value*1000|round/1000' "$out") | $(interval "$out" ips)" \
      "| $(interval "$out" snips) | $(interval "$out" dr) | $(jq -r '.effective_samples|round' "$out") of $(jq .interactions "$out") |"
  done
  echo "| $seed | *logger: epsilon-greedy 0.2* | $(jq -r '.avg_true_reward*1000|round/1000' "$tmp/log-$seed/summary.json") | | | | |"
done
echo
echo "$covered of $checks 95% intervals cover the true value (a miss is in bold)."
