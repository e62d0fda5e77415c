#!/usr/bin/env bash
# The embeddable agent's decide: throughput and p50/p99 latency, logging off
# and on (SQLite store, sync FULL and NORMAL), 1 and 2 application threads,
# K = 10, dense d = 20 and 30 named features hashed into d = 20 and d = 1024,
# next to the bare arithmetic of one decision measured in the same run; then
# the cost of each part of a decision. Prints markdown (docs/performance.md,
# "Agent"). With PERF=1 and perf installed, also the top of a CPU profile per
# thread for dense d = 20, logging off and on, and 30 named features, logging off.
# Usage: bench/agent.sh [build-dir [seconds per run]]   (default: build-rel, 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-rel"}
seconds=${2:-2}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_agent >/dev/null
bench="$build/bench/bench_agent"
"$bench" "$seconds"

if [[ ${PERF:-0} == 1 ]]; then
  if ! command -v perf >/dev/null; then
    echo "PERF=1: perf is not installed (apt-get install linux-perf)" >&2
    exit 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  rate=4999
  for cell in "dense20 off 1" "dense20 full 1" "named20 off 1"; do
    echo
    echo "perf record -F $rate, bench_agent 3 $cell (fcb-decide: the application threads, the warm-up run then the measured one; the store writer has the program name):"
    # shellcheck disable=SC2086
    perf record -q -F $rate -o "$tmp/perf.data" -- "$bench" 3 $cell >"$tmp/row" 2>/dev/null
    tail -1 "$tmp/row"
    # Per thread (name/tid) that has at least 5 % of the samples: its top symbols.
    perf script -i "$tmp/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null |
      awk '{ thread = $1 "/" $2; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); gsub(/\(\/[^)]*\//, "(")
             sym = $0 == "" ? "[unknown]" : $0
             all++; total[thread]++; n[thread "\t" sym]++ }
           END { for (k in n) { split(k, p, "\t")
                                if (total[p[1]] >= 0.05 * all)
                                  printf "%s\t%d\t%d\t%s\n", p[1], total[p[1]], n[k], p[2] } }' |
      sort -t$'\t' -k1,1 -k3,3nr |
      awk -F'\t' -v rate=$rate '$1 != thread { thread = $1; shown = 0
                                               printf "  thread %s: %d samples (%.2f s of CPU)\n", $1, $2, $2 / rate }
                                 shown++ < 10 { printf "    %5.1f%%  %s\n", 100 * $3 / $2, $4 }'
  done
fi
