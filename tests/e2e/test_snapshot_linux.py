"""The test kernel with a busybox loop appending numbered lines (with the guest's uptime)
to a file on an ext4 virtio disk, 2 vCPUs: paused, snapshotted, killed, restored; then
live-migrated from the restored process to a third one.  The loop goes on in each, the
file on the disk has every line exactly once, and the guest's uptime never goes back.

It needs guest user space: where this host's KVM runs none (`host-check`:
guest_syscalls_work false, a restricted KVM), it runs in the nested-KVM guest
(docs/nested-testing.md) instead of skipping."""
import re


from test_devices_linux import kernel_has, make_initramfs
from test_linux import BZIMAGE, host_check, model_spec, need
from vmscript import run_linux_driver, user_space_host

LOOP_INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t ext4 /dev/vda /mnt || echo "SKYVM-LOOP: mount failed" >/dev/kmsg
i=0
while :; do
	i=$((i + 1))
	read -r up _ </proc/uptime
	echo "$i $up" >>/mnt/log
	sync
	echo "SKYVM-LOOP: $i $up" >/dev/kmsg
	sleep 0.3
done
"""

DRIVER = r'''
set -u
cd "$DIR"
mkfs.ext4 -q -F disk.img 16M
RUN_ARGS="--kernel $BZ --initrd initrd.cpio --cpus 2 --memory 256 --cpu $SPEC --disk disk.img"
waitfor() {  # FILE MIN-LINE: until FILE shows loop line >= MIN-LINE (600 s at most)
	i=0
	while [ $i -lt 3000 ]; do
		n=$(sed -n 's/.*SKYVM-LOOP: \([0-9]*\) .*/\1/p' "$1" 2>/dev/null | tail -1)
		[ -n "$n" ] && [ "$n" -ge "$2" ] && { echo "$n"; return 0; }
		sleep 0.2; i=$((i + 1))
	done
	echo "none"; return 1
}
curl_put() {  # SOCKET PATH NAME [JSON]: the status; the answer in NAME.json
	printf '%s' "${4:-}" >"$3.req"
	curl -s -m 300 --unix-socket "$1" -X PUT -o "$3.json" -w '%{http_code}' \
		--data-binary "@$3.req" "http://localhost$2"
}

"$SKYVM" run $RUN_ARGS --cmdline "$CMD" --console file:l1.txt --api a.sock --timeout 900 \
	2>run1.err & P1=$!
n1=$(waitfor l1.txt 5); echo "src_reached $n1"
echo "pause $(curl_put a.sock /vm/pause pause)"
echo "snapshot $(curl_put a.sock /vm/snapshot snap "{\"path\": \"$DIR/snap\"}")"
kill -9 $P1; wait $P1 2>/dev/null
last1=$(sed -n 's/.*SKYVM-LOOP: \([0-9]*\) .*/\1/p' l1.txt | tail -1); echo "src_last $last1"

"$SKYVM" restore snap --console file:l2.txt --api b.sock --timeout 900 2>run2.err & P2=$!
n2=$(waitfor l2.txt $((last1 + 5))); echo "restored_reached $n2"

"$SKYVM" run --incoming unix:mig.sock --console file:l3.txt --api c.sock --timeout 900 \
	2>run3.err & P3=$!
i=0; while [ ! -S mig.sock ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
echo "migrate $(curl_put b.sock /vm/migrate migrate '{"to": "unix:'"$DIR"'/mig.sock"}')"
R2=0; wait $P2 || R2=$?; echo "restored_rc $R2"
last2=$(sed -n 's/.*SKYVM-LOOP: \([0-9]*\) .*/\1/p' l2.txt | tail -1); echo "restored_last $last2"
n3=$(waitfor l3.txt $((last2 + 5))); echo "dest_reached $n3"
echo "pause3 $(curl_put c.sock /vm/pause pause3)"
echo "stop3 $(curl_put c.sock /vm/stop stop3)"
R3=0; wait $P3 || R3=$?; echo "dest_rc $R3"
debugfs -R "cat /log" disk.img >disk_log.txt 2>/dev/null; echo "debugfs $?"
'''


def run_driver(tmp_path, env, nested_too):
    return run_linux_driver(DRIVER, tmp_path, env, nested_too, timeout=1200, local_timeout=3600)


def loop_lines(text):
    return [(int(a), float(b)) for a, b in re.findall(r"SKYVM-LOOP: (\d+) ([\d.]+)", text)]


def test_linux_loop_survives_snapshot_restore_and_migration(kvm, skyvm, tmp_path):
    kernel_has("CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS", "CONFIG_DEVTMPFS")
    h = host_check(skyvm)
    # Where the guest's user space cannot run on this KVM, run it all nested.
    use_nested, h = user_space_host(h)
    make_initramfs(tmp_path / "initrd.cpio", LOOP_INIT,
                   ["sh", "mount", "sleep", "sync", "echo", "cat"])
    cmd = f"console=ttyS0 panic=-1 {h['kernel_cmdline']}".strip()
    r = run_driver(tmp_path, {"BZ": need(BZIMAGE), "SPEC": model_spec(h), "CMD": cmd},
                   use_nested)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    logs = {n: (tmp_path / n).read_text(errors="replace") if (tmp_path / n).exists() else ""
            for n in ("l1.txt", "l2.txt", "l3.txt", "run1.err", "run2.err", "run3.err")}
    info = f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\n" + "".join(
        f"--- {n} (tail)\n{t[-3000:]}\n" for n, t in logs.items())
    assert out.get("src_reached", "none") != "none", info
    assert out["pause"] == "200" and out["snapshot"] == "200", info
    assert out.get("restored_reached", "none") != "none", info
    assert out["migrate"] == "200", info
    assert out["restored_rc"] == "0", info
    assert out.get("dest_reached", "none") != "none", info
    assert out["stop3"] == "200" and out["dest_rc"] == "0", info

    # The console is one stream across the processes: a line the guest was printing when
    # its VM was paused begins in one file and ends in the next (seen: "SKYVM-LOOP" at
    # the source's end, ": 26 25.27" at the destination's start).  Each file is read with
    # the unfinished last line of the one before it.
    def continued(prev, text):
        return prev[prev.rfind("\n") + 1:] + text

    l1 = loop_lines(logs["l1.txt"])
    l2 = loop_lines(continued(logs["l1.txt"], logs["l2.txt"]))
    l3 = loop_lines(continued(logs["l2.txt"], logs["l3.txt"]))
    # Each process continues the one before: the next number, uptime not going back.
    assert l2[0][0] == l1[-1][0] + 1, f"restore: {l1[-1]} -> {l2[0]}"
    assert l3[0][0] <= l2[-1][0] + 1 and l3[-1][0] > l2[-1][0], f"migration: {l2[-1]} -> {l3[0]}"
    seq = l1 + [x for x in l2] + [x for x in l3 if x[0] > l2[-1][0]]
    for (a, ua), (b, ub) in zip(seq, seq[1:]):
        assert b == a + 1, f"a loop line lost or repeated: {a} -> {b}"
        assert ub >= ua, f"uptime went back: {ua} -> {ub}"
    # The file on the disk: every line once, in order, up to the last one printed.
    assert out["debugfs"] == "0"
    disk = [tuple(l.split()) for l in (tmp_path / "disk_log.txt").read_text().splitlines() if l]
    nums = [int(a) for a, _ in disk]
    assert nums == list(range(1, len(nums) + 1)), f"the file lost or repeated a line: {nums}"
    assert nums[-1] >= l3[-1][0] - 1
    print(f"loop lines: source {l1[0][0]}-{l1[-1][0]}, restored {l2[0][0]}-{l2[-1][0]}, "
          f"migrated {l3[0][0]}-{l3[-1][0]}; file has {len(nums)} lines")
