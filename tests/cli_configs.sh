#!/usr/bin/env bash
# Runs every shipped config in simulations/configs/ for a round or two and
# checks that fedcb exits 0 and writes one metrics.jsonl line per round and a
# summary.json with the model digest.
#   configs that need no files: --set run.rounds=2
#   Fashion-MNIST configs (only when the dataset is installed): one round with
#   2 clients of 20 examples and one pretraining epoch.
# Usage: bash tests/cli_configs.sh FEDCB_BINARY SOURCE_DIR
set -u

fedcb=${1:?usage: cli_configs.sh FEDCB_BINARY SOURCE_DIR}
source_dir=${2:?usage: cli_configs.sh FEDCB_BINARY SOURCE_DIR}
configs_dir="$source_dir/simulations/configs"
fmnist_dir=/usr/share/datasets/fashion-mnist

work=$(mktemp -d "${TMPDIR:-/tmp}/fedcb-cli-configs.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

failures=0
checked=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run_config NAME CONFIG ROUNDS [--set ...]...: runs one config into its own
# output directory and checks the result files.
run_config() {
    local name=$1 config=$2 rounds=$3
    shift 3
    local out="$work/$name"
    "$fedcb" simulate --config "$config" --out "$out" "$@" >"$out.stdout" 2>"$out.stderr"
    local status=$?
    if [ $status -ne 0 ]; then
        fail "$name: fedcb exited with status $status: $(tail -n 1 "$out.stderr")"
        return
    fi
    local lines=missing
    [ -f "$out/metrics.jsonl" ] && lines=$(wc -l <"$out/metrics.jsonl")
    if [ "$lines" != "$rounds" ]; then
        fail "$name: metrics.jsonl has $lines lines, expected $rounds"
        return
    fi
    if ! tail -n 1 "$out/metrics.jsonl" | grep -q "^{\"round\":$rounds,"; then
        fail "$name: the last metrics.jsonl line is not round $rounds"
        return
    fi
    if ! grep -Eq '"model_sha256": "[0-9a-f]{64}"' "$out/summary.json" 2>/dev/null; then
        fail "$name: summary.json is missing or has no model_sha256"
        return
    fi
    if ! grep -q '^policy=.* test_accuracy=' "$out.stdout"; then
        fail "$name: no result line on stdout"
        return
    fi
    checked=$((checked + 1))
    echo "ok: $name ($rounds rounds)"
}

needs_fmnist() {
    grep -Eq '^[[:space:]]*source[[:space:]]*=[[:space:]]*fashion_mnist' "$1"
}

have_fmnist=0
[ -f "$fmnist_dir/train-images-idx3-ubyte.gz" ] && have_fmnist=1

shopt -s nullglob
configs=("$configs_dir"/*.ini)
if [ ${#configs[@]} -eq 0 ]; then
    echo "FAIL: no configs in $configs_dir" >&2
    exit 1
fi

skipped=0
for config in "${configs[@]}"; do
    name=$(basename "$config" .ini)
    if needs_fmnist "$config"; then
        if [ $have_fmnist -eq 0 ]; then
            skipped=$((skipped + 1))
            continue
        fi
        rounds=(--set run.rounds=1)
        # A preference config: one preference round instead.
        grep -q '^\[preference\]' "$config" && rounds=(--set run.rounds=0 --set preference.rounds=1)
        run_config "$name" "$config" 1 "${rounds[@]}" --set clients.clients_per_round=2 \
            --set clients.examples_per_round=20 --set scenario.pretrain_epochs=1
    else
        run_config "$name" "$config" 2 --set run.rounds=2
    fi
done

# The configs say "pick the policy with --set policy.kind=...": every kind
# must run on the smoke config.
for policy in greedy epsilon_greedy softmax igw uniform linucb thompson; do
    run_config "smoke-$policy" "$configs_dir/smoke.ini" 2 --set run.rounds=2 --set policy.kind="$policy"
done

if [ $skipped -gt 0 ]; then
    echo "skipped $skipped Fashion-MNIST configs: $fmnist_dir is not installed"
fi
echo "$checked runs passed, $failures failed"
[ $failures -eq 0 ]
