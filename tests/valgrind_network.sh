# A coordinator and 3 clients over mutual TLS, every process under valgrind
# (memcheck, full leak check; gRPC's known one-time allocations suppressed by
# tests/valgrind/grpc-c.supp), plus a client whose certificate names another
# client id, refused by the coordinator; then the same for a real deployment
# (a coordinator without data, clients with their own files) with a client
# whose certificate another CA signed. Any memory error or leak fails (for
# the two refused clients: any definite or indirect leak).
# Usage: bash tests/valgrind_network.sh <fedcb built without sanitizers> <source-dir>
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"
command -v valgrind >/dev/null || die "valgrind is not installed"

CONFIG=$CONFIGS/net_softmax.ini
# Every round samples all three clients, so none joins the run late and is
# told it is over while its first call is still in flight.
SETS=(--set clients.num_clients=3 --set clients.clients_per_round=3 --set run.rounds=3)
make_certs "$WORK/tls" 3
mkdir -p "$WORK/wrong-id"
cp "$WORK/tls/ca.crt" "$WORK/wrong-id/ca.crt"
cp "$WORK/tls/client-1.crt" "$WORK/wrong-id/client-2.crt"
cp "$WORK/tls/client-1.key" "$WORK/wrong-id/client-2.key"

REAL_FEDCB=$FEDCB
# under_valgrind FILE LEAK_KINDS: a wrapper that runs fedcb under memcheck and
# fails (exit 99) on any memory error or on a leak of those kinds.
under_valgrind() {
    cat >"$1" <<SH
#!/usr/bin/env bash
exec valgrind -q --leak-check=full --show-leak-kinds=$2 \\
    --errors-for-leak-kinds=$2 --error-exitcode=99 --num-callers=40 \\
    --suppressions="$SOURCE_DIR/tests/valgrind/grpc-c.supp" "$REAL_FEDCB" "\$@"
SH
    chmod +x "$1"
}
under_valgrind "$WORK/fedcb-under-valgrind" definite,indirect,possible
# A client refused during its handshake exits while gRPC's subchannel still
# holds its handshake state (auth context, channel, backoff timer): a few KB
# that memcheck may see as "possibly lost", depending on how far gRPC's own
# threads got before exit (also with grpc_shutdown_blocking). For the refused
# clients only definite and indirect leaks count; every memory error does.
under_valgrind "$WORK/fedcb-refused-under-valgrind" definite,indirect
FEDCB=$WORK/fedcb-under-valgrind

start_coordinator coord --config "$CONFIG" "${SETS[@]}" --tls-dir "$WORK/tls" --out "$WORK/net"
coord=$COORD_PID
# The refused client goes first: once the honest clients have run their 3
# rounds the coordinator exits, and a refused client still starting under
# valgrind would find nobody listening.
FEDCB=$WORK/fedcb-refused-under-valgrind
start_client impostor 2 --config "$CONFIG" "${SETS[@]}" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/wrong-id"
impostor=$CLIENT_PID
FEDCB=$WORK/fedcb-under-valgrind
wait_exit "$impostor" 300 impostor
[[ $EXIT_STATUS -eq 1 ]] || { cat "$WORK/impostor.err" >&2; die "the impostor exited with $EXIT_STATUS, expected 1"; }
grep -q "does not name client 2" "$WORK/impostor.err" || die "impostor: $(tail -1 "$WORK/impostor.err")"
pids=()
for id in 0 1 2; do
    start_client "client$id" "$id" --config "$CONFIG" "${SETS[@]}" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls"
    pids+=("$CLIENT_PID")
done
wait_exit "$coord" 600 coord
[[ $EXIT_STATUS -eq 0 ]] || { cat "$WORK/coord.err" >&2; die "coordinator under valgrind exited with $EXIT_STATUS"; }
for id in 0 1 2; do
    wait_exit "${pids[$id]}" 300 "client$id"
    [[ $EXIT_STATUS -eq 0 ]] || { cat "$WORK/client$id.err" >&2; die "client $id under valgrind exited with $EXIT_STATUS"; }
done
for log in coord client0 client1 client2 impostor; do
    if grep -q '^==[0-9]*==' "$WORK/$log.err"; then
        grep '^==[0-9]*==' "$WORK/$log.err" | head -40 >&2
        die "valgrind reported on $log"
    fi
done
[[ $(wc -l <"$WORK/net/metrics.jsonl") -eq 3 ]] || die "the run under valgrind did not complete 3 rounds"
say "coordinator, 3 clients and a refused impostor: no valgrind errors or leaks"

"$REAL_FEDCB" partition --config "$CONFIGS/deploy_world.ini" --out "$WORK/shards" >/dev/null || die "fedcb partition failed"
make_certs "$WORK/rogue" 3
mkdir -p "$WORK/foreign"
cp "$WORK/tls/ca.crt" "$WORK/rogue/client-1.crt" "$WORK/rogue/client-1.key" "$WORK/foreign/"
start_coordinator real-coord --config "$CONFIGS/deploy_real.ini" --set run.rounds=3 --tls-dir "$WORK/tls" \
    --out "$WORK/real" --eval-data "$WORK/shards/test.vw"
coord=$COORD_PID
FEDCB=$WORK/fedcb-refused-under-valgrind
start_client foreign 1 --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/foreign" --data "$WORK/shards/client-1.vw"
FEDCB=$WORK/fedcb-under-valgrind
wait_exit "$CLIENT_PID" 300 foreign
[[ $EXIT_STATUS -eq 1 ]] || { cat "$WORK/foreign.err" >&2; die "the foreign client exited with $EXIT_STATUS, expected 1"; }
grep -q "refused this client's certificate" "$WORK/foreign.err" || die "foreign: $(tail -1 "$WORK/foreign.err")"
pids=()
for id in 0 1 2; do
    start_client "real-client$id" "$id" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls" \
        --data "$WORK/shards/client-$id.vw"
    pids+=("$CLIENT_PID")
done
wait_exit "$coord" 600 real-coord
[[ $EXIT_STATUS -eq 0 ]] || { cat "$WORK/real-coord.err" >&2; die "real coordinator under valgrind exited with $EXIT_STATUS"; }
for id in 0 1 2; do
    wait_exit "${pids[$id]}" 300 "real-client$id"
    [[ $EXIT_STATUS -eq 0 ]] || { cat "$WORK/real-client$id.err" >&2; die "real client $id exited with $EXIT_STATUS"; }
done
for log in real-coord real-client0 real-client1 real-client2 foreign; do
    if grep -q '^==[0-9]*==' "$WORK/$log.err"; then
        grep '^==[0-9]*==' "$WORK/$log.err" | head -40 >&2
        die "valgrind reported on $log"
    fi
done
[[ $(wc -l <"$WORK/real/metrics.jsonl") -eq 3 ]] || die "the real deployment under valgrind did not complete 3 rounds"
say "a coordinator without data, 3 clients with their own files and a refused foreign client: no valgrind errors or leaks"
say "PASS"
