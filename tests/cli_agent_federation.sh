# Three applications embed libfedcb and learn one model through a
# coordinator over mutual TLS. Each is examples/news_page.c, built here
# against a scratch install of the library with pkg-config alone, with its
# own visitors (a disjoint shard of the synthetic world, fedcb partition),
# its own certificate and its own SQLite store. The coordinator holds no
# data. The applications' online click rate rises over the rounds and ends
# within 0.05 of `fedcb simulate` of the same setting (same partition,
# model, policy, examples per round and rounds).
# Then offline: the coordinator is killed with SIGKILL mid-run; the
# applications go on deciding with the model they have, and when the
# coordinator is restarted on its state directory their agents catch up and
# the run finishes.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
lib_init

WORLD=$CONFIGS/deploy_world.ini
REAL=$CONFIGS/deploy_real.ini
ROUNDS=30

say "the example application, from the installed library"
install_prefix "$WORK/prefix"
build_against_prefix "$SOURCE_DIR/examples/news_page.c"
APP=$BUILT

say "three applications' visitors (fedcb partition) and the reference run"
run_fedcb partition partition --config "$WORLD" --out "$WORK/shards"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb partition failed"; }
simulate_ok "$WORK/sim" --config "$WORLD"

make_certs "$WORK/ca" 3
start_coordinator coord --config "$REAL" --tls-dir "$WORK/ca" --out "$WORK/coord-out"
coord=$COORD_PID

say "three applications, each with its own data, certificate and store"
pids=()
for i in 0 1 2; do
    host=$WORK/host$i
    mkdir -p "$host/tls"
    cp "$WORK/ca/ca.crt" "$WORK/ca/client-$i.crt" "$WORK/ca/client-$i.key" "$host/tls/"
    cp "$WORK/shards/client-$i.vw" "$host/visitors.vw"
    cat >"$host/agent.ini" <<EOF
[agent]
input_dim = 20
num_actions = 5
coordinator = 127.0.0.1:$PORT
tls_dir = $host/tls
client_id = $i
store_path = $host/interactions.db
min_round_events = 100
round_wait = 120
EOF
    run_against_prefix "$APP" --agent "$host/agent.ini" --data "$host/visitors.vw" \
        --blocks "$ROUNDS" --block-size 100 --seed $((i + 1)) >"$WORK/app$i.out" 2>"$WORK/app$i.err" &
    pids+=($!)
    NET_PIDS+=($!)
done
wait_exit "$coord" 600 coord
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/coord.err" >&2; die "the coordinator exited with $EXIT_STATUS"; }
for i in 0 1 2; do
    wait_exit "${pids[$i]}" 120 "app$i"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/app$i.err" >&2; die "application $i exited with $EXIT_STATUS"; }
    [[ $(grep -c '^block ' "$WORK/app$i.out") -eq $ROUNDS ]] ||
        die "application $i served $(grep -c '^block ' "$WORK/app$i.out") blocks, not $ROUNDS"
    [[ -s $WORK/host$i/interactions.db ]] || die "application $i has no store"
done
no_sanitizer_report "$WORK"/coord.err "$WORK"/app*.err
[[ $(wc -l <"$WORK/coord-out/metrics.jsonl") -eq $ROUNDS ]] || die "the coordinator did not record $ROUNDS rounds"

# Block b of every application was served by the model of round b - 1, as
# round b of simulate: the mean click rate of the three, block by block.
paste "$WORK"/app0.out "$WORK"/app1.out "$WORK"/app2.out | grep '^block' |
    awk '{ print ($8 + $16 + $24) / 3 }' >"$WORK/apps.rates"
jq -r .reward "$WORK/sim/metrics.jsonl" >"$WORK/sim.rates"
versions=$(awk '$1 == "block" { print $4 }' "$WORK/app0.out" | tr '\n' ' ')
say "model versions served to application 0: $versions"
[[ $versions == "0 1 2 "* ]] || die "application 0 was not served a new model after each round: $versions"
mean() { awk -v from="$2" -v to="$3" 'NR >= from && NR <= to { s += $1; n++ } END { printf "%.4f", s / n }' "$1"; }
apps_first=$(mean "$WORK/apps.rates" 1 3)
apps_last=$(mean "$WORK/apps.rates" 21 30)
sim_first=$(mean "$WORK/sim.rates" 1 3)
sim_last=$(mean "$WORK/sim.rates" 21 30)
say "click rate, rounds 1-3: applications $apps_first, simulate $sim_first"
say "click rate, rounds 21-30: applications $apps_last, simulate $sim_last"
awk -v a="$apps_first" -v b="$apps_last" 'BEGIN { exit !(b >= a + 0.3) }' ||
    die "the applications' click rate did not rise: $apps_first -> $apps_last"
awk -v a="$apps_last" -v b="$sim_last" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.05) }' ||
    die "the applications end at $apps_last, simulate at $sim_last: more than 0.05 apart"

say "offline: the coordinator killed and restarted while the applications serve"
LISTEN_PORT=0 start_coordinator coord2 --config "$REAL" --tls-dir "$WORK/ca" --out "$WORK/coord2-out" \
    --state-dir "$WORK/coord2-state"
coord=$COORD_PID
pids=()
for i in 0 1 2; do
    host=$WORK/host$i
    rm -f "$host"/interactions.db*
    sed -i "s/^coordinator = .*/coordinator = 127.0.0.1:$PORT/" "$host/agent.ini"
    (cd "$host" && run_against_prefix "$APP" --agent "$host/agent.ini" --data "$host/visitors.vw" \
        --blocks 1000 --block-size 100 --max-wait 0.5 --seed $((i + 11))) >"$WORK/off$i.out" 2>"$WORK/off$i.err" &
    pids+=($!)
    NET_PIDS+=($!)
done
wait_rounds "$WORK/coord2-out" 5 120
kill -9 "$coord"
wait "$coord" 2>/dev/null || true
before=$(wc -l <"$WORK/coord2-out/metrics.jsonl")
served_before=$(grep -c '^block ' "$WORK/off0.out")
sleep 3
served_offline=$(($(grep -c '^block ' "$WORK/off0.out") - served_before))
last_version=$(awk '$1 == "block" { v = $4 } END { print v }' "$WORK/off0.out")
say "   killed after $before rounds; application 0 served $served_offline blocks while it was down (model $last_version)"
[[ $served_offline -ge 2 ]] || die "application 0 stopped serving while the coordinator was down"
sleep 1
LISTEN_PORT=$PORT start_coordinator coord3 --config "$REAL" --tls-dir "$WORK/ca" --out "$WORK/coord2-out" \
    --state-dir "$WORK/coord2-state"
coord=$COORD_PID
grep -q "resuming after round" "$WORK/coord3.err" || die "the restarted coordinator did not resume"
wait_exit "$coord" 600 coord3
[[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/coord3.err" >&2; die "the restarted coordinator exited with $EXIT_STATUS"; }
[[ $(wc -l <"$WORK/coord2-out/metrics.jsonl") -eq $ROUNDS ]] || die "the resumed run did not record $ROUNDS rounds"
for i in 0 1 2; do
    wait_exit "${pids[$i]}" 120 "off$i"
    [[ $EXIT_STATUS -eq 0 ]] || { tail -5 "$WORK/off$i.err" >&2; die "application $i exited with $EXIT_STATUS"; }
done
no_sanitizer_report "$WORK"/coord2.err "$WORK"/coord3.err "$WORK"/off*.err
final_version=$(awk '$1 == "block" { v = $4 } END { print v }' "$WORK/off0.out")
[[ $final_version -gt $last_version ]] || die "application 0 never got a model after the restart ($final_version)"
say "   after the restart application 0 caught up to model $final_version; the run finished its $ROUNDS rounds"
say "PASS"
