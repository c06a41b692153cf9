/* SPDX-License-Identifier: MIT */
/*
 * virtio-net in the machine (--net tap=NAME[,mac=MAC][,offload=on|off]):
 * the device logic of src/virtio/net.c on a virtio-mmio window, with an
 * existing tap interface as its backend.  The MMIO window, GSI, irqfd,
 * per-queue ioeventfds served by the event loop and the DSDT/command-line
 * description are the same as virtio_mmio.c gives its devices.
 *
 * The tap: opened by name through /dev/net/tun with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, non-blocking, TUNSETVNETHDRSZ 12 (virtio 1.x's header), and
 * TUNSETOFFLOAD set from what the guest negotiated at DRIVER_OK (so the
 * kernel hands the guest unchecksummed or TSO frames only when it can take
 * them).  It must already exist: skyvm does not create interfaces (that
 * needs privileges and is the host's policy).  Checked in create(), before
 * anything of the VM exists:
 *   no interface of that name     "no such network interface"
 *   not a tun/tap (no tun_flags)  "not a tap device"
 *   a tun (layer 3) device        "a tun device, not a tap"
 *   attached elsewhere (EBUSY)    "busy"
 * RX and TX run on the event loop: the tap's fd is polled for input while
 * the guest has receive buffers; the TX queue's ioeventfd runs the transmit.
 *
 * vhost=on (virtio/vhost_net.h): /dev/vhost-net is opened in create() (a
 * missing one is a start-up error naming it); the kernel serves both queues
 * from DRIVER_OK to reset, reading the guest's kicks straight from the
 * queues' ioeventfds (not on the event loop then) and writing a call eventfd
 * per queue.  The call eventfds are on the event loop, which raises the
 * used-buffer interrupt through the transport: virtio-mmio's InterruptStatus
 * must say why (Linux's handler reads it), so the kernel cannot write the
 * irqfd itself.  The tap fd is then the kernel's: skyvm never polls it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/device.h"
#include "util/err.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/vhost_net.h"
#include "vmm/event_loop.h"

#define NET_QUEUES 2

struct vnet;

struct vnet_notify {
	struct vnet *v;
	unsigned q;
};

struct vnet {
	struct device *dev;
	char tap[IFNAMSIZ];
	uint8_t mac[6];
	bool no_offload;
	int tap_fd;
	bool tap_watched, tap_dead;
	struct virtio_mmio *t;
	struct virtio_mem mem;
	struct virtio_mmio_host vhost;
	int irq_fd;
	bool irqfd;
	int notify_fd[NET_QUEUES];
	bool ioeventfd[NET_QUEUES];
	struct vnet_notify nctx[NET_QUEUES];
	/* vhost=on */
	bool use_vhost;
	struct vhost_net vh;
	int call_fd[NET_QUEUES];
	bool call_watched[NET_QUEUES];
	struct vnet_notify cctx[NET_QUEUES];
};

/* ---- the tap */

/*
 * What kind of interface `name` is, from its own network namespace (sysfs
 * may show another): the driver ethtool names ("tun" for tun and tap) and
 * the hardware type (Ethernet for a tap, none for a tun).
 */
static int tap_kind(const char *name, bool *is_tun_driver, bool *is_ether)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return err_errno("socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&info;
	*is_tun_driver = ioctl(s, SIOCETHTOOL, &ifr) == 0 && !strcmp(info.driver, "tun");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	*is_ether = ioctl(s, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
	close(s);
	return 0;
}

static int open_tap(struct vnet *v)
{
	struct ifreq ifr;
	unsigned features = 0;
	unsigned index = if_nametoindex(v->tap);
	int hdr = VIRTIO_NET_HDR_LEN;
	bool tun_driver = false, ether = false;

	if (!index)
		return err_set("--net tap=%s: no such network interface (create the tap first, "
			       "e.g. ip tuntap add dev %s mode tap)", v->tap, v->tap);
	if (tap_kind(v->tap, &tun_driver, &ether) < 0)
		return -1;
	if (!tun_driver)
		return err_set("--net tap=%s: not a tap device (not a tun/tap interface)", v->tap);
	if (!ether)
		return err_set("--net tap=%s: a tun device (layer 3), not a tap", v->tap);
	v->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (v->tap_fd < 0)
		return err_errno("--net tap=%s: cannot open /dev/net/tun", v->tap);
	if (ioctl(v->tap_fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR))
		return err_set("--net tap=%s: this kernel's tun has no IFF_VNET_HDR", v->tap);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", v->tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(v->tap_fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		if (e == EBUSY)
			return err_set("--net tap=%s: busy (another process has it open)", v->tap);
		if (e == EPERM)
			return err_set("--net tap=%s: not allowed to attach to it (it belongs to "
				       "another user; needs its owner or CAP_NET_ADMIN)", v->tap);
		if (e == EINVAL)
			return err_set("--net tap=%s: the kernel refused it as a single-queue tap "
				       "(a multi_queue tap, or not a tap)", v->tap);
		errno = e;
		return err_errno("--net tap=%s: TUNSETIFF", v->tap);
	}
	/* Gone and made anew by TUNSETIFF between the checks and here: not ours. */
	if (if_nametoindex(v->tap) != index)
		return err_set("--net tap=%s: the interface changed while being opened", v->tap);
	if (ioctl(v->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err_errno("--net tap=%s: TUNSETVNETHDRSZ %d", v->tap, hdr);
	if (ioctl(v->tap_fd, TUNSETOFFLOAD, 0UL) < 0)
		return err_errno("--net tap=%s: TUNSETOFFLOAD", v->tap);
	return 0;
}

static ssize_t tap_send(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct vnet *v = opaque;
	ssize_t n;

	do
		n = writev(v->tap_fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n;
}

static ssize_t tap_recv(void *opaque, void *buf, size_t len)
{
	struct vnet *v = opaque;
	ssize_t n;

	do
		n = read(v->tap_fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static int tap_set_offload(void *opaque, uint64_t f)
{
	struct vnet *v = opaque;
	unsigned long off = 0;

	if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
	}
	if (ioctl(v->tap_fd, TUNSETOFFLOAD, off) < 0)
		return err_errno("%s: TUNSETOFFLOAD 0x%lx on %s", v->dev->id, off, v->tap);
	return 0;
}

static void tap_rx_poll(void *opaque, bool on)
{
	struct vnet *v = opaque;
	struct event_loop *l = v->dev->host->loop;

	if (v->tap_watched && !v->tap_dead)
		event_loop_modify(l, v->tap_fd, on ? EPOLLIN : 0);
}

static void tap_kick(void *opaque, unsigned q)
{
	struct vnet *v = opaque;
	uint64_t one = 1;

	if (q < NET_QUEUES && write(v->notify_fd[q], &one, sizeof(one)) < 0) {
		/* counter full: a kick is pending anyway */
	}
}

static void on_tap(void *opaque, uint32_t events)
{
	struct vnet *v = opaque;

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The interface went away under us: stop watching it, the guest
		 * sees a link that carries nothing. */
		fprintf(stderr, "skyvm: %s: tap %s failed (removed?); no more input from it\n",
			v->dev->id, v->tap);
		v->tap_dead = true;
		event_loop_remove(v->dev->host->loop, v->tap_fd);
		return;
	}
	virtio_net_rx(virtio_mmio_dev(v->t));
}

/* ---- the virtio-mmio glue (as virtio_mmio.c) */

static void *vmem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return dev_mem(ctx, gpa, len);
}

static void vset_irq(void *opaque, int level)
{
	struct vnet *v = opaque;
	uint64_t one = 1;

	if (!level)
		return; /* edge */
	if (v->irqfd) {
		if (write(v->irq_fd, &one, sizeof(one)) < 0) {
			/* counter overflow: already pending */
		}
	} else {
		dev_set_irq(v->dev, true);
		dev_set_irq(v->dev, false);
	}
}

static void vqueue_notify(void *opaque, unsigned q)
{
	tap_kick(opaque, q);
}

static void vlog(void *opaque, const char *msg)
{
	fprintf(stderr, "skyvm: %s\n", msg);
}

static void mmio_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data,
		      unsigned size)
{
	struct vnet *v = d->state;

	virtio_mmio_read(v->t, addr - d->region[0].base, size, data);
}

static void mmio_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		       unsigned size)
{
	struct vnet *v = d->state;

	virtio_mmio_write(v->t, addr - d->region[0].base, size, data);
}

static int vcmdline(const struct device *d, char *buf, size_t size)
{
	snprintf(buf, size, "virtio_mmio.device=0x%llx@0x%llx:%d",
		 (unsigned long long)d->region[0].len, (unsigned long long)d->region[0].base,
		 d->gsi);
	return 0;
}

static void on_notify(void *opaque, uint32_t events)
{
	struct vnet_notify *n = opaque;
	uint64_t count;

	if (read(n->v->notify_fd[n->q], &count, sizeof(count)) < 0)
		return;
	virtio_mmio_queue_notify(n->v->t, n->q);
}

/* ---- vhost=on: the kernel serves the queues */

/* The kernel used buffers of a queue: interrupt through the transport. */
static void on_call(void *opaque, uint32_t events)
{
	struct vnet_notify *n = opaque;
	uint64_t count;

	if (read(n->v->call_fd[n->q], &count, sizeof(count)) < 0)
		return;
	virtio_net_backend_used(virtio_mmio_dev(n->v->t), n->q);
}

/* DRIVER_OK (a vCPU thread, the device lock held): hand the queues over. */
static int vhost_start(void *opaque, uint64_t features, const struct virtio_net_ring_info *vq,
		       unsigned nq)
{
	struct vnet *v = opaque;
	const struct device_host *h = v->dev->host;
	struct vhost_net_region r[VHOST_NET_MAX_REGIONS];
	struct vhost_net_ring ring[VHOST_NET_QUEUES];
	uint64_t gpa[VHOST_NET_MAX_REGIONS], len[VHOST_NET_MAX_REGIONS];
	unsigned nr = h->ram_ranges ? h->ram_ranges(h->ctx, gpa, len, VHOST_NET_MAX_REGIONS) : 0;
	uint64_t one = 1;

	if (!nr)
		return err_set("%s: vhost-net: no guest RAM ranges from the VMM", v->dev->id);
	for (unsigned i = 0; i < nr; i++) {
		r[i] = (struct vhost_net_region){ gpa[i], len[i], dev_mem(v->dev, gpa[i], len[i]) };
		if (!r[i].hva)
			return err_set("%s: vhost-net: RAM range 0x%llx+0x%llx has no host mapping",
				       v->dev->id, (unsigned long long)gpa[i],
				       (unsigned long long)len[i]);
	}
	if (nq != VHOST_NET_QUEUES)
		return err_set("%s: vhost-net: %u queues, expected %d", v->dev->id, nq,
			       VHOST_NET_QUEUES);
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++) {
		if (!vq[q].ready)
			return err_set("%s: vhost-net: the driver set DRIVER_OK with queue %u not "
				       "ready", v->dev->id, q);
		ring[q] = (struct vhost_net_ring){
			.num = vq[q].num, .base = vq[q].next_avail, .desc = vq[q].desc,
			.avail = vq[q].avail, .used = vq[q].used,
			.kick = v->notify_fd[q], .call = v->call_fd[q],
		};
	}
	if (vhost_net_start(&v->vh, features, r, nr, ring, v->tap_fd) < 0)
		return err_wrap("%s (tap %s)", v->dev->id, v->tap);
	/* Buffers the driver posted (and kicked) before DRIVER_OK: look now. */
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++)
		if (write(v->notify_fd[q], &one, sizeof(one)) < 0) {
			/* counter full: a kick is pending anyway */
		}
	return 0;
}

/* Reset or the end: the kernel lets go of the rings and the tap. */
static void vhost_stop(void *opaque)
{
	struct vnet *v = opaque;

	if (vhost_net_stop(&v->vh) < 0)
		fprintf(stderr, "skyvm: %s: %s\n", v->dev->id, err_msg());
}

/* ---- lifecycle */

static int parse_opts(struct vnet *v, const char *opts)
{
	char *copy, *item, *save = NULL;
	bool have_tap = false, have_mac = false;
	int rc = 0;

	if (!opts || !*opts)
		return err_set("--net: expected tap=NAME[,mac=MAC][,offload=on|off][,vhost=on|off]");
	copy = strdup(opts);
	if (!copy)
		return err_set("out of memory");
	for (item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
		if (!strncmp(item, "tap=", 4)) {
			if (!item[4] || strlen(item + 4) >= IFNAMSIZ || strchr(item + 4, '/'))
				rc = err_set("--net tap='%s': expected an interface name of 1 to %d "
					     "characters", item + 4, IFNAMSIZ - 1);
			else
				snprintf(v->tap, sizeof(v->tap), "%s", item + 4);
			have_tap = true;
		} else if (!strncmp(item, "mac=", 4)) {
			if (virtio_net_parse_mac(item + 4, v->mac) < 0)
				rc = err_wrap("--net");
			have_mac = true;
		} else if (!strcmp(item, "offload=on")) {
			v->no_offload = false;
		} else if (!strcmp(item, "offload=off")) {
			v->no_offload = true;
		} else if (!strcmp(item, "vhost=on")) {
			v->use_vhost = true;
		} else if (!strcmp(item, "vhost=off")) {
			v->use_vhost = false;
		} else {
			rc = err_set("--net: unknown option '%s' (expected tap=NAME, mac=MAC, "
				     "offload=on|off, vhost=on|off or id=NAME)", item);
		}
	}
	free(copy);
	if (!rc && !have_tap)
		rc = err_set("--net %s: tap=NAME is required", opts);
	if (!rc && !have_mac)
		virtio_net_default_mac(v->tap, v->mac);
	return rc;
}

static int net_create(struct device *d, const char *opts)
{
	struct vnet *v = calloc(1, sizeof(*v));
	struct dev_region r = {
		.name = "virtio-mmio", .space = IO_MMIO, .len = VIRTIO_MMIO_SIZE,
		.read = mmio_read, .write = mmio_write,
	};

	if (!v)
		return err_set("out of memory");
	d->state = v;
	v->dev = d;
	v->tap_fd = v->irq_fd = -1;
	v->vh.fd = -1;
	for (unsigned q = 0; q < NET_QUEUES; q++)
		v->notify_fd[q] = v->call_fd[q] = -1;
	d->acpi_hid = "LNRO0005";
	d->irq_want = DEV_IRQ_ANY;
	d->irq_edge = true;
	d->cmdline = vcmdline;
	if (!device_add_region(d, &r))
		return -1;
	if (parse_opts(v, opts) < 0)
		return -1;
	if (open_tap(v) < 0)
		return -1;
	if (v->use_vhost && vhost_net_open(&v->vh, &vhost_io_sys, VHOST_NET_PATH) < 0)
		return err_wrap("--net tap=%s", v->tap);
	return 0;
}

static void net_destroy(struct device *d)
{
	struct vnet *v = d->state;

	if (!v)
		return;
	vhost_net_close(&v->vh);
	if (v->tap_fd >= 0)
		close(v->tap_fd);
	free(v);
	d->state = NULL;
}

static int net_realize(struct device *d)
{
	struct vnet *v = d->state;
	const struct device_host *h = d->host;
	struct virtio_net_opts o = {
		.name = d->id, .no_offload = v->no_offload,
		.be = { .opaque = v, .send = tap_send, .recv = tap_recv,
			.set_offload = tap_set_offload, .rx_poll = tap_rx_poll, .kick = tap_kick },
	};
	struct virtio_dev *vd;

	if (v->use_vhost) {
		o.be.start = vhost_start;
		o.be.stop = vhost_stop;
	}
	if (!h->loop)
		return err_set("%s: no event loop to serve the queues", d->id);
	memcpy(o.mac, v->mac, 6);
	v->mem = (struct virtio_mem){ .ptr = vmem_ptr, .ctx = d };
	v->vhost = (struct virtio_mmio_host){
		.opaque = v, .set_irq = vset_irq, .queue_notify = vqueue_notify, .log = vlog,
	};
	vd = virtio_net_new(&o);
	if (!vd)
		return -1;
	v->t = virtio_mmio_new(vd, &v->mem, &v->vhost);
	if (!v->t)
		return -1;
	v->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->irq_fd < 0)
		return err_errno("eventfd");
	if (h->irqfd && h->irqfd(h->ctx, (unsigned)d->gsi, v->irq_fd, true) < 0)
		return err_wrap("irqfd for GSI %d", d->gsi);
	v->irqfd = h->irqfd != NULL;
	for (unsigned q = 0; q < NET_QUEUES; q++) {
		v->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->notify_fd[q] < 0)
			return err_errno("eventfd");
		v->nctx[q] = (struct vnet_notify){ v, q };
		/* vhost=on: the kicks are the kernel's to read, not the loop's */
		if (!v->use_vhost &&
		    event_loop_add(h->loop, v->notify_fd[q], EPOLLIN, on_notify, &v->nctx[q]) < 0) {
			close(v->notify_fd[q]);
			v->notify_fd[q] = -1;
			return -1;
		}
		if (h->ioeventfd &&
		    h->ioeventfd(h->ctx, d->region[0].base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, false,
				 v->notify_fd[q], true) == 0)
			v->ioeventfd[q] = true;
	}
	if (v->use_vhost) {
		for (unsigned q = 0; q < NET_QUEUES; q++) {
			v->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (v->call_fd[q] < 0)
				return err_errno("eventfd");
			v->cctx[q] = (struct vnet_notify){ v, q };
			if (event_loop_add(h->loop, v->call_fd[q], EPOLLIN, on_call, &v->cctx[q]) < 0)
				return -1;
			v->call_watched[q] = true;
		}
		return 0; /* the tap is the kernel's */
	}
	/* Not polled until the driver is ready (rx_poll from the device). */
	if (event_loop_add(h->loop, v->tap_fd, 0, on_tap, v) < 0)
		return -1;
	v->tap_watched = true;
	return 0;
}

static void net_unrealize(struct device *d)
{
	struct vnet *v = d->state;
	const struct device_host *h = d->host;

	/* The kernel first: it reads the eventfds and the tap closed below. */
	if (vhost_net_stop(&v->vh) < 0)
		fprintf(stderr, "skyvm: %s: %s\n", d->id, err_msg());
	if (v->use_vhost)
		fprintf(stderr, "skyvm: %s (tap %s): vhost-net served the queues (started %u "
			"times, features 0x%llx)\n", d->id, v->tap, v->vh.starts,
			(unsigned long long)v->vh.features);
	if (v->tap_watched && !v->tap_dead && h->loop)
		event_loop_remove(h->loop, v->tap_fd);
	v->tap_watched = false;
	for (unsigned q = 0; q < NET_QUEUES; q++) {
		if (v->call_fd[q] >= 0) {
			if (v->call_watched[q] && h->loop)
				event_loop_remove(h->loop, v->call_fd[q]);
			v->call_watched[q] = false;
			close(v->call_fd[q]);
			v->call_fd[q] = -1;
		}
		if (v->notify_fd[q] < 0)
			continue;
		if (v->ioeventfd[q])
			h->ioeventfd(h->ctx, d->region[0].base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, false,
				     v->notify_fd[q], false);
		if (h->loop && !v->use_vhost)
			event_loop_remove(h->loop, v->notify_fd[q]);
		close(v->notify_fd[q]);
		v->notify_fd[q] = -1;
	}
	if (v->irq_fd >= 0) {
		if (v->irqfd)
			h->irqfd(h->ctx, (unsigned)d->gsi, v->irq_fd, false);
		close(v->irq_fd);
		v->irq_fd = -1;
	}
	if (v->t) {
		struct virtio_net_stats s;

		virtio_net_get_stats(virtio_mmio_dev(v->t), &s);
		if (s.rx_bad || s.tx_bad || s.rx_dropped || s.tx_dropped)
			fprintf(stderr,
				"skyvm: %s (tap %s): rx %llu frames, tx %llu frames; dropped: "
				"rx %llu (no fitting buffer), tx %llu (tap refused); refused from "
				"the guest: rx chains %llu, tx frames %llu\n",
				d->id, v->tap, (unsigned long long)s.rx_frames,
				(unsigned long long)s.tx_frames, (unsigned long long)s.rx_dropped,
				(unsigned long long)s.tx_dropped, (unsigned long long)s.rx_bad,
				(unsigned long long)s.tx_bad);
		virtio_mmio_free(v->t);
	}
	v->t = NULL;
}

static void net_reset(struct device *d)
{
	struct vnet *v = d->state;

	if (v->t)
		virtio_mmio_reset(v->t);
}

/*
 * Snapshots: with vhost=on the queues' positions live in the kernel while
 * the device runs; skyvm refuses to save such a VM (snapshot and migration)
 * rather than save queues that move under it.  vhost=off saves nothing, as
 * before this hook existed (the queues are not restored: docs/net.md).
 */
static int net_save(struct device *d, void *buf, size_t size, size_t *len)
{
	struct vnet *v = d->state;

	if (v->use_vhost)
		return err_set("%s: --net tap=%s,vhost=on: snapshots and migration are not "
			       "supported with vhost-net (the kernel holds the queues); use "
			       "vhost=off", d->id, v->tap);
	*len = 0;
	return 0;
}

static struct device_class virtio_net_class = {
	.name = "virtio-net", .create = net_create, .destroy = net_destroy,
	.ops = { .realize = net_realize, .reset = net_reset, .save = net_save,
		 .unrealize = net_unrealize },
};
DEVICE_CLASS(virtio_net_class)
