"""skyvm's own ports and what a guest can do with them (docs/devices.md).

- A Linux guest (the test kernel with a busybox /init) writes statuses to the
  debug-exit port 0x501 through /dev/port.  Without --debug-exit the port is
  not there: the writes change nothing, the probe and bulk ports read as
  nothing (all ones), and the guest powers off with 0.  With --debug-exit the
  first write ends skyvm, with the status where it is no code of skyvm's own
  and 119 where it is one (124 timeout, 1 set-up error): never 124.
- The instruction fallback honours the vCPU's CPUID: rdtscp on a model without
  it raises #UD in the embedded hostcheck guest (as the CPU does), and runs
  where the model offers it.

Where `skyvm host-check` says this host's KVM runs no guest user space, /init
cannot run: the Linux tests then check what the kernel does and say that the
user-space half did not run, as test_devices_linux.py does.
"""
import json
import os
import re

import pytest

from conftest import ROOT
from test_devices_linux import boot, kernel_has, make_initramfs, userspace
from test_linux import BZIMAGE, host_check, need

PORTS_APPLETS = ["sh", "mount", "echo", "printf", "dd", "od", "poweroff"]

# /init: read the bulk port (0x512 = 1298: its first byte is 0x53 where the port
# is there, all ones where not), then write each status to 0x501 (1281) with dd
# on /dev/port (one outb), saying before and after.
PORTS_INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev
say() { echo "SKYVM-PORTS: $*" >/dev/kmsg; }
say "port 1298 reads $(dd if=/dev/port bs=1 skip=1298 count=1 2>/dev/null | od -An -tx1)"
for s in %s; do
    say "writing $s"
    printf "\\\\$(printf %%o $s)" | dd of=/dev/port bs=1 seek=1281 count=1 conv=notrunc 2>/dev/null
    say "wrote $s, still running"
done
poweroff -f
"""


def ports_initrd(tmp_path, statuses):
    script = PORTS_INIT % " ".join(map(str, statuses))
    return make_initramfs(tmp_path / "initrd.cpio", script, PORTS_APPLETS)


def boot_ports(skyvm, tmp_path, statuses, *args):
    kernel_has("CONFIG_DEVPORT", "CONFIG_DEVTMPFS")
    h = host_check(skyvm)
    initrd = ports_initrd(tmp_path, statuses)
    rc, log = boot(skyvm, h, 1, "", "--initrd", initrd, *args)
    assert "Run /init as init process" in log
    return h, rc, log


def reads(log, port):
    m = re.search(rf"SKYVM-PORTS: port {port} reads\s*(\S*)", log)
    assert m, f"/init did not report port {port}"
    return m.group(1)


# skyvm's own codes, and 119 itself: each would end skyvm with 119 if the port were there
OWN_CODES = [124, 1, 2, 119, 120, 121, 125, 143, 255]


def test_linux_without_debug_exit_cannot_end_skyvm_through_0x501(kvm, skyvm, tmp_path):
    h, rc, log = boot_ports(skyvm, tmp_path, OWN_CODES)
    if not userspace(h):
        assert rc != 124, "the guest hung until --timeout"
        return
    # the embedded guests' bulk port is not there either: an unclaimed port reads all ones
    assert reads(log, 1298) == "ff"
    for s in OWN_CODES:
        assert f"SKYVM-PORTS: wrote {s}, still running" in log, f"the write of {s} ended the VM"
    assert "debug-exit port" not in log
    assert rc == 0, f"skyvm exited {rc}"
    assert "guest powered off (ACPI S5" in log


@pytest.mark.parametrize("status,code", [(124, 119), (1, 119), (42, 42)])
def test_linux_with_debug_exit_gets_the_documented_code(kvm, skyvm, tmp_path, status, code):
    h, rc, log = boot_ports(skyvm, tmp_path, [status, 7], "--debug-exit")
    if not userspace(h):
        assert rc != 124, "the guest hung until --timeout"
        return
    # --debug-exit brings the debug-exit port only: the bulk port stays the embedded guests'
    assert reads(log, 1298) == "ff"
    assert f"SKYVM-PORTS: writing {status}" in log
    assert f"wrote {status}, still running" not in log, "the write did not end the VM"
    assert rc == code, f"skyvm exited {rc}, expected {code}"
    assert rc != 124
    assert f"guest wrote {status} to the debug-exit port (vCPU 0)" in log
    if code != status:
        assert f"{status} is one of skyvm's own exit codes, so skyvm exits with 119" in log


# ---------------------------------------------------------------- rdtscp and CPUID

def hostcheck_status(name):
    """A status constant of the hostcheck guest (src/guest/hostcheck/protocol.h)."""
    with open(os.path.join(ROOT, "src", "guest", "hostcheck", "protocol.h")) as f:
        m = re.search(rf"#define HOSTCHECK_{name} (0x[0-9a-f]+)", f.read())
    assert m, name
    return int(m.group(1), 16)


def offers_rdtscp(skyvm, model):
    shown = skyvm("cpu", "show", model, "--json")
    assert shown.returncode == 0, shown.stderr
    return "rdtscp" in json.loads(shown.stdout)["features"]["enabled"]


def run_rdtscp(skyvm, model):
    r = skyvm("run", "--guest", "hostcheck", "--cmdline", "insn=rdtscp", "--cpu", model,
              "--timeout", 60, "-v")
    print(f"--cpu {model}: exit {r.returncode}\n{r.stderr[-3000:]}")
    return r


@pytest.mark.parametrize("model", ["host,-rdtscp", "Penryn", "host"])
def test_rdtscp_follows_the_models_cpuid(kvm, skyvm, model):
    """#UD where the model hides rdtscp (host,-rdtscp and Penryn never offer it); it runs
    where the model offers it (host, on a host whose KVM supports it)."""
    # The hostcheck guest executes rdtscp whatever CPUID says and reports an exception.
    ud = hostcheck_status("EXCEPTION") + 6
    offered = offers_rdtscp(skyvm, model)
    if model != "host":
        assert not offered, f"{model} offers rdtscp"
    r = run_rdtscp(skyvm, model)
    if offered:
        assert r.returncode == hostcheck_status("OK"), r.stderr
        return
    assert not re.search(r"completed for the guest.*rdtscp", r.stderr), \
        "skyvm completed a hidden rdtscp"
    by_skyvm = re.search(r"raised in the guest instead.*rdtscp x1", r.stderr)
    if r.returncode == hostcheck_status("OK") and not by_skyvm:
        # No exit reached skyvm and the guest's rdtscp ran: the platform does not hide it.
        # Measured under nested KVM on QEMU TCG (AMD SVM emulated), host,-rdtscp and
        # Penryn: status OK, no exit to skyvm (whether the inner KVM or TCG's SVM leaves
        # rdtscp unintercepted was not determined).  On the restricted host skyvm's
        # fallback raises the #UD (3 of 3 models).
        pytest.xfail("this platform executes rdtscp natively although the model hides it: "
                     "no exit reaches skyvm, so skyvm has nothing to raise")
    assert r.returncode == ud, f"exit {r.returncode}, expected #UD's status {ud}"
    # Who raised it: skyvm's fallback on a KVM that exits instead, or the CPU/KVM itself
    print("raised by skyvm's fallback" if by_skyvm else "raised by the CPU/KVM")
