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
#   guest -> host  STARTED <id> [again]      at once (the host sends RUN again when it
#                                            does not come; /init runs an id only once
#                                            and says "again" to a repeated one)
#   guest -> host  DONE <id> <status>        its exit status
#   host -> guest  DIAG <id> <pid>           the guest's own view of its processes, <pid> and
#                                            every running or blocked task (state, wchan,
#                                            kernel stack), on the console; it needs
#                                            nothing from /host, so it also works when
#                                            the host's / (virtiofs) is what hangs
#   guest -> host  DIAGDONE <id>             the console has all of it
#   host -> guest  KILL <id> <pid>           SIGKILL to every process of <pid>'s session
#                                            (each run is a session of its own), again
#                                            each second for 20 s while any is left;
#   guest -> host  KILLED <id> <left>        how many are still there after that: more
#                                            than 0 means SIGKILL cannot end them, which
#                                            only a stuck kernel (this guest's) does
#   host -> guest  PING <id>                 PONG <id>: the guest's shell is alive
# Requests run in the background, so a second one can be served while one hangs: the host
# uses that to look at a stuck run (its threads' kernel stacks, gdb) and to kill it, and
# the guest stays usable for the next test.  Each request's stdin is /dev/null and it does
# not inherit the control line.
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

diag() {
	echo "=== nested: diagnosis $1 of pid $2 at uptime $(cut -d' ' -f1 /proc/uptime) s"
	for p in /proc/[0-9]*; do
		[ -n "$(cat $p/cmdline 2>/dev/null)" ] || continue # kernel threads
		echo "${p#/proc/} $(sed 's/.*) \(.\).*/\1/' $p/stat) $(cat $p/wchan)" \
			"$(tr '\0' ' ' <$p/cmdline | cut -c1-120)"
	done
	[ -d "/proc/$2" ] || set -- "$1" none
	for t in /proc/$2/task/*; do
		[ -d "$t" ] || continue
		echo "--- thread ${t##*/} ($(cat $t/comm)): $(sed 's/.*) \(.\).*/\1/' $t/stat)," \
			"wchan $(cat $t/wchan)"
		cat $t/stack
	done
	echo "--- every task running (R) or blocked (D)"
	for t in /proc/[0-9]*/task/[0-9]*; do
		st=$(sed 's/.*) \(.\).*/\1/' $t/stat 2>/dev/null)
		case $st in
		R | D)
			echo "--- ${t#/proc/} ($(cat $t/comm)): $st, wchan $(cat $t/wchan)"
			cat $t/stack
			;;
		esac
	done
	echo "=== nested: end of diagnosis $1"
}

# SIGKILL to every live process of session $1 each second until none is left (at most
# 20 s); prints how many are left.  Zombies are dead already: not counted.
kill_session() {
	sid=$1 n=0
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		n=0
		for p in /proc/[0-9]*; do
			f=$(sed 's/.*) //' "$p/stat" 2>/dev/null) || continue
			set -- $f
			[ "$4" = "$sid" ] && [ "$1" != Z ] || continue
			kill -KILL "${p#/proc/}" 2>/dev/null
			n=$((n + 1))
		done
		[ "$n" -eq 0 ] && break
		sleep 1
	done
	echo "$n"
}

mkdir -p /seen
echo READY >&3
while read -r verb id script; do
	case $verb in
	RUN)
		# STARTED first: the host sends RUN again when it hears nothing (a line lost on
		# the way), and a RUN seen before is not run twice.
		if [ -e "/seen/$id" ]; then
			echo "STARTED $id again" >&3
			continue
		fi
		: >"/seen/$id"
		echo "STARTED $id" >&3
		(
			# A session of its own (its shell's pid is the session id), so KILL finds
			# every process of the run, those in process groups of their own
			# (timeout(1) makes one) included.
			setsid chroot /host /bin/sh "$script" </dev/null 3>&-
			echo "DONE $id $?" >&3
		) &
		;;
	DIAG)
		(
			diag "$id" "$script"
			echo "DIAGDONE $id" >&3
		) &
		;;
	KILL)
		(
			left=$(kill_session "$script")
			echo "KILLED $id $left" >&3
		) &
		;;
	PING) echo "PONG $id" >&3 ;;
	QUIT) break ;;
	*) echo "BAD ${verb:-?} $id $script" >&3 ;;
	esac
done <&3
sync
poweroff -f
