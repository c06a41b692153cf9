"""Shared fixtures for the end-to-end tests: they drive build/skyvm as a user would.

- `skyvm`: a function running the binary with arguments, returning CompletedProcess
  (text, captured, with a timeout so a hung VMM fails the test instead of CI).
- `kvm`: use in any test that needs /dev/kvm; it skips with the reason printed when
  /dev/kvm is truly absent or unusable, and never otherwise.
"""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKYVM = os.path.abspath(os.path.join(ROOT, os.environ.get("SKYVM", "build/skyvm")))
DATA = os.path.join(ROOT, "tests", "data")


def kvm_unavailable_reason():
    """None when /dev/kvm can be opened read-write, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm unusable on this machine ({e.strerror})"
    os.close(fd)
    return None


@pytest.fixture
def kvm():
    reason = kvm_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return "/dev/kvm"


def run_skyvm(*args, timeout=120, input=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([SKYVM, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, input=input, env=e, errors="replace")


@pytest.fixture
def skyvm():
    assert os.access(SKYVM, os.X_OK), f"{SKYVM} not built"
    return run_skyvm


@pytest.fixture
def data():
    return DATA
