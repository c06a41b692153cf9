#!/bin/bash
# Builds skyvm's test initramfs: busybox-static and guests/linux/init.
#
#   guests/linux/build-initramfs.sh [OUTDIR]   (default build/linux)
#
# Outputs OUTDIR/initramfs.cpio.gz (what the tests boot) and
# OUTDIR/initramfs.cpio (the same, uncompressed: on a host whose KVM
# interprets guest kernel code, gunzip in the guest costs seconds).  The
# archive is written by the kernel's own gen_init_cpio from a list, so
# /dev/console and /dev/kmsg are device nodes without root.  Rebuilt only when an input
# changes (a sha256 stamp in OUTDIR/initramfs.stamp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.initramfs.lock"
flock 9

"$here/install-packages.sh" busybox-static gcc libc6-dev gzip linux-source-6.1 xz-utils

busybox=/bin/busybox
version=$(dpkg-query -W -f='${Version}' busybox-static)
stamp=$( (cat "$here/init" "$here/build-initramfs.sh"; echo "$version") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/initramfs.stamp" 2>/dev/null)" = "$stamp" ] &&
	[ -s "$out/initramfs.cpio.gz" ] && [ -s "$out/initramfs.cpio" ]; then
	echo "linux: initramfs up to date ($out/initramfs.cpio.gz)"
	exit 0
fi

# gen_init_cpio is one C file of the kernel source: take it from the
# unpacked tree when build-kernel.sh has made one, else from the tarball.
tool=$out/tools/gen_init_cpio
if [ ! -x "$tool" ]; then
	mkdir -p "$out/tools"
	gen_src=$out/src/linux-source-6.1/usr/gen_init_cpio.c
	if [ ! -r "$gen_src" ]; then
		tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$out/tools" --strip-components=2 \
			linux-source-6.1/usr/gen_init_cpio.c
		gen_src=$out/tools/gen_init_cpio.c
	fi
	cc -O2 -o "$tool.tmp" "$gen_src" && mv "$tool.tmp" "$tool"
fi

# The applets /init calls, as links to the one static binary.
applets="sh mount uname grep cat reboot poweroff"
list=$out/initramfs.list
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/kmsg 0644 0 0 c 1 11"
	echo "dir /proc 0755 0 0"
	echo "dir /sys 0755 0 0"
	echo "dir /bin 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	for a in $applets; do echo "slink /bin/$a busybox 0777 0 0"; done
	echo "file /init $here/init 0755 0 0"
} >"$list"

"$tool" -t 0 "$list" >"$out/initramfs.cpio.tmp"
gzip -9 -n -c "$out/initramfs.cpio.tmp" >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "$stamp" >"$out/initramfs.stamp"
echo "linux: initramfs built: $out/initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes)"
