#!/usr/bin/env bash
# Installs what is missing, builds Debug with ASan and UBSan, and runs every
# test; the networked run is also checked under valgrind with a second,
# uninstrumented Debug build of fedcb, and the threaded parts (ctest label
# tsan) under ThreadSanitizer with a third. Every build has -Werror
# (FEDCB_WERROR).
# Usage: scripts/test.sh [ctest arguments, e.g. -R test_policy]
set -euo pipefail
# Nothing here reads standard input; CI runners may give none at all.
exec </dev/null
root=$(cd "$(dirname "$0")/.." && pwd)
# clang and libclang-rt-14-dev (its libFuzzer runtime) build the libFuzzer
# targets (tests/fuzz/, in build-test/fuzz); without them every fuzz_* test
# fails. iproute2 makes the network namespaces
# of the deployment test (tests/cli_deployment.sh). g++ compiles the public
# headers as C++ (tests/cli_headers.sh). python3 and python3-numpy run the
# Python module's test (tests/cli_python.sh), numpy cases included.
"$root/scripts/install-deps.sh" dataset-fashion-mnist gnuplot-nox valgrind clang libclang-rt-14-dev jq iproute2 g++ \
  python3 python3-numpy

valgrind_build="$root/build-valgrind"
cmake -S "$root" -B "$valgrind_build" -DCMAKE_BUILD_TYPE=Debug -DFEDCB_WERROR=ON -DFEDCB_BUILD_TESTS=OFF >/dev/null
cmake --build "$valgrind_build" -j"$(nproc)" --target fedcb

build="$root/build-test"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFEDCB_SANITIZE=ON -DFEDCB_WERROR=ON \
  -DFEDCB_VALGRIND_BINARY="$valgrind_build/fedcb" >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"

# ---- ThreadSanitizer: the threaded parts (tests/tsan.cmake, label tsan) ----
tsan_build="$root/build-tsan"
cmake -S "$root" -B "$tsan_build" -DCMAKE_BUILD_TYPE=Debug -DFEDCB_TSAN=ON -DFEDCB_WERROR=ON >/dev/null
cmake --build "$tsan_build" -j"$(nproc)"
# TSan's shadow memory sits at fixed addresses; with more ASLR entropy than
# its runtime expects (vm.mmap_rnd_bits above 28: 32 on some kernels since
# 6.6; gcc 12's runtime does not re-execute itself without ASLR) a
# program dies at start with "unexpected memory mapping". setarch -R turns
# address randomization off for ctest and everything it starts; where that
# is not permitted (a container's seccomp profile), tests run as they are.
no_aslr=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  no_aslr=(setarch "$(uname -m)" -R)
fi
cd "$tsan_build"
"${no_aslr[@]}" ctest --output-on-failure -j"$(nproc)" -L tsan "$@"
