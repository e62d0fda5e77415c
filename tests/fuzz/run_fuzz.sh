#!/bin/bash
# ctest fuzz_wire: seeds a fresh corpus and runs the fuzzer for a bounded
# time. libFuzzer exits non-zero on a crash, a leak, a sanitizer report or a
# broken contract; the offending input is kept in ARTIFACT_DIR.
# Usage: run_fuzz.sh FUZZER MAKE_CORPUS ARTIFACT_DIR [libFuzzer flags...]
set -u
fuzzer=$1
make_corpus=$2
artifacts=$3
shift 3
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$artifacts"
"$make_corpus" "$corpus" || exit 1
"$fuzzer" -artifact_prefix="$artifacts/" "$@" "$corpus"
