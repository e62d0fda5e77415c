#!/usr/bin/env bash
# The determinism contract of `fedcb simulate`: one seed fixes a run,
# independent of the thread count; plus the metrics.jsonl / summary.json
# contract. Usage: cli_determinism.sh <path-to-fedcb> <source-dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"

# Set on the command line so the contract checks know them whatever the
# config files say. 7 is not a multiple of 3: the last round is an extra
# evaluation round.
ROUNDS=7
EVAL_EVERY=3
SEED=1

# check_run NAME CONFIG [--set ...]...: six runs of one configuration.
check_run() {
    local name=$1 config=$CONFIGS/$2
    shift 2
    local dir=$WORK/$name
    local common=(--config "$config" "$@" --set "run.rounds=$ROUNDS" --set "run.eval_every=$EVAL_EVERY"
        --set "run.seed=$SEED")
    say "$name: threads 1, wall_clock false"
    simulate_ok "$dir/a" "${common[@]}" --set run.wall_clock=false --threads 1
    check_metrics_contract "$dir/a" $ROUNDS $EVAL_EVERY
    check_summary_contract "$dir/a" $SEED
    grep -q '"seconds":0\.0[,}]' "$dir/a/metrics.jsonl" ||
        die "$name: wall_clock = false but metrics.jsonl does not write seconds as 0"
    if grep -q '"seconds":[1-9]\|"seconds":0\.0*[1-9]' "$dir/a/metrics.jsonl"; then
        die "$name: wall_clock = false but a round has non-zero seconds"
    fi
    local sha
    sha=$(summary_sha "$dir/a")

    say "$name: the same run again gives byte-identical metrics.jsonl and model"
    simulate_ok "$dir/b" "${common[@]}" --set run.wall_clock=false --threads 1
    cmp "$dir/a/metrics.jsonl" "$dir/b/metrics.jsonl" ||
        die "$name: two runs with the same seed wrote different metrics.jsonl"
    [[ $(summary_sha "$dir/b") == "$sha" ]] || die "$name: two runs with the same seed gave different models"

    say "$name: --threads 2 gives byte-identical metrics.jsonl and model"
    simulate_ok "$dir/c" "${common[@]}" --set run.wall_clock=false --threads 2
    cmp "$dir/a/metrics.jsonl" "$dir/c/metrics.jsonl" ||
        die "$name: --threads 1 and --threads 2 wrote different metrics.jsonl"
    [[ $(summary_sha "$dir/c") == "$sha" ]] || die "$name: --threads 1 and --threads 2 gave different models"

    say "$name: with wall_clock on, threads 1 and 2 differ only in seconds"
    simulate_ok "$dir/d" "${common[@]}" --threads 1
    simulate_ok "$dir/e" "${common[@]}" --threads 2
    check_metrics_contract "$dir/d" $ROUNDS $EVAL_EVERY
    strip_seconds "$dir/d/metrics.jsonl" >"$dir/d.stripped"
    strip_seconds "$dir/e/metrics.jsonl" >"$dir/e.stripped"
    strip_seconds "$dir/a/metrics.jsonl" >"$dir/a.stripped"
    if grep -q '"seconds"' "$dir/d.stripped"; then
        die "$name: strip_seconds left a seconds field"
    fi
    cmp "$dir/d.stripped" "$dir/e.stripped" ||
        die "$name: with wall_clock on, threads 1 and 2 differ in more than seconds"
    cmp "$dir/a.stripped" "$dir/d.stripped" ||
        die "$name: wall_clock on and off differ in more than seconds"
    [[ $(summary_sha "$dir/d") == "$sha" ]] || die "$name: wall_clock changed the model"
    [[ $(summary_sha "$dir/e") == "$sha" ]] || die "$name: wall_clock on, --threads 2 changed the model"

    say "$name: a different seed gives a different model"
    simulate_ok "$dir/f" "${common[@]}" --set run.wall_clock=false --threads 2 --set run.seed=2
    check_summary_contract "$dir/f" 2
    [[ $(summary_sha "$dir/f") != "$sha" ]] || die "$name: seeds 1 and 2 gave the same model $sha"
    if cmp -s "$dir/a/metrics.jsonl" "$dir/f/metrics.jsonl"; then
        die "$name: seeds 1 and 2 wrote the same metrics.jsonl"
    fi
}

# check_heterogeneity_active DIR: the availability knobs really removed some
# clients from aggregation (so the runs above exercised them).
check_heterogeneity_active() {
    local file=$1/metrics.jsonl per_round total=0 line
    per_round=$(sed -n 's/^[[:space:]]*"clients_per_round":[[:space:]]*"\([0-9]*\)".*/\1/p' "$1/summary.json")
    [[ $per_round =~ ^[0-9]+$ ]] || die "$1/summary.json: config has no clients.clients_per_round"
    while IFS= read -r line; do
        total=$((total + $(json_number "$line" clients)))
    done <"$file"
    say "heterogeneous: $total client updates aggregated out of $((ROUNDS * per_round)) sampled"
    ((total < ROUNDS * per_round)) ||
        die "participation/dropout/stragglers are on, yet every sampled client was aggregated"
    ((total > 0)) || die "no client update was aggregated in any round"
}

check_run softmax-linear tiny_softmax.ini
check_run egreedy-mlp tiny_mlp_egreedy.ini
check_run linucb tiny_linucb.ini
check_run thompson tiny_linucb.ini --set policy.kind=thompson
check_run heterogeneous-softmax tiny_heterogeneous.ini
check_heterogeneity_active "$WORK/heterogeneous-softmax/a"
check_run heterogeneous-egreedy-mlp tiny_heterogeneous.ini --set policy.kind=epsilon_greedy \
    --set model.arch=mlp --set model.hidden=16
check_run heterogeneous-thompson tiny_heterogeneous.ini --set policy.kind=thompson

say "all determinism checks passed"
