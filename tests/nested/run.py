#!/usr/bin/python3
"""Run skyvm inside the nested-KVM guest (QEMU TCG with AMD SVM; docs/nested-testing.md).

    tests/nested/run.py [--skyvm PATH] [--timeout S] -- ARGS...

Boots the guest, runs `skyvm ARGS...` there (same paths and working directory as here),
prints its stdout to stdout and its stderr to stderr, and exits with skyvm's exit status
(124 when the host-side timeout ends it, with what its threads and the guest were doing;
125 when the guest cannot start).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nested  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skyvm", default=os.environ.get("SKYVM", "build/skyvm"),
                    help="the skyvm binary (default $SKYVM or build/skyvm)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds, multiplied by $SKYVM_NESTED_SLOWDOWN (default 3)")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    skyvm = os.path.abspath(opts.skyvm)
    if not os.access(skyvm, os.X_OK):
        print(f"run.py: {skyvm} is not an executable: build it first", file=sys.stderr)
        return 125
    try:
        guest = nested.start_guest()
    except nested.NestedError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 125
    try:
        r = guest.run([skyvm, *args], timeout=opts.timeout)
    except nested.subprocess.TimeoutExpired as e:
        print(f"run.py: skyvm did not finish within {e.timeout:.0f} s\n{e.report()}",
              file=sys.stderr)
        return 124
    finally:
        guest.close()
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode if r.returncode >= 0 else 128 - r.returncode


if __name__ == "__main__":
    sys.exit(main())
