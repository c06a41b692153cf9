"""What a guest finally sees, skyvm against QEMU under KVM, register by register.

test_qemu_models.py holds skyvm's model *tables* to QEMU's.  This test holds the CPUID a
guest actually reads to what QEMU gives the same guest, on the same host, in the same run:
QEMU (`-M microvm -enable-kvm -cpu MODEL -smp N`) and skyvm (`run --cpu MODEL --cpus N`)
boot the same embedded probe guest (build/guest/probe.elf, a PVH ELF QEMU loads with
-kernel), which sweeps every CPUID leaf and subleaf on every vCPU and prints its records
(`dump`, tests/e2e/cpuid_diff.py decodes them).  Every register of every leaf of every vCPU
is compared, with 1 and 2 vCPUs, for `host`, `max` and the named model versions both have
(those with long mode: the probe guest is a 64-bit guest).

Where it runs: on a /dev/kvm that honours KVM_SET_CPUID2.  A PVM host (kvm_pvm loaded)
gives its guests the host's CPUID whatever the VMM sets, so there, and where there is no
usable /dev/kvm, both VMMs run inside the nested-KVM guest (tests/nested/,
docs/nested-testing.md; QEMU runs there with -enable-kvm as well, chrooted into this
machine's /).  `make check` runs it there like every kvm test; SKYVM_NESTED=0 turns the
nested guest off and this test then skips, saying so.

Which models: every model version takes ~20 s per VMM under nested TCG, so a run tests
`host`, `max` and a fixed rotating subset of ROTATE named versions (the shard of the day,
or SKYVM_CPUID_DIFF_SHARD=K); SKYVM_CPUID_DIFF=all (`make check-slow`) tests them all,
SKYVM_CPUID_DIFF=Cooperlake-v1,EPYC-Genoa-v1 those named.
The test's ids name the models, so the junit report says which ran.

The differences that remain by design are DESIGN below, each with why; the test asserts
they are what they claim (so an exception cannot hide another difference), and
tests/unit/test_pipeline.c test_design_differences_pinned pins them without KVM.
"""
import datetime
import json
import math
import os
import re
import shlex
import shutil
import subprocess

import pytest

import conftest
import cpuid_diff

QEMU = shutil.which("qemu-system-x86_64")
PROBE = os.path.join(conftest.ROOT, "build", "guest", "probe.elf")
SMPS = (1, 2)
ROTATE = 3
VMM_TIMEOUT = 240  # seconds per VMM run; the nested guest's serial output is slow
# The probe waits for its other vCPUs for a time that grows with its steal-time busy loop
# (src/guest/probe/main.c).  Under nested TCG on a loaded machine a vCPU can still be
# printing its records when the wait ends, and the guest ends with "only 1 of 2 cpus
# reported" (status 0x70: QEMU exits (0x70 << 1) | 1, skyvm 0x70): that run is done again
# once with a far longer wait.  It is the console that is slow, not CPUID that differs.
PROBE_CMDLINE = "dump steal-us=2000000"
PROBE_CMDLINE_SLOW = "dump steal-us=10000000"
SMP_FAILED = {"qemu": (0x70 << 1) | 1, "skyvm": 0x70}

KVM_FEATURES = 0x40000001
MSI_EXT_DEST_ID = 1 << 15    # CPUID.40000001H:EAX kvm-msi-ext-dest-id
ASYNCPF_VMEXIT = 1 << 10     # CPUID.40000001H:EAX kvm-asyncpf-vmexit

# (leaf, subleaf, register, mask, applies(model), why): docs/cpu-models.md lists the same.
DESIGN = [
    (KVM_FEATURES, 0, "eax", MSI_EXT_DEST_ID, lambda m: True,
     "kvm-msi-ext-dest-id: QEMU's microvm has a split irqchip (its own IOAPIC) and sets it; "
     "skyvm's IOAPIC is KVM's in-kernel one, which has no extended destination ids"),
    (KVM_FEATURES, 0, "eax", ASYNCPF_VMEXIT, lambda m: m in ("host", "max"),
     "kvm-asyncpf-vmexit: QEMU 7.2 had no name for it, so its migratable host/max drop it; "
     "later QEMU names it and keeps it, as skyvm's feature table does"),
]


def _qemu_models():
    if not QEMU:
        return set()
    out = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^x86 +(\S+)", out, re.M)}


def _skyvm_versions():
    if not os.access(conftest.SKYVM, os.X_OK):
        return []
    r = subprocess.run([conftest.SKYVM, "cpu", "list", "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        return []
    # The probe guest is 64-bit: models without long mode (486, pentium, qemu32, ...)
    # cannot run it under either VMM, so they are not compared.
    return [m["name"] for m in json.loads(r.stdout)["models"]
            if m.get("version") and "lm" in m["features"]]


def _selected():
    versions = sorted(v for v in _skyvm_versions() if v in _qemu_models())
    asked = os.environ.get("SKYVM_CPUID_DIFF", "")
    if asked == "all" or not versions:
        return ["host", "max"] + versions, "all"
    if asked:  # a comma-separated list of model versions
        return asked.split(","), "asked for in SKYVM_CPUID_DIFF"
    shards = math.ceil(len(versions) / ROTATE)
    shard = os.environ.get("SKYVM_CPUID_DIFF_SHARD")
    shard = int(shard) % shards if shard else datetime.date.today().toordinal() % shards
    return ["host", "max"] + versions[shard::shards][:ROTATE], f"shard {shard} of {shards}"


MODELS, SUBSET = _selected()


@pytest.fixture(scope="module")
def names():
    r = subprocess.run([conftest.SKYVM, "cpu", "features", "--json"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return cpuid_diff.feature_names(json.loads(r.stdout))


@pytest.fixture(scope="module")
def runner():
    """A function running a shell script where both VMMs get a KVM that sets CPUID."""
    if not QEMU:
        pytest.skip("qemu-system-x86_64 not installed")
    assert os.path.exists(PROBE), f"{PROBE} not built (make builds it)"
    pvm = os.path.exists("/sys/module/kvm_pvm")
    if conftest.kvm_unavailable_reason() is None and not pvm:
        def here(script, timeout):
            return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True,
                                  timeout=timeout, errors="replace")
        return here
    why = ("a PVM host gives guests its own CPUID whatever the VMM sets" if pvm
           else conftest.kvm_unavailable_reason())
    if os.environ.get("SKYVM_NESTED") == "0":
        pytest.skip(f"{why}; the nested KVM guest is off (SKYVM_NESTED=0): "
                    f"SKYVM_NESTED=1 runs this comparison there")
    guest = conftest._nested_guest()
    if guest is None:
        pytest.skip(f"{why}; nested KVM on QEMU TCG unavailable: {conftest._Nested.reason}")
    print(f"nested: comparing inside the nested KVM guest ({why})")

    def nested(script, timeout):
        return guest.run(["/bin/sh", "-c", script], timeout=timeout)
    return nested


def boot_both(runner, tmp_path, model, smp):
    q, s = tmp_path / "qemu.txt", tmp_path / "skyvm.txt"

    def qemu(cmdline):
        return [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", model, "-smp", str(smp),
                "-m", "64", "-nographic", "-no-reboot", "-kernel", PROBE, "-append", cmdline,
                "-device", "isa-debug-exit,iobase=0x501,iosize=1"]

    def skyvm(cmdline):
        return [conftest.SKYVM, "run", "--guest", "probe", "--cmdline", cmdline,
                "--cpu", model, "--cpus", str(smp), "--timeout", str(VMM_TIMEOUT)]

    def once(name, argv, slow_argv, out, limit):
        # -k: a VMM stuck in KVM_RUN under nested TCG can outlive SIGTERM (seen once with
        # the QEMU peer); SIGKILL after 10 s keeps the script inside the harness's bound.
        run = f"timeout -k 10 {limit} {{}} > {shlex.quote(str(out))} 2>&1"
        return (f"{run.format(shlex.join(argv))}; rc=$?\n"
                f"if [ $rc = {SMP_FAILED[name]} ]; then echo {name}-retried=1; "
                f"{run.format(shlex.join(slow_argv))}; rc=$?; fi\n"
                f"echo {name}=$rc\n")

    script = (f"cd {shlex.quote(conftest.ROOT)}\n" +
              once("qemu", qemu(PROBE_CMDLINE), qemu(PROBE_CMDLINE_SLOW), q, VMM_TIMEOUT) +
              once("skyvm", skyvm(PROBE_CMDLINE), skyvm(PROBE_CMDLINE_SLOW), s,
                   VMM_TIMEOUT + 30))
    r = runner(script, timeout=4 * VMM_TIMEOUT + 120)
    status = dict(line.split("=") for line in r.stdout.split() if "=" in line)
    for name in ("qemu", "skyvm"):
        if status.get(f"{name}-retried"):
            print(f"{name}: the probe ended before its vCPUs had printed; ran again with "
                  f"the longer wait")
    return q.read_text(errors="replace"), s.read_text(errors="replace"), status


@pytest.mark.timeout(4 * VMM_TIMEOUT + 600)  # up to four VMM runs, and a nested guest's boot
@pytest.mark.parametrize("smp", SMPS)
@pytest.mark.parametrize("model", MODELS)
def test_guest_cpuid_equals_qemus(kvm, runner, names, tmp_path, model, smp):
    print(f"models under test: {SUBSET} ({', '.join(MODELS)})")
    qtext, stext, status = boot_both(runner, tmp_path, model, smp)
    try:
        theirs = cpuid_diff.guest_cpuid(qtext, smp)
    except AssertionError as e:
        pytest.fail(f"QEMU -cpu {model} (exit {status.get('qemu')}): {e}\n{qtext[-3000:]}")
    assert status.get("skyvm") == "0", f"skyvm --cpu {model}: exit {status}\n{stext[-3000:]}"
    ours = cpuid_diff.guest_cpuid(stext, smp)

    design = [d for d in DESIGN if d[4](model)]

    def ignore(leaf, sub, reg):
        return sum(d[3] for d in design if (d[0], d[1], d[2]) == (leaf, sub, reg))

    report = []
    for cpu in range(smp):
        diffs = cpuid_diff.differences(ours[cpu], theirs[cpu], ignore)
        if diffs:
            said = cpuid_diff.meanings(ours[cpu], theirs[cpu], diffs, names)
            report.append(f"vCPU {cpu}: " + "; ".join(said) + "\n" +
                          cpuid_diff.describe(diffs))
        # the by-design differences are what they claim to be
        ours_kvm = ours[cpu].get((KVM_FEATURES, 0), (0,))[0]
        theirs_kvm = theirs[cpu].get((KVM_FEATURES, 0), (0,))[0]
        assert theirs_kvm & MSI_EXT_DEST_ID and not ours_kvm & MSI_EXT_DEST_ID, \
            f"vCPU {cpu}: kvm-msi-ext-dest-id: QEMU {theirs_kvm:08x}, skyvm {ours_kvm:08x}"
        assert not theirs_kvm & ASYNCPF_VMEXIT, "QEMU 7.2 cannot set kvm-asyncpf-vmexit"
        if model not in ("host", "max"):
            assert not ours_kvm & ASYNCPF_VMEXIT, "no named model has kvm-asyncpf-vmexit"
    assert not report, (f"--cpu {model} with {smp} vCPU(s): the guest's CPUID differs from "
                        f"QEMU's under KVM:\n" + "\n".join(report))
