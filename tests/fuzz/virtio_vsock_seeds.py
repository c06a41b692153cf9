#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of tests/fuzz/virtio_vsock.c (tests/fuzz/corpus/virtio_vsock/):
one input per normal and per hostile case.  Input format: an options byte (bits 4-7
log2 queue size), then guest RAM from 0: the TX queue's descriptors at 0, avail at
0x1000, used at 0x1800; the RX queue's at 0x2000, 0x3000, 0x3800.  Host port 1234 has
a listener.  Run from the repository root after changing the format."""
import os
import struct

NEXT, WRITE = 1, 2
TX, RX = (0, 0x1000), (0x2000, 0x3000)
REQ, RESP, RST, SHUT, RW, CUPD, CREQ = 1, 2, 3, 4, 5, 6, 7


class Ram:
    def __init__(self):
        self.b = bytearray(0x5800)
        self.n = 0

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

    def rx(self, count=4):
        for i in range(count):
            self.desc(RX, i, 0x8000 + 0x400 * i, 0x400, WRITE)
        self.avail(RX, list(range(count)))

    def pkts(self, pkts):
        heads = []
        for i, (op, sport, dport, payload, extra) in enumerate(pkts):
            addr = 0x6000 + 0x200 * i
            hdr = dict(src_cid=3, dst_cid=2, type=1, flags=0, buf_alloc=65536, fwd_cnt=0,
                       len=len(payload), desc_len=44)
            hdr.update(extra)
            self.put(addr, struct.pack("<QQIIIHHIII", hdr["src_cid"], hdr["dst_cid"], sport,
                                       dport, hdr["len"], hdr["type"], op, hdr["flags"],
                                       hdr["buf_alloc"], hdr["fwd_cnt"]))
            if payload:
                self.put(addr + 0x100, payload)
                self.desc(TX, 2 * i, addr, hdr["desc_len"], NEXT, 2 * i + 1)
                self.desc(TX, 2 * i + 1, addr + 0x100, len(payload))
            else:
                self.desc(TX, 2 * i, addr, hdr["desc_len"])
            heads.append(2 * i)
        self.avail(TX, heads)


def seed(name, pkts, rx=4, opt=0x40):
    r = Ram()
    r.rx(rx)
    r.pkts(pkts)
    d = "tests/fuzz/corpus/virtio_vsock"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/{name}", "wb") as f:
        f.write(bytes([opt]) + bytes(r.b))


def main():
    seed("connect-send-shutdown", [(REQ, 5000, 1234, b"", {}), (RW, 5000, 1234, b"hello", {}),
                                   (SHUT, 5000, 1234, b"", {"flags": 3})])
    seed("connect-refused", [(REQ, 5000, 9999, b"", {})])
    seed("credit-request", [(REQ, 5001, 1234, b"", {}), (CREQ, 5001, 1234, b"", {}),
                            (CUPD, 5001, 1234, b"", {"buf_alloc": 100})])
    seed("guest-rst", [(REQ, 5002, 1234, b"", {}), (RST, 5002, 1234, b"", {})])
    seed("hostile-bad-length", [(REQ, 5003, 1234, b"", {}), (RW, 5003, 1234, b"abc", {"len": 300})])
    seed("hostile-unknown-op", [(REQ, 5004, 1234, b"", {}), (99, 5004, 1234, b"", {})])
    seed("hostile-unknown-type", [(REQ, 5005, 1234, b"", {"type": 2})])
    seed("hostile-credit-lie-fwd", [(REQ, 5006, 1234, b"", {}),
                                    (CUPD, 5006, 1234, b"", {"fwd_cnt": 1 << 20})])
    seed("hostile-short-header", [(REQ, 5007, 1234, b"", {"desc_len": 20})])
    seed("hostile-wrong-cid", [(REQ, 5008, 1234, b"", {"src_cid": 7})])
    seed("hostile-response-to-nothing", [(RESP, 5009, 1234, b"", {})])
    seed("hostile-no-rx-buffers", [(REQ, 5010, 1234, b"", {}), (REQ, 5011, 1234, b"", {})], rx=0)


if __name__ == "__main__":
    main()
