"""virtio-vsock (--vsock, docs/net.md) end to end with the test kernel.

The guest runs a small static C program (built here from GUEST_C) from a busybox /init:
  - it connects to the host's port 1234 (skyvm connects that to the unix socket
    PATH_1234, where this test's echo server listens) and sends 16 MiB of a pattern,
    reading the echo at the same time and comparing it byte for byte;
  - it opens 64 connections at once the same way, 64 KiB each;
  - it listens on port 5555 for one connection from the host (the host writes
    "CONNECT 5555\\n" to PATH), echoes it, and reports when the host closed its end.
The host side (HOST_SCRIPT) runs next to skyvm: in the nested guest when the kvm tests run
there (docs/nested-testing.md).
"""
import json
import os
import re
import subprocess
import sys

import pytest

import conftest
from conftest import SKYVM
from test_devices_linux import kernel_has, make_initramfs, userspace
from test_linux import host_check, model_spec
from test_net import CLOUD, add_files, guest_kernel, module_lines

TIMEOUT = 400
APPLETS = ["sh", "mount", "reboot", "cat", "sleep", "insmod"]

GUEST_C = r'''
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static unsigned char pat(unsigned long i, unsigned seed) { return (unsigned char)(i * 131 + seed + (i >> 12)); }

/* n connections to host port, each sends `bytes` and checks the echo; 0 when all good */
static int clients(unsigned port, int n, unsigned long bytes)
{
	int fd[64]; unsigned long sent[64] = {0}, got[64] = {0}; int done = 0, bad = 0;
	unsigned char buf[65536];
	for (int i = 0; i < n; i++) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = port };
		fd[i] = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&a, sizeof(a)) < 0) {
			printf("connect %d failed: %s\n", i, strerror(errno)); return 1;
		}
		/* Non-blocking: a blocking 64 KiB write waits for credit for all of it while
		 * this loop reads nothing, and the echo fills every buffer in between. */
		fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
	}
	while (done < n) {
		struct pollfd p[64];
		for (int i = 0; i < n; i++) {
			p[i].fd = got[i] == bytes ? -1 : fd[i];
			p[i].events = POLLIN | (sent[i] < bytes ? POLLOUT : 0);
		}
		if (poll(p, n, 60000) <= 0) { printf("poll timeout\n"); return 1; }
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0) continue;
			if ((p[i].revents & POLLOUT) && sent[i] < bytes) {
				unsigned long k = bytes - sent[i] < sizeof(buf) ? bytes - sent[i] : sizeof(buf);
				for (unsigned long j = 0; j < k; j++) buf[j] = pat(sent[i] + j, i);
				ssize_t w = write(fd[i], buf, k);
				if (w < 0 && errno != EAGAIN) { printf("write: %s\n", strerror(errno)); return 1; }
				if (w > 0) sent[i] += w;
				if (sent[i] == bytes) shutdown(fd[i], SHUT_WR);
			}
			if (p[i].revents & (POLLIN | POLLHUP)) {
				ssize_t r = read(fd[i], buf, sizeof(buf));
				if (r < 0 && errno == EAGAIN) continue;
				if (r <= 0) { printf("conn %d: early end after %lu\n", i, got[i]); return 1; }
				for (ssize_t j = 0; j < r; j++) if (buf[j] != pat(got[i] + j, i)) bad++;
				got[i] += r;
				if (got[i] == bytes) { done++; close(fd[i]); }
			}
		}
	}
	return bad ? 2 : 0;
}

static int listener(unsigned port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	int s = socket(AF_VSOCK, SOCK_STREAM, 0), c; unsigned long total = 0; char buf[65536];
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0) {
		printf("listen failed: %s\n", strerror(errno)); return 1;
	}
	printf("SKYVM-VSOCK: listening\n"); fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0) { printf("accept: %s\n", strerror(errno)); return 1; }
	for (;;) {
		ssize_t r = read(c, buf, sizeof(buf));
		if (r < 0) { printf("read: %s\n", strerror(errno)); return 1; }
		if (r == 0) break;
		for (ssize_t off = 0; off < r;) { ssize_t w = write(c, buf + off, r - off); if (w <= 0) return 1; off += w; }
		total += r;
	}
	printf("SKYVM-VSOCK: listener saw the host close after %lu bytes\n", total);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = clients(1234, 1, 16ul << 20);
	printf("SKYVM-VSOCK: one 16MiB rc=%d\n", rc);
	rc = clients(1234, 64, 64ul << 10);
	printf("SKYVM-VSOCK: 64 conns rc=%d\n", rc);
	rc = listener(5555);
	printf("SKYVM-VSOCK: listener rc=%d\n", rc);
	return 0;
}
'''

INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say() { echo "SKYVM-VSOCK: $*" >/dev/console; }
%s
/vsock-test >/dev/console 2>&1
echo "SKYVM-VSOCK: done" >/dev/console
reboot -f
"""

HOST_SCRIPT = r'''
import json, os, socket, subprocess, sys, threading, time
cfg = json.load(open(sys.argv[1]))
path = cfg["path"]
res = {"echo_conns": 0, "echo_bytes": 0, "echo_eofs": 0}
lock = threading.Lock()

def echo(c):
    n = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        c.sendall(b)
        n += len(b)
    with lock:
        res["echo_conns"] += 1
        res["echo_bytes"] += n
        res["echo_eofs"] += 1
    c.close()

srv = socket.socket(socket.AF_UNIX)
srv.bind(path + "_1234")
srv.listen(128)
def serve():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()

p = subprocess.Popen(cfg["argv"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                     errors="replace")
log = []
def reader():
    for line in p.stdout:
        log.append(line)
threading.Thread(target=reader, daemon=True).start()

# The host connects to the guest's listener once it says it listens.
end = time.monotonic() + cfg["timeout"]
res["connect"] = "guest never listened"
marker = cfg.get("marker", "SKYVM-VSOCK: listening")
while time.monotonic() < end and p.poll() is None:
    if any(marker in l for l in log):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(b"CONNECT 5555\n")
        f = s.makefile("rb")
        res["ok_line"] = f.readline().decode(errors="replace")
        if cfg.get("refuse_only"):
            res["connect"] = "refused" if res["ok_line"] == "" else "answered"
            p.kill()
            break
        data = os.urandom(1 << 20)
        got = bytearray()
        def rd():
            while len(got) < len(data):
                b = s.recv(1 << 16)
                if not b:
                    break
                got.extend(b)
        t = threading.Thread(target=rd)
        t.start()
        s.sendall(data)
        t.join(120)
        res["connect"] = "echo ok" if bytes(got) == data else f"echo differs ({len(got)} bytes)"
        # The makefile() reader holds the socket open: s.close() alone leaves the
        # descriptor open, skyvm never sees the host's close, nor the guest its EOF.
        f.close()
        s.close()
        break
    time.sleep(0.5)
try:
    p.wait(cfg["timeout"])
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
time.sleep(1)
res["rc"] = p.returncode
res["log"] = "".join(log)
res["socket_left"] = os.path.exists(path)
print(json.dumps(res))
'''


def build_guest_program(tmp_path):
    src = tmp_path / "vsock-test.c"
    src.write_text(GUEST_C)
    out = tmp_path / "vsock-test"
    p = subprocess.run(["cc", "-static", "-O2", "-o", str(out), str(src)], capture_output=True,
                       text=True)
    assert p.returncode == 0, f"building the guest's vsock program failed: {p.stderr}"
    return out


def make_initrd(tmp_path, prog, mods):
    init = INIT % "\n".join(module_lines(mods))
    path = make_initramfs(tmp_path / "initrd.cpio", init, APPLETS)
    return add_files(path, [("vsock-test", str(prog))] +
                     [(os.path.basename(m), m) for m in mods])


def run_host(tmp_path, cfg, timeout):
    script = tmp_path / "vsock_host.py"
    script.write_text(HOST_SCRIPT)
    cfg_path = tmp_path / "vsock_host.json"
    cfg_path.write_text(json.dumps(cfg))
    argv = [sys.executable, str(script), str(cfg_path)]
    if conftest._Nested.active:
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {conftest._Nested.reason}")
        p = guest.run(argv, timeout=timeout)
    else:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 2)
    print(f"host side: exit {p.returncode}\nstderr:\n{p.stderr[-3000:]}")
    assert p.returncode == 0, f"the host-side script failed: {p.stderr[-3000:]}"
    res = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"skyvm exit {res['rc']}; output tail:\n{res['log'][-5000:]}")
    return res


def test_vsock_both_directions_64_connections_and_close(kvm, skyvm, tmp_path):
    kernel, mods = guest_kernel()
    if not CLOUD:
        kernel_has("CONFIG_VSOCKETS", "CONFIG_VIRTIO_VSOCKETS")
    h = host_check(skyvm)
    cfg = {"timeout": TIMEOUT}
    if not userspace(h):
        # No program can run: the guest kernel alone refuses a CONNECT to a port
        # nobody listens on (RST), so the host's socket closes without "OK".
        cfg.update(marker="Run /init as init process", refuse_only=True)
    prog = build_guest_program(tmp_path)
    initrd = make_initrd(tmp_path, prog, mods)
    sock = tmp_path / "v.sock"
    cmdline = f"console=ttyS0 panic=-1 {h['kernel_cmdline']}".strip()
    argv = [SKYVM, "run", "--kernel", kernel, "--initrd", str(initrd), "--cpus", "1",
            "--memory", "256", "--cpu", model_spec(h), "--cmdline", cmdline,
            "--timeout", str(TIMEOUT), "-v", "--vsock", f"cid=3,socket={sock}"]
    cfg.update(path=str(sock), argv=argv)
    res = run_host(tmp_path, cfg, TIMEOUT + 120)
    log = res["log"].replace("\r\n", "\n")
    if cfg.get("refuse_only"):
        assert "Run /init as init process" in log
        assert res["connect"] == "refused", res
        return
    # guest -> host first: 16 MiB echoed intact, then 64 connections at once
    assert "SKYVM-VSOCK: one 16MiB rc=0" in log, "16 MiB each way did not echo intact"
    assert "SKYVM-VSOCK: 64 conns rc=0" in log, "64 connections at once did not all complete"
    assert res["echo_conns"] == 65 and res["echo_eofs"] == 65
    assert res["echo_bytes"] == (16 << 20) + 64 * (64 << 10)
    # host -> guest: CONNECT, OK, 1 MiB echoed, the host's close seen by the guest
    detail = {k: res.get(k) for k in ("ok_line", "connect")}
    assert re.fullmatch(r"OK \d+\n", res.get("ok_line", "")), detail
    assert res["connect"] == "echo ok", detail
    assert res["rc"] == 0, f"skyvm exited {res['rc']} ({detail})"
    assert "SKYVM-VSOCK: listener saw the host close after 1048576 bytes" in log
    assert not res["socket_left"], "skyvm left its socket behind"


def test_vsock_socket_path_errors(tmp_path):
    exists = tmp_path / "exists"
    exists.write_text("")
    for opt, msg in ((f"cid=3,socket={exists}", "the path exists"),
                     (f"cid=3,socket={tmp_path}/no/such/dir/s", "cannot create it"),
                     ("cid=2,socket=/tmp/x", "expected 3 to 4294967294"),
                     ("socket=/tmp/x", "expected cid=N,socket=PATH")):
        p = subprocess.run([SKYVM, "run", "--vsock", opt], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 1, f"{opt}: exit {p.returncode}"
        assert msg in p.stderr, p.stderr
        assert "cpu 0:" not in p.stdout
    assert exists.read_text() == ""
