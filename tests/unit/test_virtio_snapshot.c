/* SPDX-License-Identifier: MIT */
/*
 * virtio_mmio_save()/virtio_mmio_load(): a transport brought up and used, saved,
 * and loaded into a fresh transport over the same guest memory, goes on where
 * the first stopped (status, features, the queue's positions); a saved state of
 * the wrong shape is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <unistd.h>

#include "test_virtio_fake.h"
#include "virtio/rng.h"

static unsigned filled;

static ssize_t fill(void *opaque, void *buf, size_t len)
{
	memset(buf, 0x5a, len);
	filled += (unsigned)len;
	return (ssize_t)len;
}

static struct virtio_mmio *transport(struct fake *f, struct fake_host *fh)
{
	struct virtio_dev *d = virtio_rng_new(&(struct virtio_rng_opts){
		.name = "virtio-rng0", .fill = fill, .opaque = NULL });

	assert_non_null(d);
	return virtio_mmio_new(d, &f->vm, &fh->h);
}

static void request(struct fake *f, struct virtio_mmio *t, uint16_t desc)
{
	fake_desc(f, 0, desc, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(f, 0, desc);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void test_save_load_continues(void **state)
{
	struct fake f;
	struct fake_host fh1, fh2;
	struct virtio_mmio *a, *b;
	uint8_t buf[4096];
	size_t len = 0;
	uint32_t status;

	fake_init(&f, 4 * FAKE_MIB);
	fake_host_init(&fh1);
	fake_host_init(&fh2);
	a = transport(&f, &fh1);
	mmio_bring_up(a, &f, 1, ~0ULL);
	request(&f, a, 1);
	request(&f, a, 2);
	assert_int_equal(fake_used_idx(&f, 0), 2);
	status = mmio_rd(a, VIRTIO_MMIO_STATUS);
	assert_int_equal(virtio_mmio_save(a, buf, sizeof(buf), &len), 0);
	assert_int_equal(virtio_mmio_save(a, buf, 8, &len), -1); /* too small: refused */
	assert_int_equal(virtio_mmio_save(a, buf, sizeof(buf), &len), 0);

	b = transport(&f, &fh2);
	assert_int_equal(mmio_rd(b, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(virtio_mmio_load(b, buf, len), 0);
	assert_int_equal(mmio_rd(b, VIRTIO_MMIO_STATUS), status);
	assert_true(virtio_mmio_dev(b)->active);
	assert_int_equal(virtio_mmio_dev(b)->features, virtio_mmio_dev(a)->features);
	/* The next request is used at index 2 -> 3, not from 0 again. */
	filled = 0;
	request(&f, b, 3);
	assert_int_equal(filled, 16);
	assert_int_equal(fake_used_idx(&f, 0), 3);
	{
		uint32_t id, l;

		fake_used(&f, 0, 2, &id, &l);
		assert_int_equal(id, 3);
	}
	/* Wrong shapes are refused. */
	assert_int_equal(virtio_mmio_load(b, buf, len - 1), -1);
	buf[0] ^= 0xff; /* version */
	assert_int_equal(virtio_mmio_load(b, buf, len), -1);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_load_continues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
