#!/bin/bash
# Linux boot, side by side: exec to the kernel's "Run /init as init process" for
# skyvm and for qemu-system-x86_64 -enable-kvm -M pc, on the same test kernel
# (build/linux/bzImage), initramfs and command line.  Now one part of
# bench/bench.py (in the nested-KVM guest when this machine has no /dev/kvm);
# this runs only that part.
#
#   bench/linux.sh [RUNS]          (default 3 runs per VMM; SKYVM=build/skyvm)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_LINUX_RUNS=${1:-3} BENCH_ONLY=linux exec bench/run.sh
