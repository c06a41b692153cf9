"""`skyvm cpu verify` as a user runs it.

Without /dev/kvm (this machine), the command line, its errors and the JSON schema are
checked; the schema against the document the real builder produces for a synthetic
report (tests/unit/test_verify.c --json-example).  Everything that boots the probe guest
uses the `kvm` fixture.  The forced bits are taken from `skyvm host-check`, never
hard-coded: on hardware KVM there are none, on a restricted host (HOST-KVM.md) many.
"""
import copy
import json
import os
import subprocess
import threading

import jsonschema
import pytest

from conftest import ROOT, SKYVM, run_skyvm

with open(os.path.join(ROOT, "docs", "schemas", "cpu-verify.schema.json")) as f:
    SCHEMA = json.load(f)

EXIT_ERROR, EXIT_USAGE, EXIT_CPU_MISMATCH = 1, 2, 3
# the unit tests live beside the binary under test (build/tests, build/san/tests, ...)
UNIT_DIR = os.path.abspath(os.path.join(ROOT, os.environ.get(
    "UNIT_DIR", os.path.join(os.path.dirname(SKYVM), "tests"))))
PV_CHECKS = ("kvmclock", "wallclock", "steal_time", "pv_eoi", "hidden_pv_msrs_fault")


# ---- without KVM

def test_help_names_every_option_and_exit_status(skyvm):
    r = skyvm("cpu", "verify", "--help")
    assert r.returncode == 0
    for word in ("--cpus", "--smp", "--json", "--steal-us", "--timeout", "SKYVM_KVM_DEVICE",
                 "guest sees avx2 although the model disables it (the host forces it)",
                 "cpu-verify.schema.json"):
        assert word in r.stdout, word
    assert "0 the guest saw exactly its table" in r.stdout
    assert "3 a difference" in r.stdout


def test_listed_in_skyvm_help(skyvm):
    r = skyvm("--help")
    assert "cpu verify" in r.stdout


def test_unknown_model_is_named_with_suggestions(skyvm):
    r = skyvm("cpu", "verify", "Skylake-Serverx")
    assert r.returncode == EXIT_ERROR
    assert "unknown CPU model 'Skylake-Serverx'" in r.stderr
    assert "Skylake-Server" in r.stderr.split("did you mean", 1)[1]
    assert r.stdout == ""


def test_unknown_feature_is_named(skyvm):
    r = skyvm("cpu", "verify", "host,+avx9000")
    assert r.returncode == EXIT_ERROR
    assert "avx9000" in r.stderr


@pytest.mark.parametrize("args,message", [
    ((), "a CPU model is required"),
    (("host", "--cpus", "0"), "--cpus '0'"),
    (("host", "--steal-us", "x"), "--steal-us 'x'"),
    (("host", "--timeout", "-1"), "--timeout '-1'"),
    (("host", "--smp", "sockets=0"), "--smp 'sockets=0'"),
    (("host", "--cpus", "4", "--smp", "sockets=1,cores=1,threads=2"), "fewer CPU slots"),
    (("host", "Skylake-Server"), "unexpected argument 'Skylake-Server'"),
    (("host", "--frobnicate"), "unknown option '--frobnicate'"),
])
def test_bad_command_line(skyvm, args, message):
    r = skyvm("cpu", "verify", *args)
    assert r.returncode == EXIT_USAGE, r.stderr
    assert message in r.stderr
    assert "Try 'skyvm cpu verify --help'" in r.stderr


def test_without_kvm_a_clear_error(skyvm, tmp_path):
    missing = tmp_path / "no-kvm-here"
    r = skyvm("cpu", "verify", "host", env={"SKYVM_KVM_DEVICE": str(missing)})
    assert r.returncode == EXIT_ERROR
    assert str(missing) in r.stderr
    assert "does not exist" in r.stderr
    assert r.stdout == ""


def builder_example(tmp_path):
    prog = os.path.join(UNIT_DIR, "test_verify")
    if not os.access(prog, os.X_OK):
        pytest.skip(f"{prog} not built (make check builds it)")
    out = tmp_path / "verify.json"
    subprocess.run([prog, "--json-example", str(out)], check=True, cwd=ROOT, timeout=60)
    with open(out) as f:
        return json.load(f)


def test_schema_accepts_what_the_builder_writes(tmp_path):
    doc = builder_example(tmp_path)
    jsonschema.validate(doc, SCHEMA)
    # the synthetic report has one difference of each kind
    kinds = {d["kind"] for v in doc["vcpus"] for d in v["differences"]}
    assert kinds == {"forced", "hidden", "register"}
    assert doc["verdict"] == "different"
    names = [i["name"] for i in doc["ignored"]]
    for name in ("osxsave", "ospke", "initial APIC id", "x2APIC id", "extended APIC id"):
        assert name in names


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(verdict="maybe"),
    lambda d: d["vcpus"][0]["differences"][0].pop("feature"),
    lambda d: d["vcpus"][0]["pv"]["kvmclock"].update(status="fine"),
    lambda d: d["vcpus"][1]["differences"][1].update(bit=3),   # a register diff has no bit
    lambda d: d["vcpus"][0].pop("steal_time"),
    lambda d: d.update(extra=1),
])
def test_schema_rejects_a_wrong_document(tmp_path, mutate):
    doc = copy.deepcopy(builder_example(tmp_path))
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


# ---- with KVM

def verify_json(*args, timeout=300):
    r = run_skyvm("cpu", "verify", *args, "--json", timeout=timeout)
    assert r.returncode in (0, EXIT_CPU_MISMATCH), r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert (r.returncode == 0) == (doc["verdict"] == "identical")
    return doc, r


_host_check = {}


def host_check():
    """`skyvm host-check --json`, once per session."""
    if "doc" not in _host_check:
        r = run_skyvm("host-check", "--json", timeout=600)
        assert r.returncode == 0, r.stderr
        _host_check["doc"] = json.loads(r.stdout)
    return _host_check["doc"]


def features(doc, kind):
    return {d["feature"] for v in doc["vcpus"] for d in v["differences"] if d["kind"] == kind}


def test_host_model_differs_only_by_what_the_host_forces(kvm):
    forced = set(host_check()["forced_cpuid_bits"])
    doc, r = verify_json("host")
    print(r.stdout if doc["verdict"] != "identical" else "identical")
    if not forced and not host_check()["forced_cpuid_registers"]:
        # hardware KVM: the host honours its own supported table fully
        assert r.returncode == 0
        assert doc["identical"] and doc["pv_ok"]
        return
    # a restricted host: every difference is a bit or register the host forces, nothing else
    assert features(doc, "hidden") == set()
    assert features(doc, "forced") <= forced
    assert_only_forced_differences(doc)


def register_label(description):
    """"CPUID.0DH.0:EAX" of "CPUID.0DH.0:EAX: guest sees ..."."""
    return description.split(": guest sees", 1)[0]


def assert_only_forced_differences(doc, where=lambda d: True):
    """Every difference (of those `where` picks) is a bit or a register this restricted
    host forces (host-check's `forced_cpuid_bits` and `forced_cpuid_registers`)."""
    forced = set(host_check()["forced_cpuid_bits"])
    forced_registers = {register_label(d) for d in host_check()["forced_cpuid_registers"]}
    for v in doc["vcpus"]:
        for d in v["differences"]:
            if not where(d):
                continue
            if d["kind"] == "register":
                assert register_label(d["description"]) in forced_registers, d["description"]
            else:
                assert d["kind"] == "forced" and d["feature"] in forced, d["description"]


def test_hiding_forced_bits_names_exactly_those(kvm):
    forced = host_check()["forced_cpuid_bits"]
    if not forced:
        # a host that forces nothing honours hidden bits: hide some the host really has
        r = run_skyvm("cpu", "show", "host", "--json", timeout=300)
        assert r.returncode == 0, r.stderr
        enabled = set(json.loads(r.stdout)["features"]["enabled"])
        hide = [f for f in ("aes", "popcnt", "sse4.2", "movbe", "avx2", "rdrand") if f in enabled]
        assert hide, f"the host offers none of the usual leaf-1/7 features: {sorted(enabled)}"
        doc, r = verify_json("host," + ",".join("-" + f for f in hide))
        print("hidden:", hide, "verdict:", doc["verdict"])
        assert r.returncode == 0, r.stdout
        assert doc["identical"]
        return
    spec = "host," + ",".join("-" + f for f in forced)
    doc, r = verify_json(spec)
    assert r.returncode == EXIT_CPU_MISMATCH
    # host-check hides the bits of leaves 1, 7 and 0xD.1; there the names must match exactly
    # (hiding a bit can clear dependants elsewhere, which host-check does not probe)
    probed = {"0x00000001", "0x00000007", "0x0000000d"}
    named = {d["feature"] for v in doc["vcpus"] for d in v["differences"]
             if d["kind"] == "forced" and d["leaf"] in probed}
    assert named == set(forced)
    assert features(doc, "hidden") == set()
    print("forced elsewhere:", features(doc, "forced") - named)
    r = run_skyvm("cpu", "verify", spec, timeout=300)
    for f in forced:
        assert f"guest sees {f} although the model disables it (the host forces it)" in r.stdout


@pytest.mark.parametrize("model", ["Snowridge-v4", "Opteron_G4-v1"])
def test_named_model_where_kvm_rewrites_entries(kvm, model):
    """Where KVM answers other than the table says, verify predicts it: Snowridge's
    zero CPUID.(12H,1) (no SGX; KVM sets x87|SSE in ECX) and Opteron_G4's absent
    CPUID.(0DH,1) (no xsaveopt, xsavec, xgetbv1, xsaves: zeros, size included)."""
    doc, r = verify_json(model)
    print(r.stdout if doc["verdict"] != "identical" else "identical")
    if not host_check()["forced_cpuid_bits"] and not host_check()["forced_cpuid_registers"]:
        assert r.returncode == 0 and doc["identical"], r.stdout
        return
    # a restricted host (HOST-KVM.md) differs in more places; in these two subleaves
    # only by what it forces
    assert_only_forced_differences(
        doc, lambda d: (d["leaf"], int(d["subleaf"], 16)) in (("0x00000012", 1), ("0x0000000d", 1)))


@pytest.mark.parametrize("cpus", [1, 2])
def test_kvmclock_and_wall_clock(kvm, cpus):
    doc, r = verify_json("host", "--cpus", cpus)
    assert len(doc["vcpus"]) == cpus
    for v in doc["vcpus"]:
        assert v["complete"]
        for check in ("kvmclock", "wallclock"):
            assert v["pv"][check]["status"] == "ok", (v["index"], v["pv"][check])
        print(f"vCPU {v['index']}: kvmclock {v['pv']['kvmclock']['detail']}; "
              f"wall clock {v['pv']['wallclock']['detail']}")


def test_hidden_kvmclock_msr_write_faults(kvm):
    doc, r = verify_json("host,-kvmclock")
    for v in doc["vcpus"]:
        assert v["pv"]["kvmclock"]["status"] == "not-offered"
        assert v["pv"]["hidden_pv_msrs_fault"]["status"] == "ok", v["pv"]["hidden_pv_msrs_fault"]
        assert "raised #GP" in v["pv"]["hidden_pv_msrs_fault"]["detail"]


def test_every_pv_check_reported_per_vcpu(kvm):
    doc, r = verify_json("host", "--cpus", 2)
    for v in doc["vcpus"]:
        assert set(v["pv"]) == set(PV_CHECKS)
        assert v["pv"]["steal_time"]["status"] in ("ok", "not-offered")
    assert "steal time" in run_skyvm("cpu", "verify", "host", timeout=300).stdout


def steal_deltas(doc):
    return [v["steal_time"]["delta_ns"] for v in doc["vcpus"] if v["steal_time"]]


def test_steal_time_alone_and_with_two_busy_guests(kvm):
    busy_us = 1000000
    alone, _ = verify_json("host", "--cpus", 2, "--steal-us", busy_us)
    print(f"alone: steal per vCPU over {busy_us} us busy: {steal_deltas(alone)} ns")

    results = [None, None]
    errors = []

    def run(i):
        try:
            results[i] = verify_json("host", "--cpus", 2, "--steal-us", busy_us)[0]
        except BaseException as e:  # pytest.fail included: re-raised below, with its text
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    together = [steal_deltas(d) for d in results]
    print(f"two 2-vCPU guests busy together: steal per vCPU {together} ns")
    for d in results:
        for v in d["vcpus"]:
            assert v["pv"]["steal_time"]["status"] == "ok", v["pv"]["steal_time"]
    # four busy vCPUs on the cores this machine has: someone waits
    if os.cpu_count() and os.cpu_count() < 4:
        assert max(sum(together, [])) > 0
