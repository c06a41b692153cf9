#!/bin/bash
# `make bench`: build the peers and the stopwatch, the Linux test kernel for the
# boot comparison, then every benchmark (bench/bench.py), which prints a table and
# writes build/bench.json.  SKYVM selects the binary (default build/skyvm).
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/bench
cc -O2 -Wall -Wextra -Werror -o build/bench/bare_kvm bench/bare_kvm.c
cc -O2 -Wall -Wextra -Werror -o build/bench/timeit bench/timeit.c
if [ "${BENCH_LINUX_RUNS:-1}" != 0 ]; then
	make --no-print-directory linux >&2 || echo "bench: no Linux test kernel: boot comparison skipped" >&2
fi
rc=0
/usr/bin/python3 bench/bench.py || rc=$?
# Snapshot, restore and live migration against QEMU (bench/snapshot.py); BENCH_SNAPSHOT=0 skips.
if [ "${BENCH_SNAPSHOT:-1}" != 0 ]; then
	/usr/bin/python3 bench/snapshot.py || rc=1
fi
# virtio-blk and virtio-net against QEMU microvm (bench/io.py); BENCH_IO=0 skips, and so
# does a BENCH_ONLY list without "io" (bench/linux.sh's).
if [ "${BENCH_IO:-1}" != 0 ] && [[ -z "${BENCH_ONLY:-}" || ",$BENCH_ONLY," == *,io,* ]]; then
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -pthread -o build/bench/shm_shim.so bench/shm_shim.c
	/usr/bin/python3 bench/io.py || rc=1
fi
exit $rc
