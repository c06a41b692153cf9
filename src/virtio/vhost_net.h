/* SPDX-License-Identifier: MIT */
/*
 * vhost-net: the kernel serves a virtio-net device's queues (--net
 * tap=NAME,vhost=on).  skyvm keeps the transport (registers, feature
 * negotiation, status, interrupts status); the kernel's vhost worker moves
 * frames between the guest's rings and the tap, reading the guest's kicks
 * from the queues' ioeventfds and signalling a "call" eventfd per queue.
 * Facts from Linux's include/uapi/linux/vhost.h and drivers/vhost/net.c.
 *
 * The sequence, each step one ioctl on the /dev/vhost-net fd:
 *
 *   open()      at create, before the VM exists:
 *               open /dev/vhost-net, VHOST_SET_OWNER (binds the worker to
 *               this process's memory), VHOST_GET_FEATURES (what it serves)
 *   start()     at DRIVER_OK (the driver's features are known, the rings
 *               placed): VHOST_SET_FEATURES (the acked features the kernel
 *               knows: VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT_DESC; the
 *               checksum and TSO bits are the tap's, TUNSETOFFLOAD),
 *               VHOST_SET_MEM_TABLE (guest RAM regions), per queue
 *               VHOST_SET_VRING_NUM, _BASE (the next avail index), _ADDR,
 *               _KICK (the ioeventfd), _CALL, then VHOST_NET_SET_BACKEND
 *               with the tap per queue.  A step that fails undoes those
 *               before it: the device is left stopped.
 *   stop()      at reset or VM end: VHOST_NET_SET_BACKEND -1 per queue, then
 *               VHOST_GET_VRING_BASE (stops the ring; gives back the next
 *               avail index the kernel would have read).
 *   close()
 *
 * The tap must have IFF_VNET_HDR and TUNSETVNETHDRSZ 12: with VERSION_1 or
 * MRG_RXBUF the kernel passes the 12-byte virtio_net_hdr_v1 through to the
 * socket (no VHOST_NET_F_VIRTIO_NET_HDR: the tap builds and eats headers).
 *
 * Every ioctl goes through struct vhost_io, so the unit tests can record
 * and fail them without a /dev/vhost-net (vhost_io_sys is the real one).
 */
#ifndef SKYVM_VIRTIO_VHOST_NET_H
#define SKYVM_VIRTIO_VHOST_NET_H

#include <stdbool.h>
#include <stdint.h>

#define VHOST_NET_PATH "/dev/vhost-net"
#define VHOST_NET_QUEUES 2
#define VHOST_NET_MAX_REGIONS 4

struct vhost_io {
	void *opaque;
	int (*open)(void *opaque, const char *path);            /* fd, or -1 with errno */
	int (*ioctl)(void *opaque, int fd, unsigned long req, void *arg); /* as ioctl(2) */
	void (*close)(void *opaque, int fd);
};

extern const struct vhost_io vhost_io_sys;

/* One range of guest RAM: guest-physical base, length, host address. */
struct vhost_net_region {
	uint64_t gpa, len;
	void *hva;
};

/* One queue as the transport placed it (host addresses of its rings). */
struct vhost_net_ring {
	uint16_t num;
	uint16_t base;             /* next avail index to read */
	void *desc, *avail, *used;
	int kick, call;            /* eventfds: the guest's notify, the interrupt */
};

enum vhost_net_state { VHOST_NET_CLOSED, VHOST_NET_OPEN, VHOST_NET_RUNNING };

struct vhost_net {
	const struct vhost_io *io;
	int fd;
	enum vhost_net_state state;
	uint64_t kernel_features;  /* VHOST_GET_FEATURES */
	uint64_t features;         /* the last VHOST_SET_FEATURES */
	uint16_t base[VHOST_NET_QUEUES]; /* from the last stop() */
	unsigned starts, stops;
};

/*
 * The virtio features vhost-net must serve for skyvm's virtio-net; open()
 * refuses a kernel without them, so whatever the guest acks can be handed on.
 */
uint64_t vhost_net_required_features(void);

/* Open `path` (VHOST_NET_PATH), SET_OWNER, GET_FEATURES.  0, or -1 (err_set). */
int vhost_net_open(struct vhost_net *v, const struct vhost_io *io, const char *path);
/* The acked features the kernel gets (those it knows). */
uint64_t vhost_net_features_for(const struct vhost_net *v, uint64_t acked);
int vhost_net_start(struct vhost_net *v, uint64_t acked, const struct vhost_net_region *r,
		    unsigned nregion, const struct vhost_net_ring ring[VHOST_NET_QUEUES],
		    int tap_fd);
/* Stopped and base[] filled; a no-op unless running.  0, or -1 (err_set; stopped anyway). */
int vhost_net_stop(struct vhost_net *v);
void vhost_net_close(struct vhost_net *v);

#endif
