"""The test kernel's cache (guests/linux/build-kernel.sh): a kernel built once is kept
outside the checkout, keyed by its inputs, and checked against its sums before use.

The build itself is not repeated here (15-25 minutes on 2 cores): with
SKYVM_KERNEL_PREBUILT the script takes the kernel `make check` built as its build's output;
everything else (the key, the checks of the cached files, removing a corrupted entry,
storing and reusing an entry) is the script's real path.
"""
import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

SCRIPT = os.path.join(ROOT, "guests", "linux", "build-kernel.sh")
LINUX = os.path.join(ROOT, os.environ.get("SKYVM_TEST_KERNEL_DIR") or "build/linux")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def built():
    """The kernel `make check` built (or took from the cache): bzImage, vmlinux, config."""
    for f in ("bzImage", "vmlinux", "config"):
        if not os.path.exists(os.path.join(LINUX, f)):
            pytest.fail(f"{LINUX}/{f} missing: run `make linux` (make check builds it)")
    return LINUX


def build(out, cache, prebuilt=None):
    env = dict(os.environ, SKYVM_KERNEL_CACHE=str(cache))
    env.pop("SKYVM_KERNEL_PREBUILT", None)
    if prebuilt:
        env["SKYVM_KERNEL_PREBUILT"] = str(prebuilt)
    p = subprocess.run([SCRIPT, str(out)], capture_output=True, text=True, env=env,
                       timeout=600)
    print(p.stdout, p.stderr)
    return p


def key():
    p = subprocess.run([SCRIPT, "--key"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_a_corrupted_cached_bzimage_is_rebuilt_not_used(built, tmp_path):
    cache = tmp_path / "cache"
    # A first build stores the kernel in the cache, with its sums.
    p = build(tmp_path / "out1", cache, prebuilt=built)
    assert p.returncode == 0, p.stderr
    entry = cache / "linux" / key()
    assert "cached as " + str(entry) in p.stdout
    good = sha256(os.path.join(built, "bzImage"))
    assert sha256(entry / "bzImage") == good
    assert "bzImage" in (entry / "SHA256SUMS").read_text()

    # A fresh checkout with the same inputs copies it, without building.
    p = build(tmp_path / "out2", cache)
    assert p.returncode == 0, p.stderr
    assert "kernel from the cache" in p.stdout and "built in" not in p.stdout
    assert sha256(tmp_path / "out2" / "bzImage") == good

    # One byte of the cached bzImage changes: the next fresh checkout must notice,
    # drop the entry and build again, never boot the corrupted kernel.
    data = bytearray((entry / "bzImage").read_bytes())
    data[len(data) // 2] ^= 0x40
    (entry / "bzImage").write_bytes(bytes(data))
    p = build(tmp_path / "out3", cache, prebuilt=built)
    assert p.returncode == 0, p.stderr
    assert "does not match its" in p.stderr and "corrupted" in p.stderr
    assert "kernel from the cache" not in p.stdout
    assert "SKYVM_KERNEL_PREBUILT: taking the build's output" in p.stdout
    assert "built in" in p.stdout
    assert sha256(tmp_path / "out3" / "bzImage") == good
    # ...and the cache holds the good kernel again.
    assert sha256(entry / "bzImage") == good
    p = build(tmp_path / "out4", cache)
    assert "kernel from the cache" in p.stdout, p.stderr
    assert sha256(tmp_path / "out4" / "bzImage") == good


def test_a_corrupted_bzimage_in_the_build_directory_is_replaced(built, tmp_path):
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    assert build(out, cache, prebuilt=built).returncode == 0
    p = build(out, cache)
    assert "kernel up to date" in p.stdout, p.stderr
    with open(out / "bzImage", "r+b") as f:
        f.seek(4096)
        b = f.read(1)
        f.seek(4096)
        f.write(bytes([b[0] ^ 1]))
    p = build(out, cache)
    assert p.returncode == 0, p.stderr
    assert "kernel up to date" not in p.stdout
    assert "kernel from the cache" in p.stdout
    assert sha256(out / "bzImage") == sha256(os.path.join(built, "bzImage"))


def test_the_key_changes_with_the_config_fragment(tmp_path):
    """Another fragment is another kernel: the key covers it (and the script, and the
    source version), so an edited skyvm.config never gets a stale cached kernel."""
    here = tmp_path / "linux"
    shutil.copytree(os.path.dirname(SCRIPT), here,
                    ignore=shutil.ignore_patterns("*.cpio*", "build"))
    script = str(here / "build-kernel.sh")

    def k():
        p = subprocess.run([script, "--key"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    first = k()
    assert first == key()
    with open(here / "skyvm.config", "a") as f:
        f.write("# CONFIG_SOMETHING_NEW is not set\n")
    second = k()
    assert second != first and len(second) == 64
    with open(here / "build-kernel.sh", "a") as f:
        f.write("\n# another build step\n")
    assert k() not in (first, second)
