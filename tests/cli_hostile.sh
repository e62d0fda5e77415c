# Hostile connections against a coordinator serving mutual TLS on
# 127.0.0.1, while its 8 honest clients run the 6 rounds of net_softmax.ini:
#  - 500 TCP connections that never speak (each one the coordinator closes
#    is opened again, for 30 s), 5 that send half a TLS ClientHello and
#    stall, and 2 x 25 that send 2 KiB of random bytes;
#  - a peer holding a real client certificate (client 3's, of the test CA)
#    that sends garbage to every method, a SubmitUpdate over the run's
#    message limit, a well-formed update for round 1 after round 1 closed
#    (a replay), and that registers and opens a SubmitUpdate call whose
#    message never comes.
# Every call of the certified peer is refused with one coordinator log line
# naming its address and certificate and the reason (the stalled call after
# network.round_timeout, 10 s here); the raw connections are closed by the
# coordinator (the handshake timeout, or TLS refusing the bytes); the run
# finishes with the metrics.jsonl and model_sha256 of `fedcb simulate`.
# Rounds wait for all 8 clients (network.min_clients=8): client 7 starts
# only once the stalled call was refused, so the rounds run while the raw
# connections are held. The hostile peer is tests/hostile_peer.c
# (FEDCB_HOSTILE_PEER, set by ctest). No timing is asserted; the waits are
# hang guards.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

PEER=${FEDCB_HOSTILE_PEER:-}
[[ -x $PEER ]] || die "FEDCB_HOSTILE_PEER ('$PEER') is not the tests/hostile_peer binary"
CONFIG=$CONFIGS/net_softmax.ini
make_certs "$WORK/tls" 8
simulate_ok "$WORK/sim" --config "$CONFIG"
HASH=$(sed -n 's/^[[:space:]]*"config_hash":[[:space:]]*"\([0-9a-f]\{64\}\)".*$/\1/p' "$WORK/sim/summary.json")
[[ -n $HASH ]] || die "$WORK/sim/summary.json has no config_hash"

start_coordinator coord --config "$CONFIG" --tls-dir "$WORK/tls" --out "$WORK/net" --state-dir "$WORK/state" \
    --set network.min_clients=8 --set network.round_timeout=10
COORD=$COORD_PID
LOG=$WORK/coord.err

# hostile NAME ARGS...: the hostile peer in the background; HOSTILE_PID.
hostile() {
    local name=$1
    shift
    "$PEER" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    HOSTILE_PID=$!
    NET_PIDS+=("$HOSTILE_PID")
}

# hostile_done NAME PID: the peer ended within 120 s with status 0.
hostile_done() {
    wait_exit "$2" 120 "$1"
    [[ $EXIT_STATUS -eq 0 ]] || { cat "$WORK/$1.out" "$WORK/$1.err" >&2; die "hostile peer $1 exited with $EXIT_STATUS"; }
    say "$(cat "$WORK/$1.out")"
}

# logged TEXT: the coordinator logged a line with TEXT; prints it.
logged() {
    local line
    line=$(grep -m1 -F -- "$1" "$LOG") || { tail -20 "$LOG" >&2; die "the coordinator did not log '$1'"; }
    say "   ${line#* fedcb }"
}

hostile idle idle "$PORT" 500 30
IDLE=$HOSTILE_PID
hostile half-hello half-hello "$PORT" 5 30
HALF=$HOSTILE_PID
hostile random1 random "$PORT" 25
RANDOM1=$HOSTILE_PID
CLIENTS=()
for id in 0 1 2 3 4 5 6; do
    start_client "client$id" "$id" --config "$CONFIG" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls"
    CLIENTS+=("$CLIENT_PID")
done
hostile stall stall "$PORT" "$WORK/tls" 3 "$HASH" 15
STALL=$HOSTILE_PID
hostile garbage garbage "$PORT" "$WORK/tls" 3 "$HASH"
hostile_done garbage "$HOSTILE_PID"
hostile oversized oversized "$PORT" "$WORK/tls" 3 "$HASH"
hostile_done oversized "$HOSTILE_PID"
say "waiting for the stalled call to be refused (network.round_timeout = 10 s)"
for ((i = 0; i < 600; i++)); do
    grep -q 'did not arrive within' "$LOG" && break
    sleep 0.1
done

say "client 7 joins: the rounds run, with the raw connections held"
start_client client7 7 --config "$CONFIG" --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls"
CLIENTS+=("$CLIENT_PID")
hostile replay replay "$PORT" "$WORK/tls" 3 "$HASH"
REPLAY=$HOSTILE_PID
hostile random2 random "$PORT" 25
RANDOM2=$HOSTILE_PID

wait_exit "$COORD" 120 coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$LOG" >&2; die "coordinator exited with $EXIT_STATUS"; }
for id in 0 1 2 3 4 5 6 7; do
    wait_exit "${CLIENTS[$id]}" 60 "client$id"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/client$id.err" >&2; die "client $id exited with $EXIT_STATUS"; }
done
same_run "$WORK/sim" "$WORK/net"
say "identical to simulate: $(summary_sha "$WORK/net")"

hostile_done stall "$STALL"
hostile_done replay "$REPLAY"
hostile_done random1 "$RANDOM1"
hostile_done random2 "$RANDOM2"
hostile_done idle "$IDLE"
hostile_done half-hello "$HALF"
grep -q 'unexpected=0' "$WORK/garbage.out" && grep -q 'refused=4' "$WORK/garbage.out" ||
    die "garbage: $(cat "$WORK/garbage.out")"
for name in oversized replay random1 random2 idle half-hello; do
    grep -q 'unexpected=0' "$WORK/$name.out" || die "$name: $(cat "$WORK/$name.out")"
done
grep -q ' 0 closed' "$WORK/idle.out" && die "no silent connection was closed by the handshake timeout: $(cat "$WORK/idle.out")"

certified='from ipv4:127.0.0.1:'
for method in RegisterClient GetTask SubmitUpdate Status; do
    n=$(grep -c "$method $certified[0-9]* (certificate fedcb-client-3) refused: $method: not a" "$LOG") || true
    [[ $n -eq 1 ]] || die "garbage $method: $n coordinator lines naming the peer, not 1"
done
logged "(certificate fedcb-client-3) refused: RegisterClient: not a RegisterRequest"
logged "(certificate fedcb-client-3) refused: the request message did not arrive: larger than the"
logged "(certificate fedcb-client-3) refused: its request message did not arrive within 10.0 s; call cancelled"
logged "(certificate fedcb-client-3) refused: update from client 3 for round 1 is stale"
no_sanitizer_report "$WORK"/*.err
say "PASS"
