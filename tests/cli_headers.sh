#!/usr/bin/env bash
# The public headers (include/fedcb/*.h) as an application meets them: the
# umbrella fedcb/fedcb.h includes every other one; each header alone (twice,
# for its include guard) compiles as C99 and C11 with -Wall -Wextra -Werror
# -pedantic and the project's C warnings (PEDANTIC_C) and as C++11 and C++17 with -Wall -Wextra
# -Werror -pedantic, from include/ alone (no private header); and a C++
# program that takes the address of every function the headers declare and
# libfedcb.so defines links against it (extern "C": no mangled name) and
# runs, printing fcb_version().
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
cli_init "$@"
lib_init

INCLUDE=$SOURCE_DIR/include
mapfile -t headers < <(cd "$INCLUDE" && ls fedcb/*.h)
[[ ${#headers[@]} -ge 3 ]] || die "found only ${#headers[@]} headers in $INCLUDE/fedcb"
for h in fedcb/fedcb.h fedcb/version.h fedcb/status.h; do
    [[ -f $INCLUDE/$h ]] || die "$INCLUDE/$h is missing"
done

say "the umbrella fedcb/fedcb.h includes every public header"
for h in "${headers[@]}"; do
    [[ $h == fedcb/fedcb.h ]] && continue
    grep -Eq "^#include [\"<]${h}[\">]" "$INCLUDE/fedcb/fedcb.h" || die "fedcb/fedcb.h does not include $h"
done

say "each header compiles alone: C99, C11, C++11, C++17 (${#headers[@]} headers)"
compiles=0
for h in "${headers[@]}"; do
    name=$(basename "$h" .h)
    printf '#include <%s>\n#include <%s>\n' "$h" "$h" >"$WORK/$name.c"
    cp "$WORK/$name.c" "$WORK/$name.cpp"
    for std in c99 c11; do
        "$CC" -std=$std "${PEDANTIC_C[@]}" -I"$INCLUDE" -c "$WORK/$name.c" -o "$WORK/$name.o" \
            2>"$WORK/compile.err" || { cat "$WORK/compile.err" >&2; die "$h does not compile as $std"; }
        compiles=$((compiles + 1))
    done
    for std in c++11 c++17; do
        "$CXX" -std=$std "${PEDANTIC[@]}" -I"$INCLUDE" -c "$WORK/$name.cpp" -o "$WORK/$name.o" \
            2>"$WORK/compile.err" || { cat "$WORK/compile.err" >&2; die "$h does not compile as $std"; }
        compiles=$((compiles + 1))
    done
done

# The functions the headers declare: fcb_NAME( in the preprocessed umbrella
# (comments gone). Those libfedcb.so does not define (yet) are named.
"$CC" -std=c11 -E -P -I"$INCLUDE" -x c "$INCLUDE/fedcb/fedcb.h" >"$WORK/umbrella.i"
grep -oE '\bfcb_[A-Za-z0-9_]+[[:space:]]*\(' "$WORK/umbrella.i" | sed 's/[[:space:]]*($//' | sort -u >"$WORK/declared"
grep -qx fcb_version "$WORK/declared" || die "the headers declare no fcb_version()"
exported "$LIB_SO" >"$WORK/exported"
comm -12 "$WORK/declared" "$WORK/exported" >"$WORK/linkable"
missing=$(comm -23 "$WORK/declared" "$WORK/exported" | tr '\n' ' ')
[[ -z $missing ]] || die "declared in the headers but not defined by libfedcb.so: $missing"

say "a C++ program links $(wc -l <"$WORK/linkable") declared functions from libfedcb.so and runs"
{
    printf '#include <fedcb/fedcb.h>\n#include <cstdio>\n#include <cstring>\n\n'
    printf 'typedef void (*any_function)();\nstatic const any_function functions[] = {\n'
    sed 's/.*/    reinterpret_cast<any_function>(\&&),/' "$WORK/linkable"
    printf '};\n\nint main()\n{\n'
    printf '    for (any_function f : functions)\n        if (!f)\n            return 1;\n'
    printf '    std::printf("%%s %%s\\n", fcb_version(), fcb_status_name(FCB_OK));\n'
    printf '    return std::strcmp(fcb_version(), FCB_VERSION_STRING) == 0 ? 0 : 2;\n}\n'
} >"$WORK/app.cpp"
"$CXX" -std=c++11 "${PEDANTIC[@]}" "${SANITIZE[@]}" -I"$INCLUDE" "$WORK/app.cpp" "$LIB_SO" -o "$WORK/app" \
    2>"$WORK/link.err" || { cat "$WORK/link.err" >&2; die "a C++ program does not link against $LIB_SO"; }
needed "$WORK/app" | grep -qx 'libfedcb\.so\..*' || die "the C++ program does not need libfedcb.so: $(needed "$WORK/app" | tr '\n' ' ')"
out=$(LD_LIBRARY_PATH=$BUILD "$WORK/app") || die "the C++ program exited with status $?"
version=$(sed -n 's/^#define FCB_VERSION_STRING "\(.*\)"$/\1/p' "$INCLUDE/fedcb/version.h")
[[ $out == "$version "?* ]] || die "the C++ program printed '$out', expected '$version ...'"
say "   $out"
say "PASS: ${#headers[@]} headers, $compiles compilations, $(wc -l <"$WORK/linkable") functions linked from C++"
