/* SPDX-License-Identifier: MIT */
#include "virtio/virtqueue.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

/*
 * Ring layout (spec 2.7): the avail ring is u16 flags, idx, ring[num],
 * used_event; the used ring is u16 flags, idx, {u32 id, u32 len}[num],
 * u16 avail_event.  Sizes include the event fields whether or not EVENT_IDX
 * is negotiated, as the spec's own size formulas do.
 */
#define AVAIL_BYTES(num) (6ULL + 2ULL * (num))
#define USED_BYTES(num) (6ULL + 8ULL * (num))
#define USED_ELEM(q, i) ((q)->used + 4 + 8ULL * (i))

static void *gptr(const struct virtq *q, uint64_t gpa, uint64_t len)
{
	return q->mem->ptr(q->mem->ctx, gpa, len);
}

static uint16_t *used_idx_ptr(struct virtq *q)
{
	return (uint16_t *)(void *)(q->used + 2);
}

static uint16_t *avail_event_ptr(struct virtq *q)
{
	return (uint16_t *)(void *)USED_ELEM(q, q->num);
}

void virtq_init(struct virtq *q, unsigned index, const struct virtio_mem *mem,
		const struct virtq_host *host)
{
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->mem = mem;
	q->host = host;
	q->num = VIRTQ_NUM_MAX;
}

void virtq_reset(struct virtq *q)
{
	virtq_init(q, q->index, q->mem, q->host);
}

int virtq_enable(struct virtq *q, bool event_idx, bool indirect)
{
	uint64_t n = q->num;

	if (n == 0 || n > VIRTQ_NUM_MAX || (n & (n - 1)) != 0)
		return err_set("queue %u: size %llu is not a power of 2 in [1, %u]", q->index,
			       (unsigned long long)n, VIRTQ_NUM_MAX);
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return err_set("queue %u: ring addresses desc 0x%llx avail 0x%llx used 0x%llx "
			       "are not aligned to 16, 2 and 4 bytes", q->index,
			       (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
			       (unsigned long long)q->used_gpa);
	q->desc = gptr(q, q->desc_gpa, 16 * n);
	q->avail = gptr(q, q->avail_gpa, AVAIL_BYTES(n));
	q->used = gptr(q, q->used_gpa, USED_BYTES(n));
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL;
		q->avail = NULL;
		q->used = NULL;
		return err_set("queue %u: ring areas desc [0x%llx, +0x%llx) avail [0x%llx, +0x%llx) "
			       "used [0x%llx, +0x%llx) are not all guest RAM", q->index,
			       (unsigned long long)q->desc_gpa, (unsigned long long)(16 * n),
			       (unsigned long long)q->avail_gpa, (unsigned long long)AVAIL_BYTES(n),
			       (unsigned long long)q->used_gpa, (unsigned long long)USED_BYTES(n));
	}
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->ready = true;
	return 0;
}

void virtq_fail(struct virtq *q, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	if (q->broken)
		return;
	q->broken = true;
	n = snprintf(msg, sizeof(msg), "queue %u: ", q->index);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (q->host && q->host->broken)
		q->host->broken(q->host->opaque, q, msg);
}

/* One descriptor, copied once: the guest may change the table meanwhile. */
static void read_desc(const uint8_t *table, uint64_t i, struct virtq_desc *d)
{
	memcpy(d, table + 16 * i, sizeof(*d));
}

/*
 * Walk the chain at `head` into c.  Returns 0, or -1 after virtq_fail().
 * `steps` bounds each table's walk by its size, so a loop ends there; the
 * segment count bounds the whole chain by the queue size (spec 2.7.5.3.1:
 * no chain longer than the queue, indirect parts included).
 */
static int walk(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	const uint8_t *table = (const uint8_t *)q->desc;
	uint64_t table_size = q->num, steps = 0, i = head;
	bool in_indirect = false;
	struct virtq_desc d;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	if (head >= q->num) {
		virtq_fail(q, "available head %u is not below the queue size %u", head, q->num);
		return -1;
	}
	for (;;) {
		void *p;

		if (++steps > table_size) {
			virtq_fail(q, "chain at head %u has more than %llu descriptors%s (a loop?)",
				   head, (unsigned long long)table_size,
				   in_indirect ? " in its indirect table" : "");
			return -1;
		}
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect) {
				virtq_fail(q, "descriptor %llu is indirect, which was not negotiated",
					   (unsigned long long)i);
				return -1;
			}
			if (in_indirect) {
				virtq_fail(q, "indirect descriptor %llu inside an indirect table "
					   "(nesting is forbidden)", (unsigned long long)i);
				return -1;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				virtq_fail(q, "indirect descriptor %llu also has NEXT set",
					   (unsigned long long)i);
				return -1;
			}
			if (d.len == 0 || d.len % 16 != 0) {
				virtq_fail(q, "indirect table at descriptor %llu has length %u, "
					   "not a non-zero multiple of 16", (unsigned long long)i, d.len);
				return -1;
			}
			table = gptr(q, d.addr, d.len);
			if (!table) {
				virtq_fail(q, "indirect table [0x%llx, +0x%x) is not guest RAM",
					   (unsigned long long)d.addr, d.len);
				return -1;
			}
			table_size = d.len / 16;
			in_indirect = true;
			steps = 0;
			i = 0;
			continue;
		}
		if (d.len == 0) {
			virtq_fail(q, "descriptor %llu%s has length 0", (unsigned long long)i,
				   in_indirect ? " (indirect)" : "");
			return -1;
		}
		p = gptr(q, d.addr, d.len);
		if (!p) {
			virtq_fail(q, "descriptor %llu%s: buffer [0x%llx, +0x%x) is not guest RAM",
				   (unsigned long long)i, in_indirect ? " (indirect)" : "",
				   (unsigned long long)d.addr, d.len);
			return -1;
		}
		if (c->n_out + c->n_in >= q->num) {
			virtq_fail(q, "chain at head %u has more than %u buffers (the queue size)",
				   head, q->num);
			return -1;
		}
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			c->in_len += d.len;
			c->n_in++;
		} else {
			if (c->n_in) {
				virtq_fail(q, "descriptor %llu is device-readable but follows a "
					   "device-writable one", (unsigned long long)i);
				return -1;
			}
			c->out_len += d.len;
			c->n_out++;
		}
		if (c->in_len > UINT32_MAX || c->out_len > UINT32_MAX) {
			virtq_fail(q, "chain at head %u has 4 GiB or more of %s buffers", head,
				   c->in_len > UINT32_MAX ? "writable" : "readable");
			return -1;
		}
		c->iov[c->n_out + c->n_in - 1].iov_base = p;
		c->iov[c->n_out + c->n_in - 1].iov_len = d.len;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_size) {
			virtq_fail(q, "descriptor %llu's next %u is beyond its table of %llu",
				   (unsigned long long)i, d.next, (unsigned long long)table_size);
			return -1;
		}
		i = d.next;
	}
}

/* How many buffers the driver has made available; -1 if more than fit. */
static int pending(struct virtq *q)
{
	uint16_t idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - q->last_avail);

	if (n > q->num) {
		virtq_fail(q, "avail index %u is %u ahead of the device's %u: more buffers than "
			   "the ring's %u", idx, n, q->last_avail, q->num);
		return -1;
	}
	return n;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	int n;
	uint16_t head;

	if (q->broken)
		return VIRTQ_POP_BROKEN;
	if (!q->ready)
		return VIRTQ_POP_EMPTY;
	n = pending(q);
	if (n == 0 && q->event_idx) {
		/* Ask for a notification at the next buffer, then look again: one
		 * added before the driver saw avail_event would otherwise wait. */
		__atomic_store_n(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		n = pending(q);
	}
	if (n < 0)
		return VIRTQ_POP_BROKEN;
	if (n == 0)
		return VIRTQ_POP_EMPTY;
	head = __atomic_load_n(&q->avail[2 + q->last_avail % q->num], __ATOMIC_RELAXED);
	q->last_avail++;
	if (walk(q, head, c) < 0)
		return VIRTQ_POP_BROKEN;
	return VIRTQ_POP_CHAIN;
}

void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
	uint8_t *e;
	uint32_t id = c->head;

	if (!q->ready || q->broken)
		return;
	if (written > c->in_len)
		written = (uint32_t)c->in_len;
	e = USED_ELEM(q, q->used_idx % q->num);
	memcpy(e, &id, 4);
	memcpy(e + 4, &written, 4);
	q->used_idx++;
}

void virtq_flush(struct virtq *q)
{
	if (!q->ready || q->broken)
		return;
	__atomic_store_n(used_idx_ptr(q), q->used_idx, __ATOMIC_RELEASE);
}

void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
	virtq_fill(q, c, written);
	virtq_flush(q);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old, now, event;
	bool valid;

	if (!q->ready)
		return false;
	/* A broken queue still signals what it returned before it broke. */
	if (q->broken && q->used_idx == q->signalled_used)
		return false;
	/* used->idx must be visible before the driver's flags/event are read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = q->signalled_used;
	valid = q->signalled_valid;
	now = q->used_idx;
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail[0], __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = __atomic_load_n(&q->avail[2 + q->num], __ATOMIC_RELAXED);
	/* spec 2.7.10: interrupt when used_event lies in [old, now) */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void virtq_notify(struct virtq *q)
{
	if (virtq_should_notify(q) && q->host && q->host->interrupt)
		q->host->interrupt(q->host->opaque, q);
}

uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *out = buf;
	uint64_t done = 0;

	for (unsigned i = 0; i < c->n_out && done < len; i++) {
		uint64_t l = c->iov[i].iov_len, n;

		if (off >= l) {
			off -= l;
			continue;
		}
		n = l - off < len - done ? l - off : len - done;
		memcpy(out + done, (uint8_t *)c->iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf,
			   uint64_t len)
{
	const uint8_t *in = buf;
	uint64_t done = 0;

	for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < len; i++) {
		uint64_t l = c->iov[i].iov_len, n;

		if (off >= l) {
			off -= l;
			continue;
		}
		n = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)c->iov[i].iov_base + off, in + done, n);
		done += n;
		off = 0;
	}
	return done;
}
