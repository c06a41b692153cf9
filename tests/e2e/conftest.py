"""Shared fixtures for the end-to-end tests: they drive build/skyvm as a user would.

- `skyvm`: a function running the binary with arguments, returning CompletedProcess
  (text, captured, with a timeout so a hung VMM fails the test instead of CI).
- `kvm`: use in any test that needs /dev/kvm.  With a usable /dev/kvm the test runs here.
  Without one, when the nested harness can run (tests/nested, docs/nested-testing.md:
  QEMU TCG emulating AMD SVM, with KVM loaded inside), every skyvm run of the test
  (`skyvm(...)` and `run_skyvm(...)`) goes into that guest instead, and the test output
  says so.  Only when neither works does it skip, with both reasons printed.
  SKYVM_NESTED=0 turns the nested harness off.
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
    try:
        yield "/dev/kvm"
    finally:
        _Nested.active = False


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
        return guest.run([SKYVM, *map(str, args)], env=e, input=input, timeout=timeout)
    return subprocess.run([SKYVM, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, input=input, env=e, errors="replace")


@pytest.fixture
def skyvm():
    assert os.access(SKYVM, os.X_OK), f"{SKYVM} not built"
    return run_skyvm


@pytest.fixture
def data():
    return DATA
