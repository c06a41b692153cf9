"""The sandbox (docs/sandbox.md): after set-up every skyvm thread runs under a seccomp
filter.  A guest runs under it; the test hook (SKYVM_SANDBOX_TEST_SYSCALL) makes a
thread perform a forbidden call and skyvm is killed with the report naming it (exit
200); --no-sandbox warns and runs without the filter; --user drops to another user as
root; every descriptor of a running skyvm is close-on-exec."""
import os
import re
import subprocess

import pytest

from conftest import SKYVM
from vmscript import PRELUDE, run_script

REPORT = re.compile(r"^skyvm: sandbox: forbidden system call (\S+) \((\d+)\)(?: request (0x[0-9a-f]+))?"
                    r" in thread (\S+) \(tid \d+\); skyvm ends \(exit 200\)$", re.M)


def test_help_documents_the_sandbox(skyvm):
    r = skyvm("run", "--help")
    assert r.returncode == 0
    assert "--user UID:GID" in r.stdout and "--no-sandbox" in r.stdout
    assert re.search(r"^\s+200\s+the sandbox stopped a forbidden system call", r.stdout, re.M)
    r = skyvm("restore", "--help")
    assert "--user UID:GID" in r.stdout and "--no-sandbox" in r.stdout


@pytest.mark.parametrize("value", ["", "1000", "a:b", "-1:0", "1:1:1", "4294967295:0", ":5"])
def test_malformed_user_is_a_usage_error(skyvm, value):
    r = skyvm("run", "--user", value)
    assert r.returncode == 2, r
    assert f"--user '{value}': expected UID:GID" in r.stderr


def test_user_needs_root(skyvm):
    """Not root: --user is refused before anything is set up.  As root, the check runs
    skyvm as nobody (setpriv) where nobody can execute the binary."""
    argv = [SKYVM, "run", "--user", "1:1"]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("no setpriv to run skyvm as another user")
    if r.returncode in (126, 127) and "skyvm" not in r.stderr.replace(SKYVM, ""):
        pytest.skip(f"nobody cannot execute {SKYVM} here: {r.stderr.strip()}")
    assert r.returncode == 1, r
    assert "--user 1:1: dropping to another user needs root (skyvm runs as uid" in r.stderr


@pytest.mark.parametrize("cpus", [1, 2])
def test_default_guest_runs_under_the_sandbox(kvm, skyvm, cpus):
    r = skyvm("run", "--cpus", cpus, "--timeout", 120)
    assert r.returncode == 0, r
    assert f"guest: {cpus} cpus ok" in r.stdout
    assert "sandbox" not in r.stderr


@pytest.mark.parametrize("call,thread,name,nr,ioctl_req", [
    ("mount", None, "mount", 165, None),
    ("unshare", "event-loop", "unshare", 272, None),
    ("ioctl:0x5412", None, "ioctl", 16, "0x5412"),  # TIOCSTI
])
def test_forbidden_call_kills_with_report(kvm, skyvm, call, thread, name, nr, ioctl_req):
    env = {"SKYVM_SANDBOX_TEST_SYSCALL": call}
    if thread:
        env["SKYVM_SANDBOX_TEST_THREAD"] = thread
    r = skyvm("run", "--timeout", 120, env=env)
    assert r.returncode == 200, r
    m = REPORT.search(r.stderr)
    assert m, r.stderr
    assert m.group(1) == name and int(m.group(2)) == nr, r.stderr
    assert m.group(3) == ioctl_req, r.stderr
    assert m.group(4) == (thread or "vcpu0"), r.stderr
    # killed before the guest said anything: the hook runs before vCPU 0's first KVM_RUN
    assert "cpus ok" not in r.stdout


def test_hook_refuses_an_allowed_call(kvm, skyvm):
    r = skyvm("run", "--timeout", 120, env={"SKYVM_SANDBOX_TEST_SYSCALL": "read"})
    assert r.returncode == 1, r
    assert "SKYVM_SANDBOX_TEST_SYSCALL=read: the filter allows it" in r.stderr


def test_no_sandbox_warns_and_runs_without_the_filter(kvm, skyvm):
    r = skyvm("run", "--no-sandbox", "--timeout", 120,
              env={"SKYVM_SANDBOX_TEST_SYSCALL": "mount"})
    assert r.returncode == 0, r
    assert "skyvm: warning: --no-sandbox: the VM runs without the seccomp filter" in r.stderr
    assert "forbidden system call" not in r.stderr
    assert "guest: 1 cpus ok" in r.stdout


RUNNING_SCRIPT = PRELUDE + r'''
# Descriptors this shell passes on (not close-on-exec) are skyvm's by inheritance, not
# its own: "fd=target" of each, to skip the same descriptor in skyvm.
inherited=""
for f in /proc/$$/fdinfo/*; do
	fd=${f##*/}
	fl=$(awk '/^flags:/ {print $2}' "$f" 2>/dev/null) || continue
	[ -n "$fl" ] || continue
	[ $(( 0$fl & 02000000 )) -eq 0 ] && inherited="$inherited $fd=$(readlink /proc/$$/fd/$fd)"
done
# A directory the dropped user can reach (the test's own is under a 0700 one).
SNAPDIR=$(mktemp -d /tmp/skyvm-sandbox-test.XXXXXX)
chmod 777 "$SNAPDIR"
truncate -s 4M "$DIR/disk.img"
start_vm --guest counter --cpus 2 --cmdline period_ms=20 --console "file:$DIR/console.txt" \
	--disk "$DIR/disk.img" --rng --vsock "cid=3,socket=$DIR/vsock.sock" --timeout 300 $USER_ARGS
sleep 1
grep -E '^(Uid|Gid|Groups|NoNewPrivs|Seccomp):' /proc/$VM_PID/status | tr '\t' ' '
for f in /proc/$VM_PID/fdinfo/*; do
	fd=${f##*/}
	[ "$fd" -le 2 ] && continue
	target=$(readlink /proc/$VM_PID/fd/$fd)
	case " $inherited " in *" $fd=$target "*) continue ;; esac
	fl=$(awk '/^flags:/ {print $2}' "$f")
	echo "fd $fd $fl $target"
done
call get GET /vm
call snapshot PUT /vm/snapshot -d "{\"path\": \"$SNAPDIR/snap\"}"
echo "snapshot_owner $(stat -c %u "$SNAPDIR/snap/state.skyvm")"
rm -rf "$SNAPDIR"
call stop PUT /vm/stop
wait_vm
cat "$DIR/run.err"
'''


def test_running_vm_descriptors_and_user(kvm, tmp_path):
    """A VM with every kind of device, the API and a console file: its threads are under
    the filter (Seccomp: 2), every descriptor it opened is close-on-exec, and as root
    with --user it runs as that user (the snapshot it writes is that user's)."""
    root = os.geteuid() == 0
    if root:
        os.chmod(tmp_path, 0o777)  # nobody writes the snapshot there
    r = run_script(RUNNING_SCRIPT, tmp_path, timeout=400,
                   env={"USER_ARGS": "--user 65534:65534" if root else ""})
    out = r.stdout
    info = f"stdout:\n{out}\nstderr:\n{r.stderr}"
    assert "vm_exit 0" in out, info
    assert "forbidden system call" not in out, info
    assert re.search(r"^Seccomp: 2$", out, re.M), info
    assert re.search(r"^NoNewPrivs: 1$", out, re.M), info
    fds = re.findall(r"^fd (\d+) (\d+) (.*)$", out, re.M)
    targets = " ".join(t for _, _, t in fds)
    for want in ("/dev/kvm", "kvm-vm", "kvm-vcpu:0", "kvm-vcpu:1", "disk.img",
                 "console.txt", "socket:", "eventfd", "eventpoll"):
        assert want in targets, info
    for fd, flags, target in fds:
        assert int(flags, 8) & 0o2000000, f"fd {fd} ({target}) is not close-on-exec\n{info}"
    assert "get 200" in out and "snapshot 200" in out and "stop 200" in out, info
    if root:
        assert re.search(r"^Uid: 65534 65534 65534 65534$", out, re.M), info
        assert re.search(r"^Gid: 65534 65534 65534 65534$", out, re.M), info
        assert re.search(r"^Groups: 65534 ?$", out, re.M), info
        assert "snapshot_owner 65534" in out, info


# ---- the probe VMs of `cpu verify` and `host-check`

@pytest.mark.parametrize("argv", [("cpu", "verify", "host"), ("host-check",)],
                         ids=["cpu-verify", "host-check"])
def test_probe_vm_forbidden_call_kills_with_report(kvm, skyvm, argv):
    """The probe commands enter the sandbox once their VMs are set up, as run does: the
    hook's call in vCPU 0 of the (first) probe VM ends skyvm with the report."""
    r = skyvm(*argv, env={"SKYVM_SANDBOX_TEST_SYSCALL": "mount"})
    assert r.returncode == 200, r
    m = REPORT.search(r.stderr)
    assert m, r.stderr
    assert (m.group(1), m.group(4)) == ("mount", "vcpu0"), r.stderr
    assert "verdict:" not in r.stdout and "Guest system calls" not in r.stdout, r


# ---- path confinement (Landlock)

CONFINED_SCRIPT = PRELUDE + r'''
mkdir -p "$DIR/snaps" "$DIR/elsewhere"
start_vm --guest counter --cmdline period_ms=50 --console "file:$DIR/console.txt" \
	--timeout 300 --snapshot-dir "$DIR/snaps" $SANDBOX_ARGS
call inside PUT /vm/snapshot -d "{\"path\": \"$DIR/snaps/s1\"}"
call outside PUT /vm/snapshot -d "{\"path\": \"$DIR/elsewhere/s2\"}"
echo "outside_error $(cat "$DIR/outside.json")"
[ -e "$DIR/elsewhere/s2" ] && echo "outside_exists" || echo "outside_absent"
[ -s "$DIR/snaps/s1/state.skyvm" ] && echo "inside_written"
call stop PUT /vm/stop
wait_vm
[ -e "$SOCK" ] && echo "api_socket_left" || echo "api_socket_removed"
cat "$DIR/run.err"
'''


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "no-sandbox"])
def test_snapshot_confined_to_snapshot_dir(kvm, tmp_path, sandbox):
    """Under the sandbox, Landlock keeps PUT /vm/snapshot beneath --snapshot-dir: a
    snapshot there is written, one elsewhere is refused by the kernel (EACCES) and leaves
    nothing; the API socket's directory stays writable, so the socket is removed at the
    end.  --no-sandbox: no confinement, both are written.  (Run where skyvm runs, in the
    nested guest when that is where KVM is, so the check of its kernel is done there.)"""
    r = run_script(CONFINED_SCRIPT, tmp_path, timeout=400,
                   env={"SANDBOX_ARGS": "" if sandbox else "--no-sandbox"})
    out = r.stdout
    info = f"stdout:\n{out}\nstderr:\n{r.stderr}"
    assert "vm_exit 0" in out, info
    assert "inside 200" in out and "inside_written" in out, info
    assert "api_socket_removed" in out, info
    if sandbox and "this kernel has no Landlock" in out:
        pytest.skip("the kernel where skyvm runs has no Landlock")
    if sandbox:
        assert "outside 500" in out, info
        assert "Permission denied" in out and "elsewhere/s2" in out, info
        assert "only beneath --snapshot-dir" in out, info
        assert "outside_absent" in out, info
    else:
        assert "outside 200" in out and "outside_exists" in out, info


def test_snapshot_dir_needs_api(skyvm):
    r = skyvm("run", "--snapshot-dir", "/tmp")
    assert r.returncode == 2, r
    assert "--snapshot-dir needs --api" in r.stderr


def test_restore_snapshot_dir_needs_api(skyvm, tmp_path):
    r = skyvm("restore", "--snapshot-dir", str(tmp_path), str(tmp_path))
    assert r.returncode == 2, r
    assert "--snapshot-dir needs --api" in r.stderr
