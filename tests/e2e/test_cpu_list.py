"""`skyvm cpu list` and `skyvm cpu features`, driven as a user would.

The runs-here answers use recorded/synthesised supported-CPUID dumps in tests/data, so
they are checked without /dev/kvm; what each host lacks is a fact of that CPU (an
Icelake-SP without TSX, a Haswell-EP without AVX-512), not of skyvm's code.
"""
import json
import os

from conftest import kvm_unavailable_reason


def listing(skyvm, *args):
    r = skyvm("cpu", "list", "--json", *args)
    assert r.returncode == 0, r.stderr
    return {m["name"]: m for m in json.loads(r.stdout)["models"]}


def test_help_names_every_option(skyvm):
    r = skyvm("cpu", "list", "--help")
    assert r.returncode == 0
    for opt in ("--json", "--supported DUMP", "RUNS HERE"):
        assert opt in r.stdout
    r = skyvm("cpu", "features", "--help")
    assert r.returncode == 0
    for word in ("--json", "unmigratable", "needs-hypercall", "kvm-pv"):
        assert word in r.stdout


def test_bad_arguments(skyvm, tmp_path):
    r = skyvm("cpu", "list", "--bogus")
    assert r.returncode == 2 and "--bogus" in r.stderr
    r = skyvm("cpu", "features", "extra")
    assert r.returncode == 2 and "extra" in r.stderr
    missing = tmp_path / "nope.json"
    r = skyvm("cpu", "list", "--supported", missing)
    assert r.returncode == 1 and "nope.json" in r.stderr


def test_list_has_every_required_model(skyvm):
    models = listing(skyvm)
    for base in ("host", "max", "base", "qemu64", "kvm64", "Haswell", "Skylake-Client",
                 "Skylake-Server", "Cascadelake-Server", "Icelake-Server", "EPYC",
                 "EPYC-Rome", "EPYC-Milan"):
        assert any(m["base"] == base for m in models.values()), base
    for v in range(1, 6):
        assert f"Skylake-Server-v{v}" in models and f"Cascadelake-Server-v{v}" in models
    assert "Skylake-Server" in models["Skylake-Server-v1"]["aliases"]
    assert models["Skylake-Server-v2"]["aliases"] == ["Skylake-Server-IBRS"]
    sks = models["Skylake-Server-v4"]
    assert (sks["vendor"], sks["family"], sks["model"]) == ("GenuineIntel", 6, 85)
    assert "avx512f" in sks["features"] and "rtm" not in sks["features"]


def test_runs_here_on_recorded_hosts(skyvm, data):
    dumps = os.path.join(data, "supported")
    haswell = listing(skyvm, "--supported", os.path.join(dumps, "intel-haswell-server.json"))
    assert haswell["Haswell-v1"]["runs_here"] == {"answer": "yes", "missing": []}
    sky = haswell["Skylake-Server-v1"]["runs_here"]
    assert sky["answer"] == "no"
    assert {"avx512f", "avx512bw", "clwb"} <= set(sky["missing"])
    icelake = listing(skyvm, "--supported", os.path.join(dumps, "intel-icelake-server.json"))
    # Icelake-SP has no TSX: the TSX versions are refused, the noTSX ones run.
    assert icelake["Icelake-Server-v1"]["runs_here"]["missing"] == ["hle", "rtm"]
    assert icelake["Icelake-Server-v2"]["runs_here"]["answer"] == "yes"
    assert icelake["EPYC-v1"]["runs_here"]["answer"] == "no"


def test_runs_here_text_column(skyvm, data):
    dump = os.path.join(data, "supported", "intel-haswell-server.json")
    r = skyvm("cpu", "list", "--supported", dump)
    assert r.returncode == 0
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:] if line.strip()}
    assert " yes " in rows["Haswell-v1"]
    assert " no (" in rows["Skylake-Server-v1"] and "missing)" in rows["Skylake-Server-v1"]


def test_runs_here_without_a_dump(skyvm):
    models = listing(skyvm)
    reason = kvm_unavailable_reason()
    answers = {m["runs_here"]["answer"] for m in models.values()}
    if reason:
        # No /dev/kvm: no answer at all, and the reason is given.
        assert answers == {"unknown"}
        assert all(m["runs_here"]["reason"] for m in models.values())
        r = skyvm("cpu", "list")
        assert "runs here: unknown" in r.stdout
    else:
        assert models["host"]["runs_here"]["answer"] == "yes"
        assert answers <= {"yes", "no"}


def test_features_json(skyvm):
    r = skyvm("cpu", "features", "--json")
    assert r.returncode == 0, r.stderr
    features = json.loads(r.stdout)["features"]
    by_name = {}
    for f in features:
        by_name.setdefault(f["name"], []).append(f)
    avx512f = by_name["avx512f"][0]
    assert (avx512f["leaf"], avx512f["subleaf"], avx512f["register"], avx512f["bit"]) == \
        ("0x00000007", "0x0", "EBX", 16)
    assert avx512f["label"] == "CPUID.07H:EBX"
    assert by_name["invtsc"][0]["flags"] == ["unmigratable"]
    assert by_name["kvm-pv-ipi"][0]["flags"] == ["kvm-pv", "needs-hypercall"]
    assert "sse3" in by_name["pni"][0]["aliases"]
    assert by_name["lm"][0]["subleaf"] is None
    assert sorted(f["bit"] for f in by_name["kvmclock"]) == [0, 3]
    text = skyvm("cpu", "features").stdout.splitlines()
    assert len(text) == len(features) + 1


def test_origin_names_the_qemu_release(skyvm, data):
    """Each version says which QEMU release introduced it (the model tables' .qemu)."""
    hosts = os.path.join(data, "hosts")
    gnr = listing(skyvm, "--supported", os.path.join(hosts, "intel-graniterapids.json"))
    assert gnr["host"]["origin"] == "skyvm"
    # every version names its release, the old ones too (no "<= 7.2" guess)
    assert all(m["origin"].startswith("QEMU ") and "<" not in m["origin"]
               for m in gnr.values() if m["base"] not in ("host", "max", "base"))
    for name, release in (("qemu64-v1", "0.9.1"), ("Conroe-v1", "0.13"), ("Haswell-v1", "1.3"),
                          ("Haswell-v2", "2.3"), ("Skylake-Server-v2", "2.12"),
                          ("Cooperlake-v1", "5.0"), ("EPYC-Milan-v1", "6.0"),
                          ("Icelake-Server-v5", "6.1"), ("Snowridge-v4", "6.2"),
                          ("Icelake-Server-v6", "7.0")):
        assert gnr[name]["origin"] == "QEMU " + release, name
    assert gnr["SapphireRapids-v1"]["origin"] == "QEMU 8.0"
    assert gnr["SapphireRapids-v3"]["origin"] == "QEMU 9.2"
    assert gnr["GraniteRapids-v1"]["origin"] == "QEMU 8.1"
    assert gnr["GraniteRapids-v2"]["origin"] == "QEMU 9.2"
    assert gnr["EPYC-Genoa-v1"]["origin"] == "QEMU 8.1"
    # the later versions, each with the release that added it
    for name, release in (("Icelake-Server-v7", "9.0"), ("YongFeng-v1", "10.0"),
                          ("SapphireRapids-v4", "10.1"), ("GraniteRapids-v3", "10.1"),
                          ("SierraForest-v3", "10.1"), ("YongFeng-v2", "10.1"),
                          ("YongFeng-v3", "10.1"), ("EPYC-v5", "10.1"), ("EPYC-Rome-v5", "10.1"),
                          ("EPYC-Milan-v3", "10.1"), ("EPYC-Genoa-v2", "10.1"),
                          ("EPYC-Turin-v1", "10.1"), ("SapphireRapids-v5", "11.0"),
                          ("SapphireRapids-v6", "11.0"), ("GraniteRapids-v4", "11.0"),
                          ("GraniteRapids-v5", "11.0"), ("SierraForest-v4", "11.0"),
                          ("SierraForest-v5", "11.0"), ("ClearwaterForest-v2", "11.0"),
                          ("ClearwaterForest-v3", "11.0"), ("DiamondRapids-v1", "11.0")):
        assert gnr[name]["origin"] == "QEMU " + release, name
    # and whether it runs on that host: v2 and v3 do; v4 (QEMU 11.0) wants CET, which
    # the recorded host's KVM does not offer
    assert gnr["GraniteRapids-v2"]["runs_here"]["answer"] == "yes"
    assert gnr["GraniteRapids-v3"]["runs_here"]["answer"] == "yes"
    assert gnr["GraniteRapids-v4"]["runs_here"]["answer"] == "no"
    assert gnr["ClearwaterForest-v1"]["runs_here"]["answer"] == "no"
    r = skyvm("cpu", "list", "--supported", os.path.join(hosts, "intel-graniterapids.json"))
    assert r.stdout.splitlines()[0].split()[:5] == ["MODEL", "ALIASES", "RUNS", "HERE", "ORIGIN"]
    row = next(line for line in r.stdout.splitlines() if line.startswith("GraniteRapids-v2 "))
    assert " yes " in row and " QEMU 9.2 " in row
    # the ORIGIN column keeps its width with the oldest releases ("QEMU 0.9.1")
    header = r.stdout.splitlines()[0]
    col = header.index("ORIGIN")
    row = next(line for line in r.stdout.splitlines() if line.startswith("qemu64-v1 "))
    assert row[col:].startswith("QEMU 0.9.1 ") and row[col - 1] == " "
