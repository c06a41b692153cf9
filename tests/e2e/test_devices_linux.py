"""The test kernel on skyvm's devices (docs/devices.md): ACPI power-off from a
busybox /init, an ext4 root on virtio-blk, a read-only disk.

The kernel is SKYVM_TEST_KERNEL_DIR's (as in test_linux.py); the virtio and
ext4 tests need one built from the current guests/linux/skyvm.config
(virtio-mmio, virtio-blk, ext4) and fail naming what is missing otherwise.

Where `skyvm host-check` says this host's KVM runs no guest user space (a
restricted KVM that interprets guest kernel code), /init never gets to run:
those tests then check everything the kernel itself does with the devices
(S5 offered, the disk found, the root mounted, /init started) and say that
the user-space half did not run, as test_linux.py does.
"""
import hashlib
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import ROOT
from test_linux import BZIMAGE, LINUX, host_check, model_spec, need

BUSYBOX = "/bin/busybox"
TIMEOUT = 480  # seconds for a boot: an interpreted boot under load takes minutes (TEST_LIMIT 600)
DATA_BYTES = 64 << 20
DATA_LINE = b"skyvm virtio-blk data\n"


def expected_data_sha256():
    line = DATA_LINE * (DATA_BYTES // len(DATA_LINE) + 1)
    return hashlib.sha256(line[:DATA_BYTES]).hexdigest()


# ---------------------------------------------------------------- a newc cpio

def _cpio_entry(name, mode, data=b"", rdev=(0, 0), ino=1):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = hdr + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def make_initramfs(path, init_script, applets):
    """An initramfs with busybox-static, its applets as symlinks, /init, and
    the two device nodes /init's output needs (no root needed to write them)."""
    entries = []
    ino = 1

    def add(*a, **k):
        nonlocal ino
        entries.append(_cpio_entry(*a, ino=ino, **k))
        ino += 1

    for d in ("dev", "proc", "sys", "bin", "mnt"):
        add(d, stat.S_IFDIR | 0o755)
    add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    add("dev/kmsg", stat.S_IFCHR | 0o644, rdev=(1, 11))
    add("bin/busybox", stat.S_IFREG | 0o755, open(BUSYBOX, "rb").read())
    for a in applets:
        add(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox")
    add("init", stat.S_IFREG | 0o755, init_script.encode())
    blob = b"".join(entries) + _cpio_entry("TRAILER!!!", 0, ino=0)
    path.write_bytes(blob + b"\0" * (-len(blob) % 512))
    return path


# ---------------------------------------------------------------- helpers

def boot(skyvm, h, cpus, cmdline, *args, timeout=TIMEOUT):
    spec = model_spec(h)
    full = f"console=ttyS0 panic=-1 {h['kernel_cmdline']} {cmdline}".strip()
    argv = ["run", "--kernel", need(BZIMAGE), "--cpus", cpus, "--memory", 256, "--cpu", spec,
            "--cmdline", full, "--timeout", timeout, "-v", *args]
    print("$ skyvm " + " ".join(map(str, argv)))
    p = skyvm(*argv, timeout=timeout + 60)
    log = (p.stdout + p.stderr).replace("\r\n", "\n")
    print(f"exit {p.returncode}; log tail:\n{log[-4000:]}")
    return p.returncode, log


def kernel_has(*options):
    cfg = os.path.join(LINUX, "config")
    text = open(need(cfg)).read()
    missing = [o for o in options if f"\n{o}=y" not in "\n" + text]
    if missing:
        pytest.fail(f"the test kernel in {LINUX} lacks {', '.join(missing)}: build it from the "
                    f"current guests/linux/skyvm.config (make linux)")


def userspace(h):
    if h["guest_syscalls_work"]:
        return True
    print("userspace: this host's KVM runs no guest system calls (host-check): /init cannot "
          "run; checked what the kernel does with the devices, not the user-space half")
    return False


# ---------------------------------------------------------------- power-off

POWEROFF_INIT = """#!/bin/sh
mount -t proc proc /proc
echo "SKYVM-POWEROFF: cpus=$(grep -c '^processor' /proc/cpuinfo)" >/dev/kmsg
poweroff -f
echo "SKYVM-POWEROFF: still running" >/dev/kmsg
"""


@pytest.mark.parametrize("cpus", [1, 2])
def test_busybox_poweroff_ends_skyvm_with_0(kvm, skyvm, tmp_path, cpus):
    h = host_check(skyvm)
    initrd = make_initramfs(tmp_path / "initrd.cpio", POWEROFF_INIT,
                            ["sh", "mount", "grep", "poweroff", "echo"])
    rc, log = boot(skyvm, h, cpus, "", "--initrd", initrd)
    # The kernel found \_S5 and the sleep registers: it offers S5.
    assert re.search(r"ACPI: PM: \(supports S0 S5\)", log), "S5 not offered"
    assert "Run /init as init process" in log
    if not userspace(h):
        assert rc != 124, "the guest hung until --timeout"
        return
    assert f"SKYVM-POWEROFF: cpus={cpus}" in log
    assert "still running" not in log
    assert rc == 0, f"skyvm exited {rc}"
    assert "guest powered off (ACPI S5" in log


# ---------------------------------------------------------------- ext4 root on virtio-blk

ROOT_INIT = """#!/bin/sh
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say() { echo "SKYVM-DISK: $*" >/dev/kmsg; }
say "root $(grep ' / ' /proc/mounts)"
say "hwrng $(cat /sys/class/misc/hw_random/rng_current 2>&1)"
yes 'skyvm virtio-blk data' | head -c %d > /data
sync
say "data $(sha256sum /data)"
# vdb is read-only: the device offers VIRTIO_BLK_F_RO, so Linux refuses the
# write itself (EPERM; even after blockdev --setrw, the disk stays read-only).
# The device's own answer to a write that gets through (IOERR) is what
# test_devices.py's embedded driver checks.
if dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/tmp/err; then
    say "vdb write succeeded"
else
    say "vdb write failed: $(cat /tmp/err)"
fi
poweroff -f
""" % DATA_BYTES


def make_root_image(tmp_path):
    tree = tmp_path / "root"
    for d in ("bin", "dev", "proc", "sys", "tmp", "mnt"):
        (tree / d).mkdir(parents=True)
    shutil.copy(BUSYBOX, tree / "bin" / "busybox")
    for a in ("sh", "mount", "grep", "cat", "yes", "head", "sync", "sha256sum", "dd",
              "poweroff", "echo"):  # busybox applets /init uses
        os.symlink("busybox", tree / "bin" / a)
    (tree / "init").write_text(ROOT_INIT)
    (tree / "init").chmod(0o755)
    img = tmp_path / "root.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), str(img), "128M"], check=True)
    return img


def test_ext4_root_on_virtio_blk(kvm, skyvm, tmp_path):
    kernel_has("CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS", "CONFIG_HW_RANDOM_VIRTIO")
    h = host_check(skyvm)
    img = make_root_image(tmp_path)
    ro = tmp_path / "ro.img"
    ro.write_bytes(b"\xa5" * (1 << 20))
    ro_before = hashlib.sha256(ro.read_bytes()).hexdigest()
    rc, log = boot(skyvm, h, 1, "root=/dev/vda rw rootfstype=ext4 init=/init",
                   "--disk", f"{img},id=root", "--disk", f"{ro},ro,id=scratch", "--rng")
    # the kernel side: both disks found, read-only one as such, the root mounted
    assert re.search(r"virtio_blk virtio\d+: \[vda\] 262144 512-byte logical blocks", log), \
        "vda not found"
    assert re.search(r"virtio_blk virtio\d+: \[vdb\] 2048 512-byte logical blocks", log), \
        "vdb not found"
    assert re.search(r"EXT4-fs \(vda\): mounted filesystem", log), "root not mounted"
    # Each virtio-mmio device described once, by the DSDT (LNRO0005): not also by
    # virtio_mmio.device=, whose second claim of the window Linux refuses with
    # "can't request region ... probe of virtio-mmio.N failed with error -16".
    assert "virtio_mmio.device=" not in log, "the devices are on the command line too"
    assert "can't request region" not in log, "a virtio-mmio window was claimed twice"
    assert "Run /init as init process" in log
    assert hashlib.sha256(ro.read_bytes()).hexdigest() == ro_before
    if not userspace(h):
        assert rc != 124, "the guest hung until --timeout"
        return
    assert rc == 0, f"skyvm exited {rc}"
    assert "guest powered off (ACPI S5" in log
    assert "SKYVM-DISK: root /dev/root / ext4 rw" in log
    assert "SKYVM-DISK: hwrng virtio_rng" in log
    assert f"SKYVM-DISK: data {expected_data_sha256()}  /data" in log
    assert re.search(r"SKYVM-DISK: vdb write failed: .*(not permitted|Read-only)", log), \
        "Linux did not see vdb as read-only"
    # the host's view of the image: clean, and the file as the guest wrote it
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    out = tmp_path / "data.out"
    subprocess.run(["debugfs", "-R", f"dump /data {out}", str(img)], check=True,
                   capture_output=True)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected_data_sha256()


# ---------------------------------------------------------------- virtio-console

HVC_INIT = """#!/bin/sh
mount -t proc proc /proc
echo "SKYVM-HVC: console is $(cat /proc/consoles | head -1)"
line=none
read -t 120 line
echo "SKYVM-HVC: got [$line]"
poweroff -f
"""
HVC_LINE = "skyvm-typed-4711"


def test_virtio_console_as_the_only_console(kvm, skyvm, tmp_path):
    """console=hvc0 and nothing else: the kernel log and /init's output arrive
    through virtio-console, and a line on skyvm's stdin (there before the guest
    boots) reaches /init's `read` on hvc0: the device holds it until Linux's
    PORT_OPEN (VIRTIO_CONSOLE_F_MULTIPORT), so it is not dropped while the port
    is being set up."""
    kernel_has("CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_CONSOLE")
    h = host_check(skyvm)
    initrd = make_initramfs(tmp_path / "initrd.cpio", HVC_INIT,
                            ["sh", "mount", "cat", "head", "poweroff", "echo"])
    spec = model_spec(h)
    argv = ["run", "--kernel", need(BZIMAGE), "--cpus", 1, "--memory", 256, "--cpu", spec,
            "--cmdline", f"console=hvc0 panic=-1 {h['kernel_cmdline']}".strip(),
            "--initrd", initrd, "--console", "virtio", "--timeout", TIMEOUT, "-v"]
    print("$ skyvm " + " ".join(map(str, argv)))
    p = skyvm(*argv, timeout=TIMEOUT + 60, input=HVC_LINE + "\n")
    log = (p.stdout + p.stderr).replace("\r\n", "\n")
    print(f"exit {p.returncode}; log tail:\n{log[-3000:]}")
    assert "Run /init as init process" in p.stdout  # the kernel's log, through hvc0
    if not userspace(h):
        assert p.returncode != 124, "the guest hung until --timeout"
        return
    assert re.search(r"SKYVM-HVC: console is hvc0", p.stdout), "not on hvc0"
    # /init's own echo, not the tty's: the tty echo has no "got [...]" around it
    got = re.search(r"SKYVM-HVC: got \[(.*?)\]", p.stdout)
    assert got, "/init did not report its read"
    assert got.group(1) == HVC_LINE, f"host input did not reach the guest: got [{got.group(1)}]"
    assert p.returncode == 0, p.stderr
    assert "guest powered off (ACPI S5" in p.stderr


# ---------------------------------------------------------------- crash consistency

CRASH_INIT = """#!/bin/sh
mount -t devtmpfs dev /dev
mount -t proc proc /proc
# Write 1 MiB and fsync it (dd conv=fsync: fsync() before dd exits; on ext4
# that commits the journal transaction that created the file, too).
if yes 'skyvm crash consistency' | head -c %d | dd of=/crash.dat bs=65536 conv=fsync 2>/tmp/err
then
    echo "SKYVM-CRASH: fsync returned" >/dev/kmsg
else
    echo "SKYVM-CRASH: dd failed: $(cat /tmp/err)" >/dev/kmsg
fi
# Keep the disk busy until skyvm is killed: the kill lands mid-write.
while :; do yes 'skyvm churn' | head -c 262144 > /churn.dat; done
""" % (1 << 20)
CRASH_BYTES = 1 << 20

# Runs skyvm in the background and SIGKILLs it once its output has the marker.
KILL_WHEN = """#!/bin/sh
marker=$1; out=$2; shift 2
"$@" >"$out" 2>&1 </dev/null &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    if grep -q "$marker" "$out"; then
        kill -KILL "$pid"
        wait "$pid"
        echo "KILLED rc=$?"
        exit 0
    fi
    sleep 0.2
done
wait "$pid"
echo "EXITED rc=$? before the marker"
exit 1
"""


def run_host_command(argv, timeout):
    """argv (a host path and its arguments) where skyvm runs: in the nested
    guest when the tests use it, else here."""
    import conftest
    if conftest._Nested.active:
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {conftest._Nested.reason}")
        return guest.run([str(a) for a in argv], timeout=timeout)
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, errors="replace")


def test_fsynced_file_survives_sigkill(kvm, skyvm, tmp_path):
    """Issue 11: after the guest's fsync returns (and /init says so), skyvm is
    killed with SIGKILL while the guest keeps writing; on the host the image's
    journal recovers cleanly and the fsynced file is there with its content."""
    import conftest
    kernel_has("CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS")
    h = host_check(skyvm)
    if not userspace(h):
        pytest.skip("this host's KVM runs no guest system calls (host-check): the guest "
                    "cannot fsync; run it with the nested guest (SKYVM_NESTED=always)")
    tree = tmp_path / "root"
    for d in ("bin", "dev", "proc", "tmp"):
        (tree / d).mkdir(parents=True)
    shutil.copy(BUSYBOX, tree / "bin" / "busybox")
    for a in ("sh", "mount", "cat", "yes", "head", "dd", "echo"):
        os.symlink("busybox", tree / "bin" / a)
    (tree / "init").write_text(CRASH_INIT)
    (tree / "init").chmod(0o755)
    img = tmp_path / "root.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), str(img), "128M"], check=True)
    wrapper = tmp_path / "kill-when.sh"
    wrapper.write_text(KILL_WHEN)
    wrapper.chmod(0o755)
    out = tmp_path / "skyvm.out"
    spec = model_spec(h)
    cmdline = (f"console=ttyS0 panic=-1 {h['kernel_cmdline']} "
               "root=/dev/vda rw rootfstype=ext4 init=/init").strip()
    argv = [wrapper, "SKYVM-CRASH: fsync returned", out, conftest.SKYVM, "run",
            "--kernel", need(BZIMAGE), "--cpus", 1, "--memory", 256, "--cpu", spec,
            "--cmdline", cmdline, "--disk", f"{img},id=root", "--timeout", TIMEOUT, "-v"]
    print("$ " + " ".join(map(str, argv)))
    p = run_host_command(argv, timeout=TIMEOUT + 60)
    log = out.read_text(errors="replace").replace("\r\n", "\n") if out.exists() else ""
    print(f"wrapper exit {p.returncode}: {p.stdout}{p.stderr}\nskyvm log tail:\n{log[-3000:]}")
    assert "SKYVM-CRASH: dd failed" not in log, "the guest's write failed"
    assert p.returncode == 0 and "KILLED rc=137" in p.stdout, \
        "skyvm was not killed after the guest's fsync"
    # The host's view: replay the journal (the kill left it dirty or not), then a
    # forced full check must find nothing left to fix.
    rec = subprocess.run(["e2fsck", "-fy", str(img)], capture_output=True, text=True)
    print(rec.stdout + rec.stderr)
    assert rec.returncode in (0, 1), f"e2fsck: {rec.returncode}\n{rec.stdout}{rec.stderr}"
    check = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    dump = tmp_path / "crash.out"
    subprocess.run(["debugfs", "-R", f"dump /crash.dat {dump}", str(img)], check=True,
                   capture_output=True)
    assert dump.exists() and dump.stat().st_size == CRASH_BYTES, "the fsynced file is missing"
    want = (b"skyvm crash consistency\n" * (CRASH_BYTES // 24 + 1))[:CRASH_BYTES]
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == hashlib.sha256(want).hexdigest(), \
        "the fsynced file's content differs"
