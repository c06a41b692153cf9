/* SPDX-License-Identifier: MIT */
/*
 * vhost-net's state machine (virtio/vhost_net.h) over a fake /dev/vhost-net
 * that records every ioctl and can fail any one; and virtio-net through the
 * virtio-mmio transport with a backend that serves the queues itself (the
 * vhost=on path of devices/virtio_net.c, without KVM or a kernel vhost).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/vhost.h>
#include <string.h>

#include "devices/device.h"
#include "test_virtio_fake.h"
#include "util/err.h"
#include "virtio/net.h"
#include "virtio/vhost_net.h"

#define MAXCALLS 64

struct call {
	unsigned long req;
	unsigned index;
	long long num;          /* num, fd, or features */
	uint64_t desc, avail, used;
	unsigned nregions;
	struct vhost_memory_region region[VHOST_NET_MAX_REGIONS];
};

struct fakev {
	int open_errno;         /* open fails with it when set */
	int fd;                 /* what open returns */
	bool closed;
	uint64_t kernel_features;
	unsigned long fail_req; /* this request fails ... */
	unsigned fail_index;    /* ... for this queue index (any when ~0u) */
	int fail_errno;
	uint16_t vring_base[VHOST_NET_QUEUES]; /* what GET_VRING_BASE answers */
	struct call c[MAXCALLS];
	unsigned n;
};

static int f_open(void *opaque, const char *path)
{
	struct fakev *f = opaque;

	if (f->open_errno) {
		errno = f->open_errno;
		return -1;
	}
	return f->fd;
}

static int f_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct fakev *f = opaque;
	struct call *c;
	unsigned index = ~0u;

	assert_int_equal(fd, f->fd);
	assert_true(f->n < MAXCALLS);
	c = &f->c[f->n++];
	memset(c, 0, sizeof(*c));
	c->req = req;
	switch (req) {
	case VHOST_GET_FEATURES:
		*(uint64_t *)arg = f->kernel_features;
		break;
	case VHOST_SET_FEATURES:
		c->num = (long long)*(uint64_t *)arg;
		break;
	case VHOST_SET_MEM_TABLE: {
		const struct vhost_memory *m = arg;

		c->nregions = m->nregions;
		assert_true(m->nregions <= VHOST_NET_MAX_REGIONS);
		memcpy(c->region, m->regions, m->nregions * sizeof(m->regions[0]));
		break;
	}
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE: {
		const struct vhost_vring_state *s = arg;

		index = c->index = s->index;
		c->num = s->num;
		break;
	}
	case VHOST_GET_VRING_BASE: {
		struct vhost_vring_state *s = arg;

		index = c->index = s->index;
		assert_true(s->index < VHOST_NET_QUEUES);
		s->num = f->vring_base[s->index];
		break;
	}
	case VHOST_SET_VRING_ADDR: {
		const struct vhost_vring_addr *a = arg;

		index = c->index = a->index;
		c->desc = a->desc_user_addr;
		c->avail = a->avail_user_addr;
		c->used = a->used_user_addr;
		assert_int_equal(a->flags, 0);
		break;
	}
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_NET_SET_BACKEND: {
		const struct vhost_vring_file *vf = arg;

		index = c->index = vf->index;
		c->num = vf->fd;
		break;
	}
	case VHOST_SET_OWNER:
		break;
	default:
		fail_msg("unexpected vhost ioctl 0x%lx", req);
	}
	if (f->fail_req == req && (f->fail_index == ~0u || f->fail_index == index)) {
		errno = f->fail_errno ? f->fail_errno : EINVAL;
		return -1;
	}
	return 0;
}

static void f_close(void *opaque, int fd)
{
	struct fakev *f = opaque;

	assert_int_equal(fd, f->fd);
	assert_false(f->closed);
	f->closed = true;
}

static struct vhost_io fake_io(struct fakev *f)
{
	return (struct vhost_io){ .opaque = f, .open = f_open, .ioctl = f_ioctl,
				  .close = f_close };
}

static void fakev_init(struct fakev *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = 42;
	/* what a 6.1 kernel's vhost-net serves, plus bits it may grow */
	f->kernel_features = vhost_net_required_features() | VIRTIO_BIT(27) /* ANY_LAYOUT */ |
			     VIRTIO_BIT(33) /* ACCESS_PLATFORM */ | VIRTIO_BIT(26) /* LOG_ALL */;
}

/* The index of the first call of `req` at or after `from` for queue `index` (-1: none). */
static int find(const struct fakev *f, unsigned from, unsigned long req, unsigned index)
{
	for (unsigned i = from; i < f->n; i++)
		if (f->c[i].req == req && (index == ~0u || f->c[i].index == index))
			return (int)i;
	return -1;
}

static uint8_t ram_lo[64], ram_hi[64];
static uint8_t rings[VHOST_NET_QUEUES][3][64];

static void setup_rings(struct vhost_net_region r[2], struct vhost_net_ring ring[2])
{
	r[0] = (struct vhost_net_region){ 0, 0xC0000000ULL, ram_lo };
	r[1] = (struct vhost_net_region){ 0x100000000ULL, 0x40000000ULL, ram_hi };
	for (unsigned q = 0; q < 2; q++)
		ring[q] = (struct vhost_net_ring){
			.num = 256, .base = (uint16_t)(q ? 7 : 3), .desc = rings[q][0],
			.avail = rings[q][1], .used = rings[q][2], .kick = 10 + (int)q,
			.call = 20 + (int)q,
		};
}

/* ---- open */

static void test_open_missing_device_names_it(void **state)
{
	struct vhost_net v;

	/* the real open on a path that cannot exist */
	assert_int_equal(vhost_net_open(&v, &vhost_io_sys, "/nonexistent-skyvm/vhost-net"), -1);
	assert_non_null(strstr(err_msg(), "no /nonexistent-skyvm/vhost-net on this host"));
	assert_non_null(strstr(err_msg(), "vhost=off"));
	assert_int_equal(v.fd, -1);
	vhost_net_close(&v); /* harmless */
}

static void test_open_sets_owner_and_reads_features(void **state)
{
	struct fakev f;
	struct vhost_io io;
	struct vhost_net v;

	fakev_init(&f);
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), 0);
	assert_int_equal(v.state, VHOST_NET_OPEN);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.c[0].req, VHOST_SET_OWNER);
	assert_int_equal(f.c[1].req, VHOST_GET_FEATURES);
	assert_true(v.kernel_features == f.kernel_features);
	vhost_net_close(&v);
	assert_true(f.closed);
	assert_int_equal(v.state, VHOST_NET_CLOSED);

	/* permission: says so */
	fakev_init(&f);
	f.open_errno = EACCES;
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), -1);
	assert_non_null(strstr(err_msg(), "not allowed to open /dev/vhost-net"));

	/* SET_OWNER refused (another process owns it): error, fd closed */
	fakev_init(&f);
	f.fail_req = VHOST_SET_OWNER;
	f.fail_index = ~0u;
	f.fail_errno = EBUSY;
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), -1);
	assert_non_null(strstr(err_msg(), "VHOST_SET_OWNER"));
	assert_true(f.closed);
}

static void test_open_refuses_kernel_without_needed_features(void **state)
{
	struct fakev f;
	struct vhost_io io;
	struct vhost_net v;

	fakev_init(&f);
	f.kernel_features &= ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), -1);
	assert_non_null(strstr(err_msg(), "without 0x8000"));
	assert_true(f.closed);
}

/* ---- start / stop */

static void test_start_sequence(void **state)
{
	struct fakev f;
	struct vhost_io io;
	struct vhost_net v;
	struct vhost_net_region r[2];
	struct vhost_net_ring ring[2];
	uint64_t acked = vhost_net_required_features() | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
			 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
	int i, mem, prev = -1;

	fakev_init(&f);
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), 0);
	setup_rings(r, ring);
	f.n = 0;
	assert_int_equal(vhost_net_start(&v, acked, r, 2, ring, 99), 0);
	assert_int_equal(v.state, VHOST_NET_RUNNING);
	/* features: what the guest acked that the kernel knows; offloads are the tap's */
	assert_int_equal(f.c[0].req, VHOST_SET_FEATURES);
	assert_true((uint64_t)f.c[0].num == vhost_net_required_features());
	mem = find(&f, 0, VHOST_SET_MEM_TABLE, ~0u);
	assert_int_equal(mem, 1);
	assert_int_equal(f.c[mem].nregions, 2);
	assert_true(f.c[mem].region[1].guest_phys_addr == 0x100000000ULL);
	assert_true(f.c[mem].region[1].memory_size == 0x40000000ULL);
	assert_true(f.c[mem].region[1].userspace_addr == (uint64_t)(uintptr_t)ram_hi);
	for (unsigned q = 0; q < 2; q++) {
		unsigned long order[] = { VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE,
					  VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,
					  VHOST_SET_VRING_CALL };

		for (unsigned k = 0; k < 5; k++) {
			i = find(&f, 0, order[k], q);
			assert_true(i > mem);
			assert_true(i > prev); /* in this order, queue 0 first */
			prev = i;
		}
		assert_int_equal(f.c[find(&f, 0, VHOST_SET_VRING_NUM, q)].num, 256);
		assert_int_equal(f.c[find(&f, 0, VHOST_SET_VRING_BASE, q)].num, q ? 7 : 3);
		i = find(&f, 0, VHOST_SET_VRING_ADDR, q);
		assert_true(f.c[i].desc == (uint64_t)(uintptr_t)rings[q][0]);
		assert_true(f.c[i].avail == (uint64_t)(uintptr_t)rings[q][1]);
		assert_true(f.c[i].used == (uint64_t)(uintptr_t)rings[q][2]);
		assert_int_equal(f.c[find(&f, 0, VHOST_SET_VRING_KICK, q)].num, 10 + (int)q);
		assert_int_equal(f.c[find(&f, 0, VHOST_SET_VRING_CALL, q)].num, 20 + (int)q);
	}
	/* the tap last, on both queues, after every ring is set */
	for (unsigned q = 0; q < 2; q++) {
		i = find(&f, 0, VHOST_NET_SET_BACKEND, q);
		assert_true(i > prev);
		assert_int_equal(f.c[i].num, 99);
	}
	/* a second start while running is refused */
	assert_int_equal(vhost_net_start(&v, acked, r, 2, ring, 99), -1);

	/* stop: tap detached from both, bases read back */
	f.n = 0;
	f.vring_base[0] = 120;
	f.vring_base[1] = 65535;
	assert_int_equal(vhost_net_stop(&v), 0);
	assert_int_equal(v.state, VHOST_NET_OPEN);
	assert_int_equal(f.n, 4);
	for (unsigned q = 0; q < 2; q++) {
		i = find(&f, 0, VHOST_NET_SET_BACKEND, q);
		assert_int_equal(f.c[i].num, -1);
		assert_true(find(&f, 0, VHOST_GET_VRING_BASE, q) > find(&f, 0, VHOST_NET_SET_BACKEND,
									 1));
	}
	assert_int_equal(v.base[0], 120);
	assert_int_equal(v.base[1], 65535);
	assert_int_equal(v.starts, 1);
	assert_int_equal(v.stops, 1);
	/* stopping again does nothing */
	f.n = 0;
	assert_int_equal(vhost_net_stop(&v), 0);
	assert_int_equal(f.n, 0);
	/* and it starts again (a driver reset, then DRIVER_OK) */
	assert_int_equal(vhost_net_start(&v, acked, r, 2, ring, 99), 0);
	/* close stops a running device first */
	f.n = 0;
	vhost_net_close(&v);
	assert_int_equal(find(&f, 0, VHOST_NET_SET_BACKEND, 0) >= 0, 1);
	assert_true(f.closed);
}

static void test_start_failure_undoes_what_it_did(void **state)
{
	struct fakev f;
	struct vhost_io io;
	struct vhost_net v;
	struct vhost_net_region r[2];
	struct vhost_net_ring ring[2];

	/* the tap refused on queue 1: queue 0 is detached again */
	fakev_init(&f);
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), 0);
	setup_rings(r, ring);
	f.fail_req = VHOST_NET_SET_BACKEND;
	f.fail_index = 1;
	f.fail_errno = EBADFD;
	f.n = 0;
	assert_int_equal(vhost_net_start(&v, vhost_net_required_features(), r, 2, ring, 99), -1);
	assert_non_null(strstr(err_msg(), "VHOST_NET_SET_BACKEND (queue 1)"));
	assert_int_equal(v.state, VHOST_NET_OPEN);
	{
		int attach = find(&f, 0, VHOST_NET_SET_BACKEND, 0);
		int detach = find(&f, (unsigned)attach + 1, VHOST_NET_SET_BACKEND, 0);

		assert_true(attach >= 0 && detach > attach);
		assert_int_equal(f.c[detach].num, -1);
		assert_true(find(&f, 0, VHOST_GET_VRING_BASE, 0) > detach);
		assert_int_equal(find(&f, 0, VHOST_GET_VRING_BASE, 1), -1);
	}
	/* a later start works once the kernel does */
	f.fail_req = 0;
	assert_int_equal(vhost_net_start(&v, vhost_net_required_features(), r, 2, ring, 99), 0);
	vhost_net_close(&v);

	/* a ring without its eventfds is refused before the kernel sees it */
	fakev_init(&f);
	io = fake_io(&f);
	assert_int_equal(vhost_net_open(&v, &io, VHOST_NET_PATH), 0);
	ring[1].kick = -1;
	assert_int_equal(vhost_net_start(&v, vhost_net_required_features(), r, 2, ring, 99), -1);
	assert_non_null(strstr(err_msg(), "queue 1 is not set up"));
	assert_int_equal(find(&f, 0, VHOST_NET_SET_BACKEND, ~0u), -1);
	/* nor without memory */
	assert_int_equal(vhost_net_start(&v, vhost_net_required_features(), r, 0, ring, 99), -1);
	vhost_net_close(&v);
	/* start before open */
	memset(&v, 0, sizeof(v));
	v.fd = -1;
	assert_int_equal(vhost_net_start(&v, 0, r, 2, ring, 99), -1);
}

/* ---- virtio-net with a backend that serves its queues */

struct vt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	struct virtio_dev *dev;
	int starts, stops, start_rc, sends, recvs, polls;
	uint64_t start_features;
	struct virtio_net_ring_info ri[2];
	unsigned nq;
};

static ssize_t vt_send(void *opaque, const struct iovec *iov, int n)
{
	((struct vt *)opaque)->sends++;
	return -1;
}

static ssize_t vt_recv(void *opaque, void *buf, size_t len)
{
	((struct vt *)opaque)->recvs++;
	errno = EAGAIN;
	return -1;
}

static void vt_poll(void *opaque, bool on)
{
	((struct vt *)opaque)->polls++;
}

static int vt_start(void *opaque, uint64_t features, const struct virtio_net_ring_info *ri,
		    unsigned nq)
{
	struct vt *t = opaque;

	t->starts++;
	t->start_features = features;
	t->nq = nq;
	memcpy(t->ri, ri, sizeof(t->ri));
	if (t->start_rc)
		return err_set("fake vhost refused");
	return 0;
}

static void vt_stop(void *opaque)
{
	((struct vt *)opaque)->stops++;
}

static struct vt *vt_new(int start_rc)
{
	struct vt *t = calloc(1, sizeof(*t));
	struct virtio_net_opts o = { .name = "virtio-net0", .mac = { 0x02, 1, 2, 3, 4, 5 } };

	assert_non_null(t);
	t->start_rc = start_rc;
	o.be = (struct virtio_net_backend){ .opaque = t, .send = vt_send, .recv = vt_recv,
					    .rx_poll = vt_poll, .start = vt_start,
					    .stop = vt_stop };
	fake_init(&t->f, 4 * FAKE_MIB);
	fake_host_init(&t->fh);
	t->dev = virtio_net_new(&o);
	assert_non_null(t->dev);
	t->t = virtio_mmio_new(t->dev, &t->f.vm, &t->fh.h);
	assert_non_null(t->t);
	return t;
}

static void vt_free(struct vt *t)
{
	virtio_mmio_free(t->t);
	fake_free(&t->f);
	free(t);
}

static void test_device_hands_queues_to_backend(void **state)
{
	struct vt *t = vt_new(0);
	int raised, stops;

	mmio_bring_up(t->t, &t->f, 2, ~0ULL);
	stops = t->stops; /* bring-up's Status 0 first: a stop of nothing started */
	assert_int_equal(t->starts, 1);
	assert_int_equal(t->nq, 2);
	assert_true(t->start_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(t->start_features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned q = 0; q < 2; q++) {
		assert_true(t->ri[q].ready);
		assert_int_equal(t->ri[q].num, t->f.num[q]);
		assert_int_equal(t->ri[q].next_avail, 0);
		assert_ptr_equal(t->ri[q].desc, fake_ptr(&t->f, FAKE_RING(q), 16));
		assert_ptr_equal(t->ri[q].avail, fake_ptr(&t->f, FAKE_RING(q) + 0x1000, 4));
		assert_ptr_equal(t->ri[q].used, fake_ptr(&t->f, FAKE_RING(q) + 0x2000, 4));
	}
	/* the device itself never polls the tap nor walks the queues */
	assert_int_equal(t->polls, 0);
	fake_desc(&t->f, VIRTIO_NET_TXQ, 0, FAKE_DATA, 64, 0, 0);
	fake_avail(&t->f, VIRTIO_NET_TXQ, 0);
	virtio_mmio_queue_notify(t->t, VIRTIO_NET_TXQ);
	virtio_mmio_queue_notify(t->t, VIRTIO_NET_RXQ);
	virtio_net_rx(t->dev);
	assert_int_equal(t->sends, 0);
	assert_int_equal(fake_used_idx(&t->f, VIRTIO_NET_TXQ), 0);
	/* the backend's "call": InterruptStatus says used buffers, and the interrupt */
	raised = t->fh.irq_raised;
	virtio_net_backend_used(t->dev, VIRTIO_NET_RXQ);
	assert_int_equal(t->fh.irq_raised, raised + 1);
	assert_true(mmio_rd(t->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	mmio_wr(t->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	virtio_net_backend_used(t->dev, 7); /* no such queue: nothing */
	assert_int_equal(t->fh.irq_raised, raised + 1);
	/* driver reset: the backend stops; calls after it raise nothing */
	mmio_wr(t->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(t->stops, stops + 1);
	virtio_net_backend_used(t->dev, VIRTIO_NET_RXQ);
	assert_int_equal(t->fh.irq_raised, raised + 1);
	/* and starts again at the next DRIVER_OK */
	mmio_bring_up(t->t, &t->f, 2, ~0ULL);
	assert_int_equal(t->starts, 2);
	virtio_mmio_reset(t->t); /* the VMM's reset stops it too */
	assert_int_equal(t->stops > stops + 1, 1);
	assert_int_equal(t->recvs, 0);
	vt_free(t);
}

static void test_device_backend_start_failure_needs_reset(void **state)
{
	struct vt *t = vt_new(-1);
	uint64_t feat;

	mmio_wr(t->t, VIRTIO_MMIO_STATUS, 0);
	mmio_wr(t->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	feat = mmio_device_features(t->t);
	mmio_driver_features(t->t, feat);
	mmio_wr(t->t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	mmio_queue_setup(t->t, &t->f, 0);
	mmio_queue_setup(t->t, &t->f, 1);
	mmio_wr(t->t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(t->starts, 1);
	assert_true(mmio_rd(t->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(strstr(t->fh.last_log, "fake vhost refused"));
	vt_free(t);
}

/* ---- the option, through the device class (no tap needed for these) */

static int create_net(const char *opts)
{
	const struct device_class *c = device_class_find("virtio-net");
	struct device d;
	int rc;

	assert_non_null(c);
	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "virtio-net0");
	d.cls = c;
	d.gsi = DEV_NO_IRQ;
	rc = c->create(&d, opts);
	c->destroy(&d);
	return rc;
}

static void test_vhost_option(void **state)
{
	/* accepted: parsing goes on to the tap, which does not exist */
	assert_int_equal(create_net("tap=skyvm-nope0,vhost=on"), -1);
	assert_non_null(strstr(err_msg(), "tap=skyvm-nope0: no such network interface"));
	assert_int_equal(create_net("tap=skyvm-nope0,vhost=off,offload=off"), -1);
	assert_non_null(strstr(err_msg(), "no such network interface"));
	assert_int_equal(create_net("vhost=on,tap=skyvm-nope0"), -1);
	assert_non_null(strstr(err_msg(), "no such network interface"));
	/* refused before anything is opened */
	assert_int_equal(create_net("tap=skyvm-nope0,vhost=yes"), -1);
	assert_non_null(strstr(err_msg(), "unknown option 'vhost=yes'"));
	assert_non_null(strstr(err_msg(), "vhost=on|off"));
	assert_int_equal(create_net("tap=skyvm-nope0,vhost"), -1);
	assert_non_null(strstr(err_msg(), "unknown option 'vhost'"));
	assert_int_equal(create_net("vhost=on"), -1);
	assert_non_null(strstr(err_msg(), "tap=NAME is required"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing_device_names_it),
		cmocka_unit_test(test_open_sets_owner_and_reads_features),
		cmocka_unit_test(test_open_refuses_kernel_without_needed_features),
		cmocka_unit_test(test_start_sequence),
		cmocka_unit_test(test_start_failure_undoes_what_it_did),
		cmocka_unit_test(test_device_hands_queues_to_backend),
		cmocka_unit_test(test_device_backend_start_failure_needs_reset),
		cmocka_unit_test(test_vhost_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
