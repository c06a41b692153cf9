/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the virtio-vsock packet parser and connection state machine
 * behind the virtio-mmio transport, over guest RAM the input fills
 * (virtio_fuzz.h's layout: the TX queue's rings at the standard place, the
 * RX queue's descriptors at 0x2000, avail at 0x3000, used at 0x3800).
 * Options byte: bit 2 EVENT_IDX, bit 3 INDIRECT_DESC; bits 4-7 the queue size.
 *
 * The host side is real: the device's listening socket and a listener for
 * guest port 1234 ("PATH_1234", never accepted, so the kernel's backlog
 * holds what the guest opens) in a private temporary directory.  Each input
 * starts from a reset device (every connection closed).  Invariants: the
 * driver's DRIVER_OK stands (needing reset or not); connections never
 * exceed the limit.  (What lands in the used ring is not checked: a buffer
 * may overlap the ring itself.)
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtio/mmio.h"
#include "virtio/vsock.h"
#include "virtio_fuzz.h"

#define VS_RX_DESC 0x2000ULL
#define VS_RX_AVAIL 0x3000ULL
#define VS_RX_USED 0x3800ULL

static struct vf_ram ram;
static struct virtio_dev *dev;
static struct virtio_mmio *t;
static char dir[48], path[64], port_path[80];
static int port_fd = -1;

static void set_irq(void *opaque, int level)
{
}

static void quiet_log(void *opaque, const char *msg)
{
}

static const struct virtio_mmio_host mmio_host = {.set_irq = set_irq, .log = quiet_log};

static void cleanup(void)
{
	if (t)
		virtio_mmio_free(t);
	if (port_fd >= 0)
		close(port_fd);
	unlink(port_path);
	rmdir(dir);
}

static void setup(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct virtio_vsock_opts o = {.name = "virtio-vsock-fuzz", .guest_cid = 3};

	vf_ram_init(&ram);
	snprintf(dir, sizeof(dir), "/tmp/skyvm-vsock-fuzz-XXXXXX");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/v", dir);
	snprintf(port_path, sizeof(port_path), "%s_1234", path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", port_path);
	port_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(port_fd >= 0);
	FUZZ_CHECK(bind(port_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	FUZZ_CHECK(listen(port_fd, 4096) == 0);
	o.path = path;
	dev = virtio_vsock_new(&o);
	FUZZ_CHECK(dev != NULL);
	t = virtio_mmio_new(dev, &ram.vm, &mmio_host);
	FUZZ_CHECK(t != NULL);
	atexit(cleanup);
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, 4, &v);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(t, off, 4, &v);
	return v;
}

static void queue(unsigned q, uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	FUZZ_CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t opt = size ? data[0] : 0;
	uint16_t num = vf_num(data, size);
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (!dev)
		setup();
	vf_ram_load(&ram, data, size);
	if (opt & 4)
		f |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (opt & 8)
		f |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, s);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	FUZZ_CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	queue(0, num, VS_RX_DESC, VS_RX_AVAIL, VS_RX_USED);
	queue(1, num, VF_DESC, VF_AVAIL, VF_USED);
	queue(2, num, 0x4000, 0x4800, 0x5000);
	wr(VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	virtio_vsock_work(dev);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	FUZZ_CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	FUZZ_CHECK(virtio_vsock_nconns(dev) <= VIRTIO_VSOCK_MAX_CONNS);
	return 0;
}
