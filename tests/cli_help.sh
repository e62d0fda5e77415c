#!/usr/bin/env bash
# fedcb's help and usage errors: `fedcb help`, `fedcb --help` and `-h` list
# every command; for every command that `fedcb help` lists, `fedcb COMMAND
# --help` (and -h) and `fedcb help COMMAND` exit 0 with the command's usage,
# starting "usage: fedcb COMMAND", on stdout and nothing on stderr; no
# command, an unknown command, and an unknown option of each command exit 2
# with one line on stderr that says where to look (`fedcb help`, `fedcb
# COMMAND --help`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"

EXPECTED=(simulate coordinator client bench ope pretrain evaluate partition version help)

# help_ok NAME ARGS...: fedcb ARGS exits 0 with something on stdout and
# nothing on stderr.
help_ok() {
    local name=$1
    shift
    run_fedcb "$name" "$@"
    check_no_sanitizer_report "$@"
    [[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb $* exited with status $RC"; }
    [[ ! -s $RUN_ERR ]] || die "fedcb $* wrote to stderr: $(head -c 300 "$RUN_ERR")"
    [[ -s $RUN_OUT ]] || die "fedcb $* printed nothing"
}

# usage_error ARGS...: fedcb ARGS exits 2 with one "fedcb: " line on stderr
# (left in ERR_LINE) and nothing on stdout.
usage_error() {
    expect_failure "$@"
    [[ $RC -eq 2 ]] || die "fedcb $* exited with status $RC; a usage error exits 2"
}

say "fedcb help, --help and -h list every command"
help_ok list help
listed=$(sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' "$RUN_OUT")
mapfile -t commands <<<"$listed"
head -n 1 "$RUN_OUT" | grep -q '^usage: fedcb ' || die "fedcb help does not start with 'usage: fedcb '"
for command in "${EXPECTED[@]}"; do
    grep -qx "$command" <<<"$listed" || die "fedcb help does not list '$command'"
done
cp "$RUN_OUT" "$WORK/help.txt"
for flag in --help -h; do
    help_ok "list$flag" "$flag"
    cmp -s "$RUN_OUT" "$WORK/help.txt" || die "fedcb $flag differs from fedcb help"
done

for command in "${commands[@]}"; do
    say "$command"
    help_ok "help-$command" help "$command"
    [[ $(head -n 1 "$RUN_OUT") == "usage: fedcb $command"* ]] ||
        die "fedcb help $command does not start with 'usage: fedcb $command': $(head -n 1 "$RUN_OUT")"
    grep -qF "  $command" "$WORK/help.txt" || die "fedcb help does not show $command's usage"
    cp "$RUN_OUT" "$WORK/usage-$command.txt"
    # `version` and `help` are no runners: --help does not apply to them.
    [[ $command == version || $command == help ]] && continue
    for flag in --help -h; do
        help_ok "$command$flag" "$command" "$flag"
        cmp -s "$RUN_OUT" "$WORK/usage-$command.txt" ||
            die "fedcb $command $flag differs from fedcb help $command"
    done
    # --help wins wherever it is, even after an option fedcb does not know.
    help_ok "$command-late-help" "$command" --no-such-option --help
    cmp -s "$RUN_OUT" "$WORK/usage-$command.txt" || die "fedcb $command --no-such-option --help is not the usage"

    usage_error "$command" --no-such-option
    message_has "--no-such-option" "fedcb $command --help"
done

say "usage errors outside a command"
usage_error
message_has "fedcb help"
usage_error no-such-command
message_has "no-such-command" "fedcb help"
usage_error --no-such-option
message_has "--no-such-option" "fedcb help"
say "PASS: ${#commands[@]} commands"
