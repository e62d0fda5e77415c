#!/usr/bin/env bash
# The main job: a short federated bandit study on Fashion-MNIST in the
# init-shift scenario, six exploration policies with the same seed and the
# same clients. Installs what is missing, builds Release, prints a table and
# writes a plot of reward per round.
# Usage: scripts/demo.sh [output-dir]   (default: out/demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/out/demo"}

"$root/scripts/install-deps.sh" gnuplot-nox jq
config="$root/simulations/configs/fmnist-init-shift.ini"
extra=()
if ! "$root/scripts/install-deps.sh" dataset-fashion-mnist 2>/dev/null ||
   [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "demo: Fashion-MNIST is not available; falling back to the synthetic generator" >&2
  extra=(--set data.source=synthetic --set data.synthetic_dim=64 --set data.synthetic_train=40000
         --set data.synthetic_nonlinear=true --set scenario.merge_classes=1:0,3:2)
  merged=(1 3)
else
  merged=(6 2 7)   # Shirt, Pullover, Sneaker: the classes merged in pretraining
fi

build="$root/build-release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fedcb >/dev/null
fedcb="$build/fedcb"

policies=(greedy epsilon_greedy softmax igw linucb thompson)
mkdir -p "$out"
echo "demo: init-shift on Fashion-MNIST, ${#policies[@]} policies, results in $out" >&2
for policy in "${policies[@]}"; do
  echo "demo: running $policy ..." >&2
  "$fedcb" simulate --config "$config" "${extra[@]}" --set policy.kind="$policy" \
    --out "$out/$policy" > "$out/$policy.result" 2> "$out/$policy.log" || {
      echo "demo: $policy failed:" >&2; cat "$out/$policy.log" >&2; exit 1; }
done

field() { # field NAME FILE: a number from a "key=value" result line
  sed -E "s/.*(^| )$1=([^ ]+).*/\2/" "$2"
}
merged_accuracy() { # merged_accuracy FIELD FILE: accuracy on each merged class
  local list
  list=$(IFS=,; echo "${merged[*]}")
  jq -r "[.$1[$list] | .*1000 | round / 1000 | tostring] | join(\"/\")" "$2"
}
printf '\n%-16s %12s %14s %14s %18s %10s\n' policy avg_reward test_accuracy pretrain_acc merged_class_acc seconds
for policy in "${policies[@]}"; do
  r="$out/$policy.result"
  printf '%-16s %12s %14s %14s %18s %10s\n' "$policy" "$(field avg_reward "$r")" \
    "$(field test_accuracy "$r")" "$(field pretrain_accuracy "$r")" \
    "$(merged_accuracy test_class_accuracy "$out/$policy/summary.json")" "$(field seconds "$r")"
done
echo "merged_class_acc: test accuracy on the classes merged in pretraining (${merged[*]});"
echo "the pretrained model's: $(merged_accuracy pretrain_class_accuracy "$out/${policies[0]}/summary.json")"

plot_args=()
for policy in "${policies[@]}"; do
  sed -E 's/.*"round":([0-9]+).*"reward":([^,]+),.*/\1 \2/' "$out/$policy/metrics.jsonl" > "$out/$policy.dat"
  plot_args+=("'$out/$policy.dat' using 1:2 with lines lw 2 title '$policy'")
done
plot="$out/reward_per_round.png"
gnuplot <<GP
set terminal pngcairo size 900,540
set output '$plot'
set title 'fedcb: init-shift on Fashion-MNIST, online reward per round'
set xlabel 'round'
set ylabel 'mean observed reward'
set key bottom right noenhanced
set grid
plot $(IFS=,; echo "${plot_args[*]}")
GP
echo
echo "plot: $plot"
echo "per-round metrics: $out/<policy>/metrics.jsonl, summaries: $out/<policy>/summary.json"
