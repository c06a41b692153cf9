"""Run skyvm inside a Linux guest that has a /dev/kvm, on a machine that has none.

The guest is QEMU TCG with `-cpu max` (which emulates AMD SVM) booting Debian's kernel
with tests/nested/init.sh as /init: it loads kvm + kvm_amd, mounts this machine's / over
virtiofs at /host, and runs each request chrooted into it.  So the binary under test (the
sanitizer build too), its shared libraries, the test data and pytest's tmp_path are all at
the same paths inside; only /dev (with the guest's /dev/kvm), /proc and /sys are the
guest's own.  One guest serves many runs: start() boots it (~10 s), run() costs a few
hundred milliseconds plus what skyvm itself takes under TCG.

See docs/nested-testing.md for what this can and cannot tell.
"""
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "build", "nested")
QEMU = "qemu-system-x86_64"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
BOOT_TIMEOUT = 180  # seconds from QEMU's start to READY; a boot takes ~10 under TCG
# Host-side time limits of a run are multiplied by this: everything in the guest,
# skyvm's own start-up included, runs on TCG.
SLOWDOWN = float(os.environ.get("SKYVM_NESTED_SLOWDOWN", "3"))
GUEST_MIB = 2048


class NestedError(Exception):
    """The nested guest could not be started or stopped answering."""


def build():
    """Build (or find up to date) the initramfs; returns None or why it cannot be."""
    if os.geteuid() != 0:
        return "virtiofsd must run as root to share this machine's / with the guest"
    if shutil.which(QEMU) is None and os.environ.get("SKYVM_NESTED_NO_INSTALL") == "1":
        return f"no {QEMU}"
    p = subprocess.run([os.path.join(HERE, "build-initramfs.sh"), OUT], capture_output=True,
                       text=True, errors="replace")
    if p.returncode != 0:
        return (p.stderr.strip().splitlines() or ["build-initramfs.sh failed"])[-1]
    return None


class NestedGuest:
    def __init__(self):
        self.dir = None
        self.qemu = None
        self.virtiofsd = None
        self.ctl = None
        self.buf = b""
        self.next_id = 0

    # ------------------------------------------------------------------ life cycle

    def start(self):
        reason = build()
        if reason:
            raise NestedError(reason)
        # Under /tmp, not build/: unix socket paths are limited to 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="skyvm-nested-")
        vfs_sock = os.path.join(self.dir, "vfs.sock")
        ctl_sock = os.path.join(self.dir, "ctl.sock")
        self.console = os.path.join(self.dir, "console.log")
        # cache=none: tests write files on the host (models, kernels) just before the
        # guest reads them, and read what the guest wrote right after; no stale pages.
        self.virtiofsd = subprocess.Popen(
            [VIRTIOFSD, f"--socket-path={vfs_sock}", "-o", "source=/", "-o", "sandbox=chroot",
             "-o", "cache=none", "-o", "log_level=err"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "virtiofsd.log"), "w"))
        self._wait_for_path(vfs_sock, self.virtiofsd, "virtiofsd")
        cmd = [QEMU, "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", str(GUEST_MIB),
               "-object", f"memory-backend-memfd,id=mem,size={GUEST_MIB}M,share=on",
               "-numa", "node,memdev=mem", "-nodefaults", "-display", "none", "-no-reboot",
               "-chardev", f"socket,id=vfs,path={vfs_sock}",
               "-device", "vhost-user-fs-pci,chardev=vfs,tag=host",
               "-serial", f"file:{self.console}",
               "-chardev", f"socket,id=ctl,path={ctl_sock},server=on,wait=off",
               "-serial", "chardev:ctl",
               "-kernel", os.path.join(OUT, "kernel"),
               "-initrd", os.path.join(OUT, "initramfs.cpio.gz"),
               "-append", "console=ttyS0 quiet panic=-1"]
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "qemu.log"), "w"))
        self._wait_for_path(ctl_sock, self.qemu, "QEMU")
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.connect(ctl_sock)
        line = self._read_line(time.monotonic() + BOOT_TIMEOUT)
        if line != "READY":
            why = line[5:] if line.startswith("FAIL ") else f"unexpected {line!r}"
            self.close()
            raise NestedError(f"the nested guest cannot run KVM: {why}")
        return self

    def close(self):
        if self.ctl:
            try:
                self.ctl.sendall(b"QUIT\n")
            except OSError:
                pass
            self.ctl.close()
            self.ctl = None
        for p in (self.qemu, self.virtiofsd):
            if p is None:
                continue
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.qemu = self.virtiofsd = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def alive(self):
        return self.qemu is not None and self.qemu.poll() is None

    def _kill(self):
        for p in (self.qemu, self.virtiofsd):
            if p is not None and p.poll() is None:
                p.kill()
        self.close()

    def _wait_for_path(self, path, proc, what):
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if proc.poll() is not None:
                log = self._logs()
                self.close()
                raise NestedError(f"{what} exited with {proc.returncode}: {log}")
            if time.monotonic() > deadline:
                self._kill()
                raise NestedError(f"{what} did not create {path}")
            time.sleep(0.02)

    def _logs(self):
        out = []
        for name in ("virtiofsd.log", "qemu.log", "console.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text = f.read().strip()
            except OSError:
                continue
            if text:
                out.append(f"--- {name} ---\n{text[-2000:]}")
        return "\n".join(out)

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.ctl.settimeout(min(left, 1.0))
            try:
                chunk = self.ctl.recv(4096)
            except socket.timeout:
                if not self.alive():
                    raise NestedError(f"the nested guest died: {self._logs()}")
                continue
            if not chunk:
                raise NestedError(f"the nested guest closed its control line: {self._logs()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    # ------------------------------------------------------------------ one run

    def run(self, argv, cwd=None, env=None, input=None, timeout=120):
        """Run argv (a host path and its arguments) inside the guest, like
        subprocess.run(capture_output=True, text=True); raises subprocess.TimeoutExpired
        when it takes longer than timeout * SLOWDOWN (and then reboots the guest)."""
        if not self.alive():
            self.close()
            self.start()
        self.next_id += 1
        rid = self.next_id
        base = os.path.join(self.dir, f"req{rid}")
        paths = {k: f"{base}.{k}" for k in ("sh", "in", "out", "err")}
        with open(paths["in"], "wb") as f:
            if input is not None:
                f.write(input.encode() if isinstance(input, str) else input)
        env = dict(os.environ if env is None else env)
        q = shlex.quote
        script = (f"exec <{q(paths['in'])} >{q(paths['out'])} 2>{q(paths['err'])}\n"
                  f"cd {q(cwd or os.getcwd())} || exit 126\n"
                  f"exec env -i {' '.join(q(f'{k}={v}') for k, v in sorted(env.items()))} "
                  f"{' '.join(q(str(a)) for a in argv)}\n")
        with open(paths["sh"], "w") as f:
            f.write(script)
        limit = timeout * SLOWDOWN
        self.ctl.sendall(f"RUN {rid} {paths['sh']}\n".encode())
        try:
            while True:
                line = self._read_line(time.monotonic() + limit)
                parts = line.split()
                if len(parts) == 3 and parts[0] == "DONE" and parts[1] == str(rid):
                    status = int(parts[2])
                    break
        except TimeoutError:
            # What it printed so far says where it hung; the guest is rebooted on the next run.
            partial = {}
            for k in ("out", "err"):
                try:
                    with open(paths[k], "rb") as f:
                        partial[k] = f.read().decode(errors="replace")
                except OSError:
                    partial[k] = ""
            self._kill()
            raise subprocess.TimeoutExpired(list(map(str, argv)), limit, output=partial["out"],
                                            stderr=partial["err"])
        out = {}
        for k in ("out", "err"):
            with open(paths[k], "rb") as f:
                out[k] = f.read().decode(errors="replace")
        for p in paths.values():
            os.unlink(p)
        # The guest's sh reports death by signal N as 128+N, as a shell does; turn it back
        # into subprocess's -N so callers see what they would see on the host.
        if status > 128 and status - 128 < 65:
            status = -(status - 128)
        return subprocess.CompletedProcess(list(map(str, argv)), status, out["out"], out["err"])
