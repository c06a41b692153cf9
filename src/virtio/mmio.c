/* SPDX-License-Identifier: MIT */
#include "virtio/mmio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/guest_mem.h"
#include "util/err.h"
#include "virtio/virtqueue.h"

struct virtio_mmio {
	struct virtio_dev *dev;
	const struct virtio_mmio_host *host;
	struct virtq_host qhost;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	unsigned nq;
	uint32_t status;             /* under dev->lock */
	/* InterruptStatus: changed (with the set_irq call that goes with it)
	 * under irq_lock only, so the vCPU's interrupt handler, which reads and
	 * acks it, never waits for dev->lock and the I/O done under it.  Lock
	 * order: dev->lock, then irq_lock. */
	pthread_mutex_t irq_lock;
	uint32_t isr;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t config_generation;
	uint64_t errors;             /* atomic */
	bool reported;
	bool bad_access_reported;
	bool refusal_reported;
};

static void *guest_mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return guest_ptr(ctx, gpa, len);
}

void virtio_mem_from_guest(struct virtio_mem *vm, const struct guest_mem *m)
{
	vm->ptr = guest_mem_ptr;
	vm->ctx = (void *)(uintptr_t)m; /* guest_ptr() takes it back as const */
}

void virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	snprintf(dev->name, sizeof(dev->name), "%s", name ? name : "virtio");
	pthread_mutex_init(&dev->lock, NULL);
}

void virtio_dev_free(struct virtio_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_destroy(&dev->lock);
	dev->ops->free(dev);
}

static void report(struct virtio_mmio *t, const char *msg)
{
	char line[640];

	snprintf(line, sizeof(line), "%s: %s", t->dev->name, msg);
	if (t->host->log)
		t->host->log(t->host->opaque, line);
	else
		fprintf(stderr, "skyvm: %s\n", line);
}

static void raise_irq(struct virtio_mmio *t, uint32_t bit)
{
	pthread_mutex_lock(&t->irq_lock);
	__atomic_fetch_or(&t->isr, bit, __ATOMIC_SEQ_CST);
	t->host->set_irq(t->host->opaque, 1);
	pthread_mutex_unlock(&t->irq_lock);
}

/* Clear `bits`; lower the line when none is left (ACK, reset). */
static void clear_irq(struct virtio_mmio *t, uint32_t bits)
{
	pthread_mutex_lock(&t->irq_lock);
	if (__atomic_load_n(&t->isr, __ATOMIC_SEQ_CST) &&
	    __atomic_and_fetch(&t->isr, ~bits, __ATOMIC_SEQ_CST) == 0)
		t->host->set_irq(t->host->opaque, 0);
	pthread_mutex_unlock(&t->irq_lock);
}

/*
 * The guest broke a rule: DEVICE_NEEDS_RESET, a config interrupt so a live
 * driver notices (spec 4.2.2: the device "MUST ... send a configuration
 * change notification"), the first such event per device reported.
 */
static void fail_device(struct virtio_mmio *t, const char *msg)
{
	__atomic_fetch_add(&t->errors, 1, __ATOMIC_RELAXED);
	if (!t->reported) {
		char line[600];

		snprintf(line, sizeof(line), "%s; device needs reset (further errors counted, "
			 "not reported)", msg);
		report(t, line);
		t->reported = true;
	}
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	t->dev->active = false;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void queue_broken(void *opaque, struct virtq *q, const char *msg)
{
	fail_device(opaque, msg);
}

static void queue_interrupt(void *opaque, struct virtq *q)
{
	raise_irq(opaque, VIRTIO_MMIO_INT_VRING);
}

static uint64_t offered(struct virtio_mmio *t)
{
	return t->dev->ops->features(t->dev) | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
	       VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
}

struct virtio_mmio *virtio_mmio_new(struct virtio_dev *dev, const struct virtio_mem *mem,
				    const struct virtio_mmio_host *host)
{
	struct virtio_mmio *t;

	if (!dev || !host || !host->set_irq || !mem || !mem->ptr) {
		virtio_dev_free(dev);
		err_set("virtio-mmio: a device, guest memory and an interrupt callback are required");
		return NULL;
	}
	if (dev->ops->num_queues == 0 || dev->ops->num_queues > VIRTIO_MAX_QUEUES) {
		err_set("%s: %u queues (at most %u)", dev->name, dev->ops->num_queues,
			VIRTIO_MAX_QUEUES);
		virtio_dev_free(dev);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err_set("%s: out of memory", dev->name);
		virtio_dev_free(dev);
		return NULL;
	}
	t->dev = dev;
	t->host = host;
	pthread_mutex_init(&t->irq_lock, NULL);
	t->nq = dev->ops->num_queues;
	t->qhost.opaque = t;
	t->qhost.broken = queue_broken;
	t->qhost.interrupt = queue_interrupt;
	for (unsigned i = 0; i < t->nq; i++)
		virtq_init(&t->vq[i], i, mem, &t->qhost);
	dev->vq = t->vq;
	return t;
}

void virtio_mmio_free(struct virtio_mmio *t)
{
	if (!t)
		return;
	virtio_dev_free(t->dev);
	pthread_mutex_destroy(&t->irq_lock);
	free(t);
}

struct virtio_dev *virtio_mmio_dev(struct virtio_mmio *t)
{
	return t->dev;
}

uint32_t virtio_mmio_status(struct virtio_mmio *t)
{
	uint32_t s;

	pthread_mutex_lock(&t->dev->lock);
	s = t->status;
	pthread_mutex_unlock(&t->dev->lock);
	return s;
}

uint64_t virtio_mmio_errors(struct virtio_mmio *t)
{
	return __atomic_load_n(&t->errors, __ATOMIC_RELAXED);
}

/* Status 0: everything the driver set up is forgotten (spec 2.4). */
static void do_reset(struct virtio_mmio *t)
{
	struct virtio_dev *dev = t->dev;

	for (unsigned i = 0; i < t->nq; i++)
		virtq_reset(&t->vq[i]);
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	dev->features = 0;
	dev->active = false;
	if (dev->ops->reset)
		dev->ops->reset(dev);
	clear_irq(t, ~0u);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->dev->lock);
	do_reset(t);
	pthread_mutex_unlock(&t->dev->lock);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->dev->lock);
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
	pthread_mutex_unlock(&t->dev->lock);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status, added;

	if (v == 0) {
		do_reset(t);
		return;
	}
	/* The driver never clears bits (spec 2.1.1), nor sets NEEDS_RESET. */
	v &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	added = v & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t extra = t->driver_features & ~offered(t);

		if (extra || !(t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			/* Not accepted: FEATURES_OK stays clear, which the driver
			 * reads back (spec 3.1.1 step 6). */
			char msg[160];

			snprintf(msg, sizeof(msg), "driver features 0x%llx refused (%s)",
				 (unsigned long long)t->driver_features,
				 extra ? "bits the device did not offer" : "no VIRTIO_F_VERSION_1");
			if (!t->refusal_reported)
				report(t, msg);
			t->refusal_reported = true;
			added &= ~VIRTIO_STATUS_FEATURES_OK;
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			t->dev->features = t->driver_features;
		}
	}
	t->status = old | v;
	if (added & VIRTIO_STATUS_DRIVER_OK) {
		if (!(t->status & VIRTIO_STATUS_FEATURES_OK)) {
			fail_device(t, "DRIVER_OK without FEATURES_OK (a legacy driver?)");
			return;
		}
		if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			return;
		if (t->dev->ops->activate && t->dev->ops->activate(t->dev, t->dev->features) < 0) {
			fail_device(t, err_msg());
			return;
		}
		t->dev->active = true;
	}
}

static struct virtq *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->nq ? &t->vq[t->queue_sel] : NULL;
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)x << 32);
	else
		*v = (*v & ~0xffffffffULL) | x;
}

static void bad_access(struct virtio_mmio *t, const char *what, uint64_t off, unsigned size)
{
	char msg[128];

	__atomic_fetch_add(&t->errors, 1, __ATOMIC_RELAXED);
	if (t->bad_access_reported)
		return;
	t->bad_access_reported = true;
	snprintf(msg, sizeof(msg), "%s of %u bytes at offset 0x%llx ignored (reported once)", what,
		 size, (unsigned long long)off);
	report(t, msg);
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_features_sel > 1)
			return 0;
		return (uint32_t)(offered(t) >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTQ_NUM_MAX : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return q ? q->num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions (spec 4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		return 0; /* write-only and unassigned registers read as 0 */
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v, bool *notify, unsigned *nq)
{
	struct virtq *q = selected(t);
	bool configurable = q && !q->ready;
	bool features_open = !(t->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK));

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (features_open && t->drv_features_sel <= 1)
			set_half(&t->driver_features, t->drv_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (configurable)
			q->num = v > 0xffff ? 0xffff : (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!q)
			break;
		if (v == 0) {
			/* Linux's del_vq: the queue stops, its setup is kept. */
			q->ready = false;
			break;
		}
		if (q->ready || (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
			break;
		if (!(t->status & VIRTIO_STATUS_FEATURES_OK)) {
			fail_device(t, "QueueReady before FEATURES_OK");
			break;
		}
		if (virtq_enable(q, t->dev->features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX),
				 t->dev->features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)) < 0)
			fail_device(t, err_msg());
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v < t->nq) {
			*notify = true;
			*nq = v;
		}
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (configurable)
			set_half(&q->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (configurable)
			set_half(&q->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (configurable)
			set_half(&q->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only and unassigned registers ignore writes */
	}
}

static bool config_access_ok(struct virtio_mmio *t, uint64_t off, unsigned size)
{
	uint64_t c = off - VIRTIO_MMIO_CONFIG;

	return (size == 1 || size == 2 || size == 4 || size == 8) &&
	       c <= t->dev->ops->config_size && size <= t->dev->ops->config_size - c;
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, unsigned size, void *data)
{
	uint8_t buf[8] = {0};

	if (size > sizeof(buf))
		size = sizeof(buf);
	if (off == VIRTIO_MMIO_INTERRUPT_STATUS && size == 4) {
		/* without the lock: the interrupt handler must not wait for I/O */
		uint32_t v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);

		memcpy(data, &v, 4);
		return;
	}
	pthread_mutex_lock(&t->dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (config_access_ok(t, off, size))
			t->dev->ops->config_read(t->dev, (uint32_t)(off - VIRTIO_MMIO_CONFIG), buf,
						 size);
		else
			bad_access(t, "config read", off, size);
	} else if (size == 4 && off % 4 == 0) {
		uint32_t v = read_reg(t, off);

		memcpy(buf, &v, 4);
	} else {
		bad_access(t, "register read", off, size);
	}
	pthread_mutex_unlock(&t->dev->lock);
	memcpy(data, buf, size);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, unsigned size, const void *data)
{
	bool notify = false;
	unsigned q = 0;

	if (off == VIRTIO_MMIO_INTERRUPT_ACK && size == 4) {
		/* without dev->lock, like the InterruptStatus read */
		uint32_t v;

		memcpy(&v, data, 4);
		clear_irq(t, v);
		return;
	}
	pthread_mutex_lock(&t->dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (config_access_ok(t, off, size) && t->dev->ops->config_write)
			t->dev->ops->config_write(t->dev, (uint32_t)(off - VIRTIO_MMIO_CONFIG),
						  data, size);
		else if (!config_access_ok(t, off, size))
			bad_access(t, "config write", off, size);
	} else if (size == 4 && off % 4 == 0) {
		uint32_t v;

		memcpy(&v, data, 4);
		write_reg(t, off, v, &notify, &q);
	} else {
		bad_access(t, "register write", off, size);
	}
	pthread_mutex_unlock(&t->dev->lock);
	if (notify) {
		if (t->host->queue_notify)
			t->host->queue_notify(t->host->opaque, q);
		else
			virtio_mmio_queue_notify(t, q);
	}
}

void virtio_mmio_queue_notify(struct virtio_mmio *t, unsigned q)
{
	struct virtio_dev *dev = t->dev;

	pthread_mutex_lock(&dev->lock);
	if (q < t->nq && dev->active && t->vq[q].ready && !t->vq[q].broken &&
	    !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		dev->ops->queue_notify(dev, q);
	pthread_mutex_unlock(&dev->lock);
}

/* ---- snapshot state (virtio/mmio.h) */

#define MMIO_SAVE_VERSION 1

struct vq_saved {
	uint64_t desc, avail, used;
	uint16_t num, last_avail, used_idx, signalled_used;
	uint8_t ready, broken, event_idx, indirect, signalled_valid, pad[3];
};

struct mmio_saved {
	uint32_t version, nq, status, isr;
	uint32_t dev_features_sel, drv_features_sel, queue_sel, config_generation;
	uint64_t driver_features, features;
	uint8_t active, pad[7];
};

int virtio_mmio_save(struct virtio_mmio *t, void *buf, size_t size, size_t *len)
{
	struct mmio_saved s;
	size_t need = sizeof(s) + t->nq * sizeof(struct vq_saved);
	uint8_t *out = buf;

	if (size < need)
		return err_set("%s: %zu bytes are too few to save it", t->dev->name, size);
	pthread_mutex_lock(&t->dev->lock);
	pthread_mutex_lock(&t->irq_lock);
	memset(&s, 0, sizeof(s));
	s = (struct mmio_saved){ MMIO_SAVE_VERSION, t->nq, t->status, t->isr,
				 t->dev_features_sel, t->drv_features_sel, t->queue_sel,
				 t->config_generation, t->driver_features, t->dev->features,
				 t->dev->active, { 0 } };
	pthread_mutex_unlock(&t->irq_lock);
	memcpy(out, &s, sizeof(s));
	for (unsigned i = 0; i < t->nq; i++) {
		const struct virtq *q = &t->vq[i];
		struct vq_saved v;

		memset(&v, 0, sizeof(v));
		v = (struct vq_saved){ q->desc_gpa, q->avail_gpa, q->used_gpa, q->num,
				       q->last_avail, q->used_idx, q->signalled_used, q->ready,
				       q->broken, q->event_idx, q->indirect, q->signalled_valid,
				       { 0 } };
		memcpy(out + sizeof(s) + i * sizeof(v), &v, sizeof(v));
	}
	pthread_mutex_unlock(&t->dev->lock);
	*len = need;
	return 0;
}

int virtio_mmio_load(struct virtio_mmio *t, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	struct mmio_saved s;
	int r = 0;

	if (len < sizeof(s))
		return err_set("%s: saved transport state too short", t->dev->name);
	memcpy(&s, in, sizeof(s));
	if (s.version != MMIO_SAVE_VERSION)
		return err_set("%s: saved transport state version %u, this skyvm reads %u",
			       t->dev->name, s.version, MMIO_SAVE_VERSION);
	if (s.nq != t->nq || len != sizeof(s) + s.nq * sizeof(struct vq_saved))
		return err_set("%s: saved state has %u queues, this device %u", t->dev->name, s.nq,
			       t->nq);
	if (s.driver_features & ~offered(t))
		return err_set("%s: saved driver features 0x%llx are more than this device offers",
			       t->dev->name, (unsigned long long)s.driver_features);
	pthread_mutex_lock(&t->dev->lock);
	t->status = s.status;
	t->dev_features_sel = s.dev_features_sel;
	t->drv_features_sel = s.drv_features_sel;
	t->queue_sel = s.queue_sel;
	t->config_generation = s.config_generation;
	t->driver_features = s.driver_features;
	t->dev->features = s.features;
	for (unsigned i = 0; i < t->nq && r == 0; i++) {
		struct virtq *q = &t->vq[i];
		struct vq_saved v;

		memcpy(&v, in + sizeof(s) + i * sizeof(v), sizeof(v));
		virtq_reset(q);
		q->num = v.num;
		q->desc_gpa = v.desc;
		q->avail_gpa = v.avail;
		q->used_gpa = v.used;
		if (!v.ready)
			continue;
		/* Resolve the rings in this process's guest memory, then the positions. */
		r = virtq_enable(q, v.event_idx, v.indirect);
		if (r < 0)
			break;
		q->last_avail = v.last_avail;
		q->used_idx = v.used_idx;
		q->signalled_used = v.signalled_used;
		q->signalled_valid = v.signalled_valid;
		q->broken = v.broken;
	}
	if (r == 0 && s.active && t->dev->ops->activate &&
	    t->dev->ops->activate(t->dev, t->dev->features) < 0)
		r = err_wrap("%s: activating the restored device", t->dev->name);
	if (r == 0)
		t->dev->active = s.active;
	pthread_mutex_unlock(&t->dev->lock);
	pthread_mutex_lock(&t->irq_lock);
	t->isr = s.isr;
	pthread_mutex_unlock(&t->irq_lock);
	return r;
}
