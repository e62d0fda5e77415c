#!/usr/bin/env bash
# Recovery of each policy from the drift of a `fedcb bench` run of
# bench/suites/drift.ini (or any suite whose cells use a [drift] schedule).
#
#   bench/drift_recovery.sh DIR        # DIR = the bench's --out directory
#
# Reads DIR/cells/SCENARIO/POLICY/seed-N/metrics.jsonl and the drift
# schedule from each cell's summary.json. Prints markdown tables:
# - a schedule with a change round (permutation, gradual, late_classes; the
#   change round is drift.start + 1 in metrics' 1-based rounds): per policy,
#   the mean reward per round over the rounds before the change, the minimum
#   round reward from the change on, and the rounds from the change until the
#   first round, at or after that minimum, whose reward reaches 90 % of the
#   pre-change mean ("not within N rounds" when a seed never gets there, N
#   being the rounds from the change to the end); each the mean over seeds;
# - the periodic prior drift: the mean reward per round over each half
#   period (drift.period / 2 rounds), mean over seeds.
# Needs jq and awk.
set -euo pipefail

dir=${1:?usage: bench/drift_recovery.sh DIR (a fedcb bench --out directory)}
[[ -d $dir/cells ]] || { echo "drift_recovery.sh: $dir/cells: no such directory" >&2; exit 1; }
command -v jq >/dev/null || { echo "drift_recovery.sh: needs jq" >&2; exit 1; }

# A cell still running (or cut short) is left out.
complete() { # metrics.jsonl rounds
    [[ -f $1 && $(wc -l <"$1") -ge $2 ]]
}

# One line per seed: pre min recovered(rounds or -1) horizon
change_stats() { # metrics.jsonl change_round
    jq -rs --argjson c "$2" '
        (map(select(.round < $c) | .reward)) as $pre_r
        | (map(select(.round >= $c))) as $after
        | ($pre_r | add / length) as $pre
        | ($after | min_by(.reward)) as $low
        | ([$after[] | select(.round >= $low.round and .reward >= 0.9 * $pre) | .round] | first) as $back
        | [$pre, $low.reward, (if $back == null then -1 else $back - $c end), ($after | length)] | @tsv' "$1"
}

# One line per seed: the mean reward of each half period, tab-separated.
half_stats() { # metrics.jsonl half
    jq -rs --argjson h "$2" '
        group_by((.round - 1) / $h | floor) | map(map(.reward) | add / length) | @tsv' "$1"
}

for scenario_dir in "$dir"/cells/*/; do
    scenario=$(basename "$scenario_dir")
    first=$(ls -d "$scenario_dir"*/seed-*/summary.json 2>/dev/null | head -1)
    [[ -n $first ]] || continue
    kind=$(jq -r '.config.drift.kind' "$first")
    start=$(jq -r '.config.drift.start' "$first")
    period=$(jq -r '.config.drift.period' "$first")
    rounds=$(jq -r '.rounds' "$first")
    case $kind in
    permutation | gradual | late_classes)
        change=$((start + 1))
        echo "### $scenario ($kind from round $change of $rounds)"
        echo
        echo "| policy | seeds | reward before (rounds 1–$((change - 1))) | minimum from round $change | rounds to 90 % of before |"
        echo "|---|---|---|---|---|"
        for policy_dir in "$scenario_dir"*/; do
            policy=$(basename "$policy_dir")
            for m in "$policy_dir"seed-*/metrics.jsonl; do
                complete "$m" "$rounds" && change_stats "$m" "$change"
            done | awk -F'\t' -v policy="$policy" '
                { n++; pre += $1; low += $2; horizon = $4
                  if ($3 < 0) missed++; else back += $3 }
                END {
                  if (n == 0) exit
                  rec = missed ? sprintf("not within %d rounds (%d of %d seeds)", horizon, missed, n) \
                               : sprintf("%.1f", back / n)
                  printf "| %s | %d | %.4f | %.4f | %s |\n", policy, n, pre / n, low / n, rec }'
        done
        echo
        ;;
    prior)
        half=$((period / 2))
        [[ $half -ge 1 ]] || half=1
        echo "### $scenario (class-prior drift, period $period rounds: mean reward per half period of $half rounds)"
        echo
        header="| policy | seeds |"
        rule="|---|---|"
        for ((lo = 1; lo <= rounds; lo += half)); do
            hi=$((lo + half - 1 < rounds ? lo + half - 1 : rounds))
            header+=" $lo–$hi |"
            rule+="---|"
        done
        echo "$header"
        echo "$rule"
        for policy_dir in "$scenario_dir"*/; do
            policy=$(basename "$policy_dir")
            for m in "$policy_dir"seed-*/metrics.jsonl; do
                complete "$m" "$rounds" && half_stats "$m" "$half"
            done | awk -F'\t' -v policy="$policy" '
                { n++; for (i = 1; i <= NF; i++) sum[i] += $i; if (NF > cols) cols = NF }
                END {
                  if (n == 0) exit
                  line = sprintf("| %s | %d |", policy, n)
                  for (i = 1; i <= cols; i++) line = line sprintf(" %.4f |", sum[i] / n)
                  print line }'
        done
        echo
        ;;
    *)
        echo "### $scenario (drift.kind = $kind: no change round, skipped)"
        echo
        ;;
    esac
done
