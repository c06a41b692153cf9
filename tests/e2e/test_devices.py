"""The device model end to end (docs/devices.md): ACPI power-off, virtio-mmio
devices against the embedded hostile driver, --disk options, and the console
backend (a stalled or vanished reader, Ctrl-A x on a terminal).

The guests here are skyvm's embedded ones (src/guest/poweroff, virtiohostile,
default), so these run wherever a `kvm` test runs.  Linux guests on virtio-blk
are in test_devices_linux.py.
"""
import fcntl
import hashlib
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import SKYVM

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Python 3.10+)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def image(tmp_path):
    """An 8 MiB raw image with a pattern in sector 0 (the hostile guest reads it)."""
    path = tmp_path / "disk.img"
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 2)
        f.truncate(8 << 20)
    return path


# ---------------------------------------------------------------- power-off

@pytest.mark.parametrize("cpus", [1, 2])
def test_acpi_poweroff_ends_the_vm_with_0(kvm, skyvm, cpus):
    """The guest reads the FADT's sleep control register and \\_S5 from the
    tables, writes SLP_TYP|SLP_EN, and the VM ends with 0 (not 2: still running)."""
    r = skyvm("run", "--guest", "poweroff", "--cpus", cpus, "-v", "--timeout", 60)
    print(r.stdout, r.stderr)
    assert "POWEROFF sleep control port 0x600, S5 SLP_TYP 5" in r.stdout
    assert r.returncode == 0, r.stderr
    assert "guest powered off (ACPI S5" in r.stderr


# ---------------------------------------------------------------- virtio-blk

HOSTILE = ["loop", "outside", "hole", "zero", "huge", "nested", "toomany", "backwards",
           "nostatus"]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_virtio_driver_gets_needs_reset_and_the_vm_survives(kvm, skyvm, image, case):
    """Each malformed chain: DEVICE_NEEDS_RESET, one line on stderr naming the
    device, and after a reset the same device reads sector 0 again."""
    r = skyvm("run", "--guest", "virtiohostile", "--disk", image, "--cmdline", f"case={case}",
              "--timeout", 60)
    print(r.stdout, r.stderr)
    assert f"VIRTIO case {case} outcome needs-reset" in r.stdout
    assert "VIRTIO recovered read ok status 0" in r.stdout
    assert r.returncode == 0, r.stderr
    reports = [l for l in r.stderr.splitlines() if "device needs reset" in l]
    assert len(reports) == 1 and reports[0].startswith("skyvm: virtio-blk0: "), r.stderr


def test_read_past_the_disk_is_an_io_error(kvm, skyvm, image):
    r = skyvm("run", "--guest", "virtiohostile", "--disk", image, "--cmdline", "case=beyond",
              "--timeout", 60)
    assert "VIRTIO case beyond outcome status 1" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stderr


def test_read_only_disk_refuses_writes_and_keeps_its_bytes(kvm, skyvm, image):
    before = sha256(image)
    mtime = os.stat(image).st_mtime_ns
    time.sleep(0.05)
    r = skyvm("run", "--guest", "virtiohostile", "--disk", f"{image},ro", "--cmdline",
              "case=write ro", "--timeout", 60)
    print(r.stdout, r.stderr)
    assert "VIRTIO case write outcome status 1" in r.stdout  # VIRTIO_BLK_S_IOERR
    assert r.returncode == 0, r.stderr
    assert sha256(image) == before
    assert os.stat(image).st_mtime_ns == mtime


def test_read_write_disk_takes_the_same_write(kvm, skyvm, image):
    """The negative control of the read-only test: the same request succeeds
    and reaches the file (the guest writes back what it read, so the bytes
    stay; the modification time says it was written)."""
    mtime = os.stat(image).st_mtime_ns
    time.sleep(0.05)
    r = skyvm("run", "--guest", "virtiohostile", "--disk", image, "--cmdline", "case=write",
              "--timeout", 60)
    assert "VIRTIO case write outcome status 0" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    assert os.stat(image).st_mtime_ns != mtime


def test_read_only_disk_is_never_opened_for_writing(kvm, image, tmp_path):
    """strace: every open of the image is O_RDONLY."""
    log = tmp_path / "strace.log"
    p = subprocess.run(["strace", "-f", "-e", "trace=open,openat", "-o", str(log), SKYVM,
                        "run", "--guest", "virtiohostile", "--disk", f"{image},ro",
                        "--cmdline", "case=write ro", "--timeout", "60"],
                       capture_output=True, text=True, timeout=120,
                       # LeakSanitizer cannot run under ptrace (the SANITIZE=1 build)
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert p.returncode == 0, p.stderr
    opens = [l for l in log.read_text().splitlines() if str(image) in l]
    assert opens, "the image was never opened"
    for line in opens:
        assert "O_RDONLY" in line and "O_RDWR" not in line and "O_WRONLY" not in line, line


@pytest.mark.parametrize("args, code, needle", [
    (["--disk", "{img},bogus"], 2, "unknown option 'bogus'"),
    (["--disk", ",ro"], 2, "expected PATH"),
    (["--disk", "{missing}"], 1, "cannot open it"),
    (["--disk", "{odd}"], 1, "not a whole number of 512-byte sectors"),
    (["--disk", "{img},id=a", "--disk", "{img},id=a"], 1, "device id 'a' is used twice"),
    (["--disk", "{img},id=bad/id"], 1, "device id 'bad/id'"),
    (["--disk", "{img}", "--irqchip", "none"], 1, "a device needs interrupts"),
])
def test_disk_option_errors(skyvm, image, tmp_path, args, code, needle):
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"x" * 1000)
    subst = {"img": image, "missing": tmp_path / "nope.img", "odd": odd}
    r = skyvm("run", *[a.format(**subst) for a in args], "--timeout", 30)
    assert r.returncode == code, r.stderr
    assert needle in r.stderr


def test_two_disks_get_their_own_windows(kvm, skyvm, image, tmp_path):
    """The hostile driver scans the windows: with two disks it finds the first,
    at the allocator's first window."""
    second = tmp_path / "second.img"
    second.write_bytes(b"\0" * 4096)
    r = skyvm("run", "--guest", "virtiohostile", "--disk", image, "--disk", f"{second},ro",
              "--cmdline", "case=beyond", "--timeout", 60)
    assert "VIRTIO device at 0xd0000000 id 2" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- console backend

def test_timeout_with_a_stalled_reader_is_prompt(kvm, tmp_path):
    """A guest printing without end into a pipe nobody reads: --timeout 2 still
    ends the VM with 124 soon after (the console never blocks a vCPU or the
    loop).  Before the event loop, the vCPU blocked in write() holding the UART
    lock and skyvm never ended.  (How much the guest wrote, and so whether any
    was dropped, depends on the host's speed: the bounded buffer's drops are
    unit-tested in test_machine.c.)"""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)  # the smallest pipe: the guest fills it at once
    start = time.monotonic()
    p = subprocess.Popen([SKYVM, "run", "--cmdline", "test=flood", "--max-output", "0",
                          "--timeout", "2"], stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    try:
        _, err = p.communicate(timeout=60)
    finally:
        os.close(r)
    took = time.monotonic() - start
    err = err.decode(errors="replace")
    print(err[-2000:], f"took {took:.2f} s")
    assert p.returncode == 124, err
    # Not a timing benchmark: generous for a loaded machine, far below a hang.
    assert took < 20, f"took {took:.1f} s after a 2 s --timeout"
    assert "the reader closed" not in err


def test_reader_that_goes_away_is_no_signal_death(kvm):
    """`skyvm run | head -1`: skyvm sees EPIPE, ignores SIGPIPE, and ends with
    the guest's own status."""
    p = subprocess.run(f"{SKYVM} run --cmdline test=flood --max-output 0 --timeout 3 | head -1;"
                       " echo status=${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                       capture_output=True, text=True, timeout=60)
    print(p.stdout, p.stderr[-2000:])
    status = int(re.search(r"status=(\d+)", p.stdout).group(1))
    assert status == 124, p.stderr  # the flood runs until --timeout: not 141 (SIGPIPE)
    assert "the reader closed the console" in p.stderr


def test_ctrl_a_x_on_a_terminal_ends_the_vm_and_restores_it(kvm):
    """On a pty: Ctrl-A Ctrl-A goes to the guest (the VM keeps running), Ctrl-A x
    ends a hung guest with 0, and the terminal's settings are what they were
    before skyvm put it in raw mode."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([SKYVM, "run", "--cmdline", "test=hang", "--timeout", "60"],
                         stdin=slave, stdout=slave, stderr=slave)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while b"test=hang" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                out += os.read(master, 4096)
        assert b"test=hang" in out, out
        # raw mode while it runs: no echo, no canonical input
        assert not termios.tcgetattr(slave)[3] & (termios.ECHO | termios.ICANON)
        os.write(master, b"\x01\x01")
        time.sleep(1)
        assert p.poll() is None, "Ctrl-A Ctrl-A ended the VM"
        os.write(master, b"\x01x")
        code = p.wait(timeout=30)
        after = termios.tcgetattr(slave)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)
    assert code == 0
    assert after == before


def test_sigterm_on_a_terminal_restores_it(kvm):
    """kill(1) while the terminal is raw: the VM ends (128 + SIGTERM) through the
    event loop and the terminal is restored, not left raw."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([SKYVM, "run", "--cmdline", "test=hang", "--timeout", "60"],
                         stdin=slave, stdout=slave, stderr=slave)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while b"test=hang" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                out += os.read(master, 4096)
        assert b"test=hang" in out, out
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=30)
        after = termios.tcgetattr(slave)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)
    assert code == 128 + signal.SIGTERM
    assert after == before
