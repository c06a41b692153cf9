#!/bin/bash
# `make bench`: build the peer, run the Linux boot comparison if present, then
# every ratio benchmark (bench/bench.py), printing and writing build/bench.json.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/bench
cc -O2 -Wall -Wextra -Werror -o build/bench/bare_kvm bench/bare_kvm.c
extra=""
if [ -x bench/linux.sh ]; then
	bench/linux.sh > build/bench/linux.json || echo "bench: linux boot comparison failed"
	extra=build/bench/linux.json
fi
BENCH_EXTRA_JSON=$extra /usr/bin/python3 bench/bench.py
