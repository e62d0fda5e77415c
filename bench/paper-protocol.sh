#!/usr/bin/env bash
# The paper-protocol study, every choice made on the validation split:
#   1. client and server learning rates per scenario (suites/paper-protocol-lr.ini),
#   2. each policy's exploration parameter per scenario, with those rates
#      (suites/paper-protocol-tuning.ini),
#   3. the selected settings with SEEDS seeds (suites/paper-protocol.ini's policies),
#   4. the deployment-delay and clients-per-round ablations on scratch with
#      scratch's selected settings, and the DP run of the paper's Figure 4.
# Test accuracy is never read by a selection: it picks the highest mean
# val_accuracy in results.csv. The generated suites (with the selected values
# written into their scenario sections) are kept in OUT/suites.
# Usage: bench/paper-protocol.sh FEDCB OUT [SEEDS]   (SEEDS default 5)
set -euo pipefail
fedcb=$1
out=$2
seeds=${3:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
suites="$root/bench/suites"
configs="$root/simulations/configs"
mkdir -p "$out/suites"
scenarios="scratch init init-shift"
start=$(date +%s)

# The `set = ...` line of [policy NAME] in a suite file.
policy_set() {
  awk -v want="[policy $2]" '
    /^\[/ { inside = ($0 == want) }
    inside && /^set *=/ { sub(/^set *= */, ""); print; exit }' "$1"
}

# Every [policy ...] section of a suite file, as written.
policy_sections() {
  awk '/^\[policy / { on = 1 } /^\[(suite|scenario)/ { on = 0 } on' "$1"
}

# Highest mean val_accuracy over seeds among scenario SCEN's policies whose
# family (the name without a trailing -NUMBER) is FAMILY, or any with "*";
# a tie goes to the higher mean online reward, then to the first name.
best_policy() {
  awk -F, -v scen="$2" -v fam="$3" -v file="$1/results.csv" '
    NR == 1 {
      for (i = 1; i <= NF; i++) col[$i] = i
      if (!("val_accuracy" in col)) { print file ": no val_accuracy column" > "/dev/stderr"; exit 2 }
      next
    }
    $col["scenario"] == scen && $col["val_accuracy"] != "" {
      p = $col["policy"]; f = p; sub(/-[0-9.]+$/, "", f)
      if (fam != "*" && f != fam) next
      val[p] += $col["val_accuracy"]; reward[p] += $col["avg_reward"]; n[p]++
    }
    END {
      for (p in val) {
        v = val[p] / n[p]; r = reward[p] / n[p]
        if (best == "" || v > bestv || (v == bestv && (r > bestr || (r == bestr && p < best)))) {
          best = p; bestv = v; bestr = r
        }
      }
      if (best == "") { print file ": no cell of " scen " / " fam " has a val_accuracy" > "/dev/stderr"; exit 1 }
      print best
    }' "$1/results.csv"
}

# A policy's settings without its kind and without dp.enabled, for a scenario section.
parameters_of() {
  echo "$1" | tr ';' '\n' | sed 's/^ *//; s/ *$//' | grep -v -e '^policy.kind=' -e '^dp.enabled=' -e '^$' |
    paste -sd ';' | sed 's/;/; /g'
}

run_suite() { # SUITE DIR
  echo "== $(basename "$1") -> $2" >&2
  "$fedcb" bench --suite "$1" --out "$2" --jobs "$(nproc)" </dev/null >/dev/null
}

# ---- 1. learning rates ----
cp "$suites/paper-protocol-lr.ini" "$out/suites/lr.ini"
sed -i "s|\.\./\.\./simulations/configs|$configs|" "$out/suites/lr.ini"
run_suite "$out/suites/lr.ini" "$out/lr"
declare -A chosen
for s in $scenarios; do
  p=$(best_policy "$out/lr" "$s" "*")
  chosen[$s]=$(policy_set "$out/suites/lr.ini" "$p")
  echo "$s: rates $p (${chosen[$s]})" | tee -a "$out/selection.txt" >&2
done

# ---- 2. exploration parameters ----
t="$out/suites/tuning.ini"
{
  printf '[suite]\nseeds = %s\n\n' "$(awk -F' *= *' '/^seeds/ { print $2; exit }' "$suites/paper-protocol-tuning.ini")"
  for s in $scenarios; do
    printf '[scenario %s]\nconfig = %s/paper-protocol-%s.ini\nset = %s\n\n' "$s" "$configs" "$s" "${chosen[$s]}"
  done
  policy_sections "$suites/paper-protocol-tuning.ini"
} >"$t"
run_suite "$t" "$out/tuning"
for s in $scenarios; do
  for family in epsilon softmax igw linucb thompson; do
    p=$(best_policy "$out/tuning" "$s" "$family")
    params=$(parameters_of "$(policy_set "$t" "$p")")
    chosen[$s]="${chosen[$s]}
set = $params"
    echo "$s: $family $p ($params)" | tee -a "$out/selection.txt" >&2
  done
done

# ---- 3. the selected settings, SEEDS seeds ----
f="$out/suites/paper-protocol.ini"
{
  printf '[suite]\nseeds = %s\n\n' "$seeds"
  for s in $scenarios; do
    printf '[scenario %s]\nconfig = %s/paper-protocol-%s.ini\nset = %s\n\n' "$s" "$configs" "$s" "${chosen[$s]}"
  done
  policy_sections "$suites/paper-protocol.ini"
} >"$f"
run_suite "$f" "$out/final"

# ---- 4. ablations (scratch, softmax, scratch's selected settings) and DP ----
for ablation in deploy clients; do
  a="$out/suites/$ablation.ini"
  {
    printf '[suite]\nseeds = %s\n\n' "$seeds"
    printf '[scenario scratch]\nconfig = %s/paper-protocol-scratch.ini\nset = policy.kind=softmax; %s\n\n' \
      "$configs" "${chosen[scratch]}"
    policy_sections "$suites/paper-protocol-$ablation.ini"
  } >"$a"
  run_suite "$a" "$out/$ablation"
done
d="$out/suites/dp.ini"
sed -e "s|\.\./\.\./simulations/configs|$configs|" -e "s/^seeds = .*/seeds = $seeds/" "$suites/paper-protocol-dp.ini" >"$d"
run_suite "$d" "$out/dp"
for cell in "$out"/dp/cells/*/*/seed-*/summary.json; do
  printf '%s epsilon=%s delta=%s\n' "${cell#"$out"/dp/cells/}" "$(jq -r ".privacy.epsilon" "$cell")" \
    "$(jq -r ".privacy.delta" "$cell")"
done >"$out/dp/epsilon.txt"
echo "paper-protocol study: $(($(date +%s) - start)) s wall" | tee -a "$out/selection.txt" >&2
