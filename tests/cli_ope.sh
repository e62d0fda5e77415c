# fedcb ope: the IPS, SNIPS and doubly robust intervals, computed from a log
# that `fedcb simulate` wrote with epsilon-greedy, cover the candidate's true
# value on the logged contexts (which the simulator knows) for several
# logging seeds and candidates; the log is the same whatever the thread
# count; bad input (another config, a damaged model or log, a linear
# candidate) gives one line and a non-zero status.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
command -v jq >/dev/null || die "jq is not installed (scripts/test.sh installs it)"
SMOKE=$SOURCE_DIR/simulations/configs/smoke.ini
LOGGER=(--config "$SMOKE" --set policy.kind=epsilon_greedy --set run.log_interactions=true)

# ope_ok NAME ARGS...: fedcb ope ARGS --out $WORK/NAME.json must succeed.
ope_ok() {
    local name=$1
    shift
    run_fedcb "$name" ope "$@" --out "$WORK/$name.json"
    check_no_sanitizer_report ope "$@"
    [[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb ope $* exited with $RC"; }
}

# ope_fails NAME FRAGMENT ARGS...: fedcb ope ARGS must fail with one line
# on stderr that contains FRAGMENT.
ope_fails() {
    local name=$1 fragment=$2
    shift 2
    run_fedcb "$name" ope "$@"
    check_no_sanitizer_report ope "$@"
    [[ $RC -ne 0 ]] || die "$name: fedcb ope $* succeeded"
    [[ $(wc -l <"$RUN_ERR") -eq 1 ]] || die "$name: expected one line on stderr, got: $(cat "$RUN_ERR")"
    grep -qF -- "$fragment" "$RUN_ERR" || die "$name: stderr does not mention '$fragment': $(cat "$RUN_ERR")"
}

say "log epsilon-greedy decisions; train softmax candidates on the same worlds"
seeds=(1 2 3 4 5 6)
for seed in "${seeds[@]}"; do
    simulate_ok "$WORK/log-$seed" "${LOGGER[@]}" --set run.seed="$seed"
    simulate_ok "$WORK/model-$seed" --config "$SMOKE" --set run.seed="$seed"
done
interactions=$(summary_number "$WORK/log-1" interactions)
[[ $(zcat "$WORK/log-1/interactions.csv.gz" | wc -l) -eq $((interactions + 1)) ]] ||
    die "interactions.csv.gz should hold a header and one row per interaction ($interactions)"
cmp -s <(sha256sum <"$WORK/log-1/model.bin") <(printf '%s  -\n' "$(summary_sha "$WORK/log-1")") ||
    die "model.bin does not hash to summary.json's model_sha256"

say "the log does not depend on the thread count"
simulate_ok "$WORK/log-1-t1" "${LOGGER[@]}" --set run.seed=1 --threads 1
cmp -s "$WORK/log-1/interactions.csv.gz" "$WORK/log-1-t1/interactions.csv.gz" ||
    cmp -s <(zcat "$WORK/log-1/interactions.csv.gz") <(zcat "$WORK/log-1-t1/interactions.csv.gz") ||
    die "interactions.csv.gz differs between 1 and 2 threads"

say "the intervals cover the candidates' true values"
checks=0 covered=0
for seed in "${seeds[@]}"; do
    for candidate in "softmax" "greedy" "igw"; do
        name=ope-$seed-$candidate
        ope_ok "$name" "${LOGGER[@]}" --set run.seed="$seed" --log "$WORK/log-$seed" \
            --model "$WORK/model-$seed" --candidate "$candidate"
        truth=$(jq .true_value "$WORK/$name.json")
        for estimator in ips snips dr; do
            checks=$((checks + 1))
            if jq -e --argjson t "$truth" ".${estimator}.lower <= \$t and \$t <= .${estimator}.upper" \
                "$WORK/$name.json" >/dev/null; then
                covered=$((covered + 1))
            else
                say "not covered: $name $estimator $(jq -c ".${estimator}" "$WORK/$name.json"), true $truth"
            fi
        done
        # The candidate is far from the logger: the estimate must follow the
        # candidate, not echo the logged reward.
        jq -e '(.true_value - .logged_value) > 0.1' "$WORK/$name.json" >/dev/null ||
            die "$name: the candidate's true value is not clearly above the logger's; the check would be weak"
    done
done
say "$covered of $checks intervals cover the true value"
# 95% intervals: 54 checks, expected about 51; fewer than 48 means the
# estimates are biased or the intervals too narrow.
((covered >= 48)) || die "only $covered of $checks 95% intervals cover the true value"

say "--candidate-set changes the candidate"
ope_ok warm "${LOGGER[@]}" --set run.seed=1 --log "$WORK/log-1" --model "$WORK/model-1" --candidate softmax \
    --candidate-set temperature=1
jq -e '.candidate.temperature == 1' "$WORK/warm.json" >/dev/null || die "warm: $(jq -c .candidate "$WORK/warm.json")"
jq -e --slurpfile cold "$WORK/ope-1-softmax.json" '.true_value < $cold[0].true_value - 0.1' "$WORK/warm.json" \
    >/dev/null || die "softmax at temperature 1 should earn clearly less than at 0.05"

say "bad input"
ope_fails other-config "logged with another config" --config "$SMOKE" --set policy.kind=epsilon_greedy \
    --set run.seed=2 --log "$WORK/log-1" --candidate softmax
ope_fails linear "score-based" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/log-1" --candidate linucb
ope_fails bad-key "unknown key" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/log-1" --candidate softmax \
    --candidate-set tempreature=0.1
simulate_ok "$WORK/unlogged" --config "$SMOKE" --set policy.kind=epsilon_greedy --set run.seed=1
ope_fails no-log "interactions.csv.gz" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/unlogged" --candidate softmax
cp -r "$WORK/log-1" "$WORK/damaged"
printf 'x' >>"$WORK/damaged/model.bin"
ope_fails long-model "not a model of this config's shape" "${LOGGER[@]}" --set run.seed=1 \
    --log "$WORK/damaged" --candidate softmax
head -c 100 "$WORK/log-1/model.bin" >"$WORK/damaged/model.bin"
ope_fails short-model "model.bin" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/damaged" --candidate softmax
cp "$WORK/model-2/model.bin" "$WORK/damaged/model.bin"
ope_fails swapped-model "differs from model_sha256" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/damaged" \
    --candidate softmax
cp "$WORK/log-1/model.bin" "$WORK/damaged/model.bin"
zcat "$WORK/log-1/interactions.csv.gz" | sed '3s/,0\.[0-9]*,/,1.5,/' | gzip >"$WORK/damaged/interactions.csv.gz"
ope_fails bad-propensity "interactions.csv.gz:3: propensity 1.5" "${LOGGER[@]}" --set run.seed=1 \
    --log "$WORK/damaged" --candidate softmax
head -c 2000 "$WORK/log-1/interactions.csv.gz" >"$WORK/damaged/interactions.csv.gz"
ope_fails truncated-log "interactions.csv.gz" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/damaged" \
    --candidate softmax
zcat "$WORK/log-1/interactions.csv.gz" | sed '2s/^1,\([0-9]*\),0,/1,\1,100000,/' | gzip >"$WORK/damaged/interactions.csv.gz"
ope_fails bad-row "row 100000" "${LOGGER[@]}" --set run.seed=1 --log "$WORK/damaged" --candidate softmax
run_fedcb no-out simulate "${LOGGER[@]}"
[[ $RC -ne 0 ]] && grep -q "needs an output directory" "$RUN_ERR" ||
    die "simulate with run.log_interactions and no --out should fail: $(cat "$RUN_ERR")"
say "ok"
