/* SPDX-License-Identifier: MIT */
#include "virtio/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/sandbox.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define CONFIG_SIZE 8          /* guest_cid */
#define LISTENER UINT64_MAX    /* epoll tag of the listening socket */
#define HELLO_MAX 64           /* "CONNECT <port>\n" */
#define ORPHAN_RST_MAX 64
#define FIRST_LOCAL_PORT (1u << 30)

enum cstate { C_FREE, C_HELLO, C_REQ_SENT, C_EST };

/* Control packets a connection owes the guest. */
#define P_RST 1u
#define P_RESPONSE 2u
#define P_REQUEST 4u
#define P_SHUTDOWN 8u
#define P_CREDIT 16u

struct vconn {
	enum cstate state;
	int fd;
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;         /* payload bytes sent to the guest */
	uint32_t fwd_cnt;        /* guest bytes written to the host socket */
	uint32_t last_fwd_sent;  /* fwd_cnt the guest was last told */
	uint8_t *buf;            /* guest bytes the host has not taken yet */
	uint32_t buf_off, buf_len;
	unsigned pending;
	bool readable;           /* the host socket may have data */
	bool hup;                /* the host end is gone (epoll HUP/ERR): not watched */
	bool host_eof;
	bool guest_shut_send, guest_shut_rcv;
	uint32_t events;         /* epoll interest now; ~0: not registered */
	char hello[HELLO_MAX];   /* the host's "CONNECT <port>" so far */
	unsigned hello_len;
};

struct orphan_rst {
	uint32_t local_port, peer_port;
};

struct virtio_vsock {
	struct virtio_dev dev;
	uint64_t cid;
	char path[96];           /* PATH_<port> still fits sun_path */
	int listen_fd, epfd;
	void (*kick)(void *opaque);
	void *opaque;
	struct vconn *conn;      /* VIRTIO_VSOCK_MAX_CONNS */
	unsigned high;           /* conn[high..] are all free */
	unsigned rr;             /* round-robin start */
	uint32_t next_port;
	struct orphan_rst orphan[ORPHAN_RST_MAX];
	unsigned norphan;
	struct virtio_vsock_stats st;
	bool have_stash;
	struct virtq_chain stash, chain;
	uint8_t bounce[VIRTIO_VSOCK_MAX_PKT];
};

static struct virtio_vsock *to_vs(struct virtio_dev *d)
{
	return (struct virtio_vsock *)d;
}

int virtio_vsock_parse(const char *opts, uint64_t *cid, char *path, size_t path_size)
{
	char *copy = strdup(opts ? opts : ""), *item, *save = NULL, *end;
	bool have_cid = false;
	int rc = 0;

	if (!copy)
		return err_set("out of memory");
	path[0] = '\0';
	for (item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
		if (!strncmp(item, "cid=", 4)) {
			unsigned long long v;

			errno = 0;
			v = strtoull(item + 4, &end, 0);
			if (errno || end == item + 4 || *end || v < 3 || v >= 0xffffffffULL)
				rc = err_set("--vsock cid='%s': expected 3 to 4294967294 (0-2 are "
					     "reserved, -1 is any)", item + 4);
			*cid = v;
			have_cid = true;
		} else if (!strncmp(item, "socket=", 7)) {
			/* PATH_<port> must fit sun_path too */
			if (!item[7] || strlen(item + 7) >= path_size || strlen(item + 7) > 95)
				rc = err_set("--vsock socket='%s': expected a path of 1 to 95 bytes "
					     "(PATH_<port> must fit a unix socket address)", item + 7);
			else
				snprintf(path, path_size, "%s", item + 7);
		} else {
			rc = err_set("--vsock: unknown option '%s' (expected cid=N,socket=PATH)", item);
		}
	}
	free(copy);
	if (!rc && (!have_cid || !path[0]))
		rc = err_set("--vsock: expected cid=N,socket=PATH");
	return rc;
}

/* ---- connections */

static void set_events(struct virtio_vsock *v, struct vconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u64 = (uint64_t)(c - v->conn) };

	if (c->hup || c->fd < 0 || c->events == ev)
		return;
	if (epoll_ctl(v->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static uint32_t credit(const struct vconn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void update_events(struct virtio_vsock *v, struct vconn *c)
{
	uint32_t ev = 0;

	if (c->state == C_HELLO)
		ev = EPOLLIN;
	else if (c->state == C_EST && !(c->pending & P_RST)) {
		if (!c->readable && !c->host_eof && !c->guest_shut_rcv && credit(c) > 0)
			ev |= EPOLLIN;
		if (c->buf_len)
			ev |= EPOLLOUT;
	}
	set_events(v, c, ev);
}

static struct vconn *find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (unsigned i = 0; i < v->high; i++) {
		struct vconn *c = &v->conn[i];

		if (c->state != C_FREE && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

static bool local_port_used(struct virtio_vsock *v, uint32_t port)
{
	for (unsigned i = 0; i < v->high; i++)
		if (v->conn[i].state != C_FREE && v->conn[i].local_port == port)
			return true;
	return false;
}

static struct vconn *conn_new(struct virtio_vsock *v, int fd, enum cstate state)
{
	struct epoll_event e = { .events = 0 };

	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];

		if (c->state != C_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->state = state;
		c->fd = fd;
		c->events = ~0u;
		e.data.u64 = i;
		if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			c->state = C_FREE;
			return NULL;
		}
		c->events = 0;
		if (i >= v->high)
			v->high = i + 1;
		return c;
	}
	return NULL;
}

static void conn_close_fd(struct virtio_vsock *v, struct vconn *c)
{
	if (c->fd >= 0) {
		if (!c->hup)
			epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->buf_len = c->buf_off = 0;
}

static void conn_free(struct virtio_vsock *v, struct vconn *c)
{
	conn_close_fd(v, c);
	c->state = C_FREE;
	while (v->high && v->conn[v->high - 1].state == C_FREE)
		v->high--;
}

/* Reset per spec: the host socket closed now, RST owed to the guest. */
static void conn_reset(struct virtio_vsock *v, struct vconn *c)
{
	conn_close_fd(v, c);
	if (c->state == C_HELLO) { /* the guest never heard of it */
		conn_free(v, c);
		return;
	}
	c->pending = P_RST;
	v->st.resets_sent++;
}

static void orphan_rst(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	if (v->norphan < ORPHAN_RST_MAX)
		v->orphan[v->norphan++] = (struct orphan_rst){ local, peer };
}

/* ---- to the guest */

/* A usable RX chain, or NULL (none available or the queue broke). */
static struct virtq_chain *rx_chain(struct virtio_vsock *v, struct virtq *q, bool *pushed)
{
	for (;;) {
		if (v->have_stash)
			return &v->stash;
		if (virtq_pop(q, &v->stash) != VIRTQ_POP_CHAIN)
			return NULL;
		if (v->stash.n_out || v->stash.in_len < VIRTIO_VSOCK_HDR_LEN) {
			v->st.bad++;
			virtq_push(q, &v->stash, 0);
			*pushed = true;
			continue;
		}
		v->have_stash = true;
	}
}

static void put_pkt(struct virtio_vsock *v, struct virtq *q, struct vconn *c, uint32_t local,
		    uint32_t peer, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = VIRTIO_VSOCK_HOST_CID, .dst_cid = v->cid, .src_port = local,
		.dst_port = peer, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
		.flags = flags, .buf_alloc = VIRTIO_VSOCK_BUF_ALLOC,
	};

	if (c) {
		h.fwd_cnt = c->fwd_cnt;
		c->last_fwd_sent = c->fwd_cnt;
	}
	virtq_chain_write(&v->stash, 0, &h, VIRTIO_VSOCK_HDR_LEN);
	if (len)
		virtq_chain_write(&v->stash, VIRTIO_VSOCK_HDR_LEN, v->bounce, len);
	virtq_push(q, &v->stash, VIRTIO_VSOCK_HDR_LEN + len);
	v->have_stash = false;
}

/* One control packet of c's; false when there was no buffer. */
static bool send_control(struct virtio_vsock *v, struct virtq *q, struct vconn *c, bool *pushed)
{
	if (!rx_chain(v, q, pushed))
		return false;
	*pushed = true;
	if (c->pending & P_RST) {
		put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RST, 0, 0);
		conn_free(v, c);
	} else if (c->pending & P_RESPONSE) {
		c->pending &= ~P_RESPONSE;
		put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
	} else if (c->pending & P_REQUEST) {
		c->pending &= ~P_REQUEST;
		put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	} else if (c->pending & P_SHUTDOWN) {
		c->pending &= ~(P_SHUTDOWN | P_CREDIT);
		put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_SHUTDOWN,
			VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, 0);
	} else {
		c->pending &= ~P_CREDIT;
		put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
	}
	return true;
}

/* Host data of c into one guest buffer; false when there was no buffer. */
static bool send_data(struct virtio_vsock *v, struct virtq *q, struct vconn *c, bool *pushed)
{
	struct virtq_chain *ch = rx_chain(v, q, pushed);
	uint64_t room;
	ssize_t n;

	if (!ch)
		return false;
	room = ch->in_len - VIRTIO_VSOCK_HDR_LEN;
	if (room > credit(c))
		room = credit(c);
	if (room > VIRTIO_VSOCK_MAX_PKT)
		room = VIRTIO_VSOCK_MAX_PKT;
	if (room == 0) { /* a chain of just the header: no use for data */
		v->st.bad++;
		virtq_push(q, ch, 0);
		v->have_stash = false;
		*pushed = true;
		return true;
	}
	do
		n = read(c->fd, v->bounce, room);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN)
			conn_reset(v, c);
		else
			c->readable = false;
		return true; /* the chain stays for the next packet */
	}
	if (n == 0) {
		c->host_eof = true;
		c->readable = false;
		c->pending |= P_SHUTDOWN;
		return true;
	}
	*pushed = true;
	put_pkt(v, q, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RW, 0, (uint32_t)n);
	c->tx_cnt += (uint32_t)n;
	v->st.rx_bytes += (uint64_t)n;
	return true;
}

static void pump(struct virtio_vsock *v)
{
	struct virtq *q = &v->dev.vq[RXQ];
	bool pushed = false, more = true;
	unsigned budget = 0;

	if (!v->dev.active || !q->ready || q->broken)
		return;
	while (v->norphan && budget < VIRTIO_VSOCK_BUDGET) {
		if (!rx_chain(v, q, &pushed))
			goto out;
		v->norphan--;
		put_pkt(v, q, NULL, v->orphan[v->norphan].local_port, v->orphan[v->norphan].peer_port,
			VIRTIO_VSOCK_OP_RST, 0, 0);
		pushed = true;
		budget++;
	}
	while (more && budget < VIRTIO_VSOCK_BUDGET) {
		unsigned n = v->high;

		more = false;
		for (unsigned k = 0; k < n && budget < VIRTIO_VSOCK_BUDGET; k++) {
			struct vconn *c = &v->conn[(v->rr + k) % n];
			bool ok;

			if (c->state == C_FREE)
				continue;
			if (c->pending && (c->pending != P_CREDIT || c->state == C_EST))
				ok = send_control(v, q, c, &pushed);
			else if (c->state == C_EST && c->readable && !c->host_eof &&
				 !c->guest_shut_rcv && credit(c) > 0)
				ok = send_data(v, q, c, &pushed);
			else
				continue;
			if (!ok)
				goto out; /* no buffers: RX notify brings us back */
			budget++;
			more = true;
		}
		if (n)
			v->rr = (v->rr + 1) % n;
	}
out:
	for (unsigned i = 0; i < v->high; i++)
		if (v->conn[i].state != C_FREE)
			update_events(v, &v->conn[i]);
	if (pushed)
		virtq_notify(q);
	if (budget >= VIRTIO_VSOCK_BUDGET && v->kick)
		v->kick(v->opaque);
}

/* ---- from the guest */

static void flush(struct virtio_vsock *v, struct vconn *c)
{
	while (c->buf_len) {
		ssize_t n = write(c->fd, c->buf + c->buf_off, c->buf_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_reset(v, c); /* the host end is gone */
			return;
		}
		c->buf_off += (uint32_t)n;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (!c->buf_len) {
		c->buf_off = 0;
		if (c->guest_shut_send)
			shutdown(c->fd, SHUT_WR);
	}
	/*
	 * Tell the guest about freed space once a quarter of the buffer is: until
	 * then it still has 3/4 of its credit (every RW to it carries fwd_cnt too).
	 */
	if (c->fwd_cnt - c->last_fwd_sent >= VIRTIO_VSOCK_BUF_ALLOC / 4)
		c->pending |= P_CREDIT;
}

static void rw(struct virtio_vsock *v, struct vconn *c, const struct virtq_chain *ch,
	       uint32_t len)
{
	uint64_t skip = VIRTIO_VSOCK_HDR_LEN;
	uint32_t done = 0;

	if (!len)
		return;
	if ((uint64_t)c->buf_len + len > VIRTIO_VSOCK_BUF_ALLOC) {
		v->st.bad++; /* more than the credit given: a credit lie */
		conn_reset(v, c);
		return;
	}
	v->st.tx_bytes += len;
	if (!c->buf_len && !c->hup) {
		struct iovec iov[VIRTQ_NUM_MAX];
		int cnt = 0;
		ssize_t n;

		for (unsigned i = 0; i < ch->n_out; i++) {
			const struct iovec *x = &ch->iov[i];

			if (skip >= x->iov_len) {
				skip -= x->iov_len;
				continue;
			}
			iov[cnt++] = (struct iovec){ (uint8_t *)x->iov_base + skip, x->iov_len - skip };
			skip = 0;
		}
		do
			n = writev(c->fd, iov, cnt);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			conn_reset(v, c);
			return;
		}
		if (n > 0) {
			done = (uint32_t)n;
			c->fwd_cnt += done;
		}
	}
	if (done < len) {
		if (!c->buf) {
			c->buf = malloc(VIRTIO_VSOCK_BUF_ALLOC);
			if (!c->buf) {
				conn_reset(v, c);
				return;
			}
		}
		if (c->buf_off + c->buf_len + (len - done) > VIRTIO_VSOCK_BUF_ALLOC) {
			memmove(c->buf, c->buf + c->buf_off, c->buf_len);
			c->buf_off = 0;
		}
		virtq_chain_read(ch, VIRTIO_VSOCK_HDR_LEN + done, c->buf + c->buf_off + c->buf_len,
				 len - done);
		c->buf_len += len - done;
	}
	flush(v, c);
}

static void guest_request(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct vconn *c;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%" PRIu32, v->path, h->dst_port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    !(c = conn_new(v, fd, C_EST))) {
		if (fd >= 0)
			close(fd);
		v->st.conns_refused++;
		orphan_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending |= P_RESPONSE;
	v->st.conns_opened++;
}

static void guest_pkt(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vconn *c;

	if (ch->n_in || ch->out_len < VIRTIO_VSOCK_HDR_LEN) {
		v->st.bad++;
		return;
	}
	virtq_chain_read(ch, 0, &h, VIRTIO_VSOCK_HDR_LEN);
	if (h.src_cid != v->cid || h.dst_cid != VIRTIO_VSOCK_HOST_CID) {
		v->st.bad++;
		return;
	}
	c = find(v, h.dst_port, h.src_port);
	if (c && (c->pending & P_RST))
		return; /* being reset: the guest hears RST soon */
	if ((uint64_t)h.len != ch->out_len - VIRTIO_VSOCK_HDR_LEN || h.len > VIRTIO_VSOCK_MAX_PKT ||
	    h.type != VIRTIO_VSOCK_TYPE_STREAM || h.op < VIRTIO_VSOCK_OP_REQUEST ||
	    h.op > VIRTIO_VSOCK_OP_CREDIT_REQUEST ||
	    (h.op != VIRTIO_VSOCK_OP_RW && h.len != 0)) {
		v->st.bad++;
		if (c)
			conn_reset(v, c);
		else if (h.op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (!c) {
		if (h.op == VIRTIO_VSOCK_OP_REQUEST)
			guest_request(v, &h);
		else if (h.op != VIRTIO_VSOCK_OP_RST) {
			v->st.no_conn++;
			orphan_rst(v, h.dst_port, h.src_port);
		}
		return;
	}
	/* The peer's credit: it cannot have taken more than was sent. */
	if ((uint32_t)(h.fwd_cnt - c->peer_fwd_cnt) > (uint32_t)(c->tx_cnt - c->peer_fwd_cnt)) {
		v->st.bad++;
		conn_reset(v, c);
		return;
	}
	c->peer_fwd_cnt = h.fwd_cnt;
	c->peer_buf_alloc = h.buf_alloc;
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RST:
		conn_free(v, c);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != C_REQ_SENT) {
			v->st.bad++;
			conn_reset(v, c);
			return;
		}
		{
			char ok[32];
			int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->local_port);

			c->state = C_EST;
			v->st.conns_opened++;
			if (write(c->fd, ok, (size_t)n) != n)
				conn_reset(v, c);
			else
				c->readable = true;
		}
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c->state != C_EST)
			break;
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (c->guest_shut_rcv && c->guest_shut_send) {
			/* both ways closed: done; RST ends it (as Firecracker does) */
			conn_close_fd(v, c);
			c->pending = P_RST;
		} else if (c->guest_shut_send && !c->buf_len && c->fd >= 0) {
			shutdown(c->fd, SHUT_WR);
		}
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != C_EST || c->guest_shut_send)
			break;
		rw(v, c, ch, h.len);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return; /* taken above */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c->state == C_EST)
			c->pending |= P_CREDIT;
		return;
	case VIRTIO_VSOCK_OP_REQUEST:
	default:
		break;
	}
	/* an op this connection's state does not allow */
	v->st.bad++;
	conn_reset(v, c);
}

static void tx(struct virtio_vsock *v)
{
	struct virtq *q = &v->dev.vq[TXQ];
	bool pushed = false;
	unsigned budget;

	for (budget = 0; budget < VIRTIO_VSOCK_BUDGET; budget++) {
		if (virtq_pop(q, &v->chain) != VIRTQ_POP_CHAIN)
			break;
		guest_pkt(v, &v->chain);
		virtq_push(q, &v->chain, 0);
		pushed = true;
	}
	if (pushed)
		virtq_notify(q);
	if (budget == VIRTIO_VSOCK_BUDGET && v->kick)
		v->kick(v->opaque);
}

/* ---- from the host */

static void host_accept(struct virtio_vsock *v)
{
	for (unsigned i = 0; i < VIRTIO_VSOCK_BUDGET; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (!v->dev.active || !conn_new(v, fd, C_HELLO)) {
			close(fd); /* no guest driver, or too many connections */
			v->st.conns_refused++;
			continue;
		}
	}
}

static void host_hello(struct virtio_vsock *v, struct vconn *c)
{
	char *end;
	unsigned long port;

	/* Byte by byte up to the newline: what follows it is the stream's. */
	for (;;) {
		char ch;
		ssize_t n = recv(c->fd, &ch, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || c->hello_len >= HELLO_MAX - 1) {
			conn_free(v, c); /* closed, or no line: not our protocol */
			return;
		}
		if (ch == '\n')
			break;
		c->hello[c->hello_len++] = ch;
	}
	c->hello[c->hello_len] = '\0';
	if (c->hello_len && c->hello[c->hello_len - 1] == '\r')
		c->hello[c->hello_len - 1] = '\0';
	errno = 0;
	port = strncmp(c->hello, "CONNECT ", 8) ? 0 : strtoul(c->hello + 8, &end, 10);
	if (strncmp(c->hello, "CONNECT ", 8) || errno || end == c->hello + 8 || *end ||
	    port > UINT32_MAX) {
		conn_free(v, c);
		return;
	}
	do
		v->next_port = v->next_port + 1 < FIRST_LOCAL_PORT ? FIRST_LOCAL_PORT
								  : v->next_port + 1;
	while (local_port_used(v, v->next_port));
	c->local_port = v->next_port;
	c->peer_port = (uint32_t)port;
	c->state = C_REQ_SENT;
	c->pending |= P_REQUEST;
}

static void host_events(struct virtio_vsock *v)
{
	struct epoll_event ev[64];
	int n = epoll_wait(v->epfd, ev, 64, 0);

	for (int i = 0; i < n; i++) {
		struct vconn *c;

		if (ev[i].data.u64 == LISTENER) {
			host_accept(v);
			continue;
		}
		if (ev[i].data.u64 >= VIRTIO_VSOCK_MAX_CONNS)
			continue;
		c = &v->conn[ev[i].data.u64];
		if (c->state == C_FREE || c->fd < 0)
			continue;
		if (c->state == C_HELLO) {
			host_hello(v, c);
			continue;
		}
		if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
			/* gone: read what is left, then EOF; stop watching */
			epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->hup = true;
			c->readable = true;
			if (c->buf_len) {
				conn_reset(v, c);
				continue;
			}
		}
		if (ev[i].events & EPOLLIN)
			c->readable = true;
		if ((ev[i].events & EPOLLOUT) && c->buf_len)
			flush(v, c);
	}
}

/* ---- virtio_dev_ops and the API */

static void vs_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *v = to_vs(d);

	if (q == TXQ)
		tx(v);
	pump(v); /* RX buffers, or answers to what the guest sent */
}

void virtio_vsock_work(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vs(d);

	pthread_mutex_lock(&d->lock);
	host_events(v);
	if (d->active) {
		tx(v);
		pump(v);
	}
	pthread_mutex_unlock(&d->lock);
}

static uint64_t vs_features(struct virtio_dev *d)
{
	return 0; /* stream sockets only (no SEQPACKET) */
}

static void vs_config_read(struct virtio_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
	uint64_t cid = to_vs(d)->cid;

	memcpy(buf, (uint8_t *)&cid + off, len);
}

static void close_all(struct virtio_vsock *v)
{
	for (unsigned i = 0; i < v->high; i++)
		if (v->conn[i].state != C_FREE)
			conn_free(v, &v->conn[i]);
	v->high = 0;
	v->norphan = 0;
	v->have_stash = false;
}

static void vs_reset(struct virtio_dev *d)
{
	close_all(to_vs(d)); /* the guest's sockets are gone: so are the host's */
}

static int vs_activate(struct virtio_dev *d, uint64_t features)
{
	close_all(to_vs(d));
	return 0;
}

static void vs_free(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vs(d);

	close_all(v);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	if (v->epfd >= 0)
		close(v->epfd);
	free(v->conn);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.config_size = CONFIG_SIZE,
	.features = vs_features,
	.config_read = vs_config_read,
	.activate = vs_activate,
	.reset = vs_reset,
	.queue_notify = vs_queue_notify,
	.free = vs_free,
};

struct virtio_dev *virtio_vsock_new(const struct virtio_vsock_opts *o)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = LISTENER };
	struct stat st;

	if (!v || !(v->conn = calloc(VIRTIO_VSOCK_MAX_CONNS, sizeof(*v->conn)))) {
		free(v);
		err_set("%s: out of memory", o->name);
		return NULL;
	}
	virtio_dev_init(&v->dev, &vsock_ops, o->name);
	v->cid = o->guest_cid;
	v->kick = o->kick;
	v->opaque = o->opaque;
	v->next_port = FIRST_LOCAL_PORT - 1;
	v->listen_fd = v->epfd = -1;
	snprintf(v->path, sizeof(v->path), "%s", o->path);
	if (strlen(o->path) >= sizeof(v->path)) {
		err_set("--vsock socket=%s: path too long for a unix socket", o->path);
		goto fail;
	}
	if (lstat(o->path, &st) == 0) {
		err_set("--vsock socket=%s: the path exists (remove it, or give another)", o->path);
		goto fail;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", o->path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0) {
		err_errno("--vsock: socket");
		goto fail;
	}
	if (bind(v->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err_errno("--vsock socket=%s: cannot create it", o->path);
		close(v->listen_fd);
		v->listen_fd = -1;
		goto fail;
	}
	/* Removed at the end: the sandbox keeps its directory writable. */
	if (sandbox_note_socket(o->path, false) < 0)
		goto fail;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (listen(v->listen_fd, 128) < 0 || v->epfd < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &e) < 0) {
		err_errno("--vsock socket=%s: listen", o->path);
		goto fail;
	}
	return &v->dev;
fail:
	virtio_dev_free(&v->dev);
	return NULL;
}

int virtio_vsock_fd(struct virtio_dev *d)
{
	return to_vs(d)->epfd;
}

void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *s)
{
	pthread_mutex_lock(&d->lock);
	*s = to_vs(d)->st;
	pthread_mutex_unlock(&d->lock);
}

unsigned virtio_vsock_nconns(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vs(d);
	unsigned n = 0;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < v->high; i++)
		n += v->conn[i].state != C_FREE;
	pthread_mutex_unlock(&d->lock);
	return n;
}
