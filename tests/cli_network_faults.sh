# Faults on real processes (plaintext on loopback):
#  1. a client killed with SIGKILL mid-run: its rounds complete on the
#     quorum (the missing update is counted) and the run finishes;
#  2. stragglers past the round timeout: their late updates are rejected as
#     stale and the client is told so;
#  3. the coordinator killed with SIGKILL after some rounds and restarted
#     on the same --state-dir, inside the preference stage: it resumes from
#     the checkpoint (reference model, DP clip norm and accountant
#     included), finishes, and
#     the whole run still equals `fedcb simulate` byte for byte; the same
#     with LinUCB forgetting by a discount (its own checkpoint section);
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

CONFIG=$CONFIGS/net_softmax.ini
IDS=(0 1 2 3 4 5 6 7)

# start_all NAME ARGS...: a coordinator and the 8 clients; CLIENT_PIDS.
# The --set options in ARGS go to the clients too.
start_all() {
    local name=$1
    shift
    start_coordinator "$name-coord" --config "$CONFIG" --insecure "$@"
    local sets=() i id
    for ((i = 1; i <= $#; i++)); do
        if [[ ${!i} == --set ]]; then
            local j=$((i + 1))
            sets+=(--set "${!j}")
        fi
    done
    CLIENT_PIDS=()
    for id in "${IDS[@]}"; do
        start_client "$name-client$id" "$id" --config "$CONFIG" --coordinator "127.0.0.1:$PORT" --insecure \
            "${sets[@]}"
        CLIENT_PIDS+=("$CLIENT_PID")
    done
}

say "1a. a client killed mid-round: the round completes on the quorum"
# Stragglers wait 2 s before sending (inside the 4 s timeout): the first one
# seen is killed while it holds its computed update.
start_all kill --set run.rounds=10 --set clients.straggler_fraction=0.15 --set clients.straggler_delay=2 \
    --set network.round_timeout=4 --set network.quorum=0.5 --out "$WORK/kill"
coord=$COORD_PID
victim=""
i=0
while [[ -z $victim ]] && ((i++ < 600)); do
    for id in "${IDS[@]}"; do
        if grep -q 'simulated straggler' "$WORK/kill-client$id.err" 2>/dev/null; then
            victim=$id
            break
        fi
    done
    [[ -n $victim ]] || sleep 0.1
done
[[ -n $victim ]] || die "no client became a straggler within 60 s"
kill -9 "${CLIENT_PIDS[$victim]}"
wait_exit "$coord" 300 kill-coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/kill-coord.err" >&2; die "coordinator exited with $EXIT_STATUS"; }
[[ $(wc -l <"$WORK/kill/metrics.jsonl") -eq 10 ]] || die "the run did not record 10 rounds"
grep -q '"missing":' "$WORK/kill/metrics.jsonl" || die "no round counted the killed client's missing update"
grep -q 'some sampled clients missing' "$WORK/kill-coord.err" || die "the coordinator did not log a round on quorum"
no_sanitizer_report "$WORK"/kill-*.err
say "   client $victim killed mid-round; $(grep -c '"missing":' "$WORK/kill/metrics.jsonl") rounds completed on quorum"

say "1b. a client gone with quorum 1: the round times out and is sampled again"
IDS=(0 1 3 4 5 6 7)
start_all resample --set run.rounds=3 --set network.round_timeout=0.5 --set network.quorum=1 \
    --set network.max_attempts=60 --set network.min_clients=7 --out "$WORK/resample"
coord=$COORD_PID
wait_exit "$coord" 300 resample-coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/resample-coord.err" >&2; die "coordinator exited with $EXIT_STATUS"; }
grep -q 'sampling again' "$WORK/resample-coord.err" || die "no round was sampled again"
! grep -q '"missing":' "$WORK/resample/metrics.jsonl" || die "a round completed without its quorum"
no_sanitizer_report "$WORK"/resample-*.err
say "   $(grep -c 'sampling again' "$WORK/resample-coord.err") re-samples; every completed round had all its clients"
IDS=(0 1 2 3 4 5 6 7)

say "2. stragglers past the round timeout"
start_all slow --set clients.straggler_fraction=0.3 --set clients.straggler_delay=4 \
    --set network.round_timeout=2 --set network.quorum=0.5 --out "$WORK/slow"
coord=$COORD_PID
wait_exit "$coord" 300 slow-coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/slow-coord.err" >&2; die "coordinator exited with $EXIT_STATUS"; }
grep -q 'is stale' "$WORK/slow-coord.err" || die "the coordinator rejected no late update as stale"
cat "$WORK"/slow-client*.err | grep -q 'update refused: .*stale' || die "no straggler was told its update is stale"
no_sanitizer_report "$WORK"/slow-*.err
say "   $(grep -c 'is stale' "$WORK/slow-coord.err") late updates rejected as stale"

# resume_and_compare NAME --state-dir DIR SETS...: restarts the coordinator of
# run NAME (killed by the caller) on the same port and state directory; it must
# resume, finish with its clients, and give the same run as $WORK/NAME-sim.
resume_and_compare() {
    local name=$1 id coord
    shift
    LISTEN_PORT=$PORT start_coordinator "${name}2-coord" --config "$CONFIG" --insecure --out "$WORK/$name" "$@"
    coord=$COORD_PID
    grep -q "resuming after round" "$WORK/${name}2-coord.err" || die "the restarted coordinator did not resume ($name)"
    wait_exit "$coord" 300 "${name}2-coord"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/${name}2-coord.err" >&2; die "restarted coordinator exited with $EXIT_STATUS"; }
    for id in "${IDS[@]}"; do
        wait_exit "${CLIENT_PIDS[$id]}" 60 "$name-client$id"
        [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/$name-client$id.err" >&2; die "client $id exited with $EXIT_STATUS"; }
    done
    no_sanitizer_report "$WORK"/"$name"*.err
    same_run "$WORK/$name-sim" "$WORK/$name"
    say "   $(grep -o 'resuming after round [0-9]*' "$WORK/${name}2-coord.err"); the finished run equals simulate"
}

say "3. the coordinator killed with SIGKILL and restarted"
# Stragglers 0.5 s late (in time for both the simulated 1 s deadline and the
# real timeout) slow the rounds down enough to kill the coordinator mid-run.
# Two bandit rounds, then ten preference rounds: the kill falls in the
# preference stage, so the frozen reference must come back from the
# checkpoint; with DP-FedAvg and adaptive clipping, so must the clip norm and
# the privacy accountant.
SLOW=(--set run.rounds=2 --set preference.rounds=10 --set preference.learning_rate=0.1
      --set dp.enabled=true --set dp.noise_multiplier=0.5 --set dp.adaptive=true
      --set dp.clipped_count_stddev=1 --set clients.straggler_fraction=0.2 --set clients.straggler_delay=0.5)
simulate_ok "$WORK/resume-sim" --config "$CONFIG" "${SLOW[@]}"
start_all resume "${SLOW[@]}" --state-dir "$WORK/state" --out "$WORK/resume"
wait_rounds "$WORK/resume" 3 120
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
done_before=$(wc -l <"$WORK/resume/metrics.jsonl")
say "   killed after $done_before rounds; checkpoints: $(ls "$WORK/state" | tr '\n' ' ')"
sleep 1
resume_and_compare resume --state-dir "$WORK/state" "${SLOW[@]}"
say "3b. LinUCB forgetting by a discount: the restarted coordinator resumes A~ and the deployed A~"
FORGET=(--set run.rounds=12 --set policy.kind=linucb --set policy.forgetting=discount --set policy.discount=0.9
        --set clients.straggler_fraction=0.2 --set clients.straggler_delay=0.5)
simulate_ok "$WORK/forget-sim" --config "$CONFIG" "${FORGET[@]}"
start_all forget "${FORGET[@]}" --state-dir "$WORK/forget-state" --out "$WORK/forget"
wait_rounds "$WORK/forget" 4 120
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
sleep 1
resume_and_compare forget --state-dir "$WORK/forget-state" "${FORGET[@]}"
say "4. SIGTERM and SIGINT shut down cleanly"
start_coordinator term-coord --config "$CONFIG" --insecure --state-dir "$WORK/term-state"
coord=$COORD_PID
start_client term-client 0 --config "$CONFIG" --coordinator "127.0.0.1:$PORT" --insecure
client=$CLIENT_PID
sleep 2
kill -INT "$client"
wait_exit "$client" 60 term-client
[[ $EXIT_STATUS -eq 1 ]] || die "client after SIGINT exited with $EXIT_STATUS, expected 1"
grep -q "interrupted" "$WORK/term-client.err" || die "client after SIGINT: $(tail -1 "$WORK/term-client.err")"
kill -TERM "$coord"
wait_exit "$coord" 60 term-coord
[[ $EXIT_STATUS -eq 1 ]] || die "coordinator after SIGTERM exited with $EXIT_STATUS, expected 1"
grep -q "interrupted after round 0" "$WORK/term-coord.err" || die "coordinator after SIGTERM: $(tail -1 "$WORK/term-coord.err")"
no_sanitizer_report "$WORK"/term-*.err
say "   $(tail -1 "$WORK/term-coord.err")"
say "PASS"
