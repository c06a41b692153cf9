"""Load (issue #15): 50 VMs started at once on one host all complete, each with its own
right output and exit status.  Where /dev/kvm here cannot run them, the 50 run together
inside the nested guest, as every other KVM test does.

Half the VMs have 1 vCPU and half 2, and each writes its console to its own file, so a
VM that got another's output, lost its output, or reported the wrong CPU count fails the
test, as does any VM that does not end with status 0 within its --timeout."""
from vmscript import run_script

COUNT = 50

SCRIPT = r'''
set -u
start=$(date +%s)
i=0
while [ $i -lt __COUNT__ ]; do
	cpus=$((i % 2 + 1))
	"$SKYVM" run --cpus $cpus --console "file:$DIR/vm$i.out" --timeout 300 \
		>/dev/null 2>"$DIR/vm$i.err" &
	echo $! >"$DIR/vm$i.pid"
	i=$((i + 1))
done
i=0
while [ $i -lt __COUNT__ ]; do
	rc=0; wait "$(cat "$DIR/vm$i.pid")" || rc=$?
	echo "vm $i rc $rc"
	i=$((i + 1))
done
echo "seconds $(($(date +%s) - start))"
'''.replace("__COUNT__", str(COUNT))


def test_fifty_vms_at_once_all_complete(kvm, tmp_path):
    r = run_script(SCRIPT, tmp_path, timeout=900)
    rcs = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "vm" and parts[2] == "rc":
            rcs[int(parts[1])] = int(parts[3])
    assert len(rcs) == COUNT, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    bad = []
    for i in range(COUNT):
        out = (tmp_path / f"vm{i}.out")
        text = out.read_text(errors="replace") if out.exists() else ""
        want = f"guest: {i % 2 + 1} cpus ok"
        if rcs[i] != 0 or want not in text or text.count("cpus ok") != 1:
            err = (tmp_path / f"vm{i}.err").read_text(errors="replace")
            bad.append(f"vm {i}: exit {rcs[i]}, wanted '{want}'; console tail {text[-300:]!r}; "
                       f"stderr tail {err[-500:]!r}")
    print(r.stdout.splitlines()[-1] if r.stdout else "")
    assert not bad, f"{len(bad)} of {COUNT} VMs failed:\n" + "\n".join(bad)

