# A coordinator and 8 client processes over mutual TLS on 127.0.0.1 give the
# same metrics.jsonl and model_sha256 as `fedcb simulate` with the same
# config, for a score-based policy, an MLP with a deployment delay and an
# adaptive server optimiser, LinUCB, LinUCB forgetting by a discount (the
# deployed statistics carry A~), and bandit rounds followed by
# preference (DPO) rounds, whose frozen reference the coordinator sends (with a
# validation set carved from the training rows). A TLS client without a certificate,
# a client with a certificate from another CA, and one whose certificate
# names another client id are refused, and the run is unaffected.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

CONFIG=$CONFIGS/net_softmax.ini
make_certs "$WORK/tls" 8
make_certs "$WORK/rogue" 8

# Client 3 impostors: a certificate of another CA; client 5's certificate.
mkdir -p "$WORK/other-ca" "$WORK/wrong-id"
cp "$WORK/tls/ca.crt" "$WORK/other-ca/ca.crt"
cp "$WORK/rogue/client-3.crt" "$WORK/rogue/client-3.key" "$WORK/other-ca/"
cp "$WORK/tls/ca.crt" "$WORK/wrong-id/ca.crt"
cp "$WORK/tls/client-5.crt" "$WORK/wrong-id/client-3.crt"
cp "$WORK/tls/client-5.key" "$WORK/wrong-id/client-3.key"

variant=0
check_variant() {
    variant=$((variant + 1))
    local name=v$variant
    say "variant $variant: $*"
    simulate_ok "$WORK/$name-sim" --config "$CONFIG" "$@"
    start_coordinator "$name-coord" --config "$CONFIG" "$@" --tls-dir "$WORK/tls" \
        --out "$WORK/$name-net" --state-dir "$WORK/$name-state"
    local coord=$COORD_PID pids=() id
    for id in 0 1 2 3 4 5 6 7; do
        start_client "$name-client$id" "$id" --config "$CONFIG" "$@" --coordinator "127.0.0.1:$PORT" \
            --tls-dir "$WORK/tls"
        pids+=("$CLIENT_PID")
    done
    if [[ $variant -eq 1 ]]; then
        start_client "$name-other-ca" 3 --config "$CONFIG" "$@" --coordinator "127.0.0.1:$PORT" \
            --tls-dir "$WORK/other-ca" --give-up 3
        local other=$CLIENT_PID
        start_client "$name-wrong-id" 3 --config "$CONFIG" "$@" --coordinator "127.0.0.1:$PORT" \
            --tls-dir "$WORK/wrong-id" --give-up 3
        local wrong=$CLIENT_PID
        # No client certificate at all: a TLS client that offers none.
        timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$WORK/tls/ca.crt" -alpn h2 \
            </dev/null >"$WORK/$name-no-cert.out" 2>&1 || true
        wait_exit "$other" 120 "$name-other-ca"
        [[ $EXIT_STATUS -eq 1 ]] || die "a client with another CA's certificate exited with $EXIT_STATUS"
        grep -q "unreachable" "$WORK/$name-other-ca.err" || die "other-CA client: no 'unreachable' message"
        grep -q "certificate verify failed" "$WORK/$name-coord.err" ||
            die "the coordinator did not log the other CA's refused handshake"
        grep -q "did not return a certificate" "$WORK/$name-coord.err" ||
            die "the coordinator did not log the refused client without a certificate"
        wait_exit "$wrong" 120 "$name-wrong-id"
        [[ $EXIT_STATUS -eq 1 ]] || die "a client with client 5's certificate claiming id 3 exited with $EXIT_STATUS"
        grep -q "does not name client 3" "$WORK/$name-wrong-id.err" ||
            die "wrong-id client: $(tail -1 "$WORK/$name-wrong-id.err")"
        say "refused: no certificate ($(grep -m1 -o 'peer did not return a certificate' "$WORK/$name-coord.err"))"
        say "refused: other CA ($(tail -1 "$WORK/$name-other-ca.err" | cut -c1-80)...)"
        say "refused: wrong id ($(tail -1 "$WORK/$name-wrong-id.err"))"
    fi
    wait_exit "$coord" 300 "$name-coord"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/$name-coord.err" >&2; die "coordinator exited with $EXIT_STATUS"; }
    for id in 0 1 2 3 4 5 6 7; do
        wait_exit "${pids[$id]}" 60 "$name-client$id"
        [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/$name-client$id.err" >&2; die "client $id exited with $EXIT_STATUS"; }
    done
    no_sanitizer_report "$WORK/$name"-*.err
    same_run "$WORK/$name-sim" "$WORK/$name-net"
    say "identical to simulate: $(summary_sha "$WORK/$name-net")"
}

check_variant
check_variant --set model.arch=mlp --set model.hidden=16 --set policy.deploy_every=2 --set server.optimizer=adam
check_variant --set policy.kind=linucb
check_variant --set policy.kind=linucb --set policy.forgetting=discount --set policy.discount=0.9
check_variant --set scenario.kind=init --set run.rounds=2 --set preference.rounds=4 --set preference.learning_rate=0.1 \
    --set data.validation_fraction=0.1
[[ $(grep -c '"val_accuracy"' "$WORK/v$variant-net/metrics.jsonl") -ge 1 ]] || die "the networked run reports no val_accuracy"
say "PASS"
