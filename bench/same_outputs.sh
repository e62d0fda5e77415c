#!/usr/bin/env bash
# Does a change alter any result? Builds REV (default: HEAD) in a temporary
# worktree and runs `fedcb simulate` with it and with this tree's build on
# 28 configurations: the tiny test configs, every policy and loss, the
# server optimizers, DP, robust aggregation with an attack, availability,
# the preference stage, the drift scenarios and the Fashion-MNIST scenarios
# (shortened). metrics.jsonl must be byte for byte the same, and
# summary.json the same but for the config, its hash and the wall time.
# Prints one line per difference and exits 1 if there is any.
# Usage: bench/same_outputs.sh [REV]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}
command -v jq >/dev/null || { echo "same_outputs: needs jq" >&2; exit 2; }
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/src" 2>/dev/null; rm -rf "$work"' EXIT

git -C "$root" worktree add -q --detach "$work/src" "$rev" || exit 2
cmake -S "$work/src" -B "$work/ref-build" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null || exit 2
cmake --build "$work/ref-build" -j"$(nproc)" --target fedcb >/dev/null || exit 2
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DFEDCB_BUILD_TESTS=OFF >/dev/null || exit 2
cmake --build "$root/build-release" -j"$(nproc)" --target fedcb >/dev/null || exit 2
ref=$work/ref-build/fedcb new=$root/build-release/fedcb

cases=0 differ=0
run() {
  local name=$1
  shift
  cases=$((cases + 1))
  if ! "$ref" simulate "$@" --set run.wall_clock=false --out "$work/$name-ref" >/dev/null 2>"$work/$name-ref.err"; then
    echo "$name: $rev failed: $(tail -1 "$work/$name-ref.err")"
    differ=$((differ + 1))
    return
  fi
  if ! "$new" simulate "$@" --set run.wall_clock=false --out "$work/$name-new" >/dev/null 2>"$work/$name-new.err"; then
    echo "$name: this tree failed: $(tail -1 "$work/$name-new.err")"
    differ=$((differ + 1))
    return
  fi
  if ! cmp -s "$work/$name-ref/metrics.jsonl" "$work/$name-new/metrics.jsonl"; then
    echo "$name: metrics.jsonl differs ($(cmp "$work/$name-ref/metrics.jsonl" "$work/$name-new/metrics.jsonl" | head -1))"
    differ=$((differ + 1))
    return
  fi
  local filter='del(.config, .config_hash, .seconds)'
  if [[ "$(jq -cS "$filter" "$work/$name-ref/summary.json")" != "$(jq -cS "$filter" "$work/$name-new/summary.json")" ]]; then
    echo "$name: summary.json differs"
    differ=$((differ + 1))
  fi
}

tests=$root/tests/configs sims=$root/simulations/configs
for c in "$tests"/tiny_*.ini; do run "$(basename "$c" .ini)" --config "$c"; done
run tiny-thompson --config "$tests/tiny_linucb.ini" --set policy.kind=thompson
run tiny-full --config "$tests/tiny_softmax.ini" --set train.loss=full_mse
run tiny-xent --config "$tests/tiny_softmax.ini" --set train.loss=softmax_xent
run tiny-ips --config "$tests/tiny_softmax.ini" --set train.loss=importance_squared --set policy.kind=epsilon_greedy
run tiny-igw-adam --config "$tests/tiny_softmax.ini" --set policy.kind=igw --set server.optimizer=adam \
  --set policy.deploy_every=3
run net --config "$tests/net_softmax.ini"
run net-pref --config "$tests/net_softmax.ini" --set scenario.kind=init --set run.rounds=2 --set preference.rounds=4 \
  --set preference.learning_rate=0.1
run net-dp --config "$tests/net_softmax.ini" --set dp.enabled=true --set dp.adaptive=true --set dp.noise_multiplier=0.5 \
  --set dp.clipped_count_stddev=1
run net-robust --config "$tests/net_softmax.ini" --set aggregation.kind=trimmed_mean --set malicious.kind=sign_flip \
  --set malicious.fraction=0.2
run net-avail --config "$tests/net_softmax.ini" --set clients.participation=0.7 --set clients.dropout=0.1 \
  --set clients.straggler_fraction=0.2 --set clients.straggler_delay=2
for c in drift-gradual drift-late-classes drift-permutation drift-prior; do
  run "$c" --config "$sims/$c.ini" --set run.rounds=12
done
for c in fmnist-init-shift fmnist-dp fmnist-attack fmnist-availability fmnist-feature-skew fmnist-dirichlet-0.1 \
  fmnist-quantity-skew fmnist-click-noise; do
  run "$c" --config "$sims/$c.ini" --set run.rounds=3 --set run.eval_every=3 --set run.threads=2
done
run fmnist-pref --config "$sims/fmnist-preference.ini" --set run.rounds=2 --set preference.rounds=2 --set run.threads=2
run fmnist-linucb --config "$sims/fmnist-init.ini" --set run.rounds=2 --set policy.kind=linucb --set model.arch=mlp \
  --set model.hidden=32 --set run.threads=2
echo "same_outputs: $cases configurations, $differ differ from $rev"
[[ $differ -eq 0 ]]
