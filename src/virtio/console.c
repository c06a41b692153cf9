/* SPDX-License-Identifier: MIT */
#include "virtio/console.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define CRXQ 2 /* control receiveq: device -> driver (MULTIPORT) */
#define CTXQ 3 /* control transmitq: driver -> device (MULTIPORT) */

#define CTRL_LEN 8     /* struct virtio_console_control: le32 id, le16 event, le16 value */
#define CTRL_PENDING 8 /* control messages kept while the driver has no control buffers */

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
};

struct virtio_console {
	struct virtio_dev dev;
	struct virtio_console_ops ops;
	struct virtq_chain chain;
	/* MULTIPORT state, under dev.lock */
	bool offer_multiport;
	bool port_open;  /* the driver sent PORT_OPEN(0, 1) */
	bool written;    /* without MULTIPORT: the driver transmitted on port 0 */
	struct ctrl_msg out[CTRL_PENDING];
	unsigned nout;
	unsigned long bad_control;
};

static bool multiport(const struct virtio_console *con)
{
	return con->dev.features & VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
}

/* Input is taken: with MULTIPORT after PORT_OPEN, without after the first transmit. */
static bool takes_input(const struct virtio_console *con)
{
	return con->dev.active && (multiport(con) ? con->port_open : con->written);
}

static void tx(struct virtio_console *con, struct virtq *q)
{
	bool pushed = false;
	bool was = con->written;

	while (virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
		for (unsigned i = 0; i < con->chain.n_out; i++)
			con->ops.write(con->ops.opaque, con->chain.iov[i].iov_base,
				       con->chain.iov[i].iov_len);
		virtq_push(q, &con->chain, 0);
		pushed = true;
		con->written = true;
	}
	if (pushed)
		virtq_notify(q);
	if (!was && con->written && !multiport(con) && con->ops.rx_ready)
		con->ops.rx_ready(con->ops.opaque);
}

/* Hand queued control messages to the driver's control receive buffers. */
static void ctrl_flush(struct virtio_console *con)
{
	struct virtq *q = &con->dev.vq[CRXQ];
	bool pushed = false;

	while (con->nout && virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
		struct ctrl_msg *m = &con->out[0];
		uint8_t b[CTRL_LEN];
		uint64_t n;

		memcpy(b, &m->id, 4); /* little-endian host (x86) */
		memcpy(b + 4, &m->event, 2);
		memcpy(b + 6, &m->value, 2);
		n = virtq_chain_write(&con->chain, 0, b, CTRL_LEN);
		virtq_push(q, &con->chain, (uint32_t)n);
		pushed = true;
		if (n < CTRL_LEN) {
			/* a buffer too short for a message: returned empty, message kept */
			con->bad_control++;
			continue;
		}
		memmove(&con->out[0], &con->out[1], (con->nout - 1) * sizeof(con->out[0]));
		con->nout--;
	}
	if (pushed)
		virtq_notify(q);
}

static void ctrl_send(struct virtio_console *con, uint32_t id, uint16_t event, uint16_t value)
{
	if (con->nout == CTRL_PENDING) {
		con->bad_control++; /* a driver that floods requests loses the replies */
		return;
	}
	con->out[con->nout++] = (struct ctrl_msg){.id = id, .event = event, .value = value};
}

static void ctrl_handle(struct virtio_console *con, uint32_t id, uint16_t event, uint16_t value)
{
	if (event != VIRTIO_CONSOLE_DEVICE_READY && id != 0) {
		con->bad_control++; /* one port only: id 0 */
		return;
	}
	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY: /* id is unused (Linux sends ~0) */
		if (value)
			ctrl_send(con, 0, VIRTIO_CONSOLE_PORT_ADD, 1);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		if (value) {
			ctrl_send(con, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
			ctrl_send(con, 0, VIRTIO_CONSOLE_PORT_OPEN, 1); /* host side is connected */
		}
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		con->port_open = value != 0;
		if (con->port_open && con->ops.rx_ready)
			con->ops.rx_ready(con->ops.opaque);
		break;
	default: /* PORT_ADD, CONSOLE_PORT, ... come from the device, never to it */
		con->bad_control++;
		break;
	}
}

static void ctrl_rx(struct virtio_console *con)
{
	struct virtq *q = &con->dev.vq[CTXQ];
	bool pushed = false;

	while (virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
		uint8_t b[CTRL_LEN];
		uint32_t id;
		uint16_t event, value;

		if (virtq_chain_read(&con->chain, 0, b, CTRL_LEN) < CTRL_LEN) {
			con->bad_control++; /* short message: ignored */
		} else {
			memcpy(&id, b, 4);
			memcpy(&event, b + 4, 2);
			memcpy(&value, b + 6, 2);
			ctrl_handle(con, id, event, value);
		}
		virtq_push(q, &con->chain, 0);
		pushed = true;
	}
	if (pushed)
		virtq_notify(q);
	ctrl_flush(con);
}

static void console_queue_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_console *con = (struct virtio_console *)d;

	if (qi == TXQ) {
		tx(con, &d->vq[TXQ]);
	} else if (qi == RXQ) {
		if (con->ops.rx_ready)
			con->ops.rx_ready(con->ops.opaque);
	} else if (multiport(con)) {
		if (qi == CTXQ)
			ctrl_rx(con);
		else
			ctrl_flush(con);
	}
}

static void console_reset(struct virtio_dev *d)
{
	struct virtio_console *con = (struct virtio_console *)d;

	con->port_open = false;
	con->written = false;
	con->nout = 0;
}

bool virtio_console_port_open(struct virtio_dev *d)
{
	struct virtio_console *con = (struct virtio_console *)d;
	bool open;

	pthread_mutex_lock(&d->lock);
	open = takes_input(con);
	pthread_mutex_unlock(&d->lock);
	return open;
}

unsigned long virtio_console_bad_control(struct virtio_dev *d)
{
	struct virtio_console *con = (struct virtio_console *)d;
	unsigned long n;

	pthread_mutex_lock(&d->lock);
	n = con->bad_control;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t virtio_console_input(struct virtio_dev *d, const void *buf, size_t len)
{
	struct virtio_console *con = (struct virtio_console *)d;
	struct virtq *q = &d->vq[RXQ];
	const uint8_t *in = buf;
	size_t done = 0;
	bool pushed = false;

	pthread_mutex_lock(&d->lock);
	/* Nothing until the port is known to be set up: Linux drops what
	 * arrives before (see console.h). */
	while (takes_input(con) && done < len && virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
		uint64_t n = virtq_chain_write(&con->chain, 0, in + done, len - done);

		virtq_push(q, &con->chain, (uint32_t)n);
		pushed = true;
		done += n;
	}
	if (pushed)
		virtq_notify(q);
	pthread_mutex_unlock(&d->lock);
	return done;
}

static uint64_t console_features(struct virtio_dev *d)
{
	struct virtio_console *con = (struct virtio_console *)d;

	return VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE) |
	       (con->offer_multiport ? VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT) : 0);
}

/* struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr */
#define CONSOLE_CONFIG_SIZE 12

static void console_config_read(struct virtio_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
	uint8_t cfg[CONSOLE_CONFIG_SIZE] = {0};
	uint32_t ports = 1;

	memcpy(cfg + 4, &ports, 4);
	memcpy(buf, cfg + off, len);
}

static void console_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *buf,
				 uint32_t len)
{
	struct virtio_console *con = (struct virtio_console *)d;

	/* emerg_wr: one character, in the low byte (spec 5.3.4) */
	if (off == 8 && (d->features & VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE)))
		con->ops.write(con->ops.opaque, buf, 1);
}

static void console_free(struct virtio_dev *d)
{
	free(d);
}

static const struct virtio_dev_ops console_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 4, /* port 0 rx/tx, control rx/tx (used with MULTIPORT only) */
	.config_size = CONSOLE_CONFIG_SIZE,
	.features = console_features,
	.config_read = console_config_read,
	.config_write = console_config_write,
	.reset = console_reset,
	.queue_notify = console_queue_notify,
	.free = console_free,
};

struct virtio_dev *virtio_console_new(const struct virtio_console_opts *o)
{
	struct virtio_console *con;

	if (!o->ops.write) {
		err_set("%s: a write callback is required", o->name);
		return NULL;
	}
	con = calloc(1, sizeof(*con));
	if (!con) {
		err_set("%s: out of memory", o->name);
		return NULL;
	}
	virtio_dev_init(&con->dev, &console_ops, o->name);
	con->ops = o->ops;
	con->offer_multiport = o->multiport;
	return &con->dev;
}
