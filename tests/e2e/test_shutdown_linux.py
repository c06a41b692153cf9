"""PUT /vm/shutdown against the test kernel: the ACPI power button (docs/devices.md,
docs/api.md) reaches a Linux guest, which powers off, and skyvm exits 0.

A busybox /init finds the input device named "Power Button" (the ACPI button driver
bound to skyvm's PNP0C0C device), prints a ready line, and blocks reading one event
from its /dev/input/eventN; then it reports the event and the GED's interrupt count
and runs `poweroff -f`.  The test waits for the ready line, presses the button through
the API, and checks the answer (202), the event (EV_KEY KEY_POWER, pressed), the
interrupt, the power-off through ACPI S5 and skyvm's exit status 0.  A kernel without
the button, or a button without an input device, fails the test.

It needs guest user space: where this host's KVM runs none (`host-check`:
guest_syscalls_work false, a restricted KVM), it runs in the nested-KVM guest
(docs/nested-testing.md), as test_snapshot_linux.py does."""
import json
import re
import time


from test_devices_linux import kernel_has, make_initramfs
from test_linux import BZIMAGE, host_check, model_spec, need
from vmscript import run_linux_driver, user_space_host

BUTTON_INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
say() { echo "SKYVM-PWRBTN: $*" >/dev/kmsg; }
ev=""
for e in /sys/class/input/event*; do
	[ -r "$e/device/name" ] || continue
	name=$(cat "$e/device/name")
	say "input ${e##*/}: $name"
	[ "$name" = "Power Button" ] && ev=/dev/input/${e##*/}
done
if [ -z "$ev" ] || [ ! -c "$ev" ]; then
	say "no Power Button event device (found: [$ev])"
	poweroff -f
fi
say "ged before: $(grep -i ged /proc/interrupts | tr -s ' ')"
say "ready $ev"
dd if="$ev" of=/event bs=24 count=1 2>/dev/null
say "event $(od -An -tx1 -v /event | tr -s ' \\n' ' ')"
say "ged after: $(grep -i ged /proc/interrupts | tr -s ' ')"
poweroff -f
say "still running"
"""

DRIVER = r'''
set -u
cd "$DIR"
start=$(date +%s)
"$SKYVM" run --kernel "$BZ" --initrd initrd.cpio --cpus 1 --memory 256 --cpu "$SPEC" \
	--cmdline "$CMD" --console file:console.txt --api api.sock --timeout 900 -v \
	2>run.err & VM=$!
i=0
while ! grep -q 'SKYVM-PWRBTN: ready' console.txt 2>/dev/null; do
	kill -0 $VM 2>/dev/null || break
	[ $i -ge 3000 ] && break
	sleep 0.2; i=$((i + 1))
done
if grep -q 'SKYVM-PWRBTN: ready' console.txt; then
	echo "ready_after_s $(($(date +%s) - start))"
	sleep 1  # dd is blocked on the device by now
	code=$(curl -s -m 60 --unix-socket api.sock -X PUT -o shutdown.json -w '%{http_code}' \
		http://localhost/vm/shutdown)
	echo "shutdown $code"
	pressed=$(date +%s)
else
	echo "ready_after_s none"
	pressed=$(date +%s)
fi
# the guest powers off by itself; after 300 s, stop it so the test ends either way
i=0
while kill -0 $VM 2>/dev/null && [ $i -lt 1500 ]; do sleep 0.2; i=$((i + 1)); done
if kill -0 $VM 2>/dev/null; then
	echo "still_running_after_press yes"
	curl -s -m 60 --unix-socket api.sock -X PUT http://localhost/vm/stop >/dev/null
fi
RC=0; wait $VM || RC=$?
echo "vm_exit $RC"
echo "off_after_press_s $(($(date +%s) - pressed))"
echo "total_s $(($(date +%s) - start))"
'''


def run_driver(tmp_path, env, nested_too):
    return run_linux_driver(DRIVER, tmp_path, env, nested_too, timeout=1100, local_timeout=1100)


def test_power_button_powers_off_linux(kvm, skyvm, tmp_path):
    kernel_has("CONFIG_INPUT", "CONFIG_INPUT_EVDEV", "CONFIG_ACPI_BUTTON", "CONFIG_DEVTMPFS")
    t0 = time.monotonic()
    h = host_check(skyvm)
    use_nested, h = user_space_host(h)
    make_initramfs(tmp_path / "initrd.cpio", BUTTON_INIT,
                   ["sh", "mount", "cat", "grep", "tr", "dd", "od", "poweroff", "echo"])
    cmd = f"console=ttyS0 panic=-1 {h['kernel_cmdline']}".strip()
    r = run_driver(tmp_path, {"BZ": need(BZIMAGE), "SPEC": model_spec(h), "CMD": cmd},
                   use_nested)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    console = (tmp_path / "console.txt").read_text(errors="replace") \
        if (tmp_path / "console.txt").exists() else ""
    err = (tmp_path / "run.err").read_text(errors="replace") \
        if (tmp_path / "run.err").exists() else ""
    info = (f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\nrun.err:\n{err[-3000:]}\n"
            f"console (tail):\n{console[-6000:]}")
    print(f"driver: {out}; test took {time.monotonic() - t0:.0f} s")

    # The guest found the button as an input device and waited on it.
    assert "no Power Button event device" not in console, info
    assert out.get("ready_after_s", "none") != "none", \
        "/init never reported a ready Power Button input device\n" + info
    m = re.search(r"SKYVM-PWRBTN: ready (/dev/input/event\d+)", console)
    assert m, info

    # The API pressed it.
    assert out.get("shutdown") == "202", info
    answer = json.loads((tmp_path / "shutdown.json").read_text())
    assert answer == {"state": "running", "power_button": "pressed"}, answer

    # The guest got the key: struct input_event on x86-64 is a 16-byte timeval, then
    # type (EV_KEY = 1), code (KEY_POWER = 116 = 0x74), value (1: pressed).
    ev = re.search(r"SKYVM-PWRBTN: event\s+((?:[0-9a-f]{2}\s+){23}[0-9a-f]{2})", console)
    assert ev, "no input event read\n" + info
    b = ev.group(1).split()
    assert b[16:24] == ["01", "00", "74", "00", "01", "00", "00", "00"], \
        f"not a KEY_POWER press: {' '.join(b)}"
    # through the GED's interrupt (Linux names it "ACPI:Ged" in /proc/interrupts)
    after = re.search(r"SKYVM-PWRBTN: ged after: (.*)", console)
    assert after and re.search(r"\d+:\s*[1-9]\d*\s.*ACPI:Ged", after.group(1)), \
        "the GED's interrupt count did not rise\n" + info
    # IOAPIC pin 23, level-triggered (Linux handles level IOAPIC lines "fasteoi")
    assert "23-fasteoi" in after.group(1), after.group(1)

    # and powered off: ACPI S5, skyvm exits 0 by itself.
    assert "still_running_after_press" not in out, "the guest did not power off\n" + info
    assert "still running" not in console, info
    assert "reboot: Power down" in console, info
    assert out.get("vm_exit") == "0", info
    assert "guest powered off (ACPI S5" in err + console, info
