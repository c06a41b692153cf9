#!/bin/busybox sh
# /init of the nested-KVM test guest (tests/nested/build-initramfs.sh builds the image,
# tests/nested/nested.py boots it under QEMU TCG and talks to it).
#
# ttyS0 is the console (a log on the host side); ttyS1 is the control line, one line per
# message, so kernel messages never mix with the protocol:
#   guest -> host  READY                     /dev/kvm works and the host's / is mounted
#                  FAIL <reason>             it cannot work; the guest powers off
#   host -> guest  RUN <id> <script>         run <script> (a host path) chrooted into
#                                            the host's /
#   guest -> host  DONE <id> <status>        its exit status
# The host writes each request as a shell script into a directory both sides see: the
# host's / is this guest's /host, over virtiofs, so every path the tests use (the skyvm
# binary, its libraries, test data, pytest's tmp_path) is the same path inside the chroot.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

# Open the control line once, for the whole run: while no one holds a tty open, the
# kernel drops what arrives on it, and the host may send a request right after READY.
exec 3<>/dev/ttyS1
stty raw -echo 115200 <&3

fail() {
	echo "FAIL $*" >&3
	echo "nested: $*"
	poweroff -f
}

while read -r m; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m: $(dmesg | tail -3 | tr '\n' ' ')"
done </lib/modules/order
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm_amd: $(dmesg | grep -i -E 'kvm|svm' | tail -3 | tr '\n' ' ')"

mount -t virtiofs host /host || fail "cannot mount the host's / (virtiofs tag 'host')"
mount -t proc proc /host/proc || fail "cannot mount /host/proc"
mount -t sysfs sys /host/sys || fail "cannot mount /host/sys"
mount -t devtmpfs dev /host/dev || fail "cannot mount /host/dev"
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm

echo READY >&3
while read -r verb id script; do
	case $verb in
	RUN)
		chroot /host /bin/sh "$script"
		echo "DONE $id $?" >&3
		;;
	QUIT) break ;;
	*) echo "BAD $verb" >&3 ;;
	esac
done <&3
sync
poweroff -f
