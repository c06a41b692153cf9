/* SPDX-License-Identifier: MIT */
/*
 * virtio-net through the virtio-mmio transport, with a SOCK_SEQPACKET
 * socketpair as the backend (one datagram = header + frame, as a tap with
 * IFF_VNET_HDR gives), and hostile drivers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_virtio_fake.h"
#include "virtio/net.h"

#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ
#define ALL ~0ULL
#define NO_MRG (~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))
#define NO_TSO (~(VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6)))

struct nt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	struct virtio_dev *dev;
	int sv[2]; /* [0] the device's end, [1] the "host network" */
	int polling, poll_calls, kicks;
	uint64_t offload;
	bool offload_called;
};

static ssize_t be_send(void *opaque, const struct iovec *iov, int n)
{
	struct nt *t = opaque;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };

	return sendmsg(t->sv[0], &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static ssize_t be_recv(void *opaque, void *buf, size_t len)
{
	struct nt *t = opaque;

	return recv(t->sv[0], buf, len, MSG_DONTWAIT);
}

static int be_offload(void *opaque, uint64_t f)
{
	struct nt *t = opaque;

	t->offload = f;
	t->offload_called = true;
	return 0;
}

static void be_poll(void *opaque, bool on)
{
	struct nt *t = opaque;

	t->polling = on;
	t->poll_calls++;
}

static void be_kick(void *opaque, unsigned q)
{
	((struct nt *)opaque)->kicks++;
}

static struct nt *nt_new(uint64_t mask, bool no_offload)
{
	struct nt *t = calloc(1, sizeof(*t));
	struct virtio_net_opts o = {
		.name = "virtio-net0", .mac = { 0x02, 1, 2, 3, 4, 5 }, .no_offload = no_offload,
	};
	int sz = 1 << 20;

	assert_non_null(t);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, t->sv), 0);
	setsockopt(t->sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(t->sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	o.be = (struct virtio_net_backend){ .opaque = t, .send = be_send, .recv = be_recv,
					    .set_offload = be_offload, .rx_poll = be_poll,
					    .kick = be_kick };
	fake_init(&t->f, 4 * FAKE_MIB);
	fake_host_init(&t->fh);
	t->dev = virtio_net_new(&o);
	assert_non_null(t->dev);
	t->t = virtio_mmio_new(t->dev, &t->f.vm, &t->fh.h);
	assert_non_null(t->t);
	mmio_bring_up(t->t, &t->f, 2, mask);
	return t;
}

static void nt_free(struct nt *t)
{
	virtio_mmio_free(t->t);
	close(t->sv[0]);
	close(t->sv[1]);
	fake_free(&t->f);
	free(t);
}

static struct virtio_net_stats stats(struct nt *t)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(t->dev, &s);
	return s;
}

static bool needs_reset(struct nt *t)
{
	return mmio_rd(t->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* A frame of `len` bytes: an Ethernet header, then a counting pattern. */
static void make_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* The host network sends header + frame to the guest. */
static void host_send(struct nt *t, const struct virtio_net_hdr *h, size_t frame_len,
		      uint8_t seed)
{
	static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 64];

	memcpy(buf, h, VIRTIO_NET_HDR_LEN);
	make_frame(buf + VIRTIO_NET_HDR_LEN, frame_len, seed);
	assert_int_equal(send(t->sv[1], buf, VIRTIO_NET_HDR_LEN + frame_len, 0),
			 (ssize_t)(VIRTIO_NET_HDR_LEN + frame_len));
}

/* What arrived on the host side: length, or -1 when nothing. */
static ssize_t host_recv(struct nt *t, uint8_t *buf, size_t len)
{
	return recv(t->sv[1], buf, len, MSG_DONTWAIT);
}

/* ---- TX */

/* Put a TX frame (header + frame) at `gpa`, split into two descriptors. */
static void guest_tx(struct nt *t, uint16_t head, const struct virtio_net_hdr *h,
		     size_t frame_len, uint8_t seed)
{
	uint64_t gpa = FAKE_DATA + 0x20000ULL * head;

	memcpy(fake_ptr(&t->f, gpa, VIRTIO_NET_HDR_LEN), h, VIRTIO_NET_HDR_LEN);
	make_frame(fake_ptr(&t->f, gpa + 0x1000, frame_len), frame_len, seed);
	fake_desc(&t->f, TXQ, head, gpa, VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, head + 1);
	fake_desc(&t->f, TXQ, head + 1, gpa + 0x1000, (uint32_t)frame_len, 0, 0);
	fake_avail(&t->f, TXQ, head);
}

static void test_config_and_features(void **state)
{
	struct nt *t = nt_new(ALL, false);
	uint8_t mac[6];
	uint16_t status;
	uint64_t f;

	assert_int_equal(mmio_rd(t->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	for (int i = 0; i < 6; i++)
		virtio_mmio_read(t->t, VIRTIO_MMIO_CONFIG + i, 1, &mac[i]);
	assert_memory_equal(mac, ((uint8_t[]){ 0x02, 1, 2, 3, 4, 5 }), 6);
	virtio_mmio_read(t->t, VIRTIO_MMIO_CONFIG + 6, 2, &status);
	assert_int_equal(status, VIRTIO_NET_S_LINK_UP);
	f = mmio_device_features(t->t);
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* DRIVER_OK told the backend the receive offloads and started polling */
	assert_true(t->offload_called);
	assert_true(t->offload & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_int_equal(t->polling, 1);
	nt_free(t);

	t = nt_new(ALL, true);
	f = mmio_device_features(t->t);
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_false(t->offload & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	nt_free(t);
}

static void test_tx_passes_header_and_frame(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				    .csum_offset = 16, .num_buffers = 0x5555 };
	static uint8_t got[4096], want[1500];
	uint32_t id, len;
	ssize_t n;

	guest_tx(t, 0, &h, 1000, 9);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	n = host_recv(t, got, sizeof(got));
	assert_int_equal(n, VIRTIO_NET_HDR_LEN + 1000);
	h.num_buffers = 0; /* the device clears what the driver must leave 0 */
	assert_memory_equal(got, &h, VIRTIO_NET_HDR_LEN);
	make_frame(want, 1000, 9);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, want, 1000);
	assert_int_equal(fake_used_idx(&t->f, TXQ), 1);
	fake_used(&t->f, TXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(stats(t).tx_frames, 1);
	assert_int_equal(stats(t).tx_bytes, 1000);
	assert_true(t->fh.irq_raised > 0);
	nt_free(t);
}

static void test_tx_tso_frame_when_negotiated(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				    .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	static uint8_t got[70000];

	guest_tx(t, 0, &h, 60000, 1);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_int_equal(host_recv(t, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 60000);
	assert_int_equal(got[1], VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(stats(t).tx_bad, 0);
	nt_free(t);
}

/* Each hostile TX chain is dropped and counted; the device stays up. */
static void test_tx_hostile(void **state)
{
	struct nt *t = nt_new(NO_TSO, false);
	struct virtio_net_hdr ok = { 0 }, tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
						  .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
						  .gso_size = 1448, .csum_start = 34,
						  .csum_offset = 16 };
	struct virtio_net_hdr badcsum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					  .csum_start = 0xfff0, .csum_offset = 0xff };
	struct virtio_net_hdr badflags = { .flags = 0x80 };
	uint8_t got[4096];

	/* 1. a chain shorter than the header */
	fake_desc(&t->f, TXQ, 0, FAKE_DATA, 8, 0, 0);
	fake_avail(&t->f, TXQ, 0);
	/* 2. a frame longer than negotiated (no HOST_TSO: 1518 at most) */
	guest_tx(t, 2, &ok, 1519, 0);
	/* 3. a TSO frame without TSO negotiated */
	guest_tx(t, 4, &tso, 1000, 0);
	/* 4. a checksum position beyond the frame */
	guest_tx(t, 6, &badcsum, 100, 0);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	/* 5. unknown flags; 6. a writable descriptor in a TX chain */
	guest_tx(t, 0, &badflags, 100, 0);
	fake_desc(&t->f, TXQ, 2, FAKE_DATA, 12, VIRTQ_DESC_F_NEXT, 3);
	fake_desc(&t->f, TXQ, 3, FAKE_DATA + 0x1000, 100, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, TXQ, 2);
	/* 7. a frame too short for an Ethernet header */
	guest_tx(t, 4, &ok, 10, 0);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_int_equal(host_recv(t, got, sizeof(got)), -1);
	assert_int_equal(stats(t).tx_bad, 7);
	assert_int_equal(stats(t).tx_frames, 0);
	assert_int_equal(fake_used_idx(&t->f, TXQ), 7);
	assert_false(needs_reset(t));
	/* and a good one still goes through */
	guest_tx(t, 6, &ok, 1518, 3);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_int_equal(host_recv(t, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 1518);
	assert_int_equal(stats(t).tx_frames, 1);
	nt_free(t);
}

/* The backend will not take a frame: dropped, counted, returned. */
static void test_tx_backend_full(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr ok = { 0 };

	close(t->sv[1]); /* the peer is gone: sendmsg fails */
	t->sv[1] = open("/dev/null", O_RDONLY);
	guest_tx(t, 0, &ok, 100, 0);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_int_equal(stats(t).tx_dropped, 1);
	assert_int_equal(fake_used_idx(&t->f, TXQ), 1);
	assert_false(needs_reset(t));
	nt_free(t);
}

/* ---- RX */

static void post_rx(struct nt *t, uint16_t head, uint32_t len)
{
	fake_desc(&t->f, RXQ, head, FAKE_DATA + 0x20000ULL * head, len, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, RXQ, head);
}

static void check_rx_bytes(struct nt *t, uint16_t head, uint64_t off, size_t len, uint8_t seed,
			   uint64_t frame_off)
{
	static uint8_t want[VIRTIO_NET_MAX_FRAME];

	make_frame(want, frame_off + len, seed);
	assert_memory_equal(fake_ptr(&t->f, FAKE_DATA + 0x20000ULL * head + off, len),
			    want + frame_off, len);
}

static void test_rx_one_buffer(void **state)
{
	struct nt *t = nt_new(NO_MRG, false);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID }, got;
	uint32_t id, len;

	post_rx(t, 0, 2048);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 1400, 5);
	virtio_net_rx(t->dev);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 1);
	fake_used(&t->f, RXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 1400);
	memcpy(&got, fake_ptr(&t->f, FAKE_DATA, VIRTIO_NET_HDR_LEN), VIRTIO_NET_HDR_LEN);
	assert_int_equal(got.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(got.num_buffers, 1);
	check_rx_bytes(t, 0, VIRTIO_NET_HDR_LEN, 1400, 5, 0);
	assert_int_equal(stats(t).rx_frames, 1);
	assert_int_equal(stats(t).rx_bytes, 1400);
	nt_free(t);
}

static void test_rx_mergeable_buffers(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { 0 }, got;
	uint32_t id, len;

	for (uint16_t i = 0; i < 3; i++)
		post_rx(t, i, 1000);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 2500 - VIRTIO_NET_HDR_LEN, 11);
	virtio_net_rx(t->dev);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 3);
	for (uint16_t i = 0; i < 3; i++) {
		fake_used(&t->f, RXQ, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 1000 : 500);
	}
	memcpy(&got, fake_ptr(&t->f, FAKE_DATA, VIRTIO_NET_HDR_LEN), VIRTIO_NET_HDR_LEN);
	assert_int_equal(got.num_buffers, 3);
	check_rx_bytes(t, 0, VIRTIO_NET_HDR_LEN, 1000 - VIRTIO_NET_HDR_LEN, 11, 0);
	check_rx_bytes(t, 1, 0, 1000, 11, 1000 - VIRTIO_NET_HDR_LEN);
	check_rx_bytes(t, 2, 0, 500, 11, 2000 - VIRTIO_NET_HDR_LEN);
	nt_free(t);
}

/*
 * A driver polling the used ring while the device works (Linux's NAPI on
 * another vCPU) must never see a mergeable frame's first buffer without the
 * num_buffers - 1 others (spec 5.1.6.4): Linux then drops the frame and takes
 * each remaining buffer for a frame of its own, reading payload as a header.
 * An observer thread watches used->idx while the device delivers frames of
 * three buffers each: every step it sees must be a multiple of 3.  With
 * used->idx published per buffer it saw thousands that were not.
 */
struct used_observer {
	struct nt *t;
	atomic_bool started, stop;
	atomic_long changes, torn;
};

static void *observe_used_idx(void *arg)
{
	struct used_observer *o = arg;
	const uint16_t *idx = (const uint16_t *)(void *)fake_ptr(&o->t->f,
								FAKE_RING(RXQ) + 0x2000 + 2, 2);
	uint16_t last = 0;

	atomic_store(&o->started, true);
	while (!atomic_load(&o->stop)) {
		uint16_t u = __atomic_load_n(idx, __ATOMIC_ACQUIRE);

		if (u == last)
			continue;
		atomic_fetch_add(&o->changes, 1);
		if ((uint16_t)(u - last) % 3) /* whole frames only (16-bit wrap aside) */
			atomic_fetch_add(&o->torn, 1);
		last = u;
	}
	return NULL;
}

static void test_rx_mergeable_frame_published_at_once(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { 0 };
	struct used_observer o = { .t = t };
	pthread_t th;
	const unsigned rounds = 30000;

	assert_int_equal(pthread_create(&th, NULL, observe_used_idx, &o), 0);
	while (!atomic_load(&o.started))
		sched_yield();
	for (unsigned r = 0; r < rounds; r++) {
		/* 6 buffers of 1000 bytes, two frames of 2500: 3 buffers each */
		for (uint16_t i = 0; i < 6; i++)
			post_rx(t, i, 1000);
		host_send(t, &h, 2500 - VIRTIO_NET_HDR_LEN, (uint8_t)r);
		host_send(t, &h, 2500 - VIRTIO_NET_HDR_LEN, (uint8_t)(r + 1));
		virtio_net_rx(t->dev);
		assert_int_equal(fake_used_idx(&t->f, RXQ), (uint16_t)(6 * (r + 1)));
	}
	atomic_store(&o.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(stats(t).rx_frames, 2 * rounds);
	assert_true(atomic_load(&o.changes) > 0);
	assert_int_equal(atomic_load(&o.torn), 0);
	nt_free(t);
}

/* No buffers: the frame waits, polling stops; buffers posted: it arrives. */
static void test_rx_waits_for_buffers(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { 0 };
	uint32_t id, len;

	host_send(t, &h, 600, 1);
	host_send(t, &h, 700, 2);
	virtio_net_rx(t->dev);
	assert_int_equal(t->polling, 0);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 0);
	/* a big buffer: the waiting frame and the next one both land */
	post_rx(t, 0, 4096);
	post_rx(t, 1, 4096);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 2);
	fake_used(&t->f, RXQ, 0, &id, &len);
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 600);
	fake_used(&t->f, RXQ, 1, &id, &len);
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 700);
	check_rx_bytes(t, 1, VIRTIO_NET_HDR_LEN, 700, 2, 0);
	assert_int_equal(t->polling, 1);
	assert_int_equal(stats(t).rx_dropped, 0);
	nt_free(t);
}

static void test_rx_hostile_chains(void **state)
{
	struct nt *t = nt_new(NO_MRG, false);
	struct virtio_net_hdr h = { 0 };
	uint32_t id, len;

	/* too short for the header; readable; then one too small for the frame */
	post_rx(t, 0, 8);
	fake_desc(&t->f, RXQ, 1, FAKE_DATA, 2048, 0, 0);
	fake_avail(&t->f, RXQ, 1);
	post_rx(t, 2, 200);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 1000, 1); /* too big for chain 2: dropped, chain kept */
	host_send(t, &h, 100, 2);  /* fits chain 2 */
	virtio_net_rx(t->dev);
	assert_int_equal(stats(t).rx_bad, 2);
	assert_int_equal(stats(t).rx_dropped, 1);
	assert_int_equal(stats(t).rx_frames, 1);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 3);
	fake_used(&t->f, RXQ, 0, &id, &len);
	assert_int_equal(len, 0);
	fake_used(&t->f, RXQ, 1, &id, &len);
	assert_int_equal(len, 0);
	fake_used(&t->f, RXQ, 2, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 100);
	check_rx_bytes(t, 2, VIRTIO_NET_HDR_LEN, 100, 2, 0);
	assert_false(needs_reset(t));
	nt_free(t);
}

/* MRG_RXBUF with buffers the queue cannot hold enough of: dropped, returned. */
static void test_rx_mergeable_queue_too_small(void **state)
{
	struct nt *t = nt_new(ALL, false); /* queues of 8 */
	struct virtio_net_hdr h = { 0 };
	uint32_t id, len;

	for (uint16_t i = 0; i < 8; i++)
		post_rx(t, i, 100);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 1400, 1); /* needs 15 buffers of 100 */
	virtio_net_rx(t->dev);
	assert_int_equal(stats(t).rx_dropped, 1);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 8);
	for (uint16_t i = 0; i < 8; i++) {
		fake_used(&t->f, RXQ, i, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_false(needs_reset(t));
	nt_free(t);
}

/* A looping RX chain: the queue breaks, the device needs reset, the VMM is fine;
 * after the driver's reset it works again. */
static void test_rx_loop_breaks_queue_then_reset(void **state)
{
	struct nt *t = nt_new(ALL, false);
	struct virtio_net_hdr h = { 0 };

	fake_desc(&t->f, RXQ, 0, FAKE_DATA, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&t->f, RXQ, 1, FAKE_DATA + 100, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	fake_avail(&t->f, RXQ, 0);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 100, 1);
	virtio_net_rx(t->dev);
	assert_true(needs_reset(t));
	assert_int_equal(t->polling, 0);
	assert_true(virtio_mmio_errors(t->t) >= 1);
	/* avail index far ahead of the ring: also a break, once reset and up again */
	mmio_bring_up(t->t, &t->f, 2, ALL);
	assert_false(needs_reset(t));
	fake_set_avail_idx(&t->f, RXQ, 100);
	host_send(t, &h, 100, 2);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	assert_true(needs_reset(t));
	/* and a clean bring-up works */
	mmio_bring_up(t->t, &t->f, 2, ALL);
	post_rx(t, 0, 2048);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	host_send(t, &h, 100, 3);
	virtio_net_rx(t->dev);
	assert_int_equal(fake_used_idx(&t->f, RXQ), 1);
	check_rx_bytes(t, 0, VIRTIO_NET_HDR_LEN, 100, 3, 0);
	nt_free(t);
}

/* RX is never done before DRIVER_OK, and a runt from the backend is dropped. */
static void test_rx_inactive_and_runt(void **state)
{
	struct nt *t = nt_new(ALL, false);
	uint8_t runt[8] = { 0 };
	struct virtio_net_hdr h = { 0 };

	mmio_wr(t->t, VIRTIO_MMIO_STATUS, 0); /* reset */
	assert_int_equal(t->polling, 0);
	host_send(t, &h, 100, 1);
	virtio_net_rx(t->dev);
	assert_int_equal(stats(t).rx_frames, 0);
	mmio_bring_up(t->t, &t->f, 2, ALL);
	assert_int_equal(send(t->sv[1], runt, sizeof(runt), 0), 8);
	post_rx(t, 0, 2048);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	/* the frame sent while reset is still in the socket: it arrives; the runt not */
	assert_int_equal(stats(t).rx_frames, 1);
	assert_int_equal(stats(t).rx_dropped, 1);
	nt_free(t);
}

/* ---- helpers */

static void test_check_tx(void **state)
{
	uint64_t all = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
	struct virtio_net_hdr h = { 0 };
	const char *why;

	assert_int_equal(virtio_net_check_tx(&h, 0, 1518, &why), 0);
	assert_int_equal(virtio_net_check_tx(&h, 0, 1519, &why), -1);
	assert_non_null(why);
	assert_int_equal(virtio_net_check_tx(&h, all, VIRTIO_NET_MAX_FRAME, &why), 0);
	assert_int_equal(virtio_net_check_tx(&h, all, VIRTIO_NET_MAX_FRAME + 1, &why), -1);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h.gso_size = 1000;
	assert_int_equal(virtio_net_check_tx(&h, all, 5000, &why), 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(virtio_net_check_tx(&h, all, 5000, &why), -1);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(virtio_net_check_tx(&h, all, 5000, &why), -1);
	h.gso_type = 2;
	assert_int_equal(virtio_net_check_tx(&h, all, 5000, &why), -1);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	assert_int_equal(virtio_net_check_tx(&h, all, 5000, &why), -1);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 98,
				     .csum_offset = 0 };
	assert_int_equal(virtio_net_check_tx(&h, all, 100, &why), 0);
	h.csum_start = 99;
	assert_int_equal(virtio_net_check_tx(&h, all, 100, &why), -1);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff; /* no 16-bit wrap */
	assert_int_equal(virtio_net_check_tx(&h, all, 100, &why), -1);
	h.csum_start = 20;
	assert_int_equal(virtio_net_check_tx(&h, 0, 1000, &why), -1); /* no CSUM */
}

static void test_mac(void **state)
{
	uint8_t a[6], b[6];

	virtio_net_default_mac("tap0", a);
	virtio_net_default_mac("tap0", b);
	assert_memory_equal(a, b, 6);
	assert_int_equal(a[0], 0x02);
	virtio_net_default_mac("tap1", b);
	assert_memory_not_equal(a, b, 6);
	assert_int_equal(virtio_net_parse_mac("52:54:00:12:34:56", a), 0);
	assert_memory_equal(a, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	assert_int_equal(virtio_net_parse_mac("01:00:5e:00:00:01", a), -1);
	assert_non_null(strstr(err_msg(), "multicast"));
	assert_int_equal(virtio_net_parse_mac("00:00:00:00:00:00", a), -1);
	assert_int_equal(virtio_net_parse_mac("52:54:00:12:34", a), -1);
	assert_int_equal(virtio_net_parse_mac("52:54:00:12:34:567", a), -1);
	assert_int_equal(virtio_net_parse_mac("52-54-00-12-34-56", a), -1);
	assert_int_equal(virtio_net_parse_mac("52:54:00:12:34:zz", a), -1);
	assert_int_equal(virtio_net_parse_mac(" 2:54:00:12:34:56", a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_features),
		cmocka_unit_test(test_tx_passes_header_and_frame),
		cmocka_unit_test(test_tx_tso_frame_when_negotiated),
		cmocka_unit_test(test_tx_hostile),
		cmocka_unit_test(test_tx_backend_full),
		cmocka_unit_test(test_rx_one_buffer),
		cmocka_unit_test(test_rx_mergeable_buffers),
		cmocka_unit_test(test_rx_mergeable_frame_published_at_once),
		cmocka_unit_test(test_rx_waits_for_buffers),
		cmocka_unit_test(test_rx_hostile_chains),
		cmocka_unit_test(test_rx_mergeable_queue_too_small),
		cmocka_unit_test(test_rx_loop_breaks_queue_then_reset),
		cmocka_unit_test(test_rx_inactive_and_runt),
		cmocka_unit_test(test_check_tx),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
