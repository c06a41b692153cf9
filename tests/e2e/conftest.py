"""Shared fixtures for the end-to-end tests: they drive build/skyvm as a user would.

- `skyvm`: a function running the binary with arguments, returning CompletedProcess
  (text, captured, with a timeout so a hung VMM fails the test instead of CI).
- `kvm`: use in any test that needs /dev/kvm.  Where /dev/kvm opens, the test runs here.
  Where it does not, every skyvm run of the test (`skyvm(...)` and `run_skyvm(...)`) goes
  into the nested-KVM guest (tests/nested, docs/nested-testing.md: QEMU TCG emulating AMD
  SVM, with KVM loaded inside), one guest shared by the whole session, and the test output
  says so.  SKYVM_NESTED=0 turns that off (the kvm tests then skip, and the summary says
  why); SKYVM_NESTED=always uses the nested guest even where /dev/kvm opens.
  A kvm test never silently skips: where the nested guest cannot start (booted three
  times, each failure printed with the guest's console tail), every kvm test FAILS with
  the reason, and a kvm test that skips while KVM is there (here or nested) fails too.
  A nested run that does not answer in time (nested.MAX_RUN at most) is diagnosed (its
  threads' kernel stacks and gdb backtraces), killed and reported as the test's failure,
  with the guest's console tail; the next test gets a working guest.  When the guest
  itself was wedged (it stopped answering, its CPUs stuck: a fault of the emulation, not
  of skyvm), that test runs once more on a fresh guest, printed and counted; a skyvm
  failure or hang is never retried.
- SKYVM_NESTED_STATS=FILE: at the end, a JSON object with where the kvm tests ran, the
  nested guest's boots and runs, and the retries (tests/run.sh prints it).
- Every test has a last-resort time limit when python3-pytest-timeout is installed
  (scripts/deps.sh installs it): TEST_LIMIT seconds, NESTED_TEST_LIMIT for tests that run
  under nested KVM; SKYVM_TEST_TIMEOUT overrides both.  The limit fails that test (SIGALRM)
  and the run goes on; a test's own @pytest.mark.timeout wins.
"""
import fcntl
import json
import os
import signal
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
    """None when /dev/kvm can be opened read-write and answers KVM_GET_API_VERSION,
    else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm unusable on this machine ({e.strerror})"
    try:
        fcntl.ioctl(fd, 0xAE00)  # KVM_GET_API_VERSION
    except OSError as e:
        return f"/dev/kvm on this machine is not KVM ({e.strerror})"
    finally:
        os.close(fd)
    return None


def kvm_restricted_reason():
    """Why this machine's /dev/kvm, though it opens, is not where the kvm tests run by
    default: a PVM-style KVM (kvm_pvm) interprets guest kernel code and cannot run a
    stock Linux guest's user space (../shared/docs/HOST-KVM.md).  None on hardware KVM."""
    if os.path.exists("/sys/module/kvm_pvm"):
        return ("/dev/kvm here is kvm_pvm, a restricted KVM that cannot run stock Linux "
                "guests (docs/nested-testing.md)")
    return None


def kvm_mode():
    """Where the kvm tests run: "/dev/kvm", "nested", or "off" (SKYVM_NESTED=0 and no
    /dev/kvm here, or only a restricted one).  SKYVM_NESTED=always: the nested guest even where /dev/kvm opens;
    SKYVM_NESTED=never: /dev/kvm even where it is a restricted (PVM) one."""
    choice = os.environ.get("SKYVM_NESTED", "")
    if choice == "always":
        return "nested"
    if kvm_unavailable_reason() is None:
        if choice == "never" or kvm_restricted_reason() is None:
            return "/dev/kvm"
    # A restricted /dev/kvm (PVM) or none: the nested guest, unless turned off.
    return "off" if choice == "0" else "nested"


# Debian's cloud-kernel boots (test_linux.py, SKYVM_SLOW=1) cost about a minute in the
# nested guest, whose build installs that kernel anyway: they run by default there.  On a
# /dev/kvm machine they stay opt-in (`make check-slow`: it installs the package, and a
# stock kernel cannot reach user space on a restricted PVM host).  SKYVM_SLOW=0 opts out.
if kvm_mode() == "nested" and "SKYVM_SLOW" not in os.environ:
    os.environ["SKYVM_SLOW"] = "1"


class _Nested:
    """The one nested guest of this pytest session, started by the first test that
    needs it; `active` is set while a `kvm` test runs on it."""
    guest = None
    reason = None  # why it cannot run, once that is known
    active = False
    tests = []
    devkvm_tests = []
    current = None  # the node id of the kvm test running there
    timeouts = []   # (node id, command) of runs that did not answer
    wedged = None   # the node id of the test whose run found the guest wedged
    retried = []    # (node id, why) of tests run again after an emulator-side failure
    config = None


def _nested_guest():
    if _Nested.reason is None and (_Nested.guest is None or not _Nested.guest.alive()):
        try:
            _Nested.guest = nested.start_guest(say=_say)
        except nested.NestedError as e:
            _Nested.reason = str(e)
            _say(f"\nnested: {e}\nnested: every test that needs KVM fails: set "
                 f"SKYVM_NESTED=0 to skip them instead on a machine that cannot run it")
    return None if _Nested.reason else _Nested.guest


def pytest_configure(config):
    _Nested.config = config


def pytest_collection_modifyitems(config, items):
    for item in items:  # tests/run.sh counts where these ran, or that they skipped
        if "kvm" in getattr(item, "fixturenames", ()):
            item.user_properties.append(("needs_kvm", "1"))
    if not config.pluginmanager.hasplugin("timeout"):
        return
    override = os.environ.get("SKYVM_TEST_TIMEOUT")
    nested_tests = kvm_mode() == "nested"
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
    pm = _Nested.config and _Nested.config.pluginmanager
    tr = pm and pm.get_plugin("terminalreporter")
    if tr:
        capman = pm.get_plugin("capturemanager")
        if capman:  # past the test's output capture, to the terminal
            with capman.global_and_fixture_disabled():
                tr.write_line(line)
        else:
            tr.write_line(line)
    else:
        print(line, file=sys.stderr, flush=True)


OFF_REASON = "KVM tests off (SKYVM_NESTED=0)"
# Skips of tests that are outside `make check` by design, each with its own target: the
# Debian cloud-kernel boots (`make check-slow`; minutes each, and a stock kernel cannot
# reach user space on a restricted PVM host's /dev/kvm).  They are counted apart.
OPT_IN = ("slow: ",)


@pytest.fixture
def kvm(request):
    mode = kvm_mode()
    if mode == "/dev/kvm":
        _Nested.devkvm_tests.append(request.node.nodeid)
        request.node.user_properties.append(("kvm", "/dev/kvm"))
        yield "/dev/kvm"
        return
    if mode == "off":
        pytest.skip(f"{OFF_REASON}: {kvm_unavailable_reason() or kvm_restricted_reason()}")
    if _nested_guest() is None:
        pytest.fail(f"needs KVM: {kvm_unavailable_reason() or kvm_restricted_reason() or 'SKYVM_NESTED=always'}, and "
                    f"{_Nested.reason} (SKYVM_NESTED=0 skips the KVM tests instead)",
                    pytrace=False)
    why = (kvm_unavailable_reason() or kvm_restricted_reason()
           or "SKYVM_NESTED=always")
    print(f"nested: {request.node.nodeid} runs skyvm under nested KVM on QEMU TCG "
          f"(AMD SVM emulated; {why})")
    if request.node.nodeid not in _Nested.tests:  # a retried test counts once
        _Nested.tests.append(request.node.nodeid)
    request.node.user_properties.append(("kvm", "nested KVM on QEMU TCG"))
    _Nested.active = True
    _Nested.current = request.node.nodeid
    try:
        yield "/dev/kvm"
    finally:
        _Nested.active = False
        _Nested.current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A kvm test that skips where KVM is there (this machine's or the nested guest's)
    is a failure: it would hide that a guest was never booted."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.skipped or "kvm" not in getattr(item, "fixturenames", ()):
        return
    if hasattr(rep, "wasxfail") or kvm_mode() == "off":
        return
    where = dict(item.user_properties).get("kvm")
    if where is None:  # skipped before the kvm fixture ran (a skipif mark, another fixture)
        where = "/dev/kvm" if kvm_mode() == "/dev/kvm" else "nested KVM on QEMU TCG"
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if reason.removeprefix("Skipped: ").startswith(OPT_IN):
        item.user_properties.append(("opt_in", "1"))  # junit takes them at teardown
        if item.nodeid in _Nested.tests:  # it did not run there after all
            _Nested.tests.remove(item.nodeid)
        return
    rep.outcome = "failed"
    rep.longrepr = (f"a test that needs KVM skipped although KVM is there ({where}): "
                    f"{reason}\nEvery test that needs KVM runs where KVM is available; "
                    f"only SKYVM_NESTED=0 on a machine without /dev/kvm skips them.")


# A kvm test that fails under nested KVM because the nested guest itself failed, not
# skyvm, is run once more on a fresh nested guest, at most RETRY_LIMIT times a session;
# both runs are printed, and the summary names the test and why (tests/run.sh:
# `nested: ... N retried`).  The nested guest failed when a run found it wedged (it
# stopped answering PING, its CPUs stuck; or a process of the run outlived SIGKILL by
# 20 s, which only its stuck kernel allows) or when it died mid-run (QEMU ended or
# stopped it: its own kernel triple-faulted, say).  A skyvm failure or hang (a run that does not answer while
# the nested guest does, a triple fault of skyvm's guest) is never retried.  Where
# /dev/kvm opens nothing is retried.
RETRY_LIMIT = 5


def _nested_guest_failure(item, events_before):
    """Why a failed kvm test's nested guest failed under it, or None."""
    if _Nested.wedged == item.nodeid:
        return "a wedged nested guest"
    for kind, what in nested.EVENTS[events_before:]:
        if kind == "died":
            return f"the nested guest died ({what})"
        if kind == "wedged":
            return "a wedged nested guest"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Runs a kvm test under nested KVM once more, on a fresh guest, when the nested guest
    failed under its first run (above); only the second run's outcome counts, and both
    are printed."""
    if kvm_mode() != "nested" or "kvm" not in getattr(item, "fixturenames", ()):
        return None
    from _pytest.runner import runtestprotocol
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    _Nested.wedged = None
    events_before = len(nested.EVENTS)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    why = (_nested_guest_failure(item, events_before)
           if any(r.failed for r in reports) else None)
    if why and len(_Nested.retried) < RETRY_LIMIT:
        failed = next(r for r in reports if r.failed)
        text = str(failed.longrepr)
        _Nested.retried.append((item.nodeid, why))
        _say(f"\nnested: {item.nodeid} failed after {why}; the first run's failure "
             f"follows; running the test once more on a fresh nested guest\n{text[-6000:]}"
             f"\nnested: retrying {item.nodeid}")
        item.user_properties.append(("nested_retry", why))
        _Nested.wedged = None
        if _Nested.guest is not None:
            _Nested.guest.close()  # a fresh guest: the old one may be in a bad state
        # pytest-timeout's alarm covers the whole protocol: give the retry its own limit.
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, float(
                os.environ.get("SKYVM_TEST_TIMEOUT") or NESTED_TEST_LIMIT))
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
    elif why:
        _say(f"\nnested: {item.nodeid} failed after {why}, but {RETRY_LIMIT} tests were "
             f"retried already: not retried")
    for rep in reports:
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_sessionfinish(session, exitstatus):
    if _Nested.guest is not None:
        _Nested.guest.close()
    path = os.environ.get("SKYVM_NESTED_STATS")
    if path:
        mode = kvm_mode()
        with open(path, "w") as f:
            json.dump({
                "mode": mode,
                "nested_wanted": os.environ.get("SKYVM_NESTED", ""),
                "devkvm_tests": len(_Nested.devkvm_tests),
                "nested_tests": len(_Nested.tests),
                "nested_runs": nested.STATS["runs"],
                "nested_boots": nested.STATS["boots"],
                "nested_boot_failures": nested.STATS["boot_failures"],
                "nested_wedged": nested.STATS["wedged"],
                "nested_resent": nested.STATS["resent"],
                "retried": [f"{t} (after {why})" for t, why in _Nested.retried],
                "timeouts": [t for t, _ in _Nested.timeouts],
                "nested_unavailable": _Nested.reason,
                "why_nested": (None if mode != "nested" else kvm_unavailable_reason()
                               or kvm_restricted_reason() or "SKYVM_NESTED=always"),
            }, f)


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
        for t, why in _Nested.retried:
            terminalreporter.write_line(f"  RETRIED after {why}: {t}")
        terminalreporter.write_line(
            f"nested: {nested.STATS['runs']} runs in {nested.STATS['boots']} guest boots "
            f"({nested.STATS['boot_failures']} did not come up), {len(_Nested.retried)} "
            f"tests retried after a failure of the nested guest")
    if _Nested.reason:
        terminalreporter.write_line(f"nested KVM on QEMU TCG unavailable: {_Nested.reason}")


def run_skyvm(*args, timeout=120, input=None, env=None, wrap=()):
    """wrap: a command that runs skyvm (its argv before skyvm's), e.g. tests/e2e/fake_kvm."""
    e = dict(os.environ)
    if env:
        e.update(env)
    if _Nested.active:
        guest = _nested_guest()
        if guest is None:
            pytest.fail(f"the nested KVM guest stopped working: {_Nested.reason}")
        try:
            return guest.run([*wrap, SKYVM, *map(str, args)], env=e, input=input,
                             timeout=timeout)
        except nested.NestedTimeout as t:
            cmd = " ".join(["skyvm", *map(str, args)])
            _Nested.timeouts.append((_Nested.current, cmd))
            if t.wedged:
                _Nested.wedged = _Nested.current
            _say(f"\nnested: {_Nested.current}: `{cmd}` did not answer within "
                 f"{t.timeout:.0f} s; killed" + ("" if t.reusable else ", guest rebooted")
                 + ("; the guest itself was wedged" if t.wedged else ""))
            pytest.fail(f"{_Nested.current}: {t.report()}", pytrace=False)
        except nested.NestedError as err:  # QEMU died: not retried (the guest was killed)
            pytest.fail(f"{_Nested.current}: {err.args[0]}\n--- the guest's console and logs ---\n"
                        f"{err.console}", pytrace=False)
    return subprocess.run([*wrap, SKYVM, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, input=input, env=e, errors="replace")


@pytest.fixture
def skyvm():
    assert os.access(SKYVM, os.X_OK), f"{SKYVM} not built"
    return run_skyvm


@pytest.fixture
def data():
    return DATA
