#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the virtio fuzz targets (tests/fuzz/corpus/
virtio_queue/, virtio_blk/, virtio_mmio/): one small input per normal and per
hostile case.  Input format (virtio_fuzz.h): an options byte (bits 4-7: log2 queue
size), then guest RAM from 0 (descriptors at 0, avail at 0x1000, used at
0x1800).  Run from the repository root after changing the format."""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
AVAIL, USED = 0x1000, 0x1800
HIGH = 1 << 32  # high RAM starts at 4 GiB (16 KiB of it); 48 KiB..4 GiB is the hole


class Ram:
    def __init__(self):
        self.b = bytearray(0x1800)

    def put(self, addr, data):
        end = addr + len(data)
        if end > len(self.b):
            self.b.extend(bytes(end - len(self.b)))
        self.b[addr:end] = data

    def desc(self, table, i, addr, length, flags=0, nxt=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, heads, idx=None):
        self.put(AVAIL + 2, struct.pack("<H", len(heads) if idx is None else idx))
        for i, h in enumerate(heads):
            self.put(AVAIL + 4 + 2 * i, struct.pack("<H", h))

    def blk_header(self, addr, typ, sector):
        self.put(addr, struct.pack("<IIQ", typ, 0, sector))


def seed(target, name, opt, ram):
    d = f"tests/fuzz/corpus/{target}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/{name}", "wb") as f:
        f.write(bytes([opt]) + bytes(ram.b))


def q8(flags=0):  # queue of 8
    return 0x30 | flags


def queue_seeds():
    r = Ram(); r.desc(0, 0, 0x2000, 16, NEXT, 1); r.desc(0, 1, 0x3000, 512, WRITE)
    r.put(0x2000, b"0123456789abcdef"); r.avail([0])
    seed("virtio_queue", "simple-chain", q8(), r)

    r = Ram(); t = 0x2800
    r.desc(t, 0, 0x2000, 16, NEXT, 1); r.desc(t, 1, 0x3000, 512, WRITE | NEXT, 2)
    r.desc(t, 2, 0x3400, 1, WRITE); r.desc(0, 0, t, 48, INDIRECT); r.avail([0])
    seed("virtio_queue", "indirect", q8(2), r)

    r = Ram()
    for i in range(3):
        r.desc(0, i, 0x2000 + 0x100 * i, 64, WRITE)
    r.put(AVAIL + 4 + 2 * 8, struct.pack("<H", 1))  # used_event
    r.avail([0, 1, 2])
    seed("virtio_queue", "event-idx-three", q8(1), r)

    r = Ram(); r.desc(0, 0, HIGH + 0x100, 256, WRITE); r.avail([0])
    seed("virtio_queue", "high-ram", q8(), r)

    r = Ram(); r.desc(0, 0, 0x2000, 16, NEXT, 1); r.desc(0, 1, 0x2000, 16, NEXT, 0); r.avail([0])
    seed("virtio_queue", "hostile-loop", q8(), r)

    r = Ram(); r.desc(0, 0, 0xC000 - 8, 16, WRITE); r.avail([0])
    seed("virtio_queue", "hostile-into-hole", q8(), r)

    r = Ram(); r.desc(0, 0, 0x2000, 0, WRITE); r.avail([0])
    seed("virtio_queue", "hostile-zero-length", q8(), r)

    r = Ram(); r.desc(0, 0, 0x2000, 0xFFFFFFFF, WRITE); r.avail([0])
    seed("virtio_queue", "hostile-4gib", q8(), r)

    r = Ram(); t1, t2 = 0x2800, 0x2900
    r.desc(t2, 0, 0x2000, 16, WRITE); r.desc(t1, 0, t2, 16, INDIRECT); r.desc(0, 0, t1, 16, INDIRECT)
    r.avail([0])
    seed("virtio_queue", "hostile-nested-indirect", q8(2), r)

    r = Ram(); r.desc(0, 0, 0x2000, 16, WRITE); r.avail([0], idx=9)
    seed("virtio_queue", "hostile-too-many-avail", q8(), r)

    r = Ram(); r.desc(0, 0, 0x2000, 16, WRITE | NEXT, 1); r.desc(0, 1, 0x2100, 16); r.avail([0])
    seed("virtio_queue", "hostile-readable-after-writable", q8(), r)


IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES = 0, 1, 4, 8, 11, 13
HDR, STATUS, DATA = 0x2000, 0x2010, 0x2200


def blk_req(r, head, typ, sector, data_len, data_write, split=False):
    r.blk_header(HDR, typ, sector)
    r.desc(0, head, HDR, 16, NEXT, head + 1)
    n = head + 1
    if data_len:
        fl = WRITE if data_write else 0
        if split:
            r.desc(0, n, DATA, 512, fl | NEXT, n + 1); n += 1
            r.desc(0, n, DATA + 512, data_len - 512, fl | NEXT, n + 1); n += 1
        else:
            r.desc(0, n, DATA, data_len, fl | NEXT, n + 1); n += 1
    r.desc(0, n, STATUS, 1, WRITE)


def blk_seeds():
    RO, FLUSHF, EVIDX, INDIR = 1, 2, 4, 8
    r = Ram(); blk_req(r, 0, IN, 3, 1024, True, split=True); r.avail([0])
    seed("virtio_blk", "read-2-sectors", q8(FLUSHF), r)

    r = Ram(); blk_req(r, 0, OUT, 5, 512, False); r.put(DATA, b"\xab" * 512); r.avail([0])
    seed("virtio_blk", "write-flush-negotiated", q8(FLUSHF), r)
    seed("virtio_blk", "write-write-through", q8(), r)
    seed("virtio_blk", "write-read-only", q8(RO), r)

    r = Ram(); blk_req(r, 0, FLUSH, 0, 0, False); r.avail([0])
    seed("virtio_blk", "flush", q8(FLUSHF | EVIDX), r)

    r = Ram(); blk_req(r, 0, GET_ID, 0, 20, True); r.avail([0])
    seed("virtio_blk", "get-id", q8(FLUSHF), r)

    r = Ram(); blk_req(r, 0, 0x1234, 0, 0, False); r.avail([0])
    seed("virtio_blk", "unsupported-type", q8(), r)

    r = Ram(); blk_req(r, 0, IN, 63, 1024, True); r.avail([0])
    seed("virtio_blk", "read-past-capacity", q8(), r)

    r = Ram(); blk_req(r, 0, IN, 0xFFFFFFFFFFFFFFFF, 512, True); r.avail([0])
    seed("virtio_blk", "read-sector-wraps", q8(), r)

    r = Ram(); blk_req(r, 0, OUT, 1, 500, False); r.avail([0])
    seed("virtio_blk", "write-partial-sector", q8(), r)

    r = Ram(); t = 0x2800
    r.blk_header(HDR, IN, 2)
    r.desc(t, 0, HDR, 16, NEXT, 1); r.desc(t, 1, DATA, 512, WRITE | NEXT, 2)
    r.desc(t, 2, STATUS, 1, WRITE); r.desc(0, 0, t, 48, INDIRECT); r.avail([0])
    seed("virtio_blk", "read-indirect", q8(INDIR | EVIDX), r)

    for typ, name in ((DISCARD, "discard"), (WRITE_ZEROES, "write-zeroes")):
        r = Ram(); blk_req(r, 0, typ, 0, 32, False)
        r.put(DATA, struct.pack("<QII", 4, 3, 0) + struct.pack("<QII", 60, 4, 1 if typ == WRITE_ZEROES else 0))
        r.avail([0])
        seed("virtio_blk", f"{name}-two-ranges", q8(FLUSHF), r)
        seed("virtio_blk", f"{name}-read-only", q8(RO), r)
    r = Ram(); blk_req(r, 0, WRITE_ZEROES, 0, 16, False)
    r.put(DATA, struct.pack("<QII", 62, 4, 0)); r.avail([0])
    seed("virtio_blk", "write-zeroes-past-capacity", q8(), r)

    r = Ram(); r.blk_header(HDR, OUT, 0); r.desc(0, 0, HDR, 16); r.avail([0])
    seed("virtio_blk", "hostile-no-status", q8(), r)

    r = Ram(); r.blk_header(HDR, IN, 0); r.desc(0, 0, HDR, 8, NEXT, 1)
    r.desc(0, 1, STATUS, 1, WRITE); r.avail([0])
    seed("virtio_blk", "hostile-short-header", q8(), r)

    r = Ram()
    blk_req(r, 0, IN, 0, 512, True)
    r.blk_header(0x2400, OUT, 7)
    r.desc(0, 3, 0x2400, 16, NEXT, 4); r.desc(0, 4, 0x2600, 512, NEXT, 5)
    r.desc(0, 5, 0x2410, 1, WRITE)
    r.avail([0, 3])
    seed("virtio_blk", "read-then-write", q8(FLUSHF), r)


# ---- virtio_mmio: byte 0 = device (mod 3: blk, rng, console) + 3 * number of accesses
RD, WR, NOTIFY, INPUT = 0, 1, 8, 16
SZ4 = 2 << 1


def acc(kind, off=0, val=0):
    return struct.pack("<BBHI", kind, 0, off, val)


def bring_up(nq, feat_hi=1, feat_lo=0):
    ops = [acc(WR | SZ4, 0x70, 0), acc(WR | SZ4, 0x70, 1), acc(WR | SZ4, 0x70, 3),
           acc(WR | SZ4, 0x24, 0), acc(WR | SZ4, 0x20, feat_lo),
           acc(WR | SZ4, 0x24, 1), acc(WR | SZ4, 0x20, feat_hi),
           acc(WR | SZ4, 0x70, 11), acc(RD | SZ4, 0x70)]
    for q in range(nq):
        base = 0x4000 * q  # queue q's rings at 0x4000*q (+0x1000 avail, +0x1800 used)
        ops += [acc(WR | SZ4, 0x30, q), acc(WR | SZ4, 0x38, 8),
                acc(WR | SZ4, 0x80, base), acc(WR | SZ4, 0x90, base + AVAIL),
                acc(WR | SZ4, 0xa0, base + USED), acc(WR | SZ4, 0x44, 1)]
    return ops + [acc(WR | SZ4, 0x70, 15)]


def mmio_seed(name, device, ops, ram):
    d = "tests/fuzz/corpus/virtio_mmio"
    os.makedirs(d, exist_ok=True)
    assert len(ops) <= 85
    with open(f"{d}/{name}", "wb") as f:
        f.write(bytes([device + 3 * len(ops)]) + b"".join(ops) + bytes(ram.b))


def mmio_seeds():
    r = Ram(); r.desc(0, 0, 0x8000, 64, WRITE); r.avail([0])
    mmio_seed("rng-request", 1, bring_up(1) + [acc(WR | SZ4, 0x50, 0), acc(RD | SZ4, 0x60),
                                               acc(WR | SZ4, 0x64, 1)], r)
    r = Ram(); blk_req(r, 0, IN, 1, 512, True); r.avail([0])
    mmio_seed("blk-read", 0, bring_up(1) + [acc(NOTIFY, 0, 0), acc(RD | (3 << 1), 0x100),
                                            acc(RD | (0 << 1), 0x10c)], r)
    r = Ram(); r.put(0x8000, b"hello"); r.desc(0x4000, 0, 0x8000, 5)
    r.put(0x4000 + AVAIL + 2, struct.pack("<HH", 1, 0))
    r.desc(0, 0, 0x8100, 16, WRITE); r.avail([0])
    mmio_seed("console-tx-rx", 2, bring_up(2) + [acc(WR | SZ4, 0x50, 1), acc(WR | SZ4, 0x50, 0),
                                                  acc(INPUT), acc(WR | SZ4, 0x108, 0x41)], r)
    mmio_seed("refused-features", 1, bring_up(1, feat_hi=0), Ram())
    mmio_seed("legacy-driver-ok", 0, [acc(WR | SZ4, 0x70, 7), acc(RD | SZ4, 0x70)], Ram())
    mmio_seed("bad-sizes", 1, [acc(RD | (1 << 1), 0x0), acc(WR | (0 << 1), 0x70, 1),
                               acc(RD | SZ4, 0x2), acc(RD | (3 << 1), 0x1fc)], Ram())


if __name__ == "__main__":
    queue_seeds()
    blk_seeds()
    mmio_seeds()
