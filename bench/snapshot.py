#!/usr/bin/python3
"""Snapshot, restore and live-migration benchmarks, skyvm against QEMU in the same run on
this machine's /dev/kvm, with the same guest (the embedded counter guest, a PVH ELF, 32
MiB, 1 vCPU; QEMU boots it as microvm): snapshot time and size, restore time (exec to the
guest printing again), live migration total time, downtime and rounds for an idle guest
and for one dirtying 8 MiB (counter dirty_mib=8).  Prints a table and writes
build/bench/snapshot.json.  BENCH_SNAP_RUNS (default 5) runs of each, interleaved.
QEMU gets `-cpu host,-arch-capabilities` where plain `host` fails to start (a restricted
KVM refuses that MSR); skyvm's model pipeline leaves out what KVM refuses by itself."""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKYVM = os.path.abspath(os.environ.get("SKYVM", os.path.join(ROOT, "build", "skyvm")))
ELF = os.path.join(ROOT, "build", "guest", "counter.elf")
QEMU = "/usr/bin/qemu-system-x86_64"
RUNS = int(os.environ.get("BENCH_SNAP_RUNS", "5"))
MEM = 32


def log(msg):
    print(f"bench-snapshot: {msg}", file=sys.stderr, flush=True)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=300)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(300)
        self.sock.connect(self.path)


def api(sock, method, path, body=None):
    c = UnixHTTP(sock)
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse()
    data = json.loads(r.read() or b"{}")
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data}")
    return data


class QMP:
    def __init__(self, path):
        for _ in range(300):
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.02)
        else:
            raise RuntimeError(f"QMP {path}: no answer")
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            m = json.loads(self.f.readline())
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError(f"QMP {name}: {m['error']}")

    def close(self):
        self.s.close()


def wait_file(path, what, timeout=60, after=0):
    """Until `what` appears in path past offset `after`; the time it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with open(path, "rb") as f:
                f.seek(after)
                if what.encode() in f.read():
                    return time.monotonic() - t0
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"{path}: no '{what}' within {timeout} s")


def wait_sock(path, timeout=60):
    t0 = time.monotonic()
    while not os.path.exists(path):
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{path} never appeared")
        time.sleep(0.005)


def qemu_cpu():
    for cpu in ("host", "host,-arch-capabilities"):
        p = subprocess.run(qemu_argv(cpu, "/dev/null", None, "stop=1"), capture_output=True,
                           timeout=60)
        if b"COUNTER" in p.stdout or p.returncode in (0, 1):
            return cpu
    raise RuntimeError("QEMU does not start the counter guest here")


def qemu_argv(cpu, serial, qmp, cmdline, incoming=None):
    argv = [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", cpu, "-m", str(MEM), "-nographic",
            "-no-reboot", "-nodefaults", "-kernel", ELF, "-append", cmdline,
            "-device", "isa-debug-exit,iobase=0x501,iosize=1"]
    argv += ["-serial", "stdio" if serial == "/dev/null" else f"file:{serial}"]
    if qmp:
        argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    if incoming:
        argv += ["-incoming", incoming]
    return argv


def du(path):
    total = apparent = 0
    for d, _, files in os.walk(path) if os.path.isdir(path) else [("", [], [path])]:
        for f in files:
            st = os.stat(os.path.join(d, f))
            total += st.st_blocks * 512
            apparent += st.st_size
    return total, apparent


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def sky_round(tmp, cmdline):
    """One skyvm round: snapshot, restore, then migration from the restored VM."""
    out = {}
    a, snap = os.path.join(tmp, "a.sock"), os.path.join(tmp, "snap")
    src = subprocess.Popen([SKYVM, "run", "--guest", "counter", "--memory", str(MEM),
                            "--cmdline", cmdline, "--console", f"file:{tmp}/s1.txt",
                            "--api", a, "--timeout", "300"], stderr=subprocess.DEVNULL)
    try:
        wait_sock(a)
        wait_file(f"{tmp}/s1.txt", "COUNT")
        time.sleep(1)
        t0 = time.monotonic()
        api(a, "PUT", "/vm/snapshot", {"path": snap})
        out["snapshot_ms"] = (time.monotonic() - t0) * 1e3
        out["snapshot_disk_bytes"], out["snapshot_bytes"] = du(snap)
    finally:
        stop(src)
    b = os.path.join(tmp, "b.sock")
    t0 = time.monotonic()
    res = subprocess.Popen([SKYVM, "restore", snap, "--console", f"file:{tmp}/s2.txt",
                            "--api", b, "--timeout", "300"], stderr=subprocess.DEVNULL)
    dst = None
    try:
        wait_file(f"{tmp}/s2.txt", "COUNT")
        out["restore_ms"] = (time.monotonic() - t0) * 1e3
        m = os.path.join(tmp, "m.sock")
        dst = subprocess.Popen([SKYVM, "run", "--incoming", f"unix:{m}", "--console",
                                f"file:{tmp}/s3.txt", "--timeout", "300"],
                               stderr=subprocess.DEVNULL)
        wait_sock(m)
        time.sleep(0.5)
        ans = api(b, "PUT", "/vm/migrate", {"to": f"unix:{m}"})
        out.update(migrate_total_ms=ans["total_ms"], migrate_downtime_ms=ans["downtime_ms"],
                   migrate_rounds=ans["rounds"])
        wait_file(f"{tmp}/s3.txt", "COUNT")
    finally:
        stop(res)
        if dst:
            stop(dst)
    return out


def qemu_poll(q):
    while True:
        s = q.cmd("query-migrate")
        if s.get("status") in ("completed", "failed", "cancelled"):
            if s["status"] != "completed":
                raise RuntimeError(f"QEMU migration {s['status']}: {s}")
            return s
        time.sleep(0.002)


def qemu_round(tmp, cpu, cmdline):
    out = {}
    q1, snap = os.path.join(tmp, "q1.qmp"), os.path.join(tmp, "qsnap")
    src = subprocess.Popen(qemu_argv(cpu, f"{tmp}/q1.txt", q1, cmdline),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = QMP(q1)
        wait_file(f"{tmp}/q1.txt", "COUNT")
        time.sleep(1)
        t0 = time.monotonic()
        q.cmd("migrate", uri=f"exec:cat > {snap}")
        qemu_poll(q)
        out["snapshot_ms"] = (time.monotonic() - t0) * 1e3
        out["snapshot_disk_bytes"], out["snapshot_bytes"] = du(snap)
        q.close()
    finally:
        stop(src)
    q2 = os.path.join(tmp, "q2.qmp")
    t0 = time.monotonic()
    res = subprocess.Popen(qemu_argv(cpu, f"{tmp}/q2.txt", q2, cmdline,
                                     incoming=f"exec:cat {snap}"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dst = None
    try:
        wait_file(f"{tmp}/q2.txt", "COUNT")
        out["restore_ms"] = (time.monotonic() - t0) * 1e3
        m, q3 = os.path.join(tmp, "qm.sock"), os.path.join(tmp, "q3.qmp")
        dst = subprocess.Popen(qemu_argv(cpu, f"{tmp}/q3.txt", q3, cmdline,
                                         incoming=f"unix:{m}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_sock(m)
        q = QMP(q2)
        t0 = time.monotonic()
        q.cmd("migrate", uri=f"unix:{m}")
        s = qemu_poll(q)
        out.update(migrate_total_ms=s.get("total-time", (time.monotonic() - t0) * 1e3),
                   migrate_downtime_ms=s.get("downtime"),
                   migrate_rounds=s.get("ram", {}).get("dirty-sync-count"))
        q.close()
        wait_file(f"{tmp}/q3.txt", "COUNT")
    finally:
        stop(res)
        if dst:
            stop(dst)
    return out


def med(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(v), 2) if v else None


def main():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        log("no usable /dev/kvm here: skipped (the nested guest's times would be TCG's)")
        return 0
    cpu = qemu_cpu()
    log(f"QEMU runs the counter guest with -cpu {cpu}; {RUNS} interleaved rounds")
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": RUNS,
           "guest": f"counter, {MEM} MiB, 1 vCPU", "qemu_cpu": cpu}
    for case, cmdline in (("idle", "period_ms=50"), ("dirty_8mib", "period_ms=50 dirty_mib=8")):
        rows = {"skyvm": [], "qemu": []}
        for i in range(RUNS):
            for who, fn in (("skyvm", sky_round), ("qemu", None)):
                tmp = tempfile.mkdtemp(prefix="skyvm-bench-")
                try:
                    rows[who].append(sky_round(tmp, cmdline) if who == "skyvm"
                                     else qemu_round(tmp, cpu, cmdline))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    log(f"{case} {who} round {i}: {e}")
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
        res[case] = {who: {k: med(r, k) for k in ("snapshot_ms", "snapshot_bytes",
                                                   "snapshot_disk_bytes", "restore_ms",
                                                   "migrate_total_ms", "migrate_downtime_ms",
                                                   "migrate_rounds")} | {"ok_runs": len(r)}
                     for who, r in rows.items()}
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "snapshot.json"), "w") as f:
        json.dump(res, f, indent=2)
    print(f"{'case':12} {'metric':22} {'skyvm':>12} {'qemu':>12}")
    for case in ("idle", "dirty_8mib"):
        for k in ("snapshot_ms", "snapshot_bytes", "snapshot_disk_bytes", "restore_ms",
                  "migrate_total_ms", "migrate_downtime_ms", "migrate_rounds"):
            s, q = res[case]["skyvm"][k], res[case]["qemu"][k]
            print(f"{case:12} {k:22} {s if s is not None else '-':>12} "
                  f"{q if q is not None else '-':>12}")
    print("bench-snapshot: results in build/bench/snapshot.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
