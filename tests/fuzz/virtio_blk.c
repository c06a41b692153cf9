/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the virtio-blk request parser and the device behind the
 * virtio-mmio transport, over guest RAM the input fills (layout in
 * virtio_fuzz.h).  Options byte: bit 0 read-only disk, bit 1 negotiate
 * VIRTIO_BLK_F_FLUSH, bit 2 EVENT_IDX, bit 3 INDIRECT_DESC (DISCARD and
 * WRITE_ZEROES are negotiated on the read-write disk).
 *
 * First every available chain is walked and parsed on its own (invariants:
 * a request answered OK is whole sectors within the capacity, in 64 bits;
 * a write to a read-only disk is never OK; the status byte is the chain's
 * last writable byte).  Then the same RAM goes through a live device on a
 * 64-sector memfd image (invariants: the driver's DRIVER_OK stands, needing
 * reset or not; a read-only image's bytes never change).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio_fuzz.h"

#define CAPACITY 64

static struct vf_ram ram;
static int image = -1, image_ro = -1; /* the read-only disk has its own */
static struct virtio_mmio *dev_rw, *dev_ro;
static uint64_t image_sum;

static void set_irq(void *opaque, int level)
{
}

static void quiet_log(void *opaque, const char *msg)
{
}

static void on_broken(void *opaque, struct virtq *q, const char *msg)
{
}

static const struct virtio_mmio_host mmio_host = {.set_irq = set_irq, .log = quiet_log};
static const struct virtq_host q_host = {.broken = on_broken};

static uint64_t checksum(int fd)
{
	static uint8_t buf[CAPACITY * 512];
	uint64_t h = 1469598103934665603ULL;

	FUZZ_CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		h = (h ^ buf[i]) * 1099511628211ULL;
	return h;
}

static int make_image(void)
{
	uint8_t sector[512];
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	for (unsigned s = 0; s < CAPACITY; s++) {
		memset(sector, (int)s, sizeof(sector));
		FUZZ_CHECK(pwrite(fd, sector, sizeof(sector), s * 512) == sizeof(sector));
	}
	return fd;
}

static struct virtio_mmio *make(bool ro)
{
	struct virtio_dev *d = virtio_blk_new(&(struct virtio_blk_opts){
		.name = ro ? "virtio-blk-ro" : "virtio-blk-rw", .fd = ro ? image_ro : image,
		.ro = ro, .id = "fuzz"});
	struct virtio_mmio *t;

	FUZZ_CHECK(d != NULL);
	t = virtio_mmio_new(d, &ram.vm, &mmio_host);
	FUZZ_CHECK(t != NULL);
	return t;
}

static void setup(void)
{
	vf_ram_init(&ram);
	image = make_image();
	image_ro = make_image();
	image_sum = checksum(image_ro);
	dev_rw = make(false);
	dev_ro = make(true);
}

static void wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, 4, &v);
}

static uint32_t rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(t, off, 4, &v);
	return v;
}

/* Linux's bring-up with the chosen features, queue 0 at the fixed rings. */
static void bring_up(struct virtio_mmio *t, uint8_t opt, uint16_t num)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	if (opt & 2)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (opt & 4)
		f |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (opt & 8)
		f |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (opt & 1)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, s);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	FUZZ_CHECK(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, VF_DESC);
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VF_AVAIL);
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VF_USED);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	FUZZ_CHECK(rd(t, VIRTIO_MMIO_QUEUE_READY) == 1);
	wr(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Phase 1: the parser on each chain, checked against the chain. */
static void parse_all(uint8_t opt, uint16_t num)
{
	static struct virtq_chain c;
	struct virtq q;
	bool ro = opt & 1;

	virtq_init(&q, 0, &ram.vm, &q_host);
	q.num = num;
	q.desc_gpa = VF_DESC;
	q.avail_gpa = VF_AVAIL;
	q.used_gpa = VF_USED;
	FUZZ_CHECK(virtq_enable(&q, opt & 4, opt & 8) == 0);
	while (virtq_pop(&q, &c) == VIRTQ_POP_CHAIN) {
		struct virtio_blk_req r;
		uint8_t status = 0xff;
		const struct iovec *last;
		int rc = virtio_blk_parse(&c, CAPACITY, ro, &r, &status);

		fuzz_report(rc);
		if (rc != VIRTIO_BLK_PARSE_OK) {
			FUZZ_CHECK(c.out_len < 16 || c.n_in == 0);
			continue;
		}
		FUZZ_CHECK(c.n_in > 0 && c.out_len >= 16);
		last = &c.iov[c.n_out + c.n_in - 1];
		FUZZ_CHECK(r.status == (uint8_t *)last->iov_base + last->iov_len - 1);
		FUZZ_CHECK(status == VIRTIO_BLK_S_OK || status == VIRTIO_BLK_S_IOERR ||
			   status == VIRTIO_BLK_S_UNSUPP);
		if (status != VIRTIO_BLK_S_OK)
			continue;
		if (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT) {
			unsigned __int128 end = (unsigned __int128)r.sector * 512 + r.data_len;

			FUZZ_CHECK(r.data_len % 512 == 0);
			FUZZ_CHECK(end <= (unsigned __int128)CAPACITY * 512);
			FUZZ_CHECK(!(ro && r.type == VIRTIO_BLK_T_OUT));
			FUZZ_CHECK(r.data_len == (r.type == VIRTIO_BLK_T_IN ? c.in_len - 1
									    : c.out_len - 16));
		} else if (r.type == VIRTIO_BLK_T_DISCARD || r.type == VIRTIO_BLK_T_WRITE_ZEROES) {
			FUZZ_CHECK(!ro);
			FUZZ_CHECK(r.nranges >= 1 && r.nranges <= VIRTIO_BLK_MAX_RANGES);
			FUZZ_CHECK(r.data_len == 16ULL * r.nranges);
			for (unsigned k = 0; k < r.nranges; k++) {
				const struct virtio_blk_range *g = &r.range[k];

				FUZZ_CHECK(g->sectors <= VIRTIO_BLK_MAX_RANGE_SECTORS);
				FUZZ_CHECK((unsigned __int128)g->sector + g->sectors <= CAPACITY);
				FUZZ_CHECK((g->flags & ~VIRTIO_BLK_RANGE_F_UNMAP) == 0);
				FUZZ_CHECK(!(r.type == VIRTIO_BLK_T_DISCARD && g->flags));
			}
		} else {
			FUZZ_CHECK(r.type == VIRTIO_BLK_T_FLUSH || r.type == VIRTIO_BLK_T_GET_ID);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t opt = size ? data[0] : 0;
	uint16_t num = vf_num(data, size);
	struct virtio_mmio *t;

	if (image < 0)
		setup();
	vf_ram_load(&ram, data, size);
	parse_all(opt, num);

	vf_ram_load(&ram, data, size);
	t = (opt & 1) ? dev_ro : dev_rw;
	bring_up(t, opt, num);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	FUZZ_CHECK(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	/* (used vs avail is not checked: a read may land on the rings themselves) */
	if (opt & 1)
		FUZZ_CHECK(checksum(image_ro) == image_sum);
	return 0;
}
