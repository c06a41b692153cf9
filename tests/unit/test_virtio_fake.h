/* SPDX-License-Identifier: MIT */
/*
 * A fake driver for the virtio tests: guest RAM from guest_mem_init(), rings
 * laid out the way a driver would (spec 2.7), written through the same
 * bounds-checked guest_ptr() the device uses.  Include after cmocka.h.
 */
#ifndef SKYVM_TEST_VIRTIO_FAKE_H
#define SKYVM_TEST_VIRTIO_FAKE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/guest_mem.h"
#include "util/err.h"
#include "virtio/mmio.h"
#include "virtio/virtqueue.h"

#define FAKE_MIB (1ULL << 20)
/* Queue q's rings: desc at FAKE_RING(q), avail +0x1000, used +0x2000 */
#define FAKE_RING(q) (0x10000ULL + 0x10000ULL * (q))
#define FAKE_DATA 0x100000ULL /* buffers from here */

struct fake {
	struct guest_mem m;
	struct virtio_mem vm;
	uint16_t num[VIRTIO_MAX_QUEUES];
	uint16_t avail_idx[VIRTIO_MAX_QUEUES];
};

static inline void fake_init(struct fake *f, uint64_t ram)
{
	memset(f, 0, sizeof(*f));
	if (guest_mem_init(&f->m, ram) < 0)
		fail_msg("guest_mem_init: %s", err_msg());
	virtio_mem_from_guest(&f->vm, &f->m);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		f->num[i] = 8;
}

static inline void fake_free(struct fake *f)
{
	guest_mem_free(&f->m);
}

static inline uint8_t *fake_ptr(struct fake *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_ptr(&f->m, gpa, len);

	if (!p)
		fail_msg("fake: [0x%llx, +0x%llx) is not RAM", (unsigned long long)gpa,
			 (unsigned long long)len);
	return p;
}

static inline void fake_put16(struct fake *f, uint64_t gpa, uint16_t v)
{
	memcpy(fake_ptr(f, gpa, 2), &v, 2);
}

static inline uint16_t fake_get16(struct fake *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, fake_ptr(f, gpa, 2), 2);
	return v;
}

static inline uint32_t fake_get32(struct fake *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fake_ptr(f, gpa, 4), 4);
	return v;
}

/* Descriptor i of queue q's table (or of a table at `table`, for indirect). */
static inline void fake_desc_at(struct fake *f, uint64_t table, unsigned i, uint64_t addr,
				uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(fake_ptr(f, table + 16ULL * i, 16), &d, 16);
}

static inline void fake_desc(struct fake *f, unsigned q, unsigned i, uint64_t addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	fake_desc_at(f, FAKE_RING(q), i, addr, len, flags, next);
}

/* Make head available on queue q. */
static inline void fake_avail(struct fake *f, unsigned q, uint16_t head)
{
	uint64_t a = FAKE_RING(q) + 0x1000;

	fake_put16(f, a + 4 + 2ULL * (f->avail_idx[q] % f->num[q]), head);
	f->avail_idx[q]++;
	fake_put16(f, a + 2, f->avail_idx[q]);
}

static inline void fake_set_avail_idx(struct fake *f, unsigned q, uint16_t idx)
{
	f->avail_idx[q] = idx;
	fake_put16(f, FAKE_RING(q) + 0x1000 + 2, idx);
}

static inline void fake_avail_flags(struct fake *f, unsigned q, uint16_t flags)
{
	fake_put16(f, FAKE_RING(q) + 0x1000, flags);
}

static inline void fake_used_event(struct fake *f, unsigned q, uint16_t ev)
{
	fake_put16(f, FAKE_RING(q) + 0x1000 + 4 + 2ULL * f->num[q], ev);
}

static inline uint16_t fake_avail_event(struct fake *f, unsigned q)
{
	return fake_get16(f, FAKE_RING(q) + 0x2000 + 4 + 8ULL * f->num[q]);
}

static inline uint16_t fake_used_idx(struct fake *f, unsigned q)
{
	return fake_get16(f, FAKE_RING(q) + 0x2000 + 2);
}

static inline void fake_used(struct fake *f, unsigned q, uint16_t slot, uint32_t *id,
			     uint32_t *len)
{
	uint64_t e = FAKE_RING(q) + 0x2000 + 4 + 8ULL * (slot % f->num[q]);

	*id = fake_get32(f, e);
	*len = fake_get32(f, e + 4);
}

/* ---- driving a transport through its registers, as Linux's virtio_mmio does */

static inline uint32_t mmio_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_read(t, off, 4, &v);
	return v;
}

static inline void mmio_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, 4, &v);
}

static inline uint64_t mmio_device_features(struct virtio_mmio *t)
{
	uint64_t lo, hi;

	mmio_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = mmio_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	mmio_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = mmio_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	return lo | hi << 32;
}

static inline void mmio_driver_features(struct virtio_mmio *t, uint64_t feat)
{
	mmio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	mmio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
}

static inline void mmio_queue_setup(struct virtio_mmio *t, struct fake *f, unsigned q)
{
	uint64_t base = FAKE_RING(q);

	memset(fake_ptr(f, base, 0x3000), 0, 0x3000);
	f->avail_idx[q] = 0;
	mmio_wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_NUM_MAX);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_NUM, f->num[q]);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
	mmio_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

/*
 * The driver's side of initialization (spec 3.1.1): reset, ACKNOWLEDGE,
 * DRIVER, features (all offered ones, masked by `mask`), FEATURES_OK read
 * back, queues, DRIVER_OK.
 */
static inline void mmio_bring_up(struct virtio_mmio *t, struct fake *f, unsigned nq,
				 uint64_t mask)
{
	uint64_t feat;

	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_VERSION_REG), 2);
	mmio_wr(t, VIRTIO_MMIO_STATUS, 0);
	mmio_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mmio_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	feat = mmio_device_features(t) & mask;
	mmio_driver_features(t, feat);
	mmio_wr(t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(mmio_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++)
		mmio_queue_setup(t, f, q);
	mmio_wr(t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(mmio_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* What the host callbacks saw. */
struct fake_host {
	struct virtio_mmio_host h;
	int irq_raised, irq_lowered, logs, notifies;
	char last_log[700];
};

static inline void fake_set_irq(void *opaque, int level)
{
	struct fake_host *fh = opaque;

	if (level)
		fh->irq_raised++;
	else
		fh->irq_lowered++;
}

static inline void fake_log(void *opaque, const char *msg)
{
	struct fake_host *fh = opaque;

	fh->logs++;
	snprintf(fh->last_log, sizeof(fh->last_log), "%s", msg);
}

static inline void fake_host_init(struct fake_host *fh)
{
	memset(fh, 0, sizeof(*fh));
	fh->h.opaque = fh;
	fh->h.set_irq = fake_set_irq;
	fh->h.log = fake_log;
}

#endif
