#!/usr/bin/python3
"""virtio-blk and virtio-net benchmarks (issue 11 point 6, issue 12 point 5): skyvm against
QEMU `-M microvm` (virtio-blk-device, virtio-net-device on the same kind of tap) booting
the same Linux test kernel, initramfs and image in the same run (docs/bench.md).

Each boot (bench/io_run.py, one per VMM per round, interleaved) measures:
  - exec to "Run /init as init process", with the disk and the NIC attached;
  - fio (Debian's, run in the guest from the initramfs, O_DIRECT, psync, on /dev/vda):
    sequential write and read with 1 MiB requests (MB/s), random 4 KiB reads (IOPS);
  - from the host side of the tap: ping of the guest (BENCH_IO_PINGS packets), iperf3
    host->guest and guest->host (the server in the guest, Debian's iperf3 too);
  - around each of those, the VMM process's CPU time (utime + stime from /proc/PID/stat;
    also without guest_time, the part KVM counted as the guest running), per GB moved.

The initramfs (build/bench/io/initramfs.cpio, uncompressed) holds busybox, the host's fio
and iperf3 with every shared library ldd names, bench/shm_shim.c built as a preload for
fio (System V shared memory and timerfd, which the test kernel is built without), and the
/init written here.

Where this machine's /dev/kvm cannot run a Linux guest's user space (none, or a
restricted PVM one: the tests' rule, docs/nested-testing.md), everything runs inside one
nested-KVM guest (tests/nested/), both VMMs started from a root in that guest's RAM
(bench/nested-root.sh), so only the ratios mean something: the output says so.

Prints a table and writes build/bench/io.json.
Environment: SKYVM (default build/skyvm); BENCH_IO_RUNS (boots per VMM, default 3);
BENCH_IO_MIB (MiB per sequential job, and the image, default 256 on a host, 64 nested);
BENCH_IO_SECONDS (random reads and each iperf3 run, default 5); BENCH_IO_PINGS (default 1000); BENCH_IO_PING_INTERVAL (s, default
0.005); BENCH_IO_KERNEL (bzImage, the default, or vmlinux, from build/linux/);
BENCH_NESTED=0 skips where the nested guest would be needed; SKYVM_NESTED=always|never
as for the tests.

Where /dev/vhost-net exists (probed where the VMMs run), a third VMM boots each round:
skyvm with `--net ...,vhost=on` ("skyvm-vhost"), its ratios to QEMU as a third column;
BENCH_IO_VHOST=0 leaves it out.
"""
import json
import os
import shlex
import stat
import statistics
import subprocess
import sys
import time

from bench import Host, Nested  # one runner for every benchmark (bench/bench.py)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKYVM = os.path.abspath(os.environ.get("SKYVM", os.path.join(ROOT, "build", "skyvm")))
OUT = os.path.join(ROOT, "build", "bench", "io")
# The test kernel as a bzImage (default), or BENCH_IO_KERNEL=vmlinux: the same kernel as
# an ELF entered through its PVH note (both VMMs boot either).
KERNEL = os.path.join(ROOT, "build", "linux", os.environ.get("BENCH_IO_KERNEL", "bzImage"))
INITRD = os.path.join(OUT, "initramfs.cpio")
SHIM = os.path.join(ROOT, "build", "bench", "shm_shim.so")
RUNNER = os.path.join(ROOT, "bench", "io_run.py")
QEMU = "/usr/bin/qemu-system-x86_64"
QEMU_FIRMWARE = ["/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu"]
FIO = "/usr/bin/fio"
IPERF3 = "/usr/bin/iperf3"
BUSYBOX = "/bin/busybox"
NESTED_ROOT = "/dev/shm/skyvm-bench-io"  # inside the nested guest only (its tmpfs)
TAP, HOST_IP, GUEST_IP, MAC = "skio0", "192.0.2.1", "192.0.2.2", "02:00:5e:00:53:10"
VHOST = "skyvm-vhost"  # skyvm with --net ...,vhost=on, where /dev/vhost-net exists
JOBS = ("seqwrite", "seqread", "randread")
MEMORY_MIB = 512

NESTED_LABEL = ("nested KVM on QEMU TCG: absolute numbers are TCG's; "
                "ratios compare the two VMMs in the same environment")
APPLETS = ["sh", "mount", "echo", "cat", "cut", "grep", "tail", "tr", "ip", "sleep", "nc",
           "poweroff", "reboot"]


def log(msg):
    print(f"bench-io: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the guest

GUEST_INIT = r"""#!/bin/sh
# /init of bench/io.py's guest: fio on /dev/vda, then an iperf3 server on eth0 until the
# host side connects to port 5999.  Markers go to /dev/kmsg, one line each.
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
say() { echo "SKYVM-IO: $*" >/dev/kmsg; }
FIO="fio --thread --ioengine=psync --direct=1 --filename=/dev/vda --disk_util=0 \
--output-format=terse --terse-version=3"
if ! LD_PRELOAD=/lib/skyvm-shm-shim.so fio --version >/tmp/v 2>&1; then
	say "failed start fio does not run: $(tail -c 300 /tmp/v | tr '\n' ' ')"
fi
job() {
	name=$1
	shift
	say "begin $name"
	if LD_PRELOAD=/lib/skyvm-shm-shim.so $FIO --name=$name "$@" >/tmp/out 2>/tmp/err; then
		say "fio $name $(grep '^3;' /tmp/out | cut -d';' -f1-9,38-41,47-50,79-82)"
	else
		say "failed $name $(tail -c 300 /tmp/err | tr '\n' ' ')"
	fi
}
job seqwrite --rw=write --bs=1M --size=@MIB@M
job seqread --rw=read --bs=1M --size=@MIB@M
job randread --rw=randread --bs=4k --size=@MIB@M --time_based --runtime=@SECONDS@ \
	--norandommap --randrepeat=1
ip link set lo up
if ip addr add @GUEST_IP@/24 dev eth0 && ip link set eth0 up; then
	iperf3 -s >/dev/null 2>/tmp/iperf3.err &
	sleep 1
	say "net ready"
	nc -l -p 5999 </dev/null >/dev/null
else
	say "failed net eth0: $(ls /sys/class/net | tr '\n' ' ')"
fi
poweroff -f
reboot -f
"""


def guest_init(mib, seconds):
    return (GUEST_INIT.replace("@MIB@", str(mib)).replace("@SECONDS@", str(seconds))
            .replace("@GUEST_IP@", GUEST_IP))


def ldd(path):
    """The shared libraries path needs, as ldd resolves them on this machine."""
    p = subprocess.run(["ldd", path], capture_output=True, text=True, check=True)
    libs = []
    for line in p.stdout.splitlines():
        parts = line.split()
        cand = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if cand.startswith("/"):
            libs.append(cand)
    return libs


class Cpio:
    """A newc archive written as it goes (the initramfs is ~90 MB of libraries)."""

    def __init__(self, f):
        self.f, self.ino, self.dirs = f, 1, set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % x for x in fields) + name_b
        self.f.write(hdr + b"\0" * (-len(hdr) % 4))
        self.f.write(data + b"\0" * (-len(data) % 4))

    def dir(self, name):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self._entry(d, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o755):
        name = name.strip("/")
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        self._entry(name, stat.S_IFREG | mode, data)

    def link(self, name, target):
        self._entry(name.strip("/"), stat.S_IFLNK | 0o777, target.encode())

    def node(self, name, major, minor):
        self._entry(name.strip("/"), stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)
        pad = -self.f.tell() % 512
        self.f.write(b"\0" * pad)


def build_initramfs(path, init_text):
    """busybox (with APPLETS), fio, iperf3, their libraries at the paths ldd gives,
    the shim, /init.  Uncompressed: both VMMs load it as it is and the kernel does not
    spend the boot inflating 90 MB."""
    files = {FIO: FIO, IPERF3: IPERF3, "/lib/skyvm-shm-shim.so": SHIM}
    for exe in (FIO, IPERF3, SHIM):
        for lib in ldd(exe):
            files.setdefault(lib, lib)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        c = Cpio(f)
        for d in ("dev", "proc", "sys", "tmp", "bin", "usr/bin", "lib"):
            c.dir(d)
        c.node("dev/console", 5, 1)
        c.node("dev/kmsg", 1, 11)
        c.file("bin/busybox", open(BUSYBOX, "rb").read())
        for a in APPLETS:
            c.link(f"bin/{a}", "busybox")
        for name, src in sorted(files.items()):
            with open(src, "rb") as s:
                c.file(name, s.read())
        c.file("init", init_text.encode())
        c.close()
    os.replace(tmp, path)
    return sorted(files)


# ---------------------------------------------------------------- where it runs

def kvm_choice():
    """(nested?, why): the tests' rule (tests/e2e/conftest.py kvm_mode)."""
    choice = os.environ.get("SKYVM_NESTED", "")
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        opens = None
    except OSError as e:
        opens = f"/dev/kvm unusable on this machine ({e.strerror})"
    if choice == "always":
        return True, "SKYVM_NESTED=always"
    if opens:
        return True, opens
    if os.path.exists("/sys/module/kvm_pvm") and choice != "never":
        return True, ("/dev/kvm here is kvm_pvm, a restricted KVM that runs no stock Linux "
                      "guest's user space")
    return False, None


# ---------------------------------------------------------------- the VMMs

def vmm_argv(name, cpu, cmdline, image, timeout):
    if name in ("skyvm", VHOST):
        net = f"tap={TAP},mac={MAC}" + (",vhost=on" if name == VHOST else "")
        return [SKYVM, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cpus", "1",
                "--memory", str(MEMORY_MIB), "--cpu", cpu, "--cmdline", cmdline,
                "--disk", f"{image},id=vda", "--net", net,
                "--timeout", str(timeout)]
    return [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", cpu, "-smp", "1",
            "-m", str(MEMORY_MIB), "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", "stdio", "-kernel", KERNEL, "-initrd", INITRD, "-append", cmdline,
            "-drive", f"id=vda,file={image},format=raw,if=none",
            "-device", "virtio-blk-device,drive=vda",
            "-netdev", f"tap,id=net0,ifname={TAP},script=no,downscript=no",
            "-device", f"virtio-net-device,netdev=net0,mac={MAC}"]


def host_check(env):
    host = {"kernel_cmdline": "", "cpu_model_options": ""}
    try:
        p = env.run_wall([SKYVM, "host-check", "--json"], timeout=180)
        if p.returncode == 0:
            host.update(json.loads(p.stdout))
        else:
            log(f"host-check exited {p.returncode}: {p.stderr.strip()[-300:]}")
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        log(f"host-check: {e}")
    return host


def probe(env):
    """QEMU's version and whether the vhost devices a QEMU peer could add are here."""
    sh = (f"{QEMU} --version | head -1; for d in /dev/vhost-vsock /dev/vhost-net; do "
          "[ -c $d ] && echo \"$d yes\" || echo \"$d no\"; done")
    try:
        p = env.run_wall(["/bin/sh", "-c", sh], timeout=60)
        lines = p.stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"error": str(e)}
    out = {"qemu": lines[0] if lines else "?"}
    for line in lines[1:]:
        dev, yes = line.rsplit(" ", 1)
        out[os.path.basename(dev)] = yes == "yes"
    return out


def one_boot(env, cfg, i, timeout):
    path = os.path.join(OUT, f"run-{cfg['name']}-{i}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    argv = ["unshare", "-n", "/usr/bin/python3", RUNNER, path]
    try:
        p = env.run_wall(argv, timeout=timeout + 100)  # nested: at most SKYVM_NESTED_MAX_RUN
    except subprocess.TimeoutExpired as e:
        rec = {"vmm": cfg["name"], "error": f"no answer within {e.timeout:.0f} s"}
        if hasattr(e, "report"):
            rec["report"] = e.report(tail=1500)
        return rec
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"vmm": cfg["name"], "error": f"io_run.py exited {p.returncode}: "
                                             f"{(p.stderr or p.stdout).strip()[-800:]}"}
    return json.loads(lines[-1])


# ---------------------------------------------------------------- the numbers

def med(values):
    v = [x for x in values if x is not None]
    return round(statistics.median(v), 3) if v else None


def complete(b):
    return (b.get("exit") == 0 and not b.get("killed") and "error" not in b
            and b.get("exec_to_init_s") is not None
            and all("error" not in r for r in b.get("blk", {}).values())
            and len(b.get("blk", {})) == len(JOBS)
            and all("error" not in r for r in b.get("net", {}).values())
            and len(b.get("net", {})) == 2 and "median_ms" in b.get("ping", {}))


def failure(b):
    """One line: how a boot ended and what it did not measure."""
    lost = [j for j in JOBS if "error" in b.get("blk", {}).get(j, {"error": 1})]
    lost += [w for w in ("host_to_guest", "guest_to_host")
             if "error" in b.get("net", {}).get(w, {"error": 1})]
    if "median_ms" not in b.get("ping", {}):
        lost.append("ping")
    why = b.get("error", "")
    tail = b.get("console_tail", "")
    for key in ("triple fault", "KVM internal error", "timeout", "Kernel panic"):
        if key in tail:
            why += f"; console: {next(x for x in tail.splitlines() if key in x).strip()}"
            break
    return {"exit": b.get("exit"), "killed": bool(b.get("killed")),
            "not_measured": lost, "why": why.strip("; ")}


def per_gb(cpu, nbytes, key):
    if not cpu or not nbytes or cpu.get(key) is None:
        return None
    return cpu[key] / (nbytes / 1e9)


def summarize(boots):
    """Medians over one VMM's boots.  A boot that stopped part way (a guest that died, a
    stalled transfer) still gives what it measured before that; `failures` says what
    each such boot lost."""
    ok = boots
    s = {"boots": len(boots),
         "boots_complete": sum(1 for b in boots if complete(b)),
         "exec_to_init_s": med(b.get("exec_to_init_s") for b in ok)}
    fails = [failure(b) for b in boots if not complete(b)]
    if fails:
        s["failures"] = fails
    for job in JOBS:
        rs = [b.get("blk", {}).get(job) for b in ok]
        rs = [r for r in rs if r and "error" not in r]
        d = "write" if job == "seqwrite" else "read"
        s[job] = {"runs": len(rs),
                  "mb_s": med(r[d]["kib_s"] * 1024 / 1e6 for r in rs),
                  "iops": med(r[d]["iops"] for r in rs),
                  "lat_mean_us": med(r[d]["lat_mean_us"] for r in rs),
                  "mb": med(r[d]["bytes"] / 1e6 for r in rs),
                  "cpu_s_per_gb": med(per_gb(r["cpu_s"], r[d]["bytes"], "total") for r in rs),
                  "cpu_s_per_gb_less_guest":
                      med(per_gb(r["cpu_s"], r[d]["bytes"], "vmm") for r in rs)}
    for way in ("host_to_guest", "guest_to_host"):
        rs = [b.get("net", {}).get(way) for b in ok]
        rs = [r for r in rs if r and "error" not in r]
        s[way] = {"runs": len(rs), "mbit_s": med(r["mbit_s"] for r in rs),
                  "mb": med(r["bytes"] / 1e6 for r in rs),
                  "cpu_s_per_gb": med(per_gb(r["cpu_s"], r["bytes"], "total") for r in rs),
                  "cpu_s_per_gb_less_guest":
                      med(per_gb(r["cpu_s"], r["bytes"], "vmm") for r in rs)}
    ps = [b.get("ping") for b in ok]
    ps = [p for p in ps if p and "median_ms" in p]
    s["ping"] = {"runs": len(ps), "median_ms": med(p["median_ms"] for p in ps),
                 "p99_ms": med(p["p99_ms"] for p in ps),
                 "lost": sum(p["sent"] - p["received"] for p in ps)}
    return s


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


# (label, path into the summary, unit, better when)
METRICS = [("exec to /init, disk+NIC", ("exec_to_init_s",), "s", "lower"),
           ("seq write 1 MiB", ("seqwrite", "mb_s"), "MB/s", "higher"),
           ("  VMM CPU per GB", ("seqwrite", "cpu_s_per_gb"), "s/GB", "lower"),
           ("seq read 1 MiB", ("seqread", "mb_s"), "MB/s", "higher"),
           ("  VMM CPU per GB", ("seqread", "cpu_s_per_gb"), "s/GB", "lower"),
           ("rand read 4 KiB", ("randread", "iops"), "IOPS", "higher"),
           ("  VMM CPU per GB", ("randread", "cpu_s_per_gb"), "s/GB", "lower"),
           ("TCP host->guest", ("host_to_guest", "mbit_s"), "Mbit/s", "higher"),
           ("  VMM CPU per GB", ("host_to_guest", "cpu_s_per_gb"), "s/GB", "lower"),
           ("TCP guest->host", ("guest_to_host", "mbit_s"), "Mbit/s", "higher"),
           ("  VMM CPU per GB", ("guest_to_host", "cpu_s_per_gb"), "s/GB", "lower"),
           ("ping RTT median", ("ping", "median_ms"), "ms", "lower"),
           ("ping RTT p99", ("ping", "p99_ms"), "ms", "lower")]


def get(s, path):
    for k in path:
        s = s.get(k) if isinstance(s, dict) else None
    return s


def ratios(res):
    out = {}
    for label, path, unit, better in METRICS:
        a, b = get(res["skyvm"], path), get(res["qemu"], path)
        out[".".join(path)] = {"skyvm_over_qemu": ratio(a, b), "better": better}
        if VHOST in res:
            out[".".join(path)]["skyvm_vhost_over_qemu"] = ratio(get(res[VHOST], path), b)
    return out


def table(res):
    vh = VHOST in res
    rows = [("benchmark", "skyvm", "QEMU microvm", "skyvm/QEMU", "better")
            + (("skyvm vhost=on", "vhost/QEMU") if vh else ())]
    for label, path, unit, better in METRICS:
        a, b = get(res["skyvm"], path), get(res["qemu"], path)
        f = lambda v: "-" if v is None else f"{v:#.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"  # noqa: E731,E501
        r = ratio(a, b)
        row = (label, f(a), f(b), "-" if r is None else f"{r:.2f}", better)
        if vh:
            v = get(res[VHOST], path)
            rv = ratio(v, b)
            row += (f(v), "-" if rv is None else f"{rv:.2f}")
        rows.append(row)
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        # The table again from a run's io.json (its boots), e.g. after a change here.
        with open(sys.argv[2]) as f:
            res = json.load(f)
        report(res, sys.argv[2])
        return 0
    os.makedirs(OUT, exist_ok=True)
    nested, why = kvm_choice()
    # Nested, one boot took 20-30 s with 16 MiB jobs and 2 s runs (2026-12-07): these
    # defaults make a whole run 4-6 minutes there.
    runs = int(os.environ.get("BENCH_IO_RUNS", "3"))
    mib = int(os.environ.get("BENCH_IO_MIB", "64" if nested else "256"))
    seconds = int(os.environ.get("BENCH_IO_SECONDS", "5"))
    pings = int(os.environ.get("BENCH_IO_PINGS", "1000"))
    interval = float(os.environ.get("BENCH_IO_PING_INTERVAL", "0.005"))
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "skyvm": os.path.relpath(SKYVM, ROOT),
           "what": "skyvm vs QEMU -M microvm, same test kernel, initramfs and image, 1 vCPU, "
                   f"{MEMORY_MIB} MiB: exec to 'Run /init' with a disk and a NIC; fio in the "
                   "guest (O_DIRECT, psync, /dev/vda): sequential write and read, 1 MiB "
                   "requests, random 4 KiB reads; iperf3 (server in the guest) and ping "
                   "from the tap's side; VMM CPU = utime + stime of the VMM process "
                   "(/proc/PID/stat) over each transfer, per GB it moved "
                   "(cpu_s_per_gb_less_guest: less guest_time)",
           "config": {"runs": runs, "mib": mib, "seconds": seconds, "pings": pings,
                      "ping_interval_s": interval}}
    path = os.path.join(ROOT, "build", "bench", "io.json")
    missing = [p for p in (SKYVM, KERNEL, QEMU, FIO, IPERF3, BUSYBOX, SHIM)
               if not os.path.exists(p)]
    if missing:
        res["skipped"] = f"missing {', '.join(missing)}"
    elif nested and os.environ.get("BENCH_NESTED", "1") == "0":
        res["skipped"] = f"{why}; BENCH_NESTED=0"
    if "skipped" in res:
        log(res["skipped"] + ": skipped")
        with open(path, "w") as f:
            json.dump(res, f, indent=2)
        return 0
    files = build_initramfs(INITRD, guest_init(mib, seconds))
    res["initramfs"] = {"bytes": os.path.getsize(INITRD), "files": len(files)}
    log(f"initramfs {os.path.getsize(INITRD) >> 20} MiB ({len(files)} files: fio, iperf3, "
        "their libraries)")
    env = None
    try:
        if nested:
            log(f"{why}: everything runs in the nested-KVM guest")
            vmm_files = [SKYVM, QEMU, KERNEL, INITRD, "/usr/sbin/chroot"]
            vmm_files += [d for d in QEMU_FIRMWARE if os.path.isdir(d)]
            env = Nested(vmm_files, root=NESTED_ROOT, label=NESTED_LABEL, say=log)
        else:
            env = Host()
    except Exception as e:  # noqa: BLE001 - a guest that does not start: a skip, with why
        res["skipped"] = f"{why}; nested guest: {e}"
        log(res["skipped"])
        with open(path, "w") as f:
            json.dump(res, f, indent=2)
        return 1
    res["environment"] = {"where": "nested" if nested else "host", "label": env.label}
    if why:
        res["environment"]["why"] = why
    t0 = time.monotonic()
    boots = {"skyvm": [], "qemu": []}
    try:
        res["peers"] = probe(env)
        if res["peers"].get("vhost-net") and os.environ.get("BENCH_IO_VHOST", "1") != "0":
            boots[VHOST] = []
        h = host_check(env)
        cmdline = f"console=ttyS0 panic=-1 {h['kernel_cmdline']}".strip()
        cpu = ",".join(x for x in ["host", h["cpu_model_options"].strip(",")] if x)
        res["cmdline"], res["cpu"] = cmdline, cpu
        image = "/tmp/skyvm-io.img" if nested else os.path.join(OUT, "disk.img")
        timeout = 480 if nested else 300  # one boot, all of it
        for i in range(runs):
            order = ("skyvm", "qemu") if i % 2 == 0 else ("qemu", "skyvm")
            if VHOST in boots:
                order += (VHOST,)
            for name in order:
                log(f"round {i + 1} of {runs}: {name}")
                cfg = {"name": name, "root": NESTED_ROOT if nested else "",
                       "argv": vmm_argv(name, cpu, cmdline, image, timeout),
                       "image": image, "image_mib": mib + 1, "tap": TAP,
                       "host_ip": HOST_IP, "guest_ip": GUEST_IP, "jobs": list(JOBS),
                       "timeout": timeout, "pings": pings, "ping_interval": interval,
                       "net_seconds": seconds, "iperf3": IPERF3, "busybox": BUSYBOX}
                rec = one_boot(env, cfg, i, timeout)
                boots[name].append(rec)
                if "error" in rec or "console_tail" in rec:
                    log(f"{name}: {rec.get('error', 'incomplete')}\n{rec.get('console_tail', '')}"
                        f"{rec.get('report', '')}")
    finally:
        env.close()
    res["seconds"] = round(time.monotonic() - t0, 1)
    res["qemu_command"] = shlex.join(vmm_argv("qemu", res.get("cpu", "host"), res.get(
        "cmdline", ""), "IMAGE", 0))
    res["boots"] = boots
    peers = res.get("peers", {})
    res["vsock"] = ("not measured: no guest tool in the test initramfs speaks AF_VSOCK "
                    "(iperf3 3.12 has no vsock); QEMU's vhost-vsock-device would need "
                    "/dev/vhost-vsock, which is " + ("present" if peers.get("vhost-vsock")
                                                     else "absent") + " here")
    res["vhost_net"] = ("QEMU ran virtio-net in user space (vhost=off, as skyvm does); "
                        "/dev/vhost-net is " + ("present" if peers.get("vhost-net")
                                                else "absent") + " here"
                        + ("; skyvm also ran with vhost=on (skyvm-vhost)" if VHOST in boots
                           else ""))
    report(res, path)
    return 0 if all(complete(b) for v in boots.values() for b in v) else 1


def report(res, path):
    """Summaries and ratios from res["boots"] into res and path; the table on stdout."""
    res["skyvm"] = summarize(res["boots"]["skyvm"])
    res["qemu"] = summarize(res["boots"]["qemu"])
    if VHOST in res["boots"]:
        res[VHOST] = summarize(res["boots"][VHOST])
    res["ratios"] = ratios(res)
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
    env = res["environment"]
    print(f"environment: {env['label']}" + (f" ({env['why']})" if env.get("why") else ""))
    print(table(res))
    c = res["config"]
    print(f"runs: {c['runs']} boots per VMM (medians); {c['mib']} MiB per sequential job, "
          f"{c['seconds']} s random reads and per iperf3 direction, {c['pings']} pings")
    for name in ("skyvm", "qemu", VHOST):
        for f in res.get(name, {}).get("failures", []):
            print(f"{name}: a boot ended with exit {f['exit']}"
                  + (" (killed)" if f["killed"] else "")
                  + f", not measured: {', '.join(f['not_measured']) or 'nothing'}"
                  + (f" ({f['why']})" if f["why"] else ""))
    print(f"vsock: {res['vsock']}")
    if res.get("vhost_net"):
        print(f"vhost-net: {res['vhost_net']}")
    print(f"bench-io: results in {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
