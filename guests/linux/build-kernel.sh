#!/bin/bash
# Builds skyvm's Linux test kernel from Debian's linux-source-6.1:
# `make tinyconfig`, then guests/linux/skyvm.config merged on top.
#
#   guests/linux/build-kernel.sh [OUTDIR]      (default build/linux)
#
# Outputs OUTDIR/bzImage and OUTDIR/vmlinux (the ELF with the PVH entry
# note).  The source is unpacked once per package version under OUTDIR/src;
# the kernel is rebuilt only when the fragment, this script or the source
# version changes (a sha256 stamp in OUTDIR/kernel.stamp).  A lock keeps two
# `make check` runs from building into the same tree at once.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)
fragment=$here/skyvm.config

exec 9>"$out/.kernel.lock"
flock 9

"$here/install-packages.sh" linux-source-6.1 make gcc libc6-dev flex bison bc libelf-dev \
	libssl-dev lz4 xz-utils binutils

version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
tarball=/usr/src/linux-source-6.1.tar.xz
src=$out/src/linux-source-6.1
obj=$out/obj
[ -r "$tarball" ] || { echo "linux: $tarball missing (linux-source-6.1 $version)" >&2; exit 1; }

stamp=$( (cat "$fragment" "$here/build-kernel.sh"; echo "$version") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/kernel.stamp" 2>/dev/null)" = "$stamp" ] &&
	[ -s "$out/bzImage" ] && [ -s "$out/vmlinux" ]; then
	echo "linux: kernel up to date ($out/bzImage, $out/vmlinux)"
	exit 0
fi

start=$(date +%s)
if [ "$(cat "$out/src/.unpacked" 2>/dev/null)" != "$version" ]; then
	echo "linux: unpacking linux-source-6.1 $version"
	rm -rf "$out/src" "$obj"
	mkdir -p "$out/src"
	tar -xJf "$tarball" -C "$out/src"
	echo "$version" >"$out/src/.unpacked"
fi

log=$out/kernel-build.log
: >"$log"
fail() {
	echo "linux: $1; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}

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

# The PVH entry is an ELF note, owner "Xen", type XEN_ELFNOTE_PHYS32_ENTRY
# (18); without it skyvm's (and QEMU's) ELF loader cannot enter the kernel.
readelf -n "$obj/vmlinux" | grep -A1 -w Xen | grep -q "0x00000012\|PHYS32_ENTRY" ||
	fail "vmlinux has no PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"
grep -qa "stealtime: cpu" "$obj/vmlinux" ||
	fail "kvm.c was not built with -DDEBUG (no stealtime message in vmlinux)"

cp "$obj/arch/x86/boot/bzImage" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
cp "$obj/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$obj/.config" "$out/config"
echo "$stamp" >"$out/kernel.stamp"
echo "linux: kernel built in $(($(date +%s) - start)) s: $out/bzImage ($(stat -c %s "$out/bzImage") bytes), $out/vmlinux"
