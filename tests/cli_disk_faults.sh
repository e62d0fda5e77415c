# Disk faults: every command that writes results (simulate, bench,
# pretrain and partition with --out; the coordinator with --out and
# --state-dir) on a full filesystem and on a directory it may not write.
# Each run either succeeds with every file complete (the same model as on a
# roomy disk) or exits 1 with one line naming the file and the system's
# reason; nothing crashes, no summary.json is left beside a failed run (a
# resumed bench would trust it) and no temporary file is left behind.
#
# As root the script re-runs itself in a private mount namespace and mounts
# small tmpfs filesystems (full: a size limit; unwritable: read-only). As
# another user it uses a file-size limit (ulimit -f) and chmod 555.
if [[ $(id -u) -eq 0 && -z ${FEDCB_DISK_NAMESPACE:-} ]] && unshare --mount --propagation private true 2>/dev/null; then
    FEDCB_DISK_NAMESPACE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/net_common.sh"
# The tmpfs mounts go before the work directory does.
trap 'umount "$WORK"/*/ 2>/dev/null; net_cleanup' EXIT

if [[ -n ${FEDCB_DISK_NAMESPACE:-} ]]; then
    FULL_REASON="No space left on device"
    READONLY_REASON="Read-only file system"
else
    FULL_REASON="File too large"
    READONLY_REASON="Permission denied"
fi
LIMIT_KB=""

# small_disk DIR KB: DIR becomes a filesystem of KB kibibytes (as root), or
# every file written is limited to KB kibibytes.
small_disk() {
    mkdir -p "$1"
    if [[ -n ${FEDCB_DISK_NAMESPACE:-} ]]; then
        mountpoint -q "$1" && umount "$1"
        mount -t tmpfs -o "size=${2}k" none "$1" || die "cannot mount a tmpfs on $1"
    else
        LIMIT_KB=$2
    fi
}

# full_disk DIR: DIR is a filesystem with no room left (as root), or no file
# may grow past 1 KiB (not 0: the limit also holds for the logs the test
# captures).
full_disk() {
    small_disk "$1" 4
    if [[ -n ${FEDCB_DISK_NAMESPACE:-} ]]; then
        head -c 65536 /dev/zero >"$1/filler" 2>/dev/null || true
    else
        LIMIT_KB=1
    fi
}

# readonly_dir DIR: DIR exists and cannot be written.
readonly_dir() {
    mkdir -p "$1"
    if [[ -n ${FEDCB_DISK_NAMESPACE:-} ]]; then
        mount -t tmpfs -o ro none "$1" || die "cannot mount a read-only tmpfs on $1"
    else
        chmod 555 "$1"
    fi
}

# run_limited NAME ARGS...: run_fedcb under the file-size limit, if any.
run_limited() {
    local name=$1
    shift
    RUN_OUT=$WORK/$name.out
    RUN_ERR=$WORK/$name.err
    RC=0
    (
        trap '' XFSZ
        [[ -z $LIMIT_KB ]] || ulimit -f "$LIMIT_KB"
        exec "$FEDCB" "$@"
    ) >"$RUN_OUT" 2>"$RUN_ERR" || RC=$?
}

# no_temporary_files DIR: no *.tmp file is left in DIR.
no_temporary_files() {
    local left
    left=$(find "$1" -name '*.tmp' 2>/dev/null | head -3)
    [[ -z $left ]] || die "temporary files left behind: $left"
}

# failed_cleanly WHAT REASON PATH: the last run exited 1 with one line that
# names PATH (a prefix of the file) and REASON.
failed_cleanly() {
    check_no_sanitizer_report "$1"
    [[ $RC -eq 1 ]] || { cat "$RUN_ERR" >&2; die "$1: exit status $RC, expected 1"; }
    [[ $(wc -l <"$RUN_ERR") -eq 1 ]] || { cat "$RUN_ERR" >&2; die "$1: expected one line on stderr"; }
    local line
    line=$(cat "$RUN_ERR")
    [[ $line == "fedcb: "* && $line == *"$2"* && $line == *"$3"* ]] ||
        die "$1: the line should name $3 and say '$2': $line"
}

# Counters for the closing line: attempts, clean failures, complete successes.
ATTEMPTS=0 REFUSED=0 COMPLETE=0

CONFIG=$CONFIGS/tiny_softmax.ini
# sweep NAME KB... -- SETS...: simulate at each size; every run must either
# fail cleanly or succeed with the reference's model and every round.
sweep() {
    local name=$1 kb failures=0 successes=0
    shift
    local sizes=()
    while [[ $1 != -- ]]; do
        sizes+=("$1")
        shift
    done
    shift
    simulate_ok "$WORK/$name-reference" --config "$CONFIG" "$@"
    local reference_sha reference_rounds
    reference_sha=$(summary_sha "$WORK/$name-reference")
    reference_rounds=$(wc -l <"$WORK/$name-reference/metrics.jsonl")
    for kb in "${sizes[@]}"; do
        local dir=$WORK/$name-$kb
        small_disk "$dir" "$kb"
        run_limited "$name-$kb" simulate --config "$CONFIG" "$@" --out "$dir/run"
        ATTEMPTS=$((ATTEMPTS + 1))
        no_temporary_files "$dir"
        if [[ $RC -eq 0 ]]; then
            check_no_sanitizer_report "simulate at $kb KiB"
            [[ $(summary_sha "$dir/run") == "$reference_sha" ]] ||
                die "$kb KiB: the run succeeded with another model than on a roomy disk"
            [[ $(wc -l <"$dir/run/metrics.jsonl") -eq $reference_rounds ]] ||
                die "$kb KiB: the run succeeded with a short metrics.jsonl"
            cmp -s "$WORK/$name-reference/model.bin" "$dir/run/model.bin" || die "$kb KiB: model.bin differs"
            say "   $kb KiB: complete"
            successes=$((successes + 1))
            continue
        fi
        failed_cleanly "simulate at $kb KiB" "$FULL_REASON" "$dir/run/"
        [[ ! -e $dir/run/summary.json ]] || die "$kb KiB: a failed run left a summary.json"
        say "   $kb KiB: $(cat "$RUN_ERR")"
        failures=$((failures + 1))
    done
    # The sweep must cross the boundary, or it tested nothing.
    [[ $failures -ge 2 && $successes -ge 1 ]] ||
        die "$name: the sweep should give at least 2 failures and 1 success: $failures and $successes"
    REFUSED=$((REFUSED + failures)) COMPLETE=$((COMPLETE + successes))
    LIMIT_KB=""
}

# A tmpfs holds every file of the run; a file-size limit applies to each
# file alone, so it needs smaller sizes to fail at each file.
if [[ -n ${FEDCB_DISK_NAMESPACE:-} ]]; then
    RESULT_SIZES=(4 8 12 16 20 32) LOG_SIZES=(16 32 48 64 128) BENCH_SIZES=(24 96)
else
    RESULT_SIZES=(1 2 3 4 5 8) LOG_SIZES=(4 8 16 24 64) BENCH_SIZES=(1 4)
fi
say "simulate --out on a full disk: metrics, model and summary"
sweep results "${RESULT_SIZES[@]}" -- --set run.rounds=10 --set run.threads=1
say "simulate --out on a full disk: with the interaction log"
sweep log "${LOG_SIZES[@]}" -- --set run.rounds=10 --set run.threads=1 --set run.log_interactions=true
SETS=(--set run.rounds=10)

say "simulate --out in a directory it cannot write"
readonly_dir "$WORK/ro"
run_fedcb sim-ro simulate --config "$CONFIG" "${SETS[@]}" --out "$WORK/ro/run"
ATTEMPTS=$((ATTEMPTS + 1))
failed_cleanly "simulate in a read-only directory" "$READONLY_REASON" "$WORK/ro/run"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"

say "bench --out on a full disk"
SUITE=$SOURCE_DIR/tests/suites/tiny.ini
for kb in "${BENCH_SIZES[@]}"; do
    small_disk "$WORK/bench-$kb" "$kb"
    run_limited "bench-$kb" bench --suite "$SUITE" --out "$WORK/bench-$kb/out" --jobs 2
    ATTEMPTS=$((ATTEMPTS + 1))
    no_temporary_files "$WORK/bench-$kb"
    failed_cleanly "bench at $kb KiB" "$FULL_REASON" "$WORK/bench-$kb/out/"
    # Whatever was written is whole: a results.csv has its 18 rows.
    if [[ -e $WORK/bench-$kb/out/results.csv ]]; then
        [[ $(wc -l <"$WORK/bench-$kb/out/results.csv") -eq 19 ]] || die "bench at $kb KiB: a partial results.csv"
    fi
    for summary in $(find "$WORK/bench-$kb/out" -name summary.json); do
        [[ -s ${summary%/summary.json}/model.bin ]] || die "bench at $kb KiB: $summary without model.bin"
    done
    REFUSED=$((REFUSED + 1))
    say "   $kb KiB: $(cat "$RUN_ERR")"
done

say "pretrain and partition --out on a full disk and in a read-only directory"
full_disk "$WORK/pre"
run_limited pretrain-full pretrain --config "$CONFIGS/deploy_pretrain.ini" --out "$WORK/pre/model.bin"
ATTEMPTS=$((ATTEMPTS + 1))
no_temporary_files "$WORK/pre"
[[ ! -e $WORK/pre/model.bin ]] || die "a failed pretrain left model.bin"
failed_cleanly "pretrain on a full disk" "$FULL_REASON" "$WORK/pre/model.bin"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"
run_fedcb pretrain-ro pretrain --config "$CONFIGS/deploy_pretrain.ini" --out "$WORK/ro/model.bin"
ATTEMPTS=$((ATTEMPTS + 1))
failed_cleanly "pretrain in a read-only directory" "$READONLY_REASON" "$WORK/ro/model.bin"
REFUSED=$((REFUSED + 1))
small_disk "$WORK/shards" 64
run_limited partition-full partition --config "$CONFIGS/deploy_world.ini" --out "$WORK/shards/out"
ATTEMPTS=$((ATTEMPTS + 1))
no_temporary_files "$WORK/shards"
failed_cleanly "partition on a full disk" "$FULL_REASON" "$WORK/shards/out/"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"
LIMIT_KB=""

say "the coordinator: --state-dir that fills up mid-run, --state-dir and --out it cannot write"
NET=$CONFIGS/net_softmax.ini
NET_SETS=(--set run.rounds=40)
# Room for the lock and one 10 KB checkpoint: the second one does not fit.
# Without root, a checkpoint is larger than the 8 KiB file-size limit.
small_disk "$WORK/state-full" 16
[[ -n ${FEDCB_DISK_NAMESPACE:-} ]] || LIMIT_KB=8
REAL_FEDCB=$FEDCB
printf '#!/usr/bin/env bash\ntrap "" XFSZ\n%sexec "%s" "$@"\n' "${LIMIT_KB:+ulimit -f $LIMIT_KB; }" "$REAL_FEDCB" \
    >"$WORK/limited-fedcb"
chmod +x "$WORK/limited-fedcb"
FEDCB=$WORK/limited-fedcb
start_coordinator coord-full --config "$NET" --insecure "${NET_SETS[@]}" --state-dir "$WORK/state-full/state" \
    --out "$WORK/coord-full-out"
FEDCB=$REAL_FEDCB LIMIT_KB=""
# The clients give up soon once the coordinator has gone.
for id in 0 1 2 3 4 5 6 7; do
    start_client "full-client$id" "$id" --config "$NET" "${NET_SETS[@]}" --coordinator "127.0.0.1:$PORT" --insecure \
        --give-up 5
done
wait_exit "$COORD_PID" 120 coord-full
ATTEMPTS=$((ATTEMPTS + 1))
RC=$EXIT_STATUS RUN_ERR=$WORK/coord-full.err
grep -v '^[0-9TZ:.-]* fedcb ' "$WORK/coord-full.err" >"$WORK/coord-full.line" || true
RUN_ERR=$WORK/coord-full.line
failed_cleanly "coordinator with a full --state-dir" "$FULL_REASON" "$WORK/state-full/state/"
# It stopped at the checkpoint that did not fit, with no round reported past it.
[[ ! -e $WORK/coord-full-out/summary.json ]] || die "the coordinator left a summary.json"
no_temporary_files "$WORK/state-full"
no_sanitizer_report "$WORK/coord-full.err"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"
for id in 0 1 2 3 4 5 6 7; do
    wait_exit "${NET_PIDS[$((id + 1))]}" 60 "full-client$id"
    no_sanitizer_report "$WORK/full-client$id.err"
done

run_fedcb coord-ro-state coordinator --config "$NET" --insecure --state-dir "$WORK/ro/state" --listen 127.0.0.1:0
ATTEMPTS=$((ATTEMPTS + 1))
failed_cleanly "coordinator with a read-only --state-dir" "$READONLY_REASON" "$WORK/ro/state"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"
run_fedcb coord-ro-out coordinator --config "$NET" --insecure --out "$WORK/ro/out" --listen 127.0.0.1:0
ATTEMPTS=$((ATTEMPTS + 1))
failed_cleanly "coordinator with a read-only --out" "$READONLY_REASON" "$WORK/ro/out"
REFUSED=$((REFUSED + 1))
say "   $(cat "$RUN_ERR")"

[[ $((REFUSED + COMPLETE)) -eq $ATTEMPTS ]] || die "bookkeeping: $ATTEMPTS attempts, $REFUSED + $COMPLETE outcomes"
say "disk faults: $ATTEMPTS attempts, $REFUSED refused with one line, $COMPLETE complete, 0 crashed, 0 hung, 0 wrong"
