# A real deployment: a coordinator with no data and three client hosts,
# each in a network namespace of its own (made here; distinct loopback
# addresses where namespaces cannot be made), each with its own shard of
# the synthetic world (fedcb partition) and its own certificate, over mutual
# TLS. The coordinator runs in a mount namespace where the shards' directory
# is an empty tmpfs: it cannot have opened a data file. The final model's
# test accuracy, measured by `fedcb evaluate` on the test shard, is within 2
# points of `fedcb simulate` on the same partition.
# Then a pretrained start: `fedcb pretrain` writes a model file, a
# coordinator with model.init sends it to every client at registration, and
# neural-linear LinUCB on top of it ends no worse than the pretrained model.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"

WORLD=$CONFIGS/deploy_world.ini
REAL=$CONFIGS/deploy_real.ini
HOSTS=$WORK/hosts
NS_PREFIX=fcbt$$

namespaces_usable() {
    [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null && command -v unshare >/dev/null &&
        ip netns add "${NS_PREFIX}probe" 2>/dev/null && ip netns del "${NS_PREFIX}probe"
}

cleanup_namespaces() {
    local i
    for i in 0 1 2; do
        ip netns del "${NS_PREFIX}c$i" 2>/dev/null || true
        ip link del "${NS_PREFIX}h$i" 2>/dev/null || true
    done
}

# Host i: namespace NS_PREFIXc$i, its veth 10.231.i.2 facing the
# coordinator's 10.231.i.1 in this namespace.
make_hosts() {
    local i
    for i in 0 1 2; do
        ip netns add "${NS_PREFIX}c$i"
        ip link add "${NS_PREFIX}h$i" type veth peer name eth0 netns "${NS_PREFIX}c$i"
        ip addr add "10.231.$i.1/30" dev "${NS_PREFIX}h$i"
        ip link set "${NS_PREFIX}h$i" up
        ip netns exec "${NS_PREFIX}c$i" ip addr add "10.231.$i.2/30" dev eth0
        ip netns exec "${NS_PREFIX}c$i" ip link set eth0 up
        ip netns exec "${NS_PREFIX}c$i" ip link set lo up
    done
}

say "the world's partition as three clients' own files, and the reference run"
run_fedcb partition partition --config "$WORLD" --out "$WORK/shards"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb partition failed"; }
for i in 0 1 2; do
    mkdir -p "$HOSTS/host$i"
    mv "$WORK/shards/client-$i.vw" "$HOSTS/host$i/data.vw"
done
simulate_ok "$WORK/sim" --config "$WORLD"
run_fedcb eval-sim evaluate --model "$WORK/sim/model.bin" --data "$WORK/shards/test.vw"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb evaluate of the simulate model failed"; }
sim_accuracy=$(grep -o 'test_accuracy=[0-9.]*' "$RUN_OUT" | cut -d= -f2)

if namespaces_usable; then
    trap 'cleanup_namespaces; net_cleanup' EXIT
    make_hosts
    MODE=namespaces
    names=10.231.0.1,10.231.1.1,10.231.2.1,localhost,127.0.0.1
    addr() { printf '10.231.%d.1' "$1"; }
    on_host() { local i=$1; shift; ip netns exec "${NS_PREFIX}c$i" "$@"; }
    LISTEN=0.0.0.0
else
    MODE=loopback
    names=localhost,127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
    addr() { printf '127.0.0.%d' $(($1 + 2)); }
    on_host() { shift; "$@"; }
    LISTEN=0.0.0.0
fi
say "hosts: $MODE"
bash "$SOURCE_DIR/certs/make-dev-certs.sh" --out "$WORK/ca" --names "$names" --clients 3 >/dev/null 2>&1 ||
    die "certs/make-dev-certs.sh failed"
for i in 0 1 2; do
    mkdir -p "$HOSTS/host$i/tls"
    cp "$WORK/ca/ca.crt" "$WORK/ca/client-$i.crt" "$WORK/ca/client-$i.key" "$HOSTS/host$i/tls/"
done
mkdir -p "$WORK/coord/tls"
cp "$WORK/ca/ca.crt" "$WORK/ca/server.crt" "$WORK/ca/server.key" "$WORK/coord/tls/"

say "the coordinator, where the hosts' files do not exist"
COORD_ARGS=(coordinator --config "$REAL" --listen "$LISTEN:0" --tls-dir "$WORK/coord/tls"
            --port-file "$WORK/coord/port" --out "$WORK/coord/out" --state-dir "$WORK/coord/state")
if [[ $MODE == namespaces ]]; then
    # A private mount namespace with an empty tmpfs over the hosts' files.
    unshare --mount --propagation private sh -c '
        mount -t tmpfs none "$1" || exit 97
        [ ! -e "$1/host0/data.vw" ] || exit 98
        shift; exec "$@"' sh "$HOSTS" "$FEDCB" "${COORD_ARGS[@]}" \
        >"$WORK/coord.out" 2>"$WORK/coord.err" &
else
    "$FEDCB" "${COORD_ARGS[@]}" >"$WORK/coord.out" 2>"$WORK/coord.err" &
fi
COORD_PID=$!
NET_PIDS+=("$COORD_PID")
for ((i = 0; i < 600; i++)); do
    [[ -s $WORK/coord/port ]] && break
    kill -0 "$COORD_PID" 2>/dev/null || { cat "$WORK/coord.err" >&2; die "the coordinator exited at start"; }
    sleep 0.1
done
[[ -s $WORK/coord/port ]] || die "the coordinator did not listen within 60 s"
PORT=$(cat "$WORK/coord/port")
[[ -e $HOSTS/host0/data.vw ]] || die "the hosts' files vanished outside the coordinator's mount namespace"

say "three clients, each on its own host with its own file and certificate"
pids=()
for i in 0 1 2; do
    on_host "$i" "$FEDCB" client --coordinator "$(addr "$i"):$PORT" --client-id "$i" \
        --tls-dir "$HOSTS/host$i/tls" --data "$HOSTS/host$i/data.vw" >"$WORK/client$i.out" 2>"$WORK/client$i.err" &
    pids+=($!)
    NET_PIDS+=($!)
done
wait_exit "$COORD_PID" 300 coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/coord.err" >&2; die "the coordinator exited with $EXIT_STATUS"; }
for i in 0 1 2; do
    wait_exit "${pids[$i]}" 60 "client$i"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/client$i.err" >&2; die "client $i exited with $EXIT_STATUS"; }
    grep -q "registered with" "$WORK/client$i.err" || die "client $i did not log its registration"
    grep -q "run is over" "$WORK/client$i.err" || die "client $i did not log why it stopped"
done
no_sanitizer_report "$WORK"/coord.err "$WORK"/client*.err
grep -q 'clients bring their own data' "$WORK/coord.err" || die "the coordinator did not run in real mode"
[[ $(wc -l <"$WORK/coord/out/metrics.jsonl") -eq 30 ]] || die "the coordinator did not record 30 rounds"
! grep -q '"true_reward"' "$WORK/coord/out/metrics.jsonl" || die "a real run reports an oracle value"
grep -q '"sampled_ids":\[0,1,2\],"answered_ids":\[0,1,2\]' "$WORK/coord/out/metrics.jsonl" ||
    die "metrics.jsonl does not name the sampled and answering clients"
jq -e '.seconds > 0 and .mode == "real"' "$WORK/coord/out/summary.json" >/dev/null ||
    die "summary.json lacks the run's seconds or mode"
[[ -s $WORK/coord/out/model.bin ]] || die "the coordinator wrote no model.bin"

run_fedcb eval-real evaluate --model "$WORK/coord/out/model.bin" --data "$WORK/shards/test.vw"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb evaluate of the deployment's model failed"; }
real_accuracy=$(grep -o 'test_accuracy=[0-9.]*' "$RUN_OUT" | cut -d= -f2)
gap=$(awk -v a="$real_accuracy" -v b="$sim_accuracy" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", d }')
say "test accuracy: deployment $real_accuracy, simulate $sim_accuracy (gap $gap)"
awk -v g="$gap" 'BEGIN { exit !(g <= 0.02) }' || die "the deployment's accuracy is $gap from simulate's, more than 0.02"

say "a pretrained start: fedcb pretrain, then model.init and LinUCB (plaintext, loopback)"
run_fedcb pretrain pretrain --config "$CONFIGS/deploy_pretrain.ini" --out "$WORK/pretrained.bin"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb pretrain failed"; }
run_fedcb eval-pretrained evaluate --model "$WORK/pretrained.bin" --data "$WORK/shards/test.vw" \
    --set model.arch=mlp --set model.hidden=16
pretrained=$(grep -o 'test_accuracy=[0-9.]*' "$RUN_OUT" | cut -d= -f2)
LINUCB=(--set model.arch=mlp --set model.hidden=16 --set "model.init=$WORK/pretrained.bin" --set policy.kind=linucb
        --set run.rounds=10)
run_fedcb no-init coordinator --config "$REAL" "${LINUCB[@]}" --set model.init=/nonexistent.bin --insecure \
    --listen 127.0.0.1:0
[[ $RC -eq 1 ]] && grep -q "cannot open /nonexistent.bin" "$RUN_ERR" || die "a missing model.init: $(cat "$RUN_ERR")"
start_coordinator linucb-coord --config "$REAL" "${LINUCB[@]}" --insecure --out "$WORK/linucb" \
    --eval-data "$WORK/shards/test.vw"
coord=$COORD_PID
pids=()
for i in 0 1 2; do
    start_client "linucb-client$i" "$i" --coordinator "127.0.0.1:$PORT" --insecure --data "$HOSTS/host$i/data.vw"
    pids+=("$CLIENT_PID")
done
wait_exit "$coord" 120 linucb-coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/linucb-coord.err" >&2; die "the LinUCB coordinator exited with $EXIT_STATUS"; }
for i in 0 1 2; do
    wait_exit "${pids[$i]}" 60 "linucb-client$i"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -3 "$WORK/linucb-client$i.err" >&2; die "LinUCB client $i exited with $EXIT_STATUS"; }
    grep -q "plan and initial model received" "$WORK/linucb-client$i.err" || die "client $i got no initial model"
done
no_sanitizer_report "$WORK"/linucb-*.err
linucb=$(jq -r .test_accuracy "$WORK/linucb/summary.json")
say "pretrained model $pretrained; LinUCB on it after 10 rounds $linucb"
awk -v a="$linucb" -v b="$pretrained" 'BEGIN { exit !(a >= b) }' || die "LinUCB ended below the pretrained model"
say "PASS"
