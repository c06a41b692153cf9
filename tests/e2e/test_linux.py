"""Linux guests: the test kernel (guests/linux/, `make linux`) booted to /init.

Two kinds of test:

- Reference boots under QEMU TCG (no KVM needed, they run everywhere): what a
  correct boot of this kernel and initramfs prints, on `-M pc` (bzImage and
  the PVH vmlinux) and `-M microvm`; and the build's own promises (every
  fragment option in .config, the PVH note, kvm.c's per-CPU debug lines).
- skyvm boots (the `kvm` fixture; they skip where /dev/kvm is unusable): the
  KVM guest path proved step by step from the kernel's own log, in boot
  order, with the expected kvm-guest lines computed from the PV features the
  model enables (`skyvm cpu show --json`), and the host-specific kernel
  options taken from `skyvm host-check --json`.  Negative runs switch single
  features off and check that the matching lines disappear.

The Debian cloud kernel (`make check-slow`, SKYVM_SLOW=1) gets the same.
"""
import glob
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, SKYVM, run_skyvm

# The test kernel's directory: SKYVM_TEST_KERNEL_DIR (as for the unit tests'
# QEMU boot), else where `make linux` / `make check` builds it.
LINUX = os.path.join(ROOT, os.environ.get("SKYVM_TEST_KERNEL_DIR") or "build/linux")
BZIMAGE = os.path.join(LINUX, "bzImage")
VMLINUX = os.path.join(LINUX, "vmlinux")
INITRD = os.path.join(LINUX, "initramfs.cpio.gz")
FRAGMENT = os.path.join(ROOT, "guests", "linux", "skyvm.config")
QEMU = "qemu-system-x86_64"

# The model the skyvm boots use; the PV expectations follow from it.
MODEL = os.environ.get("SKYVM_LINUX_CPU", "host")
SKYVM_TIMEOUT = 300  # seconds; an interpreted boot on a restricted host takes ~20


def need(path):
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: run `make linux` (make check builds it)")
    return path


# ---------------------------------------------------------------- log checks

def find_in_order(log, steps):
    """Each step is (what, regex); every regex must match after the previous
    one's match.  Returns the matches; fails naming the first missing step."""
    pos, found = 0, []
    for what, rx in steps:
        m = re.compile(rx, re.M).search(log, pos)
        if not m:
            before = re.compile(rx, re.M).search(log)
            where = (f"it appears only earlier, at offset {before.start()}: out of order"
                     if before else "it is not in the log at all")
            pytest.fail(f"boot step missing after offset {pos}: {what} (/{rx}/): {where}\n"
                        f"--- log tail ---\n{log[-4000:]}")
        found.append(m)
        pos = m.end()
    return found


def assert_absent(log, what, rx):
    m = re.search(rx, log, re.M)
    assert not m, f"{what}: unexpected line {m.group(0)!r}"


TTY_LINE = "SKYVM-TTY: /init wrote this line to the console tty"


def init_markers(log, cpus):
    """The /init markers (guests/linux/init), in order, with its CPU count.
    All but one go through /dev/kmsg (the console prints them by polling);
    SKYVM-TTY is written to the console tty, which the 8250 driver sends on
    UART interrupts: it arrives only if COM1 got its IRQ, and /init reports
    the driver's transmit count once the line has left."""
    found = find_in_order(log, [
        ("/init started", r"SKYVM-INIT: start$"),
        ("/init counted CPUs", r"SKYVM-INIT: cpus=(\d+) online=(\S+)$"),
        ("/init read the clocksource", r"SKYVM-INIT: clocksource=(\S+)$"),
        ("/init's own line on the console tty (needs COM1's IRQ)",
         rf"^{re.escape(TTY_LINE)}$"),
        ("the UART driver sent it", r"SKYVM-INIT: tty tx=(\d+) want=(\d+)$"),
        ("/init done", r"SKYVM-INIT: done$"),
    ])
    assert int(found[1].group(1)) == cpus, f"/init saw {found[1].group(1)} CPUs, not {cpus}"
    online = "0" if cpus == 1 else f"0-{cpus - 1}"
    assert found[1].group(2) == online
    tx, want = int(found[4].group(1)), int(found[4].group(2))
    assert tx >= want >= len(TTY_LINE) + 1, f"ttyS0 sent {tx} bytes, /init wrote {want}"
    return found[2].group(1)


def acpi_pnp_steps(log, i8042=True):
    """skyvm's DSDT loaded and ACPI PNP gave COM1 (and the i8042) an IRQ:
    without that the UART serves printk only, not a process.  i8042: the
    kernel has the i8042 driver built in (the test kernel does)."""
    found = find_in_order(log, [
        ("DSDT loaded", r"ACPI: 1 ACPI AML tables successfully acquired and loaded"),
        ("ACPI PNP found the DSDT's devices", r"pnp: PnP ACPI: found 3 devices"),
        ("COM1 from ACPI PNP, with an IRQ",
         r"\d+:\d+: ttyS0 at I/O 0x3f8 \(irq = (\d+), base_baud"),
        ("/init started", r"Run /init as init process"),
    ])
    assert int(found[2].group(1)) != 0, "COM1 has no IRQ"
    assert_absent(log, "ACPI table load failure", r"During Region initialization")
    if i8042:
        assert re.search(r"i8042: PNP: PS/2 Controller \[PNP0303:\w+\] at 0x60,0x64 irq \d+",
                         log, re.M), "the i8042 driver did not find the DSDT's PNP0303"
        # status bit 4 set: the keyboard is not inhibited by a key lock
        assert_absent(log, "an inhibited keyboard", r"i8042: Warning: Keylock active")


def smp_line(cpus):
    return rf"smp: Brought up 1 node, {cpus} CPUs?$"


# ------------------------------------------------------- reference (QEMU TCG)

def run_qemu(kernel, machine, cpus, initrd=INITRD, append="", timeout=120):
    cmd = [QEMU, "-accel", "tcg", "-M", machine, "-smp", str(cpus), "-m", "256",
           "-nographic", "-no-reboot", "-kernel", need(kernel), "-initrd", need(initrd),
           "-append", f"console=ttyS0 panic=-1 {append}".strip()]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                       timeout=timeout, stdin=subprocess.DEVNULL)
    print(f"$ {' '.join(cmd)}\nexit {p.returncode}")
    return p.returncode, p.stdout.replace("\r\n", "\n") + p.stderr


@pytest.mark.parametrize("kernel,machine", [
    (BZIMAGE, "pc"),
    (VMLINUX, "pc"),       # QEMU enters the ELF through its PVH note
    (VMLINUX, "microvm"),  # no PCI, no MP table, hardware-reduced ACPI: like skyvm
])
def test_reference_boot_to_init(kernel, machine):
    # microvm has no port 0x61 to gate the PIT and no HPET, and TCG offers no
    # kvm-clock, so the kernel cannot measure the TSC and stalls: tell it.
    rc, log = run_qemu(kernel, machine, 2,
                       append="tsc_early_khz=2000000" if machine == "microvm" else "")
    find_in_order(log, [
        ("Linux banner", r"Linux version 6\.1\.\S+-skyvm"),
        # The kernel has no MP-table parser: it can only find its CPUs in the MADT.
        ("MADT used for SMP", r"ACPI: Using ACPI \(MADT\) for SMP configuration information"),
        ("both CPUs possible", r"smpboot: Allowing 2 CPUs"),
        ("SMP up", smp_line(2)),
        ("/init started", r"Run /init as init process"),
    ])
    init_markers(log, 2)
    find_in_order(log, [("/init rebooted", r"reboot: Restarting system")])
    assert rc == 0, f"QEMU exited {rc}"


def test_reference_one_cpu():
    """The negative control: the same assertions must see one CPU here."""
    rc, log = run_qemu(BZIMAGE, "pc", 1)
    find_in_order(log, [("SMP up", smp_line(1)), ("/init", r"Run /init as init process")])
    assert_absent(log, "two CPUs", smp_line(2))
    init_markers(log, 1)
    assert rc == 0


def test_reference_uncompressed_initramfs():
    """build/linux/initramfs.cpio holds the same tree, without gzip."""
    rc, log = run_qemu(BZIMAGE, "pc", 2, initrd=os.path.join(LINUX, "initramfs.cpio"))
    init_markers(log, 2)
    assert rc == 0


def fragment_options():
    opts = {}
    for line in open(FRAGMENT):
        line = line.strip()
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            opts[m.group(1)] = m.group(2) if m.lastindex == 2 else None
    return opts


def test_fragment_options_are_in_config():
    config = open(need(os.path.join(LINUX, "config"))).read()
    opts = fragment_options()
    assert len(opts) > 20, "the fragment parsed to almost nothing"
    wrong = []
    for name, value in opts.items():
        m = re.search(rf"^{name}=(.*)$", config, re.M)
        have = m.group(1) if m else None
        if have != value:
            wrong.append(f"{name}: fragment {value!r}, .config {have!r}")
    assert not wrong, "options that did not stick:\n" + "\n".join(wrong)


def test_vmlinux_has_pvh_note_and_per_cpu_kvm_lines():
    notes = subprocess.run(["readelf", "-n", need(VMLINUX)], capture_output=True,
                           text=True, check=True).stdout
    # XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit entry point PVH loaders jump to
    assert re.search(r"^\s*Xen\s+0x[0-9a-f]+\s+(Unknown note type: \(0x00000012\)|.*PHYS32)",
                     notes, re.M), notes
    image = open(VMLINUX, "rb").read()
    for msg in (b"stealtime: cpu %d, msr %llx", b"setup async PF for cpu %d"):
        assert msg in image, f"kvm.c's {msg!r} compiled out: is -DDEBUG gone from the build?"


# ------------------------------------------------------------- skyvm on KVM

def host_check(skyvm):
    """What this host needs (implemented by `skyvm host-check --json`)."""
    p = skyvm("host-check", "--json", timeout=120)
    assert p.returncode == 0, f"skyvm host-check failed ({p.returncode}): {p.stderr}"
    h = json.loads(p.stdout)
    for key, kind in (("kernel_cmdline", str), ("cpu_model_options", str),
                      ("guest_syscalls_work", bool)):
        assert isinstance(h.get(key), kind), f"host-check JSON lacks {key} ({kind.__name__})"
    return h


def model_spec(h, *extra):
    return ",".join(x for x in [MODEL, h["cpu_model_options"].strip(","), *extra] if x)


def model_pv(skyvm, spec, cpus):
    """The PV features the model gives the guest, from `skyvm cpu show`."""
    p = skyvm("cpu", "show", spec, "--cpus", cpus, "--json")
    assert p.returncode == 0, f"skyvm cpu show {spec}: {p.stderr}"
    show = json.loads(p.stdout)
    enabled = set(show["features"]["enabled"])
    leaf = next(e for e in show["vcpus"][0]["cpuid"] if int(e["leaf"], 16) == 0x40000001)
    eax = int(leaf["eax"], 16)
    return enabled, eax


def expected_kvm_lines(enabled, eax, cpus):
    """(present, absent) kvm-guest / kvm-clock lines, from arch/x86/kernel/kvm.c
    and kvmclock.c of Linux 6.1: which code runs for which feature bit."""
    present, absent = [], []
    dedicated = "kvm-hint-dedicated" in enabled
    mwait = "monitor" in enabled
    steal = "kvm-steal-time" in enabled
    if eax & (1 << 3):    # KVM_FEATURE_CLOCKSOURCE2: the new MSR pair
        present.append(("kvm-clock MSRs", r"kvm-clock: Using msrs 4b564d01 and 4b564d00"))
    elif eax & (1 << 0):  # only the old pair
        present.append(("kvm-clock MSRs", r"kvm-clock: Using msrs 12 and 11"))
    else:
        absent.append(("kvm-clock", r"kvm-clock: Using msrs"))
    for cpu in range(cpus):  # kvm_guest_cpu_init(): async PF first, steal time last
        (present if "kvm-asyncpf-int" in enabled else absent).append(
            (f"async PF on cpu {cpu}", rf"kvm-guest: setup async PF for cpu {cpu}$"))
        (present if steal else absent).append(
            (f"steal time registered on cpu {cpu}", rf"kvm-guest: stealtime: cpu {cpu}, msr"))
    if dedicated:
        spin = r"PV spinlocks disabled with KVM_HINTS_REALTIME hints"
    elif cpus == 1:
        spin = r"PV spinlocks disabled, single CPU"
    elif "kvm-pv-unhalt" in enabled:
        spin = r"PV spinlocks enabled"
    else:
        spin = r"PV spinlocks disabled, no host support"
    present.append(("PV spinlock decision", rf"kvm-guest: {spin}$"))
    multi = cpus != 1
    for name, on, rx in (
        ("PV TLB flush", "kvm-pv-tlb-flush" in enabled and not dedicated and steal and not mwait
         and multi, r"kvm-guest: KVM setup pv remote TLB flush"),
        ("PV sched yield", "kvm-pv-sched-yield" in enabled and not dedicated and steal and not mwait
         and multi, r"kvm-guest: setup PV sched yield"),
        ("PV IPIs", "kvm-pv-ipi" in enabled and multi, r"kvm-guest: setup PV IPIs"),
    ):
        (present if on else absent).append((name, rx))
    return present, absent


def boot_skyvm(skyvm, kernel, initrd, cpus, spec, cmdline):
    args = ["run", "--kernel", need(kernel), "--initrd", need(initrd), "--cpus", cpus,
            "--memory", 256, "--cpu", spec, "--cmdline", cmdline, "--timeout", SKYVM_TIMEOUT]
    print("$ skyvm " + " ".join(map(str, args)))
    p = skyvm(*args, timeout=SKYVM_TIMEOUT + 60)
    log = (p.stdout + p.stderr).replace("\r\n", "\n")
    print(f"exit {p.returncode}; log tail:\n{log[-3000:]}")
    return p.returncode, log


def check_kvm_boot(skyvm, h, kernel, initrd, cpus, extra=(), kvm_debug_cpus=None,
                   cmdline_extra="", i8042=True):
    """Boot and check the KVM guest path in order; returns the log.
    kvm_debug_cpus: the CPUs whose kvm.c debug lines the kernel can print
    (all of them for the test kernel); i8042: the driver is built in."""
    spec = model_spec(h, *extra)
    enabled, eax = model_pv(skyvm, spec, cpus)
    present, absent = expected_kvm_lines(enabled, eax, cpus)
    if kvm_debug_cpus is not None:
        per_cpu = re.compile(r"cpu (\d+)")
        keep = []
        for what, rx in present:
            m = per_cpu.search(what)
            if m and int(m.group(1)) not in kvm_debug_cpus:
                print(f"not checkable on this kernel: {what}")
                continue
            keep.append((what, rx))
        present = keep
    cmdline = f"console=ttyS0 panic=-1 {h['kernel_cmdline']} {cmdline_extra}".strip()
    rc, log = boot_skyvm(skyvm, kernel, initrd, cpus, spec, cmdline)

    kvmclock = any(rx.startswith("kvm-clock: Using") for _, rx in present)
    steal0 = [s for s in present if s[0] == "steal time registered on cpu 0"]
    spin = [s for s in present if s[0] == "PV spinlock decision"]
    ap_lines = [s for s in present if re.search(r"cpu [1-9]", s[0])]
    order = [("hypervisor detected", r"Hypervisor detected: KVM")]
    order += [s for s in present if s[0] == "kvm-clock MSRs"]
    order += [("MADT used for SMP", r"ACPI: Using ACPI \(MADT\) for SMP configuration"),
              ("CPUs from the MADT", rf"smpboot: Allowing {cpus} CPUs")]
    order += steal0 + spin + ap_lines
    order += [("SMP up", smp_line(cpus))]
    # With an invariant TSC, kvmclock_init() drops kvm-clock's rating below
    # the TSC's (kvmclock.c): then either may be chosen.
    invariant_tsc = "invtsc" in enabled
    if kvmclock and invariant_tsc:
        print("invtsc enabled: kvm-clock and tsc are both acceptable clocksources")
        order += [("kvm-clock or tsc chosen",
                   r"clocksource: Switched to clocksource (kvm-clock|tsc-early|tsc)$")]
    elif kvmclock:
        order += [("kvm-clock chosen", r"clocksource: Switched to clocksource kvm-clock$")]
    else:
        order += [("another clocksource chosen", r"clocksource: Switched to clocksource (?!kvm-clock)\S+$")]
    order += [("/init started", r"Run /init as init process")]
    find_in_order(log, order)
    acpi_pnp_steps(log, i8042)
    # What is not part of the order is still required (e.g. async PF lines).
    for what, rx in present:
        assert re.search(rx, log, re.M), f"missing: {what} (/{rx}/)"
    for what, rx in absent:
        assert_absent(log, what + " (the model disables it)", rx)
    if not kvmclock:
        assert_absent(log, "kvm-clock as clocksource", r"Switched to clocksource kvm-clock")

    if h["guest_syscalls_work"]:
        print("userspace: this host runs guest system calls: /init must finish")
        source = init_markers(log, cpus)
        if not invariant_tsc:
            assert (source == "kvm-clock") == kvmclock, f"/init saw clocksource {source}"
        assert rc == 0, f"skyvm exited {rc}"
    else:
        print(f"userspace: guest system calls do not work on this host (host-check): "
              f"the test ends at 'Run /init' (skyvm exited {rc})")
        assert rc != 124, "the guest hung until --timeout"
    return log


KERNELS = [pytest.param(BZIMAGE, id="bzImage"), pytest.param(VMLINUX, id="vmlinux-pvh")]


@pytest.mark.parametrize("kernel", KERNELS)
def test_skyvm_boots_linux_kvm_path(kvm, skyvm, kernel):
    h = host_check(skyvm)
    check_kvm_boot(skyvm, h, kernel, INITRD, 2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_skyvm_linux_without_kvmclock(kvm, skyvm, kernel):
    h = host_check(skyvm)
    log = check_kvm_boot(skyvm, h, kernel, INITRD, 2, extra=("-kvmclock",))
    assert_absent(log, "kvm-clock", r"kvm-clock")


@pytest.mark.parametrize("kernel", KERNELS)
def test_skyvm_linux_without_steal_time(kvm, skyvm, kernel):
    h = host_check(skyvm)
    log = check_kvm_boot(skyvm, h, kernel, INITRD, 2, extra=("-kvm-steal-time",))
    assert_absent(log, "steal time", r"stealtime: cpu")


@pytest.mark.parametrize("kernel", KERNELS)
def test_skyvm_linux_one_cpu(kvm, skyvm, kernel):
    h = host_check(skyvm)
    log = check_kvm_boot(skyvm, h, kernel, INITRD, 1)
    assert_absent(log, "a second CPU", r"stealtime: cpu 1|smp: Brought up 1 node, 2 CPUs")


# ------------------------------------------------- Debian's cloud kernel (slow)

def cloud_kernel():
    if os.environ.get("SKYVM_SLOW") != "1":
        pytest.skip("slow: run `make check-slow` (SKYVM_SLOW=1) to boot Debian's cloud kernel")
    found = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not found:
        pytest.fail("no /boot/vmlinuz-*-cloud-amd64: `make check-slow` installs "
                    "linux-image-cloud-amd64")
    kernel = found[-1]
    config = "/boot/config-" + os.path.basename(kernel)[len("vmlinuz-"):]
    dyndbg = os.path.exists(config) and "CONFIG_DYNAMIC_DEBUG=y" in open(config).read()
    return kernel, dyndbg


def test_cloud_kernel_reference():
    kernel, _ = cloud_kernel()
    rc, log = run_qemu(kernel, "pc", 2, timeout=300)
    find_in_order(log, [("SMP up", smp_line(2)), ("/init", r"Run /init as init process")])
    init_markers(log, 2)
    assert rc == 0


def test_cloud_kernel_skyvm(kvm, skyvm):
    kernel, dyndbg = cloud_kernel()
    h = host_check(skyvm)
    # Debian builds kvm.c without DEBUG: its per-CPU lines need dynamic debug,
    # which starts after the boot CPU registered, so only the APs can show them.
    if dyndbg:
        extra, debug_cpus = 'loglevel=8 dyndbg="file arch/x86/kernel/kvm.c +p"', {1}
    else:
        extra, debug_cpus = "", set()
    print(f"cloud kernel {kernel}: per-CPU kvm-guest lines checkable for CPUs {sorted(debug_cpus)}")
    # Only a built-in i8042 driver can probe: the initramfs has no modules.
    config = "/boot/config-" + os.path.basename(kernel)[len("vmlinuz-"):]
    i8042 = os.path.exists(config) and "CONFIG_SERIO_I8042=y" in open(config).read()
    check_kvm_boot(skyvm, h, kernel, INITRD, 2, kvm_debug_cpus=debug_cpus, cmdline_extra=extra,
                   i8042=i8042)
