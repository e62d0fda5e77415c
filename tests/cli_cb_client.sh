# Clients that train on bandit logs another program wrote: a uniform-random
# logging policy (fedcb simulate with run.log_vw, standing for an
# application's logger) writes each client's decisions in Vowpal Wabbit's
# contextual-bandit format. The first half of every client's log is its own
# training data in a real deployment (the coordinator holds no data); the
# second halves, pooled, are held out. `fedcb ope --vw-log` on the held-out
# log must find the aggregated model's greedy policy better than the
# logger: the 95% interval of its IPS value lies above the logged mean
# reward, for the chosen-action loss and for the importance-weighted and
# doubly robust options.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

say "the logging program"
simulate_ok "$WORK/logger" --config "$CONFIGS/cb_logger.ini"
for i in 0 1 2; do
    log=$WORK/logger/logs/client-$i.vw
    [[ $(wc -l <"$log") -eq 2000 ]] || die "client $i's log has $(wc -l <"$log") lines, not 2000"
    head -n 1000 "$log" >"$WORK/train-$i.vw"
    tail -n +1001 "$log" >>"$WORK/heldout.vw"
done
grep -q -E '^[1-5]:[01]:0.200000003 \| 1:' "$WORK/train-0.vw" || die "the log is not in VW's cb format: $(head -c 80 "$WORK/train-0.vw")"

for loss in chosen_squared importance_squared doubly_robust; do
    start_coordinator "$loss-coord" --config "$CONFIGS/cb_real.ini" --set "train.loss=$loss" --insecure \
        --out "$WORK/$loss"
    coord=$COORD_PID
    pids=()
    for i in 0 1 2; do
        start_client "$loss-client$i" "$i" --coordinator "127.0.0.1:$PORT" --insecure --data "$WORK/train-$i.vw"
        pids+=("$CLIENT_PID")
    done
    wait_exit "$coord" 120 "$loss-coord"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/$loss-coord.err" >&2; die "$loss: coordinator exited with $EXIT_STATUS"; }
    for i in 0 1 2; do
        wait_exit "${pids[$i]}" 60 "$loss-client$i"
        [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/$loss-client$i.err" >&2; die "$loss: client $i exited with $EXIT_STATUS"; }
        grep -q "replaying the 1000 logged decisions" "$WORK/$loss-client$i.err" || die "$loss: client $i did not replay its log"
    done
    no_sanitizer_report "$WORK/$loss"-*.err
    run_fedcb "ope-$loss" ope --config "$CONFIGS/cb_real.ini" --vw-log "$WORK/heldout.vw" \
        --model "$WORK/$loss/model.bin" --candidate greedy --out "$WORK/ope-$loss.json"
    [[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "$loss: fedcb ope failed"; }
    read -r logged value lower < <(jq -r '"\(.logged_value) \(.ips.value) \(.ips.lower)"' "$WORK/ope-$loss.json")
    say "$loss: greedy IPS $value (95% lower $lower) on 3000 held-out decisions; logger $logged"
    awk -v l="$lower" -v g="$logged" 'BEGIN { exit !(l > g) }' ||
        die "$loss: the aggregated model is not shown better than the logger"
done
say "PASS"
