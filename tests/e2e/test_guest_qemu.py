"""The embedded guests, booted as PVH ELFs under QEMU TCG (no KVM needed).

QEMU is the reference here: it runs the very ELF that skyvm embeds, with a CPU
we describe on its command line, so every expectation below comes from what we
asked QEMU for, not from the guest's own code.  QEMU's isa-debug-exit turns the
guest's status S into the exit code (S << 1) | 1.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUEST_DIR = os.path.join(ROOT, "build", "guest")
QEMU = shutil.which("qemu-system-x86_64")

# A CPU fully described on QEMU's command line: the guest must report these values.
VENDOR, FAMILY, MODEL, STEPPING = "GenuineIntel", 6, 85, 4
BRAND = "skyvm test CPU 1.0"
CPU = (f"qemu64,vendor={VENDOR},family={FAMILY},model={MODEL},stepping={STEPPING},"
       f"model-id={BRAND}")

STATUS_EXCEPTION = 0x7F
STATUS_TEST_FAILED = 0x7E

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")


def guest_elf(name):
    path = os.path.join(GUEST_DIR, f"{name}.elf")
    assert os.path.exists(path), f"{path} not built (make builds it)"
    return path


def qemu_cmd(guest, smp=1, machine="microvm", cpu=CPU, append=None):
    cmd = [QEMU, "-accel", "tcg", "-M", machine, "-smp", str(smp), "-m", "64",
           "-cpu", cpu, "-nographic", "-no-reboot", "-kernel", guest_elf(guest),
           "-device", "isa-debug-exit,iobase=0x501,iosize=1"]
    if append:
        cmd += ["-append", append]
    return cmd


def run_guest(guest="default", timeout=60, **kw):
    p = subprocess.run(qemu_cmd(guest, **kw), capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    print(p.stdout)
    return p


def status_rc(status):
    return (status << 1) | 1


def cpu_lines(out):
    """{cpu: [line, ...]} for the guest's "cpu N: ..." lines (firmware text may precede them)."""
    lines = {}
    for m in re.finditer(r"cpu (\d+): ([^\r\n]*)", out):
        lines.setdefault(int(m.group(1)), []).append(m.group(2))
    return lines


def popcount(x):
    return bin(x).count("1")


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_default_guest_reports_every_cpu_as_configured(smp):
    p = run_guest(smp=smp)
    assert p.returncode == status_rc(0), p.stderr
    assert f"guest: {smp} cpus ok" in p.stdout
    per_cpu = cpu_lines(p.stdout)
    assert sorted(per_cpu) == list(range(smp))
    apics = set()
    for cpu, lines in per_cpu.items():
        first = re.fullmatch(r"apic (\d+) (\S+) family (\d+) model (\d+) stepping (\d+)", lines[0])
        assert first, lines[0]
        apics.add(int(first.group(1)))
        assert first.group(2) == VENDOR
        assert [int(first.group(i)) for i in (3, 4, 5)] == [FAMILY, MODEL, STEPPING]
        assert f'brand "{BRAND}"' in lines
        assert any(re.fullmatch(r'hypervisor "[^"]*" max 0x[0-9a-f]+', l) for l in lines), lines
        # QEMU TCG has no KVM leaves: no PV features, no kvmclock.
        feats = [l for l in lines if l.startswith("features ")]
        assert len(feats) == 1
        assert feats[0].split()[-2] == "kvm=00000000"
        assert "kvmclock: not offered" in lines
    assert len(apics) == smp, "every CPU must report its own APIC id"


def test_default_guest_feature_words_follow_the_cpu_model():
    with_popcnt = run_guest(cpu=CPU + ",+popcnt,+hypervisor")
    without = run_guest(cpu=CPU + ",-popcnt,-hypervisor")
    for p in (with_popcnt, without):
        assert p.returncode == status_rc(0), p.stderr

    def words(out):
        line = next(l for l in cpu_lines(out)[0] if l.startswith("features "))
        fields = dict(f.split("=") for f in line.split()[1:])
        values = {k: int(v, 16) for k, v in fields.items() if k != "bits"}
        # the guest's own bit count must agree with ours
        assert int(fields["bits"]) == sum(popcount(v) for v in values.values())
        return values

    a, b = words(with_popcnt.stdout), words(without.stdout)
    assert a["1.ecx"] & (1 << 23) and not b["1.ecx"] & (1 << 23)   # popcnt
    assert a["1.ecx"] & (1 << 31) and not b["1.ecx"] & (1 << 31)   # hypervisor
    assert "cpu 0: hypervisor none" in without.stdout
    assert "cpu 0: hypervisor none" not in with_popcnt.stdout


def test_default_guest_verbose_names_the_features():
    p = run_guest(cpu=CPU + ",+popcnt,-sse4.2", append="verbose")
    assert p.returncode == status_rc(0), p.stderr
    flags = " ".join(l[len("flags "):] for l in cpu_lines(p.stdout)[0] if l.startswith("flags "))
    names = flags.split()
    assert "popcnt" in names and "sse4.2" not in names
    assert {"fpu", "tsc", "msr", "apic", "sse2"} <= set(names)
    quiet = run_guest(cpu=CPU)
    assert "flags " not in quiet.stdout


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_default_guest_on_firmware_machines(machine):
    # SeaBIOS machines: the RSDP may have to be found by scanning the BIOS area.
    p = run_guest(smp=3, machine=machine)
    assert p.returncode == status_rc(0), p.stderr
    assert "guest: 3 cpus ok" in p.stdout


@pytest.mark.parametrize("machine", ["microvm", "pc"])
def test_default_guest_finds_the_rsdp_by_scanning(machine):
    # QEMU always passes rsdp_paddr; acpi=scan takes the path for loaders that do not.
    p = run_guest(smp=2, machine=machine, append="acpi=scan")
    assert p.returncode == status_rc(0), p.stderr
    assert "guest: 2 cpus ok" in p.stdout and "warning" not in p.stdout


def test_default_guest_cpu_blocks_do_not_interleave():
    p = run_guest(smp=4, append="verbose")
    assert p.returncode == status_rc(0), p.stderr
    order = [int(m.group(1)) for m in re.finditer(r"cpu (\d+): ", p.stdout)]
    # each CPU's lines form one contiguous run
    runs = [c for i, c in enumerate(order) if i == 0 or order[i - 1] != c]
    assert sorted(runs) == [0, 1, 2, 3], order


@pytest.mark.parametrize("status", [3, 42])
def test_exit_option_ends_with_that_status(status):
    p = run_guest(smp=2, append=f"exit={status}")
    assert p.returncode == status_rc(status)
    assert "cpu 0:" not in p.stdout


def test_exception_is_reported_with_vector_and_status():
    p = run_guest(append="test=exception")
    assert p.returncode == status_rc(STATUS_EXCEPTION)
    m = re.search(r"cpu 0: exception 13 \(#GP\) error 0x0 rip 0x([0-9a-f]+)", p.stdout)
    assert m, p.stdout
    assert 0x100000 <= int(m.group(1), 16) < 0x200000   # inside the guest image


def test_int3_handled_by_the_guest_idt():
    p = run_guest(smp=2, append="test=int3")
    assert p.returncode == status_rc(0)
    assert "cpu 0: int3 handled 3 of 3" in p.stdout
    assert "guest: 2 cpus ok" in p.stdout


def test_triple_fault_never_reaches_the_exit_port():
    p = run_guest(append="test=triple-fault")
    # -no-reboot: QEMU ends on the reset a triple fault causes, status 0 and no debug exit
    assert p.returncode == 0
    assert "null IDT" in p.stdout and "cpus ok" not in p.stdout


def test_unknown_test_is_an_error():
    p = run_guest(append="test=no-such-test")
    assert p.returncode == status_rc(STATUS_TEST_FAILED)
    assert "unknown test=no-such-test" in p.stdout


def test_hang_keeps_running():
    with pytest.raises(subprocess.TimeoutExpired) as e:
        run_guest(append="test=hang", timeout=3)
    out = e.value.stdout or b""
    out = out.decode(errors="replace") if isinstance(out, bytes) else out
    assert "test=hang" in out


def test_flood_prints_without_end():
    proc = subprocess.Popen(qemu_cmd("default", append="test=flood"), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        got = b""
        deadline = time.monotonic() + 30
        while len(got) < 256 * 1024 and time.monotonic() < deadline:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            got += chunk
        assert len(got) >= 256 * 1024, f"only {len(got)} bytes"
        numbers = [int(n) for n in re.findall(rb"flood line (\d+):", got)]
        assert numbers[:3] == [0, 1, 2]
        assert numbers == list(range(len(numbers))), "lines lost or reordered"
    finally:
        proc.kill()
        proc.wait()


# ---- the probe guest: its record stream (lib/ports.h, docs/guests.md), seen
# through the `dump` option because QEMU has no device on the probe port.

PROBE_MAGIC = 0xB5
REC = {1: "BEGIN", 2: "CPUID", 3: "KVMCLOCK", 4: "WALLCLOCK", 5: "STEAL", 6: "PV_EOI",
       7: "MSR_CHECK", 8: "ERROR", 9: "END"}
ST_NO_KVM = 4


def probe_streams(out):
    """{cpu: [(type_name, payload), ...]} decoded from the "cpu N: data" lines."""
    words = {}
    for m in re.finditer(r"cpu (\d+): data ((?:[0-9a-f]{8} ?)+)", out):
        words.setdefault(int(m.group(1)), []).extend(int(w, 16) for w in m.group(2).split())
    streams = {}
    for cpu, w in words.items():
        recs, i = [], 0
        while i < len(w):
            h = w[i]
            assert h >> 24 == PROBE_MAGIC, f"cpu {cpu} word {i}: {h:#x}"
            n = h & 0xFFFF
            assert i + 1 + n <= len(w), f"cpu {cpu}: truncated record at word {i}"
            recs.append((REC[(h >> 16) & 0xFF], w[i + 1:i + 1 + n]))
            i += 1 + n
        streams[cpu] = recs
    return streams


def regs_text(*regs):
    return b"".join(r.to_bytes(4, "little") for r in regs).rstrip(b"\0").decode()


@pytest.mark.parametrize("smp", [1, 2])
def test_probe_stream_matches_the_cpu_we_configured(smp):
    p = run_guest("probe", smp=smp, append="dump")
    assert p.returncode == status_rc(0), p.stderr
    assert f"probe: {smp} cpus done" in p.stdout
    streams = probe_streams(p.stdout)
    assert sorted(streams) == list(range(smp))
    apics = set()
    for cpu, recs in streams.items():
        kind, begin = recs[0]
        assert kind == "BEGIN" and begin[:2] == [1, cpu] and begin[3] == smp
        apics.add(begin[2])
        assert recs[-1][0] == "END" and recs[-1][1] == [len(recs) - 1]
        cpuid = {(r[0], r[1]): r[2:] for k, r in recs if k == "CPUID"}
        assert len(cpuid) == sum(k == "CPUID" for k, _ in recs), "a (leaf, subleaf) twice"
        a, b, c, d = cpuid[(0, 0)]
        assert regs_text(b, d, c) == VENDOR
        assert all((leaf, 0) in cpuid for leaf in range(a + 1)), "basic leaves missing"
        eax1, ebx1 = cpuid[(1, 0)][:2]
        # family 6 model 85 stepping 4, as encoded by the SDM's rules
        assert eax1 & 0xF == STEPPING
        assert (eax1 >> 8) & 0xF == FAMILY
        assert ((eax1 >> 4) & 0xF) | ((eax1 >> 12) & 0xF0) == MODEL
        assert ebx1 >> 24 == begin[2], "leaf 1 APIC id and the LAPIC id disagree"
        xmax = cpuid[(0x80000000, 0)][0]
        assert all((leaf, 0) in cpuid for leaf in range(0x80000000, xmax + 1))
        brand = regs_text(*[r for leaf in (0x80000002, 0x80000003, 0x80000004)
                            for r in cpuid[(leaf, 0)]])
        assert brand == BRAND
        # leaf 4: subleaves up to and including the first null cache type
        subs4 = sorted(s for (l, s) in cpuid if l == 4)
        assert subs4 == list(range(len(subs4)))
        assert cpuid[(4, subs4[-1])][0] & 0x1F == 0
        assert all(cpuid[(4, s)][0] & 0x1F for s in subs4[:-1])
        # 0xD: subleaves 0, 1 and exactly the components the masks name
        if a >= 0xD:
            mask = cpuid[(0xD, 0)][0] | cpuid[(0xD, 0)][3] << 32 | \
                cpuid[(0xD, 1)][2] | cpuid[(0xD, 1)][3] << 32
            subs_d = {s for (l, s) in cpuid if l == 0xD}
            assert subs_d == {0, 1} | {i for i in range(2, 64) if mask >> i & 1}
        # TCG: no KVM signature, so every PV result says so and nothing was probed
        pv = {k: r for k, r in recs if k in ("KVMCLOCK", "WALLCLOCK", "STEAL", "PV_EOI")}
        assert sorted(pv) == ["KVMCLOCK", "PV_EOI", "STEAL", "WALLCLOCK"]
        assert all(r[0] == ST_NO_KVM for r in pv.values())
        assert not any(k == "MSR_CHECK" for k, _ in recs)
        assert f"cpu {cpu}: probe no KVM leaves" in p.stdout
    assert len(apics) == smp


def test_probe_sweeps_a_large_cpu():
    # `max` has many leaves and subleaves (7.x, 0xD components, 0x14, ...)
    p = run_guest("probe", smp=2, cpu="max,level=0x1f,xlevel=0x80000021", append="dump")
    assert p.returncode == status_rc(0), p.stderr
    streams = probe_streams(p.stdout)
    assert sorted(streams) == [0, 1]
    for cpu, recs in streams.items():
        cpuid = {(r[0], r[1]): r[2:] for k, r in recs if k == "CPUID"}
        assert not any(k == "ERROR" for k, _ in recs)
        assert all((leaf, 0) in cpuid for leaf in range(0x20))
        assert all((leaf, 0) in cpuid for leaf in range(0x80000000, 0x80000022))
        n7 = cpuid[(7, 0)][0]
        assert {s for (l, s) in cpuid if l == 7} == set(range(n7 + 1))
        for leaf in (0xB, 0x1F):
            # topology levels up to and including the first invalid level type
            subs = sorted(s for (l, s) in cpuid if l == leaf)
            assert subs == list(range(len(subs)))
            # QEMU fills 0xB always (SMT, core, then invalid); 0x1F only with dies > 1
            assert len(subs) >= (3 if leaf == 0xB else 1)
            assert (cpuid[(leaf, subs[-1])][2] >> 8) & 0xFF == 0
            assert all((cpuid[(leaf, s)][2] >> 8) & 0xFF for s in subs[:-1])
        m = re.search(rf"cpu {cpu}: probe cpuid (\d+) records", p.stdout)
        assert m and int(m.group(1)) == len(cpuid)


def test_probe_without_dump_prints_only_the_summary():
    p = run_guest("probe", smp=2)
    assert p.returncode == status_rc(0), p.stderr
    assert "probe: 2 cpus done" in p.stdout
    assert ": data " not in p.stdout


def test_probe_records_an_unexpected_exception():
    p = run_guest("probe", append="dump test=exception")
    assert p.returncode == status_rc(STATUS_EXCEPTION)
    assert "cpu 0: exception 13 (#GP)" in p.stdout
    recs = probe_streams(p.stdout)[0]
    # BEGIN, then the ERROR record (code 3 = exception, vector 13), and no END
    assert [k for k, _ in recs] == ["BEGIN", "ERROR"]
    assert recs[1][1] == [3, 13]


def test_probe_exit_option():
    p = run_guest("probe", append="exit=9")
    assert p.returncode == status_rc(9)


# ---- cost: a restricted KVM interprets guest CPL0 code at ~4.5 M instructions/s,
# so the default guest's instruction count per vCPU is a budget (docs/guests.md).

INSTRUCTION_BUDGET = 3500          # per vCPU; measured ~2600 (boot CPU), ~2000 (AP)
WAITING = {"spin_lock", "spin_lock_unless_mine", "smp_wait_done"}   # time, not work


def guest_functions(elf):
    """Sorted [(address, name)] of the guest's functions (nm)."""
    out = subprocess.run(["nm", "-n", elf], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) not installed")
def test_default_guest_stays_within_its_instruction_budget(tmp_path):
    import bisect
    log = tmp_path / "exec.log"
    # One instruction per translation block, each execution logged: an instruction trace.
    # (-singlestep became -one-insn-per-tb in QEMU 8.1.)
    for one_insn in ("-singlestep", "-one-insn-per-tb"):
        p = subprocess.run(qemu_cmd("default", smp=2) + [one_insn, "-d", "exec,nochain",
                                                         "-D", str(log)],
                           capture_output=True, text=True, timeout=120)
        if p.returncode == status_rc(0):
            break
    assert p.returncode == status_rc(0), p.stderr
    syms = guest_functions(guest_elf("default"))
    addrs = [a for a, _ in syms]
    counts, last = {}, {}
    for line in open(log, errors="replace"):
        m = re.match(r"Trace (\d+): \S+ \[[0-9a-f]+/([0-9a-f]+)/", line)
        if not m:
            continue
        cpu, pc = int(m.group(1)), int(m.group(2), 16)
        if last.get(cpu) == pc:       # further iterations of a rep instruction
            continue
        last[cpu] = pc
        if 0x8000 <= pc < 0x9000:     # the AP trampoline
            name = "trampoline"
        elif 0x100000 <= pc < 0x200000:
            name = syms[bisect.bisect_right(addrs, pc) - 1][1]
        else:
            continue                  # firmware
        if name not in WAITING:
            counts[cpu] = counts.get(cpu, 0) + 1
    print("guest instructions per vCPU:", counts)
    assert sorted(counts) == [0, 1]
    for cpu, n in counts.items():
        assert 500 < n <= INSTRUCTION_BUDGET, f"cpu {cpu}: {n} instructions"


def test_default_guest_starts_up_to_64_cpus_and_says_when_there_are_more():
    p = run_guest(smp=66, timeout=120)
    assert p.returncode == status_rc(0), p.stderr
    assert "guest: warning: 2 CPUs in the MADT not started" in p.stdout
    assert "guest: 64 cpus ok" in p.stdout
    per_cpu = cpu_lines(p.stdout)
    assert sorted(per_cpu) == list(range(64))
    apics = {int(re.match(r"apic (\d+) ", lines[0]).group(1)) for lines in per_cpu.values()}
    assert len(apics) == 64
