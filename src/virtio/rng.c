/* SPDX-License-Identifier: MIT */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "util/err.h"
#include "virtio/virtqueue.h"

struct virtio_rng {
	struct virtio_dev dev;
	ssize_t (*fill)(void *opaque, void *buf, size_t len);
	void *opaque;
	struct virtq_chain chain;
};

static ssize_t fill_getrandom(void *opaque, void *buf, size_t len)
{
	return getrandom(buf, len, 0);
}

/* Fill the chain's writable part, up to VIRTIO_RNG_MAX_FILL bytes. */
static uint32_t fill_chain(struct virtio_rng *r, const struct virtq_chain *c)
{
	uint64_t done = 0;

	for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < VIRTIO_RNG_MAX_FILL; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t want = c->iov[i].iov_len, got = 0;

		if (want > VIRTIO_RNG_MAX_FILL - done)
			want = (size_t)(VIRTIO_RNG_MAX_FILL - done);
		while (got < want) {
			ssize_t n = r->fill(r->opaque, p + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return (uint32_t)(done + got); /* what is there is random */
			got += (size_t)n;
		}
		done += got;
	}
	return (uint32_t)done;
}

static void rng_queue_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_rng *r = (struct virtio_rng *)d;
	struct virtq *q = &d->vq[qi];
	bool pushed = false;

	while (virtq_pop(q, &r->chain) == VIRTQ_POP_CHAIN) {
		virtq_push(q, &r->chain, fill_chain(r, &r->chain));
		pushed = true;
	}
	if (pushed)
		virtq_notify(q);
}

static uint64_t rng_features(struct virtio_dev *d)
{
	return 0;
}

static void rng_config_read(struct virtio_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
}

static void rng_free(struct virtio_dev *d)
{
	free(d);
}

static const struct virtio_dev_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.config_size = 0,
	.features = rng_features,
	.config_read = rng_config_read,
	.queue_notify = rng_queue_notify,
	.free = rng_free,
};

struct virtio_dev *virtio_rng_new(const struct virtio_rng_opts *o)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set("%s: out of memory", o->name);
		return NULL;
	}
	virtio_dev_init(&r->dev, &rng_ops, o->name);
	r->fill = o->fill ? o->fill : fill_getrandom;
	r->opaque = o->opaque;
	return &r->dev;
}
