"""Shared fixtures for the end-to-end tests: they drive build/skyvm as a user would.

- `skyvm`: a function running the binary with arguments, returning CompletedProcess
  (text, captured, with a timeout so a hung VMM fails the test instead of CI).
- `kvm`: use in any test that needs /dev/kvm.  With a usable /dev/kvm the test runs here.
  Without one, when the nested harness can run (tests/nested, docs/nested-testing.md:
  QEMU TCG emulating AMD SVM, with KVM loaded inside), every skyvm run of the test
  (`skyvm(...)` and `run_skyvm(...)`) goes into that guest instead, and the test output
  says so.  Only when neither works does it skip, with both reasons printed.
  SKYVM_NESTED=0 turns the nested harness off.
  A nested run that does not answer in time (nested.MAX_RUN at most) is diagnosed (its
  threads' kernel stacks and gdb backtraces), killed and reported as the test's failure,
  with the guest's console tail; the next test gets a working guest.
- Every test has a last-resort time limit when python3-pytest-timeout is installed
  (scripts/deps.sh installs it): TEST_LIMIT seconds, NESTED_TEST_LIMIT for tests that run
  under nested KVM; SKYVM_TEST_TIMEOUT overrides both.  The limit fails that test (SIGALRM)
  and the run goes on; a test's own @pytest.mark.timeout wins.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKYVM = os.path.abspath(os.path.join(ROOT, os.environ.get("SKYVM", "build/skyvm")))
DATA = os.path.join(ROOT, "tests", "data")

sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
import nested  # noqa: E402

# Last-resort per-test limits (seconds), far above the slowest test measured
# (docs/nested-testing.md, "Costs"): they are there so that no one test stalls the run.
TEST_LIMIT = 600
NESTED_TEST_LIMIT = 1200


def kvm_unavailable_reason():
    """None when /dev/kvm can be opened read-write, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm unusable on this machine ({e.strerror})"
    os.close(fd)
    return None


class _Nested:
    """The one nested guest of this pytest session, started by the first test that
    needs it; `active` is set while a `kvm` test runs on it."""
    guest = None
    reason = None  # why it cannot run, once that is known
    active = False
    tests = []
    current = None  # the node id of the kvm test running there
    timeouts = []   # (node id, command) of runs that did not answer
    config = None


def _nested_guest():
    if _Nested.reason is None and (_Nested.guest is None or not _Nested.guest.alive()):
        if os.environ.get("SKYVM_NESTED") == "0":
            _Nested.reason = ("off (SKYVM_NESTED=0, as in `make check`); "
                              "`make check-nested` runs these tests there")
        else:
            try:
                _Nested.guest = nested.NestedGuest().start()
            except nested.NestedError as e:
                _Nested.reason = str(e)
    return None if _Nested.reason else _Nested.guest


def _nested_wanted():
    return os.environ.get("SKYVM_NESTED") != "0" and kvm_unavailable_reason() is not None


def pytest_configure(config):
    _Nested.config = config


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    override = os.environ.get("SKYVM_TEST_TIMEOUT")
    nested_tests = _nested_wanted()
    for item in items:
        if item.get_closest_marker("timeout"):
            continue
        if override:
            limit = float(override)
        elif nested_tests and "kvm" in getattr(item, "fixturenames", ()):
            limit = NESTED_TEST_LIMIT
        else:
            limit = TEST_LIMIT
        item.add_marker(pytest.mark.timeout(limit, method="signal"))


def _say(line):
    """A line on pytest's terminal now, not only in the failure report at the end."""
    tr = _Nested.config and _Nested.config.pluginmanager.get_plugin("terminalreporter")
    if tr:
        tr.write_line(line)


@pytest.fixture
def kvm(request):
    reason = kvm_unavailable_reason()
    if not reason:
        yield "/dev/kvm"
        return
    if _nested_guest() is None:
        pytest.skip(f"{reason}; nested KVM on QEMU TCG unavailable: {_Nested.reason}")
    print(f"nested: {request.node.nodeid} runs skyvm under nested KVM on QEMU TCG "
          f"(AMD SVM emulated; no /dev/kvm here)")
    _Nested.tests.append(request.node.nodeid)
    request.node.user_properties.append(("kvm", "nested KVM on QEMU TCG"))
    _Nested.active = True
    _Nested.current = request.node.nodeid
    try:
        yield "/dev/kvm"
    finally:
        _Nested.active = False
        _Nested.current = None


def pytest_sessionfinish(session, exitstatus):
    if _Nested.guest is not None:
        _Nested.guest.close()


def pytest_terminal_summary(terminalreporter):
    if _Nested.tests:
        terminalreporter.section("nested KVM on QEMU TCG")
        terminalreporter.write_line(
            f"{len(_Nested.tests)} tests ran skyvm under nested KVM (a QEMU TCG guest with "
            f"AMD SVM; timings there are meaningless): see docs/nested-testing.md")
        for t in _Nested.tests:
            terminalreporter.write_line(f"  {t}")
        for t, cmd in _Nested.timeouts:
            terminalreporter.write_line(f"  TIMED OUT: {t}: {cmd}")
    elif _Nested.reason:
        terminalreporter.write_line(f"nested KVM on QEMU TCG unavailable: {_Nested.reason}")


def run_skyvm(*args, timeout=120, input=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    if _Nested.active:
        guest = _nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {_Nested.reason}")
        try:
            return guest.run([SKYVM, *map(str, args)], env=e, input=input, timeout=timeout)
        except nested.NestedTimeout as t:
            cmd = " ".join(["skyvm", *map(str, args)])
            _Nested.timeouts.append((_Nested.current, cmd))
            _say(f"\nnested: {_Nested.current}: `{cmd}` did not answer within "
                 f"{t.timeout:.0f} s; killed" + ("" if t.reusable else ", guest rebooted"))
            pytest.fail(f"{_Nested.current}: {t.report()}", pytrace=False)
    return subprocess.run([SKYVM, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, input=input, env=e, errors="replace")


@pytest.fixture
def skyvm():
    assert os.access(SKYVM, os.X_OK), f"{SKYVM} not built"
    return run_skyvm


@pytest.fixture
def data():
    return DATA
