"""Every named CPU model version skyvm ships must equal QEMU's model of the same name.

skyvm's model data claims to be QEMU 7.2's (docs/cpu-models.md).  This test holds it to
that: for every version `skyvm cpu list --json` lists, it asks the installed
qemu-system-x86_64 for the same model through QMP (query-cpu-model-expansion, type
"full") and compares vendor, family, model, stepping, level, xlevel, model-id and every
feature skyvm has a name for.  Aliases (the unversioned name and names such as
Skylake-Server-IBRS) are checked against QEMU's query-cpu-definitions, and every version
QEMU has of a shipped model must be shipped too.

Accelerator differences, accounted for explicitly:
- This QEMU can only run TCG here (no usable /dev/kvm), so the expansion is TCG's.
- Under KVM, QEMU applies kvm_default_props (target/i386/kvm/kvm-cpu.c) to every named
  model; skyvm always runs under KVM and applies the same table.  KVM_DEFAULTS below is
  QEMU 7.2's table, applied here to QEMU's TCG expansion before comparing.
- Under TCG, QEMU applies tcg_default_props (target/i386/tcg/tcg-cpu.c): "vme" off for
  every model, since TCG does not implement virtual-8086 extensions.  A TCG expansion
  therefore cannot say whether a model has vme, and vme alone is not compared (the
  test asserts QEMU really reports it off, so the exception cannot hide anything else).
"""
import json
import os
import re
import select
import shutil
import subprocess

import pytest

from conftest import run_skyvm

QEMU = shutil.which("qemu-system-x86_64")

# QEMU 7.2 target/i386/kvm/kvm-cpu.c kvm_default_props[], plus kvm-msi-ext-dest-id,
# which QEMU leaves off unless the machine enables split-irqchip extended ids.
KVM_DEFAULTS = {
    "kvmclock": True,
    "kvm-nopiodelay": True,
    "kvm-asyncpf": True,
    "kvm-steal-time": True,
    "kvm-pv-eoi": True,
    "kvmclock-stable-bit": True,
    "x2apic": True,
    "kvm-msi-ext-dest-id": False,
    "acpi": False,
    "monitor": False,
    "svm": False,
}
TCG_FORCED_OFF = {"vme"}
SCALARS = [("vendor", "vendor"), ("family", "family"), ("model", "model"),
           ("stepping", "stepping"), ("level", "level"), ("xlevel", "xlevel"),
           ("model_id", "model-id")]


class Qmp:
    """A QEMU with no machine, driven over QMP on its stdin/stdout."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [QEMU, "-machine", "none", "-accel", "tcg", "-nodefaults", "-display", "none",
             "-qmp", "stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        greeting = self._read()
        assert "QMP" in greeting, f"not a QMP greeting: {greeting}"
        self.execute("qmp_capabilities")

    def _read(self, timeout=30):
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            assert ready, "QEMU did not answer on QMP within 30 s"
            line = self.proc.stdout.readline()
            assert line, f"QEMU exited: {self.proc.stderr.read()}"
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        assert "return" in reply, f"{command} {arguments}: {reply}"
        return reply["return"]

    def close(self):
        try:
            self.execute("quit")
        except (AssertionError, BrokenPipeError, OSError):
            pass
        self.proc.wait(timeout=10)


def skyvm_json(*args):
    r = run_skyvm(*args)
    assert r.returncode == 0, f"skyvm {' '.join(args)} failed: {r.stderr}"
    return json.loads(r.stdout)


def shipped_versions():
    """The named versions skyvm lists; collected lazily so a missing binary fails a test."""
    try:
        return [m["name"] for m in skyvm_json("cpu", "list", "--json")["models"]
                if m["kind"] == "named"]
    except (AssertionError, OSError, ValueError) as e:
        return [f"<skyvm cpu list --json failed: {e}>"]


def pytest_generate_tests(metafunc):
    if "version" in metafunc.fixturenames:
        metafunc.parametrize("version", shipped_versions())


@pytest.fixture(scope="module")
def qemu():
    if not QEMU:
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    q = Qmp()
    yield q
    q.close()


@pytest.fixture(scope="module")
def qemu_definitions(qemu):
    return {d["name"]: d for d in qemu.execute("query-cpu-definitions")}


@pytest.fixture(scope="module")
def skyvm_models():
    return {m["name"]: m for m in skyvm_json("cpu", "list", "--json")["models"]}


@pytest.fixture(scope="module")
def skyvm_feature_names():
    names = [f["name"] for f in skyvm_json("cpu", "features", "--json")["features"]]
    assert len(names) > 250, "the feature table looks truncated"
    return sorted(set(names))


def expected_from_qemu(props, feature_names):
    """QEMU's TCG expansion turned into what QEMU gives the same model under KVM."""
    expected = {}
    for name in feature_names:
        value = props.get(name)
        if isinstance(value, bool):
            expected[name] = value
        else:
            # A name QEMU 7.2 does not know (skyvm also names later bits): no 7.2 model
            # can have it, so skyvm's copy must not either.
            expected[name] = False
    expected.update(KVM_DEFAULTS)
    return expected


def test_model_version_matches_qemu(version, qemu, qemu_definitions, skyvm_models,
                                    skyvm_feature_names):
    assert not version.startswith("<"), version
    if version not in qemu_definitions:
        pytest.skip(f"{version} is not in the installed QEMU "
                    f"({subprocess.run([QEMU, '--version'], capture_output=True, text=True).stdout.splitlines()[0]})")
    mine = skyvm_models[version]
    props = qemu.execute("query-cpu-model-expansion", type="full",
                         model={"name": version})["model"]["props"]
    # The levels as QEMU sets them under KVM: expanded with the KVM defaults as
    # properties, so that with svm off Opteron_G2/G3's xlevel is not raised to
    # 0x8000000A (QEMU's min-xlevel for svm).  (The features are compared with the table,
    # before dependencies, so they come from the plain expansion.)
    kvm_props = qemu.execute("query-cpu-model-expansion", type="full",
                             model={"name": version, "props": KVM_DEFAULTS})["model"]["props"]
    props = dict(props, level=kvm_props["level"], xlevel=kvm_props["xlevel"])
    for name in TCG_FORCED_OFF:
        assert props[name] is False, f"QEMU under TCG reports {name}={props[name]}: " \
                                     "the TCG exception in this test is out of date"

    problems = []
    for key, qkey in SCALARS:
        if mine[key] != props[qkey]:
            problems.append(f"{key}: skyvm {mine[key]!r}, QEMU {props[qkey]!r}")
    expected = expected_from_qemu(props, skyvm_feature_names)
    have = set(mine["features"])
    unknown = have - set(skyvm_feature_names)
    assert not unknown, f"{version}: cpu list names features cpu features lacks: {unknown}"
    extra = sorted(n for n in have if not expected[n] and n not in TCG_FORCED_OFF)
    missing = sorted(n for n, on in expected.items() if on and n not in have)
    if extra:
        problems.append(f"skyvm has, QEMU lacks: {', '.join(extra)}")
    if missing:
        problems.append(f"QEMU has, skyvm lacks: {', '.join(missing)}")
    assert not problems, f"{version} differs from QEMU:\n  " + "\n  ".join(problems)


def test_aliases_match_qemu(qemu_definitions, skyvm_models):
    """Every alias skyvm lists points where QEMU's does, and skyvm knows every QEMU alias."""
    problems = []
    shipped_bases = {m["base"] for m in skyvm_models.values() if m["kind"] == "named"}
    for m in skyvm_models.values():
        if m["kind"] != "named" or m["base"] not in qemu_definitions:
            continue  # a model this QEMU lacks (test_model_version_matches_qemu says so)
        for alias in m["aliases"]:
            target = qemu_definitions.get(alias, {}).get("alias-of")
            if target != m["name"]:
                problems.append(f"{alias}: skyvm -> {m['name']}, QEMU -> {target}")
    skyvm_aliases = {a for m in skyvm_models.values() for a in m["aliases"]}
    for name, d in qemu_definitions.items():
        base = re.sub(r"-v\d+$", "", d.get("alias-of", ""))
        if base in shipped_bases and name not in skyvm_aliases:
            problems.append(f"QEMU alias {name} -> {d['alias-of']} unknown to skyvm")
    assert not problems, "\n".join(problems)


def test_every_qemu_model_version_is_shipped(qemu_definitions, skyvm_models):
    absent = sorted(n for n, d in qemu_definitions.items()
                    if "alias-of" not in d and n not in skyvm_models)
    assert not absent, f"QEMU models skyvm does not ship: {absent}"


# QEMU flags that are not bits of the words skyvm models: VMX capability MSRs (vmx-*),
# the PERF_CAPABILITIES MSR bit (QEMU writes that MSR only with pmu=on; skyvm has no
# vPMU), and the SGX leaf 0x12 attribute words.  The ARCH_CAPABILITIES and
# CORE_CAPABILITY bits are modelled (src/cpu/msrs.h) and so must have names.
NOT_CPUID_WORD_FLAGS = {
    "full-width-write",
    "sgx1", "sgx2", "sgx-debug", "sgx-mode64", "sgx-provisionkey", "sgx-tokenkey",
    "sgx-kss", "sgx-exinfo", "sgx-edeccssa", "sgx-aex-notify",
}


def test_every_qemu_cpuid_flag_has_a_name(skyvm_feature_names):
    """Every CPUID flag `qemu-system-x86_64 -cpu help` recognises is in skyvm's table."""
    if not QEMU:
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    out = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True,
                         timeout=60).stdout
    flags_text = out.split("Recognized CPUID flags:", 1)[1].split("\n\n", 1)[0]
    flags = set(flags_text.split())
    assert len(flags) > 200, "could not read QEMU's flag list"
    missing = sorted(f for f in flags if not f.startswith("vmx-")
                     and f not in NOT_CPUID_WORD_FLAGS and f not in skyvm_feature_names)
    assert not missing, f"QEMU CPUID flags skyvm has no name for: {missing}"


def test_unversioned_names_resolve_like_qemu(skyvm, qemu_definitions, skyvm_models):
    """`--cpu Skylake-Server` means what QEMU 7.2 means by it (its alias-of version)."""
    bases = sorted({m["base"] for m in skyvm_models.values()
                    if m["kind"] == "named" and m["base"] in qemu_definitions})
    assert len(bases) >= 10
    for base in bases:
        default = [m["name"] for m in skyvm_models.values()
                   if m["base"] == base and m["default"]]
        assert default == [qemu_definitions[base]["alias-of"]], base
