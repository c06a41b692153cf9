#!/usr/bin/python3
"""skyvm's benchmarks, each a ratio against a peer run in this same script.

  start      exec to exit of the embedded default guest vs a bare /dev/kvm program
  start-lnx  the same with the objects a Linux guest needs (irqchip, PIT2, 128 MiB)
  qemu       QEMU microvm booting the same guest as a PVH ELF (Debian's qemu-system-x86)
  rss        skyvm's peak RSS beyond the guest memory it touched, vs the bare program
  exits      one port-I/O exit to userspace and back: skyvm vs the raw ioctl loop
  starts/s   VM starts per second with 2 parallel launchers

Results are printed and written to build/bench.json. On a machine without a usable
/dev/kvm every KVM measurement is skipped with the reason (recorded in the JSON).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKYVM = os.path.join(ROOT, "build", "skyvm")
BARE = os.path.join(ROOT, "build", "bench", "bare_kvm")
GUEST_ELF = os.path.join(ROOT, "build", "guest", "default.elf")
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
EXITS = 20000


def timed(cmd):
    """Wall seconds and peak RSS (KiB) of one run; raises if it failed."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out = p.stdout.read().decode(errors="replace")
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    return wall, ru.ru_maxrss, os.waitstatus_to_exitcode(status), out, err


def median_run(cmd, ok_codes=(0,)):
    walls, rss = [], []
    for _ in range(RUNS):
        wall, maxrss, code, out, err = timed(cmd)
        if code not in ok_codes:
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.strip()[:300]}")
        walls.append(wall)
        rss.append(maxrss)
    return {"median_ms": round(statistics.median(walls) * 1000, 3),
            "min_ms": round(min(walls) * 1000, 3),
            "peak_rss_kib": max(rss), "runs": RUNS}


def kvm_reason():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
        return None
    except OSError as e:
        return f"/dev/kvm unusable on this machine ({e.strerror})"


def starts_per_second(n=100, parallel=2):
    t0 = time.perf_counter()
    running, started, failures = [], 0, 0
    while started < n or running:
        while started < n and len(running) < parallel:
            running.append(subprocess.Popen([SKYVM, "run", "--console", "none"],
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            started += 1
        p = running.pop(0)
        failures += p.wait() != 0
    return round(n / (time.perf_counter() - t0), 1), failures


def main():
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "runs_per_measurement": RUNS}
    reason = kvm_reason()
    if reason:
        results["kvm"] = False
        results["skipped"] = reason
        print(f"bench: {reason}: every KVM measurement skipped")
    else:
        results["kvm"] = True
        bare = median_run([BARE])
        bare_lnx = median_run([BARE, "--linux-objects"])
        sky = median_run([SKYVM, "run", "--console", "none"])
        sky_lnx = median_run([SKYVM, "run", "--console", "none", "--irqchip", "kernel",
                              "--memory", "128"])
        results["start"] = {"bare": bare, "skyvm": sky,
                            "ratio": round(sky["median_ms"] / bare["median_ms"], 2),
                            "target": "<= 1.5"}
        results["start_linux_objects"] = {
            "bare": bare_lnx, "skyvm": sky_lnx,
            "ratio": round(sky_lnx["median_ms"] / bare_lnx["median_ms"], 2),
            "target": "<= 1.1"}
        results["rss"] = {"skyvm_peak_kib": sky["peak_rss_kib"],
                          "bare_peak_kib": bare["peak_rss_kib"],
                          "beyond_bare_kib": sky["peak_rss_kib"] - bare["peak_rss_kib"],
                          "target": "skyvm beyond guest memory <= 1536 KiB"}
        qemu = shutil.which("qemu-system-x86_64")
        if qemu and os.path.exists(GUEST_ELF):
            try:
                q = median_run([qemu, "-M", "microvm", "-enable-kvm", "-cpu", "host",
                                "-m", "32", "-nographic", "-no-reboot", "-nodefaults",
                                "-serial", "null", "-kernel", GUEST_ELF, "-device",
                                "isa-debug-exit,iobase=0x501,iosize=1"], ok_codes=(1,))
                results["qemu_microvm"] = q
                results["qemu_microvm"]["skyvm_ratio"] = round(
                    sky["median_ms"] / q["median_ms"], 2)
            except RuntimeError as e:
                results["qemu_microvm"] = {"error": str(e)}
        # One exit's cost = (time with N exits - time with none) / N, for both.
        n = min(EXITS, 65535)
        bare_n = median_run([BARE, "--exits", str(n)])
        sky_0 = median_run([SKYVM, "run", "--console", "none", "--cmdline",
                            "test=exits count=0"])
        sky_n = median_run([SKYVM, "run", "--console", "none", "--cmdline",
                            f"test=exits count={n}"])
        bare_exit_us = (bare_n["median_ms"] - bare["median_ms"]) * 1000 / n
        sky_exit_us = (sky_n["median_ms"] - sky_0["median_ms"]) * 1000 / n
        results["exit_roundtrip"] = {
            "exits": n, "bare_us": round(bare_exit_us, 3), "skyvm_us": round(sky_exit_us, 3),
            "ratio": round(sky_exit_us / bare_exit_us, 2) if bare_exit_us > 0 else None,
            "target": "<= 1.1"}
        sps, failures = starts_per_second()
        results["starts_per_second"] = {"value": sps, "failures": failures,
                                        "target": ">= 50 on 2 cores"}
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    extra = os.environ.get("BENCH_EXTRA_JSON")
    if extra and os.path.exists(extra):
        with open(extra) as f:
            results["linux"] = json.load(f)
    with open(os.path.join(ROOT, "build", "bench.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    print("bench: results written to build/bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
