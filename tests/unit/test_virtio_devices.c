/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng and virtio-console through the virtio-mmio transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>

#include "test_virtio_fake.h"
#include "virtio/console.h"
#include "virtio/rng.h"

struct dt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	/* rng source */
	uint8_t next;
	int fill_calls;
	bool fail;
	/* console backend */
	char out[256];
	size_t out_len;
	int rx_ready;
};

static ssize_t seq_fill(void *opaque, void *buf, size_t len)
{
	struct dt *d = opaque;
	uint8_t *p = buf;

	d->fill_calls++;
	if (d->fail) {
		errno = EIO;
		return -1;
	}
	if (len > 1000)
		len = 1000; /* short reads, as getrandom may give */
	for (size_t i = 0; i < len; i++)
		p[i] = d->next++;
	return (ssize_t)len;
}

static void con_write(void *opaque, const void *buf, size_t len)
{
	struct dt *d = opaque;

	assert_true(d->out_len + len <= sizeof(d->out));
	memcpy(d->out + d->out_len, buf, len);
	d->out_len += len;
}

static void con_rx_ready(void *opaque)
{
	((struct dt *)opaque)->rx_ready++;
}

static struct dt *dt_new(bool console)
{
	struct dt *d = calloc(1, sizeof(*d));
	struct virtio_dev *dev;

	assert_non_null(d);
	fake_init(&d->f, 4 * FAKE_MIB);
	fake_host_init(&d->fh);
	if (console)
		dev = virtio_console_new(&(struct virtio_console_opts){
			.name = "virtio-console0",
			.ops = {.opaque = d, .write = con_write, .rx_ready = con_rx_ready}});
	else
		dev = virtio_rng_new(&(struct virtio_rng_opts){.name = "virtio-rng0",
							       .fill = seq_fill, .opaque = d});
	assert_non_null(dev);
	d->t = virtio_mmio_new(dev, &d->f.vm, &d->fh.h);
	assert_non_null(d->t);
	mmio_bring_up(d->t, &d->f, console ? 2 : 1, ~0ULL);
	return d;
}

static void dt_free(struct dt *d)
{
	virtio_mmio_free(d->t);
	fake_free(&d->f);
	free(d);
}

static uint32_t used_len(struct dt *d, unsigned q, uint16_t slot)
{
	uint32_t id, len;

	fake_used(&d->f, q, slot, &id, &len);
	return len;
}

static void test_rng_fills(void **state)
{
	struct dt *d = dt_new(false);
	const uint8_t *p;

	/* 3000 bytes in two descriptors: the source's short reads are retried */
	fake_desc(&d->f, 0, 0, FAKE_DATA, 1000, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&d->f, 0, 1, FAKE_DATA + 4096, 2000, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&d->f, 0, 0);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&d->f, 0), 1);
	assert_int_equal(used_len(d, 0, 0), 3000);
	p = fake_ptr(&d->f, FAKE_DATA, 1000);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(p[i], (uint8_t)i);
	assert_int_equal(*fake_ptr(&d->f, FAKE_DATA + 4096 + 1999, 1), (uint8_t)2999);
	assert_int_equal(d->fh.irq_raised, 1);
	dt_free(d);
}

static void test_rng_limits(void **state)
{
	struct dt *d = dt_new(false);

	/* readable-only chain: nothing to fill, returned with 0 */
	fake_desc(&d->f, 0, 0, FAKE_DATA, 64, 0, 0);
	fake_avail(&d->f, 0, 0);
	/* a 1 MiB buffer: filled up to the 64 KiB cap */
	fake_desc(&d->f, 0, 1, FAKE_DATA, 1 << 20, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&d->f, 0, 1);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&d->f, 0), 2);
	assert_int_equal(used_len(d, 0, 0), 0);
	assert_int_equal(used_len(d, 0, 1), VIRTIO_RNG_MAX_FILL);
	/* a failing source: the buffer comes back with what was filled (0) */
	d->fail = true;
	fake_desc(&d->f, 0, 2, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&d->f, 0, 2);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&d->f, 0), 3);
	assert_int_equal(used_len(d, 0, 2), 0);
	assert_int_equal(d->fh.logs, 0);
	dt_free(d);
}

static void test_rng_getrandom(void **state)
{
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	uint8_t zero[256] = {0};

	fake_init(&f, 4 * FAKE_MIB);
	fake_host_init(&fh);
	t = virtio_mmio_new(virtio_rng_new(&(struct virtio_rng_opts){.name = "virtio-rng0"}), &f.vm,
			    &fh.h);
	assert_non_null(t);
	mmio_bring_up(t, &f, 1, ~0ULL);
	fake_desc(&f, 0, 0, FAKE_DATA, 256, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&f, 0, 0);
	mmio_wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&f, 0), 1);
	/* 256 random bytes all zero: probability 2^-2048 */
	assert_memory_not_equal(fake_ptr(&f, FAKE_DATA, 256), zero, 256);
	virtio_mmio_free(t);
	fake_free(&f);
}

static void test_console_tx(void **state)
{
	struct dt *d = dt_new(true);

	memcpy(fake_ptr(&d->f, FAKE_DATA, 6), "hello ", 6);
	memcpy(fake_ptr(&d->f, FAKE_DATA + 64, 5), "hvc0\n", 5);
	fake_desc(&d->f, 1, 0, FAKE_DATA, 6, VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&d->f, 1, 1, FAKE_DATA + 64, 5, 0, 0);
	fake_avail(&d->f, 1, 0);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(d->out_len, 11);
	assert_memory_equal(d->out, "hello hvc0\n", 11);
	assert_int_equal(fake_used_idx(&d->f, 1), 1);
	assert_int_equal(used_len(d, 1, 0), 0);
	assert_int_equal(d->fh.irq_raised, 1);
	dt_free(d);
}

static void test_console_rx(void **state)
{
	struct dt *d = dt_new(true);
	struct virtio_dev *dev = virtio_mmio_dev(d->t);

	/* DRIVER_OK told the backend to offer input; no receive buffers yet: nothing taken */
	assert_int_equal(d->rx_ready, 1);
	assert_int_equal(virtio_console_input(dev, "abc", 3), 0);
	/* the guest adds two 4-byte buffers and notifies: the backend is told */
	fake_desc(&d->f, 0, 0, FAKE_DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	fake_desc(&d->f, 0, 1, FAKE_DATA + 16, 4, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&d->f, 0, 0);
	fake_avail(&d->f, 0, 1);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(d->rx_ready, 2);
	/* 10 bytes offered, 8 fit */
	assert_int_equal(virtio_console_input(dev, "0123456789", 10), 8);
	assert_memory_equal(fake_ptr(&d->f, FAKE_DATA, 4), "0123", 4);
	assert_memory_equal(fake_ptr(&d->f, FAKE_DATA + 16, 4), "4567", 4);
	assert_int_equal(fake_used_idx(&d->f, 0), 2);
	assert_int_equal(used_len(d, 0, 0), 4);
	assert_int_equal(used_len(d, 0, 1), 4);
	assert_int_equal(d->fh.irq_raised, 1);
	assert_int_equal(virtio_console_input(dev, "89", 2), 0);
	/* after a reset the device takes no input */
	mmio_wr(d->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(virtio_console_input(dev, "x", 1), 0);
	dt_free(d);
}

static void test_console_emerg_write(void **state)
{
	struct dt *d = dt_new(true);
	uint32_t ports = 0, c = 'E';

	virtio_mmio_read(d->t, VIRTIO_MMIO_CONFIG + 4, 4, &ports);
	assert_int_equal(ports, 1);
	assert_true(mmio_device_features(d->t) & VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE));
	virtio_mmio_write(d->t, VIRTIO_MMIO_CONFIG + 8, 4, &c);
	assert_int_equal(d->out_len, 1);
	assert_int_equal(d->out[0], 'E');
	dt_free(d);
}

/* A good buffer and then a hostile one in one notify: the good one is signalled. */
static void test_rng_good_then_bad(void **state)
{
	struct dt *d = dt_new(false);

	fake_desc(&d->f, 0, 0, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	fake_desc(&d->f, 0, 1, FAKE_DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_avail(&d->f, 0, 0);
	fake_avail(&d->f, 0, 1);
	mmio_wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&d->f, 0), 1);
	assert_int_equal(used_len(d, 0, 0), 16);
	assert_int_equal(mmio_rd(d->t, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(d->fh.irq_raised, 2);
	assert_int_equal(d->fh.logs, 1);
	dt_free(d);
}

/* A hostile chain on the console's tx queue leaves the rng (another device) alone. */
static void test_devices_independent(void **state)
{
	struct dt *con = dt_new(true), *rng = dt_new(false);

	fake_desc(&con->f, 1, 0, FAKE_DATA, 0, 0, 0);
	fake_avail(&con->f, 1, 0);
	mmio_wr(con->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(virtio_mmio_status(con->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(con->fh.logs, 1);
	assert_non_null(strstr(con->fh.last_log, "virtio-console0: queue 1: descriptor 0 has length 0"));
	fake_desc(&rng->f, 0, 0, FAKE_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&rng->f, 0, 0);
	mmio_wr(rng->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used_len(rng, 0, 0), 8);
	assert_int_equal(virtio_mmio_status(rng->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	dt_free(con);
	dt_free(rng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_fills),
		cmocka_unit_test(test_rng_limits),
		cmocka_unit_test(test_rng_getrandom),
		cmocka_unit_test(test_rng_good_then_bad),
		cmocka_unit_test(test_console_tx),
		cmocka_unit_test(test_console_rx),
		cmocka_unit_test(test_console_emerg_write),
		cmocka_unit_test(test_devices_independent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
