/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock through the virtio-mmio transport: a fake guest driver on
 * one side, real unix sockets in a temporary directory on the host side
 * (Firecracker's convention, vsock.h), and hostile guests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_virtio_fake.h"
#include "virtio/vsock.h"

#define RXQ 0
#define TXQ 1
#define CID 3
#define RXBUF 0x1000u
#define RX_BASE (FAKE_DATA + 0x100000ULL)

struct vt {
	struct fake f;
	struct fake_host fh;
	struct virtio_mmio *t;
	struct virtio_dev *dev;
	char dir[40], path[64];
	uint16_t rx_seen, tx_head;
	int kicks;
};

static void kick(void *opaque)
{
	((struct vt *)opaque)->kicks++;
}

static void post_rx(struct vt *t, uint16_t head)
{
	fake_desc(&t->f, RXQ, head, RX_BASE + (uint64_t)RXBUF * head, RXBUF, VIRTQ_DESC_F_WRITE, 0);
	fake_avail(&t->f, RXQ, head);
}

static struct vt *vt_new(uint16_t rxn)
{
	struct vt *t = calloc(1, sizeof(*t));
	struct virtio_vsock_opts o = { .name = "virtio-vsock0", .guest_cid = CID, .kick = kick };

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/skyvm-vsock-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/v.sock", t->dir);
	o.path = t->path;
	o.opaque = t;
	fake_init(&t->f, 16 * FAKE_MIB);
	t->f.num[RXQ] = rxn;
	fake_host_init(&t->fh);
	t->dev = virtio_vsock_new(&o);
	assert_non_null(t->dev);
	t->t = virtio_mmio_new(t->dev, &t->f.vm, &t->fh.h);
	assert_non_null(t->t);
	mmio_bring_up(t->t, &t->f, 3, ~0ULL);
	for (uint16_t i = 0; i < rxn; i++)
		post_rx(t, i);
	return t;
}

static void vt_free(struct vt *t)
{
	char cmd[200];

	virtio_mmio_free(t->t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
	fake_free(&t->f);
	free(t);
}

static struct virtio_vsock_stats stats(struct vt *t)
{
	struct virtio_vsock_stats s;

	virtio_vsock_get_stats(t->dev, &s);
	return s;
}

/* The guest sends a packet (header + payload in two descriptors). */
static void gsend_raw(struct vt *t, const struct virtio_vsock_hdr *h, const void *data,
		      uint32_t len, uint32_t desc_len)
{
	uint16_t head = (uint16_t)((t->tx_head * 2) % 8);
	uint64_t gpa = FAKE_DATA + 0x20000ULL * (head / 2);

	t->tx_head++;
	memcpy(fake_ptr(&t->f, gpa, VIRTIO_VSOCK_HDR_LEN), h, VIRTIO_VSOCK_HDR_LEN);
	if (len) {
		memcpy(fake_ptr(&t->f, gpa + 0x100, len), data, len);
		fake_desc(&t->f, TXQ, head, gpa, desc_len, VIRTQ_DESC_F_NEXT, head + 1);
		fake_desc(&t->f, TXQ, head + 1, gpa + 0x100, len, 0, 0);
	} else {
		fake_desc(&t->f, TXQ, head, gpa, desc_len, 0, 0);
	}
	fake_avail(&t->f, TXQ, head);
	mmio_wr(t->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
}

static void gsend(struct vt *t, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags,
		  const void *data, uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct virtio_vsock_hdr h = {
		.src_cid = CID, .dst_cid = VIRTIO_VSOCK_HOST_CID, .src_port = sport,
		.dst_port = dport, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
		.flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt,
	};

	gsend_raw(t, &h, data, len, VIRTIO_VSOCK_HDR_LEN);
}

/* The next packet the device gave the guest, or false; its buffer is posted again. */
static bool grecv(struct vt *t, struct virtio_vsock_hdr *h, uint8_t *data)
{
	uint32_t id, len;

	if (fake_used_idx(&t->f, RXQ) == t->rx_seen)
		return false;
	fake_used(&t->f, RXQ, t->rx_seen++, &id, &len);
	assert_true(len >= VIRTIO_VSOCK_HDR_LEN);
	memcpy(h, fake_ptr(&t->f, RX_BASE + (uint64_t)RXBUF * id, VIRTIO_VSOCK_HDR_LEN),
	       VIRTIO_VSOCK_HDR_LEN);
	assert_int_equal(len, VIRTIO_VSOCK_HDR_LEN + h->len);
	assert_int_equal(h->src_cid, VIRTIO_VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	if (data && h->len)
		memcpy(data, fake_ptr(&t->f, RX_BASE + (uint64_t)RXBUF * id + VIRTIO_VSOCK_HDR_LEN,
				      h->len), h->len);
	post_rx(t, (uint16_t)id);
	return true;
}

static void expect_op(struct vt *t, uint16_t op, uint32_t src, uint32_t dst)
{
	struct virtio_vsock_hdr h;

	assert_true(grecv(t, &h, NULL));
	assert_int_equal(h.op, op);
	if (src)
		assert_int_equal(h.src_port, src);
	if (dst)
		assert_int_equal(h.dst_port, dst);
}

static int listen_at(struct vt *t, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", t->path, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Guest port `gport` connects to host port 1234; returns the host's accepted fd. */
static int guest_connect(struct vt *t, int lfd, uint32_t gport, uint32_t buf_alloc)
{
	int fd;

	gsend(t, gport, 1234, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, buf_alloc, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 1234, gport);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void test_guest_connects_and_exchanges(void **state)
{
	struct vt *t = vt_new(8);
	int lfd = listen_at(t, 1234), fd;
	struct virtio_vsock_hdr h;
	uint8_t buf[RXBUF];
	uint32_t cfg;

	virtio_mmio_read(t->t, VIRTIO_MMIO_CONFIG, 4, &cfg);
	assert_int_equal(cfg, CID);
	assert_int_equal(mmio_rd(t->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	fd = guest_connect(t, lfd, 5000, 65536);
	gsend(t, 5000, 1234, VIRTIO_VSOCK_OP_RW, 0, "hello", 5, 65536, 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(fd, "world!", 6), 6);
	virtio_vsock_work(t->dev);
	assert_true(grecv(t, &h, buf));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(h.buf_alloc, VIRTIO_VSOCK_BUF_ALLOC);
	assert_int_equal(h.fwd_cnt, 5); /* the 5 bytes the host took */
	/* the host closes: the guest hears SHUTDOWN, answers RST, the connection ends */
	close(fd);
	virtio_vsock_work(t->dev);
	assert_true(grecv(t, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	gsend(t, 5000, 1234, VIRTIO_VSOCK_OP_RST, 0, NULL, 0, 65536, 6);
	assert_int_equal(virtio_vsock_nconns(t->dev), 0);
	assert_int_equal(stats(t).bad, 0);
	close(lfd);
	vt_free(t);
}

static void test_guest_closes_host_sees_eof(void **state)
{
	struct vt *t = vt_new(8);
	int lfd = listen_at(t, 1234), fd = guest_connect(t, lfd, 5001, 65536);
	char c;

	gsend(t, 5001, 1234, VIRTIO_VSOCK_OP_SHUTDOWN, 0, NULL, 0, 0, 0);
	/* flags 0: nothing closed yet */
	gsend(t, 5001, 1234, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0, 65536, 0);
	assert_int_equal(read(fd, &c, 1), 0); /* EOF on the host */
	gsend(t, 5001, 1234, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV, NULL, 0, 65536, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 5001);
	assert_int_equal(virtio_vsock_nconns(t->dev), 0);
	close(fd);
	close(lfd);
	vt_free(t);
}

static void test_guest_connect_refused(void **state)
{
	struct vt *t = vt_new(8);

	gsend(t, 5000, 4321, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, 65536, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 4321, 5000);
	assert_int_equal(stats(t).conns_refused, 1);
	/* data for no connection: RST too */
	gsend(t, 5000, 4321, VIRTIO_VSOCK_OP_RW, 0, "x", 1, 65536, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 4321, 5000);
	assert_int_equal(stats(t).no_conn, 1);
	vt_free(t);
}

static void test_host_connects_to_guest(void **state)
{
	struct vt *t = vt_new(8);
	int fd = connect_to(t->path);
	struct virtio_vsock_hdr h;
	char line[64] = { 0 };
	uint8_t buf[64];
	uint32_t local;

	assert_int_equal(write(fd, "CONNECT 80\nping", 15), 15);
	virtio_vsock_work(t->dev); /* accept */
	virtio_vsock_work(t->dev); /* the line */
	assert_true(grecv(t, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 80);
	local = h.src_port;
	assert_true(local >= (1u << 30));
	gsend(t, 80, local, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0, 65536, 0);
	assert_true(read(fd, line, sizeof(line) - 1) > 0);
	snprintf((char *)buf, sizeof(buf), "OK %u\n", local);
	assert_string_equal(line, (char *)buf);
	/* what followed the line is the stream's first bytes */
	virtio_vsock_work(t->dev);
	assert_true(grecv(t, &h, buf));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "ping", 4);
	close(fd);
	vt_free(t);
}

static void test_host_connect_refused_by_guest_and_bad_hello(void **state)
{
	struct vt *t = vt_new(8);
	int fd = connect_to(t->path), bad = connect_to(t->path);
	struct virtio_vsock_hdr h;
	char c;

	assert_int_equal(write(fd, "CONNECT 81\n", 11), 11);
	assert_int_equal(write(bad, "HELLO 81\n", 9), 9);
	virtio_vsock_work(t->dev);
	virtio_vsock_work(t->dev);
	assert_int_equal(read(bad, &c, 1), 0); /* not the protocol: closed */
	assert_true(grecv(t, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	gsend(t, 81, h.src_port, VIRTIO_VSOCK_OP_RST, 0, NULL, 0, 0, 0);
	assert_int_equal(read(fd, &c, 1), 0); /* refused: closed without OK */
	assert_false(grecv(t, &h, NULL));
	close(fd);
	close(bad);
	vt_free(t);
}

/* The device never sends more than the guest's credit. */
static void test_credit_to_guest(void **state)
{
	struct vt *t = vt_new(8);
	int lfd = listen_at(t, 1234), fd = guest_connect(t, lfd, 5002, 100);
	struct virtio_vsock_hdr h;
	uint8_t data[300], got[RXBUF];

	for (int i = 0; i < 300; i++)
		data[i] = (uint8_t)i;
	assert_int_equal(write(fd, data, 300), 300);
	virtio_vsock_work(t->dev);
	assert_true(grecv(t, &h, got));
	assert_int_equal(h.len, 100);
	assert_memory_equal(got, data, 100);
	virtio_vsock_work(t->dev);
	assert_false(grecv(t, &h, NULL)); /* no credit left */
	gsend(t, 5002, 1234, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0, 100, 100);
	assert_true(grecv(t, &h, got));
	assert_int_equal(h.len, 100);
	assert_memory_equal(got, data + 100, 100);
	/* a credit request is answered with our counters */
	gsend(t, 5002, 1234, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0, 100, 100);
	assert_true(grecv(t, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	/* a fwd_cnt beyond what was sent is a lie: reset */
	gsend(t, 5002, 1234, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0, 100, 1000);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 5002);
	assert_int_equal(stats(t).bad, 1);
	close(fd);
	close(lfd);
	vt_free(t);
}

/* A host that stops reading stalls its connection only; a guest that ignores
 * the credit is reset; the other connection goes on. */
static void test_stalled_host_and_credit_lie(void **state)
{
	struct vt *t = vt_new(8);
	int lfd = listen_at(t, 1234), stalled = guest_connect(t, lfd, 6000, 65536),
	    other = guest_connect(t, lfd, 6001, 65536);
	static uint8_t chunk[60000];
	struct virtio_vsock_hdr h;
	uint8_t buf[16];
	bool reset = false;
	int sent = 0;

	nonblock(other);
	while (sent < 400 && !reset) {
		gsend(t, 6000, 1234, VIRTIO_VSOCK_OP_RW, 0, chunk, sizeof(chunk), 65536, 0);
		sent++;
		while (grecv(t, &h, NULL))
			if (h.op == VIRTIO_VSOCK_OP_RST && h.dst_port == 6000)
				reset = true;
	}
	assert_true(reset);
	assert_int_equal(stats(t).bad, 1);
	/* the credit given was all taken before the lie: at least BUF_ALLOC was queued */
	assert_true((uint64_t)sent * sizeof(chunk) > VIRTIO_VSOCK_BUF_ALLOC);
	gsend(t, 6001, 1234, VIRTIO_VSOCK_OP_RW, 0, "still", 5, 65536, 0);
	assert_int_equal(read(other, buf, sizeof(buf)), 5);
	close(stalled);
	close(other);
	close(lfd);
	vt_free(t);
}

static void test_hostile_packets(void **state)
{
	struct vt *t = vt_new(8);
	int lfd = listen_at(t, 1234), fd = guest_connect(t, lfd, 7000, 65536);
	struct virtio_vsock_hdr h = {
		.src_cid = CID, .dst_cid = 2, .src_port = 7000, .dst_port = 1234, .len = 10,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = VIRTIO_VSOCK_OP_RW, .buf_alloc = 65536,
	};
	struct virtio_vsock_hdr got;
	char c;

	/* a header len that is not the payload's: the connection is reset */
	gsend_raw(t, &h, "abc", 3, VIRTIO_VSOCK_HDR_LEN);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 7000);
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
	/* an unknown op on a new connection */
	fd = guest_connect(t, lfd, 7001, 65536);
	gsend(t, 7001, 1234, 99, 0, NULL, 0, 65536, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 7001);
	close(fd);
	/* an unknown type, no connection: RST */
	h = (struct virtio_vsock_hdr){ .src_cid = CID, .dst_cid = 2, .src_port = 7002,
				       .dst_port = 1234, .type = 2,
				       .op = VIRTIO_VSOCK_OP_REQUEST };
	gsend_raw(t, &h, NULL, 0, VIRTIO_VSOCK_HDR_LEN);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 7002);
	/* a chain too short for the header; a wrong source CID: dropped silently */
	gsend_raw(t, &h, NULL, 0, 20);
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.src_cid = 99;
	gsend_raw(t, &h, NULL, 0, VIRTIO_VSOCK_HDR_LEN);
	assert_false(grecv(t, &got, NULL));
	/* a RESPONSE to nothing: RST; a second REQUEST on a live connection: reset */
	gsend(t, 7003, 1234, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0, 0, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 7003);
	fd = guest_connect(t, lfd, 7004, 65536);
	gsend(t, 7004, 1234, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, 65536, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 1234, 7004);
	close(fd);
	assert_int_equal(stats(t).bad, 6);
	assert_int_equal(stats(t).no_conn, 1);
	assert_false(mmio_rd(t->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	close(lfd);
	vt_free(t);
}

/* 64 connections at once, each with its own data both ways. */
static void test_64_connections(void **state)
{
	struct vt *t = vt_new(256);
	int lfd = listen_at(t, 1234), fd[64];
	struct virtio_vsock_hdr h;
	uint8_t buf[RXBUF];
	int seen[64] = { 0 };

	for (int i = 0; i < 64; i++)
		fd[i] = guest_connect(t, lfd, 8000 + (uint32_t)i, 65536);
	assert_int_equal(virtio_vsock_nconns(t->dev), 64);
	for (int i = 0; i < 64; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "to-%d", i);

		gsend(t, 8000 + (uint32_t)i, 1234, VIRTIO_VSOCK_OP_RW, 0, msg, (uint32_t)n, 65536, 0);
		assert_int_equal(write(fd[i], msg, (size_t)n), n);
	}
	for (int i = 0; i < 64; i++) {
		char want[16], got[16] = { 0 };
		int n = snprintf(want, sizeof(want), "to-%d", i);

		assert_int_equal(read(fd[i], got, sizeof(got)), n);
		assert_string_equal(got, want);
	}
	virtio_vsock_work(t->dev);
	while (grecv(t, &h, buf)) {
		char want[16];
		int i = (int)h.dst_port - 8000;

		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
		assert_true(i >= 0 && i < 64);
		snprintf(want, sizeof(want), "to-%d", i);
		assert_memory_equal(buf, want, h.len);
		seen[i]++;
	}
	for (int i = 0; i < 64; i++) {
		assert_int_equal(seen[i], 1);
		close(fd[i]);
	}
	close(lfd);
	vt_free(t);
}

static void test_parse(void **state)
{
	uint64_t cid;
	char path[128];

	assert_int_equal(virtio_vsock_parse("cid=3,socket=/tmp/v.sock", &cid, path, sizeof(path)),
			 0);
	assert_int_equal(cid, 3);
	assert_string_equal(path, "/tmp/v.sock");
	assert_int_equal(virtio_vsock_parse("cid=2,socket=/x", &cid, path, sizeof(path)), -1);
	assert_int_equal(virtio_vsock_parse("cid=4294967295,socket=/x", &cid, path, sizeof(path)),
			 -1);
	assert_int_equal(virtio_vsock_parse("cid=3", &cid, path, sizeof(path)), -1);
	assert_int_equal(virtio_vsock_parse("socket=/x", &cid, path, sizeof(path)), -1);
	assert_int_equal(virtio_vsock_parse("cid=3,socket=/x,foo=1", &cid, path, sizeof(path)), -1);
	assert_int_equal(virtio_vsock_parse("cid=3x,socket=/x", &cid, path, sizeof(path)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_connects_and_exchanges),
		cmocka_unit_test(test_guest_closes_host_sees_eof),
		cmocka_unit_test(test_guest_connect_refused),
		cmocka_unit_test(test_host_connects_to_guest),
		cmocka_unit_test(test_host_connect_refused_by_guest_and_bad_hello),
		cmocka_unit_test(test_credit_to_guest),
		cmocka_unit_test(test_stalled_host_and_credit_lie),
		cmocka_unit_test(test_hostile_packets),
		cmocka_unit_test(test_64_connections),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
