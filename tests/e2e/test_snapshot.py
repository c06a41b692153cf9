"""Snapshot and restore through the API: the embedded counter guest is snapshotted at a
random moment, the source is killed, and `skyvm restore` continues it: the count goes on
from where it was (not from zero), kvmclock never goes backwards (the guest checks every
reading and would end with status 3), and the output goes on; with 1 and 2 vCPUs.  Then
the refusals: a host lacking a feature the guest saw (offline and at restore, exit 4,
nothing started), a corrupted state file (the section is named), a newer format."""
import json
import random
import re
import struct
import zlib

import pytest

from vmscript import PRELUDE, run_script

COUNT = re.compile(r"^COUNT cpu=(\d+) count=(\d+) ns=(\d+)(?: skew=\d+)?$", re.M)


def counts(text):
    per = {}
    for cpu, count, ns in COUNT.findall(text):
        per.setdefault(int(cpu), []).append((int(count), int(ns)))
    return per


SNAP_SCRIPT = PRELUDE + r'''
start_vm --guest counter --cpus "$CPUS" --cmdline period_ms=50 --console "file:$DIR/c1.txt" \
	--timeout 300
sleep "$DELAY"
call pause PUT /vm/pause
sleep 0.5
cp "$DIR/c1.txt" "$DIR/c1_at_snapshot.txt"
call snapshot PUT /vm/snapshot -d "{\"path\": \"$DIR/snap\"}"
kill -9 $VM_PID; wait $VM_PID 2>/dev/null
echo "snap_files $(ls "$DIR/snap" | tr '\n' ' ')"
echo "mem_blocks $(stat -c %b "$DIR/snap/memory.raw") $(stat -c %B "$DIR/snap/memory.raw") $(stat -c %s "$DIR/snap/memory.raw")"
"$SKYVM" restore "$DIR/snap" --console "file:$DIR/c2.txt" --timeout 4 2>"$DIR/restore.err"
echo "restore_rc $?"
'''


@pytest.fixture(scope="module")
def rng():
    seed = random.randrange(1 << 30)
    print(f"random seed {seed}")
    return random.Random(seed)


def take_and_restore(tmp_path, cpus, delay):
    r = run_script(SNAP_SCRIPT, tmp_path, timeout=300,
                   env={"CPUS": str(cpus), "DELAY": f"{delay:.2f}"})
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    info = (f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\n"
            + "".join(f"{n}:\n{(tmp_path / n).read_text()}\n"
                      for n in ("run.err", "restore.err") if (tmp_path / n).exists()))
    return out, info


@pytest.mark.parametrize("cpus", [1, 2])
def test_snapshot_restore_continues(kvm, tmp_path, rng, cpus):
    out, info = take_and_restore(tmp_path, cpus, rng.uniform(1.0, 3.0))
    assert out.get("pause") == "200" and out.get("snapshot") == "200", info
    assert out["snap_files"].split() == ["memory.raw", "state.skyvm"]
    blocks, bsize, size = map(int, out["mem_blocks"].split())
    assert blocks * bsize < size // 4, "memory.raw is not sparse"
    # 124: the restored guest ran until --timeout: it never ended itself (3 = backwards)
    assert out["restore_rc"] == "124", info
    before = counts((tmp_path / "c1_at_snapshot.txt").read_text())
    # The clock saved is at least every reading the guest made before the pause, also
    # where KVM's own clock lags the vCPUs' (no master clock: vmm/kvmclock.h).
    state = (tmp_path / "snap" / "state.skyvm").read_bytes()
    saved_ns = struct.unpack_from("<Q", state, sections(state)["vm.clock"][0])[0]
    for cpu in range(cpus):
        assert saved_ns >= before[cpu][-1][1], f"saved clock {saved_ns} < cpu {cpu}'s reading"
    c2 = (tmp_path / "c2.txt").read_text()
    after = counts(c2)
    assert "COUNTER start" not in c2, "the restored guest booted again"
    assert "BACKWARDS" not in c2, c2
    assert sorted(after) == list(range(cpus)), c2
    for cpu in range(cpus):
        last_count, last_ns = before[cpu][-1]
        first_count, first_ns = after[cpu][0]
        assert first_count >= last_count, f"cpu {cpu}: count went back: {last_count} -> {first_count}"
        assert first_ns >= last_ns, f"cpu {cpu}: kvmclock went back: {last_ns} -> {first_ns}"
        assert len(after[cpu]) >= 2, c2  # and the output goes on
        for (c_a, n_a), (c_b, n_b) in zip(after[cpu], after[cpu][1:]):
            assert c_b > c_a and n_b >= n_a


def sections(blob):
    """{name: (payload offset, length)} of a state file."""
    off, out = 32, {}
    n = struct.unpack_from("<I", blob, 12)[0]
    for _ in range(n):
        nlen = struct.unpack_from("<H", blob, off)[0]
        name = blob[off + 2:off + 2 + nlen].decode()
        plen = struct.unpack_from("<Q", blob, off + 2 + nlen)[0]
        out[name] = (off + 14 + nlen, plen)
        off += 14 + nlen + plen
    return out


REFUSE_SCRIPT = PRELUDE + r'''
start_vm --guest counter --cpus 2 --cmdline period_ms=100 --console "file:$DIR/c1.txt" \
	--timeout 300
sleep 1
call snapshot PUT /vm/snapshot -d "{\"path\": \"$DIR/snap\"}"
call stop PUT /vm/stop
wait_vm
"$SKYVM" cpu host --json >"$DIR/host.json"; echo "hostdump_rc $?"
'''

CHECK_SCRIPT = PRELUDE + r'''
"$SKYVM" snapshot check "$DIR/snap" --host "$DIR/host.json" --host "$DIR/weak.json" \
	>"$DIR/check.out" 2>"$DIR/check.err"
echo "check_rc $?"
"$SKYVM" snapshot check "$DIR/snap" --host "$DIR/weak.json" --json >"$DIR/check.json"
echo "checkjson_rc $?"
"$SKYVM" snapshot check "$DIR/snap" >"$DIR/checkself.out" 2>&1
echo "checkself_rc $?"
"$SKYVM" restore "$DIR/snap" --supported "$DIR/weak.json" --console "file:$DIR/never.txt" \
	--timeout 5 2>"$DIR/refuse.err"
echo "refuse_rc $?"
echo "started $([ -e "$DIR/never.txt" ] && echo yes || echo no)"
"$SKYVM" restore "$DIR/snap" --supported "$DIR/host.json" --console "file:$DIR/ok.txt" \
	--timeout 3 2>"$DIR/ok.err"
echo "ok_rc $?"
'''


def test_refusals(kvm, tmp_path, data):
    r = run_script(REFUSE_SCRIPT, tmp_path, timeout=300)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    assert out.get("snapshot") == "200" and out.get("hostdump_rc") == "0", r.stdout + r.stderr

    # A recorded host like this one but without one feature the guest's tables have.
    dump = json.loads((tmp_path / "host.json").read_text())
    state = (tmp_path / "snap" / "state.skyvm").read_bytes()
    secs = sections(state)
    off, ln = secs["vcpu0.cpuid"]
    ent = {}
    for i in range(0, ln, 40):  # struct kvm_cpuid_entry2: 40 bytes
        fn, idx, flags, eax, ebx, ecx, edx = struct.unpack_from("<7I", state, off + i)
        ent[(fn, idx)] = (eax, ebx, ecx, edx)
    # SSE4.2 (CPUID.01H:ECX bit 20) if the guest has it, else SSE2 (01H:EDX bit 26)
    if ent[(1, 0)][2] >> 20 & 1:
        reg, bit, name = "ecx", 20, "CPUID.01H:ECX.sse4.2 [bit 20]"
    else:
        reg, bit, name = "edx", 26, "CPUID.01H:EDX.sse2 [bit 26]"
    for e in dump["entries"]:
        if int(e["leaf"], 16) == 1:
            e[reg] = hex(int(e[reg], 16) & ~(1 << bit))
    (tmp_path / "weak.json").write_text(json.dumps(dump))

    r = run_script(CHECK_SCRIPT, tmp_path, timeout=300)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    info = r.stdout + r.stderr
    check = (tmp_path / "check.out").read_text()
    assert out["check_rc"] == "4", info + check
    assert f"{tmp_path}/host.json: yes" in check, check
    assert f"{tmp_path}/weak.json: no" in check
    assert f"host doesn't support requested feature: {name}" in check
    verdict = json.loads((tmp_path / "check.json").read_text())[0]
    assert out["checkjson_rc"] == "4"
    assert verdict["compatible"] is False
    assert [m["text"] for m in verdict["missing"]] == [name]
    assert out["checkself_rc"] == "0", (tmp_path / "checkself.out").read_text()
    assert "this host: yes" in (tmp_path / "checkself.out").read_text()
    refuse = (tmp_path / "refuse.err").read_text()
    assert out["refuse_rc"] == "4", refuse
    assert f"host doesn't support requested feature: {name}" in refuse
    assert out["started"] == "no"
    assert out["ok_rc"] == "124", (tmp_path / "ok.err").read_text()
    assert "COUNT cpu=1" in (tmp_path / "ok.txt").read_text()


CORRUPT_SCRIPT = PRELUDE + r'''
"$SKYVM" restore "$DIR/bad" --console "file:$DIR/never.txt" --timeout 3 2>"$DIR/bad.err"
echo "bad_rc $?"
"$SKYVM" restore "$DIR/newer" --console "file:$DIR/never.txt" --timeout 3 2>"$DIR/newer.err"
echo "newer_rc $?"
"$SKYVM" snapshot check "$DIR/bad" 2>"$DIR/badcheck.err"
echo "badcheck_rc $?"
echo "started $([ -e "$DIR/never.txt" ] && echo yes || echo no)"
'''


def test_corrupt_and_newer_refused(kvm, tmp_path):
    r = run_script(REFUSE_SCRIPT, tmp_path, timeout=300)
    assert "snapshot 200" in r.stdout, r.stdout + r.stderr
    state = (tmp_path / "snap" / "state.skyvm").read_bytes()
    mem = (tmp_path / "snap" / "memory.raw")
    for d in ("bad", "newer"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "memory.raw").symlink_to(mem)
    off, ln = sections(state)["vcpu1.sregs"]
    bad = bytearray(state)
    bad[off + ln // 2] ^= 0x10
    (tmp_path / "bad" / "state.skyvm").write_bytes(bytes(bad))
    newer = bytearray(state)
    struct.pack_into("<I", newer, 8, 2)
    struct.pack_into("<I", newer, 28, zlib.crc32(bytes(newer[:28])))
    (tmp_path / "newer" / "state.skyvm").write_bytes(bytes(newer))

    r = run_script(CORRUPT_SCRIPT, tmp_path, timeout=120)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    assert out["bad_rc"] == "1"
    assert "section 'vcpu1.sregs' is corrupt" in (tmp_path / "bad.err").read_text()
    assert out["badcheck_rc"] == "1"
    assert "section 'vcpu1.sregs' is corrupt" in (tmp_path / "badcheck.err").read_text()
    assert out["newer_rc"] == "1"
    assert "version 2 is newer" in (tmp_path / "newer.err").read_text()
    assert out["started"] == "no"
