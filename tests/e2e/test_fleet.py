"""`skyvm cpu compare` and `skyvm cpu baseline`, driven as a user would, on host dumps.

The dumps in tests/data/hosts are synthesised from each CPU generation's documented
features (gen_hosts.py says how), so what a host lacks here is a fact of that CPU, e.g.
a Haswell-EP has no AVX-512.  Nothing here needs /dev/kvm except the last test, which
boots the default guest with a baseline model file.
"""
import itertools
import json
import os
import re

import jsonschema
import pytest

from conftest import ROOT

HOSTS_DIR = os.path.join(ROOT, "tests", "data", "hosts")
SCHEMAS = os.path.join(ROOT, "docs", "schemas")

INTEL = ["intel-haswell-ep", "intel-skylake-sp", "intel-cascadelake", "intel-icelake-sp",
         "intel-sapphirerapids", "intel-graniterapids"]
AMD = ["amd-epyc-naples", "amd-epyc-rome", "amd-epyc-milan", "amd-epyc-genoa", "amd-epyc-turin"]
FIRECRACKER = "firecracker-cascadelake"
EXIT_INCOMPATIBLE = 4

# Each QEMU model and the first generation of host it was written for.
GENERATIONS = [
    ("Haswell", "intel-haswell-ep"),
    ("Skylake-Server", "intel-skylake-sp"),
    ("Cascadelake-Server", "intel-cascadelake"),
    ("Icelake-Server", "intel-icelake-sp"),
    ("SapphireRapids", "intel-sapphirerapids"),
    ("EPYC", "amd-epyc-naples"),
    ("EPYC-Rome", "amd-epyc-rome"),
    ("EPYC-Milan", "amd-epyc-milan"),
    ("GraniteRapids", "intel-graniterapids"),
    ("EPYC-Genoa", "amd-epyc-genoa"),
]


def host(name):
    return os.path.join(HOSTS_DIR, name + ".json")


def schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def no_crash(r):
    """A clean failure: an exit status of ours, no signal, no sanitizer report."""
    assert r.returncode >= 0, f"killed by signal {-r.returncode}: {r.stderr}"
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr


def compare_json(skyvm, model, *hosts):
    r = skyvm("cpu", "compare", model, "--json", "--host", *map(host, hosts))
    no_crash(r)
    assert r.returncode in (0, EXIT_INCOMPATIBLE), r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema("cpu-compare.schema.json"),
                        cls=jsonschema.Draft202012Validator)
    assert doc["runs_everywhere"] == (r.returncode == 0)
    return doc, r.returncode


def baseline_json(skyvm, *hosts, extra=()):
    r = skyvm("cpu", "baseline", "--json", *extra, *map(host, hosts))
    no_crash(r)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema("cpu-baseline.schema.json"),
                        cls=jsonschema.Draft202012Validator)
    return doc


def missing_names(host_doc):
    return {f["name"] for f in host_doc["missing_features"]}


# ---- help and usage

def test_help_describes_rules_and_exit_codes(skyvm):
    r = skyvm("cpu", "compare", "--help")
    assert r.returncode == 0
    for text in ("--host DUMP", "--json", "identical", "runs", "incompatible",
                 "CPUID.07H:EBX.avx512f [bit 16]", "Exit status: 0", "4 it does not run"):
        assert text in r.stdout, text
    r = skyvm("cpu", "baseline", "--help")
    assert r.returncode == 0
    for text in ("--migratable", "--json", "--output FILE", "same CPU vendor", "file:FILE"):
        assert text in r.stdout, text


@pytest.mark.parametrize("args, needle", [
    (["cpu", "compare"], "no MODEL"),
    (["cpu", "compare", "Haswell"], "no host"),
    (["cpu", "compare", "Haswell", "--host"], "--host needs a DUMP"),
    (["cpu", "compare", "Haswell", "Skylake-Server", "--host", "x.json"], "one MODEL only"),
    (["cpu", "compare", "Haswell", "--bogus", "--host", "x.json"], "--bogus"),
    (["cpu", "compare", "Haswell,enforce", "--host", "x.json"], "enforce"),
    (["cpu", "baseline"], "no host DUMP"),
    (["cpu", "baseline", "--bogus", "x.json"], "--bogus"),
    (["cpu", "baseline", "x.json", "--output"], "--output needs a FILE"),
])
def test_usage_errors_exit_2(skyvm, args, needle):
    r = skyvm(*args)
    no_crash(r)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr


# ---- compare

def test_newer_model_on_older_host_names_what_it_lacks(skyvm):
    r = skyvm("cpu", "compare", "Skylake-Server", "--host", host("intel-haswell-ep"))
    no_crash(r)
    assert r.returncode == EXIT_INCOMPATIBLE, r.stderr
    # QEMU's words and labels, one line per feature (facts of Skylake-SP vs Haswell-EP).
    for label in ("CPUID.07H:EBX.avx512f [bit 16]", "CPUID.07H:EBX.avx512bw [bit 30]",
                  "CPUID.07H:EBX.clwb [bit 24]", "CPUID.07H:ECX.pku [bit 3]"):
        assert f"host doesn't support requested feature: {label}" in r.stdout, label
    assert "intel-haswell-ep: incompatible" in r.stdout
    # Features both have are not listed.
    assert "avx2" not in r.stdout


@pytest.mark.parametrize("model, first_host", GENERATIONS)
def test_each_model_runs_on_its_generation_and_later_not_earlier(skyvm, model, first_host):
    family = INTEL if first_host in INTEL else AMD
    idx = family.index(first_host)
    doc, rc = compare_json(skyvm, model, *family)
    verdicts = {h["name"]: h for h in doc["hosts"]}
    for name in family[idx:]:
        assert verdicts[name]["verdict"] in ("runs", "identical"), (name, verdicts[name])
    for name in family[:idx]:
        assert verdicts[name]["verdict"] == "incompatible", name
        assert verdicts[name]["missing_features"], name
    assert rc == (0 if idx == 0 else EXIT_INCOMPATIBLE)
    assert doc["runs_on"] == len(family) - idx


def test_generational_features_are_named(skyvm):
    doc, _ = compare_json(skyvm, "Icelake-Server", "intel-cascadelake")
    lacks = missing_names(doc["hosts"][0])
    # Ice Lake added these over Cascade Lake.
    assert {"avx512vbmi", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512bitalg",
            "avx512-vpopcntdq"} <= lacks, lacks
    assert "avx512vnni" not in lacks
    doc, _ = compare_json(skyvm, "EPYC-Milan", "amd-epyc-rome")
    assert {"pku", "erms", "fsrm", "invpcid", "pcid"} <= \
        missing_names(doc["hosts"][0])


def test_vendor_difference_is_named(skyvm):
    # A named model takes the host's vendor, as under QEMU with KVM: no vendor difference.
    doc, rc = compare_json(skyvm, "EPYC-Rome", "intel-icelake-sp")
    assert rc == EXIT_INCOMPATIBLE  # Ice Lake lacks EPYC-Rome's AMD-only features
    assert "vendor" not in {d["field"] for d in doc["hosts"][0]["differences"]}
    # vendor=model keeps the table's, and then the vendor is a difference
    doc, rc = compare_json(skyvm, "EPYC-Rome,vendor=model", "intel-icelake-sp")
    assert rc == EXIT_INCOMPATIBLE
    diffs = {d["field"]: d for d in doc["hosts"][0]["differences"]}
    assert diffs["vendor"]["model"] == "AuthenticAMD"
    assert diffs["vendor"]["host"] == "GenuineIntel"


def test_max_leaf_difference_is_named(skyvm):
    # The model asks for basic leaves up to 0x21; Sapphire Rapids reports 0x20.
    doc, rc = compare_json(skyvm, "SapphireRapids,level=33", "intel-sapphirerapids")
    assert rc == EXIT_INCOMPATIBLE
    (d,) = doc["hosts"][0]["differences"]
    assert (d["field"], d["model"], d["host"]) == ("level", "0x00000021", "0x00000020")
    assert not doc["hosts"][0]["missing_features"]
    doc, rc = compare_json(skyvm, "SapphireRapids,level=32", "intel-sapphirerapids")
    assert rc == 0


def edited_dump(tmp_path, name, edit):
    with open(host(name)) as f:
        doc = json.load(f)
    for e in doc["entries"]:
        edit(e)
    path = tmp_path / (name + "-edited.json")
    path.write_text(json.dumps(doc))
    return path


def test_signature_and_missing_kvm_leaves_are_named(skyvm, tmp_path):
    def hyperv(e):
        if e["leaf"] == "0x40000000":
            e["ebx"], e["ecx"], e["edx"] = "0x7263694d", "0x666f736f", "0x76482074"

    path = edited_dump(tmp_path, "intel-cascadelake", hyperv)
    r = skyvm("cpu", "compare", "Cascadelake-Server", "--json", "--host", path)
    no_crash(r)
    assert r.returncode == EXIT_INCOMPATIBLE
    (d,) = json.loads(r.stdout)["hosts"][0]["differences"]
    assert (d["field"], d["model"], d["host"]) == ("hv_signature", "KVMKVMKVM", "Microsoft Hv")

    doc = json.load(open(host("intel-cascadelake")))
    doc["entries"] = [e for e in doc["entries"] if not e["leaf"].startswith("0x4000000")]
    path = tmp_path / "no-kvm-leaves.json"
    path.write_text(json.dumps(doc))
    r = skyvm("cpu", "compare", "Cascadelake-Server", "--json", "--host", path)
    no_crash(r)
    assert r.returncode == EXIT_INCOMPATIBLE
    h = json.loads(r.stdout)["hosts"][0]
    assert {"hv_level", "hv_signature"} <= {d["field"] for d in h["differences"]}
    # The KVM PV features the model asks for (QEMU's KVM defaults) are missing too.
    assert {"kvmclock", "kvm-steal-time", "kvm-pv-eoi"} <= missing_names(h)


def test_options_change_the_answer(skyvm):
    doc, rc = compare_json(skyvm, "Skylake-Server,-avx512f,-avx512bw,-avx512cd,-avx512dq,"
                           "-avx512vl", "intel-haswell-ep")
    lacks = missing_names(doc["hosts"][0])
    assert "avx512f" not in lacks and "clwb" in lacks
    doc, rc = compare_json(skyvm, "Haswell,+avx512f", "intel-haswell-ep")
    assert missing_names(doc["hosts"][0]) == {"avx512f"} and rc == EXIT_INCOMPATIBLE


def test_firecracker_fingerprint_is_a_host(skyvm):
    doc, rc = compare_json(skyvm, "Cascadelake-Server", FIRECRACKER, "intel-cascadelake")
    assert rc == 0, doc
    fc = doc["hosts"][0]
    assert fc["vendor"] == "GenuineIntel"
    assert fc["source"].startswith("firecracker:")
    doc, rc = compare_json(skyvm, "Icelake-Server", FIRECRACKER)
    assert rc == EXIT_INCOMPATIBLE and "avx512vbmi" in missing_names(doc["hosts"][0])


def test_host_repeated_and_equals_forms(skyvm):
    r = skyvm("cpu", "compare", "Haswell", "--host", host("intel-haswell-ep"),
              f"--host={host('intel-skylake-sp')}", "--host", host("intel-icelake-sp"))
    no_crash(r)
    assert r.returncode == 0, r.stderr
    assert "Haswell runs on 3 of 3 hosts" in r.stdout


# ---- baseline: its properties

def test_baseline_of_one_host_runs_on_that_host(skyvm):
    for name in INTEL + AMD + [FIRECRACKER]:
        doc = baseline_json(skyvm, name)
        _, rc = compare_json(skyvm, doc["cpu"], name)
        assert rc == 0, (name, doc["cpu"])


def test_baseline_of_a_pair_runs_on_both(skyvm):
    for family in (INTEL, AMD):
        for a, b in itertools.combinations(family, 2):
            doc = baseline_json(skyvm, a, b)
            cmp_doc, rc = compare_json(skyvm, doc["cpu"], a, b)
            assert rc == 0, (a, b, doc["cpu"], cmp_doc)


def test_adding_a_host_never_adds_a_feature(skyvm):
    for family in (INTEL, AMD):
        # Newest first, so every step can only take features away.
        order = list(reversed(family))
        prev = None
        for k in range(1, len(order) + 1):
            feats = set(baseline_json(skyvm, *order[:k])["features"])
            if prev is not None:
                assert feats <= prev, (order[:k], feats - prev)
            prev = feats
        # In another order the final set is the same.
        assert set(baseline_json(skyvm, *family)["features"]) == prev


def test_baseline_of_a_fleet_runs_on_every_host_and_no_more(skyvm):
    for family in (INTEL, AMD):
        doc = baseline_json(skyvm, *family)
        _, rc = compare_json(skyvm, doc["cpu"], *family)
        assert rc == 0, doc["cpu"]
        # The oldest generation bounds it: its model family is the one chosen.
        assert doc["model"].startswith("Haswell" if family is INTEL else "EPYC-v")
        assert "avx512f" not in doc["features"]


def test_baseline_prefers_the_newest_model_that_fits(skyvm):
    for names, model in ((["intel-cascadelake", "intel-icelake-sp"], "Cascadelake-Server"),
                         (["intel-icelake-sp"], "Icelake-Server"),
                         (["amd-epyc-milan", "amd-epyc-genoa"], "EPYC-Milan"),
                         (["amd-epyc-rome", "amd-epyc-milan"], "EPYC-Rome"),
                         # today's fleets: a named model of their generation, not an old one
                         # plus flags (SapphireRapids-v4 / EPYC-Genoa-v1 from QEMU 10.1 / 8.1;
                         # v4 has v3's features and is newer, so it wins the tie)
                         (["intel-sapphirerapids", "intel-graniterapids"], "SapphireRapids"),
                         (["intel-graniterapids"], "GraniteRapids"),
                         (["amd-epyc-genoa", "amd-epyc-turin"], "EPYC-Genoa")):
        doc = baseline_json(skyvm, *names)
        assert re.fullmatch(model + r"-v\d+", doc["model"]), (names, doc["model"])
        assert doc["cpu"].split(",")[0] == doc["model"]
        assert doc["cpu"].count(",") == len(doc["add"]) + len(doc["remove"])


def test_migratable_drops_invtsc(skyvm):
    plain = baseline_json(skyvm, "intel-skylake-sp", "intel-cascadelake")
    mig = baseline_json(skyvm, "intel-skylake-sp", "intel-cascadelake",
                        extra=["--migratable"])
    assert "invtsc" in plain["features"] and "+invtsc" in plain["cpu"].split(",")
    assert "invtsc" not in mig["features"] and "invtsc" not in mig["cpu"]
    assert mig["dropped_unmigratable"] == ["invtsc"] and mig["migratable"] is True
    assert set(plain["features"]) - set(mig["features"]) == {"invtsc"}


def test_baseline_text_is_the_string_alone(skyvm):
    r = skyvm("cpu", "baseline", host("amd-epyc-rome"), host("amd-epyc-milan"))
    no_crash(r)
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()
    assert line == baseline_json(skyvm, "amd-epyc-rome", "amd-epyc-milan")["cpu"]
    # The string is a model `cpu show` (run's pipeline) accepts without warnings.
    r = skyvm("cpu", "show", line, "--supported", host("amd-epyc-rome"))
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr


def test_output_writes_a_model_file_the_pipeline_accepts(skyvm, tmp_path):
    out = tmp_path / "fleet-baseline.json"
    names = ["intel-skylake-sp", "intel-cascadelake", "intel-icelake-sp"]
    r = skyvm("cpu", "baseline", "--json", "--output", out, *map(host, names))
    no_crash(r)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["output"] == str(out)
    model = json.loads(out.read_text())
    assert model["base"] == doc["model"]
    assert model["features"]["+"] == doc["add"] and model["features"]["-"] == doc["remove"]
    assert all(n in model["description"] for n in names)
    r = skyvm("cpu", "compare", f"file:{out}", "--host", *map(host, names))
    no_crash(r)
    assert r.returncode == 0, r.stdout + r.stderr
    r = skyvm("cpu", "compare", f"file:{out}", "--host", host("intel-haswell-ep"))
    assert r.returncode == EXIT_INCOMPATIBLE


def test_output_to_an_unwritable_place_fails_cleanly(skyvm, tmp_path):
    r = skyvm("cpu", "baseline", "--output", tmp_path / "no" / "such" / "dir.json",
              host("intel-skylake-sp"))
    no_crash(r)
    assert r.returncode == 1 and "dir.json" in r.stderr


# ---- bad input: clear errors, non-zero exit, no crash

def test_mixed_vendors_name_each_host(skyvm):
    r = skyvm("cpu", "baseline", host("intel-cascadelake"), host("amd-epyc-milan"),
              host("intel-haswell-ep"))
    no_crash(r)
    assert r.returncode == 1
    assert "one CPU vendor" in r.stderr
    assert re.search(r"intel-cascadelake\.json is GenuineIntel", r.stderr), r.stderr
    assert re.search(r"amd-epyc-milan\.json is AuthenticAMD", r.stderr), r.stderr
    assert r.stdout == ""


def bad_files(tmp_path):
    """(file, what its error must mention) for every broken dump worth a test."""
    whole = open(host("intel-cascadelake")).read()
    fc = open(host(FIRECRACKER)).read()
    cases = {
        "truncated.json": (whole[: len(whole) // 2], "truncated.json:"),
        "empty.json": ("", "empty.json"),
        "not-json.json": ("CPUID leaf 0: GenuineIntel\n", "not-json.json:1:"),
        "wrong-format.json": ('{"format": "qemu-cpu-model", "version": 1, "entries": []}',
                              "format"),
        "wrong-version.json": (whole.replace('"version": 1', '"version": 99'), "version"),
        "bad-register.json": (whole.replace('"eax": "0x00000016"', '"eax": "0xzz"', 1), "eax"),
        "array.json": ("[1, 2, 3]", "array.json"),
        "fc-template.json": (re.sub(r'"bitmap": "0b0', '"bitmap": "0bx', fc, count=1), "'x'"),
        "fc-truncated.json": (fc[: len(fc) // 3], "fc-truncated.json:"),
        "fc-bad-register.json": (fc.replace('"register": "ecx"', '"register": "ekx"', 1),
                                 "ekx"),
    }
    for name, (text, needle) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        yield p, needle
    yield tmp_path / "does-not-exist.json", "does-not-exist.json"
    yield tmp_path, str(tmp_path)


def test_broken_dumps_fail_cleanly(skyvm, tmp_path):
    for path, needle in bad_files(tmp_path):
        for args in (["cpu", "compare", "Haswell", "--host", host("intel-haswell-ep"), path],
                     ["cpu", "baseline", host("intel-haswell-ep"), path],
                     ["cpu", "baseline", "--json", path]):
            r = skyvm(*args)
            no_crash(r)
            assert r.returncode == 1, (path, args, r.returncode, r.stdout, r.stderr)
            assert r.stderr.startswith("skyvm: "), r.stderr
            assert needle in r.stderr, (path, needle, r.stderr)
            assert r.stdout == "" or not args[1] == "baseline", r.stdout


def test_unknown_model_or_feature_fails_cleanly(skyvm):
    r = skyvm("cpu", "compare", "Skylake-Servr", "--host", host("intel-skylake-sp"))
    no_crash(r)
    assert r.returncode == 1 and "Skylake-Server" in r.stderr  # suggested
    r = skyvm("cpu", "compare", "Haswell,+avx512fx", "--host", host("intel-skylake-sp"))
    no_crash(r)
    assert r.returncode == 1 and "avx512fx" in r.stderr


# ---- on /dev/kvm: the baseline boots

def test_run_boots_the_default_guest_with_a_baseline_file(kvm, skyvm, tmp_path):
    dump = tmp_path / "this-host.json"
    r = skyvm("cpu", "host", "--json")
    assert r.returncode == 0, r.stderr
    dump.write_text(r.stdout)
    model = tmp_path / "baseline.json"
    r = skyvm("cpu", "baseline", "--migratable", "--output", model, dump)
    assert r.returncode == 0, r.stderr
    vendor = json.loads(dump.read_text())["host"]["vendor"]
    r = skyvm("run", "--cpu", f"file:{model}", "--cpus", 2, "--timeout", 60)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
    for cpu in range(2):
        lines = [l for l in r.stdout.splitlines() if l.startswith(f"cpu {cpu}:")]
        assert any(vendor in l for l in lines), lines
        assert any('hypervisor "KVMKVMKVM"' in l for l in lines), lines
