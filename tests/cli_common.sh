# Shared helpers for the shell tests of the fedcb binary (tests/cli_*.sh).
# A script starts with
#     source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
#     cli_init "$@"          # <path-to-fedcb> <source-dir>
# and then uses FEDCB, SOURCE_DIR, CONFIGS and WORK (a temporary directory
# removed on exit). Every helper stops the script at the first failure with
# "FAIL: ..." on stderr and exit status 1.
# The tests/cli_*.sh glob also registers this file as a ctest test: run
# rather than sourced, it checks that its own checks reject broken output
# (see self_test at the end).

say() {
    printf -- '-- %s\n' "$*"
}

die() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

cli_init() {
    if [[ $# -ne 2 ]]; then
        printf 'usage: %s <path-to-fedcb> <source-dir>\n' "$0" >&2
        exit 2
    fi
    FEDCB=$1
    SOURCE_DIR=$2
    CONFIGS=$SOURCE_DIR/tests/configs
    [[ -x $FEDCB ]] || die "fedcb binary '$FEDCB' does not exist or is not executable"
    [[ -d $CONFIGS ]] || die "test configs directory '$CONFIGS' does not exist"
    # A sanitizer report must fail the run, not scroll past.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1}
    export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedcb-cli.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
}

# run_fedcb NAME ARGS...: runs fedcb with ARGS; stdout goes to $WORK/NAME.out,
# stderr to $WORK/NAME.err, the exit status to RC. Never stops the script.
run_fedcb() {
    local name=$1
    shift
    RUN_OUT=$WORK/$name.out
    RUN_ERR=$WORK/$name.err
    RC=0
    "$FEDCB" "$@" >"$RUN_OUT" 2>"$RUN_ERR" || RC=$?
}

# Fails when stderr of the last run_fedcb holds a sanitizer report.
check_no_sanitizer_report() {
    if grep -q -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'ThreadSanitizer' -e 'runtime error' "$RUN_ERR"; then
        sed -n '1,40p' "$RUN_ERR" >&2
        die "sanitizer report on stderr of: fedcb $*"
    fi
}

# simulate_ok OUT_DIR ARGS...: `fedcb simulate ARGS... --out OUT_DIR` must
# succeed, cleanly, with both result files written.
simulate_ok() {
    local out_dir=$1
    shift
    run_fedcb "sim.$(basename "$out_dir")" simulate "$@" --out "$out_dir"
    check_no_sanitizer_report simulate "$@"
    if [[ $RC -ne 0 ]]; then
        cat "$RUN_ERR" >&2
        die "fedcb simulate $* --out $out_dir exited with status $RC"
    fi
    [[ -s $out_dir/metrics.jsonl ]] || die "$out_dir/metrics.jsonl is missing or empty"
    [[ -s $out_dir/summary.json ]] || die "$out_dir/summary.json is missing or empty"
}

# summary_sha DIR: prints model_sha256 of DIR/summary.json after checking it
# is 64 lower-case hex characters.
summary_sha() {
    local sha
    sha=$(sed -n 's/^[[:space:]]*"model_sha256":[[:space:]]*"\([^"]*\)".*$/\1/p' "$1/summary.json")
    [[ $sha =~ ^[0-9a-f]{64}$ ]] || die "$1/summary.json: model_sha256 '$sha' is not 64 hex characters"
    printf '%s\n' "$sha"
}

# summary_number DIR KEY: prints the top-level number KEY of DIR/summary.json.
summary_number() {
    sed -n 's/^  "'"$2"'":[[:space:]]*\([-0-9.eE+]*\),\{0,1\}$/\1/p' "$1/summary.json"
}

# strip_seconds FILE: FILE without the "seconds" fields (wall-clock time).
strip_seconds() {
    sed -E -e 's/,"seconds":[^,}]*//g' -e 's/"seconds":[^,}]*,?//g' "$1"
}

# json_number LINE KEY: prints the number value of "KEY" in one JSON line.
json_number() {
    local re="\"$2\":(-?[0-9][0-9.eE+-]*)[,}]"
    [[ $1 =~ $re ]] || return 1
    printf '%s\n' "${BASH_REMATCH[1]}"
}

# A JSON number in [0, 1] as jansson writes it: 0.0, 0.25, 1.0, 1.5e-05.
is_unit_interval() {
    [[ $1 =~ ^(0(\.[0-9]+)?|1(\.0+)?|[0-9](\.[0-9]+)?e-[0-9]+)$ ]]
}

# check_metrics_contract DIR ROUNDS EVAL_EVERY: one JSON object per round with
# the documented keys; test_accuracy exactly on every EVAL_EVERY-th and the
# last round; the last avg_reward equals the summary's.
check_metrics_contract() {
    local dir=$1 rounds=$2 eval_every=$3
    local file=$dir/metrics.jsonl
    local lines
    lines=$(wc -l <"$file")
    [[ $lines -eq $rounds ]] || die "$file has $lines lines, expected one per round ($rounds)"
    local i=0 line key value last_avg=""
    while IFS= read -r line; do
        i=$((i + 1))
        [[ $line == '{'*'}' ]] || die "$file:$i is not a JSON object: $line"
        value=$(json_number "$line" round) || die "$file:$i has no round"
        [[ $value == "$i" ]] || die "$file:$i has round $value, expected $i"
        for key in reward avg_reward prob clients bytes_up bytes_down seconds; do
            json_number "$line" "$key" >/dev/null || die "$file:$i has no numeric \"$key\": $line"
        done
        for key in reward avg_reward prob; do
            value=$(json_number "$line" "$key")
            is_unit_interval "$value" || die "$file:$i: $key = $value is not in [0, 1]"
        done
        for key in clients bytes_up bytes_down; do
            value=$(json_number "$line" "$key")
            [[ $value =~ ^[0-9]+$ ]] || die "$file:$i: $key = $value is not a non-negative integer"
        done
        if ((i % eval_every == 0 || i == rounds)); then
            value=$(json_number "$line" test_accuracy) ||
                die "$file:$i is an evaluation round but has no test_accuracy: $line"
            is_unit_interval "$value" || die "$file:$i: test_accuracy = $value is not in [0, 1]"
        elif [[ $line == *'"test_accuracy"'* ]]; then
            die "$file:$i is not an evaluation round (eval_every = $eval_every) but has test_accuracy"
        fi
        last_avg=$(json_number "$line" avg_reward)
    done <"$file"
    local summary_avg
    summary_avg=$(summary_number "$dir" avg_reward)
    [[ $summary_avg == "$last_avg" ]] ||
        die "$dir: summary avg_reward '$summary_avg' differs from the last round's '$last_avg'"
}

# check_summary_contract DIR SEED: model_sha256, a "config" object that
# records the run's seed, and the same digest on the stdout result line of
# the last run_fedcb.
check_summary_contract() {
    local dir=$1 seed=$2
    local sha
    sha=$(summary_sha "$dir")
    grep -q '^  "config": {$' "$dir/summary.json" || die "$dir/summary.json has no \"config\" object"
    grep -q '^      "seed": "'"$seed"'",\{0,1\}$' "$dir/summary.json" ||
        die "$dir/summary.json: config does not record run.seed = $seed"
    grep -q "model_sha256=$sha\$" "$RUN_OUT" ||
        die "stdout result line does not end with model_sha256=$sha: $(cat "$RUN_OUT")"
}

# expect_failure ARGS...: fedcb ARGS must fail cleanly: exit status 1 or 2
# (not a signal), nothing on stdout, no sanitizer report, and exactly one
# line on stderr that starts with "fedcb: ". The line is left in ERR_LINE.
expect_failure() {
    run_fedcb "fail" "$@"
    check_no_sanitizer_report "$@"
    if [[ $RC -eq 0 ]]; then
        die "fedcb $* succeeded; expected an error"
    fi
    if [[ $RC -ne 1 && $RC -ne 2 ]]; then
        cat "$RUN_ERR" >&2
        die "fedcb $* exited with status $RC; expected 1 or 2 (>= 128 means it crashed)"
    fi
    [[ ! -s $RUN_OUT ]] || die "fedcb $* wrote to stdout on failure: $(head -c 300 "$RUN_OUT")"
    local count
    count=$(wc -l <"$RUN_ERR")
    if [[ $count -ne 1 ]]; then
        cat "$RUN_ERR" >&2
        die "fedcb $* wrote $count lines to stderr; expected exactly one"
    fi
    ERR_LINE=$(cat "$RUN_ERR")
    [[ $ERR_LINE == 'fedcb: '?* ]] || die "stderr line does not start with 'fedcb: ': $ERR_LINE"
    printf '   %s\n' "$ERR_LINE"
}

# message_has TEXT...: the last ERR_LINE contains every TEXT (literally).
message_has() {
    local text
    for text in "$@"; do
        [[ $ERR_LINE == *"$text"* ]] || die "error message does not mention '$text': $ERR_LINE"
    done
}

# ---- self-test: run as a script, the checks above must accept a real run's
# output and reject each kind of broken output, or the other scripts prove
# nothing.

# must_reject DESCRIPTION EDIT CHECK: on a copy of the good run in
# $WORK/bad, after the command EDIT, the command CHECK must fail.
must_reject() {
    rm -rf "$WORK/bad"
    cp -r "$WORK/good" "$WORK/bad"
    eval "$2"
    if (eval "$3") >/dev/null 2>&1; then
        die "self-test: the checks do not notice $1"
    fi
    say "self-test: rejects $1"
}

# Stand-ins for a broken fedcb, for the expect_failure checks.
make_fake_binaries() {
    printf '#!/bin/sh\necho "fedcb: first line" >&2\necho "second line" >&2\nexit 1\n' >"$WORK/two_lines"
    printf '#!/bin/sh\necho "fedcb: about to crash" >&2\nkill -SEGV $$\n' >"$WORK/crashes"
    printf '#!/bin/sh\necho "fedcb: x.c:1:2: runtime error: signed integer overflow" >&2\nexit 1\n' \
        >"$WORK/sanitizer"
    printf '#!/bin/sh\necho "error without the prefix" >&2\nexit 1\n' >"$WORK/no_prefix"
    printf '#!/bin/sh\necho "fedcb: a bad thing in x.ini:3" >&2\nexit 1\n' >"$WORK/one_line"
    chmod +x "$WORK/two_lines" "$WORK/crashes" "$WORK/sanitizer" "$WORK/no_prefix" "$WORK/one_line"
}

# The checks are passed as strings for eval, so $ in single quotes is meant.
# shellcheck disable=SC2016
self_test() {
    set -euo pipefail
    cli_init "$@"
    make_fake_binaries
    say "self-test: a real run passes every contract check"
    simulate_ok "$WORK/good" --config "$CONFIGS/tiny_softmax.ini" --set run.rounds=5 --set run.eval_every=2
    check_metrics_contract "$WORK/good" 5 2
    check_summary_contract "$WORK/good" 1
    strip_seconds "$WORK/good/metrics.jsonl" >"$WORK/stripped"
    if grep -q '"seconds"' "$WORK/stripped"; then
        die "self-test: strip_seconds left a seconds field"
    fi
    [[ $(wc -l <"$WORK/stripped") -eq 5 ]] || die "self-test: strip_seconds changed the line count"

    local m='"$WORK/bad/metrics.jsonl"' s='"$WORK/bad/summary.json"'
    local metrics='check_metrics_contract "$WORK/bad" 5 2'
    local summary='check_summary_contract "$WORK/bad" 1'
    must_reject "a missing round" "sed -i 3d $m" "$metrics"
    must_reject "a missing key" "sed -i 's/\"prob\"/\"prop\"/' $m" "$metrics"
    must_reject "a wrong round number" "sed -i '2s/\"round\":2/\"round\":3/' $m" "$metrics"
    must_reject "an evaluation round without test_accuracy" \
        "sed -i '4s/,\"test_accuracy\":[^,}]*//' $m" "$metrics"
    must_reject "a last round without test_accuracy" "sed -i '5s/,\"test_accuracy\":[^,}]*//' $m" "$metrics"
    must_reject "test_accuracy off an evaluation round" \
        "sed -i '1s/}\$/,\"test_accuracy\":0.5}/' $m" "$metrics"
    must_reject "a reward above 1" "sed -i '1s/\"reward\":[^,}]*/\"reward\":1.5/' $m" "$metrics"
    must_reject "a negative client count" "sed -i '1s/\"clients\":[^,}]*/\"clients\":-1/' $m" "$metrics"
    must_reject "a summary avg_reward other than the last round's" \
        "sed -i 's/^  \"avg_reward\": /&1/' $s" "$metrics"
    must_reject "a short model_sha256" "sed -i 's/\"model_sha256\": \"../\"model_sha256\": \"/' $s" \
        'summary_sha "$WORK/bad"'
    must_reject "a summary without the config" "sed -i 's/\"config\"/\"konfig\"/' $s" "$summary"
    must_reject "a config with another seed" ":" 'check_summary_contract "$WORK/bad" 2'
    must_reject "a stdout digest that differs from the summary" \
        "sed 's/model_sha256=./model_sha256=g/' \"\$WORK/sim.good.out\" >\"\$WORK/bad/stdout\"" \
        'RUN_OUT=$WORK/bad/stdout; '"$summary"
    must_reject "an expected failure that succeeds" ":" \
        'expect_failure simulate --config "$CONFIGS/tiny_softmax.ini" --set run.rounds=1'
    must_reject "two lines on stderr" ":" 'FEDCB=$WORK/two_lines; expect_failure x'
    must_reject "a crash" ":" 'FEDCB=$WORK/crashes; expect_failure x'
    must_reject "a sanitizer report" ":" 'FEDCB=$WORK/sanitizer; expect_failure x'
    must_reject "a message without 'fedcb: '" ":" 'FEDCB=$WORK/no_prefix; expect_failure x'
    say "self-test: accepts a clean one-line failure"
    (FEDCB=$WORK/one_line && expect_failure x && message_has "bad thing") ||
        die "self-test: expect_failure or message_has rejects a clean one-line failure"
    must_reject "a message that misses the named item" ":" \
        'FEDCB=$WORK/one_line; expect_failure x; message_has "no-such-word"'
    say "all self-test checks passed"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    self_test "$@"
fi
