#!/bin/bash
# Builds the root filesystem of skyvm's real-distro test (tests/e2e/test_distro.py,
# `make check-slow`, docs/linux-guest.md): a minimal Debian 12 (bookworm) made by
# debootstrap (--variant=minbase plus systemd-sysv and udev), in an ext4 image made by
# `mkfs.ext4 -d`.
#
#   scripts/build-distro-image.sh          prints the image's path (last line of stdout)
#   scripts/build-distro-image.sh --key    prints the cache key and exits
#
# The image is not booted here; the guest's kernel is Debian's cloud kernel from the
# host's /boot (`linux-image-cloud-amd64`), which the test boots with an initramfs of its
# own.  In the image:
# - root has no password (passwd -d); /etc/machine-id is fixed, so no first-boot setup
#   (systemd-firstboot is masked too: it would wait for answers on the console);
# - skyvm-distro-test.service, wanted by and ordered after multi-user.target, prints
#   `SKYVM-DISTRO: ...` lines on the console (the kernel's console=ttyS0) and runs
#   `systemctl poweroff`.
#
# The image is kept in ${XDG_CACHE_HOME:-~/.cache}/skyvm/distro/<key>/rootfs.ext4 with
# its SHA256SUMS; the key is the sha256 of this script (which holds the suite, variant
# and package list).  An entry is checked before use, by its sums and by `e2fsck -fn`;
# one that fails is removed and the image built again; the two newest entries are kept.
# Users must boot a copy: a boot writes to the image.  SKYVM_DISTRO_CACHE=DIR moves the
# cache.
# SKYVM_DEBIAN_MIRROR (default http://deb.debian.org/debian) is the archive debootstrap
# downloads from; nothing else is downloaded.
#
# Needs root (debootstrap, and mkfs.ext4 -d keeps the files' owners), debootstrap and
# e2fsprogs (installed when missing).  Takes a few minutes and about 100 MB of downloads
# once; then about a second (the checks).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/.." && pwd)
self=$here/$(basename "$0")

suite=bookworm
variant=minbase
include=systemd-sysv,udev
mirror=${SKYVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}

key() { sha256sum <"$self" | cut -d' ' -f1; }
if [ "${1:-}" = --key ]; then
	key
	exit 0
fi

say() { echo "distro: $*" >&2; }
die() { say "$*"; exit 1; }

cache=${SKYVM_DISTRO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skyvm/distro}
k=$(key)
entry=$cache/$k
img=$entry/rootfs.ext4
mkdir -p "$cache"

exec 9>"$cache/.lock"
flock 9

intact() {
	[ -s "$img" ] && [ -s "$entry/SHA256SUMS" ] || return 1
	(cd "$entry" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1 || {
		say "$img does not match its SHA256SUMS"; return 1; }
	e2fsck -fn "$img" >"$entry/e2fsck.log" 2>&1 || {
		say "e2fsck -fn $img failed:"; cat "$entry/e2fsck.log" >&2; return 1; }
}

if intact; then
	echo "$img"
	exit 0
fi
if [ -e "$entry" ]; then
	say "removing the bad cache entry $entry"
	rm -rf "$entry"
fi

[ "$(id -u)" -eq 0 ] || die "building the image needs root (debootstrap, mkfs.ext4 -d)"
"$root_dir/guests/linux/install-packages.sh" debootstrap e2fsprogs

work=$(mktemp -d "$cache/build.XXXXXX")
cleanup() {
	# debootstrap mounts /proc and /sys in the target; never leave them behind
	local m
	for m in $(awk -v w="$work/root" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

tree=$work/root
say "debootstrap --variant=$variant --include=$include $suite from $mirror (a few minutes)"
start=$(date +%s)
if ! debootstrap --variant="$variant" --include="$include" "$suite" "$tree" "$mirror" \
	>"$work/debootstrap.log" 2>&1; then
	tail -30 "$work/debootstrap.log" >&2
	[ -f "$tree/debootstrap/debootstrap.log" ] && tail -30 "$tree/debootstrap/debootstrap.log" >&2
	die "debootstrap failed"
fi
say "debootstrap took $(($(date +%s) - start)) s"

# Configure the guest.
echo skyvm-distro >"$tree/etc/hostname"
# A fixed machine id: the boot is then not a first boot (no systemd-firstboot prompts).
echo "${k:0:32}" >"$tree/etc/machine-id"
ln -sf /dev/null "$tree/etc/systemd/system/systemd-firstboot.service"
chroot "$tree" passwd -d root >/dev/null
cat >"$tree/etc/fstab" <<'EOF'
# skyvm's distro test: the kernel mounts the root (root=/dev/vda rw)
EOF
cat >"$tree/usr/local/sbin/skyvm-distro-report" <<'EOF'
#!/bin/sh
# Run once multi-user.target is reached (skyvm-distro-test.service): what the test reads.
echo "SKYVM-DISTRO: multi-user.target $(systemctl is-active multi-user.target)," \
	"kernel $(uname -r), pid 1 $(cat /proc/1/comm), root $(findmnt -no SOURCE,FSTYPE /)"
echo "SKYVM-DISTRO: failed units: [$(systemctl list-units --failed --plain --no-legend |
	cut -d' ' -f1 | tr '\n' ' ')]"
echo "SKYVM-DISTRO: powering off"
EOF
chmod 755 "$tree/usr/local/sbin/skyvm-distro-report"
cat >"$tree/etc/systemd/system/skyvm-distro-test.service" <<'EOF'
[Unit]
Description=skyvm distro test: report, then power off
After=multi-user.target

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/usr/local/sbin/skyvm-distro-report
ExecStart=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/skyvm-distro-test.service \
	"$tree/etc/systemd/system/multi-user.target.wants/skyvm-distro-test.service"
# Smaller: no package lists or downloaded .debs (apt can fetch them again in the guest).
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/cache/apt/*.bin \
	"$tree"/var/lib/apt/lists/* "$tree"/debootstrap
mkdir -p "$tree/var/lib/apt/lists/partial"

# The image: the tree's size plus half again and 64 MiB for the journal, logs and the
# test's writes.
used_kib=$(du -sk --apparent-size "$tree" | cut -f1)
size_mib=$(((used_kib * 3 / 2) / 1024 + 64))
say "the tree: $((used_kib / 1024)) MiB; image $size_mib MiB"
mkdir -p "$work/entry"
mkfs.ext4 -q -F -L skyvm-distro -d "$tree" "$work/entry/rootfs.ext4" "${size_mib}M" >&2
e2fsck -fn "$work/entry/rootfs.ext4" >"$work/entry/e2fsck.log" 2>&1 ||
	{ cat "$work/entry/e2fsck.log" >&2; die "the new image fails e2fsck -fn"; }
(cd "$work/entry" && sha256sum rootfs.ext4 >SHA256SUMS)
cp "$work/debootstrap.log" "$work/entry/debootstrap.log"
rm -rf "$entry"
mv "$work/entry" "$entry"
say "built $img in $(($(date +%s) - start)) s"
# Keep the two newest entries (another checkout may use the previous script).
for old in $(ls -dt "$cache"/*/ 2>/dev/null | grep -E '/[0-9a-f]{64}/$' | tail -n +3); do
	say "removing the old cache entry $old"
	rm -rf "$old"
done
echo "$img"
