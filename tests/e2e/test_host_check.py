"""`skyvm host-check` as a user (and the Linux tests) run it.

Without /dev/kvm (this machine): the command line, the clear error, and the schema against
the documented example in docs/verify.md.  With KVM: the document is schema-valid, and its
derived fields follow from what was measured (the rules in docs/verify.md), whatever the
host; on a PVM host the measurements must show what a restricted host does.  The hostcheck
guest itself also runs here under QEMU TCG, a CPU that executes every instruction.
"""
import copy
import json
import os
import re
import shutil
import subprocess

import jsonschema
import pytest

from conftest import ROOT, run_skyvm

with open(os.path.join(ROOT, "docs", "schemas", "host-check.schema.json")) as f:
    SCHEMA = json.load(f)

INSTRUCTIONS = ["cmpxchg16b", "xsave", "xrstor", "xgetbv", "rdtscp", "popcnt", "int3", "fwait",
                "stac", "clac", "ud1", "fldz", "ldmxcsr", "pclmulqdq", "aesenc", "movbe",
                "crc32", "rdpid", "vmcall"]
# instruction -> (skyvm feature, Linux clearcpuid name); the xsave family maps to noxsave
GATES = {"cmpxchg16b": ("cx16", "cx16"), "rdtscp": ("rdtscp", "rdtscp"),
         "popcnt": ("popcnt", "popcnt"), "stac": ("smap", "smap"), "clac": ("smap", "smap"),
         "pclmulqdq": ("pclmulqdq", "pclmulqdq"), "aesenc": ("aes", "aes"),
         "movbe": ("movbe", "movbe"), "crc32": ("sse4.2", "sse4_2"), "rdpid": ("rdpid", "rdpid")}
XSAVE_FAMILY = ("xsave", "xrstor", "xgetbv")


def documented_example():
    with open(os.path.join(ROOT, "docs", "verify.md")) as f:
        text = f.read()
    m = re.search(r"```json host-check-example\n(.*?)```", text, re.S)
    assert m, "docs/verify.md lost its host-check example"
    return json.loads(m.group(1))


# ---- without KVM

def test_help(skyvm):
    r = skyvm("host-check", "--help")
    assert r.returncode == 0
    for word in ("--json", "forces", "completed by skyvm", "system calls", "noxsave",
                 "SKYVM_KVM_DEVICE", "host-check.schema.json"):
        assert word in r.stdout, word
    assert "host-check" in skyvm("--help").stdout


@pytest.mark.parametrize("args,message", [
    (("--frobnicate",), "unknown option '--frobnicate'"),
    (("extra",), "unexpected argument 'extra'"),
])
def test_bad_command_line(skyvm, args, message):
    r = skyvm("host-check", *args)
    assert r.returncode == 2
    assert message in r.stderr


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
def test_without_kvm_a_clear_error(skyvm, tmp_path, json_flag):
    missing = tmp_path / "no-kvm-here"
    r = skyvm("host-check", *json_flag, env={"SKYVM_KVM_DEVICE": str(missing)})
    assert r.returncode == 1
    assert str(missing) in r.stderr and "does not exist" in r.stderr
    assert r.stdout == ""


def test_documented_example_is_valid():
    doc = documented_example()
    jsonschema.validate(doc, SCHEMA)
    assert set(doc["instructions"]) == set(INSTRUCTIONS)


@pytest.mark.parametrize("mutate", [
    lambda d: d["instructions"].update(cpuid="ok"),           # not an instruction
    lambda d: d["instructions"].update(popcnt="broken"),      # not a status
    lambda d: d.update(kernel_cmdline="noxsave; rm -rf /"),
    lambda d: d.update(cpu_model_options="+cx16"),            # options only remove
    lambda d: d.pop("guest_syscalls_work"),
    lambda d: d["kvm"].pop("api_version"),
])
def test_schema_rejects_a_wrong_document(mutate):
    doc = copy.deepcopy(documented_example())
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


# ---- with KVM

_report = {}


def host_check():
    if "doc" not in _report:
        r = run_skyvm("host-check", "--json", timeout=900)
        assert r.returncode == 0, r.stderr
        _report["doc"] = json.loads(r.stdout)
        print(json.dumps(_report["doc"], indent=1))
    return _report["doc"]


def test_json_is_schema_valid_and_complete(kvm):
    doc = host_check()
    jsonschema.validate(doc, SCHEMA)
    assert set(doc["instructions"]) == set(INSTRUCTIONS)
    assert set(doc["instruction_details"]) == set(INSTRUCTIONS)
    assert doc["cpuid_probe"]["ran"], doc["cpuid_probe"]["error"]
    # forced bits are named by the feature table, in the words the probe hid bits of
    r = run_skyvm("cpu", "features", "--json")
    words = {f["name"]: (f["leaf"], f["subleaf"]) for f in json.loads(r.stdout)["features"]}
    for name in doc["forced_cpuid_bits"]:
        assert name in words, name
        assert words[name][0] in ("0x00000001", "0x00000007", "0x0000000d"), name
    for name in doc["cpuid_probe"]["hidden"]:
        assert f",-{name}" in doc["cpuid_probe"]["spec"]


def test_derived_options_follow_from_the_measurements(kvm):
    doc = host_check()
    details = doc["instruction_details"]
    forced = set(doc["forced_cpuid_bits"])
    cmdline = doc["kernel_cmdline"].split()
    clear = set()
    for word in cmdline:
        if word.startswith("clearcpuid="):
            clear = set(word.split("=", 1)[1].split(","))
    options = set(filter(None, doc["cpu_model_options"].split(",")))

    assert ("noxsave" in cmdline) == any(details[i]["needs_action"] for i in XSAVE_FAMILY)
    for insn, (feature, linux) in GATES.items():
        if details[insn]["needs_action"]:
            assert linux in clear, insn
            assert (f"-{feature}" in options) == (feature not in forced), insn
    for linux in clear:
        assert any(details[i]["needs_action"] for i, g in GATES.items() if g[1] == linux)
    for insn, d in details.items():
        if d["status"] == "ok":
            assert not d["needs_action"], insn
    assert details["ud1"]["status"] != "#UD", "ud1's #UD is its definition: 'ok'"


def test_the_text_report_says_the_same(kvm):
    doc = host_check()
    r = run_skyvm("host-check", timeout=900)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    if doc["kernel_cmdline"]:
        assert doc["kernel_cmdline"] in r.stdout
    assert ("DO NOT WORK" in r.stdout) == (not doc["guest_syscalls_work"])


def test_a_pvm_host_shows_what_a_restricted_host_does(kvm):
    doc = host_check()
    if not doc["kvm"]["hypercalls_hang"]:
        # Not a restricted host: what it must show instead is checked here; the PVM
        # expectations below do not apply (a kvm test does not skip: conftest.py).
        assert doc["instructions"]["vmcall"] == "ok"
        assert doc["guest_syscalls_work"], doc["syscall_detail"]
        print("hardware KVM: vmcall and guest syscalls work; the restricted-host "
              "expectations do not apply")
        return
    # HOST-KVM.md: vmcall never returns, SYSCALL does not reach CPL0, some bits are forced
    assert doc["instructions"]["vmcall"] == "hang"
    assert not doc["guest_syscalls_work"]
    assert doc["forced_cpuid_bits"]
    assert "-kvm-pv-unhalt" in doc["cpu_model_options"].split(",")


# ---- the hostcheck guest under QEMU TCG: a reference CPU that executes everything

QEMU = shutil.which("qemu-system-x86_64")
GUEST = os.path.join(ROOT, "build", "guest", "hostcheck.elf")


def protocol():
    """The status constants, read from the header the guest and host-check share."""
    with open(os.path.join(ROOT, "src", "guest", "hostcheck", "protocol.h")) as f:
        return {m.group(1): int(m.group(2), 16)
                for m in re.finditer(r"#define HOSTCHECK_(\w+) (0x[0-9a-f]+)", f.read())}


def tcg_status(insn, cpu="max"):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 not installed")
    assert os.path.exists(GUEST), f"{GUEST} not built (make builds it)"
    p = subprocess.run([QEMU, "-accel", "tcg", "-M", "microvm", "-m", "64", "-cpu", cpu,
                        "-nographic", "-no-reboot", "-kernel", GUEST, "-append", f"insn={insn}",
                        "-device", "isa-debug-exit,iobase=0x501,iosize=1"],
                       capture_output=True, text=True, errors="replace", timeout=60)
    assert p.returncode & 1, f"QEMU did not exit through isa-debug-exit: {p.returncode}"
    return p.returncode >> 1   # isa-debug-exit: (status << 1) | 1


@pytest.mark.parametrize("insn", INSTRUCTIONS)
def test_tcg_executes_every_instruction(insn):
    st = protocol()
    ud = st["EXCEPTION"] + 6
    status = tcg_status(insn)
    if insn == "ud1":
        assert status == ud           # its definition
    elif insn == "vmcall":
        assert status == ud           # no VMX under TCG: #UD, as on a CPU without a hypervisor
    elif insn == "rdpid":
        assert status in (st["OK"], ud)   # QEMU 7.2's TCG does not implement rdpid
    else:
        assert status == st["OK"], hex(status)


def test_tcg_system_call_reaches_cpl0():
    assert tcg_status("syscall") == protocol()["SYSCALL_OK"]
    assert tcg_status("syscall", cpu="qemu64") == protocol()["SYSCALL_OK"]


def test_tcg_without_smap_stac_is_not_executed_and_popcnt_faults():
    st = protocol()
    assert tcg_status("stac", cpu="qemu64") == st["NOT_OFFERED"]
    assert tcg_status("xsave", cpu="qemu64") == st["NOT_OFFERED"]
    assert tcg_status("popcnt", cpu="qemu64,-popcnt") == st["EXCEPTION"] + 6


def test_tcg_unknown_instruction():
    assert tcg_status("frobnicate") == protocol()["UNKNOWN"]
