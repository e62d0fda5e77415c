#!/usr/bin/env bash
# libfedcb as the build makes it (libfedcb.so, libfedcb.a next to fedcb):
#  1. it exports only fcb_ symbols: the shared library's dynamic symbols and
#     the archive's global ones, the same set in both (not the protobuf-c
#     code, fedcb__*, nor any other helper), and defines every fcb_ symbol
#     it uses;
#  2. it leaves its host process alone: it uses no function that installs a
#     signal handler, touches the environment, tunes malloc, sets the BLAS
#     thread count or the locale, or changes the working directory or umask;
#  3. fcb_version() returns FCB_VERSION_STRING of fedcb/version.h, which is
#     the version of the fedcb program and the soname's.
# Both checks are shown to catch a violation: the protocols library exports
# fedcb__*, and the program's library installs signal handlers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
cli_init "$@"
lib_init

# foreign_exports FILE: the global symbols FILE defines that are not fcb_.
foreign_exports() {
    exported "$1" | grep -v '^fcb_' || true
}

PROCESS_WIDE='^(signal|sigaction|sigset|bsd_signal|sysv_signal|setenv|putenv|unsetenv|clearenv|mallopt|openblas_set_num_threads|goto_set_num_threads|omp_set_num_threads|setlocale|chdir|fchdir|umask)$'
# process_wide FILE: the process-wide functions FILE uses.
process_wide() {
    imported "$1" | grep -E "$PROCESS_WIDE" || true
}

say "libfedcb exports only fcb_ symbols"
for lib in "$LIB_SO" "$LIB_A"; do
    bad=$(foreign_exports "$lib")
    [[ -z $bad ]] || die "$(basename "$lib") exports $(wc -w <<<"$bad") symbols that are not fcb_: $(paste -sd " " <<<"$bad" | head -c 400)"
done
exported "$LIB_SO" >"$WORK/so.symbols"
exported "$LIB_A" >"$WORK/a.symbols"
so_count=$(wc -l <"$WORK/so.symbols")
a_count=$(wc -l <"$WORK/a.symbols")
for name in fcb_version fcb_status_name fcb_last_error; do
    grep -qx "$name" "$WORK/so.symbols" || die "libfedcb.so does not export $name"
done
diff "$WORK/so.symbols" "$WORK/a.symbols" >"$WORK/symbols.diff" ||
    { head -20 "$WORK/symbols.diff" >&2; die "libfedcb.so and libfedcb.a export different symbols (< .so, > .a)"; }
for lib in "$LIB_SO" "$LIB_A"; do
    bad=$(imported "$lib" | grep '^fcb_' || true)
    [[ -z $bad ]] || die "$(basename "$lib") uses fcb_ symbols it does not define (a part left out?): $(paste -sd " " <<<"$bad" | head -c 300)"
done
say "   nm -D --defined-only libfedcb.so: $so_count symbols, all fcb_"
say "   nm -g --defined-only libfedcb.a:  $a_count symbols, all fcb_ (the same)"
protocols=$BUILD/protocols/libfedcb_protocols.a
[[ -f $protocols ]] || die "$protocols is missing"
seen=$(foreign_exports "$protocols" | grep -c '^fedcb__' || true)
[[ $seen -gt 0 ]] || die "the check sees no fedcb__ symbol in libfedcb_protocols.a: it cannot fail"
say "self-test: the check sees $seen fedcb__ symbols exported by libfedcb_protocols.a"

say "libfedcb makes no process-wide call"
for lib in "$LIB_SO" "$LIB_A"; do
    bad=$(process_wide "$lib")
    [[ -z $bad ]] || die "$(basename "$lib") uses process-wide $(paste -sd " " <<<"$bad")"
    say "   $(basename "$lib"): $(imported "$lib" | wc -l) symbols used, none process-wide"
done
program_lib=$BUILD/cli/libfedcb_cli.a
[[ -f $program_lib ]] || die "$program_lib is missing"
seen=$(process_wide "$program_lib" | paste -sd ' ')
[[ $seen == *sigaction* ]] || die "the check does not see the program's library install signal handlers: it cannot fail"
say "self-test: the check sees the program's library use $seen"

say "fcb_version() is FCB_VERSION_STRING"
version_h=$SOURCE_DIR/include/fedcb/version.h
macro() {
    sed -n "s/^#define $1 \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$version_h"
}
major=$(macro FCB_VERSION_MAJOR)
minor=$(macro FCB_VERSION_MINOR)
patch=$(macro FCB_VERSION_PATCH)
version=$(macro FCB_VERSION_STRING)
[[ $version == "$major.$minor.$patch" ]] ||
    die "version.h: FCB_VERSION_STRING '$version' is not FCB_VERSION_MAJOR.MINOR.PATCH ($major.$minor.$patch)"
cat >"$WORK/version.c" <<'EOF'
#include <fedcb/fedcb.h>
#include <stdio.h>

int main(void)
{
    printf("%s %s %d\n", fcb_version(), FCB_VERSION_STRING, FCB_VERSION_NUMBER);
    return 0;
}
EOF
"$CC" -std=c99 "${PEDANTIC_C[@]}" "${SANITIZE[@]}" -I"$SOURCE_DIR/include" "$WORK/version.c" "$LIB_SO" \
    -o "$WORK/version" 2>"$WORK/version.err" || { cat "$WORK/version.err" >&2; die "a C program does not link against $LIB_SO"; }
got=$(LD_LIBRARY_PATH=$BUILD "$WORK/version") || die "the version program exited with status $?"
number=$((10000 * major + 100 * minor + patch))
[[ $got == "$version $version $number" ]] ||
    die "fcb_version(), FCB_VERSION_STRING, FCB_VERSION_NUMBER: '$got', expected '$version $version $number'"
program=$("$FEDCB" version)
[[ $program == "fedcb $version" ]] || die "fedcb version prints '$program', the library is $version"
if [[ $major == 0 ]]; then soname=libfedcb.so.$major.$minor; else soname=libfedcb.so.$major; fi
got_soname=$(readelf -d "$LIB_SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
[[ $got_soname == "$soname" ]] || die "libfedcb.so's soname is '$got_soname', expected $soname"
[[ $(readlink -f "$LIB_SO") == */libfedcb.so.$version ]] || die "libfedcb.so is not a link to libfedcb.so.$version"
say "   fcb_version() = FCB_VERSION_STRING = $version (FCB_VERSION_NUMBER $number), soname $soname, $program"
say "PASS: $so_count fcb_ symbols exported, none else"
