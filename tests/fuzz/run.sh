#!/bin/bash
# run.sh TARGET...: run each fuzz target (built by `make fuzz-build`) over
# its seed corpus, one at a time, at nice 10, and print per target the
# executions, executions per second and libFuzzer's coverage (cov: edges,
# ft: features).  New inputs go to $FUZZ_BUILD/corpus/TARGET (kept between
# runs), crashes to $FUZZ_BUILD/artifacts/.  Exits non-zero when a target
# found something.  FUZZ_TIME: seconds per target (0: no limit);
# FUZZ_RUNS: executions per target (-1: no limit).
set -u
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_TIME=${FUZZ_TIME:-30}
FUZZ_RUNS=${FUZZ_RUNS:--1}
[ $# -gt 0 ] || { echo "usage: $0 TARGET..." >&2; exit 2; }
mkdir -p "$FUZZ_BUILD/artifacts" "$FUZZ_BUILD/logs"
failed=""
summary=""
for t in "$@"; do
	bin=$FUZZ_BUILD/$t
	seeds=tests/fuzz/corpus/$t
	work=$FUZZ_BUILD/corpus/$t
	log=$FUZZ_BUILD/logs/$t.log
	[ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)" >&2; exit 2; }
	mkdir -p "$work"
	opts=(-max_total_time="$FUZZ_TIME" -runs="$FUZZ_RUNS" -print_final_stats=1
	      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$FUZZ_BUILD/artifacts/$t-")
	[ -f "tests/fuzz/$t.dict" ] && opts+=(-dict="tests/fuzz/$t.dict")
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz: $t (${FUZZ_TIME}s, runs ${FUZZ_RUNS}; log $log)"
	nice -n 10 "$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	status=ok
	if [ $rc -ne 0 ]; then
		status="FOUND (exit $rc)"
		failed="$failed $t"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*fuzz invariant)' "$log" | head -5
		grep -E 'Test unit written to' "$log" | tail -1
	fi
	summary+=$(printf '%-22s %10s execs %8s exec/s  cov %5s  ft %6s  corpus %5s  %s' \
		"$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$status")
	summary+=$'\n'
done
echo
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "fuzz: findings in:$failed (inputs in $FUZZ_BUILD/artifacts/)"
	exit 1
fi
