# Every fault a user can make when connecting a client, and when starting a
# second coordinator, gives its own one-line cause, at once (well before
# --give-up, which is 60 s here): the client exits 1 (2 for bad usage) with
# a line naming the cause, and docs/deploy.md's troubleshooting table shows
# that line. Loopback only; the coordinator serves mutual TLS
# on every local address (0.0.0.0), its certificate naming localhost,
# 127.0.0.1 and ::1.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

REAL=$CONFIGS/deploy_real.ini
make_certs "$WORK/tls" 3
make_certs "$WORK/rogue" 3
printf '1 | 1:0.5\n' >"$WORK/data.vw"

LISTEN_HOST=0.0.0.0 start_coordinator coord --config "$REAL" --tls-dir "$WORK/tls" --state-dir "$WORK/state" \
    --set network.min_clients=3 --set run.rounds=1 --set network.linger=0
LISTENING=$PORT
FIRST_COORD=$COORD_PID

# fault NAME EXPECTED_STATUS TEXT CLIENT_ARGS...: a client run must end
# within 20 s with EXPECTED_STATUS and a last stderr line 'fedcb: ...TEXT...'.
fault() {
    local name=$1 status=$2 text=$3
    shift 3
    start_client "$name" 0 --data "$WORK/data.vw" --give-up 60 "$@"
    wait_exit "$CLIENT_PID" 20 "$name"
    [[ $EXIT_STATUS -eq $status ]] || { cat "$WORK/$name.err" >&2; die "$name: exit status $EXIT_STATUS, not $status"; }
    local line
    line=$(tail -1 "$WORK/$name.err")
    [[ $line == 'fedcb: '* && $line == *"$text"* ]] || die "$name: last line '$line' does not say '$text'"
    no_sanitizer_report "$WORK/$name.err"
    in_docs "$text"
    say "$name: $line"
}

# in_docs TEXT: the deployment guide's troubleshooting shows the line.
in_docs() {
    grep -qF -- "$1" "$SOURCE_DIR/docs/deploy.md" || die "docs/deploy.md does not show the line with '$1'"
}

fault no-port 2 "has no port; write HOST:PORT" --coordinator localhost --tls-dir "$WORK/tls"
fault dns-typo 1 "unreachable: cannot resolve 'coordinater.invalid'" --coordinator "coordinater.invalid:$LISTENING" \
    --tls-dir "$WORK/tls"
CLOSED=1 # tcpmux: nothing listens there on a test machine
start_client refused 0 --data "$WORK/data.vw" --give-up 2 --coordinator "127.0.0.1:$CLOSED" --tls-dir "$WORK/tls"
wait_exit "$CLIENT_PID" 20 refused
[[ $EXIT_STATUS -eq 1 ]] || die "refused: exit status $EXIT_STATUS"
grep -q "unreachable: connection refused by 127.0.0.1:$CLOSED" "$WORK/refused.err" ||
    die "refused: no early 'connection refused' line: $(head -1 "$WORK/refused.err")"
tail -1 "$WORK/refused.err" | grep -q "gave up after 2 s: .*connection refused" ||
    die "refused: last line: $(tail -1 "$WORK/refused.err")"
say "refused: $(head -1 "$WORK/refused.err" )"
fault name-mismatch 1 "TLS: the coordinator's certificate does not name '" --coordinator "127.0.0.2:$LISTENING" \
    --tls-dir "$WORK/tls"

mkdir -p "$WORK/other-ca" "$WORK/foreign-cert"
cp "$WORK/rogue/ca.crt" "$WORK/tls/client-0.crt" "$WORK/tls/client-0.key" "$WORK/other-ca/"
fault unknown-ca 1 "TLS: the coordinator's certificate is not signed by the CA in ca.crt" --coordinator "127.0.0.1:$LISTENING" --tls-dir "$WORK/other-ca"
cp "$WORK/tls/ca.crt" "$WORK/rogue/client-0.crt" "$WORK/rogue/client-0.key" "$WORK/foreign-cert/"
fault rejected-cert 1 "most likely it refused this client's certificate (not signed by the coordinator's CA, expired, or missing)" --coordinator "127.0.0.1:$LISTENING" \
    --tls-dir "$WORK/foreign-cert"
fault plaintext-client 1 "speaks TLS; use --tls-dir instead of --insecure" --coordinator "127.0.0.1:$LISTENING" \
    --insecure
start_client config-client 0 --config "$CONFIGS/net_softmax.ini" --give-up 60 --coordinator "127.0.0.1:$LISTENING" \
    --tls-dir "$WORK/tls"
wait_exit "$CLIENT_PID" 60 config-client
[[ $EXIT_STATUS -eq 1 ]] || die "config-client: exit status $EXIT_STATUS"
text="this coordinator runs a deployment where clients bring their own data; start the client with --data FILE"
grep -qF "$text" "$WORK/config-client.err" || die "config-client: $(tail -1 "$WORK/config-client.err")"
in_docs "$text"
say "config-client: $(tail -1 "$WORK/config-client.err")"

say "a simulated-world coordinator, in plaintext"
start_coordinator sim-coord --config "$CONFIGS/net_softmax.ini" --insecure --set network.linger=0
fault tls-client 1 "speaks plaintext (started with --insecure); use --insecure on this client too" \
    --coordinator "127.0.0.1:$PORT" --tls-dir "$WORK/tls"
fault data-client 1 "this coordinator runs the simulated world; start the client with the coordinator's --config instead of --data" \
    --coordinator "127.0.0.1:$PORT" --insecure
fault insecure-remote 1 "--insecure is accepted only for a loopback coordinator" --coordinator "10.255.255.1:$PORT" \
    --insecure
kill -TERM "$COORD_PID"
wait_exit "$COORD_PID" 30 sim-coord

say "a second coordinator on the same state directory, or the same port"
run_fedcb second-state coordinator --config "$REAL" --tls-dir "$WORK/tls" --state-dir "$WORK/state" \
    --listen 127.0.0.1:0
[[ $RC -eq 1 && $(wc -l <"$RUN_ERR") -eq 1 ]] || { cat "$RUN_ERR" >&2; die "second-state: status $RC"; }
grep -q "state directory $WORK/state is in use by another coordinator (pid $FIRST_COORD)" "$RUN_ERR" ||
    die "second-state: $(cat "$RUN_ERR")"
say "second-state: $(cut -c1-150 "$RUN_ERR")"
run_fedcb second-port coordinator --config "$REAL" --tls-dir "$WORK/tls" --state-dir "$WORK/state2" \
    --listen "127.0.0.1:$LISTENING"
[[ $RC -eq 1 ]] || { cat "$RUN_ERR" >&2; die "second-port: status $RC"; }
tail -1 "$RUN_ERR" | grep -q "port $LISTENING is in use by another process" || die "second-port: $(tail -1 "$RUN_ERR")"
say "second-port: $(tail -1 "$RUN_ERR" )"

in_docs "is in use by another coordinator (pid"
in_docs "is in use by another process (another coordinator?); stop it or choose another port"
kill -TERM "$FIRST_COORD"
wait_exit "$FIRST_COORD" 30 coord
no_sanitizer_report "$WORK/coord.err"
say "PASS"
