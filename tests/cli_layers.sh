# The dependency graph is the trust boundary (docs: the design's layers):
#  1. no library of client/, coordinator/, protocols/ or models/ uses a
#     symbol that simulations/ or the program (cli/) defines, and none of
#     their sources includes a header of simulations/ or cli/;
#  2. no library (simulations/ included) calls a process-wide function
#     (signals, environment, malloc tuning, BLAS thread count): only the
#     program's cli/process.c does.
# The check is shown to catch a violation: the program's own library, which
# uses simulations by design, must fail it.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
BUILD=$(dirname "$FEDCB")
command -v nm >/dev/null || die "nm (binutils) is needed"

lib() {
    local path=$BUILD/$1
    [[ -f $path ]] || die "library $path is missing (built with the default targets?)"
    printf '%s' "$path"
}

defined() {
    nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $2 != "U" {print $3}' | sort -u
}

undefined() {
    nm -g --undefined-only "$1" 2>/dev/null | awk '{print $NF}' | sort -u
}

FORBIDDEN=$WORK/forbidden
defined "$(lib simulations/libfedcb_simulations.a)" "$(lib cli/libfedcb_cli.a)" >"$FORBIDDEN"
[[ $(wc -l <"$FORBIDDEN") -gt 50 ]] || die "found almost no symbols in simulations/ and cli/"

# uses_forbidden LIB: the symbols LIB uses that simulations/ or cli/ define.
uses_forbidden() {
    comm -12 <(undefined "$1") "$FORBIDDEN"
}

for name in client/libfedcb_client.a client/libfedcb_net_client.a coordinator/libfedcb_coordinator.a \
    coordinator/libfedcb_net_coordinator.a protocols/libfedcb_protocols.a models/libfedcb_models.a; do
    bad=$(uses_forbidden "$(lib "$name")")
    [[ -z $bad ]] || die "$name uses symbols of simulations/ or cli/: $(echo $bad | head -c 300)"
    say "$name: $(undefined "$(lib "$name")" | grep -c '^fcb_') fcb_ symbols used, none of simulations/ or cli/"
done

self=$(uses_forbidden "$(lib cli/libfedcb_cli.a)" | grep -c '^fcb_world' || true)
[[ $self -gt 0 ]] || die "the check does not see cli/ using simulations/ (fcb_world_*): it cannot fail"
say "self-test: cli/ uses $self fcb_world_* symbols of simulations/, and the check sees it"

headers=$(cd "$SOURCE_DIR" && ls simulations/*.h cli/*.h | xargs -n1 basename)
for dir in client coordinator protocols models; do
    for h in $headers; do
        if grep -l "#include \"$h\"" "$SOURCE_DIR/$dir"/*.[ch] >/dev/null 2>&1; then
            die "$dir/$(grep -l "#include \"$h\"" "$SOURCE_DIR/$dir"/*.[ch] | head -1 | xargs basename) includes $h"
        fi
    done
done
say "no source of client/, coordinator/, protocols/ or models/ includes a header of simulations/ or cli/"

PROCESS_WIDE='^(signal|sigaction|setenv|putenv|unsetenv|mallopt|openblas_set_num_threads|goto_set_num_threads|omp_set_num_threads|chdir|umask)$'
for name in client/libfedcb_client.a client/libfedcb_net_client.a coordinator/libfedcb_coordinator.a \
    coordinator/libfedcb_net_coordinator.a protocols/libfedcb_protocols.a models/libfedcb_models.a \
    simulations/libfedcb_simulations.a; do
    bad=$(undefined "$(lib "$name")" | grep -E "$PROCESS_WIDE" || true)
    [[ -z $bad ]] || die "$name calls process-wide $(echo $bad)"
done
calls=$(nm -A --undefined-only "$(lib cli/libfedcb_cli.a)" | grep -E ' U (sigaction|setenv|mallopt|openblas_set_num_threads)$' |
    cut -d: -f2 | sort -u | tr '\n' ' ')
[[ $calls == "process.c.o " ]] || die "process-wide calls in the program outside process.c: $calls"
say "process-wide calls: only cli/process.c"
say "PASS"
