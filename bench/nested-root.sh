#!/bin/sh
# Run by bench/bench.py inside the nested-KVM guest (tests/nested/), as root:
#
#   bench/nested-root.sh ROOT FILE_OR_DIR...
#
# Builds a root in guest RAM (ROOT on a fresh tmpfs) holding each FILE at its own
# path, every shared library an executable among them needs (ldd), and each DIR
# (firmware such as QEMU's qboot), then mounts /proc and binds /dev there.  The
# bench then runs `chroot ROOT timeit ...`, so skyvm, bare_kvm and QEMU all start
# from files in RAM, as from a warm page cache on a host.  (Run from the shared /
# itself they would be read over virtiofs with cache=none, which drops the page
# cache at every mmap and makes each exec pay per library: QEMU's 50 libraries
# against bare_kvm's one.)
set -eu
root=$1
shift
mkdir -p "$root"
mountpoint -q "$root" || mount -t tmpfs -o size=1g skyvm-bench "$root"
for f in "$@"; do
	if [ -d "$f" ]; then
		cp -rL --parents "$f" "$root"
		continue
	fi
	cp -L --parents "$f" "$root"
	case $(head -c 4 "$f" | od -An -c | tr -d ' ') in
	177ELF)
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
		done
		;;
	esac
done
mkdir -p "$root/proc" "$root/dev" "$root/tmp"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
du -sh "$root" | cut -f1
