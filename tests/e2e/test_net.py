"""virtio-net over a tap (--net, docs/net.md), end to end with the test kernel.

Each test builds its own network: a script run under `unshare -n` (a fresh network
namespace, so no other interface is ever touched) creates the taps, gives the host side
addresses from 192.0.2.0/24 (TEST-NET-1), serves TCP on them, and runs skyvm there.
Under nested KVM (docs/nested-testing.md) that script, like every skyvm call, runs
inside the nested guest: the namespace, the taps and skyvm all live there.

The guest is the test kernel (SKYVM_TEST_KERNEL_DIR, built from guests/linux/skyvm.config
with its networking block) with a busybox /init written here: it pings the host side,
sends N MiB of random data to the host with nc and receives N MiB from it, and prints
the sha256 of each; the host side prints the sha256 of what it got and sent.

SKYVM_NET_GUEST=cloud boots Debian's cloud kernel instead (/boot/vmlinuz-*-cloud-amd64),
with virtio_mmio, virtio_net and the vsock modules loaded by /init from the initramfs:
the same device checks with a distribution kernel, and no test kernel needed.

Where this host's KVM runs no guest user space (host-check), /init cannot run: the
tests then check what the kernel does alone (ip= configures eth0 and the kernel answers
the host's ping) and say that the user-space half did not run.
"""
import glob
import json
import os
import re
import stat
import subprocess
import sys

import pytest

import conftest
from conftest import SKYVM
from test_devices_linux import _cpio_entry, kernel_has, make_initramfs, userspace
from test_linux import BZIMAGE, host_check, model_spec, need

TIMEOUT = 400  # skyvm --timeout for a boot that moves 2 x 64 MiB under nested TCG
APPLETS = ["sh", "mount", "ip", "ping", "dd", "sha256sum", "nc", "cut", "wc", "rm", "cat",
           "tr", "ls", "reboot", "sleep", "mknod"]

# The host side: runs as `unshare -n python3 HOST.py CONFIG.json` and prints JSON.
HOST_SCRIPT = r'''
import hashlib, json, os, socket, subprocess, sys, threading, time

cfg = json.load(open(sys.argv[1]))
out = {"nics": [], "runs": []}

def sh(*a):
    subprocess.run(a, check=True, capture_output=True, text=True)

if not os.path.exists("/dev/net/tun"):
    subprocess.run(["modprobe", "tun"], capture_output=True)
if cfg.get("vhost") and not os.path.exists("/dev/vhost-net"):
    subprocess.run(["modprobe", "vhost_net"], capture_output=True)
out["vhost_net"] = os.path.exists("/dev/vhost-net")
if cfg.get("vhost") and not out["vhost_net"]:
    cfg["runs"] = []  # nothing to run: the test says why
sh("ip", "link", "set", "lo", "up")
for nic in cfg["nics"]:
    sh("ip", "tuntap", "add", "dev", nic["tap"], "mode", "tap")
    if nic.get("host"):
        sh("ip", "addr", "add", nic["host"] + "/25", "dev", nic["tap"])
    sh("ip", "link", "set", nic["tap"], "up")
for t in cfg.get("tuns", []):
    sh("ip", "tuntap", "add", "dev", t, "mode", "tun")

deadline = time.monotonic() + cfg["timeout"]

def sink(srv, res):
    try:
        c, _ = srv.accept()
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        res["got_sha"], res["got_bytes"] = h.hexdigest(), n
        c.close()
    except Exception as e:
        res["sink_error"] = repr(e)

def source(srv, res, data):
    try:
        c, _ = srv.accept()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(60)
        try:  # drain to the guest's EOF: closing with unread data would reset it
            while c.recv(1 << 16):
                pass
        except OSError:
            pass
        c.close()
        res["sent_bytes"] = len(data)
    except Exception as e:
        res["source_error"] = repr(e)

def stacks(pid):
    """Every thread of a stuck skyvm: kernel state and wchan, then gdb's backtraces."""
    lines = [f"== skyvm pid {pid} overran its --timeout; its threads:"]
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            def rd(name):
                try:
                    with open(f"/proc/{pid}/task/{tid}/{name}", errors="replace") as f:
                        return f.read().strip()
                except OSError as err:
                    return f"({err.strerror})"
            lines.append(f"thread {tid} {rd('comm')}: {rd('stat').split(')')[-1][:3]} "
                         f"wchan {rd('wchan')}\n{rd('stack')}")
    except OSError as err:
        lines.append(f"(no /proc/{pid}/task: {err})")
    try:
        g = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                           capture_output=True, text=True, errors="replace", timeout=120)
        lines.append(g.stdout[-20000:] + g.stderr[-2000:])
    except (OSError, subprocess.TimeoutExpired) as err:
        lines.append(f"(gdb: {err!r})")
    return "\n".join(lines)

threads = []
for nic in cfg["nics"]:
    if not nic.get("host"):
        continue
    res = {"tap": nic["tap"]}
    out["nics"].append(res)
    data = os.urandom(nic["mib"] << 20)
    res["sent_sha"] = hashlib.sha256(data).hexdigest()
    for port, fn, args in ((5001, sink, ()), (5002, source, (data,))):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((nic["host"], port))
        s.listen(1)
        s.settimeout(cfg["timeout"])
        th = threading.Thread(target=fn, args=(s, res, *args), daemon=True)
        th.start()
        threads.append(th)

hold = []
for busy in cfg.get("hold", []):  # attach to a tap first, so skyvm finds it busy
    import fcntl, struct
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", busy.encode(), 0x0002 | 0x1000 | 0x4000))
    hold.append(fd)

for argv in cfg["runs"]:
    ping = None
    if cfg.get("ping_guest"):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace")
        end = time.monotonic() + cfg["timeout"]
        ping = "no reply"
        while time.monotonic() < end and p.poll() is None:
            r = subprocess.run(["busybox", "ping", "-c", "1", "-W", "2", cfg["ping_guest"]],
                               capture_output=True, text=True)
            if r.returncode == 0:
                ping = "reply"
                break
        p.kill()
        log, _ = p.communicate()
        out["runs"].append({"rc": p.returncode, "out": log, "err": "", "ping": ping})
        continue
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         errors="replace")
    try:
        o, e = p.communicate(timeout=cfg["timeout"] + 60)
        out["runs"].append({"rc": p.returncode, "out": o, "err": e})
    except subprocess.TimeoutExpired:
        # skyvm overran its own --timeout: say where each of its threads is
        # before killing it, so the failure can be diagnosed from the log.
        diag = stacks(p.pid)
        p.kill()
        o, e = p.communicate()
        out["runs"].append({"rc": "timeout", "out": o or "",
                            "err": (e or "") + "\n" + diag})
for th in threads:
    th.join(max(1, deadline - time.monotonic()))
print(json.dumps(out))
'''


def run_host_side(tmp_path, cfg, timeout):
    """Run HOST_SCRIPT in a new network namespace: in the nested guest when the kvm
    tests run there, else here (which needs root for unshare)."""
    script = tmp_path / "net_host.py"
    script.write_text(HOST_SCRIPT)
    cfg_path = tmp_path / "net_host.json"
    cfg_path.write_text(json.dumps(cfg))
    argv = ["unshare", "-n", sys.executable, str(script), str(cfg_path)]
    if conftest._Nested.active:
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {conftest._Nested.reason}")
        p = guest.run(argv, timeout=timeout)
    else:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 2)
    print(f"host side: exit {p.returncode}\nstderr:\n{p.stderr[-3000:]}")
    assert p.returncode == 0, f"the host-side script failed ({p.returncode}): {p.stderr[-3000:]}"
    res = json.loads(p.stdout.strip().splitlines()[-1])
    for r in res["runs"]:
        print(f"skyvm exit {r['rc']}; output tail:\n{(r['out'] + r['err'])[-5000:]}")
    return res


CLOUD = os.environ.get("SKYVM_NET_GUEST") == "cloud"
# load order (modinfo depends); all in the cloud kernel's /lib/modules
CLOUD_MODULES = ["virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover",
                 "virtio_net", "vsock", "vmw_vsock_virtio_transport_common",
                 "vmw_vsock_virtio_transport"]


def guest_kernel():
    """(bzImage, [module files]) of the guest: the test kernel, or the cloud kernel."""
    if not CLOUD:
        kernel_has("CONFIG_VIRTIO_NET", "CONFIG_INET", "CONFIG_IP_PNP")
        return need(BZIMAGE), []
    found = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    assert found, "SKYVM_NET_GUEST=cloud: no /boot/vmlinuz-*-cloud-amd64"
    release = os.path.basename(found[-1])[len("vmlinuz-"):]
    mods = []
    for m in CLOUD_MODULES:
        p = subprocess.run(["modinfo", "-k", release, "-n", m], capture_output=True, text=True)
        assert p.returncode == 0 and p.stdout.strip().endswith(".ko"), f"module {m}: {p.stderr}"
        mods.append(p.stdout.strip())
    return found[-1], mods


def add_files(initrd, files):
    """Append (name, path) files to a newc archive make_initramfs wrote."""
    blob = initrd.read_bytes()
    start = blob.rfind(b"070701", 0, blob.rfind(b"TRAILER!!!"))
    extra = b"".join(_cpio_entry(name, stat.S_IFREG | 0o755, open(path, "rb").read(),
                                 ino=1000 + i) for i, (name, path) in enumerate(files))
    new = blob[:start] + extra + _cpio_entry("TRAILER!!!", 0, ino=0)
    initrd.write_bytes(new + b"\0" * (-len(new) % 512))
    return initrd


def module_lines(mods):
    return [f"insmod /{os.path.basename(m)} || say 'insmod {os.path.basename(m)} failed'"
            for m in mods]


def guest_init(nics, mods=()):
    """A busybox /init: for each NIC (guest address, host address, MiB) ping, send, receive."""
    lines = ["#!/bin/sh", "mount -t proc proc /proc", "mount -t sysfs sysfs /sys",
             # the archive has only console and kmsg: without these, >/dev/null would
             # make a file that a later </dev/null sends to the host
             "mknod /dev/null c 1 3", "mknod /dev/urandom c 1 9",
             'say() { echo "SKYVM-NET: $*" >/dev/kmsg; }',
             *module_lines(mods),
             'say "ifaces $(ls /sys/class/net | tr \'\\n\' \' \')"']
    for i, (guest, host, mib) in enumerate(nics):
        dev = f"eth{i}"
        lines += [
            f"ip addr add {guest}/25 dev {dev} 2>/dev/null",
            f"ip link set {dev} up",
            f'say "{dev} mac $(cat /sys/class/net/{dev}/address) '
            f'features $(cat /sys/class/net/{dev}/device/features)"',
            # one echo: the test kernel has no POSIX timers, so busybox ping's alarm()
            # (its interval and -W) does nothing; with -c 1 the first reply ends it
            f'if ping -c 1 {host} >/dev/null 2>&1; then say "{dev} ping ok"; '
            f'else say "{dev} ping failed"; fi',
            f"dd if=/dev/urandom of=/tx bs=1048576 count={mib} 2>/dev/null",
            f'say "{dev} tx sha $(sha256sum /tx | cut -d" " -f1)"',
            f"nc -w 30 {host} 5001 </tx >/dev/null",
            f'say "{dev} tx rc=$?"',
            f"nc -w 30 {host} 5002 </dev/null >/rx",
            f'say "{dev} rx rc=$? bytes=$(wc -c </rx) sha $(sha256sum /rx | cut -d" " -f1)"',
            "rm -f /tx /rx",
        ]
    lines += ['say done', "reboot -f"]
    return "\n".join(lines) + "\n"


def said(log, what):
    m = re.search(r"SKYVM-NET: " + what, log)
    return m


def boot_with_nics(skyvm, tmp_path, nics, extra=(), vhost=False):
    """nics: (tap, guest ip, host ip, MiB, net options).  Returns (host-side result, log).
    vhost: the host side needs /dev/vhost-net (loads vhost_net if it can)."""
    kernel, mods = guest_kernel()
    h = host_check(skyvm)
    guest0, host0 = nics[0][1], nics[0][2]
    cmdline = (f"console=ttyS0 panic=-1 {h['kernel_cmdline']} "
               f"ip={guest0}::{host0}:255.255.255.128::eth0:off").strip()
    initrd = make_initramfs(tmp_path / "initrd.cpio",
                            guest_init([(g, hh, mib) for _, g, hh, mib, _ in nics], mods),
                            APPLETS + ["insmod"])
    add_files(initrd, [(os.path.basename(m), m) for m in mods])
    argv = [SKYVM, "run", "--kernel", kernel, "--initrd", str(initrd), "--cpus", "1",
            "--memory", "512", "--cpu", model_spec(h), "--cmdline", cmdline,
            "--timeout", str(TIMEOUT), "-v"]
    for tap, _, _, _, opts in nics:
        argv += ["--net", f"tap={tap}" + (f",{opts}" if opts else "")]
    argv += list(extra)
    cfg = {"nics": [{"tap": t, "host": hh, "mib": mib} for t, _, hh, mib, _ in nics],
           "runs": [argv], "timeout": TIMEOUT}
    if not userspace(h):
        cfg["ping_guest"] = guest0
    if vhost:
        cfg["vhost"] = True
    res = run_host_side(tmp_path, cfg, TIMEOUT + 120)
    if vhost and not res.get("vhost_net"):
        # The nested guest's initramfs loads vhost_net (tests/nested/build-initramfs.sh):
        # there it must exist.  Elsewhere only a host without the module lacks it.
        if conftest._Nested.active:
            pytest.fail("no /dev/vhost-net in the nested guest (its initramfs should load "
                        "vhost_net)")
        pytest.skip("no /dev/vhost-net on this host and `modprobe vhost_net` did not make "
                    "one (no vhost_net module for this kernel)")
    run = res["runs"][0]
    log = (run["out"] + run["err"]).replace("\r\n", "\n")
    if not userspace(h):
        assert CLOUD or "IP-Config: Complete" in log, "the kernel did not configure eth0 from ip="
        assert run["ping"] == "reply", "the guest kernel did not answer the host's ping"
        return None, log
    tail = "\n".join(log.splitlines()[-40:])
    assert run["rc"] == 0, f"skyvm exited {run['rc']}; host side {res['nics']}; console tail:\n{tail}"
    return res, log


def check_transfers(res, log, nics):
    for i, (tap, _, _, mib, _) in enumerate(nics):
        dev = f"eth{i}"
        host = next(n for n in res["nics"] if n["tap"] == tap)
        assert said(log, f"{dev} ping ok"), f"{dev}: the guest's ping of the host failed"
        tx = said(log, rf"{dev} tx sha ([0-9a-f]{{64}})")
        assert tx and said(log, f"{dev} tx rc=0"), f"{dev}: the guest's send failed"
        assert host.get("got_bytes") == mib << 20, f"{dev}: host got {host.get('got_bytes')} " \
            f"bytes of {mib << 20} ({host.get('sink_error', '')})"
        assert host["got_sha"] == tx.group(1), f"{dev}: guest->host data differs"
        rx = said(log, rf"{dev} rx rc=0 bytes=(\d+) sha ([0-9a-f]{{64}})")
        assert rx, f"{dev}: the guest's receive failed"
        assert int(rx.group(1)) == mib << 20, f"{dev}: guest got {rx.group(1)} bytes"
        assert rx.group(2) == host["sent_sha"], f"{dev}: host->guest data differs"
    assert said(log, "done")


def features(log, dev):
    m = said(log, rf"{dev} mac (\S+) features ([01]+)")
    assert m, f"{dev}: no features line"
    return m.group(1), m.group(2)


# Known intermittent failures (issue #12 open): in fresh-clone CI trials under nested KVM on
# QEMU TCG, a long transfer sometimes stalls until --timeout (exit 124) or the guest dies
# with a triple fault (exit 120).  They still run every time; a pass shows as XPASS, and
# docs/net.md says what has been found so far.
KNOWN_STALL = pytest.mark.xfail(strict=False, reason="intermittent stall or guest triple fault "
                                "of long virtio-net transfers under nested KVM (issue #12 open)")


@KNOWN_STALL
def test_ping_and_64mib_each_way_offloads_on(kvm, skyvm, tmp_path):
    nics = [("sktap0", "192.0.2.2", "192.0.2.1", 64, "mac=02:00:5e:00:53:01")]
    res, log = boot_with_nics(skyvm, tmp_path, nics)
    if res is None:
        return
    check_transfers(res, log, nics)
    mac, bits = features(log, "eth0")
    assert mac == "02:00:5e:00:53:01"
    # Linux prints the negotiated bits, bit 0 first: CSUM, HOST_TSO4, MRG_RXBUF on
    assert bits[0] == "1" and bits[11] == "1" and bits[15] == "1", bits


def test_offloads_off_transfers_correctly(kvm, skyvm, tmp_path):
    nics = [("sktap0", "192.0.2.2", "192.0.2.1", 16, "offload=off")]
    res, log = boot_with_nics(skyvm, tmp_path, nics)
    if res is None:
        return
    check_transfers(res, log, nics)
    mac, bits = features(log, "eth0")
    assert bits[0] == "0" and bits[1] == "0" and bits[11] == "0", bits
    assert mac.startswith("02:"), mac  # the default: locally administered


@KNOWN_STALL
def test_two_nics_each_carry_traffic(kvm, skyvm, tmp_path):
    nics = [("sktap0", "192.0.2.2", "192.0.2.1", 8, ""),
            ("sktap1", "192.0.2.130", "192.0.2.129", 8, "id=net1")]
    res, log = boot_with_nics(skyvm, tmp_path, nics)
    if res is None:
        return
    assert said(log, "ifaces .*eth0 eth1")
    check_transfers(res, log, nics)
    assert features(log, "eth0")[0] != features(log, "eth1")[0]


def test_vhost_net_ping_and_transfer(kvm, skyvm, tmp_path):
    """--net ...,vhost=on: the kernel's vhost-net serves the queues; ping and 4 MiB each
    way arrive intact (sha256), and skyvm says vhost-net served them."""
    nics = [("sktap0", "192.0.2.2", "192.0.2.1", 4, "vhost=on")]
    res, log = boot_with_nics(skyvm, tmp_path, nics, vhost=True)
    assert re.search(r"virtio-net0 \(tap sktap0\): vhost-net served the queues \(started "
                     r"[1-9]", log), "skyvm did not report vhost-net serving the queues"
    if res is None:
        return
    check_transfers(res, log, nics)
    _, bits = features(log, "eth0")
    assert bits[15] == "1", bits  # MRG_RXBUF, through vhost-net


def test_vhost_on_without_device_or_with_bad_value_fails(tmp_path):
    """vhost=on where /dev/vhost-net is missing names it; a bad value is refused; both
    exit 1 before any guest."""
    if os.geteuid() != 0 and not conftest._Nested.active:
        pytest.skip("needs root for its own network namespace (unshare -n)")
    base = [SKYVM, "run", "--timeout", "30"]
    cfg = {"nics": [{"tap": "skv0"}],
           "runs": [base + ["--net", "tap=skv0,vhost=sometimes"],
                    base + ["--net", "tap=skv0,vhost=on"]],
           "timeout": 60}
    res = run_host_side(tmp_path, cfg, 120)
    bad, on = res["runs"]
    assert bad["rc"] == 1 and "unknown option 'vhost=sometimes'" in bad["err"], bad["err"]
    if res["vhost_net"]:
        # the device exists here: vhost=on gets past set-up
        assert "no /dev/vhost-net" not in on["err"], on["err"]
    else:
        assert on["rc"] == 1, on
        assert "vhost=on: no /dev/vhost-net on this host" in on["err"], on["err"]
        assert "cpu 0:" not in on["out"]


def test_bad_taps_fail_before_the_guest_starts(tmp_path):
    """Missing, non-tap, tun and busy devices: a clear error, exit 1, no guest."""
    if os.geteuid() != 0 and not conftest._Nested.active:
        pytest.skip("needs root for its own network namespace (unshare -n)")
    base = [SKYVM, "run", "--timeout", "30"]
    cases = [("sknone", "no such network interface"), ("lo", "not a tap device"),
             ("sktun0", "a tun device (layer 3), not a tap"), ("skbusy", "busy")]
    cfg = {"nics": [{"tap": "skbusy"}], "tuns": ["sktun0"], "hold": ["skbusy"],
           "runs": [base + ["--net", f"tap={t}"] for t, _ in cases] +
                   [base + ["--net", "tap=sknone,mac=01:00:00:00:00:01"],
                    base + ["--net", "tap=lo,bogus=1"]],
           "timeout": 60}
    res = run_host_side(tmp_path, cfg, 120)
    for (tap, msg), r in zip(cases, res["runs"]):
        assert r["rc"] == 1, f"tap={tap}: exit {r['rc']}"
        assert f"tap={tap}: {msg}" in r["err"], r["err"]
        assert "cpu 0:" not in r["out"]
    assert res["runs"][4]["rc"] == 1 and "multicast" in res["runs"][4]["err"]
    assert res["runs"][5]["rc"] == 1 and "unknown option 'bogus=1'" in res["runs"][5]["err"]
