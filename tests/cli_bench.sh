# fedcb bench on tests/suites/tiny.ini: every cell equals a direct
# `fedcb simulate` of its config; results do not depend on --jobs; a rerun
# skips finished cells and reproduces the report; a lost cell is rerun;
# results.csv carries val_accuracy and the report selects per family on it
# and gives paired differences to the best policy; bad suites give one line
# naming file, line and key.
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"
SUITE=$SOURCE_DIR/tests/suites/tiny.ini
CONFIGS=$(cd "$CONFIGS" && pwd)

run_fedcb bench2 bench --suite "$SUITE" --out "$WORK/b2" --jobs 2
check_no_sanitizer_report bench
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb bench --jobs 2 exited with $RC"; }
grep -q '^cells=18 skipped=0 ' "$RUN_OUT" || die "first run: $(cat "$RUN_OUT")"
[[ $(wc -l <"$WORK/b2/results.csv") -eq 19 ]] || die "results.csv should have a header and 18 rows"
grep -q '(best)' "$WORK/b2/report.md" || die "report.md marks no best policy"
[[ $(grep -c '^## ' "$WORK/b2/report.md") -eq 2 ]] || die "report.md should have one section per scenario"
for plot in linear-reward linear-accuracy drift-reward drift-accuracy; do
    [[ $(head -c 4 "$WORK/b2/plots/$plot.png" | od -An -c | tr -d ' ') == 211PNG ]] || die "plots/$plot.png is not a PNG"
    grep -q "(plots/$plot.png)" "$WORK/b2/report.md" || die "report.md does not link plots/$plot.png"
done
# 3 policies x (7 rounds + 1 comment line) in the reward data of a scenario.
[[ $(grep -c '^[0-9]' "$WORK/b2/plots/linear-reward.dat") -eq 21 ]] || die "linear-reward.dat should hold 3 x 7 rounds"

say "a cell equals fedcb simulate of its config"
simulate_ok "$WORK/direct" --config "$CONFIGS/tiny_softmax.ini" --set drift.kind=permutation --set drift.start=4 \
    --set policy.kind=softmax --set policy.temperature=0.05 --set run.seed=2 --set run.threads=1
[[ $(summary_sha "$WORK/direct") == "$(summary_sha "$WORK/b2/cells/drift/softmax/seed-2")" ]] ||
    die "cell drift/softmax/seed-2 differs from fedcb simulate"

say "--jobs 1 gives the same results"
run_fedcb bench1 bench --suite "$SUITE" --out "$WORK/b1" --jobs 1
[[ $RC -eq 0 ]] || die "fedcb bench --jobs 1 exited with $RC"
cmp -s <(cut -d, -f1-5 "$WORK/b1/results.csv") <(cut -d, -f1-5 "$WORK/b2/results.csv") ||
    die "results.csv differs between --jobs 1 and --jobs 2"

say "a rerun skips every cell and reproduces the report"
cp "$WORK/b2/report.md" "$WORK/report.first"
run_fedcb bench3 bench --suite "$SUITE" --out "$WORK/b2"
grep -q '^cells=18 skipped=18 ' "$RUN_OUT" || die "rerun: $(cat "$RUN_OUT")"
cmp -s "$WORK/report.first" "$WORK/b2/report.md" || die "the rerun's report differs"

say "a lost cell is run again"
rm "$WORK/b2/cells/linear/greedy/seed-3/summary.json"
run_fedcb bench4 bench --suite "$SUITE" --out "$WORK/b2"
grep -q '^cells=18 skipped=17 ' "$RUN_OUT" || die "resume: $(cat "$RUN_OUT")"
cmp -s <(cut -d, -f1-5 "$WORK/b1/results.csv") <(cut -d, -f1-5 "$WORK/b2/results.csv") ||
    die "the rerun cell gives another result"

say "a failed cell is listed and left out; the other cells are still written"
# seed-2 of linear/greedy cannot make its output directory: that one cell fails.
mkdir -p "$WORK/b5/cells/linear/greedy"
touch "$WORK/b5/cells/linear/greedy/seed-2"
expect_failure bench --suite "$SUITE" --out "$WORK/b5" --jobs 2
message_has "1 of 18 cells failed" "linear / greedy / seed 2" "seed-2"
[[ $(wc -l <"$WORK/b5/results.csv") -eq 19 ]] || die "results.csv should still have a header and 18 rows"
awk -F, '$1 == "linear" && $2 == "greedy" && $3 == 2 && $4 == "" && $8 ~ /seed-2/' "$WORK/b5/results.csv" | grep -q . ||
    die "the failed cell's row should have no figures and its error: $(grep '^linear,greedy,2,' "$WORK/b5/results.csv")"
cmp -s <(grep -v '^linear,greedy,2,' "$WORK/b5/results.csv" | cut -d, -f1-5) \
       <(grep -v '^linear,greedy,2,' "$WORK/b1/results.csv" | cut -d, -f1-5) ||
    die "the cells that ran should equal those of the full run"
grep -q '^## Failed cells' "$WORK/b5/report.md" || die "report.md does not list the failed cell"
grep -q '^| linear | greedy | 2 | ' "$WORK/b5/report.md" || die "report.md's failed-cell table lacks linear/greedy/2"
# greedy on linear: the mean over the two seeds that ran.
mean=$(awk -F, '$1 == "linear" && $2 == "greedy" && $3 != 2 { s += $4; n++ } END { printf "%.4f", s / n }' \
       "$WORK/b1/results.csv")
sed -n '/^## linear/,/^## drift/p' "$WORK/b5/report.md" | grep -q "^| \(\*\*\)\?greedy.*(1 of 3 seeds failed) | $mean ± " ||
    die "linear/greedy's mean should be $mean over the 2 seeds that ran"
rm "$WORK/b5/cells/linear/greedy/seed-2"
run_fedcb failed-cell-rerun bench --suite "$SUITE" --out "$WORK/b5" --jobs 2
[[ $RC -eq 0 ]] || die "the rerun exited with $RC: $(cat "$RUN_ERR")"
grep -q '^cells=18 skipped=17 ' "$RUN_OUT" || die "the rerun should run only the failed cell: $(cat "$RUN_OUT")"
cmp -s <(cut -d, -f1-5 "$WORK/b1/results.csv") <(cut -d, -f1-5 "$WORK/b5/results.csv") ||
    die "after the rerun results.csv should equal the full run's"
! grep -q '^## Failed cells' "$WORK/b5/report.md" || die "the rerun's report still lists failed cells"

say "results.csv and report.md without a validation set"
head -1 "$WORK/b2/results.csv" | grep -q '^scenario,policy,seed,avg_reward,test_accuracy,seconds,val_accuracy,error$' ||
    die "results.csv header: $(head -1 "$WORK/b2/results.csv")"
grep -q 'not possible, the cells have no validation set' "$WORK/b2/report.md" || die "report.md claims a validation selection"
[[ $(grep -c '^### Paired differences to ' "$WORK/b2/report.md") -eq 2 ]] || die "report.md has no paired differences"

say "selection on validation: the best mean val_accuracy per family, paired differences to the best"
printf '[suite]\nseeds = 3\n[scenario linear]\nconfig = %s\nset = data.validation_fraction=0.2\n' "$CONFIGS/tiny_softmax.ini" >"$WORK/val.ini"
printf '[policy %s]\nset = %s\n' greedy "policy.kind=greedy" softmax-0.05 "policy.kind=softmax; policy.temperature=0.05" \
    softmax-1 "policy.kind=softmax; policy.temperature=1" >>"$WORK/val.ini"
printf '[policy %s]\nset = %s\nfamily = explore\n' eps-0.1 "policy.kind=epsilon_greedy; policy.epsilon=0.1" \
    uniform "policy.kind=uniform" >>"$WORK/val.ini"
run_fedcb val bench --suite "$WORK/val.ini" --out "$WORK/bv" --jobs 2
[[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "fedcb bench with validation exited with $RC"; }
check_no_sanitizer_report bench
# Expected winners, recomputed from results.csv: per family the highest mean val_accuracy.
expected=$(awk -F, 'NR > 1 { fam = $2; sub(/-.*/, "", fam); if ($2 == "eps-0.1" || $2 == "uniform") fam = "explore"
                            n[$2]++; v[$2] += $7; f[$2] = fam }
                    END { for (p in v) { m = v[p] / n[p]; if (!(f[p] in best) || m > best[f[p]]) { best[f[p]] = m; who[f[p]] = p } }
                          for (fam in who) print fam, who[fam] }' "$WORK/bv/results.csv" | sort)
got=$(sed -n '/^### Selected on validation/,/^!\[/p' "$WORK/bv/report.md" |
      awk -F' *[|] *' '/^[|] [a-z]/ && $2 != "family" { print $2, $3 }' | sort)
[[ -n $got && $got == "$expected" ]] || die "selected on validation: report says '$got', results.csv gives '$expected'"
[[ $(wc -l <<<"$got") -eq 3 ]] || die "expected 3 families (greedy, softmax, explore): $got"
grep -q 'The test accuracy was not used to choose' "$WORK/bv/report.md" || die "the report does not say test accuracy was not used"
[[ $(awk -F, 'NR > 1 && $7 == ""' "$WORK/bv/results.csv" | wc -l) -eq 0 ]] || die "a cell has no val_accuracy"
# A paired difference, recomputed: mean over seeds of (uniform's reward - the best's).
best=$(sed -n 's/^| \*\*\([^*]*\)\*\* (best).*/\1/p' "$WORK/bv/report.md")
[[ -n $best && $best != uniform ]] || die "no best policy other than uniform in the validation report"
diff=$(awk -F, -v best="$best" 'NR > 1 && $2 == best { b[$3] = $4 } NR > 1 && $2 == "uniform" { u[$3] = $4 }
       END { for (s in u) d += u[s] - b[s]; printf "%+.4f", d / 3 }' "$WORK/bv/results.csv")
grep -qF "| uniform | $diff ± " "$WORK/bv/report.md" || die "paired difference of uniform should be $diff"
grep -q 'Here they are paired' "$WORK/bv/report.md" || die "the report does not say which intervals are paired"

say "bad suites"
printf '[suite]\nseeds = 2\n[scenario a]\nconfig = %s\ntemperature = 3\n' "$CONFIGS/tiny_softmax.ini" >"$WORK/bad1.ini"
expect_failure bench --suite "$WORK/bad1.ini" --out "$WORK/bad"
message_has "bad1.ini:5" "temperature"
printf '[scenario a]\nconfig = %s\n[policy p]\nset = policy.kind=telepathy\n' "$CONFIGS/tiny_softmax.ini" >"$WORK/bad2.ini"
expect_failure bench --suite "$WORK/bad2.ini" --out "$WORK/bad"
message_has "[scenario a] with [policy p]" "telepathy"
printf '[scenario a]\nconfig = %s\n[policy p]\nfamily =\n' "$CONFIGS/tiny_softmax.ini" >"$WORK/bad4.ini"
expect_failure bench --suite "$WORK/bad4.ini" --out "$WORK/bad"
message_has "bad4.ini:4" "family"
printf '[policy p]\nset = policy.kind=greedy\n' >"$WORK/bad3.ini"
expect_failure bench --suite "$WORK/bad3.ini" --out "$WORK/bad"
message_has "[scenario NAME]"
# A line longer than the INI reader takes is refused, not split in two.
long=$(printf 'policy.temperature=0.05; %.0s' {1..9})
printf '[scenario a]\nconfig = %s\n[policy p]\nset = %spolicy.kind=greedy\n' "$CONFIGS/tiny_softmax.ini" "$long" >"$WORK/bad4.ini"
expect_failure bench --suite "$WORK/bad4.ini" --out "$WORK/bad"
message_has "bad4.ini:4" "line longer than 198 characters"
expect_failure bench --suite "$WORK/no-such-suite.ini"
message_has "no-such-suite.ini"
expect_failure bench --suite "$SUITE" --seeds 0
message_has "--seeds"
say "the shipped suites load"
for suite in "$SOURCE_DIR"/bench/suites/*.ini; do
    run_fedcb check bench --suite "$suite" --check
    [[ $RC -eq 0 ]] || die "$suite: $(cat "$RUN_ERR")"
    grep -q "every config loads" "$RUN_OUT" || die "$suite: $(cat "$RUN_OUT")"
done
# SIGTERM: a background job of a non-interactive shell starts with SIGINT ignored.
say "SIGTERM ends a bench (and the simulate in it) instead of being ignored"
"$FEDCB" bench --suite "$SUITE" --out "$WORK/b-int" --jobs 1 --seeds 1000 >/dev/null 2>"$WORK/b-int.err" &
pid=$!
until compgen -G "$WORK/b-int/cells/linear/greedy/seed-3/summary.json" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "the bench ended before it could be stopped: $(cat "$WORK/b-int.err")"
    sleep 0.2
done
kill -TERM "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; die "the bench was still running 30 s after SIGTERM"; }
status=0
wait "$pid" || status=$?
[[ $status -eq 143 ]] || die "a terminated bench exited with $status, expected 143 (SIGTERM)"

say "all bench checks passed"
