# The store faults an application meets, seen from the installed library and
# examples/news_page.c (local mode): a full disk (a 1 MiB tmpfs in a private
# mount namespace when this runs as root, else a 1 MiB file-size limit) and
# a corrupt or foreign store file each end the application with one line
# naming the store, and exit status 1; nothing crashes.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
lib_init

install_prefix "$WORK/prefix"
build_against_prefix "$SOURCE_DIR/examples/news_page.c"
APP=$BUILT
run_fedcb partition partition --config "$CONFIGS/deploy_world.ini" --out "$WORK/shards"
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb partition failed"; }

no_sanitizer_report() {
    ! grep -q -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'ThreadSanitizer' -e 'runtime error' "$1" || { cat "$1" >&2; die "sanitizer report"; }
}

# agent_ini STORE: a local agent that learns every 100 events.
agent_ini() {
    printf '[agent]\ninput_dim = 20\nnum_actions = 5\nlearn_every = 100\nstore_path = %s\n' "$1" >"$WORK/agent.ini"
}

# one_line FILE WHAT: FILE holds exactly one line, and it contains WHAT.
one_line() {
    [[ $(wc -l <"$1") -eq 1 ]] || { cat "$1" >&2; die "expected one line in $1"; }
    grep -q -- "$2" "$1" || die "expected '$2' in: $(cat "$1")"
}

say "a full disk"
mkdir -p "$WORK/small"
agent_ini "$WORK/small/interactions.db"
RUN=(run_against_prefix "$APP" --agent "$WORK/agent.ini" --data "$WORK/shards/client-0.vw" --blocks 400
     --block-size 500)
rc=0
if [[ $(id -u) -eq 0 ]] && unshare --mount --propagation private true 2>/dev/null; then
    how="a 1 MiB tmpfs"
    LD_LIBRARY_PATH=$LIBDIR unshare --mount --propagation private sh -c '
        mount -t tmpfs -o size=1m none "$1" || exit 97
        shift; exec "$@"' sh "$WORK/small" "$APP" --agent "$WORK/agent.ini" --data "$WORK/shards/client-0.vw" \
        --blocks 400 --block-size 500 >"$WORK/full.out" 2>"$WORK/full.err" || rc=$?
    [[ $rc -ne 97 ]] || die "cannot mount a tmpfs"
else
    how="a 1 MiB file-size limit"
    (trap '' XFSZ; ulimit -f 1024; "${RUN[@]}") >"$WORK/full.out" 2>"$WORK/full.err" || rc=$?
fi
no_sanitizer_report "$WORK/full.err"
[[ $rc -eq 1 ]] || { tail -3 "$WORK/full.err" >&2; die "the application on a full disk exited with $rc, not 1"; }
grep -v '^[0-9TZ:.-]* fedcb ' "$WORK/full.err" >"$WORK/full.line"
one_line "$WORK/full.line" "store $WORK/small/interactions.db: disk full"
say "   $how: $(cat "$WORK/full.line")"

say "a corrupt store file"
head -c 65536 /dev/urandom >"$WORK/corrupt.db"
agent_ini "$WORK/corrupt.db"
rc=0
"${RUN[@]}" >"$WORK/corrupt.out" 2>"$WORK/corrupt.err" || rc=$?
no_sanitizer_report "$WORK/corrupt.err"
[[ $rc -eq 1 ]] || die "the application on a corrupt store exited with $rc, not 1"
one_line "$WORK/corrupt.err" "store $WORK/corrupt.db is not a SQLite database"
say "   $(cat "$WORK/corrupt.err")"

say "another application's SQLite file"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$WORK/foreign.db" 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'
else
    # Without the sqlite3 shell: a store of another width is foreign too.
    printf '[agent]\ninput_dim = 7\nnum_actions = 5\nlearn_every = 0\nstore_path = %s\n' "$WORK/foreign.db" \
        >"$WORK/other.ini"
    run_against_prefix "$APP" --agent "$WORK/other.ini" --data /dev/null --blocks 1 >/dev/null 2>&1 || true
fi
agent_ini "$WORK/foreign.db"
rc=0
"${RUN[@]}" >"$WORK/foreign.out" 2>"$WORK/foreign.err" || rc=$?
no_sanitizer_report "$WORK/foreign.err"
[[ $rc -eq 1 ]] || die "the application on a foreign store exited with $rc, not 1"
one_line "$WORK/foreign.err" "$WORK/foreign.db"
say "   $(cat "$WORK/foreign.err")"
say "PASS"
