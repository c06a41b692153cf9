/* SPDX-License-Identifier: MIT */
/*
 * A hostile virtio driver, for the hostile-guest tests of docs/virtio.md.
 *
 * It finds the first virtio-blk device in the VMM's virtio-mmio windows,
 * brings it up as Linux would (VERSION_1, INDIRECT_DESC, one queue of 8), reads sector
 * 0 correctly, then posts the one bad request `case=NAME` names and watches
 * what the device does, then resets the device and reads sector 0 again to
 * show the VMM and the device survived.  It prints, on COM1:
 *
 *   VIRTIO device at 0x... id 2
 *   VIRTIO read ok status 0
 *   VIRTIO case NAME outcome needs-reset|status N|none used U
 *   VIRTIO recovered read ok status 0
 *
 * and exits 0 when the outcome is the one docs/virtio.md gives for the
 * case, else 1 (2: no device).  Cases:
 *
 *   loop       two descriptors pointing at each other          needs-reset
 *   outside    a buffer past the end of RAM (1 TiB)             needs-reset
 *   hole       a buffer in the 32-bit MMIO hole                 needs-reset
 *   zero       a zero-length buffer                             needs-reset
 *   huge       a 4 GiB - 1 byte buffer                          needs-reset
 *   nested     an indirect table inside an indirect table       needs-reset
 *   toomany    avail->idx 9 ahead in a ring of 8                needs-reset
 *   backwards  a readable descriptor after a writable one      needs-reset
 *   nostatus   a request with no writable status byte          needs-reset
 *   beyond     a read past the disk's capacity                 status 1 (IOERR)
 *   write      a write (status 1 when the disk is read-only: `ro`)
 *
 * Options: `case=NAME`, `ro` (the disk is read-only), `base=0x...` and
 * `stride=0x...`: where to scan for the device (32 windows; default skyvm's
 * 0xD0000000 in 4 KiB steps; QEMU's microvm: base=0xfeb00000 stride=0x200,
 * which lets QEMU serve as the reference device for this guest).
 */
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "lib/string.h"

/* Where skyvm's allocator puts virtio-mmio windows (boot/layout.h). */
#define WINDOW_FIRST 0xD0000000ull
#define WINDOW_SIZE 0x1000ull
#define WINDOW_SCAN 32
#define HOLE_ADDR 0xC0001000ull  /* inside the 32-bit hole, whatever the RAM size */

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_DRIVER_LO 0x090
#define R_DRIVER_HI 0x094
#define R_DEVICE_LO 0x0a0
#define R_DEVICE_HI 0x0a4

#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define QSIZE 8
#define WAIT_CYCLES 20000000000ull /* generous: nested, emulated, loaded hosts */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc table[QSIZE] __attribute__((aligned(4096)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(4096)));
static volatile uint8_t used[4 + 8 * QSIZE + 2] __attribute__((aligned(4096)));
static struct desc indirect[2][4] __attribute__((aligned(16)));
static uint8_t header[16], data[512], status_byte;

static uint64_t base;
static uint16_t avail_idx, used_seen;

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)phys_ptr(base + off);
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(base + off) = v;
}

static uint64_t paddr(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity mapped */
}

static bool find_device(void)
{
	uint64_t first = cmdline_uint("base", WINDOW_FIRST);
	uint64_t stride = cmdline_uint("stride", WINDOW_SIZE);

	for (unsigned i = 0; i < WINDOW_SCAN; i++) {
		base = first + i * stride;
		if (rd(R_MAGIC) == 0x74726976 && rd(R_VERSION) == 2 && rd(R_DEVICE_ID) == 2)
			return true;
	}
	return false;
}

/*
 * Linux's order (spec 3.1.1): reset, ACK, DRIVER, features (VERSION_1 and
 * INDIRECT_DESC), FEATURES_OK, queue, DRIVER_OK.
 */
static bool bring_up(void)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRIVER_FEATURES_SEL, 0);
	wr(R_DRIVER_FEATURES, 1u << 28); /* VIRTIO_RING_F_INDIRECT_DESC, so `nested` is reached */
	wr(R_DRIVER_FEATURES_SEL, 1);
	wr(R_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return false;
	memset(table, 0, sizeof(table));
	memset((void *)avail, 0, sizeof(avail));
	memset((void *)used, 0, sizeof(used));
	avail_idx = used_seen = 0;
	wr(R_QUEUE_SEL, 0);
	if (rd(R_QUEUE_NUM_MAX) < QSIZE)
		return false;
	wr(R_QUEUE_NUM, QSIZE);
	wr(R_DESC_LO, (uint32_t)paddr(table));
	wr(R_DESC_HI, (uint32_t)(paddr(table) >> 32));
	wr(R_DRIVER_LO, (uint32_t)paddr(avail));
	wr(R_DRIVER_HI, (uint32_t)(paddr(avail) >> 32));
	wr(R_DEVICE_LO, (uint32_t)paddr(used));
	wr(R_DEVICE_HI, (uint32_t)(paddr(used) >> 32));
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(R_QUEUE_READY) == 1 && !(rd(R_STATUS) & S_NEEDS_RESET);
}

static void set_desc(struct desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Publish head and notify; `count` moves avail->idx by that much. */
static void post(uint16_t head, uint16_t count)
{
	avail[2 + avail_idx % QSIZE] = head;
	avail_idx = (uint16_t)(avail_idx + count);
	__asm__ volatile("" ::: "memory");
	avail[1] = avail_idx;
	__asm__ volatile("" ::: "memory");
	wr(R_QUEUE_NOTIFY, 0);
}

enum outcome { O_NONE, O_USED, O_NEEDS_RESET };

/* Wait until the device returns a buffer or asks for a reset. */
static enum outcome wait_outcome(void)
{
	uint64_t end = rdtsc() + WAIT_CYCLES;

	while (rdtsc() < end) {
		uint16_t idx = *(volatile uint16_t *)&used[2];

		if (rd(R_STATUS) & S_NEEDS_RESET)
			return O_NEEDS_RESET;
		if (idx != used_seen) {
			used_seen = idx;
			return O_USED;
		}
		cpu_relax();
	}
	return O_NONE;
}

static void request(uint32_t type, uint64_t sector)
{
	memset(header, 0, sizeof(header));
	memcpy(header, &type, 4);
	memcpy(header + 8, &sector, 8);
	status_byte = 0xee;
	set_desc(&table[0], paddr(header), 16, F_NEXT, 1);
	set_desc(&table[1], paddr(data), 512, (type == 0 ? F_WRITE : 0) | F_NEXT, 2);
	set_desc(&table[2], paddr(&status_byte), 1, F_WRITE, 0);
}

static bool good_read(const char *what)
{
	request(0, 0);
	post(0, 1);
	if (wait_outcome() != O_USED || status_byte != 0) {
		out_printf("VIRTIO %s failed status %u device status 0x%x\n", what, status_byte,
			   rd(R_STATUS));
		return false;
	}
	out_printf("VIRTIO %s ok status %u\n", what, status_byte);
	return true;
}

/* Build the hostile request; returns the outcome the docs promise. */
static bool is(const char *c)
{
	return cmdline_is("case", c);
}

static int hostile(uint16_t *count)
{
	*count = 1;
	request(0, 0);
	if (is("loop")) {
		set_desc(&table[0], paddr(header), 16, F_NEXT, 1);
		set_desc(&table[1], paddr(data), 512, F_NEXT, 0);
	} else if (is("outside")) {
		set_desc(&table[1], 1ull << 40, 512, F_WRITE | F_NEXT, 2);
	} else if (is("hole")) {
		set_desc(&table[1], HOLE_ADDR, 512, F_WRITE | F_NEXT, 2);
	} else if (is("zero")) {
		set_desc(&table[1], paddr(data), 0, F_WRITE | F_NEXT, 2);
	} else if (is("huge")) {
		set_desc(&table[1], paddr(data), 0xffffffffu, F_WRITE | F_NEXT, 2);
	} else if (is("nested")) {
		set_desc(&indirect[1][0], paddr(&status_byte), 1, F_WRITE, 0);
		set_desc(&indirect[0][0], paddr(header), 16, F_NEXT, 1);
		set_desc(&indirect[0][1], paddr(indirect[1]), 16, F_INDIRECT, 0);
		set_desc(&table[0], paddr(indirect[0]), 32, F_INDIRECT, 0);
	} else if (is("toomany")) {
		*count = QSIZE + 1;
	} else if (is("backwards")) {
		set_desc(&table[1], paddr(data), 512, F_WRITE | F_NEXT, 2);
		set_desc(&table[2], paddr(&status_byte), 1, 0, 0);
	} else if (is("nostatus")) {
		set_desc(&table[0], paddr(header), 16, 0, 0);
	} else if (is("beyond")) {
		request(0, ~0ull >> 9);
		return O_USED;
	} else if (is("write")) {
		request(1, 0);
		return O_USED;
	} else {
		return -1;
	}
	return O_NEEDS_RESET;
}

void guest_main(void)
{
	size_t len;
	const char *v = cmdline_value("case", &len);
	char name[16] = "none";
	uint16_t count;
	int want;
	enum outcome got;
	bool ok;

	if (v && len < sizeof(name)) {
		memcpy(name, v, len);
		name[len] = 0;
	}
	if (!find_device()) {
		out_printf("VIRTIO no virtio-blk device\n");
		out_flush();
		guest_exit(2);
	}
	out_printf("VIRTIO device at 0x%lx id 2\n", (unsigned long)base);
	if (!bring_up() || !good_read("read")) {
		out_flush();
		guest_exit(1);
	}
	want = hostile(&count);
	if (want < 0) {
		out_printf("VIRTIO unknown case %s\n", name);
		out_flush();
		guest_exit(1);
	}
	post(0, count);
	got = wait_outcome();
	if (got == O_NEEDS_RESET)
		out_printf("VIRTIO case %s outcome needs-reset used %u\n", name, used_seen);
	else if (got == O_USED)
		out_printf("VIRTIO case %s outcome status %u used %u\n", name, status_byte,
			   used_seen);
	else
		out_printf("VIRTIO case %s outcome none used %u\n", name, used_seen);
	ok = (int)got == want;
	if (got == O_USED) {
		unsigned expect = 1; /* beyond: IOERR; write: IOERR on ro, else OK */

		if (is("write") && !cmdline_has("ro"))
			expect = 0;
		ok = ok && status_byte == expect;
	}
	if (got == O_NEEDS_RESET) /* the driver acknowledges the config interrupt */
		wr(R_INTERRUPT_ACK, rd(R_INTERRUPT_STATUS));
	ok = bring_up() && good_read("recovered read") && ok;
	out_flush();
	guest_exit(ok ? 0 : 1);
}

void guest_ap_main(unsigned cpu)
{
	cpu_park();
}
