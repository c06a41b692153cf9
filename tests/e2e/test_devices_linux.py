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
TIMEOUT = 300  # seconds for a boot; an interpreted boot under load takes minutes
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
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say() { echo "SKYVM-DISK: $*" >/dev/kmsg; }
say "root $(grep ' / ' /proc/mounts)"
say "hwrng $(cat /sys/class/misc/hw_random/rng_current 2>&1)"
yes 'skyvm virtio-blk data' | head -c %d > /data
sync
say "data $(sha256sum /data)"
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
              "poweroff", "echo"):
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
    assert "Run /init as init process" in log
    assert hashlib.sha256(ro.read_bytes()).hexdigest() == ro_before
    if not userspace(h):
        assert rc != 124, "the guest hung until --timeout"
        return
    assert rc == 0, f"skyvm exited {rc}"
    assert "SKYVM-DISK: root /dev/root / ext4 rw" in log
    assert "SKYVM-DISK: hwrng virtio_rng" in log
    assert f"SKYVM-DISK: data {expected_data_sha256()}  /data" in log
    assert re.search(r"SKYVM-DISK: vdb write failed: .*I/O error", log), "ro write not refused"
    # the host's view of the image: clean, and the file as the guest wrote it
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    out = tmp_path / "data.out"
    subprocess.run(["debugfs", "-R", f"dump /data {out}", str(img)], check=True,
                   capture_output=True)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected_data_sha256()
