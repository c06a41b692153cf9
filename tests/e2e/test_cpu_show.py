"""`skyvm cpu`, `cpu host` and `cpu show` as a user runs them.

Without /dev/kvm here, `cpu show` runs on the recorded hosts in tests/data/supported
(--supported); the JSON is validated against docs/schemas/cpu-show.schema.json.
"""
import json
import os
import re
import shutil
import struct
import subprocess

import jsonschema
import pytest

from conftest import ROOT, kvm_unavailable_reason

SUPPORTED = os.path.join(ROOT, "tests", "data", "supported")
HASWELL = os.path.join(SUPPORTED, "intel-haswell-server.json")
ICELAKE = os.path.join(SUPPORTED, "intel-icelake-server.json")
TURIN = os.path.join(SUPPORTED, "amd-epyc-turin.json")
SKYMDW = os.path.join(ROOT, "models", "skymdw.json")

with open(os.path.join(ROOT, "docs", "schemas", "cpu-show.schema.json")) as f:
    SCHEMA = json.load(f)


def show_json(skyvm, *args):
    r = skyvm("cpu", "show", *args, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    return doc, r.stderr


def reg(doc, vcpu, leaf, sub, name):
    for e in doc["vcpus"][vcpu]["cpuid"]:
        if int(e["leaf"], 16) == leaf and int(e["subleaf"], 16) == sub:
            return int(e[name], 16)
    raise AssertionError(f"leaf {leaf:#x}.{sub} missing")


@pytest.mark.parametrize("spec,host", [
    ("Skylake-Server", HASWELL),
    ("Skylake-Server-v4,enforce", ICELAKE),
    ("host", TURIN),
    ("host,migratable=off", TURIN),
    ("max,-avx512f", ICELAKE),
    ("base,+sse2", HASWELL),
    ("EPYC-Milan,-xsave,+avx2", TURIN),
    ("file:" + SKYMDW, ICELAKE),
    # other recorded hosts, a Firecracker fingerprint among them
    ("Cascadelake-Server", os.path.join(ROOT, "tests", "data", "hosts",
                                        "firecracker-cascadelake.json")),
    ("EPYC-Milan", os.path.join(ROOT, "tests", "data", "hosts", "amd-epyc-milan.json")),
    ("host", os.path.join(ROOT, "tests", "data", "hosts", "intel-sapphirerapids.json")),
])
def test_json_matches_schema(skyvm, spec, host):
    doc, _ = show_json(skyvm, spec, "--supported", host, "--cpus", "2")
    assert len(doc["vcpus"]) == 2
    assert doc["supported_source"] == host


def test_filter_warnings_in_qemu_form(skyvm):
    r = skyvm("cpu", "show", "Skylake-Server-v4", "--supported", HASWELL)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert ("skyvm: warning: host doesn't support requested feature: "
            "CPUID.07H:EBX.avx512f [bit 16]") in lines
    assert ("skyvm: warning: host doesn't support requested feature: "
            "CPUID.07H:ECX.pku [bit 3]") in lines
    assert not any("avx2" in l for l in lines)
    doc, err = show_json(skyvm, "Skylake-Server-v4", "--supported", HASWELL)
    dropped = {d["name"]: d for d in doc["dropped"]}
    assert dropped["avx512f"]["reason"] == "unsupported"
    assert dropped["avx512f"]["label"] == "CPUID.07H:EBX.avx512f [bit 16]"
    assert "avx512f" not in doc["features"]["enabled"]
    assert "avx512f" in doc["features"]["requested"]
    # the JSON carries the same warnings as standard error, without the prefix
    assert [f"skyvm: warning: {w}" for w in doc["warnings"]] == err.splitlines()


def test_text_output(skyvm):
    r = skyvm("cpu", "show", "Skylake-Server-v4,-avx,+avx2", "--supported", HASWELL,
              "--cpus", "2")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Model:    Skylake-Server-v4 (named)" in out
    assert "Vendor:   GenuineIntel, family 6 model 85 stepping 4" in out
    assert "APIC ids 0 1" in out
    assert re.search(r"CPUID\.07H:ECX\.pku \[bit 3\]\s+the host does not support it", out)
    # avx512f needs avx, which -avx turned off: that reason comes first
    assert re.search(r"CPUID\.07H:EBX\.avx512f \[bit 16\]\s+needs avx, which is off", out)
    assert re.search(r"CPUID\.07H:EBX\.avx2 \[bit 5\]\s+needs avx, which is off", out)
    # vCPU 0's leaf 0 row: max leaf 0xd and "GenuineIntel"
    assert "  0x00000000 -     0x0000000d 0x756e6547 0x6c65746e 0x49656e69" in out
    # vCPU 1 differs in its APIC id: leaf 1 EBX[31:24] = 1
    tail = out.split("vCPU 1 (APIC id 1) differs from vCPU 0 in:")[1]
    row = next(l for l in tail.splitlines() if l.startswith("  0x00000001"))
    assert int(row.split()[3], 16) >> 24 == 1


def test_enforce_fails_listing_every_missing_feature(skyvm):
    r = skyvm("cpu", "show", "Skylake-Server-v4,enforce", "--supported", HASWELL)
    assert r.returncode == 1
    warned = [l.split(": ", 3)[-1] for l in r.stderr.splitlines() if "warning:" in l]
    assert "enforce" in r.stderr
    listed = [l.strip() for l in r.stderr.splitlines() if l.startswith("  CPUID.")]
    assert listed == warned and len(listed) >= 10
    assert r.stdout == ""


def test_misspelt_feature_suggests(skyvm):
    r = skyvm("cpu", "show", "Skylake-Server,+avx512fx", "--supported", ICELAKE)
    assert r.returncode == 1
    assert "unknown CPU feature 'avx512fx'" in r.stderr
    assert "did you mean: avx512f" in r.stderr
    r = skyvm("cpu", "show", "Skylake-Servr", "--supported", ICELAKE)
    assert r.returncode == 1
    assert "Skylake-Server" in r.stderr


def test_bad_option_values(skyvm):
    for spec, needle in [("Haswell,family=abc", "family=abc"),
                         ("Haswell,level=-1", "level=-1"),
                         ("Haswell,vendor=Intel", "12 characters")]:
        r = skyvm("cpu", "show", spec, "--supported", HASWELL)
        assert r.returncode == 1, spec
        assert needle in r.stderr, r.stderr


def test_dependency_and_precedence(skyvm):
    doc, err = show_json(skyvm, "Skylake-Server-v4,-avx,+avx2,+pcid,pcid=off",
                         "--supported", ICELAKE)
    dropped = {d["name"]: d for d in doc["dropped"]}
    assert dropped["avx2"]["reason"] == "dependency"
    assert dropped["avx2"]["needs"] == "avx"
    assert dropped["avx2"]["requested_by_user"] is True
    assert ("This feature depends on other features that were not requested: "
            "CPUID.07H:EBX.avx2 [bit 5]") in doc["warnings"]
    # +pcid beats pcid=off (QEMU applies +f after every f=...)
    assert "pcid" in doc["features"]["enabled"]
    assert "Ambiguous CPU model string" in err


@pytest.mark.parametrize("cpus", range(1, 9))
def test_apic_ids_and_topology_leaves(skyvm, cpus):
    doc, _ = show_json(skyvm, "Skylake-Server-v4", "--supported", ICELAKE, "--cpus", str(cpus))
    assert [v["apic_id"] for v in doc["vcpus"]] == list(range(cpus))
    for i in range(cpus):
        assert reg(doc, i, 1, 0, "ebx") >> 24 == i          # CPUID.01H:EBX[31:24]
        assert reg(doc, i, 0xB, 0, "edx") == i              # x2APIC id
        assert reg(doc, i, 0xB, 1, "ebx") & 0xffff == cpus  # logical processors at core level
        assert (reg(doc, i, 1, 0, "edx") >> 28) & 1 == (cpus > 1)  # HTT


def test_smp_sockets_cores_threads(skyvm):
    doc, _ = show_json(skyvm, "host", "--supported", TURIN, "--cpus", "6",
                       "--smp", "sockets=2,cores=3,threads=1")
    assert doc["topology"] == {"cpus": 6, "sockets": 2, "cores": 3, "threads": 1}
    assert [v["apic_id"] for v in doc["vcpus"]] == [0, 1, 2, 4, 5, 6]
    r = skyvm("cpu", "show", "host", "--supported", TURIN, "--cpus", "5",
              "--smp", "sockets=1,cores=2,threads=2")
    assert r.returncode == 1 and "fewer than --cpus 5" in r.stderr


def test_custom_model_file(skyvm, tmp_path):
    doc, _ = show_json(skyvm, "file:" + SKYMDW, "--supported", ICELAKE)
    assert doc["model"]["name"] == "skymdw" and doc["model"]["kind"] == "custom"
    assert "pku" not in doc["features"]["enabled"]
    assert doc["model"]["model_id"] == "skyvm migration pool CPU (Skylake-SP class)"
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "base": "Haswell",\n  "features": {"-": ["avx3"]}\n}\n')
    r = skyvm("cpu", "show", f"file:{bad}", "--supported", HASWELL)
    assert r.returncode == 1
    assert f"{bad}: features.-[0]: unknown CPU feature 'avx3'" in r.stderr
    bad.write_text('{\n  "base": "Haswell",\n  "features": {"-": ["avx2"],}\n}\n')
    r = skyvm("cpu", "show", f"file:{bad}", "--supported", HASWELL)
    assert r.returncode == 1
    assert f"{bad}:3:" in r.stderr


def test_usage_errors(skyvm):
    assert skyvm("cpu", "show").returncode == 2
    assert skyvm("cpu", "show", "Haswell", "--cpus", "0").returncode == 2
    assert skyvm("cpu", "show", "Haswell", "--smp", "sockets=x").returncode == 2
    assert skyvm("cpu", "show", "Haswell", "--bogus").returncode == 2
    r = skyvm("cpu", "show", "Haswell", "--supported", "/nonexistent.json")
    assert r.returncode == 1 and "/nonexistent.json" in r.stderr


def test_bare_cpu_lists_subcommands(skyvm):
    r = skyvm("cpu")
    assert r.returncode == 2
    for name in ("cpu show", "cpu host"):
        assert name in r.stderr
    r = skyvm("cpu", "--help")
    assert r.returncode == 0 and "cpu show" in r.stdout
    r = skyvm("cpu", "show", "--help")
    assert r.returncode == 0 and "--supported DUMP" in r.stdout


def test_without_kvm_says_why(skyvm, tmp_path):
    # Where /dev/kvm works, a KVM device path that does not exist stands in for a
    # machine without KVM (SKYVM_KVM_DEVICE), so the messages are seen everywhere.
    env, dev = None, "/dev/kvm"
    if kvm_unavailable_reason() is None:
        dev = str(tmp_path / "no-kvm")
        env = {"SKYVM_KVM_DEVICE": dev}
    r = skyvm("cpu", "host", env=env)
    assert r.returncode == 1 and dev in r.stderr, r.stderr
    r = skyvm("cpu", "show", "Haswell", env=env)
    assert r.returncode == 1 and "--supported" in r.stderr, r.stderr


def test_cpu_host_dump_round_trip(skyvm, kvm, tmp_path):
    r = skyvm("cpu", "host", "--json")
    assert r.returncode == 0, r.stderr
    dump = tmp_path / "host.json"
    dump.write_text(r.stdout)
    doc = json.loads(r.stdout)
    assert doc["format"] == "skyvm-cpuid-dump" and doc["version"] == 1
    assert doc["source"] == "KVM_GET_SUPPORTED_CPUID"
    show_json(skyvm, "host", "--supported", str(dump))
    show_json(skyvm, "host")


QEMU = shutil.which("qemu-system-x86_64")
GUEST_ELF = os.path.join(ROOT, "build", "guest", "default.elf")


@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
@pytest.mark.parametrize("spec,smp", [
    ("Skylake-Server-v4", "1"),
    ("Skylake-Server-v4", "6,sockets=2,cores=3,threads=1"),
    ("Icelake-Server-v4", "8,sockets=2,cores=2,threads=2"),
    ("EPYC-Rome-v1", "6,sockets=2,cores=1,threads=3"),
    ("Haswell-v1,family=6,model=0x3f,stepping=2,model-id=skyvm cross-check", "4"),
])
def test_identity_and_apic_ids_match_qemu(skyvm, spec, smp):
    """QEMU (TCG) is the reference: its guest must see what skyvm computes.

    The embedded default guest prints each CPU's APIC id, vendor, family/model/
    stepping and brand as CPUID reports them; skyvm's table for the same model
    and topology must hold the same values.  (Feature bits are not compared:
    TCG lacks many of them and filters differently from KVM.)  Versions are
    explicit: an unversioned name is resolved per machine type by QEMU
    (microvm takes the latest version, skyvm and QEMU's pc machines v1).
    """
    assert os.path.exists(GUEST_ELF), f"{GUEST_ELF} not built (make builds it)"
    cpus, _, topo = smp.partition(",")
    args = ["--cpus", cpus] + (["--smp", topo] if topo else [])
    doc, _ = show_json(skyvm, spec, "--supported", ICELAKE if "EPYC" not in spec else TURIN,
                       *args)
    qemu_spec = spec.replace(",,", ",")
    p = subprocess.run([QEMU, "-accel", "tcg", "-M", "microvm", "-smp", smp, "-m", "64",
                        "-cpu", qemu_spec, "-nographic", "-no-reboot", "-kernel", GUEST_ELF,
                        "-device", "isa-debug-exit,iobase=0x501,iosize=1"],
                       capture_output=True, text=True, errors="replace", timeout=120)
    seen = {}
    for m in re.finditer(r"cpu (\d+): apic (\d+) (\S+) family (\d+) model (\d+) stepping (\d+)",
                         p.stdout):
        seen[int(m.group(1))] = (int(m.group(2)), m.group(3), int(m.group(4)),
                                 int(m.group(5)), int(m.group(6)))
    brands = dict((int(m.group(1)), m.group(2))
                  for m in re.finditer(r'cpu (\d+): brand "([^"]*)"', p.stdout))
    assert len(seen) == int(cpus), p.stdout + p.stderr
    for v in doc["vcpus"]:
        i = v["index"]
        eax = reg(doc, i, 1, 0, "eax")
        fam = (eax >> 8) & 0xf
        fam += (eax >> 20) & 0xff if fam == 0xf else 0
        model = ((eax >> 4) & 0xf) | (((eax >> 16) & 0xf) << 4)
        vendor = b"".join(reg(doc, i, 0, 0, r).to_bytes(4, "little")
                          for r in ("ebx", "edx", "ecx")).decode()
        assert seen[i] == (v["apic_id"], vendor, fam, model, eax & 0xf), (i, seen[i])
        brand = b"".join(reg(doc, i, 0x80000002 + k, 0, r).to_bytes(4, "little")
                         for k in range(3) for r in ("eax", "ebx", "ecx", "edx"))
        assert brands[i] == brand.rstrip(b"\0").decode()


@pytest.fixture
def fake_kvm(tmp_path):
    """Build tests/e2e/fake_kvm.c (a seccomp user-notification stand-in for /dev/kvm that
    works for static and dynamic builds alike); returns a function giving the keyword
    arguments that make a skyvm(...) run see a KVM device offering `dump`."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the fake /dev/kvm")
    prog = tmp_path / "fake_kvm"
    subprocess.run([cc, "-O1", "-o", str(prog),
                    os.path.join(ROOT, "tests", "e2e", "fake_kvm.c")], check=True)
    device = tmp_path / "kvm"
    device.write_text("")  # its descriptors are the ones fake_kvm answers for

    def env_for(dump):
        with open(dump) as f:
            doc = json.load(f)
        blob = tmp_path / (os.path.basename(dump) + ".bin")
        with open(blob, "wb") as out:
            for e in doc["entries"]:
                indexed = e.get("indexed", int(e["subleaf"], 16) != 0)
                # struct kvm_cpuid_entry2: function, index, flags, eax..edx, padding[3]
                out.write(struct.pack("<10I", int(e["leaf"], 16),
                                      int(e["subleaf"], 16) if indexed else 0,
                                      1 if indexed else 0,
                                      *(int(e[r], 16) for r in ("eax", "ebx", "ecx", "edx")),
                                      0, 0, 0))
        return {"env": {"SKYVM_KVM_DEVICE": str(device)},
                "wrap": [str(prog), str(device), str(blob), "--"]}
    return env_for


def test_cpu_host_on_fake_kvm(skyvm, fake_kvm):
    fake = fake_kvm(ICELAKE)
    r = skyvm("cpu", "host", "--json", **fake)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "skyvm-cpuid-dump" and doc["version"] == 1
    assert doc["source"] == "KVM_GET_SUPPORTED_CPUID"
    assert doc["host"]["vendor"] == "GenuineIntel"
    assert doc["host"]["model_id"] == "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz"
    with open(ICELAKE) as f:
        want = json.load(f)["entries"]
    key = lambda e: (e["leaf"], e["subleaf"], e["indexed"], e["eax"], e["ebx"], e["ecx"], e["edx"])
    assert sorted(map(key, doc["entries"])) == sorted(map(key, want))
    r = skyvm("cpu", "host", **fake)
    assert r.returncode == 0, r.stderr
    assert f"{len(want)} entries" in r.stdout
    pvm = os.path.exists("/sys/module/kvm_pvm")
    assert ("vmcall never returns here" in r.stdout) == pvm
    leaf7 = next(e for e in want if e["leaf"] == "0x00000007" and e["subleaf"] == "0x0")
    assert f"  0x00000007 0x0   {leaf7['eax']} {leaf7['ebx']} {leaf7['ecx']} {leaf7['edx']}" \
        in r.stdout.splitlines()


def test_live_path_applies_this_hosts_fixups(skyvm, fake_kvm):
    """Without --supported, this host's quirks apply: on a PVM host (this one has
    kvm_pvm) the hypercall-based PV features are not offered."""
    fake = fake_kvm(ICELAKE)
    r = skyvm("cpu", "show", "Skylake-Server-v4,+kvm-pv-unhalt", "--json", **fake)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["supported_source"] == "/dev/kvm"
    warning = ("skyvm: warning: host doesn't support requested feature: "
               "CPUID.40000001H:EAX.kvm-pv-unhalt [bit 7]")
    if os.path.exists("/sys/module/kvm_pvm"):
        assert "kvm-pv-unhalt" not in doc["features"]["enabled"]
        assert warning in r.stderr.splitlines()
    else:
        assert "kvm-pv-unhalt" in doc["features"]["enabled"]
        assert warning not in r.stderr
    # the recorded dump of the same table is another host: no quirks of this one
    doc, err = show_json(skyvm, "Skylake-Server-v4,+kvm-pv-unhalt", "--supported", ICELAKE)
    assert "kvm-pv-unhalt" in doc["features"]["enabled"] and warning not in err
