/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio spec 1.2, 5.10), stream sockets, with the host side
 * as unix sockets in Firecracker's convention:
 *
 *   guest connects to host (CID 2) port P   skyvm connects to the unix socket
 *                                           "PATH_P"; refused or missing: RST
 *   a host process connects to PATH and     skyvm asks the guest's listener on
 *   writes "CONNECT P\n"                    port P; accepted: "OK <local port>\n"
 *                                           to the host process, then data;
 *                                           refused: the host socket is closed
 *
 * Queues: rx (0), tx (1), event (2, never used: skyvm does not migrate).
 * Each connection has credit-based flow control both ways (spec 5.10.6.3):
 * skyvm keeps at most VIRTIO_VSOCK_BUF_ALLOC bytes from the guest that the
 * host process has not read yet, and sends the guest no more than the
 * guest's buf_alloc - (sent - fwd_cnt).  So a host process that stops
 * reading stalls only its own connection (the guest's writer waits for
 * credit), never a vCPU nor another connection; everything runs on the
 * event loop, non-blocking.
 *
 * Hostile guests (each counted in virtio_vsock_stats.bad):
 *   a TX chain shorter than the header or with writable buffers, a header
 *   len that is not the payload's length or over 64 KiB, a source CID
 *   that is not the guest's, a destination that is not the host
 *                              dropped
 *   an unknown type or op, RW beyond the credit skyvm gave ("credit lie"),
 *   a fwd_cnt claiming more than skyvm sent, an op the connection's state
 *   does not allow       dropped; the connection (if any) reset: RST to the
 *                        guest, the host socket closed
 *   an RX chain shorter than the header or with readable buffers
 *                              returned with length 0
 *   ring violations            the queue breaks (DEVICE_NEEDS_RESET)
 */
#ifndef SKYVM_VIRTIO_VSOCK_H
#define SKYVM_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define VIRTIO_ID_VSOCK 19
#define VIRTIO_VSOCK_HOST_CID 2

#define VIRTIO_VSOCK_TYPE_STREAM 1

#define VIRTIO_VSOCK_OP_REQUEST 1
#define VIRTIO_VSOCK_OP_RESPONSE 2
#define VIRTIO_VSOCK_OP_RST 3
#define VIRTIO_VSOCK_OP_SHUTDOWN 4
#define VIRTIO_VSOCK_OP_RW 5
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE 6
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST 7

#define VIRTIO_VSOCK_SHUTDOWN_RCV 1
#define VIRTIO_VSOCK_SHUTDOWN_SEND 2

/* struct virtio_vsock_hdr, little endian, packed: 44 bytes */
struct virtio_vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define VIRTIO_VSOCK_HDR_LEN 44
#define VIRTIO_VSOCK_MAX_PKT (64 * 1024)
/* What skyvm buffers per connection from the guest (its buf_alloc). */
#define VIRTIO_VSOCK_BUF_ALLOC (256 * 1024)
#define VIRTIO_VSOCK_MAX_CONNS 1024
#define VIRTIO_VSOCK_BUDGET 256

struct virtio_vsock_opts {
	const char *name;   /* "virtio-vsock0" */
	uint64_t guest_cid; /* >= 3 */
	const char *path;   /* the unix socket host processes connect to */
	/* Call virtio_vsock_kick_work() soon (budget used up).  May be NULL. */
	void (*kick)(void *opaque);
	void *opaque;
};

struct virtio_vsock_stats {
	uint64_t conns_opened, conns_refused, resets_sent;
	uint64_t rx_bytes, tx_bytes;  /* to / from the guest */
	uint64_t bad;                 /* hostile packets, see above */
	uint64_t no_conn;             /* packets for no connection (answered RST) */
};

/*
 * Creates the listening socket at o->path (which must not exist; it is
 * removed again by virtio_dev_free()).  NULL with err_msg() on failure.
 */
struct virtio_dev *virtio_vsock_new(const struct virtio_vsock_opts *o);
/* An fd (epoll) that is readable when the device has host-socket work. */
int virtio_vsock_fd(struct virtio_dev *d);
/* Do that work (the loop calls this when the fd is readable, or on a kick). */
void virtio_vsock_work(struct virtio_dev *d);
void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *s);
unsigned virtio_vsock_nconns(struct virtio_dev *d);

/* "cid=N,socket=PATH": 0, or -1 (err_set). */
int virtio_vsock_parse(const char *opts, uint64_t *cid, char *path, size_t path_size);

#endif
