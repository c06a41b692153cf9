/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk through the virtio-mmio transport, against an image in a
 * memfd: reads and writes land where the sector says (checked with pread
 * on the image), read-only disks refuse writes with IOERR and leave the
 * bytes alone, sector bounds hold in 64 bits, flush really calls
 * fdatasync (a backend where it fails answers IOERR), GET_ID, unknown
 * types, and malformed requests.  Also the pure parser on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_virtio_fake.h"
#include "virtio/blk.h"

#define SECTORS 64
#define HDR FAKE_DATA
#define STATUS (FAKE_DATA + 0x100)
#define BUF (FAKE_DATA + 0x1000)

struct bt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	int fd; /* the test's view of the image */
};

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static struct bt *bt_new_fd(int fd, bool ro, uint64_t mask)
{
	struct bt *b = calloc(1, sizeof(*b));
	struct virtio_dev *d;

	assert_non_null(b);
	b->fd = fd;
	fake_init(&b->f, 4 * FAKE_MIB);
	fake_host_init(&b->fh);
	d = virtio_blk_new(&(struct virtio_blk_opts){.name = "virtio-blk0", .fd = fd, .ro = ro,
						      .id = "serial-0123456789abcdef"});
	if (!d)
		fail_msg("virtio_blk_new: %s", err_msg());
	b->t = virtio_mmio_new(d, &b->f.vm, &b->fh.h);
	assert_non_null(b->t);
	mmio_bring_up(b->t, &b->f, 1, mask);
	return b;
}

static struct bt *bt_new(bool ro, uint64_t mask)
{
	int fd = memfd_create("disk", 0);
	uint8_t img[SECTORS * 512];

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = pattern(i);
	assert_int_equal(pwrite(fd, img, sizeof(img), 0), sizeof(img));
	return bt_new_fd(fd, ro, mask);
}

static void bt_free(struct bt *b)
{
	virtio_mmio_free(b->t);
	close(b->fd);
	fake_free(&b->f);
	free(b);
}

/*
 * One request: header, data (split into two descriptors when `split`),
 * status.  Returns the status byte; *used_len gets the used length.
 */
static uint8_t submit(struct bt *b, uint32_t type, uint64_t sector, uint32_t len, bool data_in,
		      bool split, uint32_t *used_len)
{
	uint8_t hdr[16] = {0};
	uint16_t wr = data_in ? VIRTQ_DESC_F_WRITE : 0, n = 0;
	uint32_t id, ulen;
	uint16_t before = fake_used_idx(&b->f, 0);

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(fake_ptr(&b->f, HDR, 16), hdr, 16);
	*fake_ptr(&b->f, STATUS, 1) = 0xee;
	fake_desc(&b->f, 0, n, HDR, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
	n++;
	if (len && split && len > 512) {
		fake_desc(&b->f, 0, n, BUF, 512, wr | VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
		n++;
		fake_desc(&b->f, 0, n, BUF + 512, len - 512, wr | VIRTQ_DESC_F_NEXT,
			  (uint16_t)(n + 1));
		n++;
	} else if (len) {
		fake_desc(&b->f, 0, n, BUF, len, wr | VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
		n++;
	}
	fake_desc(&b->f, 0, n, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&b->f, 0, 0);
	mmio_wr(b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&b->f, 0), (uint16_t)(before + 1));
	fake_used(&b->f, 0, before, &id, &ulen);
	assert_int_equal(id, 0);
	if (used_len)
		*used_len = ulen;
	return *fake_ptr(&b->f, STATUS, 1);
}

static void test_read(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	uint32_t ulen;
	const uint8_t *p;

	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 5, 3 * 512, true, true, &ulen),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 3 * 512 + 1);
	p = fake_ptr(&b->f, BUF, 3 * 512);
	for (unsigned i = 0; i < 3 * 512; i++)
		if (p[i] != pattern(5 * 512 + i))
			fail_msg("byte %u of the read: 0x%02x, image has 0x%02x", i, p[i],
				 pattern(5 * 512 + i));
	/* the last sector exactly */
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, SECTORS - 1, 512, true, false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(*fake_ptr(&b->f, BUF + 511, 1), pattern(SECTORS * 512 - 1));
	assert_int_equal(b->fh.logs, 0);
	assert_true(b->fh.irq_raised >= 1);
	bt_free(b);
}

static void test_write(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	uint8_t back[1024];
	uint32_t ulen;

	memset(fake_ptr(&b->f, BUF, 1024), 0xc3, 1024);
	assert_int_equal(submit(b, VIRTIO_BLK_T_OUT, 10, 1024, false, true, &ulen),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1);
	assert_int_equal(pread(b->fd, back, sizeof(back), 10 * 512), sizeof(back));
	for (unsigned i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0xc3);
	/* neighbours untouched */
	assert_int_equal(pread(b->fd, back, 1, 10 * 512 - 1), 1);
	assert_int_equal(back[0], pattern(10 * 512 - 1));
	assert_int_equal(pread(b->fd, back, 1, 12 * 512), 1);
	assert_int_equal(back[0], pattern(12 * 512));
	/* and it reads back through the device */
	memset(fake_ptr(&b->f, BUF, 1024), 0, 1024);
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 11, 512, true, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*fake_ptr(&b->f, BUF + 100, 1), 0xc3);
	assert_int_equal(submit(b, VIRTIO_BLK_T_FLUSH, 0, 0, false, false, NULL), VIRTIO_BLK_S_OK);
	bt_free(b);
}

/* Not negotiating FLUSH: writes still complete (write-through, fdatasync each). */
static void test_write_through(void **state)
{
	struct bt *b = bt_new(false, ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	uint8_t back;

	assert_int_equal(virtio_mmio_dev(b->t)->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH), 0);
	memset(fake_ptr(&b->f, BUF, 512), 0x11, 512);
	assert_int_equal(submit(b, VIRTIO_BLK_T_OUT, 0, 512, false, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(b->fd, &back, 1, 0), 1);
	assert_int_equal(back, 0x11);
	bt_free(b);
}

static void test_read_only(void **state)
{
	struct bt *b = bt_new(true, ~0ULL);
	uint8_t back[512];

	assert_true(virtio_mmio_dev(b->t)->features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	memset(fake_ptr(&b->f, BUF, 512), 0x99, 512);
	/* the fd is writable: the device itself must refuse */
	assert_int_equal(submit(b, VIRTIO_BLK_T_OUT, 3, 512, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(b->fd, back, sizeof(back), 3 * 512), sizeof(back));
	for (unsigned i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], pattern(3 * 512 + i));
	/* reads and flush still work */
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 3, 512, true, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*fake_ptr(&b->f, BUF, 1), pattern(3 * 512));
	assert_int_equal(submit(b, VIRTIO_BLK_T_FLUSH, 0, 0, false, false, NULL), VIRTIO_BLK_S_OK);
	/* a refused write is not a hostile guest: no reset, no report */
	assert_int_equal(virtio_mmio_status(b->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	assert_int_equal(b->fh.logs, 0);
	bt_free(b);
}

/* A read-only image opened O_RDONLY (as the VMM does) also works. */
static void test_read_only_fd(void **state)
{
	char path[] = "/tmp/skyvm-virtio-blk-XXXXXX";
	int w = mkstemp(path), r;
	struct bt *b;

	assert_true(w >= 0);
	assert_int_equal(ftruncate(w, 8 * 512), 0);
	r = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(r >= 0);
	unlink(path);
	close(w);
	b = bt_new_fd(r, true, ~0ULL);
	assert_int_equal(virtio_blk_capacity(virtio_mmio_dev(b->t)), 8);
	assert_int_equal(submit(b, VIRTIO_BLK_T_OUT, 0, 512, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 7, 512, true, false, NULL), VIRTIO_BLK_S_OK);
	bt_free(b);
}

static void test_bounds(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
	} bad[] = {
		{VIRTIO_BLK_T_IN, SECTORS, 512},
		{VIRTIO_BLK_T_IN, SECTORS - 1, 1024},
		{VIRTIO_BLK_T_IN, UINT64_MAX, 512},
		{VIRTIO_BLK_T_IN, UINT64_MAX / 512, 1024},      /* sector * 512 wraps */
		{VIRTIO_BLK_T_OUT, (1ULL << 55), 512},
		{VIRTIO_BLK_T_OUT, SECTORS - 1, 1024},
		{VIRTIO_BLK_T_IN, 0, 511},                      /* not whole sectors */
		{VIRTIO_BLK_T_OUT, 0, 513},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t s = submit(b, bad[i].type, bad[i].sector, bad[i].len,
				   bad[i].type == VIRTIO_BLK_T_IN, false, NULL);

		if (s != VIRTIO_BLK_S_IOERR)
			fail_msg("case %zu: status %u, expected IOERR", i, s);
	}
	/* a zero-length read at the capacity is in bounds */
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, SECTORS, 0, true, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(b->fh.logs, 0);
	bt_free(b);
}

/* /dev/null: capacity 0, and fdatasync fails with EINVAL, so flush must say IOERR. */
static void test_flush_reaches_fdatasync(void **state)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct bt *b;

	assert_true(fd >= 0);
	assert_true(fdatasync(fd) < 0);
	b = bt_new_fd(fd, false, ~0ULL);
	assert_int_equal(virtio_blk_capacity(virtio_mmio_dev(b->t)), 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_FLUSH, 0, 0, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 0, 512, true, false, NULL), VIRTIO_BLK_S_IOERR);
	bt_free(b);
}

static void test_get_id(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	uint32_t ulen;

	memset(fake_ptr(&b->f, BUF, 32), 0xff, 32);
	assert_int_equal(submit(b, VIRTIO_BLK_T_GET_ID, 0, 20, true, false, &ulen), VIRTIO_BLK_S_OK);
	assert_memory_equal(fake_ptr(&b->f, BUF, 20), "serial-0123456789abc", 20);
	assert_int_equal(*fake_ptr(&b->f, BUF + 20, 1), 0xff);
	bt_free(b);
}

static void test_get_id_short_name(void **state)
{
	int fd = memfd_create("disk", 0);
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	struct bt b;

	assert_int_equal(ftruncate(fd, 4096), 0);
	fake_init(&f, 4 * FAKE_MIB);
	fake_host_init(&fh);
	t = virtio_mmio_new(virtio_blk_new(&(struct virtio_blk_opts){.name = "disk1", .fd = fd}),
			    &f.vm, &fh.h);
	assert_non_null(t);
	mmio_bring_up(t, &f, 1, ~0ULL);
	b.f = f;
	b.t = t;
	memset(fake_ptr(&f, BUF, 20), 0xff, 20);
	assert_int_equal(submit(&b, VIRTIO_BLK_T_GET_ID, 0, 20, true, false, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(fake_ptr(&f, BUF, 6), "disk1\0", 6); /* NUL padded */
	assert_int_equal(*fake_ptr(&f, BUF + 19, 1), 0);
	virtio_mmio_free(t);
	close(fd);
	fake_free(&f);
}

static void test_unsupported(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);

	assert_int_equal(submit(b, 0xdeadbeef, 0, 0, false, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(submit(b, 2, 0, 0, false, false, NULL), VIRTIO_BLK_S_UNSUPP);
	bt_free(b);
}

/* Ranges for DISCARD / WRITE_ZEROES at BUF. */
static void put_range(struct bt *b, unsigned i, uint64_t sector, uint32_t sectors, uint32_t flags)
{
	uint8_t *p = fake_ptr(&b->f, BUF + 16ULL * i, 16);

	memcpy(p, &sector, 8);
	memcpy(p + 8, &sectors, 4);
	memcpy(p + 12, &flags, 4);
}

static void expect_image(struct bt *b, uint64_t from, uint64_t to, bool zero)
{
	uint8_t buf[SECTORS * 512];

	assert_int_equal(pread(b->fd, buf, sizeof(buf), 0), sizeof(buf));
	for (uint64_t i = from * 512; i < to * 512; i++) {
		uint8_t want = zero ? 0 : pattern(i);

		if (buf[i] != want)
			fail_msg("image byte %llu is 0x%02x, expected 0x%02x",
				 (unsigned long long)i, buf[i], want);
	}
}

static void test_write_zeroes(void **state)
{
	for (int unmap = 0; unmap <= 1; unmap++) {
		struct bt *b = bt_new(false, ~0ULL);

		assert_true(virtio_mmio_dev(b->t)->features &
			    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
		put_range(b, 0, 4, 3, unmap ? VIRTIO_BLK_RANGE_F_UNMAP : 0);
		put_range(b, 1, 20, 1, 0);
		assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false, false, NULL),
				 VIRTIO_BLK_S_OK);
		expect_image(b, 0, 4, false);
		expect_image(b, 4, 7, true);
		expect_image(b, 7, 20, false);
		expect_image(b, 20, 21, true);
		expect_image(b, 21, SECTORS, false);
		/* and the device reads zeros there too */
		memset(fake_ptr(&b->f, BUF, 512), 0xff, 512);
		assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 5, 512, true, false, NULL),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(*fake_ptr(&b->f, BUF + 7, 1), 0);
		bt_free(b);
	}
}

/* On a file of its own (not tmpfs), where FALLOC_FL_ZERO_RANGE may work. */
static void test_write_zeroes_file(void **state)
{
	char path[] = "/tmp/skyvm-virtio-wz-XXXXXX";
	int fd = mkstemp(path);
	uint8_t img[SECTORS * 512];
	struct bt *b;

	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = pattern(i);
	assert_int_equal(pwrite(fd, img, sizeof(img), 0), sizeof(img));
	b = bt_new_fd(fd, false, ~0ULL);
	put_range(b, 0, 8, 16, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_OK);
	expect_image(b, 0, 8, false);
	expect_image(b, 8, 24, true);
	expect_image(b, 24, SECTORS, false);
	put_range(b, 0, 30, 2, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_DISCARD, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_OK);
	expect_image(b, 24, 30, false); /* a discard's own sectors may read anything */
	expect_image(b, 32, SECTORS, false);
	bt_free(b);
}

static void test_discard(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);

	put_range(b, 0, 8, 8, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_DISCARD, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_OK);
	expect_image(b, 0, 8, false);
	expect_image(b, 16, SECTORS, false);
	bt_free(b);
}

static void test_ranges_refused(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t sectors, flags;
		unsigned n;
		uint8_t status;
	} bad[] = {
		{VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_RANGE_F_UNMAP, 1, VIRTIO_BLK_S_UNSUPP},
		{VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 2, 1, VIRTIO_BLK_S_UNSUPP},
		{VIRTIO_BLK_T_DISCARD, 0, 1, 0x80000000u, 1, VIRTIO_BLK_S_UNSUPP},
		{VIRTIO_BLK_T_WRITE_ZEROES, SECTORS, 1, 0, 1, VIRTIO_BLK_S_IOERR},
		{VIRTIO_BLK_T_WRITE_ZEROES, SECTORS - 1, 2, 0, 1, VIRTIO_BLK_S_IOERR},
		{VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0, 1, VIRTIO_BLK_S_IOERR},
		{VIRTIO_BLK_T_DISCARD, 0, VIRTIO_BLK_MAX_RANGE_SECTORS + 1, 0, 1, VIRTIO_BLK_S_IOERR},
		{VIRTIO_BLK_T_DISCARD, 0, 1, 0, VIRTIO_BLK_MAX_RANGES + 1, VIRTIO_BLK_S_IOERR},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t s;

		for (unsigned k = 0; k < bad[i].n; k++)
			put_range(b, k, bad[i].sector, bad[i].sectors, bad[i].flags);
		s = submit(b, bad[i].type, 0, 16 * bad[i].n, false, false, NULL);
		if (s != bad[i].status)
			fail_msg("case %zu: status %u, expected %u", i, s, bad[i].status);
	}
	/* not whole ranges */
	put_range(b, 0, 0, 1, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 24, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	expect_image(b, 0, SECTORS, false);
	bt_free(b);
}

static void test_ranges_not_negotiated_or_ro(void **state)
{
	struct bt *b = bt_new(false, ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
				       VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)));

	put_range(b, 0, 0, 4, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(submit(b, VIRTIO_BLK_T_DISCARD, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	expect_image(b, 0, SECTORS, false);
	bt_free(b);

	b = bt_new(true, ~0ULL);
	assert_int_equal(mmio_device_features(b->t) & (VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
						       VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)), 0);
	put_range(b, 0, 0, 4, 0);
	assert_int_equal(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(b, VIRTIO_BLK_T_DISCARD, 0, 16, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	expect_image(b, 0, SECTORS, false);
	bt_free(b);
}

/* No status byte to answer in: the queue breaks (DEVICE_NEEDS_RESET), once. */
static void test_unanswerable(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	int irqs;

	/* a good request, then one without a status byte, in one notify */
	assert_int_equal(submit(b, VIRTIO_BLK_T_IN, 0, 512, true, false, NULL), VIRTIO_BLK_S_OK);
	mmio_wr(b->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	fake_used_event(&b->f, 0, 1); /* as Linux does: interrupt after used entry 1 */
	irqs = b->fh.irq_raised;
	fake_desc(&b->f, 0, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&b->f, 0, 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_desc(&b->f, 0, 4, HDR, 16, 0, 0);
	fake_avail(&b->f, 0, 0);
	fake_avail(&b->f, 0, 4);
	mmio_wr(b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&b->f, 0), 2); /* the good one was answered */
	assert_int_equal(b->fh.irq_raised, irqs + 2); /* its interrupt, then the config one */
	assert_int_equal(mmio_rd(b->t, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_true(virtio_mmio_status(b->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	bt_free(b);
	b = bt_new(false, ~0ULL);

	fake_desc(&b->f, 0, 0, HDR, 16, 0, 0);
	fake_avail(&b->f, 0, 0);
	mmio_wr(b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(virtio_mmio_status(b->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(b->fh.logs, 1);
	assert_non_null(strstr(b->fh.last_log, "no writable status byte"));
	bt_free(b);

	b = bt_new(false, ~0ULL);
	fake_desc(&b->f, 0, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&b->f, 0, 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&b->f, 0, 0);
	mmio_wr(b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(virtio_mmio_status(b->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(strstr(b->fh.last_log, "16-byte header"));
	bt_free(b);
}

/* The header may be split across descriptors; data may share the header's. */
static void test_header_split(void **state)
{
	struct bt *b = bt_new(false, ~0ULL);
	uint32_t type = VIRTIO_BLK_T_OUT;
	uint64_t sector = 2;
	uint8_t *h = fake_ptr(&b->f, HDR, 16 + 512), back;

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	memset(h + 16, 0x42, 512);
	fake_desc(&b->f, 0, 0, HDR, 4, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&b->f, 0, 1, HDR + 4, 16 - 4 + 512, VIRTQ_DESC_F_NEXT, 2);
	fake_desc(&b->f, 0, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&b->f, 0, 0);
	mmio_wr(b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(*fake_ptr(&b->f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(b->fd, &back, 1, 2 * 512 + 511), 1);
	assert_int_equal(back, 0x42);
	bt_free(b);
}

/* The parser alone: a good chain and the status it decides on. */
static void test_parse(void **state)
{
	static uint8_t hdr[16], data[1024], status;
	struct virtq_chain c = {0};
	struct virtio_blk_req r;
	uint8_t s;
	uint32_t type = VIRTIO_BLK_T_IN;
	uint64_t sector = 6;

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	c.n_out = 1;
	c.n_in = 2;
	c.iov[0] = (struct iovec){hdr, 16};
	c.iov[1] = (struct iovec){data, 1024};
	c.iov[2] = (struct iovec){&status, 1};
	c.out_len = 16;
	c.in_len = 1025;
	assert_int_equal(virtio_blk_parse(&c, 8, false, &r, &s), VIRTIO_BLK_PARSE_OK);
	assert_int_equal(s, VIRTIO_BLK_S_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 6);
	assert_int_equal(r.data_len, 1024);
	assert_ptr_equal(r.status, &status);
	assert_int_equal(virtio_blk_parse(&c, 7, false, &r, &s), VIRTIO_BLK_PARSE_OK);
	assert_int_equal(s, VIRTIO_BLK_S_IOERR);
	c.n_in = 0;
	c.in_len = 0;
	assert_int_equal(virtio_blk_parse(&c, 8, false, &r, &s), VIRTIO_BLK_PARSE_BROKEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_through),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_read_only_fd),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_flush_reaches_fdatasync),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_get_id_short_name),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_write_zeroes),
		cmocka_unit_test(test_write_zeroes_file),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_ranges_refused),
		cmocka_unit_test(test_ranges_not_negotiated_or_ro),
		cmocka_unit_test(test_unanswerable),
		cmocka_unit_test(test_header_split),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
