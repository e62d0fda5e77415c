# The preference stage of fedcb simulate on the synthetic world's init
# scenario (a linear model pretrained with labels on 10 clients):
#   - DPO lifts the win rate against the frozen reference above 0.5 and
#     raises test accuracy;
#   - with 30% of preferences flipped, robust DPO ends more accurate than
#     DPO (two seeds);
#   - with deterministic preferences DPO's implicit reward margin keeps
#     growing while IPO's and the distilled policy's level off;
#   - results do not depend on the thread count;
#   - bad [preference] settings are rejected by name.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
command -v jq >/dev/null || die "jq is not installed (scripts/test.sh installs it)"
SMOKE=$SOURCE_DIR/simulations/configs/smoke.ini
INIT=(--config "$SMOKE" --set scenario.kind=init --set run.rounds=0)

pref() { # pref DIR KEY: a number from DIR/summary.json's "preference"
    jq -r ".preference.$2" "$1/summary.json"
}
margin_at() { # margin_at DIR ROUND
    jq -r "select(.round == $2) | .margin" "$1/metrics.jsonl"
}
check() { # check DESCRIPTION JQ-STYLE-BOOLEAN (evaluated by jq -n)
    jq -en "$2" >/dev/null || die "$1 ($2)"
}

say "DPO from the pretrained model"
simulate_ok "$WORK/dpo" "${INIT[@]}" --set preference.rounds=40 --set preference.learning_rate=0.1
[[ $(grep -c '"stage":"preference"' "$WORK/dpo/metrics.jsonl") -eq 40 ]] || die "40 preference rounds expected"
check "DPO's win rate against the reference is not above 0.5" "$(pref "$WORK/dpo" win_rate) > 0.53"
check "DPO did not raise test accuracy by 3 points" \
    "$(pref "$WORK/dpo" test_accuracy) > $(pref "$WORK/dpo" reference_accuracy) + 0.03"
check "KL to the reference should be positive" "$(pref "$WORK/dpo" kl) > 0"

say "the thread count changes nothing"
simulate_ok "$WORK/dpo-t1" "${INIT[@]}" --set preference.rounds=40 --set preference.learning_rate=0.1 --threads 1
[[ $(summary_sha "$WORK/dpo") == "$(summary_sha "$WORK/dpo-t1")" ]] || die "the model differs between 1 and 2 threads"

say "30% flipped preferences: robust DPO against DPO"
for seed in 1 2; do
    for loss in dpo rdpo; do
        simulate_ok "$WORK/flip-$loss-$seed" "${INIT[@]}" --set run.seed=$seed --set preference.rounds=60 \
            --set preference.learning_rate=0.1 --set preference.flip_rate=0.3 --set preference.loss=$loss
    done
    dpo=$(pref "$WORK/flip-dpo-$seed" test_accuracy)
    rdpo=$(pref "$WORK/flip-rdpo-$seed" test_accuracy)
    say "seed $seed: accuracy DPO $dpo, rDPO $rdpo"
    check "seed $seed: rDPO should end more accurate than DPO" "$rdpo > $dpo"
done

say "deterministic preferences: implicit reward margins"
for member in softmax epsilon_greedy greedy; do
    simulate_ok "$WORK/rm-$member" --config "$SMOKE" --set scenario.kind=init --set policy.kind=$member
done
DET=("${INIT[@]}" --set preference.rounds=300 --set preference.bt_temperature=0 --set run.eval_every=100)
simulate_ok "$WORK/det-dpo" "${DET[@]}" --set preference.learning_rate=0.3
simulate_ok "$WORK/det-ipo" "${DET[@]}" --set preference.loss=ipo --set preference.learning_rate=0.003
simulate_ok "$WORK/det-distill" "${DET[@]}" --set preference.loss=distill --set preference.learning_rate=0.2 \
    --set preference.reward_models="$WORK/rm-softmax,$WORK/rm-epsilon_greedy,$WORK/rm-greedy"
for loss in dpo ipo distill; do
    say "$loss: margin at rounds 50 / 150 / 300: $(margin_at "$WORK/det-$loss" 50) / $(margin_at "$WORK/det-$loss" 150) / $(margin_at "$WORK/det-$loss" 300)"
done
check "DPO's margin should keep growing (round 300 against 150)" \
    "$(margin_at "$WORK/det-dpo" 300) > 1.15 * $(margin_at "$WORK/det-dpo" 150)"
check "DPO's margin should more than double from round 50 to 300" \
    "$(margin_at "$WORK/det-dpo" 300) > 2 * $(margin_at "$WORK/det-dpo" 50)"
for loss in ipo distill; do
    late=$(margin_at "$WORK/det-$loss" 300)
    mid=$(margin_at "$WORK/det-$loss" 150)
    check "$loss's margin should level off between rounds 150 and 300" "($late - $mid) < 0.1 * $mid"
    check "$loss's margin should stay below DPO's" "$late < 0.5 * $(margin_at "$WORK/det-dpo" 300)"
done

say "bad [preference] settings"
bad() { # bad NAME FRAGMENT SET...
    local name=$1 fragment=$2
    shift 2
    local sets=()
    for s in "$@"; do sets+=(--set "$s"); done
    run_fedcb "$name" simulate "${INIT[@]}" --set preference.rounds=2 "${sets[@]}" --out "$WORK/$name"
    check_no_sanitizer_report simulate "$name"
    [[ $RC -ne 0 ]] || die "$name: should fail"
    [[ $(wc -l <"$RUN_ERR") -eq 1 ]] || die "$name: expected one line, got: $(cat "$RUN_ERR")"
    grep -qF -- "$fragment" "$RUN_ERR" || die "$name: '$fragment' not in: $(cat "$RUN_ERR")"
}
bad loss "preference.loss = 'dpx'" preference.loss=dpx
bad beta "preference.beta = 0" preference.beta=0
bad rdpo-flip "preference.rdpo_flip_rate" preference.loss=rdpo preference.rdpo_flip_rate=0.5
bad rdpo-env-flip "preference.flip_rate = 0.6" preference.loss=rdpo preference.flip_rate=0.6
bad flip "preference.flip_rate" preference.flip_rate=1.5
bad bt "preference.bt_temperature" preference.bt_temperature=-1
bad rounds "preference.rounds" preference.rounds=-1
bad no-models "preference.reward_models" preference.loss=distill
bad missing-model "preference.reward_models" preference.loss=distill preference.reward_models="$WORK/nowhere"
bad linear "not policy.kind = linucb" policy.kind=linucb
bad ensemble "preference.ensemble" preference.loss=distill preference.ensemble=median \
    preference.reward_models="$WORK/rm-greedy"
run_fedcb no-rounds simulate --config "$SMOKE" --set run.rounds=0 --out "$WORK/no-rounds"
[[ $RC -ne 0 ]] && grep -q "run.rounds" "$RUN_ERR" || die "run.rounds = 0 without a preference stage should fail"
say "ok"
