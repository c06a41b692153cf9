"""A unix-socket proxy for the migration tests: accepts one connection on LISTEN, connects
to TARGET, forwards both ways, and flips one bit of the byte at offset OFFSET of the
stream going to TARGET (a corrupt link).  Usage: flip_proxy.py LISTEN TARGET OFFSET"""
import os
import socket
import sys
import threading


def pump(src, dst, flip_at=None):
    seen = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if flip_at is not None and seen <= flip_at < seen + len(data):
                b = bytearray(data)
                b[flip_at - seen] ^= 0x01
                data = bytes(b)
            seen += len(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    listen, target, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(listen):
        os.unlink(listen)
    srv.bind(listen)
    srv.listen(1)
    a, _ = srv.accept()
    b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    b.connect(target)
    t = threading.Thread(target=pump, args=(b, a))
    t.start()
    pump(a, b, offset)
    t.join()


if __name__ == "__main__":
    main()
