#!/usr/bin/python3
"""One boot of bench/io.py: run a VMM (skyvm or QEMU microvm) with a disk and a tap, and
measure from outside what its guest does (docs/bench.md, "virtio-blk and virtio-net").

    unshare -n python3 bench/io_run.py CONFIG.json      (as root; prints one JSON object)

Run in a fresh network namespace (unshare -n): it brings up lo, makes the tap CONFIG names
with the host address, and never touches any other interface.  It then starts the VMM
(chrooted into CONFIG's root when there is one: the nested guest's root in RAM) with a
fresh sparse image, and reads the VMM's console line by line:

  "Run /init as init process"   exec-to-/init time
  "SKYVM-IO: begin NAME"        the VMM's CPU time (utime, stime, guest_time from
  "SKYVM-IO: fio NAME FIELDS"   /proc/PID/stat) around each fio job in the guest,
                                with fio's own terse result fields
  "SKYVM-IO: net ready"         the guest's iperf3 server is up: from here this script
                                pings the guest, runs iperf3 clients to it (host->guest,
                                then -R, guest->host), each with the VMM's CPU time
                                around it, then connects to the guest's port 5999, which
                                tells /init to power off.

The result has every number with its CPU time and bytes, the VMM's exit status and
wait4() rusage, and the console's tail when something did not happen.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
INIT_MARK = "Run /init as init process"


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True)


def cpu(pid):
    """The process's CPU time so far, seconds: user, system, and guest (KVM_RUN time in
    guest mode, which the kernel also counts in user)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is field 3 (state): utime 14, stime 15, guest_time 43
    return {"user": int(fields[11]) / TICK, "sys": int(fields[12]) / TICK,
            "guest": int(fields[40]) / TICK, "vhost": vhost_cpu(pid)}


def vhost_cpu(pid):
    """CPU seconds of the kernel's vhost workers serving this process (skyvm with
    vhost=on): threads named vhost-PID, not counted in the process's own times."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if f.read().strip() != f"vhost-{pid}":
                    continue
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def delta(a, b):
    if a is None or b is None:
        return None
    d = {k: round(b[k] - a[k], 3) for k in a}
    d["total"] = round(d["user"] + d["sys"] + d.get("vhost", 0), 3)  # vhost: its workers
    d["vmm"] = round(d["total"] - d["guest"], 3)  # user + system less the guest's own
    return d


class Console:
    """Reads the VMM's stdout in a thread; each line gets a timestamp and, for the lines
    that matter, the VMM's CPU time at that moment."""

    def __init__(self, proc, t0):
        self.proc, self.t0 = proc, t0
        self.lines = []
        self.marks = {}  # key -> (seconds since exec, cpu, line)
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            now = time.monotonic() - self.t0
            key = None
            if INIT_MARK in line:
                key = "init"
            else:
                m = re.search(r"SKYVM-IO: (begin \S+|fio \S+|net ready|failed .*)", line)
                if m:
                    key = " ".join(m.group(1).split()[:2])
            with self.cond:
                self.lines.append(line)
                if key and key not in self.marks:
                    self.marks[key] = (now, cpu(self.proc.pid), line)
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait(self, timeout, *keys):
        """The first of keys to be seen: (key, (seconds, cpu, line)), or (None, None) when
        none is by timeout or the console ends."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for k in keys:
                    if k in self.marks:
                        return k, self.marks[k]
                left = end - time.monotonic()
                if self.done or left <= 0:
                    return None, None
                self.cond.wait(left)

    def tail(self, n=60):
        with self.cond:
            return "\n".join(self.lines[-n:])


def fio_fields(line):
    """fio --terse-version=3 fields 1-9, 38-41, 47-50, 79-82 as /init cut them."""
    v = line.split("SKYVM-IO: fio ", 1)[1].split(None, 1)[1].strip().split(";")
    if len(v) != 21:
        return {"error": f"unexpected fio fields: {line[-300:]}"}
    num = lambda x: float(x.rstrip("%"))  # noqa: E731
    return {"error_code": int(v[4]),
            "read": {"bytes": int(v[5]) * 1024, "kib_s": num(v[6]), "iops": num(v[7]),
                     "runtime_ms": int(v[8]), "lat_mean_us": num(v[11])},
            "write": {"bytes": int(v[13]) * 1024, "kib_s": num(v[14]), "iops": num(v[15]),
                      "runtime_ms": int(v[16]), "lat_mean_us": num(v[19])}}


def ping(cfg):
    try:
        p = subprocess.run([cfg["busybox"], "ping", "-c", str(cfg["pings"]), "-i",
                            str(cfg["ping_interval"]), "-W", "5", cfg["guest_ip"]],
                           capture_output=True, text=True,
                           timeout=cfg["pings"] * (cfg["ping_interval"] + 0.05) + 60)
    except subprocess.TimeoutExpired as e:
        return {"sent": cfg["pings"], "received": 0,
                "error": f"ping did not end within {e.timeout:.0f} s"}
    times = [float(x) for x in re.findall(r"time=([0-9.]+) ms", p.stdout)]
    out = {"sent": cfg["pings"], "received": len(times)}
    if times:
        times.sort()
        out.update(median_ms=round(times[len(times) // 2], 4), min_ms=times[0],
                   p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))],
                   mean_ms=round(sum(times) / len(times), 4))
    else:
        out["error"] = (p.stdout + p.stderr)[-500:]
    return out


def iperf(cfg, pid, reverse):
    argv = [cfg["iperf3"], "-c", cfg["guest_ip"], "-t", str(cfg["net_seconds"]), "-J",
            "--connect-timeout", "10000"] + (["-R"] if reverse else [])
    last = None
    for _ in range(3):  # the server may still be starting
        a = cpu(pid)
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=cfg["net_seconds"] * 5 + 60)
        except subprocess.TimeoutExpired as e:  # a stalled transfer: no second try
            return {"error": f"iperf3 {' '.join(argv[1:])}: no end within {e.timeout:.0f} s"}
        b = cpu(pid)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            j = {"error": (p.stdout + p.stderr)[-500:]}
        if "error" not in j:
            r = j["end"]["sum_received"]
            return {"bytes": r["bytes"], "seconds": round(r["seconds"], 3),
                    "mbit_s": round(r["bits_per_second"] / 1e6, 2),
                    "retransmits": j["end"]["sum_sent"].get("retransmits"),
                    "cpu_s": delta(a, b)}
        last = j["error"]
        time.sleep(1)
    return {"error": last}


def main():
    cfg = json.load(open(sys.argv[1]))
    root = cfg.get("root") or ""
    out = {"vmm": cfg["name"]}
    if not os.path.exists("/dev/net/tun"):
        subprocess.run(["modprobe", "tun"], capture_output=True)
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "tuntap", "add", "dev", cfg["tap"], "mode", "tap")
    sh("ip", "addr", "add", cfg["host_ip"] + "/24", "dev", cfg["tap"])
    sh("ip", "link", "set", cfg["tap"], "up")
    img = root + cfg["image"]
    try:
        os.unlink(img)
    except FileNotFoundError:
        pass
    with open(img, "wb") as f:  # a fresh sparse image for every boot, for both VMMs
        f.truncate(cfg["image_mib"] << 20)

    def enter():
        if root:
            os.chroot(root)
            os.chdir("/")

    t0 = time.monotonic()
    proc = subprocess.Popen(cfg["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=enter)
    con = Console(proc, t0)
    deadline = t0 + cfg["timeout"]
    left = lambda: max(1, deadline - time.monotonic())  # noqa: E731
    try:
        _, m = con.wait(left(), "init")
        out["exec_to_init_s"] = round(m[0], 3) if m else None
        out["blk"] = {}
        for job in cfg["jobs"]:
            _, b = con.wait(left(), f"begin {job}", "failed start")
            k, e = con.wait(left(), f"fio {job}", f"failed {job}", "failed start")
            if not (b and e) or not k.startswith("fio"):
                out["blk"][job] = {"error": e[2] if e else "no result before the timeout"}
                break
            r = fio_fields(e[2])
            r["cpu_s"] = delta(b[1], e[1])
            r["wall_s"] = round(e[0] - b[0], 3)
            out["blk"][job] = r
        if con.wait(left(), "net ready", "failed net")[0] == "net ready":
            out["ping"] = ping(cfg)
            out["net"] = {"host_to_guest": iperf(cfg, proc.pid, False),
                          "guest_to_host": iperf(cfg, proc.pid, True)}
            with socket.create_connection((cfg["guest_ip"], 5999), timeout=30) as s:
                s.sendall(b"done\n")  # /init powers off
        fails = [v[2] for k, v in con.marks.items() if k.startswith("failed")]
        if fails:
            out["guest_failures"] = fails
    except (OSError, subprocess.SubprocessError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    # Wait for the VMM to end by itself (the guest powers off), then for good.
    end = time.monotonic() + min(30, left())
    status = None
    while time.monotonic() < end:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
        status = None
    if status is None:
        out["killed"] = True
        proc.kill()
        _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    con.thread.join(10)
    out["exit"] = proc.returncode
    out["wall_s"] = round(time.monotonic() - t0, 3)
    out["rusage"] = {"user_s": round(ru.ru_utime, 3), "sys_s": round(ru.ru_stime, 3),
                     "maxrss_kib": ru.ru_maxrss}
    complete = (out.get("exec_to_init_s") is not None and "net" in out
                and all("error" not in v for v in out["blk"].values()))
    if not complete or out.get("killed") or "error" in out:
        out["console_tail"] = con.tail()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
