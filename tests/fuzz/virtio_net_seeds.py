#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of tests/fuzz/virtio_net.c (tests/fuzz/corpus/virtio_net/):
one small input per normal and per hostile case.  Input format: an options byte
(bit 0 MRG_RXBUF, bit 1 offloads, bit 2 EVENT_IDX, bit 3 INDIRECT_DESC, bits 4-7
log2 queue size), then guest RAM from 0: the TX queue's descriptors at 0, avail
at 0x1000, used at 0x1800; the RX queue's at 0x2000, 0x3000, 0x3800; the
lengths of the frames the backend offers (4 x u16, header included) at 0x4000.
Run from the repository root after changing the format."""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
TX, RX = (0, 0x1000), (0x2000, 0x3000)
LENS = 0x4000
MRG, OFFL = 1, 2


class Ram:
    def __init__(self):
        self.b = bytearray(0x4008)

    def put(self, addr, data):
        end = addr + len(data)
        if end > len(self.b):
            self.b.extend(bytes(end - len(self.b)))
        self.b[addr:end] = data

    def desc(self, q, i, addr, length, flags=0, nxt=0):
        self.put(q[0] + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, q, heads):
        self.put(q[1] + 2, struct.pack("<H", len(heads)))
        for i, h in enumerate(heads):
            self.put(q[1] + 4 + 2 * i, struct.pack("<H", h))

    def lens(self, *ls):
        self.put(LENS, struct.pack("<4H", *(list(ls) + [0] * (4 - len(ls)))))

    def hdr(self, addr, flags=0, gso=0, gso_size=0, cstart=0, coff=0):
        self.put(addr, struct.pack("<BBHHHHH", flags, gso, 0, gso_size, cstart, coff, 0))


def seed(name, opt, ram):
    d = "tests/fuzz/corpus/virtio_net"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/{name}", "wb") as f:
        f.write(bytes([0x30 | opt]) + bytes(ram.b))


def tx_frame(r, i, length, **hdr):
    r.hdr(0x5000 + 0x100 * i, **hdr)
    r.desc(TX, 2 * i, 0x5000 + 0x100 * i, 12, NEXT, 2 * i + 1)
    r.desc(TX, 2 * i + 1, 0x6000, length)


def main():
    r = Ram(); tx_frame(r, 0, 100); r.avail(TX, [0]); seed("tx-simple", 0, r)
    r = Ram(); tx_frame(r, 0, 9000, flags=1, gso=1, gso_size=1448, cstart=34, coff=16)
    r.avail(TX, [0]); seed("tx-tso4", OFFL, r)
    r = Ram(); tx_frame(r, 0, 200, flags=1, cstart=34, coff=6); tx_frame(r, 1, 60)
    r.avail(TX, [0, 2]); seed("tx-csum-two", OFFL | 4, r)
    r = Ram()
    for i in range(4):
        r.desc(RX, i, 0x6000 + 0x800 * i, 0x800, WRITE)
    r.avail(RX, [0, 1, 2, 3]); r.lens(1512, 72, 3000); seed("rx-mergeable", MRG, r)
    r = Ram(); r.desc(RX, 0, 0x6000, 1600, WRITE); r.desc(RX, 1, 0x7000, 1600, WRITE)
    r.avail(RX, [0, 1]); r.lens(1400, 2000, 100); seed("rx-plain-one-too-big", 0, r)
    r = Ram(); r.desc(RX, 0, 0x6000, 0x100, WRITE | NEXT, 1); r.desc(RX, 1, 0x7000, 0x1000, WRITE)
    r.avail(RX, [0]); r.lens(1000); seed("rx-two-descriptors", 0, r)
    # hostile
    r = Ram(); r.desc(TX, 0, 0x5000, 8); r.avail(TX, [0]); seed("hostile-tx-short-header", 0, r)
    r = Ram(); tx_frame(r, 0, 1600); r.avail(TX, [0]); seed("hostile-tx-too-big", 0, r)
    r = Ram(); tx_frame(r, 0, 1000, gso=1, gso_size=1000); r.avail(TX, [0])
    seed("hostile-tx-tso-not-negotiated", 0, r)
    r = Ram(); tx_frame(r, 0, 100, flags=1, cstart=0xffff, coff=0xffff); r.avail(TX, [0])
    seed("hostile-tx-csum-outside", OFFL, r)
    r = Ram(); r.desc(RX, 0, 0x6000, 8, WRITE); r.desc(RX, 1, 0x7000, 100)
    r.avail(RX, [0, 1]); r.lens(200); seed("hostile-rx-short-and-readable", MRG, r)
    r = Ram(); r.desc(RX, 0, 0x6000, 100, WRITE | NEXT, 1); r.desc(RX, 1, 0x7000, 100, WRITE | NEXT, 0)
    r.avail(RX, [0]); r.lens(100); seed("hostile-rx-loop", 0, r)
    r = Ram(); r.desc(RX, 0, 0x6000, 100, WRITE); r.avail(RX, [0] * 8)
    r.put(RX[1] + 2, struct.pack("<H", 500)); r.lens(1000, 1000); seed("hostile-rx-avail-ahead", MRG, r)
    r = Ram()
    for i in range(8):
        r.desc(RX, i, 0x6000 + 0x40 * i, 0x40, WRITE)
    r.avail(RX, list(range(8))); r.lens(1500); seed("hostile-rx-mrg-queue-too-small", MRG, r)


if __name__ == "__main__":
    main()
