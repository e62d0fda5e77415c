# Importance-weighted training (train.loss = importance_squared) on the
# fmnist-init scenario: with unclipped weights 1/p a propensity near 0 makes
# the first round's gradient non-finite, and the run stops with that one
# line; with train.max_weight = 10 (softmax) or train.scale_weights
# (epsilon-greedy, weights times eps/K) it learns past the pretrained model,
# and so does the doubly robust loss under epsilon-greedy with max_weight.
# 10 rounds; needs the Debian package dataset-fashion-mnist (scripts/test.sh
# installs it).
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"

CONFIG=$SOURCE_DIR/simulations/configs/fmnist-init.ini
[[ -d /usr/share/datasets/fashion-mnist ]] || die "dataset-fashion-mnist is not installed (scripts/test.sh installs it)"
IPS=(--config "$CONFIG" --set train.loss=importance_squared --set run.rounds=10 --set run.eval_every=10 --threads 2)

for policy in softmax epsilon_greedy; do
    run_fedcb "raw-$policy" simulate "${IPS[@]}" --set policy.kind=$policy --out "$WORK/raw-$policy"
    [[ $RC -ne 0 ]] || die "unclipped importance weights with $policy did not fail"
    grep -q "gradient norm is not finite" "$RUN_ERR" || die "unclipped $policy: $(tail -1 "$RUN_ERR")"
    check_no_sanitizer_report
    say "unclipped, $policy: $(tail -1 "$RUN_ERR")"
done

check_learns() {
    local name=$1
    shift
    simulate_ok "$WORK/$name" "${IPS[@]}" "$@"
    local test pre
    test=$(jq -r .test_accuracy "$WORK/$name/summary.json")
    pre=$(jq -r .pretrain_accuracy "$WORK/$name/summary.json")
    say "$name: test accuracy $test after 10 rounds (pretrained $pre)"
    awk -v t="$test" -v p="$pre" 'BEGIN { exit !(t > p + 0.02) }' || die "$name did not learn: $test vs $pre"
}
check_learns softmax-clipped --set policy.kind=softmax --set train.max_weight=10
check_learns egreedy-scaled --set policy.kind=epsilon_greedy --set train.scale_weights=true
# The doubly robust correction r/p is bounded by the same clip.
check_learns dr-clipped --set policy.kind=epsilon_greedy --set train.loss=doubly_robust --set train.max_weight=10

run_fedcb bad simulate "${IPS[@]}" --set policy.kind=softmax --set train.scale_weights=true
[[ $RC -ne 0 ]] && grep -q "train.scale_weights" "$RUN_ERR" || die "scale_weights with softmax: $(cat "$RUN_ERR")"
say "PASS"
