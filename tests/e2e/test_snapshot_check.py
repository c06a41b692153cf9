"""`skyvm snapshot check` against the repository's recorded hosts (tests/data/hosts),
offline: a snapshot whose vCPUs have Skylake-Server's final tables (as `cpu show` gives
them for a recorded Skylake host, 2 vCPUs) is checked against every host dump.  The
yes/no per host and the features named for each "no" must agree with `skyvm cpu compare
Skylake-Server`, which decides the same question for the model before it runs."""
import glob
import json
import os
import struct
import subprocess
import zlib

from conftest import DATA, SKYVM

HOSTS = sorted(glob.glob(os.path.join(DATA, "hosts", "*.json")))
BASE = os.path.join(DATA, "hosts", "intel-skylake-sp.json")


def skyvm(*args):
    return subprocess.run([SKYVM, *args], capture_output=True, text=True, timeout=120)


def write_state(path, sections):
    body = b""
    for name, payload in sections:
        n = name.encode()
        body += struct.pack("<H", len(n)) + n + struct.pack(
            "<QI", len(payload), zlib.crc32(payload, zlib.crc32(n))) + payload
    head = bytearray(b"SKYVMSNP" + struct.pack("<IIQI", 1, len(sections), 32 + len(body), 0))
    head += struct.pack("<I", zlib.crc32(bytes(head)))
    path.write_bytes(bytes(head) + body)


def entries(cpuid):
    out = b""
    for e in cpuid:
        out += struct.pack("<7I3I", int(e["leaf"], 16), int(e["subleaf"], 16),
                           1 if e["indexed"] else 0, int(e["eax"], 16), int(e["ebx"], 16),
                           int(e["ecx"], 16), int(e["edx"], 16), 0, 0, 0)
    return out


def test_snapshot_check_agrees_with_cpu_compare_on_recorded_hosts(tmp_path):
    show = skyvm("cpu", "show", "Skylake-Server", "--supported", BASE, "--cpus", "2", "--json")
    assert show.returncode == 0, show.stderr
    vcpus = json.loads(show.stdout)["vcpus"]
    meta = {"format": "skyvm-snapshot", "version": 1, "cpus": 2, "memory_mib": 32,
            "cpu_spec": "Skylake-Server", "cpu_model": "Skylake-Server"}
    snap = tmp_path / "snap"
    snap.mkdir()
    write_state(snap / "state.skyvm",
                [("meta", json.dumps(meta).encode())]
                + [(f"vcpu{v['index']}.cpuid", entries(v["cpuid"])) for v in vcpus])

    args = [a for h in HOSTS for a in ("--host", h)]
    check = skyvm("snapshot", "check", str(snap), *args, "--json")
    assert check.returncode == 4, check.stderr  # some hosts cannot take it
    verdicts = {os.path.basename(v["host"]): v for v in json.loads(check.stdout)}
    compare = skyvm("cpu", "compare", "Skylake-Server", "--host", *HOSTS, "--json")
    expected = {os.path.basename(h["file"]): h for h in json.loads(compare.stdout)["hosts"]}
    assert set(verdicts) == set(expected) and len(verdicts) == len(HOSTS)
    for name, v in verdicts.items():
        e = expected[name]
        assert v["compatible"] == (e["verdict"] != "incompatible"), (name, v, e["verdict"])
        assert sorted(m["text"] for m in v["missing"]) == \
            sorted(m["label"] for m in e["missing_features"]), name
    assert verdicts["intel-skylake-sp.json"]["compatible"]
    assert not verdicts["intel-haswell-ep.json"]["compatible"]
    assert "CPUID.07H:EBX.avx512f [bit 16]" in [
        m["text"] for m in verdicts["intel-haswell-ep.json"]["missing"]]

    # The text form: one "HOST: yes|no" line per host, then the QEMU-worded lines.
    text = skyvm("snapshot", "check", str(snap), "--host", BASE,
                 "--host", os.path.join(DATA, "hosts", "intel-haswell-ep.json"))
    assert text.returncode == 4
    assert f"{BASE}: yes" in text.stdout
    assert "intel-haswell-ep.json: no" in text.stdout
    assert "  host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]" \
        in text.stdout
    ok = skyvm("snapshot", "check", str(snap), "--host", BASE)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def msr_entries(msrs):
    """struct kvm_msr_entry records (u32 index, u32 reserved, u64 data)."""
    return b"".join(struct.pack("<IIQ", int(m["index"], 16), 0, int(m["value"], 16))
                    for m in msrs)


def test_snapshot_check_holds_saved_feature_msrs_against_the_host(tmp_path):
    """A Cascadelake-Server-v2 guest read ARCH_CAPABILITIES with mds-no (the snapshot's
    vcpuN.feature_msrs).  A host whose KVM reports the MSR without mds-no is refused,
    naming the bit as QEMU does; a dump that records no feature MSRs cannot say, and is
    no silent yes."""
    base = os.path.join(DATA, "hosts", "intel-cascadelake.json")
    show = skyvm("cpu", "show", "Cascadelake-Server-v2", "--supported", base, "--json")
    assert show.returncode == 0, show.stderr
    vcpus = json.loads(show.stdout)["vcpus"]
    saved = vcpus[0]["msrs"]
    assert [int(m["index"], 16) for m in saved] == [0x10A]
    value = int(saved[0]["value"], 16)
    snap = tmp_path / "snap"
    snap.mkdir()
    meta = {"format": "skyvm-snapshot", "version": 1, "cpus": 1, "memory_mib": 32,
            "cpu_spec": "Cascadelake-Server-v2", "cpu_model": "Cascadelake-Server-v2"}
    write_state(snap / "state.skyvm",
                [("meta", json.dumps(meta).encode()),
                 ("vcpu0.cpuid", entries(vcpus[0]["cpuid"])),
                 ("vcpu0.feature_msrs", msr_entries(saved))])

    dump = json.loads(open(base).read())
    mds_no = 1 << 5  # QEMU's MSR(10AH).mds-no, the bit the line must name

    def host(name, arch_cap):
        d = dict(dump, feature_msrs=[{"index": "0x10a", "value": hex(arch_cap)}])
        p = tmp_path / name
        p.write_text(json.dumps(d))
        return str(p)

    has = host("has.json", value)
    lacks = host("lacks.json", value & ~mds_no)
    r = skyvm("snapshot", "check", str(snap), "--host", has, "--host", lacks, "--host", base)
    assert r.returncode == 4, r.stdout + r.stderr
    assert f"{has}: yes" in r.stdout
    assert f"{lacks}: no\n  host doesn't support requested feature: MSR(10AH).mds-no [bit 5]\n" \
        in r.stdout, r.stdout
    assert f"{base}: no\n  cannot check feature MSR MSR(10AH) = {hex(value)}: the host's " \
        "record has no feature MSRs" in r.stdout, r.stdout

    j = skyvm("snapshot", "check", str(snap), "--host", has, "--host", lacks, "--json")
    assert j.returncode == 4
    v = {os.path.basename(x["host"]): x for x in json.loads(j.stdout)}
    assert v["has.json"]["compatible"] and v["has.json"]["feature_msrs_checked"]
    assert not v["lacks.json"]["compatible"]
    assert v["lacks.json"]["missing"] == [{"feature": "mds-no", "register": "MSR(10AH)",
                                           "bit": 5, "text": "MSR(10AH).mds-no [bit 5]"}]
    assert skyvm("snapshot", "check", str(snap), "--host", has).returncode == 0
