#!/usr/bin/python3
"""Run skyvm commands over and over in ONE nested-KVM guest, to catch rare hangs.

    tests/nested/soak.py [--skyvm PATH] [--count N] [--limit S] [--log FILE] [-- ARGS...]

Boots the guest once (docs/nested-testing.md), then runs each command in turn, N rounds:
by default `host-check --json` and `run --cpus 2 --timeout 60` of the default guest.  A
run with no answer within --limit seconds (host side) is diagnosed in the guest (each
thread's state and kernel stack, gdb's backtraces), killed, and the report printed; the
guest is rebooted only when it cannot go on.  Prints one line per run, then a summary
with each command's exit statuses and its slowest run; exits 1 when any run hung.
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nested  # noqa: E402

DEFAULT_COMMANDS = [["host-check", "--json"], ["run", "--cpus", "2", "--timeout", "60"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skyvm", default=os.environ.get("SKYVM", "build/skyvm"))
    ap.add_argument("--count", type=int, default=20, help="rounds (default 20)")
    ap.add_argument("--limit", type=float, default=300,
                    help="host-side seconds per run before it counts as hung (default 300)")
    ap.add_argument("--log", help="append every hang report to this file too")
    ap.add_argument("args", nargs=argparse.REMAINDER,
                    help="one skyvm command to repeat instead of the default two")
    opts = ap.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    commands = [args] if args else DEFAULT_COMMANDS
    skyvm = os.path.abspath(opts.skyvm)
    t0 = time.monotonic()
    try:
        guest = nested.start_guest()
    except nested.NestedError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 125
    print(f"soak: guest ready in {time.monotonic() - t0:.1f} s", flush=True)
    statuses = collections.defaultdict(collections.Counter)
    slowest = collections.defaultdict(float)
    hangs = 0
    try:
        for n in range(opts.count):
            for cmd in commands:
                name = " ".join(cmd)
                t = time.monotonic()
                try:
                    r = guest.run([skyvm, *cmd], timeout=opts.limit / nested.SLOWDOWN)
                    status = r.returncode
                    tail = (r.stderr.strip().splitlines() or [""])[-1][:100]
                except nested.NestedTimeout as e:
                    hangs += 1
                    status = "HANG"
                    tail = "see the report below"
                    report = e.report(tail=20000)
                    print(report, flush=True)
                    if opts.log:
                        with open(opts.log, "a") as f:
                            f.write(f"=== round {n}: {name}\n{report}\n")
                dt = time.monotonic() - t
                statuses[name][status] += 1
                slowest[name] = max(slowest[name], dt)
                print(f"soak: {n:3d} {name}: {status} in {dt:.1f} s  {tail}", flush=True)
    finally:
        guest.close()
    for name, c in statuses.items():
        print(f"soak: {name}: {dict(c)}, slowest {slowest[name]:.1f} s")
    print(f"soak: {hangs} hung, {guest.resent} RUN lines the guest missed and got again, "
          f"{time.monotonic() - t0:.0f} s in all")
    return 1 if hangs else 0


if __name__ == "__main__":
    sys.exit(main())
