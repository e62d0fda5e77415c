# The threaded parts of fedcb under ThreadSanitizer (a FEDCB_TSAN build;
# scripts/test.sh runs it with `ctest -L tsan`): simulate's worker pool with
# 4 threads (each policy family, preference rounds, an attack, interaction
# logs) giving the same run as 1 thread, a bench running 2 cells at once,
# and a coordinator (its server thread and gRPC's) with 3 clients over
# mutual TLS giving the same run as simulate, then SIGTERM and SIGINT (the
# stop flag a signal handler sets and another thread polls). The embeddable
# agent's threads are covered by test_agent*, test_net_coordinator and
# cli_agent_federation under the same label. Any report fails: TSAN_OPTIONS
# has halt_on_error=1 (exit status 66), and the logs are searched as well.
# Not named cli_*.sh: it is registered only in a FEDCB_TSAN build
# (tests/tsan.cmake).
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

[[ ${TSAN_OPTIONS:-} == *halt_on_error=1* ]] || die "TSAN_OPTIONS must hold halt_on_error=1 (it is '${TSAN_OPTIONS:-}')"
nm "$FEDCB" | grep -q __tsan_init || die "$FEDCB is not built with ThreadSanitizer (cmake -DFEDCB_TSAN=ON)"

# threads_same NAME ARGS...: simulate with 4 worker threads and with 1 gives
# the same metrics.jsonl and model (run.wall_clock = false).
threads_same() {
    local name=$1
    shift
    simulate_ok "$WORK/$name-t4" "$@" --set run.wall_clock=false --threads 4
    simulate_ok "$WORK/$name-t1" "$@" --set run.wall_clock=false --threads 1
    same_run "$WORK/$name-t1" "$WORK/$name-t4"
    say "simulate $name: 4 threads = 1 thread ($(summary_sha "$WORK/$name-t4" | cut -c1-12))"
}

SMOKE=$SOURCE_DIR/simulations/configs/smoke.ini
threads_same softmax --config "$SMOKE" --set run.rounds=6
threads_same thompson --config "$SMOKE" --set run.rounds=2 --set policy.kind=thompson
threads_same linucb-logs --config "$SMOKE" --set run.rounds=4 --set policy.kind=linucb \
    --set run.log_interactions=true --set run.log_vw=true
threads_same mlp --config "$CONFIGS/tiny_mlp_egreedy.ini"
threads_same preference --config "$CONFIGS/tiny_softmax.ini" --set scenario.kind=init --set run.rounds=2 \
    --set preference.rounds=3 --set preference.learning_rate=0.1
threads_same attack --config "$SMOKE" --set run.rounds=4 --set malicious.kind=sign_flip \
    --set malicious.fraction=0.2 --set aggregation.kind=median

run_fedcb bench bench --suite "$SOURCE_DIR/tests/suites/tiny.ini" --seeds 1 --out "$WORK/bench" --jobs 2
no_sanitizer_report "$RUN_ERR"
[[ $RC -eq 0 ]] || { tail -5 "$RUN_ERR" >&2; die "fedcb bench --jobs 2 exited with $RC"; }
say "bench: $(($(wc -l <"$WORK/bench/results.csv") - 1)) cells, 2 at a time"

CONFIG=$CONFIGS/net_softmax.ini
NET=(--config "$CONFIG" --set clients.num_clients=3 --set clients.clients_per_round=3 --set run.rounds=3)
make_certs "$WORK/tls" 3
simulate_ok "$WORK/net-sim" "${NET[@]}"
start_coordinator net-coord "${NET[@]}" --tls-dir "$WORK/tls" --out "$WORK/net" --state-dir "$WORK/net-state"
coord=$COORD_PID
pids=()
for id in 0 1 2; do
    start_client "net-client$id" "$id" "${NET[@]}" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls"
    pids+=("$CLIENT_PID")
done
wait_exit "$coord" 300 net-coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -40 "$WORK/net-coord.err" >&2; die "coordinator exited with $EXIT_STATUS"; }
for id in 0 1 2; do
    wait_exit "${pids[$id]}" 120 "net-client$id"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -40 "$WORK/net-client$id.err" >&2; die "client $id exited with $EXIT_STATUS"; }
done
no_sanitizer_report "$WORK"/net-*.err
same_run "$WORK/net-sim" "$WORK/net"
say "networked run (coordinator and 3 clients, mutual TLS) = simulate"

start_coordinator term-coord "${NET[@]}" --insecure --state-dir "$WORK/term-state"
coord=$COORD_PID
start_client term-client 0 "${NET[@]}" --coordinator "127.0.0.1:$PORT" --insecure
client=$CLIENT_PID
sleep 2
kill -INT "$client"
wait_exit "$client" 60 term-client
[[ $EXIT_STATUS -eq 1 ]] || { tail -40 "$WORK/term-client.err" >&2; die "client after SIGINT exited with $EXIT_STATUS, expected 1"; }
kill -TERM "$coord"
wait_exit "$coord" 60 term-coord
[[ $EXIT_STATUS -eq 1 ]] || { tail -40 "$WORK/term-coord.err" >&2; die "coordinator after SIGTERM exited with $EXIT_STATUS, expected 1"; }
no_sanitizer_report "$WORK"/term-*.err
say "SIGINT and SIGTERM: $(tail -1 "$WORK/term-coord.err")"
say "PASS"
