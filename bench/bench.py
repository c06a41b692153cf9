#!/usr/bin/python3
"""skyvm's benchmarks, each a ratio against a peer run in this same script (docs/bench.md).

  start        exec to exit of the embedded default guest vs bare_kvm creating the same
               KVM objects and running a tiny 64-bit guest
  start-lnx    the same with the objects a Linux guest needs (irqchip, PIT2, 128 MiB)
  qemu         QEMU microvm booting the same default guest as a PVH ELF
  rss          peak RSS beyond the guest memory touched: skyvm, bare_kvm, QEMU
  exits        one port-I/O exit to userspace and back: skyvm vs the raw ioctl loop
  starts/s     completed VMs per second with 2 parallel launchers (skyvm, bare_kvm), and
               with 50 started at once (failures counted)
  linux        exec to "Run /init as init process": skyvm vs QEMU -M pc (bzImage) and
               vs QEMU -M microvm (the same kernel's vmlinux, by PVH; skyvm both ways)
  instructions user-space instructions per run (callgrind), skyvm vs bare_kvm: where the
               bench runs (KVM), and here without KVM (tests/e2e/fake_kvm)

All timing is done by bench/timeit.c, interleaving peers run by run.  With a usable
/dev/kvm it runs here.  Without one (or with a restricted PVM one, as the tests decide;
BENCH_NESTED=never uses it anyway), the whole run happens in one nested-KVM guest
(tests/nested/: QEMU TCG emulating AMD SVM, kvm_amd inside): skyvm, bare_kvm and QEMU
start from a root in that guest's RAM, so every peer pays the same environment; absolute
times are then TCG's and only the ratios mean something.

Prints a table and writes build/bench.json.
Environment: SKYVM (default build/skyvm), BENCH_RUNS, BENCH_EXITS, BENCH_STARTS,
BENCH_STARTS_ROUNDS (default 3), BENCH_AT_ONCE (VMs started at once, default 50; 0 skips),
BENCH_AT_ONCE_ROUNDS (default 1),
BENCH_LINUX_RUNS (0 skips the Linux boot), BENCH_NESTED=0 (no nested guest: skip),
BENCH_ONLY=start,rss,exits,starts,linux,instructions (a subset; written to
build/bench/only.json).
"""
import json
import os
import re
import shlex
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKYVM = os.path.abspath(os.environ.get("SKYVM", os.path.join(ROOT, "build", "skyvm")))
OUT = os.path.join(ROOT, "build", "bench")
BARE = os.path.join(OUT, "bare_kvm")
TIMEIT = os.path.join(OUT, "timeit")
FAKE_KVM = os.path.join(OUT, "fake_kvm")
VALGRIND = "/usr/bin/valgrind"
GUEST_ELF = os.path.join(ROOT, "build", "guest", "default.elf")
KERNEL = os.path.join(ROOT, "build", "linux", "bzImage")
VMLINUX = os.path.join(ROOT, "build", "linux", "vmlinux")  # the same kernel, PVH ELF note
INITRD = os.path.join(ROOT, "build", "linux", "initramfs.cpio.gz")
QEMU = "/usr/bin/qemu-system-x86_64"
QEMU_FIRMWARE = ["/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu"]
NESTED_ROOT = "/dev/shm/skyvm-bench"  # inside the nested guest only (its tmpfs)
INIT_MARK = "Run /init as init process"

NESTED_LABEL = ("nested KVM on QEMU TCG: absolute times are TCG's; "
                "ratios compare peers in the same environment")
HOST_LABEL = "this machine's /dev/kvm"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def kvm_reason():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        return f"/dev/kvm unusable on this machine ({e.strerror})"
    # As tests/e2e/conftest.py: a PVM /dev/kvm is not where KVM work runs by default.
    if os.path.exists("/sys/module/kvm_pvm") and os.environ.get("BENCH_NESTED") != "never":
        return "/dev/kvm here is kvm_pvm, a restricted KVM (BENCH_NESTED=never uses it)"
    return None


# ---------------------------------------------------------------- where commands run

class Host:
    """Runs commands right here (a usable /dev/kvm)."""
    label = HOST_LABEL
    nested = False

    def run(self, argv, timeout):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def run_wall(self, argv, timeout):
        return self.run(argv, timeout)

    def timeit(self, args, timeout):
        return self.run([TIMEIT, *args], timeout)

    def close(self):
        pass


class Nested:
    """Runs commands inside one nested-KVM guest (tests/nested/), with `files` (VMMs,
    their firmware, kernels) copied by bench/nested-root.sh into a tmpfs root in its RAM
    (`root`), where timed commands run chrooted.  bench/io.py uses it too.

    KVM on TCG's emulated SVM occasionally wedges the whole nested guest
    (docs/nested-testing.md: a hang in about one run in a hundred or fewer); a request
    that gets no answer is then reported, the guest rebooted and its root rebuilt, and
    the bench goes on with the next request."""
    nested = True

    def __init__(self, files, root=NESTED_ROOT, label=NESTED_LABEL, say=None):
        sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
        import nested  # noqa: E402
        self.mod = nested
        self.files = files
        self.root = root
        self.label = label
        self.say = say or log
        self.guest = None
        self.boots = 0
        self.qemu = None
        self._ensure()

    def _ensure(self):
        # Alive, and still the guest whose root was built (the harness reboots a wedged
        # guest by itself on its next run, without the root).
        if self.guest is not None and self.guest.qemu is self.qemu and self.guest.alive():
            return
        if self.guest is not None:
            self.guest.close()
        t0 = time.monotonic()
        # start_guest tries a boot that does not come up again (a refused control socket)
        self.guest = self.mod.start_guest(say=self.say)
        self.qemu = self.guest.qemu
        self.boots += 1
        self.say(f"nested guest up in {time.monotonic() - t0:.1f} s; copying the VMMs into "
                 "its RAM")
        r = self.guest.run(["/bin/sh", os.path.join(ROOT, "bench", "nested-root.sh"),
                            self.root, *self.files], cwd=ROOT, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"nested-root.sh failed ({r.returncode}): {r.stderr.strip()}")
        self.say(f"root in guest RAM: {r.stdout.strip()}")

    def run(self, argv, timeout):
        """A command over the shared / (not timed: host-check, callgrind); the harness
        allows it timeout * SLOWDOWN seconds."""
        self._ensure()
        return self.guest.run(argv, cwd=ROOT, timeout=timeout)

    def run_wall(self, argv, timeout):
        """The same, within timeout seconds of wall time."""
        self._ensure()
        return self.guest.run(argv, cwd=ROOT, timeout=timeout / self.mod.SLOWDOWN)

    def timeit(self, args, timeout):
        return self.run_wall(["/usr/sbin/chroot", self.root, TIMEIT, *args], timeout)

    def close(self):
        if self.guest is not None:
            self.guest.close()


# ---------------------------------------------------------------- measurements

def stats(values_ms, recs=None):
    out = {"median_ms": round(statistics.median(values_ms), 3),
           "min_ms": round(min(values_ms), 3), "runs": len(values_ms)}
    if recs and all("user_us" in r for r in recs):  # CPU time the process itself used
        out["median_user_ms"] = round(statistics.median(r["user_us"] for r in recs) / 1e3, 3)
        out["median_sys_ms"] = round(statistics.median(r["sys_us"] for r in recs) / 1e3, 3)
    return out


def parse_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def interleaved(env, cmds, runs, timeout, guest_mib=None, run_timeout=None):
    """cmds: {name: (argv, ok_status)}; runs them in rounds (one timeit request per
    round); returns {name: [run, ...]}.  A run killed after run_timeout s, or a round
    whose request got no answer within timeout s (the nested guest wedged), is left out
    of the numbers and counted in HUNG."""
    names = list(cmds)
    run_timeout = run_timeout or (60 if env.nested else 30)
    args = ["--runs", "1", "--timeout", str(run_timeout)]
    if guest_mib:  # the guest-memory meter (bench/timeit.c)
        args += ["--guest-mib", str(guest_mib)]
    args.append("--")
    for i, n in enumerate(names):
        if i:
            args.append(":::")
        args += cmds[n][0]
    out = {n: [] for n in names}
    for _ in range(runs):
        try:
            r = env.timeit(args, timeout)
        except subprocess.TimeoutExpired as e:
            recs = parse_lines(e.output or "")
            done = {names[x["cmd"]] for x in recs}
            stuck = next((n for n in names if n not in done), names[-1])
            HUNG[stuck] = HUNG.get(stuck, 0) + 1
            log(f"no answer within {e.timeout:.0f} s during {stuck}: round left out")
            if hasattr(e, "report"):
                HUNG_REPORTS.append(e.report(tail=1500))
            continue
        if r.returncode != 0:
            raise RuntimeError(f"timeit failed ({r.returncode}): {r.stderr.strip()[-500:]}")
        for rec in parse_lines(r.stdout):
            name = names[rec["cmd"]]
            if rec["status"] == 137 and rec["wall_ns"] >= run_timeout * 1e9:
                HUNG[name] = HUNG.get(name, 0) + 1
                continue
            if rec["status"] != cmds[name][1]:
                raise RuntimeError(f"{name}: {shlex.join(cmds[name][0])} exited "
                                   f"{rec['status']} (expected {cmds[name][1]})")
            out[name].append(rec)
    return out


HUNG = {}  # name -> runs killed after their time limit, or rounds lost to a wedged guest
HUNG_REPORTS = []


def walls(recs):
    return [r["wall_ns"] / 1e6 for r in recs]


def ratio(a, b):
    return round(a / b, 3) if b else None


def verdict(value, target, higher_is_better=False):
    if value is None:
        return "n/a"
    return "met" if (value >= target if higher_is_better else value <= target) else "MISSED"


def sky(*args):
    return [SKYVM, "run", "--console", "none", *args]


QEMU_MICROVM = [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "32",
                "-nographic", "-no-reboot", "-nodefaults", "-serial", "null",
                "-kernel", GUEST_ELF, "-device", "isa-debug-exit,iobase=0x501,iosize=1"]


def bench_start(env, res, runs):
    log(f"start-up: {runs} interleaved rounds of bare_kvm, skyvm, QEMU microvm")
    cmds = {"bare": ([BARE], 0),
            "skyvm": (sky(), 0),
            "skyvm_exit0": (sky("--cmdline", "exit=0"), 0),
            "bare_linux_objects": ([BARE, "--linux-objects"], 0),
            "skyvm_linux_objects": (sky("--irqchip", "kernel", "--memory", "128"), 0),
            "qemu_microvm": (QEMU_MICROVM, 1)}  # isa-debug-exit: (0 << 1) | 1
    r = interleaved(env, cmds, runs, timeout=150)
    s = {n: stats(walls(v), v) for n, v in r.items()}
    res["start"] = {
        "what": "exec to exit: `skyvm run` (embedded default guest, 1 vCPU, 32 MiB) vs "
                "bare_kvm (same KVM objects, 64-bit guest that exits at once)",
        "bare": s["bare"], "skyvm": s["skyvm"],
        "ratio": ratio(s["skyvm"]["median_ms"], s["bare"]["median_ms"]),
        "ratio_of_min": ratio(s["skyvm"]["min_ms"], s["bare"]["min_ms"]),
        "target": "<= 1.5",
        "skyvm_guest_exit_at_once": s["skyvm_exit0"],
        "ratio_guest_exit_at_once": ratio(s["skyvm_exit0"]["median_ms"],
                                          s["bare"]["median_ms"])}
    res["start"]["verdict"] = verdict(res["start"]["ratio"], 1.5)
    res["start_linux_objects"] = {
        "what": "the same with `--irqchip kernel --memory 128` vs bare_kvm --linux-objects "
                "(irqchip, PIT2, LAPIC written, 128 MiB)",
        "bare": s["bare_linux_objects"], "skyvm": s["skyvm_linux_objects"],
        "ratio": ratio(s["skyvm_linux_objects"]["median_ms"],
                       s["bare_linux_objects"]["median_ms"]),
        "ratio_of_min": ratio(s["skyvm_linux_objects"]["min_ms"],
                              s["bare_linux_objects"]["min_ms"]),
        "target": "<= 1.1"}
    res["start_linux_objects"]["verdict"] = verdict(res["start_linux_objects"]["ratio"], 1.1)
    res["qemu_microvm"] = {
        "what": "QEMU microvm -enable-kvm booting build/guest/default.elf (PVH), exec to exit",
        **s["qemu_microvm"],
        "skyvm_over_qemu": ratio(s["skyvm"]["median_ms"], s["qemu_microvm"]["median_ms"])}
    res["kvmtool"] = "not measured: kvmtool is not packaged in Debian 12"


def bench_rss(env, res, runs):
    log(f"RSS: {runs} rounds with timeit's guest-memory meter")
    r32 = interleaved(env, {"bare": ([BARE], 0), "skyvm": (sky(), 0),
                            "qemu_microvm": (QEMU_MICROVM, 1)}, runs,
                      timeout=120, guest_mib=32)
    r128 = interleaved(env, {"bare_linux_objects": ([BARE, "--linux-objects"], 0),
                             "skyvm_linux_objects": (sky("--irqchip", "kernel", "--memory",
                                                         "128"), 0)}, runs,
                       timeout=120, guest_mib=128)
    out = {"what": "beyond_guest_kib: peak RSS since exec (VmHWM) minus the RSS of the "
                   "guest-RAM mapping, both read from /proc/PID by bench/timeit.c when the "
                   "guest RAM is unmapped or at exit; KiB, median over runs (and max). "
                   "anon_beyond_guest_kib: RssAnon minus guest RAM; file_kib: RssFile + "
                   "RssShmem (executable and shared libraries, shared with other processes). "
                   "wait4_maxrss_kib also counts the forked stopwatch before exec (~1.5 MiB)",
           "target": "skyvm <= 1536 KiB beyond guest memory"}
    for name, recs in {**r32, **r128}.items():
        if not recs or any("guest_kib" not in x for x in recs):
            out[name] = {"error": "guest-RAM mapping not found"}
            continue
        med = lambda f: int(statistics.median(f(x) for x in recs))  # noqa: E731
        out[name] = {"peak_rss_kib": med(lambda x: x["hwm_kib"]),
                     "wait4_maxrss_kib": med(lambda x: x["maxrss_kib"]),
                     "guest_touched_kib": med(lambda x: x["guest_kib"]),
                     "beyond_guest_kib": med(lambda x: x["hwm_kib"] - x["guest_kib"]),
                     "beyond_guest_kib_max": max(x["hwm_kib"] - x["guest_kib"]
                                                 for x in recs),
                     "anon_beyond_guest_kib": med(lambda x: x["anon_kib"] - x["guest_kib"]),
                     "file_kib": med(lambda x: x["file_kib"]), "runs": len(recs)}
    if "beyond_guest_kib" in out.get("bare", {}) and "beyond_guest_kib" in out["skyvm"]:
        out["skyvm_beyond_bare_kib"] = (out["skyvm"]["beyond_guest_kib"]
                                        - out["bare"]["beyond_guest_kib"])
    v = out.get("skyvm", {}).get("beyond_guest_kib")
    out["verdict"] = verdict(v, 1536)
    res["rss"] = out


def bench_exits(env, res, runs, n):
    log(f"exits: {runs} rounds, {n} exits per run")
    r = interleaved(env, {"bare_0": ([BARE], 0),
                          "bare_n": ([BARE, "--exits", str(n)], 0),
                          "skyvm_0": (sky("--cmdline", "test=exits count=0"), 0),
                          "skyvm_n": (sky("--cmdline", f"test=exits count={n}"), 0)},
                    runs, timeout=180)
    med = {k: statistics.median(walls(v)) for k, v in r.items()}
    mins = {k: min(walls(v)) for k, v in r.items()}
    bare_us = (med["bare_n"] - med["bare_0"]) * 1000 / n
    sky_us = (med["skyvm_n"] - med["skyvm_0"]) * 1000 / n
    res["exit_roundtrip"] = {
        "what": f"(run with {n} port writes - run with none) / {n}: one `out` exit to "
                "userspace and back; skyvm's guest writes port 0x80 (counted as unclaimed), "
                "bare_kvm's port 0x510",
        "exits": n, "bare_us": round(bare_us, 3), "skyvm_us": round(sky_us, 3),
        "ratio": ratio(sky_us, bare_us),
        "ratio_of_min": ratio(mins["skyvm_n"] - mins["skyvm_0"],
                              mins["bare_n"] - mins["bare_0"]),
        "runs": runs, "target": "<= 1.1"}
    res["exit_roundtrip"]["verdict"] = verdict(res["exit_roundtrip"]["ratio"], 1.1)


def start_rate(env, cmd, parallel, count):
    """timeit --parallel: (completed per second, its record)."""
    r = env.timeit(["--parallel", str(parallel), "--count", str(count), "--timeout",
                    str(120 if env.nested else 30), "--", *cmd],
                   timeout=60 + count * 10)
    recs = parse_lines(r.stdout)
    if not recs:
        raise RuntimeError(f"timeit --parallel {parallel}: {r.stderr.strip()[-300:]}")
    return recs[0]["completed"] / (recs[0]["wall_ns"] / 1e9), recs[0]


def count_failures(out, name, rec):
    if rec["failed"]:
        f = out.setdefault("failures", {}).setdefault(name, {"failed": 0, "hung": 0})
        f["failed"] += rec["failed"] - rec["killed"]
        f["hung"] += rec["killed"]


def bench_starts(env, res, count, rounds, at_once, at_once_rounds):
    log(f"starts/s: {rounds} x {count} VMs, 2 at a time, skyvm and bare_kvm alternately")
    out = {"what": f"{count} VMs, 2 launchers; completed (exit 0) per second of wall time",
           "target": ">= 50 on 2 cores; skyvm >= 0.9x bare_kvm"}
    vals = {"skyvm": [], "bare": []}
    for _ in range(rounds):
        for name, cmd in (("skyvm", sky()), ("bare", [BARE])):
            rate, rec = start_rate(env, cmd, 2, count)
            count_failures(out, name, rec)
            vals[name].append(rate)
    out["skyvm_per_s"] = round(statistics.median(vals["skyvm"]), 2)
    out["bare_per_s"] = round(statistics.median(vals["bare"]), 2)
    out["skyvm_over_bare"] = ratio(out["skyvm_per_s"], out["bare_per_s"])
    out["rounds"] = rounds
    out["verdict"] = verdict(out["skyvm_per_s"], 50, higher_is_better=True)
    if env.nested:
        out["verdict"] += " (absolute, so TCG's: not comparable with the target)"
    out["verdict_vs_bare"] = verdict(out["skyvm_over_bare"], 0.9, higher_is_better=True)
    res["starts_per_second"] = out
    if not at_once:
        return
    # Issue #15's load: every VM started at once (as tests/e2e/test_load.py does).
    log(f"starts/s: {at_once_rounds} x {at_once} VMs started at once, skyvm and bare_kvm")
    a = {"what": f"{at_once} VMs started at once (timeit --parallel {at_once}): completed "
                 "(exit 0) per second from the first fork to the last exit, and the runs "
                 "that failed or hung (killed after the time limit)",
         "vms": at_once, "rounds": at_once_rounds}
    vals = {"skyvm": [], "bare": []}
    for _ in range(at_once_rounds):
        for name, cmd in (("skyvm", sky()), ("bare", [BARE])):
            rate, rec = start_rate(env, cmd, at_once, at_once)
            count_failures(a, name, rec)
            vals[name].append(rate)
            a.setdefault(f"{name}_runs", []).append(rec)
    a["skyvm_per_s"] = round(statistics.median(vals["skyvm"]), 2)
    a["bare_per_s"] = round(statistics.median(vals["bare"]), 2)
    a["skyvm_over_bare"] = ratio(a["skyvm_per_s"], a["bare_per_s"])
    a["skyvm_failed"] = sum(r["failed"] for r in a["skyvm_runs"])
    res["starts_at_once"] = a


def bench_linux(env, res, runs):
    if not (os.path.exists(KERNEL) and os.path.exists(INITRD)):
        res["linux_boot"] = {"skipped": "no build/linux/bzImage (make linux)"}
        return
    host = {"kernel_cmdline": "", "cpu_model_options": ""}
    try:
        p = env.run([SKYVM, "host-check", "--json"], timeout=180)
        if p.returncode == 0:
            host.update(json.loads(p.stdout))
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        log(f"host-check: {e}")
    cmdline = f"console=ttyS0 panic=-1 {host['kernel_cmdline']}".strip()
    cpu = ",".join(x for x in ["host", host["cpu_model_options"].strip(",")] if x)
    timeout = 300 if env.nested else 120
    out = {"what": f"exec to '{INIT_MARK}', same kernel, initramfs, command line, 2 vCPUs, "
                   "256 MiB; skyvm and QEMU -M pc boot the bzImage (Linux boot protocol), "
                   "QEMU -M microvm and skyvm_pvh the same kernel's vmlinux through its PVH "
                   "note", "kernel": os.path.relpath(KERNEL, ROOT),
           "vmlinux": os.path.relpath(VMLINUX, ROOT), "cmdline": cmdline,
           "timeout_s": timeout}
    cmds = {"skyvm": [SKYVM, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cpus", "2",
                      "--memory", "256", "--cpu", cpu, "--cmdline", cmdline],
            "qemu": [QEMU, "-enable-kvm", "-M", "pc", "-cpu", cpu, "-smp", "2", "-m", "256",
                     "-nographic", "-no-reboot", "-kernel", KERNEL, "-initrd", INITRD,
                     "-append", cmdline]}
    if os.path.exists(VMLINUX):
        cmds["skyvm_pvh"] = [SKYVM, "run", "--kernel", VMLINUX, "--initrd", INITRD, "--cpus",
                             "2", "--memory", "256", "--cpu", cpu, "--cmdline", cmdline]
        # microvm's defaults (QEMU 7.2): PIC, PIT, RTC, ISA serial, hardware-reduced ACPI;
        # no PCI.  -kernel with an ELF that has a PVH note enters it there (via qboot).
        cmds["qemu_microvm"] = [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", cpu,
                                "-smp", "2", "-m", "256", "-nodefaults", "-display", "none",
                                "-no-reboot", "-serial", "stdio", "-kernel", VMLINUX,
                                "-initrd", INITRD, "-append", cmdline]
    for i in range(runs):
        for name, cmd in cmds.items():
            o = out.setdefault(name, {"command": shlex.join(cmd), "times_s": []})
            if "error" in o:
                continue  # it stops the same way each time: recorded once
            log(f"linux: {name} run {i + 1} of {runs}")
            try:
                r = env.timeit(["--until", INIT_MARK, "--fail", "KVM internal error",
                                "--timeout", str(timeout), "--", *cmd], timeout=timeout + 90)
                rec = (parse_lines(r.stdout) or [{"error": r.stderr.strip()[-300:]}])[0]
            except subprocess.TimeoutExpired as e:
                rec = {"error": f"no answer from the nested guest within {e.timeout:.0f} s"}
            if "error" in rec:
                if rec.get("error") == "timeout":
                    rec["error"] = f"no '{INIT_MARK}' within {timeout} s"
                o["error"] = rec
            else:
                o["times_s"].append(round(rec["wall_ns"] / 1e9, 3))
    for name in cmds:
        if out[name]["times_s"]:
            out[name]["median_s"] = round(statistics.median(out[name]["times_s"]), 3)
            out[name]["min_s"] = min(out[name]["times_s"])
    if "median_s" in out["skyvm"] and "median_s" in out["qemu"]:
        out["skyvm_over_qemu"] = ratio(out["skyvm"]["median_s"], out["qemu"]["median_s"])
    for sk in ("skyvm", "skyvm_pvh"):
        if "median_s" in out.get(sk, {}) and "median_s" in out.get("qemu_microvm", {}):
            out[f"{sk}_over_qemu_microvm"] = ratio(out[sk]["median_s"],
                                                   out["qemu_microvm"]["median_s"])
    res["linux_boot"] = out


INSTR_RE = re.compile(r"I\s+refs:\s+([\d,]+)")


def callgrind(run, argv, env=None, timeout=600, prefix=()):
    """User-space instructions (callgrind's Ir) of one run of argv (under the launcher
    `prefix`, not counted), from exec (the dynamic loader included) to exit, all
    threads; or {"error": ...}."""
    # --vgdb=no: no gdbserver pipe, whose shared-memory file cannot be mapped on the
    # nested guest's virtiofs /tmp (ENODEV)
    # Valgrind has no seccomp(2): a `run` is counted with --no-sandbox (the filter's
    # set-up is left out of the count; docs/sandbox.md).
    if argv[:1] == [SKYVM] and "run" in argv and "--no-sandbox" not in argv:
        argv = [*argv, "--no-sandbox"]
    cmd = [*prefix, VALGRIND, "--tool=callgrind", "--vgdb=no", "--callgrind-out-file=/dev/null",
           *argv]
    try:
        r = run(cmd, env, timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout} s"}
    m = INSTR_RE.search(r.stderr)
    if not m:
        return {"error": f"status {r.returncode}: {r.stderr.strip()[-300:]}"}
    return {"instructions": int(m.group(1).replace(",", "")), "status": r.returncode}


def bench_instructions(env, res):
    """Instruction counts: load-independent, so one run each is the number."""
    out = {"what": "user-space instructions per run, callgrind's Ir (valgrind): exec to "
                   "exit, dynamic loader and every thread included; the kernel's work "
                   "(KVM) is not counted",
           "target": "skyvm <= 2x bare_kvm"}
    if not os.path.exists(VALGRIND):
        out["skipped"] = "valgrind not installed (scripts/deps.sh installs it)"
        res["instructions"] = out
        return
    log("instructions: callgrind on bare_kvm and skyvm run (one run each)")
    if env is not None:
        where = "nested" if env.nested else "host"

        def run_env(cmd, extra, timeout):
            return env.run(cmd, timeout)
        kvm = {"where": env.label,
               "bare": callgrind(run_env, [BARE]),
               "skyvm": callgrind(run_env, sky()),
               "skyvm_guest_exit_at_once": callgrind(run_env, sky("--cmdline", "exit=0"))}
        b = kvm["bare"].get("instructions")
        k = kvm["skyvm"].get("instructions")
        kvm["ratio"] = ratio(k, b) if b and k else None
        kvm["verdict"] = verdict(kvm["ratio"], 2.0)
        out[where] = kvm
        out["ratio"] = kvm["ratio"]
        out["verdict"] = kvm["verdict"]
    # Without KVM, right here: `skyvm run` against tests/e2e/fake_kvm, which answers the
    # KVM ioctls (a vCPU whose first KVM_RUN writes 0 to the debug-exit port), so the
    # whole start-up path runs and only the guest's own exits are missing.
    dump = os.path.join(ROOT, "tests", "data", "supported", "intel-icelake-server.json")
    fake = fake_kvm_prefix(dump)
    if fake:
        def run_here(cmd, extra, timeout):
            e = dict(os.environ, **(extra or {}))
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
        prefix, extra = fake
        out["no_kvm"] = {
            "where": "this machine, no KVM: skyvm run under tests/e2e/fake_kvm (supported "
                     "CPUID of " + os.path.relpath(dump, ROOT) + "; one KVM_RUN, which exits "
                     "to the debug-exit port at once)",
            "skyvm": callgrind(run_here, sky(), extra, prefix=prefix),
            "skyvm_linux_objects": callgrind(run_here, sky("--irqchip", "kernel", "--memory",
                                                           "128"), extra, prefix=prefix),
            "skyvm_cpu_show": callgrind(run_here, [SKYVM, "cpu", "show", "host", "--supported",
                                                   dump, "--json"])}
    res["instructions"] = out


def fake_kvm_prefix(dump):
    """(argv prefix, env) running a command against tests/e2e/fake_kvm with dump's
    CPUID, or None when it cannot be built."""
    try:
        subprocess.run(["cc", "-O2", "-o", FAKE_KVM,
                        os.path.join(ROOT, "tests", "e2e", "fake_kvm.c")], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"fake_kvm: {e}")
        return None
    with open(dump) as f:
        doc = json.load(f)
    blob = os.path.join(OUT, "fake_kvm.cpuid")
    with open(blob, "wb") as out:
        for e in doc["entries"]:
            indexed = e.get("indexed", int(e["subleaf"], 16) != 0)
            out.write(struct.pack("<10I", int(e["leaf"], 16),
                                  int(e["subleaf"], 16) if indexed else 0, 1 if indexed else 0,
                                  *(int(e[r], 16) for r in ("eax", "ebx", "ecx", "edx")),
                                  0, 0, 0))
    device = os.path.join(OUT, "fake_kvm.device")
    open(device, "w").close()
    return [FAKE_KVM, device, blob, "--"], {"SKYVM_KVM_DEVICE": device}


# ---------------------------------------------------------------- report

def table(res):
    rows = [("benchmark", "skyvm", "peer", "ratio", "target", "verdict")]
    ms = lambda s: f"{s['median_ms']:.2f} ms (min {s['min_ms']:.2f})"  # noqa: E731
    if "start" in res:
        s = res["start"]
        rows.append(("start: run, default guest", ms(s["skyvm"]), "bare " + ms(s["bare"]),
                     f"{s['ratio']:.2f}", "<= 1.5", s["verdict"]))
        rows.append(("  (guest exit=0 at once)", ms(s["skyvm_guest_exit_at_once"]), "bare",
                     f"{s['ratio_guest_exit_at_once']:.2f}", "", "info"))
        s = res["start_linux_objects"]
        rows.append(("start: irqchip+PIT, 128 MiB", ms(s["skyvm"]), "bare " + ms(s["bare"]),
                     f"{s['ratio']:.2f}", "<= 1.1", s["verdict"]))
        q = res["qemu_microvm"]
        rows.append(("start: vs QEMU microvm", ms(res["start"]["skyvm"]), "qemu " + ms(q),
                     f"{q['skyvm_over_qemu']:.2f}", "", "info"))
        rows.append(("start: vs kvmtool", "", "not in Debian 12", "", "", "n/a"))
    if "rss" in res:
        r = res["rss"]

        def kib(n):
            x = r.get(n, {})
            if "beyond_guest_kib" not in x:
                return "?"
            return (f"{x['beyond_guest_kib']} KiB (anon {x['anon_beyond_guest_kib']}, "
                    f"file {x['file_kib']})")
        rows.append(("RSS beyond guest memory", kib("skyvm"),
                     f"bare {kib('bare')}, qemu {kib('qemu_microvm')}", "", "<= 1536 KiB",
                     r["verdict"]))
        rows.append(("  irqchip+PIT, 128 MiB", kib("skyvm_linux_objects"),
                     f"bare {kib('bare_linux_objects')}", "", "", "info"))
    if "exit_roundtrip" in res:
        e = res["exit_roundtrip"]
        rows.append((f"exit round trip ({e['exits']})", f"{e['skyvm_us']:.2f} us",
                     f"bare {e['bare_us']:.2f} us", f"{e['ratio']:.2f}", "<= 1.1",
                     e["verdict"]))
    if "starts_per_second" in res:
        s = res["starts_per_second"]
        rows.append(("VM starts/s, 2 launchers", f"{s['skyvm_per_s']:.1f}/s",
                     f"bare {s['bare_per_s']:.1f}/s", f"{s['skyvm_over_bare']:.2f}",
                     ">= 50/s; >= 0.9x", s["verdict"].split(" (")[0] + "; "
                     + s["verdict_vs_bare"]))
    if "starts_at_once" in res:
        s = res["starts_at_once"]
        fails = s.get("failures", {})
        rows.append((f"VM starts/s, {s['vms']} at once", f"{s['skyvm_per_s']:.1f}/s"
                     f" ({fails.get('skyvm', {}).get('failed', 0)} failed,"
                     f" {fails.get('skyvm', {}).get('hung', 0)} hung)",
                     f"bare {s['bare_per_s']:.1f}/s", f"{s['skyvm_over_bare']:.2f}", "",
                     "info"))
    ins = res.get("instructions", {})
    for where in ("host", "nested"):
        k = ins.get(where)
        if k and "instructions" in k.get("skyvm", {}) and "instructions" in k.get("bare", {}):
            rows.append(("instructions per run", f"{k['skyvm']['instructions'] / 1e3:.0f} K",
                         f"bare {k['bare']['instructions'] / 1e3:.0f} K",
                         f"{k['ratio']:.2f}", "<= 2.0", k["verdict"]))
    nk = ins.get("no_kvm", {}).get("skyvm", {})
    if "instructions" in nk:
        rows.append(("  without KVM (fake_kvm)", f"{nk['instructions'] / 1e3:.0f} K", "", "",
                     "", "info"))
    lb = res.get("linux_boot", {})
    if "skyvm" in lb:
        def sec(x):
            return f"{x['median_s']:.2f} s (min {x['min_s']:.2f})" if "median_s" in x else \
                "did not reach /init"
        rows.append(("Linux exec to /init", sec(lb["skyvm"]), "qemu pc " + sec(lb["qemu"]),
                     f"{lb['skyvm_over_qemu']:.2f}" if "skyvm_over_qemu" in lb else "",
                     "", "info"))
        if "qemu_microvm" in lb:
            rows.append(("  vs QEMU microvm (PVH)", sec(lb["skyvm"]),
                         "qemu microvm " + sec(lb["qemu_microvm"]),
                         f"{lb['skyvm_over_qemu_microvm']:.2f}"
                         if "skyvm_over_qemu_microvm" in lb else "", "", "info"))
            rows.append(("  skyvm PVH vs microvm", sec(lb["skyvm_pvh"]),
                         "qemu microvm " + sec(lb["qemu_microvm"]),
                         f"{lb['skyvm_pvh_over_qemu_microvm']:.2f}"
                         if "skyvm_pvh_over_qemu_microvm" in lb else "", "", "info"))
    w = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main():
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "skyvm": os.path.relpath(SKYVM, ROOT)}
    only = os.environ.get("BENCH_ONLY",
                          "start,rss,exits,starts,linux,instructions").split(",")
    reason = kvm_reason()
    nested_off = os.environ.get("BENCH_NESTED", "1") == "0"
    if reason and nested_off:
        res["environment"] = {"kvm": False, "skipped": f"{reason}; BENCH_NESTED=0"}
        log(res["environment"]["skipped"] + ": every KVM measurement skipped")
        env = None
    elif reason:
        files = [TIMEIT, BARE, SKYVM, QEMU, GUEST_ELF, "/usr/sbin/chroot"]
        files += [d for d in QEMU_FIRMWARE if os.path.isdir(d)]
        files += [f for f in (KERNEL, VMLINUX, INITRD) if os.path.exists(f)]
        try:
            env = Nested(files)
        except Exception as e:  # noqa: BLE001 - any failure to start is a skip with its reason
            res["environment"] = {"kvm": False, "skipped": f"{reason}; nested guest: {e}"}
            log(res["environment"]["skipped"])
            env = None
    else:
        env = Host()
    if env is not None:
        nested = env.nested
        res["environment"] = {"kvm": True, "where": "nested" if nested else "host",
                              "label": env.label}
        if nested:
            res["environment"]["why"] = reason
        runs = int(os.environ.get("BENCH_RUNS", "9" if nested else "31"))
        exits = min(int(os.environ.get("BENCH_EXITS", "20000")), 65535)
        starts = int(os.environ.get("BENCH_STARTS", "20" if nested else "100"))
        linux_runs = int(os.environ.get("BENCH_LINUX_RUNS", "2" if nested else "3"))
        res["runs_per_measurement"] = runs
        t0 = time.monotonic()
        try:
            if "start" in only:
                bench_start(env, res, runs)
            if "rss" in only:
                bench_rss(env, res, 5)
            if "exits" in only:
                bench_exits(env, res, runs, exits)
            if "starts" in only:
                bench_starts(env, res, starts, int(os.environ.get("BENCH_STARTS_ROUNDS", "3")),
                             int(os.environ.get("BENCH_AT_ONCE", "50")),
                             int(os.environ.get("BENCH_AT_ONCE_ROUNDS", "1")))
            if linux_runs and "linux" in only:
                bench_linux(env, res, linux_runs)
            if "instructions" in only:
                bench_instructions(env, res)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            res["error"] = str(e)
            log(f"stopped: {e}")
            if hasattr(e, "report"):  # tests/nested's NestedTimeout: where it hung
                res["error_report"] = e.report()
                log(e.report())
        finally:
            env.close()
        res["seconds"] = round(time.monotonic() - t0, 1)
        if HUNG:
            res["hung_runs"] = {"what": "runs killed after their time limit, or rounds "
                                        "whose nested guest stopped answering (named by "
                                        "the run it was in): left out of the numbers",
                                **HUNG, "reports": HUNG_REPORTS}
        if getattr(env, "boots", 1) > 1:
            res["environment"]["nested_guest_boots"] = env.boots
    if env is None and "instructions" in only:
        bench_instructions(None, res)  # the count without KVM needs none
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    path = os.path.join(ROOT, "build", "bench.json")
    if "BENCH_ONLY" in os.environ:
        path = os.path.join(OUT, "only.json")
        res["only"] = only
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
    print(f"environment: {res['environment'].get('label', res['environment'].get('skipped'))}")
    if env is not None or "instructions" in res:
        print(table(res))
        if HUNG:
            print(f"hung runs (killed, left out): {HUNG}")
    print(f"bench: results written to {os.path.relpath(path, ROOT)}")
    return 1 if "error" in res else 0


if __name__ == "__main__":
    sys.exit(main())
