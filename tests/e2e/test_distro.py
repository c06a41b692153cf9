"""A real distribution on skyvm (`make check-slow`, docs/linux-guest.md): Debian's cloud
kernel powering off from a busybox /init, and a Debian 12 root filesystem made by
debootstrap (scripts/build-distro-image.sh) booted on virtio-blk to systemd's
multi-user.target, where a unit of the image runs `systemctl poweroff`.

Both boot Debian's cloud kernel from the host's /boot (linux-image-cloud-amd64, as
test_linux.py's cloud-kernel tests), so both need SKYVM_SLOW=1.  The systemd boot costs
minutes under nested KVM (QEMU TCG), so it needs SKYVM_DISTRO=1 as well: `make check-slow`
sets both; `make check` counts it as opt-in, not run.

The cloud kernel has virtio, virtio-mmio and virtio-blk as modules, and finds skyvm's
virtio-mmio devices through ACPI only (it lacks CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).  The
test's own initramfs (busybox-static and those modules, from the host's
/lib/modules/<release>) loads them, mounts /dev/vda and switches to the image's systemd:
no host-specific initramfs-tools image is involved.
"""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import ROOT, nested
from test_devices_linux import BUSYBOX, POWEROFF_INIT, _cpio_entry, make_initramfs
from test_linux import cloud_kernel, find_in_order, host_check, model_spec, need

BUILD_IMAGE = os.path.join(ROOT, "scripts", "build-distro-image.sh")
# skyvm's --timeout for the systemd boot, and the host's wait for it.  Measured under
# nested KVM on a loaded 2-core machine: see docs/linux-guest.md.
DISTRO_TIMEOUT = 1080
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def boot_cloud(skyvm, kernel, initrd, cpus, memory, cmdline, *args, timeout):
    h = host_check(skyvm)
    if not h["guest_syscalls_work"]:
        pytest.fail("this host's KVM runs no guest user space (skyvm host-check): Debian "
                    "cannot boot on it; run it where /dev/kvm is hardware KVM or in the "
                    "nested guest (docs/nested-testing.md)")
    full = f"console=ttyS0 panic=-1 {h['kernel_cmdline']} {cmdline}".strip()
    argv = ["run", "--kernel", need(kernel), "--initrd", initrd, "--cpus", cpus,
            "--memory", memory, "--cpu", model_spec(h), "--cmdline", full,
            "--timeout", timeout, "-v", *args]
    print("$ skyvm " + " ".join(map(str, argv)))
    start = time.monotonic()
    p = skyvm(*argv, timeout=timeout + 60)
    took = time.monotonic() - start
    log = ANSI.sub("", (p.stdout + p.stderr).replace("\r\n", "\n"))
    print(f"exit {p.returncode} after {took:.0f} s; log tail:\n{log[-6000:]}")
    return p.returncode, log, took


# ------------------------------------------------ poweroff -f on Debian's cloud kernel

def test_cloud_kernel_poweroff_ends_skyvm_with_0(kvm, skyvm, tmp_path):
    kernel, _ = cloud_kernel()
    initrd = make_initramfs(tmp_path / "initrd.cpio", POWEROFF_INIT,
                            ["sh", "mount", "grep", "poweroff", "echo"])
    rc, log, _ = boot_cloud(skyvm, kernel, initrd, 2, 256, "", timeout=300)
    assert re.search(r"ACPI: PM: \(supports S0 S5\)", log), "S5 not offered"
    assert "Run /init as init process" in log
    assert "SKYVM-POWEROFF: cpus=2" in log
    assert "still running" not in log
    assert rc == 0, f"skyvm exited {rc}"
    assert "guest powered off (ACPI S5" in log


# ------------------------------------------------ Debian 12 with systemd on virtio-blk

MODULES = ("virtio_mmio", "virtio_blk")  # and what they depend on

SWITCH_INIT = """#!/bin/sh
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say() { echo "SKYVM-INITRD: $*" >/dev/kmsg; }
for m in %(modules)s; do
    insmod /lib/modules/$m.ko || say "insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 120 ]; do sleep 1; i=$((i + 1)); done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
    say "cannot mount /dev/vda (after $i s); powering off"
    poweroff -f
fi
say "switching to /dev/vda's /sbin/init"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
"""


def module_order(release):
    """MODULES and their dependencies (modinfo), each after what it needs: (name, path)."""
    order = []

    def add(m):
        if any(n == m for n, _ in order):
            return
        info = subprocess.run(["/sbin/modinfo", "-k", release, "-F", "depends", m],
                              capture_output=True, text=True)
        if info.returncode != 0:
            pytest.fail(f"modinfo {m} for {release}: {info.stderr.strip()}")
        for dep in filter(None, info.stdout.strip().split(",")):
            add(dep)
        path = subprocess.run(["/sbin/modinfo", "-k", release, "-F", "filename", m],
                              capture_output=True, text=True, check=True).stdout.strip()
        if path.startswith("(builtin)") or not path:
            return  # built in: nothing to load
        order.append((m, path))

    for m in MODULES:
        add(m)
    return order


def make_switch_initramfs(path, release):
    """busybox-static, the virtio modules of `release` and an /init that mounts /dev/vda
    and switch_roots to it (newc cpio, no root needed)."""
    mods = module_order(release)
    entries = []
    for i, (name, mode, data, rdev) in enumerate([
            *[(d, stat.S_IFDIR | 0o755, b"", (0, 0))
              for d in ("dev", "proc", "sys", "bin", "lib", "lib/modules")],
            ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
            ("dev/kmsg", stat.S_IFCHR | 0o644, b"", (1, 11)),
            ("bin/busybox", stat.S_IFREG | 0o755, open(BUSYBOX, "rb").read(), (0, 0)),
            *[(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox", (0, 0))
              for a in ("sh", "mount", "umount", "mkdir", "insmod", "sleep", "echo",
                        "poweroff", "switch_root")],
            *[(f"lib/modules/{m}.ko", stat.S_IFREG | 0o644, open(p, "rb").read(), (0, 0))
              for m, p in mods],
            ("init", stat.S_IFREG | 0o755,
             (SWITCH_INIT % {"modules": " ".join(m for m, _ in mods)}).encode(), (0, 0))]):
        entries.append(_cpio_entry(name, mode, data, rdev=rdev, ino=i + 1))
    blob = b"".join(entries) + _cpio_entry("TRAILER!!!", 0, ino=0)
    path.write_bytes(blob + b"\0" * (-len(blob) % 512))
    print(f"initramfs: {', '.join(m for m, _ in mods)} of {release}")
    return path


def distro_image(tmp_path):
    """A copy of the cached image (scripts/build-distro-image.sh builds it when missing)."""
    p = subprocess.run([BUILD_IMAGE], capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        pytest.fail(f"{BUILD_IMAGE} failed ({p.returncode}):\n{p.stderr[-4000:]}")
    cached = p.stdout.strip().splitlines()[-1]
    img = tmp_path / "rootfs.ext4"
    subprocess.run(["cp", "--sparse=always", cached, str(img)], check=True)
    return img


# Skipped before the kvm fixture runs, so that `make check` starts no nested guest for it.
@pytest.mark.skipif(os.environ.get("SKYVM_DISTRO") != "1",
                    reason="slow: run `make check-slow` (SKYVM_DISTRO=1) to boot Debian 12 "
                           "with systemd from a debootstrap image")
@pytest.mark.timeout(DISTRO_TIMEOUT + 900, method="signal")  # + the image's first build
def test_debian_systemd_boots_to_multi_user_and_powers_off(kvm, skyvm, tmp_path, monkeypatch):
    kernel, _ = cloud_kernel()
    release = os.path.basename(kernel)[len("vmlinuz-"):]
    # A nested run waits at most nested.MAX_RUN (600 s by default): this boot may need more.
    monkeypatch.setattr(nested, "MAX_RUN", max(nested.MAX_RUN, DISTRO_TIMEOUT + 120))
    img = distro_image(tmp_path)
    initrd = make_switch_initramfs(tmp_path / "initrd.cpio", release)
    rc, log, took = boot_cloud(
        skyvm, kernel, initrd, 2, 512,
        "root=/dev/vda rw systemd.show_status=1 systemd.status_unit_format=combined "
        "systemd.log_color=0",
        "--disk", f"{img},id=root", timeout=DISTRO_TIMEOUT)
    print(f"distro boot: {took:.0f} s from exec to skyvm's exit")
    find_in_order(log, [
        ("the virtio-mmio disk", r"virtio_blk virtio\d+: \[vda\]"),
        ("the switch to the image", r"SKYVM-INITRD: switching to /dev/vda's /sbin/init"),
        ("systemd as pid 1", r"systemd\[1\]: systemd 25\d"),
        ("Debian 12", r"Welcome to Debian GNU/Linux 12 \(bookworm\)"),
        ("multi-user.target", r"Reached target (multi-user\.target|Multi-User System)"),
        ("the test unit's marker", r"SKYVM-DISTRO: multi-user\.target active, kernel "
                                   + re.escape(release) + r", pid 1 systemd, root /dev/vda ext4"),
        ("poweroff", r"SKYVM-DISTRO: powering off"),
        ("systemd's shutdown", r"Reached target (poweroff\.target|.*Power-Off)"),
        ("the kernel's power-off", r"reboot: Power down"),
        ("skyvm's exit", r"guest powered off \(ACPI S5"),
    ])
    # The disk described once, by the DSDT (the cloud kernel's virtio_mmio, built without
    # CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, has no device= parameter to take it anyway).
    assert "virtio_mmio.device=" not in log, "the disk is on the command line too"
    failed = re.search(r"SKYVM-DISTRO: failed units: \[(.*)\]", log)
    print(f"failed units at multi-user.target: [{failed.group(1) if failed else '?'}]")
    assert rc == 0, f"skyvm exited {rc}"
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, f"e2fsck -fn after the guest's shutdown:\n{fsck.stdout}{fsck.stderr}"
