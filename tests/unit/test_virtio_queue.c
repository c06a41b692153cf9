/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue walker against a fake driver: normal chains (direct,
 * indirect, wrapping indices), the used ring and notification suppression,
 * and every hostile case of virtqueue.h, each ending with the queue broken
 * and exactly one report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "test_virtio_fake.h"

struct qt {
	struct fake f;
	struct virtq q;
	struct virtq_host host;
	struct virtq_chain c;
	int broken, interrupts;
	char msg[512];
};

static void on_broken(void *opaque, struct virtq *q, const char *msg)
{
	struct qt *t = opaque;

	t->broken++;
	snprintf(t->msg, sizeof(t->msg), "%s", msg);
}

static void on_interrupt(void *opaque, struct virtq *q)
{
	((struct qt *)opaque)->interrupts++;
}

static struct qt *qt_new(uint64_t ram, uint16_t num, bool event_idx, bool indirect)
{
	struct qt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	fake_init(&t->f, ram);
	t->f.num[0] = num;
	t->host.opaque = t;
	t->host.broken = on_broken;
	t->host.interrupt = on_interrupt;
	virtq_init(&t->q, 0, &t->f.vm, &t->host);
	t->q.num = num;
	t->q.desc_gpa = FAKE_RING(0);
	t->q.avail_gpa = FAKE_RING(0) + 0x1000;
	t->q.used_gpa = FAKE_RING(0) + 0x2000;
	if (virtq_enable(&t->q, event_idx, indirect) < 0)
		fail_msg("virtq_enable: %s", err_msg());
	return t;
}

static void qt_free(struct qt *t)
{
	fake_free(&t->f);
	free(t);
}

/* The chain at head must break the queue, with one report naming `what`. */
static void expect_broken(struct qt *t, const char *what)
{
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_BROKEN);
	assert_int_equal(t->broken, 1);
	if (!strstr(t->msg, what))
		fail_msg("report \"%s\" does not say \"%s\"", t->msg, what);
	/* stays broken, says nothing more, returns nothing */
	fake_avail(&t->f, 0, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_BROKEN);
	assert_int_equal(t->broken, 1);
	/* what was returned before the break may be signalled once, then nothing */
	virtq_should_notify(&t->q);
	assert_false(virtq_should_notify(&t->q));
}

/* virtq_fill() writes used elements unseen; virtq_flush() shows them at once. */
static void test_fill_then_flush(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);
	struct virtq_chain c[3];
	uint32_t id, len;

	for (uint16_t i = 0; i < 3; i++) {
		fake_desc(&t->f, 0, i, FAKE_DATA + 0x1000ULL * i, 100, VIRTQ_DESC_F_WRITE, 0);
		fake_avail(&t->f, 0, i);
		assert_int_equal(virtq_pop(&t->q, &c[i]), VIRTQ_POP_CHAIN);
	}
	virtq_fill(&t->q, &c[0], 100);
	virtq_fill(&t->q, &c[1], 100);
	assert_int_equal(fake_used_idx(&t->f, 0), 0); /* not yet the driver's */
	virtq_fill(&t->q, &c[2], 40);
	virtq_flush(&t->q);
	assert_int_equal(fake_used_idx(&t->f, 0), 3);
	for (uint16_t i = 0; i < 3; i++) {
		fake_used(&t->f, 0, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 100 : 40);
	}
	qt_free(t);
}

static void test_simple_chain(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);
	uint32_t id, len;

	memcpy(fake_ptr(&t->f, FAKE_DATA, 5), "hello", 5);
	fake_desc(&t->f, 0, 3, FAKE_DATA, 5, VIRTQ_DESC_F_NEXT, 6);
	fake_desc(&t->f, 0, 6, FAKE_DATA + 0x1000, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, 0, 1, FAKE_DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	fake_avail(&t->f, 0, 3);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
	assert_int_equal(t->c.head, 3);
	assert_int_equal(t->c.n_out, 1);
	assert_int_equal(t->c.n_in, 2);
	assert_int_equal(t->c.out_len, 5);
	assert_int_equal(t->c.in_len, 101);
	assert_ptr_equal(t->c.iov[0].iov_base, fake_ptr(&t->f, FAKE_DATA, 5));
	assert_ptr_equal(t->c.iov[2].iov_base, fake_ptr(&t->f, FAKE_DATA + 0x2000, 1));
	{
		char buf[8] = {0};

		assert_int_equal(virtq_chain_read(&t->c, 1, buf, sizeof(buf)), 4);
		assert_string_equal(buf, "ello");
		assert_int_equal(virtq_chain_write(&t->c, 98, "xyz", 3), 3);
		assert_memory_equal(fake_ptr(&t->f, FAKE_DATA + 0x1000 + 98, 2), "xy", 2);
		assert_int_equal(*fake_ptr(&t->f, FAKE_DATA + 0x2000, 1), 'z');
	}
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	virtq_push(&t->q, &t->c, 1000); /* more than writable: clamped */
	assert_int_equal(fake_used_idx(&t->f, 0), 1);
	fake_used(&t->f, 0, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 101);
	virtq_notify(&t->q);
	assert_int_equal(t->interrupts, 1);
	assert_int_equal(t->broken, 0);
	qt_free(t);
}

static void test_indirect_chain(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, true);
	uint64_t table = FAKE_DATA + 0x8000;

	fake_desc_at(&t->f, table, 0, FAKE_DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	fake_desc_at(&t->f, table, 2, FAKE_DATA + 0x100, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc_at(&t->f, table, 1, FAKE_DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	/* a direct buffer first, then the indirect table (no NEXT on it) */
	fake_desc(&t->f, 0, 0, FAKE_DATA + 0x800, 8, VIRTQ_DESC_F_NEXT, 5);
	fake_desc(&t->f, 0, 5, table, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 2);
	assert_int_equal(t->c.out_len, 24);
	assert_int_equal(t->c.in_len, 513);
	assert_int_equal(t->broken, 0);
	qt_free(t);
}

/* 70000 requests through a queue of 4: both 16-bit indices wrap. */
static void test_index_wrap(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 4, true, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 70000; i++) {
		fake_avail(&t->f, 0, 0);
		assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
		virtq_push(&t->q, &t->c, 4);
	}
	assert_int_equal(fake_used_idx(&t->f, 0), (uint16_t)70000);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	assert_int_equal(t->broken, 0);
	qt_free(t);
}

static void test_full_ring_is_fine(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	for (unsigned i = 0; i < 8; i++) {
		fake_desc(&t->f, 0, i, FAKE_DATA + 64 * i, 64, VIRTQ_DESC_F_WRITE, 0);
		fake_avail(&t->f, 0, (uint16_t)i);
	}
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
		assert_int_equal(t->c.head, i);
	}
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	qt_free(t);
}

/* ---- notification suppression */

static void test_no_interrupt_flag(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
	virtq_push(&t->q, &t->c, 0);
	fake_avail_flags(&t->f, 0, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_notify(&t->q);
	assert_int_equal(t->interrupts, 0);
	fake_avail_flags(&t->f, 0, 0);
	virtq_notify(&t->q);
	assert_int_equal(t->interrupts, 1);
	qt_free(t);
}

static void test_event_idx(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, true, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	/* An empty pop asks the driver to notify at the next buffer. */
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	assert_int_equal(fake_avail_event(&t->f, 0), 0);
	/* the driver wants an interrupt only once used->idx passes 3 (used_event 2) */
	fake_used_event(&t->f, 0, 2);
	for (unsigned i = 0; i < 4; i++) {
		fake_avail(&t->f, 0, 0);
		assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
		virtq_push(&t->q, &t->c, 4);
		if (i == 0) {
			assert_true(virtq_should_notify(&t->q)); /* first one always */
			continue;
		}
		/* used idx now i + 1: notify exactly when it moves past used_event 2 */
		assert_int_equal(virtq_should_notify(&t->q), i + 1 == 3);
	}
	/* batched: used idx 4 -> 6 crosses used_event 5 */
	fake_used_event(&t->f, 0, 5);
	for (unsigned i = 0; i < 2; i++) {
		fake_avail(&t->f, 0, 0);
		assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
		virtq_push(&t->q, &t->c, 4);
	}
	assert_true(virtq_should_notify(&t->q));
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_EMPTY);
	assert_int_equal(fake_avail_event(&t->f, 0), 6);
	qt_free(t);
}

/* ---- enabling a queue */

static void test_enable_checks(void **state)
{
	struct fake f;
	struct virtq q;
	static const struct {
		uint16_t num;
		uint64_t desc, avail, used;
		const char *what;
	} bad[] = {
		{0, 0x1000, 0x2000, 0x3000, "power of 2"},
		{6, 0x1000, 0x2000, 0x3000, "power of 2"},
		{512, 0x1000, 0x2000, 0x3000, "power of 2"},
		{8, 0x1008, 0x2000, 0x3000, "aligned"},
		{8, 0x1000, 0x2001, 0x3000, "aligned"},
		{8, 0x1000, 0x2000, 0x3002, "aligned"},
		{8, 4 * FAKE_MIB - 64, 0x2000, 0x3000, "not all guest RAM"},
		{8, 0x1000, 4 * FAKE_MIB - 16, 0x3000, "not all guest RAM"},
		{8, 0x1000, 0x2000, 0xfffffffffffff000ULL, "not all guest RAM"},
	};

	fake_init(&f, 4 * FAKE_MIB);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		virtq_init(&q, 0, &f.vm, NULL);
		q.num = bad[i].num;
		q.desc_gpa = bad[i].desc;
		q.avail_gpa = bad[i].avail;
		q.used_gpa = bad[i].used;
		assert_int_equal(virtq_enable(&q, false, false), -1);
		if (!strstr(err_msg(), bad[i].what))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err_msg(), bad[i].what);
		assert_false(q.ready);
		assert_int_equal(virtq_pop(&q, NULL), VIRTQ_POP_EMPTY);
	}
	fake_free(&f);
}

/* ---- hostile chains: each breaks the queue once */

static void test_loop(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, 0, 1, FAKE_DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "a loop");
	qt_free(t);
}

static void test_self_loop(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 2, FAKE_DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	fake_avail(&t->f, 0, 2);
	expect_broken(t, "a loop");
	qt_free(t);
}

static void test_next_out_of_range(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_NEXT, 8);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "beyond its table");
	qt_free(t);
}

static void test_head_out_of_range(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_avail(&t->f, 0, 0xffff);
	expect_broken(t, "head 65535");
	qt_free(t);
}

static void test_outside_ram(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{4 * FAKE_MIB, 1},                  /* just past the end */
		{4 * FAKE_MIB - 8, 16},             /* straddles the end */
		{0, 0xffffffffu},                   /* 4 GiB - 1 from 0 */
		{0xfffffffffffffff0ULL, 0x20},      /* addr + len wraps 64 bits */
		{0xffffffffffffffffULL, 1},
		{LAYOUT_LAPIC, 4},                  /* the MMIO hole, with little RAM */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

		fake_desc(&t->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_NEXT, 1);
		fake_desc(&t->f, 0, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		fake_avail(&t->f, 0, 0);
		expect_broken(t, "is not guest RAM");
		qt_free(t);
	}
}

/*
 * RAM larger than the 32-bit hole: buffers below it and above 4 GiB are
 * fine; one in the hole, or running from low RAM into it, is not.  The
 * mapping is MAP_NORESERVE, so 3 GiB + 64 MiB costs only what is touched.
 */
static void test_mmio_hole(void **state)
{
	uint64_t ram = LAYOUT_HOLE_START + 64 * FAKE_MIB;
	static const struct {
		uint64_t addr;
		uint32_t len;
		bool ok;
	} cases[] = {
		{LAYOUT_HOLE_START - 16, 16, true},
		{LAYOUT_HOLE_END, 4096, true},
		{LAYOUT_HOLE_END + 64 * FAKE_MIB - 8, 8, true},
		{LAYOUT_HOLE_START - 16, 32, false},      /* runs into the hole */
		{LAYOUT_HOLE_START, 16, false},
		{LAYOUT_IOAPIC, 4, false},
		{LAYOUT_HOLE_END - 8, 16, false},         /* from the hole into high RAM */
		{LAYOUT_HOLE_END + 64 * FAKE_MIB - 8, 16, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qt *t = qt_new(ram, 8, false, false);

		fake_desc(&t->f, 0, 0, cases[i].addr, cases[i].len, VIRTQ_DESC_F_WRITE, 0);
		fake_avail(&t->f, 0, 0);
		if (cases[i].ok) {
			assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
			assert_int_equal(t->c.in_len, cases[i].len);
		} else {
			expect_broken(t, "is not guest RAM");
		}
		qt_free(t);
	}
}

static void test_zero_length(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, 0, 1, FAKE_DATA, 0, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "length 0");
	qt_free(t);
}

/* Two buffers of 3 GiB - 64 KiB each, both real RAM: 4 GiB or more in all. */
static void test_4gib_total(void **state)
{
	struct qt *t = qt_new(LAYOUT_HOLE_START, 8, false, false);
	uint32_t big = (uint32_t)(LAYOUT_HOLE_START - 0x100000);

	fake_desc(&t->f, 0, 0, 0x100000, big, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, 0, 1, 0x100000, big, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "4 GiB");
	qt_free(t);
}

static void test_readable_after_writable(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, 0, 1, FAKE_DATA, 16, 0, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "follows a device-writable");
	qt_free(t);
}

static void test_too_many_avail(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_set_avail_idx(&t->f, 0, 9); /* 9 buffers in a ring of 8 */
	expect_broken(t, "more buffers than the ring");
	qt_free(t);
}

static void test_too_many_avail_after_use(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 3; i++) {
		fake_avail(&t->f, 0, 0);
		assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
		virtq_push(&t->q, &t->c, 0);
	}
	fake_set_avail_idx(&t->f, 0, 2); /* moved backwards: 65535 ahead */
	expect_broken(t, "more buffers than the ring");
	qt_free(t);
}

static void test_nested_indirect(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, true);
	uint64_t t1 = FAKE_DATA + 0x8000, t2 = FAKE_DATA + 0x9000;

	fake_desc_at(&t->f, t2, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_desc_at(&t->f, t1, 0, FAKE_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_desc_at(&t->f, t1, 1, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_desc(&t->f, 0, 0, t1, 32, VIRTQ_DESC_F_INDIRECT, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "nesting is forbidden");
	qt_free(t);
}

static void test_indirect_not_negotiated(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc_at(&t->f, FAKE_DATA + 0x8000, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_desc(&t->f, 0, 0, FAKE_DATA + 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "not negotiated");
	qt_free(t);
}

static void test_indirect_bad_tables(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		const char *what;
	} bad[] = {
		{FAKE_DATA + 0x8000, 0, 0, "not a non-zero multiple of 16"},
		{FAKE_DATA + 0x8000, 24, 0, "not a non-zero multiple of 16"},
		{FAKE_DATA + 0x8000, 16, VIRTQ_DESC_F_NEXT, "also has NEXT"},
		{4 * FAKE_MIB - 16, 32, 0, "is not guest RAM"},
		{LAYOUT_IOAPIC, 16, 0, "is not guest RAM"},
		{FAKE_DATA + 0x8000, 0xfffffff0u, 0, "is not guest RAM"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qt *t = qt_new(4 * FAKE_MIB, 8, false, true);

		fake_desc_at(&t->f, FAKE_DATA + 0x8000, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
		fake_desc(&t->f, 0, 0, bad[i].addr, bad[i].len,
			  VIRTQ_DESC_F_INDIRECT | bad[i].flags, 1);
		fake_desc(&t->f, 0, 1, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
		fake_avail(&t->f, 0, 0);
		expect_broken(t, bad[i].what);
		qt_free(t);
	}
}

static void test_indirect_loop(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, true);
	uint64_t tb = FAKE_DATA + 0x8000;

	fake_desc_at(&t->f, tb, 0, FAKE_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_desc_at(&t->f, tb, 1, FAKE_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	fake_desc(&t->f, 0, 0, tb, 32, VIRTQ_DESC_F_INDIRECT, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "a loop");
	qt_free(t);
}

/* An indirect table of 16 chained buffers on a queue of 8: longer than the queue. */
static void test_indirect_longer_than_queue(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, true);
	uint64_t tb = FAKE_DATA + 0x8000;

	for (unsigned i = 0; i < 16; i++)
		fake_desc_at(&t->f, tb, i, FAKE_DATA, 16, i < 15 ? VIRTQ_DESC_F_NEXT : 0,
			     (uint16_t)(i + 1));
	fake_desc(&t->f, 0, 0, tb, 16 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_avail(&t->f, 0, 0);
	expect_broken(t, "more than 8 buffers");
	qt_free(t);
}

/* Buffers returned before the queue broke are still signalled, once. */
static void test_notify_across_break(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	fake_desc(&t->f, 0, 1, FAKE_DATA, 0, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	fake_avail(&t->f, 0, 1);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
	virtq_push(&t->q, &t->c, 8);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_BROKEN);
	virtq_push(&t->q, &t->c, 8); /* ignored: the queue is broken */
	assert_int_equal(fake_used_idx(&t->f, 0), 1);
	virtq_notify(&t->q);
	assert_int_equal(t->interrupts, 1);
	virtq_notify(&t->q);
	assert_int_equal(t->interrupts, 1);
	qt_free(t);
}

static void test_reset_recovers(void **state)
{
	struct qt *t = qt_new(4 * FAKE_MIB, 8, false, false);

	fake_desc(&t->f, 0, 0, FAKE_DATA, 0, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_BROKEN);
	virtq_reset(&t->q);
	assert_false(t->q.ready);
	assert_false(t->q.broken);
	/* the driver sets the ring up again, correctly */
	memset(fake_ptr(&t->f, FAKE_RING(0), 0x3000), 0, 0x3000);
	t->f.avail_idx[0] = 0;
	t->q.num = 8;
	t->q.desc_gpa = FAKE_RING(0);
	t->q.avail_gpa = FAKE_RING(0) + 0x1000;
	t->q.used_gpa = FAKE_RING(0) + 0x2000;
	assert_int_equal(virtq_enable(&t->q, false, false), 0);
	fake_desc(&t->f, 0, 0, FAKE_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, 0, 0);
	assert_int_equal(virtq_pop(&t->q, &t->c), VIRTQ_POP_CHAIN);
	assert_int_equal(t->broken, 1);
	qt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_chain),
		cmocka_unit_test(test_fill_then_flush),
		cmocka_unit_test(test_indirect_chain),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_full_ring_is_fine),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_self_loop),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_outside_ram),
		cmocka_unit_test(test_mmio_hole),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_4gib_total),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_too_many_avail),
		cmocka_unit_test(test_too_many_avail_after_use),
		cmocka_unit_test(test_nested_indirect),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_bad_tables),
		cmocka_unit_test(test_indirect_loop),
		cmocka_unit_test(test_indirect_longer_than_queue),
		cmocka_unit_test(test_notify_across_break),
		cmocka_unit_test(test_reset_recovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
