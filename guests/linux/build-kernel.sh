#!/bin/bash
# Builds skyvm's Linux test kernel from Debian's linux-source-6.1:
# `make tinyconfig`, then guests/linux/skyvm.config merged on top.
#
#   guests/linux/build-kernel.sh [OUTDIR]      (default build/linux)
#   guests/linux/build-kernel.sh --key         prints the cache key and exits
#
# Outputs OUTDIR/bzImage and OUTDIR/vmlinux (the ELF with the PVH entry
# note), with their sha256 sums in OUTDIR/SHA256SUMS.  The source is
# unpacked once per package version under OUTDIR/src; the kernel is rebuilt
# only when the fragment, this script or the source version changes (their
# sha256 is the key, in OUTDIR/kernel.stamp).  A lock keeps two `make check`
# runs from building into the same tree at once.
#
# The cache: every kernel built is also kept, with its SHA256SUMS, outside the
# checkout in ${XDG_CACHE_HOME:-~/.cache}/skyvm/linux/<key>/, so a fresh
# clone (CI's) with the same inputs copies it in seconds instead of a 15-25
# minute build on 2 cores.  A cached kernel is checked against its sums
# before use; one that does not match is removed and the kernel rebuilt.
#   SKYVM_KERNEL_CACHE=DIR   the cache's directory instead; =off: no cache
#   SKYVM_KERNEL_PREBUILT=DIR  for the cache's own test
#                            (tests/e2e/test_kernel_cache.py): where it would
#                            compile, take DIR/bzImage, DIR/vmlinux and
#                            DIR/config as the build's output instead; every
#                            check of the output and the cache still runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/skyvm.config
packages=(linux-source-6.1 make gcc libc6-dev flex bison bc libelf-dev libssl-dev lz4
	xz-utils binutils)

# The key: everything that goes into the kernel.  Anything else the build
# uses (gcc, binutils) comes from the same Debian release as the source.
key() {
	local version
	version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	(cat "$fragment" "$here/build-kernel.sh"; echo "$version") | sha256sum | cut -d' ' -f1
}
if [ "${1:-}" = --key ]; then
	"$here/install-packages.sh" linux-source-6.1 >&2
	key
	exit 0
fi

out=${1:-build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.kernel.lock"
flock 9

"$here/install-packages.sh" "${packages[@]}"

version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
tarball=/usr/src/linux-source-6.1.tar.xz
src=$out/src/linux-source-6.1
obj=$out/obj
prebuilt=${SKYVM_KERNEL_PREBUILT:-}
[ -n "$prebuilt" ] || [ -r "$tarball" ] ||
	{ echo "linux: $tarball missing (linux-source-6.1 $version)" >&2; exit 1; }

stamp=$(key)
files=(bzImage vmlinux config)

# intact DIR: DIR has the kernel and its sums, and they match.
intact() {
	local f
	for f in "${files[@]}" SHA256SUMS; do [ -s "$1/$f" ] || return 1; done
	(cd "$1" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}
# install FROM TO: copy the kernel (and its sums) in, each file replaced at once.
install_kernel() {
	local f
	for f in "${files[@]}" SHA256SUMS; do
		cp "$1/$f" "$2/$f.tmp" && mv "$2/$f.tmp" "$2/$f"
	done
}

if [ "$(cat "$out/kernel.stamp" 2>/dev/null)" = "$stamp" ] && intact "$out"; then
	echo "linux: kernel up to date ($out/bzImage, $out/vmlinux)"
	exit 0
fi

cache=${SKYVM_KERNEL_CACHE:-${XDG_CACHE_HOME:-${HOME:-}/.cache}/skyvm}
if [ "$cache" = off ] || [ "$cache" = /.cache/skyvm ]; then
	cache=""
else
	cache=$cache/linux
	entry=$cache/$stamp
fi
if [ -n "$cache" ] && [ -d "$entry" ]; then
	if intact "$entry"; then
		rm -f "$out/kernel.stamp"
		install_kernel "$entry" "$out"
		if intact "$out"; then
			echo "$stamp" >"$out/kernel.stamp"
			touch "$entry"
			echo "linux: kernel from the cache ($entry, same inputs): $out/bzImage, $out/vmlinux"
			exit 0
		fi
		echo "linux: the kernel copied from the cache does not match its sums; building it" >&2
	else
		echo "linux: the cached kernel in $entry is incomplete or does not match its" \
			"SHA256SUMS (corrupted): removing it and building the kernel again" >&2
		rm -rf "$entry"
	fi
fi

start=$(date +%s)
log=$out/kernel-build.log
: >"$log"
fail() {
	echo "linux: $1; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}

if [ -n "$prebuilt" ]; then
	echo "linux: SKYVM_KERNEL_PREBUILT: taking the build's output from $prebuilt"
	obj=$out/prebuilt-obj
	rm -rf "$obj"
	mkdir -p "$obj/arch/x86/boot"
	cp "$prebuilt/bzImage" "$obj/arch/x86/boot/bzImage"
	cp "$prebuilt/vmlinux" "$obj/vmlinux"
	cp "$prebuilt/config" "$obj/.config"
else
	if [ "$(cat "$out/src/.unpacked" 2>/dev/null)" != "$version" ]; then
		echo "linux: unpacking linux-source-6.1 $version"
		rm -rf "$out/src" "$obj"
		mkdir -p "$out/src"
		tar -xJf "$tarball" -C "$out/src"
		echo "$version" >"$out/src/.unpacked"
	fi

	echo "linux: configuring (tinyconfig + $(basename "$fragment"))"
	mkdir -p "$obj"
	kmake() { make -C "$src" O="$obj" ARCH=x86_64 "$@" >>"$log" 2>&1; }
	kmake tinyconfig || fail "make tinyconfig failed"
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m .config "$fragment") >>"$log" 2>&1 ||
		fail "merging the fragment failed"
	kmake olddefconfig || fail "make olddefconfig failed"

	# Kconfig silently drops what a dependency forbids: check every line of the
	# fragment against the final .config and name the ones that did not stick.
	missing=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			if ! grep -qxF -- "$line" "$obj/.config"; then missing+=("$line"); fi
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$obj/.config"; then missing+=("$line"); fi
			;;
		esac
	done <"$fragment"
	if [ ${#missing[@]} -ne 0 ]; then
		echo "linux: these options of $(basename "$fragment") did not stick in .config:" >&2
		for line in "${missing[@]}"; do
			opt=${line#\# }
			opt=${opt%%[= ]*}
			now=$(grep -E "^(# )?$opt[= ]" "$obj/.config" || echo "absent")
			echo "  wanted: $line    got: $now" >&2
		done
		exit 1
	fi

	# kvm.c announces steal time and async PF per CPU with pr_debug; -DDEBUG for
	# that one object makes those lines print, so the guest log proves each CPU
	# registered.  (A command-line variable: Kbuild reads CFLAGS_<stem>.o.)
	echo "linux: building bzImage and vmlinux with $(nproc) jobs (log: $log)"
	kmake -j"$(nproc)" "CFLAGS_kvm.o=-DDEBUG" bzImage vmlinux || fail "kernel build failed"
fi

# The PVH entry is an ELF note, owner "Xen", type XEN_ELFNOTE_PHYS32_ENTRY
# (18); without it skyvm's (and QEMU's) ELF loader cannot enter the kernel.
readelf -n "$obj/vmlinux" | grep -A1 -w Xen | grep -q "0x00000012\|PHYS32_ENTRY" ||
	fail "vmlinux has no PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"
grep -qa "stealtime: cpu" "$obj/vmlinux" ||
	fail "kvm.c was not built with -DDEBUG (no stealtime message in vmlinux)"

rm -f "$out/kernel.stamp"
cp "$obj/arch/x86/boot/bzImage" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
cp "$obj/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$obj/.config" "$out/config.tmp" && mv "$out/config.tmp" "$out/config"
(cd "$out" && sha256sum "${files[@]}" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "$stamp" >"$out/kernel.stamp"
echo "linux: kernel built in $(($(date +%s) - start)) s: $out/bzImage ($(stat -c %s "$out/bzImage") bytes), $out/vmlinux"

# Into the cache: a whole entry appears at once (a rename), so a reader never
# sees half of one; the oldest entries beyond the newest four are dropped.
if [ -n "$cache" ] && mkdir -p "$cache" 2>/dev/null; then
	tmp=$(mktemp -d "$cache/.new.XXXXXX")
	if install_kernel "$out" "$tmp" && intact "$tmp" && mv -T "$tmp" "$entry" 2>/dev/null; then
		echo "linux: cached as $entry"
	else
		rm -rf "$tmp"
		echo "linux: could not store the kernel in the cache ($cache)" >&2
	fi
	ls -1dt "$cache"/*/ 2>/dev/null | tail -n +5 | while read -r old; do rm -rf "$old"; done
fi
