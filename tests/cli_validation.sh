# data.validation_fraction: at 0 (the default) no val_ metric appears and the
# run is the same as without the key; above 0, every evaluation round of
# metrics.jsonl, summary.json and the stdout summary carry val_accuracy, for
# a score-based policy, LinUCB, Thompson sampling, the preference stage and
# the synthetic, libsvm, vw (and, when installed, fashion_mnist) sources.
# A fraction outside [0, 1) or one that leaves no training row is refused.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
command -v jq >/dev/null || die "jq is not installed (scripts/test.sh installs it)"
TINY=$CONFIGS/tiny_softmax.ini
QUIET=(--set run.wall_clock=false)

# has_validation DIR: val_accuracy in [0, 1] on exactly the evaluation rounds
# and in summary.json, and on the stdout line of the last run.
has_validation() {
    local evaluated with_val
    evaluated=$(grep -c '"test_accuracy"' "$1/metrics.jsonl")
    with_val=$(jq -c 'select(.val_accuracy != null and .val_accuracy >= 0 and .val_accuracy <= 1
                             and .val_reward != null)' "$1/metrics.jsonl" | wc -l)
    [[ $evaluated -ge 1 && $with_val -eq $evaluated ]] ||
        die "$1: $with_val of $evaluated evaluation rounds carry val_accuracy"
    [[ $(grep -c '"val_accuracy"' "$1/metrics.jsonl") -eq $evaluated ]] || die "$1: val_accuracy on a round without evaluation"
    jq -e '.val_accuracy >= 0 and .val_accuracy <= 1' "$1/summary.json" >/dev/null ||
        die "$1/summary.json has no val_accuracy"
    grep -Eq ' val_accuracy=[01]\.[0-9]{4} ' "$RUN_OUT" || die "stdout has no val_accuracy: $(cat "$RUN_OUT")"
}

say "default: no validation metric, and data.validation_fraction=0 is the same run"
simulate_ok "$WORK/default" --config "$TINY" "${QUIET[@]}"
! grep -q '"val_\|val_accuracy=' "$WORK/default/metrics.jsonl" "$WORK/default/summary.json" "$RUN_OUT" ||
    die "a run without a validation set reports a val_ metric"
simulate_ok "$WORK/zero" --config "$TINY" "${QUIET[@]}" --set data.validation_fraction=0
cmp -s "$WORK/default/metrics.jsonl" "$WORK/zero/metrics.jsonl" || die "validation_fraction=0 changes metrics.jsonl"
[[ $(summary_sha "$WORK/default") == "$(summary_sha "$WORK/zero")" ]] || die "validation_fraction=0 changes the model"

for policy in softmax linucb thompson; do
    say "policy $policy with a validation set"
    simulate_ok "$WORK/$policy" --config "$TINY" "${QUIET[@]}" --set policy.kind=$policy --set data.validation_fraction=0.2
    has_validation "$WORK/$policy"
done

say "the preference stage evaluates on the validation set too"
simulate_ok "$WORK/pref" --config "$SOURCE_DIR/simulations/configs/smoke.ini" "${QUIET[@]}" --set scenario.kind=init \
    --set run.rounds=2 --set preference.rounds=3 --set preference.learning_rate=0.1 --set data.validation_fraction=0.1
has_validation "$WORK/pref"
[[ $(jq -c 'select(.stage == "preference" and .val_accuracy != null)' "$WORK/pref/metrics.jsonl" | wc -l) -ge 1 ]] ||
    die "no preference round carries val_accuracy"

say "libsvm and vw sources"
# 600 rows, 6 features, 3 classes: the label is the largest of the first three features.
awk 'BEGIN { srand(5); for (i = 0; i < 600; i++) { best = 0; for (j = 1; j <= 6; j++) { v[j] = rand() * 2 - 1 }
     for (j = 2; j <= 3; j++) if (v[j] > v[best + 1]) best = j - 1
     line = best + 1; for (j = 1; j <= 6; j++) line = line " " j ":" sprintf("%.4f", v[j]); print line } }' \
    >"$WORK/rows.libsvm"
sed 's/^\([0-9]*\) /\1 | /' "$WORK/rows.libsvm" >"$WORK/rows.vw"
for source in libsvm vw; do
    simulate_ok "$WORK/$source" --config "$TINY" "${QUIET[@]}" --set data.source=$source \
        --set data.path="$WORK/rows.$source" --set clients.num_clients=10 --set clients.clients_per_round=4 \
        --set clients.examples_per_round=20 --set data.validation_fraction=0.25
    has_validation "$WORK/$source"
done

fmnist=/usr/share/datasets/fashion-mnist
if [[ -s $fmnist/train-images-idx3-ubyte.gz ]]; then
    say "fashion_mnist source"
    simulate_ok "$WORK/fmnist" --config "$SOURCE_DIR/simulations/configs/fmnist-init.ini" "${QUIET[@]}" \
        --set run.rounds=1 --set run.threads=1 --set data.validation_fraction=0.1
    has_validation "$WORK/fmnist"
else
    say "fashion_mnist source: skipped, $fmnist is not installed"
fi

say "bad fractions are refused by name"
expect_failure simulate --config "$TINY" --set data.validation_fraction=1
message_has "data.validation_fraction"
expect_failure simulate --config "$TINY" --set data.validation_fraction=-0.1
message_has "data.validation_fraction"
expect_failure simulate --config "$TINY" --set data.validation_fraction=0.9999
message_has "data.validation_fraction" "no training row"
say "all validation checks passed"
