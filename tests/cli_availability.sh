# Real availability in a deployment where clients own their data
# (plaintext on loopback): clients join and leave while the run goes on.
#  - two of three clients connect: rounds sample among the two connected
#    (network.min_clients = 2), not the three configured;
#  - the third joins later and is sampled from then on;
#  - one is killed with SIGKILL: the rounds it was sampled in close at
#    quorum at their deadline and metrics.jsonl names it in missing_ids;
#    once it has been silent past the connected window it is no longer
#    sampled; the run finishes with the two that remain.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

WORLD=$CONFIGS/deploy_world.ini
REAL=$CONFIGS/deploy_real.ini
METRICS=$WORK/out/metrics.jsonl

run_fedcb partition partition --config "$WORLD" --out "$WORK/shards"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb partition failed"; }

# every_round SELECT TEST: at least one line of metrics.jsonl satisfies the
# jq filter SELECT, and every such line satisfies TEST.
every_round() {
    jq -s -e "map(select($1)) | length > 0 and all($2)" "$METRICS" >/dev/null
}

# wait_for_line JQ SECONDS WHAT: waits until a line of metrics.jsonl
# satisfies the jq filter JQ.
wait_for_line() {
    local filter=$1 seconds=$2 what=$3 i
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -f $METRICS ]] && jq -e "select($filter)" "$METRICS" 2>/dev/null | grep -q . && return 0
        kill -0 "$COORD_PID" 2>/dev/null || { tail -5 "$WORK/coord.err" >&2; die "the coordinator exited early"; }
        sleep 0.1
    done
    die "no round $what within $seconds s"
}

start_coordinator coord --config "$REAL" --insecure --out "$WORK/out" --set run.rounds=1000 \
    --set network.min_clients=2 --set network.quorum=0.5 --set network.round_timeout=2
coord=$COORD_PID
pids=()
for i in 0 1 2; do
    start_client "client$i" "$i" --coordinator "127.0.0.1:$PORT" --insecure --data "$WORK/shards/client-$i.vw"
    pids+=("$CLIENT_PID")
    # Client 2 joins only after some rounds of the first two.
    [[ $i -eq 1 ]] && wait_for_line '.round >= 3' 120 "with clients 0 and 1"
done

say "clients 0 and 1 connected, then client 2 joins"
every_round '.round <= 3' '.sampled_ids == [0,1]' ||
    die "the first rounds did not sample just the two connected clients: $(head -3 "$METRICS")"
wait_for_line '.sampled_ids == [0,1,2]' 120 "sampled client 2 after it joined"
joined=$(jq -s 'map(select(.sampled_ids == [0,1,2]))[0].round' "$METRICS")
say "   rounds 1-3 sampled [0,1]; client 2 first sampled in round $joined"

say "client 1 killed with SIGKILL"
kill -9 "${pids[1]}"
killed_after=$(wc -l <"$METRICS")
wait_exit "$coord" 300 coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/coord.err" >&2; die "the coordinator exited with $EXIT_STATUS"; }
[[ $(wc -l <"$METRICS") -eq 1000 ]] || die "the run did not record 1000 rounds"
for i in 0 2; do
    wait_exit "${pids[$i]}" 60 "client$i"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/client$i.err" >&2; die "client $i exited with $EXIT_STATUS"; }
done
no_sanitizer_report "$WORK"/coord.err "$WORK"/client0.err "$WORK"/client2.err

missing=$(jq -s 'map(select(.missing_ids == [1])) | length' "$METRICS")
[[ $missing -ge 1 ]] || die "no round named client 1 in missing_ids"
every_round '.missing_ids == [1]' '.answered_ids == [0,2] and .missing == 1' ||
    die "a round that missed client 1 does not say that 0 and 2 answered"
grep -q 'some sampled clients missing: 1)' "$WORK/coord.err" || die "the coordinator did not log the missing client"
last_missing=$(jq -s 'map(select(.missing_ids == [1]))[-1].round' "$METRICS")
after=$(jq -s --argjson r "$last_missing" 'map(select(.round > $r)) | length' "$METRICS")
[[ $after -ge 1 ]] || die "no round ran after client 1 was last missed"
every_round ".round > $last_missing" '.sampled_ids == [0,2] and .missing_ids == []' ||
    die "client 1 was still sampled after it had gone"
say "   killed after $killed_after rounds; $missing rounds closed at quorum naming client 1 missing;"
say "   the $after rounds after round $last_missing sampled [0,2] only"
say "PASS"
