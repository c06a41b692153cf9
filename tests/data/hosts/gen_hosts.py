#!/usr/bin/python3
"""Synthesise the host CPUID dumps in this directory from a readable table.

No dump here was recorded on the machine it describes: this project has no
such machines, and nothing fetched may be committed.  Each dump is written
from the architectural facts of one CPU generation (vendor, family/model/
stepping, brand, max leaves, the feature bits the SDM/APM list for it) and
shaped the way Linux 6.12's KVM_GET_SUPPORTED_CPUID reports a host:
  - leaf 0 EAX capped at 0x24, 0x80000000 EAX capped at 0x80000022, and on
    AMD raised to 0x80000021 (KVM synthesises that leaf for Zen);
  - only bits KVM can virtualise: no OSXSAVE, OSPKE, MONITOR, DS, EST, TM2,
    HTT, hypervisor or TSC-deadline (those are the VMM's), vmx/svm present
    (nested=1, with svme-addr-chk, which KVM sets for every nested SVM host),
    x2apic and tsc-adjust always, arch-capabilities always;
  - the speculation-control bits KVM mirrors across vendors;
  - the KVM leaves 0x40000000 ("KVMKVMKVM", max 0x40000001) and 0x40000001
    EAX with every PV feature Linux 6.12 offers (steal time included).
Cache, topology and PMU leaves are plausible but simplified: nothing in
skyvm's fleet commands reads them.

Run it from anywhere: ./gen_hosts.py rewrites the JSON files next to it.
The output is deterministic, so a diff shows exactly what a table edit did.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = "6.12 (assumed)"

# name -> (leaf, subleaf, register, bit), QEMU's spelling.
BITS = {}


def bits(leaf, subleaf, reg, names):
    for bit, name in names.items():
        BITS[name] = (leaf, subleaf, reg, bit)


bits(1, 0, "edx", {0: "fpu", 1: "vme", 2: "de", 3: "pse", 4: "tsc", 5: "msr", 6: "pae",
                   7: "mce", 8: "cx8", 9: "apic", 11: "sep", 12: "mtrr", 13: "pge", 14: "mca",
                   15: "cmov", 16: "pat", 17: "pse36", 19: "clflush", 23: "mmx", 24: "fxsr",
                   25: "sse", 26: "sse2", 27: "ss"})
bits(1, 0, "ecx", {0: "pni", 1: "pclmulqdq", 5: "vmx", 9: "ssse3", 12: "fma", 13: "cx16",
                   15: "pdcm", 17: "pcid", 19: "sse4.1", 20: "sse4.2", 21: "x2apic",
                   22: "movbe", 23: "popcnt", 25: "aes", 26: "xsave", 28: "avx", 29: "f16c",
                   30: "rdrand"})
bits(6, 0, "eax", {2: "arat"})
bits(7, 0, "ebx", {0: "fsgsbase", 1: "tsc-adjust", 3: "bmi1", 4: "hle", 5: "avx2", 7: "smep",
                   8: "bmi2", 9: "erms", 10: "invpcid", 11: "rtm", 16: "avx512f",
                   17: "avx512dq", 18: "rdseed", 19: "adx", 20: "smap", 21: "avx512ifma",
                   23: "clflushopt", 24: "clwb", 28: "avx512cd", 29: "sha-ni", 30: "avx512bw",
                   31: "avx512vl"})
bits(7, 0, "ecx", {1: "avx512vbmi", 2: "umip", 3: "pku", 6: "avx512vbmi2", 8: "gfni",
                   9: "vaes", 10: "vpclmulqdq", 11: "avx512vnni", 12: "avx512bitalg",
                   14: "avx512-vpopcntdq", 16: "la57", 22: "rdpid", 24: "bus-lock-detect",
                   25: "cldemote", 27: "movdiri", 28: "movdir64b"})
bits(7, 0, "edx", {4: "fsrm", 8: "avx512-vp2intersect", 10: "md-clear", 14: "serialize", 16: "tsx-ldtrk",
                   22: "amx-bf16", 23: "avx512-fp16", 24: "amx-tile", 25: "amx-int8",
                   26: "spec-ctrl", 27: "stibp", 28: "flush-l1d", 29: "arch-capabilities",
                   31: "ssbd"})
bits(7, 1, "eax", {4: "avx-vnni", 5: "avx512-bf16", 10: "fzrm", 11: "fsrs", 12: "fsrc",
                   21: "amx-fp16"})
bits(7, 1, "edx", {14: "prefetchiti", 19: "avx10"})
bits(7, 2, "edx", {5: "mcdt-no"})
bits(0x24, 0, "ebx", {16: "avx10-128", 17: "avx10-256", 18: "avx10-512"})
bits(0xd, 1, "eax", {0: "xsaveopt", 1: "xsavec", 2: "xgetbv1", 3: "xsaves", 4: "xfd"})
bits(0x80000001, 0, "edx", {11: "syscall", 20: "nx", 22: "mmxext", 25: "fxsr-opt",
                            26: "pdpe1gb", 27: "rdtscp", 29: "lm"})
bits(0x80000001, 0, "ecx", {0: "lahf-lm", 1: "cmp-legacy", 2: "svm", 4: "cr8legacy",
                            5: "abm", 6: "sse4a", 7: "misalignsse", 8: "3dnowprefetch",
                            9: "osvw", 22: "topoext", 23: "perfctr-core"})
bits(0x80000007, 0, "edx", {8: "invtsc"})
bits(0x80000008, 0, "ebx", {0: "clzero", 2: "xsaveerptr", 9: "wbnoinvd", 12: "ibpb",
                            14: "ibrs", 15: "amd-stibp", 17: "stibp-always-on", 24: "amd-ssbd",
                            25: "virt-ssbd",
                            28: "amd-psfd"})
bits(0x80000021, 0, "eax", {0: "no-nested-data-bp", 2: "lfence-always-serializing",
                            6: "null-sel-clr-base", 8: "auto-ibrs"})
bits(0x8000000a, 0, "edx", {0: "npt", 1: "lbrv", 2: "svm-lock", 3: "nrip-save",
                            4: "tsc-scale", 5: "vmcb-clean", 6: "flushbyasid",
                            7: "decodeassists", 10: "pause-filter", 12: "pfthreshold",
                            15: "v-vmsave-vmload", 16: "vgif", 25: "vnmi",
                            28: "svme-addr-chk"})

# AMD repeats these leaf-1 EDX bits in 0x80000001 EDX (QEMU names them only once).
AMD_EDX_ALIASES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 23, 24]

# Every KVM PV feature Linux 6.12 reports: clocksource (0), nopiodelay (1),
# clocksource2 (3), async-pf (4), steal-time (5), pv-eoi (6), pv-unhalt (7),
# pv-tlb-flush (9), async-pf-vmexit (10), pv-send-ipi (11), poll-control (12),
# pv-sched-yield (13), async-pf-int (14), msi-ext-dest-id (15), stable bit (24).
KVM_PV_FEATURES = 0x0100fefb

# ---- the generations, each the previous one plus what it added
INTEL_BASE = """fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush
    mmx fxsr sse sse2 ss pni pclmulqdq vmx ssse3 fma cx16 pdcm pcid sse4.1 sse4.2 x2apic movbe
    popcnt aes xsave avx f16c rdrand arat fsgsbase tsc-adjust bmi1 hle avx2 smep bmi2 erms
    invpcid rtm xsaveopt syscall nx pdpe1gb rdtscp lm lahf-lm abm 3dnowprefetch invtsc
    spec-ctrl stibp ssbd arch-capabilities md-clear flush-l1d ibpb ibrs amd-stibp amd-ssbd"""
HASWELL = INTEL_BASE
SKYLAKE_SP = HASWELL + """ avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw
    avx512vl pku xsavec xgetbv1 xsaves"""
CASCADELAKE = SKYLAKE_SP + " avx512vnni"
ICELAKE_SP = CASCADELAKE + """ avx512ifma sha-ni avx512vbmi umip avx512vbmi2 gfni vaes
    vpclmulqdq avx512bitalg avx512-vpopcntdq la57 rdpid fsrm wbnoinvd"""
SAPPHIRERAPIDS = ICELAKE_SP + """ bus-lock-detect cldemote movdiri movdir64b serialize
    tsx-ldtrk amx-bf16 avx512-fp16 amx-tile amx-int8 avx-vnni avx512-bf16 fzrm fsrs fsrc xfd"""
# Granite Rapids (Redwood Cove): AMX-FP16, PREFETCHI, MCDT_NO, AVX10.1 at 512 bits
# (CPUID.24H version 1), as QEMU's GraniteRapids-v2 lists them.
GRANITERAPIDS = SAPPHIRERAPIDS + """ amx-fp16 prefetchiti mcdt-no avx10 avx10-128 avx10-256
    avx10-512"""

AMD_BASE = """fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush
    mmx fxsr sse sse2 pni pclmulqdq ssse3 fma cx16 sse4.1 sse4.2 x2apic movbe popcnt aes xsave
    avx f16c rdrand arat fsgsbase tsc-adjust bmi1 avx2 smep bmi2 rdseed adx smap clflushopt
    sha-ni xsaveopt xsavec xgetbv1 xsaves syscall nx mmxext fxsr-opt pdpe1gb rdtscp lm lahf-lm
    cmp-legacy svm cr8legacy abm sse4a misalignsse 3dnowprefetch osvw topoext perfctr-core
    invtsc clzero xsaveerptr ibpb arch-capabilities virt-ssbd lfence-always-serializing
    npt lbrv svm-lock nrip-save tsc-scale vmcb-clean flushbyasid decodeassists pause-filter
    pfthreshold svme-addr-chk"""
NAPLES = AMD_BASE
ROME = NAPLES + """ clwb umip rdpid wbnoinvd stibp amd-stibp ibrs spec-ctrl amd-ssbd ssbd
    null-sel-clr-base v-vmsave-vmload vgif"""
MILAN = ROME + " pcid erms invpcid fsrm pku vaes vpclmulqdq amd-psfd no-nested-data-bp"
GENOA = MILAN + """ avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512vbmi
    avx512vbmi2 gfni avx512vnni avx512bitalg avx512-vpopcntdq la57 avx512-bf16 auto-ibrs fsrs
    stibp-always-on vnmi"""
# Turin (Zen 5): what AMD's EPYC-Turin patch for QEMU lists over Genoa.
TURIN = GENOA + " movdiri movdir64b avx512-vp2intersect avx-vnni"

INTEL = "GenuineIntel"
AMD = "AuthenticAMD"

# XSAVE state components: number -> (size, standard-format offset on Intel, on AMD).
XSTATE = {2: (256, 576, 576), 5: (64, 1088, 832), 6: (512, 1152, 896), 7: (1024, 1664, 1408),
          9: (8, 2688, 2432), 17: (64, 2752, None), 18: (8192, 2816, None)}

HOSTS = [
    dict(name="intel-haswell-ep", vendor=INTEL, features=HASWELL, family=6, model=0x3f,
         stepping=2, level=0xf, xlevel=0x80000008, phys=46, virt=48,
         brand="Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz",
         what="Haswell-EP Xeon E5-2680 v3 (06_3FH stepping 2) with TSX and post-2018 microcode"),
    dict(name="intel-skylake-sp", vendor=INTEL, features=SKYLAKE_SP, family=6, model=0x55,
         stepping=4, level=0x16, xlevel=0x80000008, phys=46, virt=48,
         brand="Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz",
         what="Skylake-SP Xeon Platinum 8175M (06_55H stepping 4)"),
    dict(name="intel-cascadelake", vendor=INTEL, features=CASCADELAKE, family=6, model=0x55,
         stepping=7, level=0x16, xlevel=0x80000008, phys=46, virt=48,
         brand="Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
         what="Cascade Lake Xeon Platinum 8259CL (06_55H stepping 7)"),
    dict(name="intel-icelake-sp", vendor=INTEL, features=ICELAKE_SP, family=6, model=0x6a,
         stepping=6, level=0x1b, xlevel=0x80000008, phys=46, virt=57,
         brand="Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
         what="Ice Lake-SP Xeon Platinum 8375C (06_6AH stepping 6)"),
    dict(name="intel-sapphirerapids", vendor=INTEL, features=SAPPHIRERAPIDS, family=6,
         model=0x8f, stepping=8, level=0x20, xlevel=0x80000008, phys=46, virt=57,
         brand="Intel(R) Xeon(R) Platinum 8488C",
         what="Sapphire Rapids Xeon Platinum 8488C (06_8FH stepping 8)"),
    dict(name="intel-graniterapids", vendor=INTEL, features=GRANITERAPIDS, family=6,
         model=0xad, stepping=1, level=0x24, xlevel=0x80000008, phys=52, virt=57,
         brand="Intel(R) Xeon(R) 6985P-C",
         what="Granite Rapids Xeon 6985P-C (06_ADH stepping 1); max leaf 0x24 assumed"),
    dict(name="amd-epyc-naples", vendor=AMD, features=NAPLES, family=0x17, model=0x01,
         stepping=2, level=0xd, xlevel=0x8000001f, phys=48, virt=48,
         brand="AMD EPYC 7571",
         what="EPYC 7571 Naples, Zen (family 17h model 01h stepping 2)"),
    dict(name="amd-epyc-rome", vendor=AMD, features=ROME, family=0x17, model=0x31,
         stepping=0, level=0x10, xlevel=0x8000001f, phys=48, virt=48,
         brand="AMD EPYC 7R32",
         what="EPYC 7R32 Rome, Zen 2 (family 17h model 31h stepping 0)"),
    dict(name="amd-epyc-milan", vendor=AMD, features=MILAN, family=0x19, model=0x01,
         stepping=1, level=0x10, xlevel=0x80000023, phys=48, virt=48,
         brand="AMD EPYC 7R13 Processor",
         what="EPYC 7R13 Milan, Zen 3 (family 19h model 01h stepping 1)"),
    dict(name="amd-epyc-genoa", vendor=AMD, features=GENOA, family=0x19, model=0x11,
         stepping=1, level=0x10, xlevel=0x80000028, phys=52, virt=57,
         brand="AMD EPYC 9R14 96-Core Processor",
         what="EPYC 9R14 Genoa, Zen 4 (family 19h model 11h stepping 1)"),
    dict(name="amd-epyc-turin", vendor=AMD, features=TURIN, family=0x1a, model=0x02,
         stepping=1, level=0x10, xlevel=0x80000028, phys=52, virt=57,
         brand="AMD EPYC 9R45 96-Core Processor",
         what="EPYC 9R45 Turin, Zen 5 (family 1Ah model 02h stepping 1)"),
]


def signature(family, model, stepping):
    """CPUID.01H:EAX from family/model/stepping (SDM Vol. 2A, Figure 3-6)."""
    base_family = min(family, 0xf)
    ext_family = family - 0xf if family > 0xf else 0
    return (stepping | (model & 0xf) << 4 | base_family << 8 | (model >> 4) << 16 |
            ext_family << 20)


def words(text):
    """The 12 bytes of a vendor or signature string as three little-endian words."""
    return struct.unpack("<3I", text.encode().ljust(12, b"\0"))


def brand_leaves(brand):
    raw = brand.encode().ljust(48, b"\0")
    return [struct.unpack("<4I", raw[i * 16:(i + 1) * 16]) for i in range(3)]


class Table:
    def __init__(self):
        self.entries = {}

    def set(self, leaf, subleaf=0, indexed=False, eax=0, ebx=0, ecx=0, edx=0):
        self.entries[(leaf, subleaf)] = dict(indexed=indexed, eax=eax, ebx=ebx, ecx=ecx, edx=edx)

    def bit(self, leaf, subleaf, reg, bit):
        self.entries[(leaf, subleaf)][reg] |= 1 << bit


def xsave_leaves(t, h, feats):
    comps = [0, 1, 2]
    if "avx512f" in feats:
        comps += [5, 6, 7]
    if "pku" in feats:
        comps += [9]
    if "amx-tile" in feats:
        comps += [17, 18]
    amd = h["vendor"] == AMD
    size = 576
    for c in comps[2:]:
        csize, off_intel, off_amd = XSTATE[c]
        size = max(size, (off_amd if amd else off_intel) + csize)
    xcr0 = sum(1 << c for c in comps)
    t.set(0xd, 0, True, eax=xcr0 & 0xffffffff, ebx=size, ecx=size, edx=xcr0 >> 32)
    t.set(0xd, 1, True, ebx=size)
    for c in comps[2:]:
        csize, off_intel, off_amd = XSTATE[c]
        # ECX bit 1: the component is 64-byte aligned in the compacted format (XTILEDATA).
        t.set(0xd, c, True, eax=csize, ebx=off_amd if amd else off_intel,
              ecx=2 if c == 18 else 0)


def synthesise(h):
    feats = h["features"].split()
    unknown = [f for f in feats if f not in BITS]
    assert not unknown, f"{h['name']}: no bit for {unknown}"
    intel = h["vendor"] == INTEL
    level = min(h["level"], 0x24)
    xlevel = min(h["xlevel"], 0x80000022)
    if not intel and xlevel >= 0x8000001d:
        xlevel = max(xlevel, 0x80000021)
    t = Table()
    v = words(h["vendor"])
    t.set(0, eax=level, ebx=v[0], ecx=v[2], edx=v[1])
    # EBX: CLFLUSH line 8 qwords, 16 logical processors, APIC id 0 (KVM passes the host's).
    t.set(1, eax=signature(h["family"], h["model"], h["stepping"]), ebx=0x00100800)
    if intel:
        t.set(2, eax=0x00feff01, ebx=0x000000f0)
        caches = [(1, 1, 0x3f, 8, 64), (1, 2, 0x3f, 8, 64), (2, 3, 0x3ff, 16, 1024),
                  (3, 3, 0xffff, 11, 32768)]
        for i, (lvl, typ, sets, ways, _) in enumerate(caches):
            t.set(4, i, True, eax=typ | lvl << 5 | 1 << 8, ebx=63 | (ways - 1) << 22,
                  ecx=sets)
        t.set(4, len(caches), True)
    t.set(6)
    # EAX: the last subleaf of leaf 7; subleaf 1 exists when a generation has its bits.
    leaf7_1 = any(BITS[f][:2] == (7, 1) for f in feats)
    leaf7_2 = any(BITS[f][:2] == (7, 2) for f in feats)
    t.set(7, 0, True, eax=2 if leaf7_2 else 1 if leaf7_1 else 0)
    if leaf7_1 or leaf7_2:
        t.set(7, 1, True)
    if leaf7_2:
        t.set(7, 2, True)
    if "avx10" in feats:
        t.set(0x24, 0, True, ebx=1)  # AVX10 version 1; the vector lengths are bits below
    xsave_leaves(t, h, feats)
    if intel:
        # PMU version 2, 4 counters of 48 bits (KVM's vPMU); topology: SMT then cores.
        t.set(0xa, eax=0x07300402, edx=0x00000603)
        t.set(0xb, 0, True, eax=1, ebx=2, ecx=0x100)
        t.set(0xb, 1, True, eax=5, ebx=16, ecx=0x201)
    if "amx-tile" in feats:
        t.set(0x1d, 0, True, eax=1)
        t.set(0x1d, 1, True, eax=0x04002000, ebx=0x00080040, ecx=0x10)
        t.set(0x1e, 0, True, ebx=0x4010)
    t.set(0x40000000, eax=0x40000001, ebx=words("KVMKVMKVM")[0], ecx=words("KVMKVMKVM")[1],
          edx=words("KVMKVMKVM")[2])
    t.set(0x40000001, eax=KVM_PV_FEATURES)
    t.set(0x80000000, eax=xlevel, **({} if intel else dict(ebx=v[0], ecx=v[2], edx=v[1])))
    t.set(0x80000001, eax=0 if intel else signature(h["family"], h["model"], h["stepping"]))
    for i, regs in enumerate(brand_leaves(h["brand"])):
        t.set(0x80000002 + i, eax=regs[0], ebx=regs[1], ecx=regs[2], edx=regs[3])
    t.set(0x80000005, **({} if intel else dict(eax=0xff40ff40, ebx=0xff40ff40, ecx=0x20080140,
                                               edx=0x40040140)))
    t.set(0x80000006, ecx=0x01006040 if intel else 0x02006140,
          **({} if intel else dict(eax=0x48002200, ebx=0x68004200, edx=0x01009140)))
    t.set(0x80000007)
    t.set(0x80000008, eax=h["phys"] | h["virt"] << 8, ecx=0 if intel else 0x0000703f)
    if not intel:
        t.set(0x8000000a, eax=1, ebx=0x8000)
        t.set(0x80000019, eax=0xf040f040, ebx=0xf0400000)
        t.set(0x8000001a, eax=0x6)
        for i, (typ, lvl, ways, sets) in enumerate([(1, 1, 8, 64), (2, 1, 8, 64),
                                                     (3, 2, 8, 1024), (3, 3, 16, 32768)]):
            t.set(0x8000001d, i, True, eax=typ | lvl << 5 | 1 << 8, ebx=63 | (ways - 1) << 22,
                  ecx=sets - 1)
        t.set(0x8000001d, 4, True)
        t.set(0x8000001e, ebx=0x100)
        if xlevel >= 0x8000001f:
            t.set(0x8000001f)
        if xlevel >= 0x80000021:
            t.set(0x80000021)
        if xlevel >= 0x80000022:
            t.set(0x80000022)
    for f in feats:
        leaf, subleaf, reg, bit = BITS[f]
        t.bit(leaf, subleaf, reg, bit)
    if not intel:
        for b in AMD_EDX_ALIASES:
            t.bit(0x80000001, 0, "edx", b)
    entries = []
    for (leaf, subleaf), e in sorted(t.entries.items()):
        entries.append({"leaf": f"0x{leaf:08x}", "subleaf": f"0x{subleaf:x}",
                        "indexed": e["indexed"], "eax": f"0x{e['eax']:08x}",
                        "ebx": f"0x{e['ebx']:08x}", "ecx": f"0x{e['ecx']:08x}",
                        "edx": f"0x{e['edx']:08x}"})
    return {
        "format": "skyvm-cpuid-dump",
        "version": 1,
        "source": ("synthesised: " + h["what"] + ", as Linux 6.12 KVM_GET_SUPPORTED_CPUID "
                   "would report it; written by tests/data/hosts/gen_hosts.py from the "
                   "generation's documented features, not recorded on such a machine"),
        "host": {"name": h["name"], "vendor": h["vendor"], "model_id": h["brand"],
                 "kernel": KERNEL},
        "entries": entries,
    }


def write_dump(path, dump):
    """One entry per line, as `skyvm cpu host --json` lays dumps out."""
    head = {k: dump[k] for k in dump if k != "entries"}
    text = json.dumps(head, indent=2)[:-2] + ',\n  "entries": [\n'
    text += ",\n".join("    " + json.dumps(e) for e in dump["entries"])
    text += "\n  ]\n}\n"
    with open(path, "w") as f:
        f.write(text)


def firecracker_fingerprint(dump):
    """A `cpu-template-helper fingerprint dump` of a Cascade Lake host: Firecracker's guest
    CPUID there (its normalisation applied: hypervisor and TSC-deadline set, PDCM clear,
    brand rewritten), every register fully stated as the helper writes it."""
    mods = []
    for e in dump["entries"]:
        leaf, subleaf = int(e["leaf"], 16), int(e["subleaf"], 16)
        regs = {r: int(e[r], 16) for r in ("eax", "ebx", "ecx", "edx")}
        if leaf == 1:
            regs["ecx"] |= 1 << 31 | 1 << 24
            regs["ecx"] &= ~(1 << 15)
        if 0x80000002 <= leaf <= 0x80000004:
            raw = brand_leaves("Intel(R) Xeon(R) Processor @ 2.50GHz")[leaf - 0x80000002]
            regs = dict(zip(("eax", "ebx", "ecx", "edx"), raw))
        mods.append({
            "leaf": hex(leaf), "subleaf": hex(subleaf), "flags": 1 if e["indexed"] else 0,
            "modifiers": [{"register": r, "bitmap": "0b" + format(regs[r], "032b")}
                          for r in ("eax", "ebx", "ecx", "edx")],
        })
    return {
        "firecracker_version": "1.10.1",
        "kernel_version": "6.1.102-111.182.amzn2023.x86_64",
        "microcode_version": "0x5003707",
        "bios_version": "1.0",
        "bios_revision": "3.4",
        "guest_cpu_config": {
            "cpuid_modifiers": mods,
            "msr_modifiers": [
                {"addr": "0x10a", "bitmap": "0b" + format(0x20c6b, "064b")},
                {"addr": "0x1a0", "bitmap": "0b" + format(0x1, "064b")},
            ],
        },
    }


def main():
    for h in HOSTS:
        dump = synthesise(h)
        write_dump(os.path.join(HERE, h["name"] + ".json"), dump)
        if h["name"] == "intel-cascadelake":
            with open(os.path.join(HERE, "firecracker-cascadelake.json"), "w") as f:
                json.dump(firecracker_fingerprint(dump), f, indent=2)
                f.write("\n")


if __name__ == "__main__":
    main()
