#!/bin/bash
# ctest fuzz_NAME: replays the target's kept regression inputs (each must
# now pass), then fuzzes for a bounded time from a fresh seed corpus (the
# seed command's output) plus those regressions. libFuzzer exits non-zero on
# a crash, a leak, a timeout, a sanitizer report or a broken contract; the
# offending input is kept in ARTIFACT_DIR.
# Usage: run_fuzz.sh FUZZER ARTIFACT_DIR REGRESSION_DIR SECONDS SEED_COMMAND [ARGS...]
#   (the seed command gets the corpus directory as its last argument)
set -u
fuzzer=$1
artifacts=$2
regressions=$3
seconds=$4
shift 4
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$artifacts"
"$@" "$corpus" || exit 1
flags=(-artifact_prefix="$artifacts/" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10)
dirs=("$corpus")
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
  echo "replaying $(ls -A "$regressions" | wc -l) regression inputs of $regressions"
  "$fuzzer" "${flags[@]}" "$regressions"/* || exit 1
  dirs+=("$regressions")
fi
"$fuzzer" "${flags[@]}" -max_total_time="$seconds" "${dirs[@]}"
