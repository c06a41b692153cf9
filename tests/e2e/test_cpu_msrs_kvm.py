"""Feature MSRs on a real KVM (src/cpu/msrs.h): what this host's KVM lists and reports
for IA32_ARCH_CAPABILITIES (`cpu host --json`), what `cpu show` says a model's vCPUs get
written, and what the vCPU then holds: the value KVM returns for KVM_GET_MSRS on the
vCPU, read from a snapshot's saved MSRs, is the field KVM also answers the guest's RDMSR
with (vcpu->arch.arch_capabilities).  One boot per model, with the counter guest.

Models: Cascadelake-Server-v2, whose QEMU bits are rdctl-no, ibrs-all,
skip-l1dfl-vmentry and mds-no (filtered against this host's KVM), and `host`, which
takes KVM's named bits.  On a host that runs guests with its own CPUID (PVM) KVM refuses
the write; skyvm then warns and the vCPU keeps KVM's value, which is asserted instead.

`cpu verify` proves it from inside the guest: the probe guest reads ARCH_CAPABILITIES and
CORE_CAPABILITY with RDMSR, and verify compares what it read with what skyvm wrote."""
import json
import struct

import pytest

from conftest import run_skyvm
from test_snapshot import sections
from vmscript import PRELUDE, run_script

ARCH_CAP = 0x10A
# QEMU's Cascadelake-Server-v2: rdctl-no (0), ibrs-all (1), skip-l1dfl-vmentry (3), mds-no (5)
CASCADELAKE_V2_BITS = 0x2B

SCRIPT = PRELUDE + r'''
"$SKYVM" cpu host --json >"$DIR/host.json"; echo "host_rc $?"
"$SKYVM" cpu show "$CPU" --json >"$DIR/show.json" 2>"$DIR/show.err"; echo "show_rc $?"
start_vm --guest counter --cpus 1 --cpu "$CPU" --cmdline period_ms=100 \
	--console "file:$DIR/c1.txt" --timeout 120
sleep 1
call pause PUT /vm/pause
call snapshot PUT /vm/snapshot -d "{\"path\": \"$DIR/snap\"}"
kill -9 $VM_PID; wait $VM_PID 2>/dev/null
'''


def saved_msrs(path, vcpu=0):
    """{index: data} of a vCPU's saved MSRs (struct kvm_msr_entry: u32, u32, u64)."""
    blob = path.read_bytes()
    off, length = sections(blob)[f"vcpu{vcpu}.msrs"]
    return {struct.unpack_from("<I", blob, off + i)[0]: struct.unpack_from("<Q", blob, off + i + 8)[0]
            for i in range(0, length, 16)}


@pytest.mark.parametrize("cpu", ["Cascadelake-Server-v2", "host"])
def test_vcpu_holds_the_models_arch_capabilities(kvm, tmp_path, cpu):
    r = run_script(SCRIPT, tmp_path, timeout=300, env={"CPU": cpu})
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    run_err = (tmp_path / "run.err").read_text() if (tmp_path / "run.err").exists() else ""
    info = f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\nrun.err:\n{run_err}"
    assert out.get("host_rc") == "0" and out.get("show_rc") == "0", info
    assert out.get("snapshot") == "200", info

    host = json.loads((tmp_path / "host.json").read_text())
    listed = {int(m["index"], 16): int(m["value"], 16) for m in host.get("feature_msrs", [])}
    print(f"{cpu}: this KVM's feature MSRs: { {hex(k): hex(v) for k, v in listed.items()} }")
    assert "feature_msrs" in host, "cpu host --json records the feature MSRs"

    show = json.loads((tmp_path / "show.json").read_text())
    written = {int(m["index"], 16): int(m["value"], 16) for m in show["vcpus"][0]["msrs"]}
    enabled = set(show["features"]["enabled"])
    held = saved_msrs(tmp_path / "snap" / "state.skyvm")
    print(f"{cpu}: written {[hex(v) for v in written.values()]}, "
          f"vCPU holds {hex(held[ARCH_CAP]) if ARCH_CAP in held else None}")

    if ARCH_CAP not in listed or "arch-capabilities" not in enabled:
        # nothing to write: KVM's own value stays (QEMU writes only what KVM lists)
        assert ARCH_CAP not in written
        return
    expect = written[ARCH_CAP]
    # only bits KVM reported, and for the named model only the model's
    assert expect & ~listed[ARCH_CAP] == 0
    if cpu == "Cascadelake-Server-v2":
        assert expect == CASCADELAKE_V2_BITS & listed[ARCH_CAP]
    assert ARCH_CAP in held, "the snapshot saves IA32_ARCH_CAPABILITIES (KVM lists it)"
    if "KVM refused the model's MSR 0x10a" in run_err:
        # a host that does not run the guest with skyvm's CPUID (PVM): the write did not
        # take (KVM's own value stays), and skyvm said so once
        assert run_err.count("KVM refused the model's MSR") == 1, info
        assert held[ARCH_CAP] != expect, info
        return
    assert held[ARCH_CAP] == expect, info


EXIT_CPU_MISMATCH = 3


def test_guest_reads_the_models_arch_capabilities(kvm):
    """`cpu verify Cascadelake-Server-v2`: the probe guest's RDMSR of 0x10A gives exactly
    what skyvm wrote (its CPUID has arch-capabilities), and 0xCF, which its CPUID hides,
    is reported but not judged.  On a host that refuses the write (PVM) verify must say
    so: a feature MSR difference, with the value the vCPU kept."""
    cpu = "Cascadelake-Server-v2"
    show = run_skyvm("cpu", "show", cpu, "--json", timeout=300)
    assert show.returncode == 0, show.stderr
    written = {int(m["index"], 16): int(m["value"], 16)
               for m in json.loads(show.stdout)["vcpus"][0]["msrs"]}
    r = run_skyvm("cpu", "verify", cpu, "--json", timeout=300)
    assert r.returncode in (0, EXIT_CPU_MISMATCH), r.stdout + r.stderr
    doc = json.loads(r.stdout)
    msrs = {int(m["msr"], 16): m for m in doc["vcpus"][0]["feature_msrs"]}
    print(f"{cpu}: written {[hex(v) for v in written.values()]}, guest read "
          f"{ {hex(k): (m['status'], m['seen']) for k, m in msrs.items()} }")
    assert set(msrs) == {ARCH_CAP, 0xCF}, "the probe read every modelled feature MSR"
    assert msrs[0xCF]["status"] == "not-gated"
    arch = msrs[ARCH_CAP]
    if ARCH_CAP not in written:
        # KVM does not list it here: nothing written, the guest reads KVM's own
        assert arch["status"] == "not-written", arch
        return
    assert written[ARCH_CAP] & ~CASCADELAKE_V2_BITS == 0
    assert int(arch["expected"], 16) == written[ARCH_CAP]
    if "KVM refused the model's MSR 0x10a" in r.stderr:
        # the write did not take: a difference, named, with what the vCPU kept
        assert arch["status"] == "different", arch
        assert doc["msr_differences"] >= 1 and r.returncode == EXIT_CPU_MISMATCH
        assert "KVM refused skyvm's write" in arch["description"], arch
        return
    assert arch["status"] == "equal", arch
    assert not arch["gp"] and int(arch["seen"], 16) == written[ARCH_CAP], arch
    assert doc["msr_differences"] == 0
    # the text form says the same
    t = run_skyvm("cpu", "verify", cpu, timeout=300)
    assert f"MSR(10AH) = {hex(written[ARCH_CAP])}, as skyvm wrote it" in t.stdout, t.stdout
