/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio spec 1.2, 5.1), device side: a receive queue (0) and a
 * transmit queue (1), no control queue, one queue pair.  Every frame on
 * either queue is led by the 12-byte struct virtio_net_hdr_v1 (VERSION_1
 * makes num_buffers part of it whether or not MRG_RXBUF is negotiated).
 *
 * The header is passed through to the backend unchanged in meaning: a tap
 * opened with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 takes and gives exactly
 * this layout, so checksum and segmentation offloads cost skyvm nothing.
 * What the guest may send to the backend is checked first (hostile guests):
 *
 *   TX chain shorter than the header, or with device-writable buffers
 *                                           dropped, tx_bad
 *   frame longer than negotiated (1518 bytes without HOST_TSO4/6, else
 *   VIRTIO_NET_MAX_FRAME)                   dropped, tx_bad
 *   gso_type not negotiated, ECN, NEEDS_CSUM without CSUM, or a checksum
 *   position outside the frame              dropped, tx_bad
 *   RX chain shorter than the header, or with device-readable buffers
 *                                           returned with length 0, rx_bad
 *   a frame bigger than the RX chain (no MRG_RXBUF), or needing more
 *   buffers than the queue holds (MRG_RXBUF)
 *                                           frame dropped, rx_dropped
 *   ring violations (loops, bad indices)    the queue breaks (virtqueue.h):
 *                                           DEVICE_NEEDS_RESET
 *
 * Nothing here blocks: the backend is non-blocking; a frame the backend
 * will not take (EAGAIN) is dropped and counted (tx_dropped), as a NIC
 * whose wire is busy does; a frame read while the guest has no receive
 * buffers waits (one frame) and the backend stops being polled
 * (ops.rx_poll(false)) until the guest posts buffers.  Work per call is
 * bounded (VIRTIO_NET_BUDGET chains); when more is left the device asks to
 * be called again (ops.kick), so one busy queue cannot starve the loop.
 */
#ifndef SKYVM_VIRTIO_NET_H
#define SKYVM_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio/virtio.h"

/* A live queue as a backend that serves it (vhost-net) needs it. */
struct virtio_net_ring_info {
	bool ready;
	uint16_t num;
	uint16_t next_avail;       /* the avail index the device reads next */
	void *desc, *avail, *used; /* host addresses of the rings */
};

#define VIRTIO_ID_NET 1

/* Feature bits (spec 5.1.3) */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

#define VIRTIO_NET_HDR_LEN 12
/* Largest frame without segmentation offload: Ethernet + VLAN tag + 1500. */
#define VIRTIO_NET_MAX_PLAIN 1518
/* Largest frame at all: a 64 KiB IP packet + Ethernet + VLAN tag. */
#define VIRTIO_NET_MAX_FRAME (65535 + 18)
/* Chains (TX) or frames (RX) handled per call before asking to be called again. */
#define VIRTIO_NET_BUDGET 256

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/*
 * The backend: a tap in the VMM, a socketpair in the tests.  Each frame is
 * header + Ethernet frame in one datagram.  Called with the device lock held;
 * none may call back into the device.
 */
struct virtio_net_backend {
	void *opaque;
	/* One frame out: bytes taken, or -1 with errno (EAGAIN: no room now). */
	ssize_t (*send)(void *opaque, const struct iovec *iov, int iovcnt);
	/* One frame in, into buf: its length, or -1 with errno (EAGAIN: none). */
	ssize_t (*recv)(void *opaque, void *buf, size_t len);
	/* The guest's receive offloads (VIRTIO_NET_F_GUEST_*) changed: tell the
	 * backend what it may send (TUNSETOFFLOAD).  0 or -1 (err_set). May be NULL. */
	int (*set_offload)(void *opaque, uint64_t features);
	/* Start (true) or stop (false) calling virtio_net_rx() when input is ready. */
	void (*rx_poll)(void *opaque, bool on);
	/* Call virtio_net_queue_work(q) again soon (budget used up).  May be NULL. */
	void (*kick)(void *opaque, unsigned q);
	/*
	 * Optional, for a backend that serves the queues itself (vhost-net): at
	 * DRIVER_OK start() gets the negotiated features and the live queues
	 * (0 or -1 with err_set: DEVICE_NEEDS_RESET), at reset stop() (a no-op
	 * when not started).  With start set, the device never touches the
	 * queues nor calls recv/send/rx_poll: notifications are the backend's.
	 */
	int (*start)(void *opaque, uint64_t features, const struct virtio_net_ring_info *ring,
		     unsigned nq);
	void (*stop)(void *opaque);
};

struct virtio_net_opts {
	const char *name;  /* "virtio-net0" */
	uint8_t mac[6];
	bool no_offload;   /* offer no checksum/TSO features (and no MRG_RXBUF) */
	struct virtio_net_backend be;
};

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_dropped;  /* frames lost for want of fitting guest buffers */
	uint64_t rx_bad;      /* guest RX chains unusable (hostile or broken driver) */
	uint64_t tx_dropped;  /* the backend would not take a frame */
	uint64_t tx_bad;      /* guest TX frames refused (hostile or broken driver) */
};

struct virtio_dev *virtio_net_new(const struct virtio_net_opts *o);

/* The backend has input: move frames into the guest's receive buffers. */
void virtio_net_rx(struct virtio_dev *d);
/* A kick asked for by backend.kick. */
void virtio_net_queue_work(struct virtio_dev *d, unsigned q);
void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *s);
/*
 * A backend that serves the queues (start set) used buffers of queue q and
 * wants the driver told: raise the used-buffer interrupt (InterruptStatus
 * bit 0 and the interrupt), unconditionally: the backend already applied
 * EVENT_IDX / NO_INTERRUPT.  Ignored unless the device is live.
 */
void virtio_net_backend_used(struct virtio_dev *d, unsigned q);

/*
 * Check a TX header against the negotiated features and the frame length
 * (bytes after the header).  0 when the backend may have it, else -1 with
 * the reason in *why.  Exposed for the fuzz target and the tests.
 */
int virtio_net_check_tx(const struct virtio_net_hdr *h, uint64_t features, uint64_t frame_len,
			const char **why);

/* A stable locally administered unicast MAC from a name (the tap's). */
void virtio_net_default_mac(const char *name, uint8_t mac[6]);
/* "aa:bb:cc:dd:ee:ff" (unicast only): 0, or -1 (err_set). */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]);

#endif
