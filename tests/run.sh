#!/bin/bash
# Runs every test: the cmocka unit tests (each a program in $UNIT_DIR) and
# the pytest end-to-end tests (tests/e2e), then prints one summary line:
#   tests: N passed, N failed, N skipped
# Exits non-zero when any test failed.  --unit-only skips pytest.
set -u
cd "$(dirname "$0")/.."
UNIT_DIR=${UNIT_DIR:-build/tests}
export SKYVM=${SKYVM:-build/skyvm}
passed=0 failed=0 skipped=0
failed_names=""
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

for t in "$UNIT_DIR"/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out="$log/$name.out"
	"$t" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or a sanitizer fired: count the program as one failure
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf 'unit %-28s %3d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failed_names="$failed_names $name"
		cat "$out"
	fi
done

if [ "${1:-}" != "--unit-only" ]; then
	junit="$log/e2e.xml"
	/usr/bin/python3 -m pytest -q -rs -p no:cacheprovider --junitxml="$junit" tests/e2e
	rc=$?
	if [ -f "$junit" ]; then
		read -r p f s < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(x.get("tests", 0)) for x in suites)
f = sum(int(x.get("failures", 0)) + int(x.get("errors", 0)) for x in suites)
s = sum(int(x.get("skipped", 0)) for x in suites)
print(t - f - s, f, s)
PY
)
	else
		p=0 f=1 s=0
	fi
	# pytest exit 5 = no tests collected: not a failure of its own.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -ne 0 ] && failed_names="$failed_names e2e"
fi

echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
