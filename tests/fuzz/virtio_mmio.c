/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the virtio-mmio register block (virtio/mmio.c) with a device
 * behind it, driven by any sequence of guest accesses.  Input: byte 0 picks
 * the device (mod 3: virtio-blk on a memfd, virtio-rng, virtio-console) and
 * the number of accesses N; then N 8-byte accesses {u8 kind, u8 pad,
 * le16 offset, le32 value}: kind bit 0 write (else read), bits 1-2 size
 * (1, 2, 4, 8), bit 3 "the ioeventfd fired" (virtio_mmio_queue_notify with
 * value as the queue), bit 4 console input; the rest of the input is guest
 * RAM from 0 (virtio_fuzz.h), where the accesses may point the queues.
 *
 * Invariants after every access: MagicValue and Version read right; a
 * device needing reset has counted an error; Status 0 after a reset;
 * InterruptStatus 0 exactly when the last set_irq call lowered the line
 * (or none was made); the reset at the end clears everything.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio_fuzz.h"

static struct vf_ram ram;
static struct virtio_mmio *dev[3];
static int irq_level;

static void set_irq(void *opaque, int level)
{
	irq_level = level;
}

static void quiet_log(void *opaque, const char *msg)
{
}

static void con_write(void *opaque, const void *buf, size_t len)
{
	FUZZ_CHECK(vf_inside(&ram, buf, len) || len == 1);
}

static ssize_t fill(void *opaque, void *buf, size_t len)
{
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

static const struct virtio_mmio_host host = {.set_irq = set_irq, .log = quiet_log};

static void setup(void)
{
	int fd = memfd_create("fuzz-mmio-disk", MFD_CLOEXEC);

	vf_ram_init(&ram);
	FUZZ_CHECK(fd >= 0 && ftruncate(fd, 64 * 512) == 0);
	dev[0] = virtio_mmio_new(
		virtio_blk_new(&(struct virtio_blk_opts){.name = "virtio-blk0", .fd = fd}),
		&ram.vm, &host);
	close(fd);
	dev[1] = virtio_mmio_new(virtio_rng_new(&(struct virtio_rng_opts){
					 .name = "virtio-rng0", .fill = fill}),
				 &ram.vm, &host);
	dev[2] = virtio_mmio_new(virtio_console_new(&(struct virtio_console_opts){
					 .name = "virtio-console0", .ops = {.write = con_write}}),
				 &ram.vm, &host);
	FUZZ_CHECK(dev[0] && dev[1] && dev[2]);
}

static uint32_t rd32(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(t, off, 4, &v);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_mmio *t;
	size_t n, at = 1;
	uint64_t errors0;

	if (!dev[0])
		setup();
	if (size < 1)
		return 0;
	t = dev[data[0] % 3];
	n = data[0] / 3;
	if (n * 8 + 1 > size)
		n = (size - 1) / 8;
	memset(ram.bytes, 0, VF_RAM);
	if (size > 1 + n * 8)
		memcpy(ram.bytes, data + 1 + n * 8,
		       size - 1 - n * 8 < VF_RAM ? size - 1 - n * 8 : VF_RAM);
	virtio_mmio_reset(t);
	irq_level = 0;
	errors0 = virtio_mmio_errors(t);
	for (size_t i = 0; i < n; i++, at += 8) {
		uint8_t kind = data[at], buf[8] = {0};
		uint16_t off;
		uint32_t val;
		unsigned sz = 1u << ((kind >> 1) & 3);

		memcpy(&off, data + at + 2, 2);
		memcpy(&val, data + at + 4, 4);
		off &= 0x1ff;
		if (kind & 16) {
			virtio_console_input(virtio_mmio_dev(dev[2]), data + at, 8);
		} else if (kind & 8) {
			virtio_mmio_queue_notify(t, val);
		} else if (kind & 1) {
			memcpy(buf, &val, 4);
			virtio_mmio_write(t, off, sz, buf);
		} else {
			virtio_mmio_read(t, off, sz, buf);
		}
		FUZZ_CHECK(rd32(t, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC);
		FUZZ_CHECK(rd32(t, VIRTIO_MMIO_VERSION_REG) == VIRTIO_MMIO_VERSION);
		if (virtio_mmio_status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			FUZZ_CHECK(virtio_mmio_errors(t) > errors0);
		FUZZ_CHECK((rd32(t, VIRTIO_MMIO_INTERRUPT_STATUS) != 0) == (irq_level != 0));
		if ((kind & 25) == 1 && off == VIRTIO_MMIO_STATUS && sz == 4 && val == 0) {
			FUZZ_CHECK(virtio_mmio_status(t) == 0);
			FUZZ_CHECK(rd32(t, VIRTIO_MMIO_INTERRUPT_STATUS) == 0 && irq_level == 0);
		}
	}
	{
		uint16_t used0, used1;

		memcpy(&used0, ram.bytes + VF_USED + 2, 2);
		memcpy(&used1, ram.bytes + 0x4000 + VF_USED + 2, 2);
		err_set("%s: status 0x%x, %llu errors, used idx %u/%u", virtio_mmio_dev(t)->name,
			virtio_mmio_status(t), (unsigned long long)(virtio_mmio_errors(t) - errors0),
			used0, used1);
		fuzz_report(-1); /* with FUZZ_VERBOSE: where the device ended */
	}
	virtio_mmio_reset(t);
	FUZZ_CHECK(virtio_mmio_status(t) == 0 && rd32(t, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	FUZZ_CHECK(!virtio_mmio_dev(t)->active);
	return 0;
}
