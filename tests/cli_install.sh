#!/usr/bin/env bash
# cmake --install: the build that made the fedcb under test is installed
# into a scratch prefix (the install step copies the files the build already
# made; nothing is compiled again), and the prefix must hold a bin/fedcb
# that runs, the man page share/man/man1/fedcb.1 that renders without a
# warning and covers every command and option that `fedcb help` and
# `fedcb COMMAND --help` list, share/doc/fedcb/*.md (docs/*.md) and
# share/fedcb/configs/*.ini (simulations/configs/*.ini), with which the
# installed fedcb runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"

BUILD=$(cd "$(dirname "$FEDCB")" && pwd)
PREFIX=$WORK/prefix
[[ -f $BUILD/cmake_install.cmake && -f $BUILD/CMakeCache.txt ]] ||
    die "$FEDCB is not at the top of a CMake build directory (no cmake_install.cmake in $BUILD)"
home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt")
[[ $(cd "$home" && pwd -P) == $(cd "$SOURCE_DIR" && pwd -P) ]] ||
    die "$BUILD is a build of $home, not of $SOURCE_DIR"

say "cmake --install $BUILD --prefix $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; die "cmake --install $BUILD failed"; }
outside=$(sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$WORK/install.log" | grep -v "^$PREFIX/" || true)
[[ -z $outside ]] || die "cmake --install wrote outside --prefix: $outside"

say "bin/fedcb runs"
INSTALLED=$PREFIX/bin/fedcb
[[ -x $INSTALLED ]] || die "$INSTALLED is missing or not executable"
want=$("$FEDCB" version)
got=$("$INSTALLED" version) || die "$INSTALLED version exited with status $?"
[[ $got == "$want" && $got == 'fedcb '?* ]] || die "$INSTALLED version printed '$got', expected '$want'"

say "share/doc/fedcb holds docs/*.md"
docs=0
for doc in "$SOURCE_DIR"/docs/*.md; do
    cmp -s "$doc" "$PREFIX/share/doc/fedcb/$(basename "$doc")" ||
        die "share/doc/fedcb/$(basename "$doc") is missing or differs from docs/$(basename "$doc")"
    docs=$((docs + 1))
done
[[ $docs -gt 0 ]] || die "no docs/*.md in $SOURCE_DIR"

say "share/fedcb/configs holds simulations/configs/*.ini"
configs=0
for config in "$SOURCE_DIR"/simulations/configs/*.ini; do
    cmp -s "$config" "$PREFIX/share/fedcb/configs/$(basename "$config")" ||
        die "share/fedcb/configs/$(basename "$config") is missing or differs from simulations/configs/"
    configs=$((configs + 1))
done
[[ $configs -gt 0 ]] || die "no simulations/configs/*.ini in $SOURCE_DIR"
"$INSTALLED" simulate --config "$PREFIX/share/fedcb/configs/smoke.ini" --set run.rounds=2 \
    >"$WORK/smoke.out" 2>"$WORK/smoke.err" ||
    { cat "$WORK/smoke.err" >&2; die "the installed fedcb fails on the installed smoke.ini"; }
grep -q 'model_sha256=' "$WORK/smoke.out" || die "the installed smoke run printed no result line"

say "share/man/man1/fedcb.1"
PAGE=$PREFIX/share/man/man1/fedcb.1
[[ -s $PAGE ]] || die "$PAGE is missing or empty"
cmp -s "$PAGE" "$SOURCE_DIR/docs/fedcb.1" || die "$PAGE differs from docs/fedcb.1"
head -n 20 "$PAGE" | grep -q '^\.TH FEDCB 1 ' || die "$PAGE has no '.TH FEDCB 1' header"
! LC_ALL=C grep -n '[^[:print:][:space:]]' "$PAGE" >&2 || die "$PAGE has non-ASCII characters (above)"
TEXT=$WORK/fedcb.1.txt
if command -v man >/dev/null; then
    renderer="man -l"
    LC_ALL=C MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings=w -l "$PAGE" >"$TEXT" 2>"$WORK/render.err" ||
        { cat "$WORK/render.err" >&2; die "man -l $PAGE failed"; }
elif command -v groff >/dev/null; then
    renderer="groff -man -Tascii"
    LC_ALL=C groff -man -Tascii -ww -P-cbou "$PAGE" >"$TEXT" 2>"$WORK/render.err" ||
        { cat "$WORK/render.err" >&2; die "groff -man $PAGE failed"; }
else
    renderer=""
fi
if [[ -n $renderer ]]; then
    say "rendered with $renderer"
    [[ ! -s $WORK/render.err ]] || { cat "$WORK/render.err" >&2; die "$renderer $PAGE warns (above)"; }
    for section in NAME SYNOPSIS DESCRIPTION COMMANDS CONFIGURATION FILES 'EXIT STATUS' ENVIRONMENT EXAMPLES \
        'SEE ALSO'; do
        grep -qx "$section" "$TEXT" || die "the man page has no $section section"
    done
else
    say "neither man nor groff is installed: checking the source only"
    # The page's text without roff's escaped hyphens; one .SS per command.
    sed 's/\\-/-/g' "$PAGE" >"$TEXT"
fi
# Justified lines stretch spaces: compare with runs of spaces squeezed.
tr -s ' ' <"$TEXT" >"$TEXT.squeezed"

# The commands as `fedcb help` lists them: "  NAME options..." lines.
"$FEDCB" help >"$WORK/help.out"
mapfile -t commands < <(sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' "$WORK/help.out")
[[ ${#commands[@]} -ge 8 ]] || die "fedcb help lists ${#commands[@]} commands: ${commands[*]}"

# section_text COMMAND: the rendered COMMANDS subsection of COMMAND (its
# heading is the name alone, indented by three spaces).
section_text() {
    awk -v name="$1" '
        $0 == "   " name { inside = 1; next }
        inside && (/^   [a-z][a-z-]*$/ || /^[A-Z]/) { exit }
        inside { print }' "$TEXT"
}

# has_item FILE OPTION: OPTION is documented in FILE: rendered, as the tag
# of an indented paragraph (.TP), seven columns in; else anywhere.
has_item() {
    if [[ -n $renderer ]]; then
        grep -qE -- "^ {7}$2( |\$)" "$1"
    else
        grep -qF -- "$2" "$1"
    fi
}

# --config and --set are described once, for every command.
for option in --config --set; do
    has_item "$TEXT" "$option" || die "the man page does not describe $option"
done
for command in "${commands[@]}"; do
    if [[ -n $renderer ]]; then
        section_text "$command" >"$WORK/section.txt"
        [[ -s $WORK/section.txt ]] || die "the man page's COMMANDS has no subsection '$command'"
    else
        grep -qx "\\.SS $command" "$PAGE" || die "the man page has no '.SS $command'"
        cp "$TEXT" "$WORK/section.txt"
    fi
    tr -s ' ' <"$WORK/section.txt" | grep -qF "fedcb $command" ||
        die "the man page's '$command' does not show 'fedcb $command'"
    "$FEDCB" help "$command" >"$WORK/usage.txt"
    missing=()
    while IFS= read -r option; do
        [[ $option == --config || $option == --set ]] && continue
        has_item "$WORK/section.txt" "$option" || missing+=("$option")
    done < <(grep -o -- '--[a-z][a-z-]*' "$WORK/usage.txt" | sort -u)
    [[ ${#missing[@]} -eq 0 ]] || die "the man page's '$command' does not describe ${missing[*]}"
done
for word in GRPC_VERBOSITY OPENBLAS_NUM_THREADS 'network.mode = real' config.md; do
    grep -qF -- "$word" "$TEXT.squeezed" || die "the man page does not mention '$word'"
done
say "PASS: ${#commands[@]} commands, $docs docs and $configs configs installed"
