#!/usr/bin/env bash
# cmake --install, the library side (tests/cli_install.sh checks the
# program's): the build installed into a scratch prefix holds
#   lib/libfedcb.so (-> .so.SOVERSION -> .so.VERSION) and lib/libfedcb.a,
#   include/fedcb/*.h (the source's include/fedcb/, nothing else),
#   lib/pkgconfig/fedcb.pc and lib/cmake/fedcb/*.cmake,
# with no path of the source or build tree and no sanitizer flag in them.
# Against that prefix alone:
#   - a C program built with `pkg-config --cflags --libs fedcb` and nothing
#     else links libfedcb.so of the prefix, runs and prints fcb_version();
#     with `pkg-config --static` it links libfedcb.a and runs;
#   - a CMake project with find_package(fedcb 0.x REQUIRED COMPONENTS net)
#     builds programs on fedcb::fedcb, fedcb::net and fedcb::fedcb_static;
#     an unknown component or an incompatible version is not found.
# In a FEDCB_SANITIZE build the programs are linked with the sanitizers
# (their libfedcb needs the runtimes); fedcb.pc itself has no such flag.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
cli_init "$@"
lib_init
command -v pkg-config >/dev/null || die "pkg-config is needed"

version=$(sed -n 's/^#define FCB_VERSION_STRING "\(.*\)"$/\1/p' "$SOURCE_DIR/include/fedcb/version.h")
[[ $version =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || die "no FCB_VERSION_STRING in include/fedcb/version.h"
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}

say "cmake --install $BUILD --prefix $WORK/prefix"
install_prefix "$WORK/prefix"

say "the prefix holds libfedcb, its headers and package files"
[[ -f $LIBDIR/libfedcb.so.$version && ! -L $LIBDIR/libfedcb.so.$version ]] || die "$LIBDIR/libfedcb.so.$version is missing"
[[ $(readlink -f "$LIBDIR/libfedcb.so") == "$(readlink -f "$LIBDIR/libfedcb.so.$version")" ]] ||
    die "$LIBDIR/libfedcb.so does not lead to libfedcb.so.$version"
[[ -f $LIBDIR/libfedcb.a ]] || die "$LIBDIR/libfedcb.a is missing"
for lib in "$LIBDIR/libfedcb.so" "$LIBDIR/libfedcb.a"; do
    bad=$(exported "$lib" | grep -v '^fcb_' || true)
    [[ -z $bad ]] || die "the installed $(basename "$lib") exports symbols that are not fcb_: $(paste -sd " " <<<"$bad" | head -c 300)"
done
headers=0
for h in "$SOURCE_DIR"/include/fedcb/*.h; do
    cmp -s "$h" "$PREFIX/include/fedcb/$(basename "$h")" ||
        die "include/fedcb/$(basename "$h") is missing from the prefix or differs from the source's"
    headers=$((headers + 1))
done
installed_headers=$(find "$PREFIX/include" -type f | wc -l)
[[ $installed_headers -eq $headers ]] ||
    die "the prefix's include/ holds $installed_headers files, the source's include/fedcb/ $headers: $(find "$PREFIX/include" -type f)"
[[ -f $PREFIX/include/fedcb/fedcb.h ]] || die "no umbrella include/fedcb/fedcb.h in the prefix"
for f in fedcb-config.cmake fedcb-config-version.cmake fedcb-targets.cmake; do
    [[ -f $LIBDIR/cmake/fedcb/$f ]] || die "$LIBDIR/cmake/fedcb/$f is missing"
done
package_files=("$LIBDIR/pkgconfig/fedcb.pc" "$LIBDIR"/cmake/fedcb/*.cmake)
for tree in "$SOURCE_DIR" "$BUILD"; do
    bad=$(grep -lF "$tree" "${package_files[@]}" || true)
    [[ -z $bad ]] || die "installed package files name $tree: $bad"
done
! grep -n 'sanitize' "${package_files[@]}" >&2 || die "installed package files carry sanitizer flags (above)"

say "pkg-config fedcb: the prefix's paths; links libfedcb alone (its dependencies are private)"
got=$(prefix_pkg_config --modversion fedcb)
[[ $got == "$version" ]] || die "pkg-config --modversion fedcb is '$got', expected $version"
cflags=$(prefix_pkg_config --cflags fedcb)
libs=$(prefix_pkg_config --libs fedcb)
static_libs=$(prefix_pkg_config --static --libs fedcb)
say "   --cflags: $cflags"
say "   --libs:   $libs"
# (pkg-config adds the Cflags of the Requires.private modules.)
[[ $cflags =~ ^-I([^ ]+) && $(readlink -f "${BASH_REMATCH[1]}") == $(readlink -f "$PREFIX/include") ]] ||
    die "pkg-config --cflags fedcb is '$cflags', expected -I$PREFIX/include first"
[[ $libs =~ ^-L([^ ]+)[[:space:]]+-lfedcb[[:space:]]*$ && $(readlink -f "${BASH_REMATCH[1]}") == $(readlink -f "$LIBDIR") ]] ||
    die "pkg-config --libs fedcb is '$libs', expected -L$LIBDIR -lfedcb"
for lib in -lopenblas -lgrpc -lgpr -lprotobuf-c -lssl -lcrypto -lsqlite3 -lz -linih -lm; do
    [[ " $static_libs " == *" $lib "* ]] || die "pkg-config --static --libs fedcb does not give $lib: $static_libs"
done

cat >"$WORK/hello.c" <<'EOF'
#include <fedcb/fedcb.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("fedcb %s\n", fcb_version());
    return strcmp(fcb_version(), FCB_VERSION_STRING) == 0 ? 0 : 1;
}
EOF

# uses_prefix_library PROGRAM: PROGRAM loads libfedcb.so from the prefix.
uses_prefix_library() {
    local path
    path=$(run_against_prefix ldd "$1" | sed -n 's/^[[:space:]]*libfedcb\.so[^ ]* => \([^ ]*\) .*/\1/p')
    [[ -n $path && $(readlink -f "$path") == $(readlink -f "$LIBDIR/libfedcb.so") ]] ||
        die "$(basename "$1") loads libfedcb.so from '$path', not from $LIBDIR"
}
# prints_version PROGRAM: PROGRAM runs and prints "fedcb VERSION".
prints_version() {
    local out
    out=$(run_against_prefix "$1") || die "$(basename "$1") exited with status $?"
    [[ $out == "fedcb $version" ]] || die "$(basename "$1") printed '$out', expected 'fedcb $version'"
}

say "a C program built with pkg-config alone: shared"
build_against_prefix "$WORK/hello.c"
uses_prefix_library "$BUILT"
prints_version "$BUILT"
say "   $(run_against_prefix "$BUILT")"

say "a C program built with pkg-config --static: libfedcb.a"
build_against_prefix --static "$WORK/hello.c"
! needed "$BUILT" | grep -q '^libfedcb' || die "$(basename "$BUILT") needs libfedcb.so: it did not link libfedcb.a"
prints_version "$BUILT"

say "CMake: find_package(fedcb $major.$minor REQUIRED COMPONENTS net)"
mkdir -p "$WORK/consumer"
cp "$WORK/hello.c" "$WORK/consumer/hello.c"
cat >"$WORK/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(fedcb_consumer LANGUAGES C)
set(CMAKE_C_STANDARD 99)
set(CMAKE_C_EXTENSIONS OFF)
add_compile_options(${PEDANTIC_C[*]})
find_package(fedcb $major.$minor REQUIRED COMPONENTS net)
foreach(target fedcb::fedcb fedcb::fedcb_static fedcb::net)
  if(NOT TARGET \${target})
    message(FATAL_ERROR "find_package(fedcb) gave no \${target}")
  endif()
endforeach()
add_executable(hello_shared hello.c)
target_link_libraries(hello_shared PRIVATE fedcb::fedcb)
add_executable(hello_net hello.c)
target_link_libraries(hello_net PRIVATE fedcb::net)
add_executable(hello_static hello.c)
target_link_libraries(hello_static PRIVATE fedcb::fedcb_static)
EOF
cmake_against_prefix "$WORK/consumer" "$WORK/consumer-build" ||
    { cat "$WORK/consumer-build.log" >&2; die "the CMake project does not build against $PREFIX"; }
found=$(sed -n 's/^fedcb_DIR:PATH=//p' "$WORK/consumer-build/CMakeCache.txt")
[[ $(readlink -f "$found") == $(readlink -f "$LIBDIR/cmake/fedcb") ]] || die "find_package(fedcb) found $found, not the prefix's"
for program in hello_shared hello_net; do
    uses_prefix_library "$WORK/consumer-build/$program"
    prints_version "$WORK/consumer-build/$program"
done
! needed "$WORK/consumer-build/hello_static" | grep -q '^libfedcb' || die "hello_static needs libfedcb.so: fedcb::fedcb_static is not libfedcb.a"
prints_version "$WORK/consumer-build/hello_static"
say "   fedcb::fedcb, fedcb::net and fedcb::fedcb_static programs run"

say "CMake: an unknown component or an incompatible version is not found"
mkdir -p "$WORK/unknown"
cat >"$WORK/unknown/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(fedcb_unknown LANGUAGES C)
find_package(fedcb REQUIRED COMPONENTS net no_such_part)
EOF
if cmake_against_prefix "$WORK/unknown" "$WORK/unknown-build"; then
    die "find_package(fedcb REQUIRED COMPONENTS net no_such_part) succeeded"
fi
grep -q 'no component no_such_part' "$WORK/unknown-build.log" ||
    { cat "$WORK/unknown-build.log" >&2; die "find_package with an unknown component failed without naming it"; }
say "   $(grep -m1 -o 'fedcb has no component no_such_part.*' "$WORK/unknown-build.log")"
mkdir -p "$WORK/optional"
cat >"$WORK/optional/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(fedcb_optional LANGUAGES C)
find_package(fedcb QUIET COMPONENTS no_such_part)
if(fedcb_FOUND)
  message(FATAL_ERROR "find_package(fedcb COMPONENTS no_such_part) found fedcb")
endif()
find_package(fedcb $((major + 1)).0 QUIET)
if(fedcb_FOUND)
  message(FATAL_ERROR "find_package(fedcb $((major + 1)).0) found fedcb $version")
endif()
find_package(fedcb $major.$minor REQUIRED OPTIONAL_COMPONENTS no_such_part)
if(fedcb_no_such_part_FOUND)
  message(FATAL_ERROR "an optional unknown component was found")
endif()
EOF
cmake_against_prefix "$WORK/optional" "$WORK/optional-build" ||
    { cat "$WORK/optional-build.log" >&2; die "find_package(fedcb) with an unknown or optional component misbehaves"; }
say "PASS: libfedcb $version installed with $headers headers; pkg-config (shared, static) and find_package (fedcb, net, static) build against it"
