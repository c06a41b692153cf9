#!/bin/bash
# Linux boot, side by side: time from exec to the kernel's "Run /init as init
# process" for skyvm and for qemu-system-x86_64 -enable-kvm, on the same test
# kernel (build/linux/bzImage), initramfs and command line.
#
#   bench/linux.sh [RUNS]          (default 3 runs per VMM; SKYVM=build/skyvm)
#
# Prints one JSON object on stdout (for bench/run.sh to merge), progress on
# stderr.  Where /dev/kvm is unusable both sides are skipped, with the reason.
# A VMM that stops before /init (QEMU does, with "KVM internal error", on a
# host whose KVM interprets guest kernel code) is recorded with its exit code
# and error lines, not treated as a failure of the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SKYVM=${SKYVM:-build/skyvm}
LINUX=build/linux
TIMEOUT=${LINUX_BENCH_TIMEOUT:-300}

make --no-print-directory linux >&2

kvm_reason=$(/usr/bin/python3 -c '
import os
try:
    os.close(os.open("/dev/kvm", os.O_RDWR))
except OSError as e:
    print(f"/dev/kvm unusable on this machine ({e.strerror})")')

exec /usr/bin/python3 - "$RUNS" "$SKYVM" "$LINUX" "$TIMEOUT" "$kvm_reason" <<'PY'
import json, os, re, select, shlex, signal, statistics, subprocess, sys, time

runs, skyvm, linux, timeout, kvm_reason = sys.argv[1:6]
runs, timeout = int(runs), float(timeout)
kernel, initrd = f"{linux}/bzImage", f"{linux}/initramfs.cpio.gz"
MARK = re.compile(rb"Run /init as init process")
# QEMU does not exit on an emulation failure: it prints this and a register
# dump, pauses the VM and waits for its monitor.
STOPPED = re.compile(rb"KVM internal error[^\n]*")
ERROR = re.compile(rb"error|fail|panic", re.I)

def log(msg):
    print(f"bench/linux: {msg}", file=sys.stderr, flush=True)

def time_to_init(cmd):
    """Seconds from exec to the /init line, or None, plus how it ended."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    buf, reached, eof, stopped = b"", None, False, None
    deadline = start + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    eof = True
                    break
                buf += chunk
                if MARK.search(buf):
                    reached = time.monotonic() - start
                    break
                m = STOPPED.search(buf)
                if m and stopped is None:
                    stopped = m.group(0).decode(errors="replace").strip()
                    stopped_at = round(time.monotonic() - start, 3)
                    deadline = min(deadline, time.monotonic() + 2)  # the dump follows
            elif p.poll() is not None:
                break
        if eof:  # output closed: the VMM is exiting; let it finish
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    finally:
        ended = p.poll()
        if ended is None:
            os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
    elapsed = round(time.monotonic() - start, 3)
    if reached is not None:
        return reached, {"outcome": "reached /init"}
    lines = [l.decode(errors="replace").strip() for l in buf.splitlines()]
    errors = [l for l in lines if ERROR.search(l.encode())][:8]
    if stopped is not None:
        return None, {"outcome": f"VM stopped: {stopped}", "seconds_to_error": stopped_at,
                      "errors": errors, "last_lines": lines[-20:]}
    if ended is None:
        return None, {"outcome": f"no /init within {timeout:.0f} s", "errors": errors,
                      "last_lines": lines[-8:]}
    return None, {"outcome": f"exited {rc} before /init", "exit_code": rc,
                  "seconds_to_exit": elapsed, "errors": errors, "last_lines": lines[-8:]}

def bench(name, cmd):
    times, ends = [], []
    log(f"{name}: {shlex.join(cmd)}")
    for i in range(runs):
        t, how = time_to_init(cmd)
        log(f"{name} run {i + 1}: " + (f"{t:.3f} s" if t is not None else how["outcome"]))
        ends.append(how)
        if t is None:
            break  # it stops the same way each time: record once
        times.append(t)
    out = {"command": shlex.join(cmd), "outcome": ends[-1]["outcome"]}
    if times:
        out.update(exec_to_run_init_s=[round(t, 4) for t in times],
                   median_s=round(statistics.median(times), 4))
    else:
        out.update({k: v for k, v in ends[-1].items() if k != "outcome"})
    return out

result = {"kernel": kernel, "initrd": initrd, "runs": runs}
if kvm_reason:
    log(f"{kvm_reason}: skipped")
    result["skipped"] = kvm_reason
    print(json.dumps({"linux_boot": result}, indent=2))
    sys.exit(0)

# What this host needs (noxsave, clearcpuid=..., -cx16 ...), from skyvm itself.
host = {"kernel_cmdline": "", "cpu_model_options": ""}
try:
    p = subprocess.run([skyvm, "host-check", "--json"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 0:
        host.update(json.loads(p.stdout))
    else:
        result["host_check_error"] = p.stderr.strip()
except (OSError, ValueError, subprocess.TimeoutExpired) as e:
    result["host_check_error"] = str(e)
cmdline = f"console=ttyS0 panic=-1 {host['kernel_cmdline']}".strip()
cpu_opts = host["cpu_model_options"].strip(",")
result["cmdline"] = cmdline

skyvm_cpu = ",".join(x for x in ["host", cpu_opts] if x)
qemu_cpu = ",".join(x for x in ["host", cpu_opts] if x)
result["skyvm"] = bench("skyvm", [skyvm, "run", "--kernel", kernel, "--initrd", initrd,
                                  "--cpus", "2", "--memory", "256", "--cpu", skyvm_cpu,
                                  "--cmdline", cmdline, "--timeout", str(int(timeout))])
result["qemu"] = bench("qemu", ["qemu-system-x86_64", "-enable-kvm", "-M", "pc",
                                "-cpu", qemu_cpu, "-smp", "2", "-m", "256", "-nographic",
                                "-no-reboot", "-kernel", kernel, "-initrd", initrd,
                                "-append", cmdline])
print(json.dumps({"linux_boot": result}, indent=2))
PY
