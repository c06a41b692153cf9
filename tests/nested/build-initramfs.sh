#!/bin/bash
# Builds the initramfs of the nested-KVM test guest (docs/nested-testing.md): a Linux
# booted by QEMU TCG on a CPU with AMD SVM, which loads kvm + kvm_amd and so has a
# /dev/kvm on a machine that has none.
#
#   tests/nested/build-initramfs.sh [OUTDIR]   (default build/nested)
#
# Outputs OUTDIR/initramfs.cpio.gz (busybox-static, tests/nested/init.sh as /init, the
# kernel modules it loads) and OUTDIR/kernel (a symlink to the matching vmlinuz).  skyvm
# itself is not in it: the guest mounts this machine's / over virtiofs and runs the very
# binary under test, so nothing has to be rebuilt statically.  Rebuilt only when an input
# changes (a sha256 stamp in OUTDIR/initramfs.stamp).
#
# Exits 0 with the outputs, or 1 with the reason on stderr and in OUTDIR/unavailable.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-build/nested}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.lock"
flock 9

unavailable() {
	echo "nested: unavailable: $*" >&2
	echo "$*" >"$out/unavailable"
	exit 1
}

if [ "${SKYVM_NESTED_NO_INSTALL:-0}" != 1 ]; then
	"$root/guests/linux/install-packages.sh" busybox-static linux-image-cloud-amd64 \
		qemu-system-x86 kmod ||
		unavailable "could not install busybox-static, linux-image-cloud-amd64, qemu-system-x86"
fi
command -v qemu-system-x86_64 >/dev/null || unavailable "no qemu-system-x86_64"
[ -x /usr/lib/qemu/virtiofsd ] || unavailable "no /usr/lib/qemu/virtiofsd (qemu-system-common)"
[ -x /bin/busybox ] || unavailable "no /bin/busybox (busybox-static)"

# The newest installed kernel image that ships kvm-amd.ko and virtiofs.ko as modules.
kernel="" release=""
for k in $(ls -v /boot/vmlinuz-* 2>/dev/null); do
	r=${k#/boot/vmlinuz-}
	[ -r "$k" ] || continue
	[ -n "$(find "/lib/modules/$r" -name 'kvm-amd.ko*' 2>/dev/null)" ] || continue
	[ -n "$(find "/lib/modules/$r" -name 'virtiofs.ko*' 2>/dev/null)" ] || continue
	kernel=$k release=$r
done
[ -n "$kernel" ] || unavailable "no /boot/vmlinuz-* with kvm-amd.ko and virtiofs.ko modules"

# The modules /init loads, in an order that satisfies their dependencies
# (modinfo's "depends" field, resolved depth first).
order=()
add_module() {
	local m=$1 dep
	for done_m in "${order[@]}"; do [ "$done_m" = "$m" ] && return 0; done
	for dep in $(/sbin/modinfo -k "$release" -F depends "$m" | tr ',' ' '); do
		add_module "$dep"
	done
	order+=("$m")
}
for m in kvm_amd virtio_pci virtiofs; do
	/sbin/modinfo -k "$release" -n "$m" >/dev/null 2>&1 || unavailable "$release has no $m module"
	add_module "$m"
done
# Optional: vhost-net (and tun) for skyvm's --net ...,vhost=on tests (docs/net.md): with
# them loaded the guest has /dev/vhost-net; a kernel without them just goes without.
for m in vhost_net tun; do
	if /sbin/modinfo -k "$release" -n "$m" >/dev/null 2>&1; then add_module "$m"; fi
done

files=("$here/init.sh" "$here/build-initramfs.sh" /bin/busybox "$kernel")
for m in "${order[@]}"; do files+=("$(/sbin/modinfo -k "$release" -n "$m")"); done
stamp=$( (echo "$release ${order[*]}"; cat "${files[@]}") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/initramfs.stamp" 2>/dev/null)" = "$stamp" ] && [ -s "$out/initramfs.cpio.gz" ]; then
	echo "nested: initramfs up to date ($out/initramfs.cpio.gz, kernel $release)"
	rm -f "$out/unavailable"
	exit 0
fi

tree=$(mktemp -d "$out/tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,dev,proc,sys,host,lib/modules}
cp /bin/busybox "$tree/bin/busybox"
cp "$here/init.sh" "$tree/init"
chmod 755 "$tree/init" "$tree/bin/busybox"
for m in "${order[@]}"; do
	f=$(/sbin/modinfo -k "$release" -n "$m")
	case $f in
	*.ko) cp "$f" "$tree/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$tree/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$tree/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$tree/lib/modules/$m.ko" ;;
	*) unavailable "module $f: unknown compression" ;;
	esac
done
printf '%s\n' "${order[@]}" >"$tree/lib/modules/order"

(cd "$tree" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
ln -sfn "$kernel" "$out/kernel"
echo "$stamp" >"$out/initramfs.stamp"
rm -f "$out/unavailable"
echo "nested: built $out/initramfs.cpio.gz (kernel $release; modules ${order[*]})"
