/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-net's header/frame path, TX and RX, behind the
 * virtio-mmio transport, over guest RAM the input fills (virtio_fuzz.h's
 * layout; the TX queue's rings at the standard place, the RX queue's at
 * NF_RX_*).  Options byte: bit 0 negotiate MRG_RXBUF, bit 1 the checksum
 * and TSO offloads, bit 2 EVENT_IDX, bit 3 INDIRECT_DESC; bits 4-7 the
 * queue size (both queues).
 *
 * The backend is in memory: what the device sends is checked (header +
 * frame, the frame within the negotiated size, the header one
 * virtio_net_check_tx() accepts, every byte inside guest RAM or the
 * device's own header copy); what it receives are up to NF_FRAMES frames
 * whose lengths are the 16-bit words at NF_LENS.  Invariants: DRIVER_OK
 * stands (needing reset or not); frames delivered + dropped never exceed
 * frames offered; bytes delivered never exceed bytes offered.
 */
#include <errno.h>

#include "fuzz.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio_fuzz.h"

#define NF_RX_DESC 0x2000ULL
#define NF_RX_AVAIL 0x3000ULL
#define NF_RX_USED 0x3800ULL
#define NF_LENS 0x4000ULL
#define NF_FRAMES 4

static struct vf_ram ram;
static struct virtio_dev *dev;
static struct virtio_mmio *t;
static unsigned offered, offered_bytes;
static uint64_t feats;
static uint8_t frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 16];

static void set_irq(void *opaque, int level)
{
}

static void quiet_log(void *opaque, const char *msg)
{
}

static const struct virtio_mmio_host mmio_host = {.set_irq = set_irq, .log = quiet_log};

static ssize_t be_send(void *opaque, const struct iovec *iov, int n)
{
	struct virtio_net_hdr h;
	const char *why;
	uint64_t total = 0;

	FUZZ_CHECK(n >= 1 && iov[0].iov_len == VIRTIO_NET_HDR_LEN);
	memcpy(&h, iov[0].iov_base, VIRTIO_NET_HDR_LEN);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			FUZZ_CHECK(vf_inside(&ram, iov[i].iov_base, iov[i].iov_len));
		total += iov[i].iov_len;
	}
	FUZZ_CHECK(total >= VIRTIO_NET_HDR_LEN);
	FUZZ_CHECK(virtio_net_check_tx(&h, feats, total - VIRTIO_NET_HDR_LEN, &why) == 0);
	return (ssize_t)total;
}

static ssize_t be_recv(void *opaque, void *buf, size_t len)
{
	uint16_t flen;

	if (offered >= NF_FRAMES) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(&flen, ram.bytes + NF_LENS + 2 * offered, 2);
	offered++;
	if (flen > len)
		flen = (uint16_t)len;
	memcpy(buf, frame, flen);
	offered_bytes += flen;
	return flen;
}

static void be_poll(void *opaque, bool on)
{
}

static void setup(void)
{
	struct virtio_net_opts o = {
		.name = "virtio-net-fuzz", .mac = {2, 0, 0, 0, 0, 1},
		.be = {.send = be_send, .recv = be_recv, .rx_poll = be_poll},
	};

	vf_ram_init(&ram);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 13);
	dev = virtio_net_new(&o);
	FUZZ_CHECK(dev != NULL);
	t = virtio_mmio_new(dev, &ram.vm, &mmio_host);
	FUZZ_CHECK(t != NULL);
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
	struct virtio_net_stats st;

	if (!dev)
		setup();
	vf_ram_load(&ram, data, size);
	offered = offered_bytes = 0;
	feats = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (opt & 1)
		feats |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (opt & 2)
		feats |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
			 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (opt & 4)
		feats |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (opt & 8)
		feats |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);

	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, s);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feats);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feats >> 32));
	wr(VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	FUZZ_CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	queue(VIRTIO_NET_RXQ, num, NF_RX_DESC, NF_RX_AVAIL, NF_RX_USED);
	queue(VIRTIO_NET_TXQ, num, VF_DESC, VF_AVAIL, VF_USED);
	wr(VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	/* a reset between runs clears the counters' meaning: take a baseline */
	virtio_net_get_stats(dev, &st);
	{
		struct virtio_net_stats before = st;

		wr(VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
		virtio_net_rx(dev);
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
		virtio_net_get_stats(dev, &st);
		FUZZ_CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
		FUZZ_CHECK((st.rx_frames - before.rx_frames) + (st.rx_dropped - before.rx_dropped) <=
			   offered);
		FUZZ_CHECK(st.rx_bytes - before.rx_bytes <= offered_bytes);
	}
	return 0;
}
