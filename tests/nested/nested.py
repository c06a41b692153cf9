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
import atexit
import bisect
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "build", "nested")
QEMU = "qemu-system-x86_64"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
# Seconds from QEMU's start to READY; a boot takes 10-25 under TCG on a loaded machine.
BOOT_TIMEOUT = float(os.environ.get("SKYVM_NESTED_BOOT_TIMEOUT", "180"))
# Host-side time limits of a run are multiplied by this: everything in the guest,
# skyvm's own start-up included, runs on TCG.
SLOWDOWN = float(os.environ.get("SKYVM_NESTED_SLOWDOWN", "3"))
GUEST_MIB = 2048
CPUS = 2
PIN_WAIT = 120  # seconds for the static keys' holder to start, and for the CPUs to come up
# Held open for the guest's whole life: two VMs, one without an irqchip and one with, each
# with a vCPU that never runs.  KVM switches static keys (the preempt notifiers'
# key, which __schedule tests, kvm_has_noapic_vcpu, apic_sw_disabled) when the first such
# VM or vCPU is created and the last destroyed, and each switch patches kernel text with
# text_poke_bp.  Under multi-threaded TCG (QEMU 7.2) that sometimes livelocks the guest: a
# CPU keeps executing a stale translation holding the patch's int3, although memory holds
# the new instruction (docs/nested-testing.md, "Limits").  With the keys held on, the
# short VMs of host-check and the tests switch nothing.
PIN_KEYS = r"""
import fcntl, os, signal
kvm = os.open("/dev/kvm", os.O_RDWR)
plain = fcntl.ioctl(kvm, 0xAE01, 0)        # KVM_CREATE_VM
fcntl.ioctl(plain, 0xAE41, 0)              # KVM_CREATE_VCPU: no in-kernel LAPIC
apic = fcntl.ioctl(kvm, 0xAE01, 0)
fcntl.ioctl(apic, 0xAE60, 0)               # KVM_CREATE_IRQCHIP
fcntl.ioctl(apic, 0xAE41, 0)               # a LAPIC, software-disabled at reset
print("pinned", flush=True)
signal.pause()
"""
# Multi-threaded TCG: each guest CPU on its own host thread.  thread=single would avoid
# the livelock below too, but Linux guests of skyvm then stall with an RCU CPU stall.
TCG_THREAD = os.environ.get("SKYVM_NESTED_TCG_THREAD", "multi")
# A soft lockup the guest's kernel reports for this long (s) means it is stuck for good.
LOCKUP_S = 60
# No single run waits longer than this (seconds) for its answer, whatever its caller's
# timeout: a stuck run is diagnosed, killed and reported instead of stalling the suite.
MAX_RUN = float(os.environ.get("SKYVM_NESTED_MAX_RUN", "600"))
ACK_WAIT = 20  # seconds for /init's STARTED before a RUN is sent again


_LIVE = set()  # guests started and not closed: ended at exit and on SIGTERM


def _close_all():
    for g in list(_LIVE):
        g._kill()


def _on_sigterm(signum, frame):
    _close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_cleanup():
    """A killed test run must not leave its QEMU and virtiofsd behind."""
    if getattr(_install_cleanup, "done", False):
        return
    _install_cleanup.done = True
    atexit.register(_close_all)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        try:
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread
            pass


class NestedError(Exception):
    """The nested guest could not be started or stopped answering.  `console`: the tail
    of its console (and QEMU's and virtiofsd's logs) when there was a guest."""

    def __init__(self, msg, console=""):
        super().__init__(msg)
        self.console = console

    def __str__(self):
        # A failing test prints str(): the logs say why the guest went away.
        base = super().__str__()
        return f"{base}\n{self.console}" if self.console else base


class NestedUnavailable(NestedError):
    """This machine cannot run the nested guest at all (not root, no QEMU, the initramfs
    cannot be built): starting again would not help."""


# Counted for the whole process (the test summary prints them): guests booted, boots that
# did not come up, runs served, runs that found the guest wedged, RUN lines sent again.
STATS = {"boots": 0, "boot_failures": 0, "runs": 0, "wedged": 0, "resent": 0}
# What went wrong with the nested guest itself during runs, in order: ("died", why) when
# QEMU ended or closed the control line mid-run, ("wedged", command) when a run that did
# not answer found the guest itself stuck.  tests/e2e/conftest.py reads it to tell
# the nested guest's failures from skyvm's.
EVENTS = []
START_TRIES = 3  # a guest that does not come up is started again, at most twice


def start_guest(say=None, tries=START_TRIES):
    """A started NestedGuest.  A boot that does not come up is printed (with its console
    tail) through say() and tried again, up to `tries` boots in all; then NestedError,
    naming every failure.  NestedUnavailable (nothing to retry) is raised at once."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    failures = []
    for attempt in range(1, tries + 1):
        try:
            return NestedGuest().start()
        except NestedUnavailable:
            raise
        except NestedError as e:
            failures.append(e.args[0])
            say(f"nested: the guest did not come up (boot {attempt} of {tries}): {e.args[0]}\n"
                f"--- its console and logs (tail) ---\n{e.console or '(none)'}"
                + ("\nnested: starting a fresh guest" if attempt < tries else ""))
    raise NestedError(f"the nested guest did not come up in {tries} boots: "
                      + "; ".join(f"({i + 1}) {f.splitlines()[0]}"
                                  for i, f in enumerate(failures)))


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
        # Tests may run several runs at once from threads (test_verify's busy guests):
        # the control line's buffer, the DONE table and the ids are shared.
        self._ctl_lock = threading.RLock()
        self.done = {}  # DONE statuses read while waiting for another request
        self.resent = 0  # RUN lines the guest missed and got again
        self.wedged = False  # a run found the guest itself stuck (no PONG)
        self._reset_log_size, self._reset_log_tf = -1, False
        self._status_asked = 0.0
        self._console_pos = 0  # how far _console_lockup() has read the console

    # ------------------------------------------------------------------ life cycle

    def start(self):
        """Boot the guest and wait for READY (then KVM's static keys are pinned on).
        NestedUnavailable when this machine cannot run it; NestedError, with the console
        tail, when this boot did not come up (start_guest() tries again)."""
        reason = build()
        if reason:
            raise NestedUnavailable(reason)
        STATS["boots"] += 1
        try:
            self._boot()
        except (NestedError, TimeoutError, OSError) as e:
            STATS["boot_failures"] += 1
            console = "\n".join(x for x in (getattr(e, "console", ""),
                                             self._logs() if self.dir else "") if x)
            if isinstance(e, TimeoutError):
                msg = "the guest stopped answering while it started (a RUN line got no STARTED)"
            elif isinstance(e, OSError):
                msg = f"talking to the guest failed: {e}"
            else:
                msg = str(e)
            self._kill()
            raise NestedError(msg, console) from None
        return self

    def _boot(self):
        self.buf = b""
        self.done = {}
        self._reset_log_size, self._reset_log_tf = -1, False
        self._status_asked = time.monotonic()
        self._console_pos = 0
        _install_cleanup()
        _LIVE.add(self)
        # Under /tmp, not build/: unix socket paths are limited to 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="skyvm-nested-")
        vfs_sock = os.path.join(self.dir, "vfs.sock")
        ctl_sock = os.path.join(self.dir, "ctl.sock")
        self.mon_sock = os.path.join(self.dir, "mon.sock")
        self.console = os.path.join(self.dir, "console.log")
        # cache=none: tests write files on the host (models, kernels) just before the
        # guest reads them, and read what the guest wrote right after; no stale pages.
        self.virtiofsd = subprocess.Popen(
            [VIRTIOFSD, f"--socket-path={vfs_sock}", "-o", "source=/", "-o", "sandbox=chroot",
             "-o", "cache=none", "-o", "log_level=err"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "virtiofsd.log"), "w"))
        self._wait_for_path(vfs_sock, self.virtiofsd, "virtiofsd")
        # With multi-threaded TCG the guest boots with one CPU online and brings the
        # second up only after KVM's static keys are pinned on (_pin_static_keys): every
        # patch of kernel text before that (module loads, the first VM) happens while one
        # CPU runs, so no CPU can be left executing a stale translation of it.
        append = ("console=ttyS0 quiet panic=-1 nokaslr unknown_nmi_panic panic_print=0x40"
                  + (" maxcpus=1" if TCG_THREAD != "single" else ""))
        cmd = [QEMU, "-accel", f"tcg,thread={TCG_THREAD}", "-cpu", "max", "-smp", str(CPUS),
               "-m", str(GUEST_MIB),
               "-object", f"memory-backend-memfd,id=mem,size={GUEST_MIB}M,share=on",
               "-numa", "node,memdev=mem", "-nodefaults", "-display", "none",
               # A reset of the nested guest (its kernel's triple fault) stops it, paused,
               # instead of ending QEMU: _read_line sees the reset log's "Triple fault"
               # and the monitor still shows the CPUs where they faulted.  A poweroff
               # pauses too; close() ends QEMU through the monitor.
               "-action", "reboot=shutdown,shutdown=pause",
               "-chardev", f"socket,id=vfs,path={vfs_sock}",
               "-device", "vhost-user-fs-pci,chardev=vfs,tag=host",
               "-serial", f"file:{self.console}",
               "-chardev", f"socket,id=ctl,path={ctl_sock},server=on,wait=off",
               "-serial", "chardev:ctl",
               # The monitor shows where the guest's CPUs are when the guest is stuck.
               "-monitor", f"unix:{self.mon_sock},server=on,wait=off",
               "-kernel", os.path.join(OUT, "kernel"),
               "-initrd", os.path.join(OUT, "initramfs.cpio.gz"),
               # nokaslr: the guest's kallsyms, saved once per kernel, name the
               # addresses the monitor shows when the guest is stuck; an NMI
               # from the monitor panics the guest with every CPU's backtrace.
               "-append", append,
               # QEMU logs "Triple fault" here when the nested guest's kernel faults.
               "-d", "cpu_reset", "-D", os.path.join(self.dir, "qemu-reset.log")]
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "qemu.log"), "w"))
        self._wait_for_path(ctl_sock, self.qemu, "QEMU")
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.connect(ctl_sock)
        try:
            line = self._read_line(time.monotonic() + BOOT_TIMEOUT)
        except TimeoutError:
            raise NestedError(f"no READY from the guest within {BOOT_TIMEOUT:.0f} s",
                              self._why_no_answer()) from None
        if line != "READY":
            why = line[5:] if line.startswith("FAIL ") else f"unexpected {line!r}"
            raise NestedError(f"the nested guest cannot run KVM: {why}")
        self._save_kallsyms()
        if TCG_THREAD != "single":
            self._pin_static_keys()
            self._online_cpus()

    def _pin_static_keys(self):
        """Start PIN_KEYS in the guest (it runs until the guest ends)."""
        rid, paths = self._request(["/usr/bin/python3", "-c", PIN_KEYS])
        deadline = time.monotonic() + PIN_WAIT
        while time.monotonic() < deadline:
            if self._read(paths["out"]).strip() == "pinned":
                return
            if f"DONE {rid}" in self.done:
                break
            try:  # keeps reading the control line: a DONE means it failed
                self._wait_for("DONE", rid, time.monotonic() + 0.5)
                self.done[f"DONE {rid}"] = "1"
                break
            except TimeoutError:
                pass
        err = self._read(paths["err"]).strip().splitlines()
        if err:
            raise NestedError(f"could not hold KVM's static keys on in the guest: {err[-1]}")
        raise NestedError("could not hold KVM's static keys on in the guest: no answer in "
                          f"{PIN_WAIT} s", self._why_no_answer())

    def _online_cpus(self):
        """Bring the guest's other CPUs online (it booted with maxcpus=1)."""
        sh = ("for c in /sys/devices/system/cpu/cpu[1-9]*/online; do echo 1 >$c || exit 1; "
              "done; cat /sys/devices/system/cpu/online")
        rid, paths = self._request(["/bin/sh", "-c", sh])
        try:
            status = self._wait_done(rid, time.monotonic() + PIN_WAIT)
        except TimeoutError:
            raise NestedError(f"bringing the guest's CPUs online: no answer in {PIN_WAIT} s",
                              self._why_no_answer()) from None
        online = self._read(paths["out"]).strip()
        if status != 0 or online != f"0-{CPUS - 1}":
            raise NestedError(f"bringing the guest's CPUs online failed ({status}): online "
                              f"{online!r}, {self._read(paths['err']).strip()}")
        for p in paths.values():
            _unlink(p)

    def _why_no_answer(self):
        """For a boot that stopped answering: does /init still answer, and if not, where
        are the guest's CPUs (the same report as for a wedged run)."""
        try:
            self.next_id += 1
            did = str(self.next_id)
            self.ctl.sendall(f"PING {did}\n".encode())
            self._wait_for("PONG", did, time.monotonic() + 30)
            return "(the guest's /init still answers PING)"
        except (TimeoutError, NestedError, OSError):
            return ("the guest's /init does not answer PING either: the guest is stuck\n"
                    + self._stuck_guest_report())

    def close(self):
        if self.ctl:
            try:
                self.ctl.sendall(b"QUIT\n")
            except OSError:
                pass
            self.ctl.close()
            self.ctl = None
        if self.qemu is not None:
            # The guest's poweroff pauses QEMU (-action shutdown=pause): end it.
            try:
                self.qemu.wait(timeout=2)
            except subprocess.TimeoutExpired:
                try:
                    self._monitor("quit")
                except OSError:
                    pass
        for p in (self.qemu, self.virtiofsd):
            if p is None:
                continue
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.qemu = self.virtiofsd = None
        _LIVE.discard(self)
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
                raise NestedError(f"{what} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise NestedError(f"{what} did not create {path}")
            time.sleep(0.02)

    def _triple_faulted(self):
        """QEMU logged a triple fault of the nested guest (it is paused, not reset)."""
        path = os.path.join(self.dir or "", "qemu-reset.log")
        try:
            size = os.path.getsize(path)
            if size != self._reset_log_size:  # read again only when it grew
                self._reset_log_size = size
                with open(path, errors="replace") as f:
                    self._reset_log_tf = "Triple fault" in f.read()
        except OSError:
            pass
        return self._reset_log_tf

    def _stopped(self):
        """Why QEMU stopped the nested guest (-action shutdown=pause), or None.  Asks the
        monitor at most every 5 s."""
        if self._triple_faulted():
            return "triple-faulted: its kernel's own fault (QEMU stopped it)"
        now = time.monotonic()
        if now - self._status_asked < 5:
            return None
        self._status_asked = now
        lockup = self._console_lockup()
        if lockup:
            return f"is stuck: its kernel reports {lockup}"
        try:
            status = self._monitor("info status")
        except OSError:
            return None
        if "shutdown" in status:
            return "shut down or reset itself (a panic, a reboot): QEMU stopped it"
        return None

    def _console_lockup(self):
        """A soft lockup of LOCKUP_S or more that the guest's kernel reported since the
        last look, or None.  Its watchdog reports one CPU stuck in the kernel every ~26 s
        (22 s, 48 s, 74 s, ...).  Twice under QEMU 7.2's TCG a CPU stayed stuck for good
        (600 s, until the run's limit; the other CPU waiting in smp_call_function for it);
        seeing it here ends the run after ~75 s and the test runs again on a fresh guest.
        A shorter lockup under load passes."""
        try:
            with open(self.console, "rb") as f:
                f.seek(self._console_pos)
                text = f.read()
        except OSError:
            return None
        # whole lines only: a line still being written is read next time
        text = text[:text.rfind(b"\n") + 1]
        self._console_pos += len(text)
        for m in re.finditer(rb"soft lockup - (CPU#\d+) stuck for (\d+)s! \[([^\]]*)\]", text):
            if int(m.group(2)) >= LOCKUP_S:
                return (f"a soft lockup of {m.group(1).decode()} for {int(m.group(2))} s "
                        f"(task {m.group(3).decode(errors='replace')})")
        return None

    def _logs(self):
        out = []
        if self.alive() and "shutdown" in self._monitor_quiet("info status"):
            try:  # paused where it faulted: the CPUs' state, the RIPs named
                regs = self._monitor("info registers -a")
                keep = ("CPU#", "RAX=", "RSI=", "R8 =", "R12=", "RIP=", "CS =", "SS =",
                        "TR =", "GDT=", "IDT=", "CR0=", "EFER=")
                out += ["--- the nested guest's CPUs where QEMU stopped it ---",
                        "\n".join(ln for ln in regs.splitlines() if ln.startswith(keep)),
                        "--- their RIPs, named ---", self._symbolize(regs)]
            except OSError as e:
                out.append(f"(QEMU monitor: {e})")
        if self.qemu is not None:
            try:
                self.qemu.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
            rc = self.qemu.poll()
            if rc is not None:
                out.append(f"--- QEMU {'was killed by signal ' + str(-rc) if rc < 0 else 'exited with status ' + str(rc)}"
                           " (signal 9 with no log: look for the kernel's OOM report) ---")
        reset = os.path.join(self.dir, "qemu-reset.log")
        try:
            with open(reset, errors="replace") as f:
                text = f.read()
            # Power-on and INIT resets are logged too: shown when QEMU ended by itself.
            if "Triple fault" in text:
                out.append("--- qemu-reset.log: QEMU logged a triple fault of the nested guest ---")
            elif self.qemu is not None and self.qemu.poll() == 0:
                out.append(f"--- qemu-reset.log (QEMU ended by itself) ---\n{text[-3000:]}")
        except OSError:
            pass
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
                    raise NestedError("the nested guest died", self._logs())
                why = self._stopped()
                if why:
                    raise NestedError(f"the nested guest {why}", self._logs())
                continue
            if not chunk:
                raise NestedError("the nested guest closed its control line", self._logs())
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    # ------------------------------------------------------------------ one run

    def _wait_for(self, verb, rid, deadline):
        """The rest of the guest's `<verb> <rid> ...` message, reading the control line
        until deadline (TimeoutError then); other messages are kept for their waiters."""
        key = f"{verb} {rid}"
        while True:
            # One line at a time under the lock: another thread's waiter may read this
            # one's line and leave it in self.done.
            with self._ctl_lock:
                if key in self.done:
                    return self.done.pop(key)
                try:
                    line = self._read_line(min(deadline, time.monotonic() + 1.0))
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        raise
                    continue
                parts = line.split(None, 2)
                if len(parts) >= 2:
                    self.done[f"{parts[0]} {parts[1]}"] = parts[2] if len(parts) > 2 else ""

    def _wait_done(self, rid, deadline):
        """The exit status of request rid."""
        return int(self._wait_for("DONE", rid, deadline))

    def _request(self, argv, cwd=None, env=None, input=None):
        """Send one request; returns its id and the paths of its files."""
        rid, paths = self._prepare(argv, cwd, env, input)
        self._send_run(rid, paths["sh"])
        return rid, paths

    def _send_run(self, rid, script):
        """Send RUN and wait for the guest's STARTED.  Now and then a RUN line never
        reached /init (seen about once in 100 runs, the guest otherwise fine); it is sent
        again with the same id, which /init runs at most once."""
        line = f"RUN {rid} {script}\n".encode()
        for attempt in range(3):
            self.ctl.sendall(line)
            try:
                again = self._wait_for("STARTED", rid, time.monotonic() + ACK_WAIT)
            except TimeoutError:
                continue
            if attempt:
                self.resent += attempt
                STATS["resent"] += attempt
                what = ("its STARTED was lost on the way back" if again == "again"
                        else "the RUN line was lost on the way in")
                bad = [f"{k} {v}" for k, v in self.done.items() if k.startswith("BAD ")]
                if bad:  # /init got a line it could not parse: the RUN, mangled?
                    what += f"; /init answered {bad}"
                    for k in [k for k in self.done if k.startswith("BAD ")]:
                        del self.done[k]
                print(f"nested: RUN {rid} sent {attempt + 1} times: {what}", file=sys.stderr)
            return
        raise TimeoutError

    def _prepare(self, argv, cwd, env, input):
        with self._ctl_lock:
            self.next_id += 1
            rid = str(self.next_id)
        base = os.path.join(self.dir, f"req{rid}")
        paths = {k: f"{base}.{k}" for k in ("sh", "in", "out", "err", "pid")}
        with open(paths["in"], "wb") as f:
            if input is not None:
                f.write(input.encode() if isinstance(input, str) else input)
        env = dict(os.environ if env is None else env)
        q = shlex.quote
        # $$ is the pid (in the guest) of what argv becomes: sh and env both exec.
        script = (f"exec <{q(paths['in'])} >{q(paths['out'])} 2>{q(paths['err'])}\n"
                  f"echo $$ >{q(paths['pid'])}\n"
                  f"cd {q(cwd or os.getcwd())} || exit 126\n"
                  f"exec env -i {' '.join(q(f'{k}={v}') for k, v in sorted(env.items()))} "
                  f"{' '.join(q(str(a)) for a in argv)}\n")
        with open(paths["sh"], "w") as f:
            f.write(script)
        return rid, paths

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def console_tail(self, lines=40):
        """The last lines of the guest's console (its kernel messages)."""
        if not self.dir:
            return ""
        return "\n".join(self._read(os.path.join(self.dir, "console.log")).splitlines()[-lines:])

    def _console_since(self, marker):
        text = self._read(os.path.join(self.dir, "console.log"))
        i = text.rfind(marker)
        return text[i:] if i >= 0 else ""

    def _host_side(self):
        """virtiofsd's threads as this machine sees them: a stuck request of the guest's
        to the host's / would show here."""
        out = []
        if self.virtiofsd is None:
            return ""
        for tid in sorted(os.listdir(f"/proc/{self.virtiofsd.pid}/task"), key=int):
            t = f"/proc/{self.virtiofsd.pid}/task/{tid}"
            stat = self._read(f"{t}/stat")
            state = stat.rsplit(")", 1)[-1].split()[:1]
            out.append(f"-- virtiofsd thread {tid}: {' '.join(state)}, "
                       f"wchan {self._read(f'{t}/wchan')}")
        return "\n".join(out)

    def _monitor_quiet(self, *commands):
        try:
            return self._monitor(*commands)
        except OSError:
            return ""

    def _monitor(self, *commands):
        """Run QEMU monitor commands; returns their output."""
        out = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as m:
            m.settimeout(30)
            m.connect(self.mon_sock)
            buf = b""
            for cmd in (None, *commands):
                if cmd is not None:
                    m.sendall(cmd.encode() + b"\n")
                buf = b""
                while not buf.endswith(b"(qemu) "):
                    chunk = m.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                if cmd is not None:
                    # The monitor echoes what it is sent, with cursor movements: one line.
                    text = buf.decode(errors="replace").replace("\r", "")
                    text = text[:-len("(qemu) ")].split("\n", 1)[-1]
                    out.append(f"(qemu) {cmd}\n{text.strip()}")
        return "\n".join(out)

    def _save_kallsyms(self):
        """The guest kernel's text symbols, once per kernel (nokaslr: the same addresses
        every boot; Debian ships no real System.map)."""
        path = _kallsyms_path()
        if os.path.exists(path):
            return
        q = shlex.quote
        sh = f"grep -E ' [tTwW] ' /proc/kallsyms >{q(path)}.tmp && mv {q(path)}.tmp {q(path)}"
        try:
            rid, paths = self._request(["/bin/sh", "-c", sh])
            self._wait_done(rid, time.monotonic() + 120)
            for p in paths.values():
                _unlink(p)
        except (TimeoutError, NestedError, OSError):
            pass

    @staticmethod
    def _symbolize(text):
        """Name the kernel addresses (RIP=...) in `info registers` output."""
        try:
            syms = []
            with open(_kallsyms_path()) as f:
                for line in f:
                    a, t, name = line.split()[:3]
                    if t in "tTwW":
                        syms.append((int(a, 16), name))
        except (OSError, ValueError):
            return ""
        syms.sort()
        named = []
        for tok in text.split():
            if tok.startswith("RIP="):
                rip = int(tok[4:], 16)
                i = bisect.bisect_right(syms, (rip, "\uffff")) - 1
                where = (f"{syms[i][1]}+0x{rip - syms[i][0]:x}"
                         if i >= 0 and rip >= 0xffffffff80000000 else "not the guest's kernel "
                         "(user space, or a nested guest's code)")
                named.append(f"RIP {rip:#x}: {where}")
        return "\n".join(named)

    def _stuck_guest_report(self):
        """The guest does not answer at all: where its CPUs are (monitor), then an NMI
        that panics it with every CPU's backtrace on the console."""
        out = []
        try:
            regs = self._monitor("info cpus", "info registers -a")
            keep = ("(qemu)", "* CPU", "  CPU", "CPU#", "RIP=", "CS =", "CR0=", "EFER=")
            out += [line for line in regs.splitlines() if line.startswith(keep)]
            out += ["--- the guest's CPUs' RIPs, named ---", self._symbolize(regs)]
            self._monitor("nmi")
            time.sleep(15)
            out += ["--- the console after an NMI (unknown_nmi_panic) ---",
                    self.console_tail(150)]
        except OSError as e:
            out.append(f"(QEMU monitor: {e})")
        return "\n".join(out)

    def _diagnose_and_kill(self, pid_path):
        """A stuck run: what its threads and the guest are doing, then SIGKILL.
        First the guest's own view (init.sh's DIAG: states and kernel stacks, needing
        nothing from the host's /), then gdb's backtraces (a run chrooted into the host's
        /, which shows whether virtiofs still works).  Returns (report, killed)."""
        self.wedged = False
        pid = self._read(pid_path).strip()
        report = []
        if not pid.isdigit():
            report.append("(it never started: no pid file; the guest could not run "
                          "anything from the host's /?)")
        try:
            self.next_id += 1
            did = str(self.next_id)
            self.ctl.sendall(f"PING {did}\n".encode())
            self._wait_for("PONG", did, time.monotonic() + 60)
        except (TimeoutError, NestedError, OSError):
            self.wedged = True
            report.append("the guest's init does not answer PING within 60 s: the guest "
                          "itself is stuck")
            report.append(self._host_side())
            report.append(self._stuck_guest_report())
            return "\n".join(report), False
        try:
            self.ctl.sendall(f"DIAG {did} {pid if pid.isdigit() else 'none'}\n".encode())
            self._wait_for("DIAGDONE", did, time.monotonic() + 120)
        except (TimeoutError, NestedError, OSError):
            report.append("(the guest's DIAG did not finish within 120 s)")
        report.append(self._console_since(f"=== nested: diagnosis {did} "))
        report.append(self._host_side())
        if not pid.isdigit():
            return "\n".join(report), False
        sh = ("echo '== gdb: thread apply all bt'\n"
              f"timeout 150 gdb -batch -nx -p {pid} -ex 'info threads' "
              "-ex 'thread apply all bt' 2>&1 | grep -v -e '^\\[New LWP' -e '^warning: '\n")
        try:
            rid, paths = self._request(["/bin/sh", "-c", sh])
            self._wait_done(rid, time.monotonic() + 200)
            report.append(self._read(paths["out"]) + self._read(paths["err"]))
            for p in paths.values():
                _unlink(p)
        except (TimeoutError, NestedError, OSError):
            report.append("(gdb, run from the host's / over virtiofs, did not finish within "
                          "200 s although the guest's init answers: the host's / is stuck?)")
        try:
            self.ctl.sendall(f"KILL {did} {pid}\n".encode())
            left = self._wait_for("KILLED", did, time.monotonic() + 60).strip()
        except (TimeoutError, NestedError, OSError):
            return "\n".join(report), False
        if left.isdigit() and int(left) > 0:
            # Only a stuck kernel keeps a process from SIGKILL: the nested guest's own
            # (seen: QEMU and skyvm both, each with 2 vCPUs, stuck in its KVM for minutes).
            self.wedged = True
            report.append(f"the nested guest itself is stuck: {left} process(es) of this run "
                          "still there 20 s after SIGKILL (its kernel does not let them end)")
            return "\n".join(report), False
        return "\n".join(report), True

    def run(self, argv, cwd=None, env=None, input=None, timeout=120):
        """Run argv (a host path and its arguments) inside the guest, like
        subprocess.run(capture_output=True, text=True).  When it takes longer than
        timeout * SLOWDOWN (at most MAX_RUN s), raises NestedTimeout (a
        subprocess.TimeoutExpired) with what it printed so far, the state of its threads
        and the guest's console tail; the run is killed, and the guest is rebooted on the
        next run when it cannot be."""
        if not self.alive():
            self.close()
            self.start()
        limit = min(timeout * SLOWDOWN, MAX_RUN)
        STATS["runs"] += 1
        rid, paths = self._prepare(argv, cwd, env, input)
        try:
            self._send_run(rid, paths["sh"])
            status = self._wait_done(rid, time.monotonic() + limit)
        except TimeoutError:
            partial = {k: self._read(paths[k]) for k in ("out", "err")}
            diagnosis, killed = self._diagnose_and_kill(paths["pid"])
            console = self.console_tail()
            reusable = False
            if killed:
                try:
                    self._wait_done(rid, time.monotonic() + 30)
                    reusable = True
                except (TimeoutError, NestedError, OSError):
                    pass
            wedged = self.wedged
            if wedged:
                STATS["wedged"] += 1
                EVENTS.append(("wedged", " ".join(map(str, argv))[:200]))
            if not reusable:
                self._kill()  # the next run boots a fresh guest
            raise NestedTimeout(list(map(str, argv)), limit, partial["out"], partial["err"],
                                diagnosis, console, reusable, wedged) from None
        except BaseException as e:
            # Interrupted (pytest-timeout, ^C) or the guest died: the run may still be
            # going on in there, so the next run gets a fresh guest.
            if isinstance(e, NestedError):
                EVENTS.append(("died", str(e).splitlines()[0]))
            self._kill()
            raise
        out = {k: self._read(paths[k]) for k in ("out", "err")}
        for p in paths.values():
            _unlink(p)
        # The guest's sh reports death by signal N as 128+N, as a shell does; turn it back
        # into subprocess's -N so callers see what they would see on the host.
        if status > 128 and status - 128 < 65:
            status = -(status - 128)
        return subprocess.CompletedProcess(list(map(str, argv)), status, out["out"], out["err"])


def _kallsyms_path():
    return os.path.join(OUT, "kallsyms-" + os.path.basename(
        os.path.realpath(os.path.join(OUT, "kernel"))))


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


class NestedTimeout(subprocess.TimeoutExpired):
    """A run in the nested guest did not finish in time; it has been killed."""

    def __init__(self, cmd, timeout, output, stderr, diagnosis, console, reusable,
                 wedged=False):
        super().__init__(cmd, timeout, output=output, stderr=stderr)
        self.diagnosis = diagnosis
        self.console = console
        self.reusable = reusable
        # The guest itself stopped answering (its CPUs stuck, in the diagnosis), not just
        # this run: a fault of the emulation, which a fresh guest may not repeat.
        self.wedged = wedged

    def __str__(self):
        return self.report()

    def report(self, tail=3000):
        """Everything known about the stuck run, for a test failure."""
        def last(text):
            text = (text or "").rstrip()
            return text if len(text) <= tail else "..." + text[-tail:]
        return "\n".join([
            f"{' '.join(self.cmd)}: no answer within {self.timeout:.0f} s in the nested guest; "
            + ("killed, the guest goes on" if self.reusable
               else "the guest was killed and is rebooted for the next run")
            + ("; the nested guest itself was wedged (see below)" if self.wedged else ""),
            "--- its stdout (tail) ---", last(self.output),
            "--- its stderr (tail) ---", last(self.stderr),
            "--- its threads ---",
            last(self.diagnosis),
            "--- the guest's console (tail) ---", last(self.console)])
