#!/bin/bash
# Runs every test: the cmocka unit tests (each a program in $UNIT_DIR) and
# the pytest end-to-end tests (tests/e2e), then prints a summary:
#   kvm tests: N on /dev/kvm, N in the nested guest, N skipped; skipped: N <reason>, ...
#   nested: N runs, N retried after a failure of the nested guest (N guest boots, N did
#           not come up, N RUN lines sent again)
#   tests: N passed, N failed, N skipped
# (the first two only when pytest ran; the nested line only where the nested guest was
# used).  Where the kvm tests run is tests/e2e/conftest.py's choice: /dev/kvm where it
# opens, else the nested-KVM guest (tests/nested); SKYVM_NESTED=0 turns that off.
# Exits non-zero when any test failed.  --unit-only skips pytest.
set -u
cd "$(dirname "$0")/.."
UNIT_DIR=${UNIT_DIR:-build/tests}
export SKYVM=${SKYVM:-build/skyvm}
passed=0 failed=0 skipped=0 unit_skipped=0
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
	unit_skipped=$((unit_skipped + s))
	printf 'unit %-28s %3d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failed_names="$failed_names $name"
		cat "$out"
	fi
done

where=""
if [ "${1:-}" != "--unit-only" ]; then
	junit="$log/e2e.xml"
	export SKYVM_NESTED_STATS="$log/nested.json"
	/usr/bin/python3 -m pytest -q -rfEsxX -p no:cacheprovider --durations=20 --junitxml="$junit" tests/e2e
	rc=$?
	if [ -f "$junit" ]; then
		# One line "P F S", then the lines for the summary: where the kvm tests ran,
		# each skip reason with its count, and the nested guest's runs and retries.
		p="" f="" s=""
		{ read -r p f s; where=$(cat); } < <(/usr/bin/python3 - "$junit" "$SKYVM_NESTED_STATS" \
			"$unit_skipped" <<'PY'
import collections, json, sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(x.get("tests", 0)) for x in suites)
f = sum(int(x.get("failures", 0)) + int(x.get("errors", 0)) for x in suites)
s = sum(int(x.get("skipped", 0)) for x in suites)
print(t - f - s, f, s)
try:
    stats = json.load(open(sys.argv[2]))
except (OSError, ValueError):
    stats = {}
devkvm = nested = kvm_skipped = opt_in = 0
reasons = collections.Counter()
for case in r.iter("testcase"):
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    sk = case.find("skipped")
    if sk is not None:  # counted below, with its reason
        pass
    elif props.get("kvm") == "/dev/kvm":
        devkvm += 1
    elif props.get("kvm"):
        nested += 1
    if sk is not None and props.get("opt_in"):
        opt_in += 1
    elif sk is not None and props.get("needs_kvm"):
        kvm_skipped += 1
    if sk is not None:
        why = (sk.get("message") or "").removeprefix("Skipped: ")
        why = why.removeprefix("got empty parameter set")  # parametrize over nothing
        reasons[why.split("\n")[0][:100] or "(no reason)"] += 1
if int(sys.argv[3]):
    reasons["unit (cmocka) skips"] += int(sys.argv[3])
line = (f"kvm tests: {devkvm} on /dev/kvm, {nested} in the nested guest, "
        f"{kvm_skipped} skipped" + (f", {opt_in} opt-in not run" if opt_in else ""))
if stats.get("mode") == "off":
    line += " (off: SKYVM_NESTED=0 was set; the tests that need KVM skipped)"
print(line + "; skipped: " + (", ".join(f"{n} {why}" for why, n in reasons.most_common())
                              or "none"))
if stats.get("why_nested"):
    print(f"kvm tests ran in the nested guest because {stats['why_nested']}")
if stats.get("mode") == "nested" or stats.get("nested_boots"):
    print(f"nested: {stats.get('nested_runs', 0)} runs, {len(stats.get('retried', []))} "
          f"retried after a failure of the nested guest ({stats.get('nested_boots', 0)} guest boots, "
          f"{stats.get('nested_boot_failures', 0)} did not come up, "
          f"{stats.get('nested_resent', 0)} RUN lines sent again)")
    for t in stats.get("retried", []):
        print(f"nested: retried: {t}")
    if stats.get("nested_unavailable"):
        print(f"nested: {stats['nested_unavailable']}")
PY
)
		[ -n "$p" ] || { p=0 f=1 s=0; echo "run.sh: could not read $junit" >&2; }
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
[ -n "$where" ] && echo "$where"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
