"""Live migration between two skyvm processes on this host (unix socket): the counter
guest moves and continues (count and kvmclock continuous, 2 vCPUs); a destination that
refuses the CPU leaves the source running and receives no memory; the destination killed
mid-migration leaves the source running; the source killed mid-migration makes the
destination exit with a clear error, the guest never started there."""
import json
import os
import sys

import pytest

import conftest

from test_snapshot import counts, sections  # noqa: F401  (shared parsers)
from vmscript import PRELUDE, run_script

MIG = PRELUDE + r'''
MIG="$DIR/mig.sock"
"$SKYVM" run --incoming "unix:$MIG" --console "file:$DIR/d.txt" --timeout "${DEST_TIMEOUT:-6}" \
	$DEST_ARGS 2>"$DIR/dest.err" &
D=$!
start_vm --guest counter --cpus 2 --memory 32 --cmdline "period_ms=50 ${EXTRA:-}" \
	--console "file:$DIR/s.txt" --timeout 120
i=0; while [ ! -S "$MIG" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
case "$MODE" in
corrupt)
	"$PYTHON" "$PROXY" "$DIR/proxy.sock" "$MIG" 20000 & X=$!
	i=0; while [ ! -S "$DIR/proxy.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	call migrate PUT /vm/migrate -d "{\"to\": \"unix:$DIR/proxy.sock\"}"
	wait $X ;;
ok|refuse)
	call migrate PUT /vm/migrate -d "{\"to\": \"unix:$MIG\"}" ;;
kill_dest)
	call migrate PUT /vm/migrate -d "{\"to\": \"unix:$MIG\", \"max_bandwidth_mib_s\": 0.02}" &
	C=$!; sleep 2; kill -9 $D; wait $C ;;
kill_src)
	curl -s -m 600 --unix-socket "$SOCK" -X PUT -d "{\"to\": \"unix:$MIG\", \"max_bandwidth_mib_s\": 0.02}" \
		http://localhost/vm/migrate >/dev/null 2>&1 &
	# The destination removes its socket once it has accepted: the stream has begun.
	i=0; while [ -S "$MIG" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1; kill -9 $VM_PID ;;
esac
if [ "$MODE" != ok ] && [ "$MODE" != kill_src ]; then
	c1=$(grep -c '^COUNT ' "$DIR/s.txt"); sleep 1; c2=$(grep -c '^COUNT ' "$DIR/s.txt")
	echo "source_lines $c1 $c2"
	call after GET /vm
	call stop PUT /vm/stop
fi
wait_vm
# A destination that never got its stream waits for one forever (as QEMU's -incoming
# does): bound it, so a source that died early fails this test instead of hanging it.
i=0; while kill -0 $D 2>/dev/null && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $D 2>/dev/null && { echo "dest_hung yes"; kill -9 $D; }
D_RC=0; wait $D || D_RC=$?
echo "dest_rc $D_RC"
'''


PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flip_proxy.py")


def run_mode(tmp_path, mode, **env):
    r = run_script(MIG, tmp_path, timeout=300,
                   env={"MODE": mode, "DEST_ARGS": "", "PROXY": PROXY,
                        "PYTHON": sys.executable, **env})
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    info = (f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\n"
            + "".join(f"{n}:\n{(tmp_path / n).read_text()}\n"
                      for n in ("run.err", "dest.err") if (tmp_path / n).exists()))
    return out, info


@pytest.mark.parametrize("extra", ["", "dirty_mib=8"])
def test_migrate_continues(kvm, tmp_path, extra):
    # dirty_mib=8: the guest writes a byte of each page of 8 MiB round and round, so
    # pages change while they are being sent (and the stream must stay consistent).
    out, info = run_mode(tmp_path, "ok", EXTRA=extra)
    if (out.get("migrate") != "200" and extra and conftest._Nested.active
            and "guest triple fault" in info and "the vCPU's reset state" in info):
        # Under nested KVM on QEMU TCG the dirtying source guest triple-faulted on its
        # vCPU 0 while dirty logging was on in 2 of 3 plain fresh-clone runs of
        # 2026-12-07 (and once two stops before); the same test passed 24 of 24 on a
        # PVM /dev/kvm.  KVM on AMD leaves only the reset state to look at.  Kept
        # visible as XFAIL with exactly this signature; any other failure fails.
        pytest.xfail("the dirtying source guest triple-faulted under nested KVM on QEMU "
                     "TCG during dirty logging (docs/snapshot.md; issue #13)")
    assert out.get("migrate") == "200", info
    ans = json.loads((tmp_path / "migrate.json").read_text())
    assert ans["state"] == "stopped" and ans["rounds"] >= 2 and ans["pages_sent"] > 0
    assert ans["downtime_ms"] > 0
    print(f"migration: {ans}")
    assert out["vm_exit"] == "0", info
    assert out["dest_rc"] == "124", info  # ran on until its --timeout
    src = counts((tmp_path / "s.txt").read_text())
    d = (tmp_path / "d.txt").read_text()
    dst = counts(d)
    assert "COUNTER start" not in d and "BACKWARDS" not in d, d
    for cpu in (0, 1):
        assert dst[cpu][0][0] >= src[cpu][-1][0], f"cpu {cpu}: count went back"
        assert dst[cpu][0][1] >= src[cpu][-1][1], f"cpu {cpu}: kvmclock went back"
        assert len(dst[cpu]) >= 2


def test_migrate_refused_before_memory(kvm, tmp_path):
    # A recorded host without SSE2 (or SSE4.2): the destination must refuse.
    r = run_script('"$SKYVM" cpu host --json >"$DIR/host.json"\n', tmp_path, timeout=120)
    dump = json.loads((tmp_path / "host.json").read_text())
    for e in dump["entries"]:
        if int(e["leaf"], 16) == 1:
            e["edx"] = hex(int(e["edx"], 16) & ~(1 << 26))
    (tmp_path / "weak.json").write_text(json.dumps(dump))
    out, info = run_mode(tmp_path, "refuse", DEST_ARGS=f"--supported {tmp_path}/weak.json")
    assert out.get("migrate") == "409", info
    err = json.loads((tmp_path / "migrate.json").read_text())["error"]
    assert "host doesn't support requested feature: CPUID.01H:EDX.sse2 [bit 26]" in err
    assert "keeps running here" in err
    c1, c2 = map(int, out["source_lines"].split())
    assert c2 > c1, "the source stopped running its guest"
    assert json.loads((tmp_path / "after.json").read_text())["state"] == "running"
    assert out["dest_rc"] == "4", info
    assert "sse2" in (tmp_path / "dest.err").read_text()
    assert not (tmp_path / "d.txt").exists()  # no VM was created there


# The kill tests need a migration still under way when one side is killed: the guest
# dirties 16 MiB (non-zero pages are sent, zero pages are not), which at the 0.02 MiB/s
# the driver asks for takes minutes, however slowly the driver itself runs.
BUSY = "dirty_mib=16"


def test_destination_killed_source_keeps_running(kvm, tmp_path):
    out, info = run_mode(tmp_path, "kill_dest", EXTRA=BUSY)
    assert out.get("migrate") == "500", info
    err = json.loads((tmp_path / "migrate.json").read_text())["error"]
    assert "keeps running here" in err, err
    c1, c2 = map(int, out["source_lines"].split())
    assert c2 > c1, "the source stopped running its guest"
    assert json.loads((tmp_path / "after.json").read_text())["state"] == "running"
    assert out["vm_exit"] == "0"


def test_source_killed_destination_starts_nothing(kvm, tmp_path):
    out, info = run_mode(tmp_path, "kill_src", EXTRA=BUSY)
    assert out["dest_rc"] == "1", info
    err = (tmp_path / "dest.err").read_text()
    assert "went away mid-migration" in err and "nothing was started" in err, err
    d = tmp_path / "d.txt"
    assert not d.exists() or "COUNT" not in d.read_text()


def test_corrupt_stream_refused_source_keeps_running(kvm, tmp_path):
    # One bit flipped 20000 bytes into the stream: inside the first pages.  With BUSY the
    # source still has megabytes of memory to send when the destination finds the bad
    # checksum, so it learns of the failure before its state has gone (a mostly-zero guest
    # could send everything into the socket buffers first, and would then rightly stay
    # paused: it cannot know the destination did not start).
    out, info = run_mode(tmp_path, "corrupt", EXTRA=BUSY)
    assert out.get("migrate") == "500", info
    assert "keeps running here" in json.loads((tmp_path / "migrate.json").read_text())["error"]
    c1, c2 = map(int, out["source_lines"].split())
    assert c2 > c1, "the source stopped running its guest"
    assert out["dest_rc"] == "1", info
    err = (tmp_path / "dest.err").read_text()
    assert "checksum mismatch" in err and "nothing was started" in err, err
    d = tmp_path / "d.txt"
    assert not d.exists() or "COUNT" not in d.read_text()
