/* SPDX-License-Identifier: MIT */
#include "virtio/console.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1

struct virtio_console {
	struct virtio_dev dev;
	struct virtio_console_ops ops;
	struct virtq_chain chain;
};

static void tx(struct virtio_console *con, struct virtq *q)
{
	bool pushed = false;

	while (virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
		for (unsigned i = 0; i < con->chain.n_out; i++)
			con->ops.write(con->ops.opaque, con->chain.iov[i].iov_base,
				       con->chain.iov[i].iov_len);
		virtq_push(q, &con->chain, 0);
		pushed = true;
	}
	if (pushed)
		virtq_notify(q);
}

static void console_queue_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_console *con = (struct virtio_console *)d;

	if (qi == TXQ)
		tx(con, &d->vq[TXQ]);
	else if (con->ops.rx_ready)
		con->ops.rx_ready(con->ops.opaque);
}

size_t virtio_console_input(struct virtio_dev *d, const void *buf, size_t len)
{
	struct virtio_console *con = (struct virtio_console *)d;
	struct virtq *q = &d->vq[RXQ];
	const uint8_t *in = buf;
	size_t done = 0;
	bool pushed = false;

	pthread_mutex_lock(&d->lock);
	while (d->active && done < len && virtq_pop(q, &con->chain) == VIRTQ_POP_CHAIN) {
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

/*
 * DRIVER_OK: let the VMM offer what it kept.  A driver may have posted
 * receive buffers (and notified, ignored then) before it set DRIVER_OK.
 */
static int console_activate(struct virtio_dev *d, uint64_t features)
{
	struct virtio_console *con = (struct virtio_console *)d;

	if (con->ops.rx_ready)
		con->ops.rx_ready(con->ops.opaque);
	return 0;
}

static uint64_t console_features(struct virtio_dev *d)
{
	return VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
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
	.num_queues = 2,
	.config_size = CONSOLE_CONFIG_SIZE,
	.features = console_features,
	.config_read = console_config_read,
	.config_write = console_config_write,
	.activate = console_activate,
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
	return &con->dev;
}
