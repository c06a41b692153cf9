"""Run a shell script where skyvm's KVM runs: on this machine when /dev/kvm opens,
else inside the nested-KVM guest (docs/nested-testing.md), so that a VM started in the
background and the client talking to it (curl, skyvm ctl) run side by side in the same
place.  The script sees SKYVM (the binary) and DIR (a scratch directory shared with the
host) in its environment; it prints its results, and the files it leaves in DIR are
read by the test."""
import json
import os
import subprocess

import pytest

import conftest
import nested


def run_script(script, tmp_path, timeout=300, env=None):
    path = tmp_path / "driver.sh"
    path.write_text(script)
    e = dict(os.environ)
    e.update({"SKYVM": conftest.SKYVM, "DIR": str(tmp_path)})
    if env:
        e.update(env)
    argv = ["/bin/sh", str(path)]
    if conftest._Nested.active:
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {conftest._Nested.reason}")
        try:
            return guest.run(argv, env=e, timeout=timeout)
        except nested.NestedTimeout as t:
            pytest.fail(f"driver script did not finish: {t.report()}", pytrace=False)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e,
                          errors="replace")


# Shell functions for the scripts: start a VM with an API socket, call it with curl.
PRELUDE = r'''
set -u
SOCK="$DIR/api.sock"
start_vm() {  # ARGS... (skyvm run arguments); sets VM_PID
	"$SKYVM" run --api "$SOCK" "$@" >"$DIR/run.out" 2>"$DIR/run.err" &
	VM_PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 1200 ]; do
		kill -0 $VM_PID 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ] || { echo "no socket after $i tries"; cat "$DIR/run.err"; exit 90; }
}
call() {  # NAME METHOD PATH [curl args...]: $DIR/NAME.code and $DIR/NAME.json
	n=$1; m=$2; p=$3; shift 3
	curl -s -m 600 --unix-socket "$SOCK" -o "$DIR/$n.json" -w '%{http_code}' -X "$m" \
		"$@" "http://localhost$p" >"$DIR/$n.code"
	echo "$n $(cat "$DIR/$n.code")"
}
count_lines() { grep -c '^COUNT ' "$DIR/console.txt" 2>/dev/null || echo 0; }
wait_vm() {  # sets VM_RC
	VM_RC=0; wait $VM_PID || VM_RC=$?
	echo "vm_exit $VM_RC"
}
'''


def run_linux_driver(script, tmp_path, env, nested_too, timeout, local_timeout):
    """Run a driver script that boots the Linux test kernel: in the nested guest when the
    kvm tests run there, or when `nested_too` (this host's KVM runs no guest user space),
    else here.  A nested run that does not finish fails the test with its report."""
    path = tmp_path / "driver.sh"
    path.write_text(script)
    e = {**os.environ, "SKYVM": conftest.SKYVM, "DIR": str(tmp_path), **env}
    argv = ["/bin/sh", str(path)]
    if conftest._Nested.active or nested_too:
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"needs guest user space, which this host's KVM does not run, and the "
                        f"nested guest cannot start: {conftest._Nested.reason}")
        try:
            return guest.run(argv, env=e, timeout=timeout)
        except nested.NestedTimeout as t:
            pytest.fail(f"driver did not finish: {t.report()}", pytrace=False)
    return subprocess.run(argv, capture_output=True, text=True, timeout=local_timeout, env=e)


def user_space_host(h):
    """(use_nested, h): given this host's `skyvm host-check --json` answer h, whether a
    Linux-with-user-space test must run wholly in the nested guest (this host's KVM runs
    no guest user space), and the host-check answer of where it will run."""
    use_nested = not h["guest_syscalls_work"] and conftest.kvm_mode() == "/dev/kvm"
    if use_nested and os.environ.get("SKYVM_NESTED") == "0":
        pytest.skip("this host's KVM runs no guest user space (host-check) and SKYVM_NESTED=0 "
                    "turns off the nested guest that would run this test")
    if use_nested:
        print("this host's KVM runs no guest user space: the whole test runs nested")
        guest = conftest._nested_guest()
        if guest is None:
            pytest.fail(f"nested guest unavailable: {conftest._Nested.reason}")
        p = guest.run([conftest.SKYVM, "host-check", "--json"], timeout=300)
        h = json.loads(p.stdout)
        assert h["guest_syscalls_work"], "the nested guest's KVM runs no user space either"
    return use_nested, h
