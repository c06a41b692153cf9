/* SPDX-License-Identifier: MIT */
#include "virtio/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "virtio/virtqueue.h"

#define NET_CONFIG_SIZE 12 /* mac[6], status, max_virtqueue_pairs, mtu */
#define RXBUF_SIZE (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)

/* One receive buffer taken for the frame being delivered (MRG_RXBUF). */
struct rx_part {
	uint16_t head;
	uint32_t in_len, written;
};

struct virtio_net {
	struct virtio_dev dev;
	uint8_t mac[6];
	bool no_offload;
	struct virtio_net_backend be;
	struct virtio_net_stats st;
	/* receive: the frame read from the backend and not yet delivered */
	uint8_t *rxbuf;
	size_t rx_len;             /* 0: none pending */
	uint64_t rx_off;           /* bytes of it written into guest buffers */
	bool rx_polling;
	bool have_stash;           /* without MRG_RXBUF: a chain too small for the last frame */
	struct virtq_chain stash;
	struct virtq_chain first;  /* MRG_RXBUF: the frame's first buffer */
	struct rx_part part[VIRTQ_NUM_MAX];
	unsigned nparts;
	/* transmit */
	struct virtq_chain chain;
	struct iovec txiov[VIRTQ_NUM_MAX + 1];
};

static struct virtio_net *to_net(struct virtio_dev *d)
{
	return (struct virtio_net *)d;
}

/* ---- pure helpers */

int virtio_net_check_tx(const struct virtio_net_hdr *h, uint64_t features, uint64_t frame_len,
			const char **why)
{
	uint64_t gso_feats = VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);
	uint64_t max = (features & gso_feats) ? VIRTIO_NET_MAX_FRAME : VIRTIO_NET_MAX_PLAIN;
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	*why = NULL;
	if (frame_len < 14)
		*why = "frame shorter than an Ethernet header";
	else if (frame_len > max)
		*why = "frame longer than the negotiated maximum";
	else if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		*why = "unknown header flags";
	else if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
		 !(features & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN)))
		*why = "GSO ECN not negotiated";
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(features & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)))
		*why = "TSO4 not negotiated";
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(features & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6)))
		*why = "TSO6 not negotiated";
	else if (gso == VIRTIO_NET_HDR_GSO_UDP && !(features & VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO)))
		*why = "UFO not negotiated";
	else if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
		 gso != VIRTIO_NET_HDR_GSO_TCPV6 && gso != VIRTIO_NET_HDR_GSO_UDP)
		*why = "unknown GSO type";
	else if (gso != VIRTIO_NET_HDR_GSO_NONE && h->gso_size == 0)
		*why = "GSO with a segment size of 0";
	else if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		 !(features & VIRTIO_BIT(VIRTIO_NET_F_CSUM)))
		*why = "NEEDS_CSUM without CSUM negotiated";
	else if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		 (uint64_t)h->csum_start + h->csum_offset + 2 > frame_len)
		*why = "checksum position outside the frame";
	return *why ? -1 : 0;
}

void virtio_net_default_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a of "skyvm:" + name */
	const char *p;

	for (p = "skyvm:"; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	for (p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return err_set("MAC '%s': expected six hex bytes, aa:bb:cc:dd:ee:ff", s);
	for (int i = 0; i < 6; i++) {
		if (s[3 * i] == ' ' || s[3 * i] == '+' || s[3 * i] == '-' ||
		    (i < 5 && s[3 * i + 2] != ':'))
			return err_set("MAC '%s': expected six hex bytes, aa:bb:cc:dd:ee:ff", s);
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return err_set("MAC '%s' is a multicast address (lowest bit of the first byte set)",
			       s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return err_set("MAC '%s': all zeroes", s);
	return 0;
}

/* ---- receive */

/*
 * Mark a frame's buffer used without publishing it (virtq_fill(), which
 * needs only the head and the writable length): the frame's buffers are
 * published together with virtq_flush(), as the spec requires of a
 * mergeable frame (a driver that sees the first with num_buffers = N and
 * not yet the N-1 others drops the frame, then takes each of the others for
 * a frame of its own, its payload read as a header).
 */
static void fill_part(struct virtq *q, const struct rx_part *p)
{
	static __thread struct virtq_chain c;

	c.head = p->head;
	c.in_len = p->in_len;
	virtq_fill(q, &c, p->written);
}

static void rx_drop_frame(struct virtio_net *n)
{
	n->rx_len = 0;
	n->rx_off = 0;
	n->nparts = 0;
}

static void set_polling(struct virtio_net *n, bool on)
{
	if (n->rx_polling != on && n->be.rx_poll)
		n->be.rx_poll(n->be.opaque, on);
	n->rx_polling = on;
}

enum deliver { DELIVERED, NEED_BUFFERS, QUEUE_BROKEN };

/* A usable receive chain: device-writable only, room for the header. */
static bool rx_chain_ok(const struct virtq_chain *c, bool first)
{
	return c->n_out == 0 && c->n_in > 0 && (!first || c->in_len >= VIRTIO_NET_HDR_LEN);
}

static enum deliver deliver_one(struct virtio_net *n, struct virtq *q, bool *pushed)
{
	uint16_t one = 1;

	for (;;) {
		struct virtq_chain *c = &n->stash;

		if (!n->have_stash) {
			int r = virtq_pop(q, c);

			if (r == VIRTQ_POP_EMPTY)
				return NEED_BUFFERS;
			if (r != VIRTQ_POP_CHAIN)
				return QUEUE_BROKEN;
		}
		n->have_stash = false;
		if (!rx_chain_ok(c, true)) {
			n->st.rx_bad++;
			virtq_push(q, c, 0);
			*pushed = true;
			continue;
		}
		if (c->in_len < n->rx_len) {
			/* Frame too big for the buffers the driver gives: drop it,
			 * keep the chain for the next frame. */
			n->st.rx_dropped++;
			n->have_stash = true;
			rx_drop_frame(n);
			return DELIVERED;
		}
		memcpy(n->rxbuf + 10, &one, 2); /* num_buffers */
		virtq_chain_write(c, 0, n->rxbuf, n->rx_len);
		virtq_push(q, c, (uint32_t)n->rx_len);
		*pushed = true;
		n->st.rx_frames++;
		n->st.rx_bytes += n->rx_len - VIRTIO_NET_HDR_LEN;
		rx_drop_frame(n);
		return DELIVERED;
	}
}

/* Give back what the frame took, written or not, with length 0. */
static void mrg_abandon(struct virtio_net *n, struct virtq *q, bool *pushed)
{
	for (unsigned i = 0; i < n->nparts; i++) {
		n->part[i].written = 0;
		fill_part(q, &n->part[i]);
		*pushed = true;
	}
	virtq_flush(q);
	n->st.rx_dropped++;
	rx_drop_frame(n);
}

static enum deliver deliver_mrg(struct virtio_net *n, struct virtq *q, bool *pushed)
{
	struct virtq_chain *c = &n->chain;
	uint16_t nb;

	while (n->rx_off < n->rx_len) {
		int r;
		uint64_t w;

		if (n->nparts >= q->num) {
			/* every buffer the queue can hold, and the frame still does not fit */
			mrg_abandon(n, q, pushed);
			return DELIVERED;
		}
		r = virtq_pop(q, c);
		if (r == VIRTQ_POP_EMPTY)
			return NEED_BUFFERS;
		if (r != VIRTQ_POP_CHAIN)
			return QUEUE_BROKEN;
		if (!rx_chain_ok(c, n->nparts == 0)) {
			n->st.rx_bad++;
			virtq_push(q, c, 0);
			*pushed = true;
			if (n->nparts)
				mrg_abandon(n, q, pushed);
			else
				continue;
			return DELIVERED;
		}
		w = virtq_chain_write(c, 0, n->rxbuf + n->rx_off, n->rx_len - n->rx_off);
		if (n->nparts == 0)
			n->first = *c;
		n->part[n->nparts++] = (struct rx_part){ c->head, (uint32_t)c->in_len, (uint32_t)w };
		n->rx_off += w;
	}
	nb = (uint16_t)n->nparts;
	virtq_chain_write(&n->first, 10, &nb, 2);
	for (unsigned i = 0; i < n->nparts; i++)
		fill_part(q, &n->part[i]);
	virtq_flush(q); /* all of the frame's buffers at once */
	*pushed = true;
	n->st.rx_frames++;
	n->st.rx_bytes += n->rx_len - VIRTIO_NET_HDR_LEN;
	rx_drop_frame(n);
	return DELIVERED;
}

static void rx_locked(struct virtio_net *n)
{
	struct virtq *q = &n->dev.vq[VIRTIO_NET_RXQ];
	bool mrg = n->dev.features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	bool pushed = false;

	if (!n->dev.active || !q->ready || q->broken) {
		set_polling(n, false);
		return;
	}
	for (unsigned budget = 0; budget < VIRTIO_NET_BUDGET; budget++) {
		enum deliver r;

		if (!n->rx_len) {
			ssize_t got = n->be.recv(n->be.opaque, n->rxbuf, RXBUF_SIZE);

			if (got < 0) {
				/* EAGAIN: all read; anything else: the backend's own trouble,
				 * retried when it is readable again */
				set_polling(n, true);
				break;
			}
			if ((size_t)got < VIRTIO_NET_HDR_LEN + 14) {
				n->st.rx_dropped++; /* not a frame */
				continue;
			}
			n->rx_len = (size_t)got;
			n->rx_off = 0;
		}
		r = mrg ? deliver_mrg(n, q, &pushed) : deliver_one(n, q, &pushed);
		if (r == NEED_BUFFERS) {
			set_polling(n, false); /* until the driver posts buffers */
			break;
		}
		if (r == QUEUE_BROKEN) {
			rx_drop_frame(n);
			set_polling(n, false); /* until reset */
			break;
		}
		set_polling(n, true);
	}
	if (pushed)
		virtq_notify(q);
}

void virtio_net_rx(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	if (!to_net(d)->be.start) /* else the backend serves the queues */
		rx_locked(to_net(d));
	pthread_mutex_unlock(&d->lock);
}

/* ---- transmit */

static void tx_locked(struct virtio_net *n)
{
	struct virtq *q = &n->dev.vq[VIRTIO_NET_TXQ];
	struct virtq_chain *c = &n->chain;
	bool pushed = false;
	unsigned budget;

	if (!n->dev.active)
		return;
	for (budget = 0; budget < VIRTIO_NET_BUDGET; budget++) {
		struct virtio_net_hdr h;
		const char *why;
		uint64_t skip = VIRTIO_NET_HDR_LEN;
		int cnt = 1;

		if (virtq_pop(q, c) != VIRTQ_POP_CHAIN)
			break;
		pushed = true;
		if (c->n_in || c->out_len < VIRTIO_NET_HDR_LEN) {
			n->st.tx_bad++;
			virtq_push(q, c, 0);
			continue;
		}
		/* A copy: the guest may change its header after we checked it. */
		virtq_chain_read(c, 0, &h, VIRTIO_NET_HDR_LEN);
		h.num_buffers = 0;
		if (virtio_net_check_tx(&h, n->dev.features, c->out_len - VIRTIO_NET_HDR_LEN,
					&why) < 0) {
			n->st.tx_bad++;
			virtq_push(q, c, 0);
			continue;
		}
		n->txiov[0] = (struct iovec){ &h, VIRTIO_NET_HDR_LEN };
		for (unsigned i = 0; i < c->n_out; i++) {
			const struct iovec *v = &c->iov[i];

			if (skip >= v->iov_len) {
				skip -= v->iov_len;
				continue;
			}
			n->txiov[cnt++] = (struct iovec){ (uint8_t *)v->iov_base + skip,
							  v->iov_len - skip };
			skip = 0;
		}
		if (n->be.send(n->be.opaque, n->txiov, cnt) < 0) {
			n->st.tx_dropped++;
		} else {
			n->st.tx_frames++;
			n->st.tx_bytes += c->out_len - VIRTIO_NET_HDR_LEN;
		}
		virtq_push(q, c, 0);
	}
	if (pushed)
		virtq_notify(q);
	if (budget == VIRTIO_NET_BUDGET && n->be.kick)
		n->be.kick(n->be.opaque, VIRTIO_NET_TXQ);
}

/* ---- virtio_dev_ops */

static void net_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = to_net(d);

	if (n->be.start)
		return; /* the backend serves the queues (vhost-net) */
	if (q == VIRTIO_NET_TXQ)
		tx_locked(n);
	else if (q == VIRTIO_NET_RXQ)
		rx_locked(n); /* new buffers: deliver what waits, poll again */
}

void virtio_net_queue_work(struct virtio_dev *d, unsigned q)
{
	pthread_mutex_lock(&d->lock);
	if (d->active)
		net_queue_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

static uint64_t net_features(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	if (!n->no_offload)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
	return f;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct virtio_net *n = to_net(d);
	uint8_t cfg[NET_CONFIG_SIZE];
	uint16_t status = VIRTIO_NET_S_LINK_UP, pairs = 1, mtu = 1500;

	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	memcpy(buf, cfg + off, len);
}

static void rx_reset(struct virtio_net *n)
{
	rx_drop_frame(n);
	n->have_stash = false;
}

static int net_activate(struct virtio_dev *d, uint64_t features)
{
	struct virtio_net *n = to_net(d);

	rx_reset(n);
	if (n->be.set_offload && n->be.set_offload(n->be.opaque, features) < 0)
		return -1;
	if (n->be.start) {
		struct virtio_net_ring_info ri[2];

		for (unsigned q = 0; q < 2; q++)
			ri[q] = (struct virtio_net_ring_info){
				.ready = d->vq[q].ready && !d->vq[q].broken, .num = d->vq[q].num,
				.next_avail = d->vq[q].last_avail, .desc = d->vq[q].desc,
				.avail = d->vq[q].avail, .used = d->vq[q].used,
			};
		return n->be.start(n->be.opaque, features, ri, 2);
	}
	n->rx_polling = false;
	set_polling(n, true);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);

	rx_reset(n);
	if (n->be.stop)
		n->be.stop(n->be.opaque);
	if (!n->be.start)
		set_polling(n, false);
}

static void net_free(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);

	free(n->rxbuf);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.config_size = NET_CONFIG_SIZE,
	.features = net_features,
	.config_read = net_config_read,
	.activate = net_activate,
	.reset = net_reset,
	.queue_notify = net_queue_notify,
	.free = net_free,
};

struct virtio_dev *virtio_net_new(const struct virtio_net_opts *o)
{
	struct virtio_net *n;

	if (!o->be.send || !o->be.recv) {
		err_set("%s: a backend with send and recv is required", o->name);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->rxbuf = malloc(RXBUF_SIZE);
	if (!n || !n->rxbuf) {
		free(n);
		err_set("%s: out of memory", o->name);
		return NULL;
	}
	virtio_dev_init(&n->dev, &net_ops, o->name);
	memcpy(n->mac, o->mac, 6);
	n->no_offload = o->no_offload;
	n->be = o->be;
	return &n->dev;
}

void virtio_net_backend_used(struct virtio_dev *d, unsigned q)
{
	struct virtq *vq = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->active && q < d->ops->num_queues)
		vq = &d->vq[q];
	pthread_mutex_unlock(&d->lock);
	/* the transport's interrupt path takes only its interrupt lock */
	if (vq && vq->host && vq->host->interrupt)
		vq->host->interrupt(vq->host->opaque, vq);
}

void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *s)
{
	pthread_mutex_lock(&d->lock);
	*s = to_net(d)->st;
	pthread_mutex_unlock(&d->lock);
}
