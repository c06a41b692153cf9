"""The final CPUID a guest sees, as the embedded probe guest reports it, and the
differences between two such reports (tests/e2e/test_cpu_qemu_diff.py).

The probe guest (src/guest/probe) sweeps every CPUID leaf and subleaf it finds on every
vCPU and, with `dump` on its command line, prints its records on the console as
"cpu N: data XXXXXXXX ..." lines: the same words whether skyvm or QEMU boots it.
Record format: src/guest/lib/ports.h (a header word MAGIC<<24 | TYPE<<16 | LEN, then LEN
payload words; CPUID records are leaf, subleaf, EAX, EBX, ECX, EDX).
"""
import re

PROBE_MAGIC = 0xB5
REC_BEGIN, REC_CPUID, REC_END = 1, 2, 9
REGS = ("eax", "ebx", "ecx", "edx")


def probe_words(console):
    """{vcpu: [word, ...]} from the console's "cpu N: data ..." lines."""
    words = {}
    for m in re.finditer(r"cpu (\d+): data ((?:[0-9a-f]{8} ?)+)", console):
        words.setdefault(int(m.group(1)), []).extend(int(w, 16) for w in m.group(2).split())
    return words


def decode(words):
    """(cpuid, complete): cpuid is {(leaf, subleaf): (eax, ebx, ecx, edx)}; complete says
    the stream ran from a BEGIN to an END record.  A stream cut short (a VMM stopped while
    the console was still printing it) ends at its last whole record; a word that is not a
    record header raises ValueError."""
    cpuid, i, begun, ended = {}, 0, False, False
    while i < len(words):
        h = words[i]
        if h >> 24 != PROBE_MAGIC:
            raise ValueError(f"word {i}: {h:08x} is not a record header")
        rtype, length = (h >> 16) & 0xFF, h & 0xFFFF
        payload = words[i + 1:i + 1 + length]
        if len(payload) != length:
            break
        if rtype == REC_BEGIN:
            begun = True
        elif rtype == REC_CPUID:
            cpuid[(payload[0], payload[1])] = tuple(payload[2:6])
        elif rtype == REC_END:
            ended = True
        i += 1 + length
    return cpuid, begun and ended


def guest_cpuid(console, ncpus):
    """{vcpu: {(leaf, subleaf): regs}} for vCPUs 0..ncpus-1.  Each vCPU's sweep must be
    whole: as many CPUID records as its "cpu N: probe cpuid R records" line says (the PV
    checks after the sweep may still have been running); otherwise AssertionError says
    what is missing."""
    words = probe_words(console)
    counts = {int(m.group(1)): int(m.group(2))
              for m in re.finditer(r"cpu (\d+): probe cpuid (\d+) records", console)}
    out = {}
    for cpu in range(ncpus):
        assert cpu in counts, f"vCPU {cpu} never finished its CPUID sweep"
        assert cpu in words, f"vCPU {cpu} sent no probe records"
        cpuid, _ = decode(words[cpu])
        assert len(cpuid) == counts[cpu], \
            f"vCPU {cpu}: {len(cpuid)} CPUID records printed of the {counts[cpu]} swept"
        out[cpu] = cpuid
    return out


def differences(ours, theirs, ignore=lambda leaf, sub, reg: 0):
    """Every (leaf, subleaf, register, ours, theirs) that differs, leaves missing on one
    side included (as None).  `ignore(leaf, subleaf, reg)` returns a mask of bits not to
    compare (a by-design difference), 0 for none, or ~0 for the whole register."""
    diffs = []
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        for r, name in enumerate(REGS):
            mask = ignore(key[0], key[1], name) & 0xFFFFFFFF
            va = None if a is None else a[r] & ~mask
            vb = None if b is None else b[r] & ~mask
            if va is None and vb is None:
                continue
            if va != vb:
                # a leaf one side lacks and the other reports as all zero reads the same
                if (va in (None, 0)) and (vb in (None, 0)):
                    continue
                diffs.append((key[0], key[1], name, va, vb))
    return diffs


def fmt(v):
    return "absent" if v is None else f"{v:08x}"


def feature_names(features_json):
    """{(leaf, subleaf, reg): {bit: name}} from `skyvm cpu features --json`."""
    names = {}
    for f in features_json["features"]:
        if f.get("msr"):
            continue  # a feature MSR's bit, not CPUID
        key = (int(f["leaf"], 16), int(f["subleaf"] or "0", 0), f["register"].lower())
        names.setdefault(key, {}).setdefault(f["bit"], f["name"])
    return names


def _text(regs_list, order):
    raw = b"".join(r.to_bytes(4, "little") for regs in regs_list for r in
                   (regs[i] for i in order))
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def meanings(ours, theirs, diffs, names=None, us="skyvm", them="QEMU"):
    """What the differing registers mean, in words: the vendor and brand strings and
    the names of differing feature bits (from feature_names())."""
    out, keys = [], {(leaf, sub, reg) for leaf, sub, reg, _, _ in diffs}
    for leaf in (0, 0x80000000):
        if any(k[0] == leaf and k[2] != "eax" for k in keys):
            v = [_text([d.get((leaf, 0), (0, 0, 0, 0))], (1, 3, 2)) for d in (ours, theirs)]
            out.append(f"vendor (CPUID.{leaf:X}H): {us} {v[0]!r}, {them} {v[1]!r}")
    if any(0x80000002 <= k[0] <= 0x80000004 for k in keys):
        v = [_text([d.get((l, 0), (0, 0, 0, 0)) for l in range(0x80000002, 0x80000005)],
                   (0, 1, 2, 3)) for d in (ours, theirs)]
        out.append(f"brand: {us} {v[0]!r}, {them} {v[1]!r}")
    for leaf, sub, reg, a, b in diffs:
        bits = (names or {}).get((leaf, sub, reg))
        if not bits or a is None or b is None:
            continue
        for bit in range(32):
            if (a ^ b) >> bit & 1 and bit in bits:
                who = us if a >> bit & 1 else them
                out.append(f"{bits[bit]} (CPUID.{leaf:X}H:{reg.upper()}[{bit}]): only {who} has it")
    return out


def describe(diffs, us="skyvm", them="QEMU"):
    return "\n".join(f"  CPUID.{leaf:X}H.{sub}:{reg.upper()}: {us} {fmt(a)}, {them} {fmt(b)}"
                     + (f" (differing bits {a ^ b:08x})" if a is not None and b is not None
                        else "")
                     for leaf, sub, reg, a, b in diffs)
