/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio register block driven the way Linux's virtio_mmio driver
 * drives it: identification, feature negotiation (accepted and refused),
 * queue setup, notify -> used buffer -> interrupt -> ACK, reset, config
 * space and generation, and the hostile-driver outcomes (DEVICE_NEEDS_RESET
 * plus a config interrupt, reported once, cleared by reset).  The device
 * under the transport is virtio-rng with a counting entropy source, and
 * virtio-blk where config space matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_virtio_fake.h"
#include "virtio/blk.h"
#include "virtio/rng.h"

struct mt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	unsigned filled;
};

static ssize_t count_fill(void *opaque, void *buf, size_t len)
{
	struct mt *m = opaque;

	memset(buf, 0x5a, len);
	m->filled += (unsigned)len;
	return (ssize_t)len;
}

static struct mt *mt_new(void)
{
	struct mt *m = calloc(1, sizeof(*m));
	struct virtio_dev *d;

	assert_non_null(m);
	fake_init(&m->f, 4 * FAKE_MIB);
	fake_host_init(&m->fh);
	d = virtio_rng_new(&(struct virtio_rng_opts){.name = "virtio-rng0", .fill = count_fill,
						      .opaque = m});
	assert_non_null(d);
	m->t = virtio_mmio_new(d, &m->f.vm, &m->fh.h);
	assert_non_null(m->t);
	return m;
}

static void mt_free(struct mt *m)
{
	virtio_mmio_free(m->t);
	fake_free(&m->f);
	free(m);
}

/* One 16-byte writable buffer made available and notified. */
static void request(struct mt *m, uint16_t desc)
{
	fake_desc(&m->f, 0, desc, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&m->f, 0, desc);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void test_identity(void **state)
{
	struct mt *m = mt_new();
	uint64_t feat = mmio_device_features(m->t);

	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_true(feat & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(feat & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	assert_true(feat & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	mmio_wr(m->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* queue 0 exists, queue 1 does not */
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_NUM_MAX);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(m->fh.logs, 0);
	mt_free(m);
}

static void test_bring_up_and_request(void **state)
{
	struct mt *m = mt_new();
	uint32_t id, len;

	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	assert_int_equal(virtio_mmio_dev(m->t)->features & VIRTIO_BIT(VIRTIO_F_VERSION_1),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1));
	request(m, 2);
	assert_int_equal(m->filled, 16);
	assert_int_equal(*fake_ptr(&m->f, FAKE_DATA + 15, 1), 0x5a);
	assert_int_equal(fake_used_idx(&m->f, 0), 1);
	fake_used(&m->f, 0, 0, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 16);
	assert_int_equal(m->fh.irq_raised, 1);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	mmio_wr(m->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(m->fh.irq_lowered, 1);
	/* notify of a queue that does not exist: nothing */
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	assert_int_equal(m->fh.irq_raised, 1);
	assert_int_equal(virtio_mmio_errors(m->t), 0);
	assert_int_equal(m->fh.logs, 0);
	mt_free(m);
}

/* With an ioeventfd-style host: a notify write is handed to the host, not processed. */
static int notified_q = -1;
static void host_notify(void *opaque, unsigned q)
{
	((struct fake_host *)opaque)->notifies++;
	notified_q = (int)q;
}

static void test_notify_handed_to_host(void **state)
{
	struct mt *m = mt_new();

	m->fh.h.queue_notify = host_notify;
	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	request(m, 0);
	assert_int_equal(m->fh.notifies, 1);
	assert_int_equal(notified_q, 0);
	assert_int_equal(m->filled, 0);
	virtio_mmio_queue_notify(m->t, 0); /* the event loop's turn */
	assert_int_equal(m->filled, 16);
	mt_free(m);
}

static void test_features_refused(void **state)
{
	struct mt *m = mt_new();
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	/* a bit the device never offered */
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s);
	mmio_driver_features(m->t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40));
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	assert_int_equal(m->fh.logs, 1);
	assert_non_null(strstr(m->fh.last_log, "did not offer"));
	/* no VERSION_1: a legacy driver */
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, 0);
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s);
	mmio_driver_features(m->t, VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* a queue cannot be enabled without FEATURES_OK */
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* the accepted set, after a reset */
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS), 0);
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s);
	mmio_driver_features(m->t, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS), s | VIRTIO_STATUS_FEATURES_OK);
	/* features are frozen after FEATURES_OK */
	mmio_driver_features(m->t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40));
	assert_int_equal(virtio_mmio_dev(m->t)->features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	mt_free(m);
}

static void test_driver_ok_without_features_ok(void **state)
{
	struct mt *m = mt_new();

	mmio_wr(m->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						  VIRTIO_STATUS_DRIVER_OK);
	assert_true(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_false(virtio_mmio_dev(m->t)->active);
	assert_int_equal(m->fh.logs, 1);
	assert_non_null(strstr(m->fh.last_log, "virtio-rng0: DRIVER_OK without FEATURES_OK"));
	mt_free(m);
}

static void test_reset(void **state)
{
	struct mt *m = mt_new();

	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	request(m, 0);
	assert_int_not_equal(mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(m->fh.irq_lowered, 1);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	assert_false(virtio_mmio_dev(m->t)->active);
	assert_int_equal(virtio_mmio_dev(m->t)->features, 0);
	/* a notify after reset does nothing */
	fake_avail(&m->f, 0, 0);
	virtio_mmio_queue_notify(m->t, 0);
	assert_int_equal(m->filled, 16);
	/* and the device comes back up from scratch, indices from 0 */
	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	request(m, 0);
	assert_int_equal(m->filled, 32);
	assert_int_equal(fake_used_idx(&m->f, 0), 1);
	/* the VMM's reset does the same */
	virtio_mmio_reset(m->t);
	assert_int_equal(virtio_mmio_status(m->t), 0);
	mt_free(m);
}

static void test_queue_frozen_while_ready(void **state)
{
	struct mt *m = mt_new();

	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NUM, 4);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_NUM), 8);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_DESC_LOW), FAKE_RING(0));
	/* Linux's del_vq: QueueReady 0 reads back 0 */
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_READY), 0);
	request(m, 0);
	assert_int_equal(m->filled, 0);
	mt_free(m);
}

static void test_bad_queue_setup(void **state)
{
	struct mt *m = mt_new();
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	mmio_wr(m->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_driver_features(m->t, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NUM, 8);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1); /* 4 GiB: not RAM here */
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x2000);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3000);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(strstr(m->fh.last_log, "not all guest RAM"));
	assert_non_null(strstr(m->fh.last_log, "device needs reset"));
	/* DRIVER_OK after that: stays needing reset, nothing activates */
	mmio_wr(m->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	assert_false(virtio_mmio_dev(m->t)->active);
	mt_free(m);
}

/*
 * A hostile chain through the transport: DEVICE_NEEDS_RESET, a config
 * interrupt, one report; the device ignores notifies until reset; a second
 * hostile chain after reset is counted but not reported again.
 */
static void test_hostile_needs_reset(void **state)
{
	struct mt *m = mt_new();

	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	fake_desc(&m->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	fake_avail(&m->f, 0, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(m->fh.irq_raised, 1);
	assert_int_equal(m->fh.logs, 1);
	assert_non_null(strstr(m->fh.last_log, "virtio-rng0: queue 0:"));
	assert_non_null(strstr(m->fh.last_log, "a loop"));
	assert_int_equal(virtio_mmio_errors(m->t), 1);
	/* notifies do nothing now */
	request(m, 1);
	assert_int_equal(m->filled, 0);
	assert_int_equal(m->fh.logs, 1);
	/* the driver resets and tries again, hostile again */
	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	fake_desc(&m->f, 0, 0, 1ULL << 40, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&m->f, 0, 0);
	mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(mmio_rd(m->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(virtio_mmio_errors(m->t), 2);
	assert_int_equal(m->fh.logs, 1);
	/* and once more, well-behaved: works */
	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	request(m, 3);
	assert_int_equal(m->filled, 16);
	mt_free(m);
}

static void test_bad_access_sizes(void **state)
{
	struct mt *m = mt_new();
	uint16_t v16 = 0xffff;
	uint8_t v8 = 0xff;
	uint32_t v32 = 0xffffffff;

	virtio_mmio_read(m->t, VIRTIO_MMIO_MAGIC_VALUE, 2, &v16);
	assert_int_equal(v16, 0);
	virtio_mmio_read(m->t, VIRTIO_MMIO_MAGIC_VALUE + 1, 4, &v32);
	assert_int_equal(v32, 0);
	v8 = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_write(m->t, VIRTIO_MMIO_STATUS, 1, &v8);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(m->fh.logs, 1); /* reported once, counted each time */
	assert_int_equal(virtio_mmio_errors(m->t), 3);
	/* rng has no config space: every config read is 0 */
	v32 = 0xffffffff;
	virtio_mmio_read(m->t, VIRTIO_MMIO_CONFIG, 4, &v32);
	assert_int_equal(v32, 0);
	/* unassigned registers read 0, take writes harmlessly */
	assert_int_equal(mmio_rd(m->t, 0x0c8), 0);
	mmio_wr(m->t, VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	mt_free(m);
}

static void test_blk_config_space(void **state)
{
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	struct virtio_dev *d;
	int fd = memfd_create("disk", 0);
	uint64_t cap = 0;
	uint32_t lo, hi, seg = 0;
	uint8_t b = 0xff;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1000 * 512 + 100), 0);
	fake_init(&f, 4 * FAKE_MIB);
	fake_host_init(&fh);
	d = virtio_blk_new(&(struct virtio_blk_opts){.name = "virtio-blk0", .fd = fd, .ro = true});
	assert_non_null(d);
	close(fd); /* the device keeps its own */
	t = virtio_mmio_new(d, &f.vm, &fh.h);
	assert_non_null(t);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_true(mmio_device_features(t) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_true(mmio_device_features(t) & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG, 8, &cap);
	assert_int_equal(cap, 1000);
	lo = mmio_rd(t, VIRTIO_MMIO_CONFIG);
	hi = mmio_rd(t, VIRTIO_MMIO_CONFIG + 4);
	assert_int_equal(lo, 1000);
	assert_int_equal(hi, 0);
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 12, 4, &seg);
	assert_int_equal(seg, VIRTQ_NUM_MAX - 2);
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 1, 1, &b);
	assert_int_equal(b, 1000 >> 8);
	/* a read-only disk: no discard/write-zeroes offered */
	assert_int_equal(mmio_device_features(t) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD), 0);
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 40, 4, &lo);
	assert_int_equal(lo, VIRTIO_BLK_MAX_RANGES); /* max_discard_seg */
	b = 0;
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 56, 1, &b);
	assert_int_equal(b, 1); /* write_zeroes_may_unmap */
	/* past the end of config space (60 bytes): 0, and a config write is ignored */
	lo = 0xffffffff;
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 58, 4, &lo);
	assert_int_equal(lo, 0);
	mmio_wr(t, VIRTIO_MMIO_CONFIG, 5);
	virtio_mmio_read(t, VIRTIO_MMIO_CONFIG, 8, &cap);
	assert_int_equal(cap, 1000);
	/* generation moves when the device says config changed */
	lo = mmio_rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_mmio_config_changed(t);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_CONFIG_GENERATION), lo + 1);
	virtio_mmio_free(t);
	fake_free(&f);
}

/*
 * Two threads as in the VMM: a "vCPU" posts requests, reads and acks
 * InterruptStatus and reads Status through the registers, while an "event
 * loop" thread keeps calling virtio_mmio_queue_notify().  Every request must
 * complete exactly once, with no deadlock (the test would hang) and no
 * sanitizer report.
 */
#define THREAD_REQUESTS 3000

struct threaded {
	struct mt *m;
	int done;
	unsigned kicks;
};

static void count_kick(void *opaque, unsigned q)
{
	__atomic_fetch_add(&((struct fake_host *)opaque)->notifies, 1, __ATOMIC_RELAXED);
}

static void *event_loop(void *arg)
{
	struct threaded *th = arg;

	while (!__atomic_load_n(&th->done, __ATOMIC_ACQUIRE)) {
		virtio_mmio_queue_notify(th->m->t, 0);
		th->kicks++;
		sched_yield();
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct threaded th = {.m = mt_new()};
	struct mt *m = th.m;
	uint64_t avail = FAKE_RING(0) + 0x1000, used = FAKE_RING(0) + 0x2000;
	uint16_t *avail_idx = (uint16_t *)(void *)fake_ptr(&m->f, avail + 2, 2);
	uint16_t *used_idx = (uint16_t *)(void *)fake_ptr(&m->f, used + 2, 2);
	pthread_t loop;
	unsigned acks = 0;

	m->fh.h.queue_notify = count_kick;
	mmio_bring_up(m->t, &m->f, 1, ~0ULL);
	for (unsigned i = 0; i < 8; i++)
		fake_desc(&m->f, 0, i, FAKE_DATA + 64 * i, 64, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(pthread_create(&loop, NULL, event_loop, &th), 0);
	for (unsigned i = 0; i < THREAD_REQUESTS; i++) {
		fake_put16(&m->f, avail + 4 + 2 * (i % 8), (uint16_t)(i % 8));
		__atomic_store_n(avail_idx, (uint16_t)(i + 1), __ATOMIC_RELEASE);
		mmio_wr(m->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		while (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != (uint16_t)(i + 1)) {
			uint32_t isr = mmio_rd(m->t, VIRTIO_MMIO_INTERRUPT_STATUS);

			if (isr) {
				mmio_wr(m->t, VIRTIO_MMIO_INTERRUPT_ACK, isr);
				acks++;
			}
			assert_int_equal(mmio_rd(m->t, VIRTIO_MMIO_STATUS) &
						 VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
			sched_yield();
		}
	}
	__atomic_store_n(&th.done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(loop, NULL), 0);
	assert_int_equal(m->filled, THREAD_REQUESTS * 64);
	assert_int_equal(m->fh.notifies, THREAD_REQUESTS);
	assert_int_equal(virtio_mmio_errors(m->t), 0);
	assert_int_equal(m->fh.logs, 0);
	mt_free(m);
}

static void test_new_rejects(void **state)
{
	struct fake f;
	struct fake_host fh;
	struct virtio_dev *d;

	fake_init(&f, FAKE_MIB);
	fake_host_init(&fh);
	fh.h.set_irq = NULL;
	d = virtio_rng_new(&(struct virtio_rng_opts){.name = "virtio-rng0"});
	assert_null(virtio_mmio_new(d, &f.vm, &fh.h)); /* frees d */
	assert_non_null(strstr(err_msg(), "interrupt callback"));
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_bring_up_and_request),
		cmocka_unit_test(test_notify_handed_to_host),
		cmocka_unit_test(test_features_refused),
		cmocka_unit_test(test_driver_ok_without_features_ok),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_queue_frozen_while_ready),
		cmocka_unit_test(test_bad_queue_setup),
		cmocka_unit_test(test_hostile_needs_reset),
		cmocka_unit_test(test_bad_access_sizes),
		cmocka_unit_test(test_blk_config_space),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_new_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
