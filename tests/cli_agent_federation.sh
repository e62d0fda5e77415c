# Three applications embed libfedcb and learn one model through a
# coordinator over mutual TLS. Each is examples/news_page.c, built here
# against a scratch install of the library with pkg-config alone, with its
# own visitors (a disjoint shard of the synthetic world, fedcb partition),
# its own certificate and its own SQLite store. The coordinator holds no
# data. The applications' online click rate rises over the rounds and ends
# within 0.05 of `fedcb simulate` of the same setting (same partition,
# model, policy, examples per round and rounds).
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
say "PASS"
