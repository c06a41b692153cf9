/* SPDX-License-Identifier: MIT */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

struct virtio_blk {
	struct virtio_dev dev;
	int fd;
	bool ro;
	uint64_t capacity;               /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];    /* zero padded */
	uint64_t io_errors;
	struct virtq_chain chain;
	struct iovec data[VIRTQ_NUM_MAX];
};

#define HDR_BYTES 16

static struct virtio_blk *blk_of(struct virtio_dev *d)
{
	return (struct virtio_blk *)d;
}

/* Sectors [sector, sector + len/512) within capacity: no sum is formed. */
static bool in_bounds(uint64_t sector, uint64_t len, uint64_t capacity)
{
	return sector <= capacity && len / VIRTIO_BLK_SECTOR <= capacity - sector;
}

/*
 * DISCARD / WRITE_ZEROES data: 16-byte {le64 sector, le32 sectors, le32
 * flags} ranges after the header, copied into r so the guest cannot change
 * them between this check and the I/O.
 */
static uint8_t parse_ranges(const struct virtq_chain *c, uint64_t capacity,
			    struct virtio_blk_req *r)
{
	uint64_t data = c->out_len - HDR_BYTES;
	uint8_t status = VIRTIO_BLK_S_OK;

	if (data == 0 || data % 16 != 0 || data / 16 > VIRTIO_BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	r->nranges = (unsigned)(data / 16);
	for (unsigned i = 0; i < r->nranges; i++) {
		struct virtio_blk_range *g = &r->range[i];
		uint8_t raw[16];

		virtq_chain_read(c, HDR_BYTES + 16ULL * i, raw, 16);
		memcpy(&g->sector, raw, 8);
		memcpy(&g->sectors, raw + 8, 4);
		memcpy(&g->flags, raw + 12, 4);
		if ((g->flags & ~VIRTIO_BLK_RANGE_F_UNMAP) ||
		    (r->type == VIRTIO_BLK_T_DISCARD && (g->flags & VIRTIO_BLK_RANGE_F_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (g->sectors > VIRTIO_BLK_MAX_RANGE_SECTORS ||
		    !in_bounds(g->sector, (uint64_t)g->sectors * VIRTIO_BLK_SECTOR, capacity))
			status = VIRTIO_BLK_S_IOERR;
	}
	return status;
}

int virtio_blk_parse(const struct virtq_chain *c, uint64_t capacity, bool ro,
		     struct virtio_blk_req *r, uint8_t *status_out)
{
	uint8_t hdr[HDR_BYTES];
	const struct iovec *last;

	memset(r, 0, sizeof(*r));
	if (c->out_len < HDR_BYTES || virtq_chain_read(c, 0, hdr, HDR_BYTES) != HDR_BYTES)
		return err_set("request at head %u has %llu readable bytes, less than the "
			       "16-byte header", c->head, (unsigned long long)c->out_len);
	if (c->n_in == 0)
		return err_set("request at head %u has no writable status byte", c->head);
	last = &c->iov[c->n_out + c->n_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	*status_out = VIRTIO_BLK_S_OK;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		r->data_len = c->in_len - 1;
		break;
	case VIRTIO_BLK_T_OUT:
		r->data_len = c->out_len - HDR_BYTES;
		if (ro) {
			*status_out = VIRTIO_BLK_S_IOERR;
			return VIRTIO_BLK_PARSE_OK;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_PARSE_OK;
	case VIRTIO_BLK_T_GET_ID:
		r->data_len = c->in_len - 1;
		return VIRTIO_BLK_PARSE_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->data_len = c->out_len - HDR_BYTES;
		*status_out = parse_ranges(c, capacity, r);
		if (*status_out == VIRTIO_BLK_S_OK && ro)
			*status_out = VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_PARSE_OK;
	default:
		*status_out = VIRTIO_BLK_S_UNSUPP;
		return VIRTIO_BLK_PARSE_OK;
	}
	if (r->data_len % VIRTIO_BLK_SECTOR != 0 || !in_bounds(r->sector, r->data_len, capacity))
		*status_out = VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_PARSE_OK;
}

/*
 * The data part of a chain as an iovec: `len` bytes of the readable
 * (writable == false) or writable segments, after the first `skip` bytes.
 */
static unsigned data_iov(const struct virtq_chain *c, bool writable, uint64_t skip, uint64_t len,
			 struct iovec *out)
{
	unsigned first = writable ? c->n_out : 0, end = writable ? c->n_out + c->n_in : c->n_out;
	unsigned n = 0;

	for (unsigned i = first; i < end && len; i++) {
		uint64_t l = c->iov[i].iov_len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len ? l - skip : len;
		out[n].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/* All of iov at off, retrying short transfers and EINTR. 0 or -1. */
static int rw_all(int fd, struct iovec *iov, unsigned n, off_t off, bool write)
{
	while (n) {
		ssize_t got = write ? pwritev(fd, iov, (int)n, off) : preadv(fd, iov, (int)n, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1; /* error, or the file shrank under us */
		off += got;
		while (n && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

static int datasync(int fd)
{
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Discard is a hint: where the backend cannot punch holes, nothing happens. */
static int discard(int fd, off_t off, off_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS ? 0 : -1;
}

/* [off, off+len) must read back as zeros afterwards, whatever the backend. */
static int write_zeroes(int fd, off_t off, off_t len, bool unmap)
{
	static const uint8_t zeros[65536];

	/* A punched hole reads as zeros (files and, since 4.9, block devices). */
	if (unmap && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	while (len > 0) {
		size_t n = len < (off_t)sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
		len -= w;
	}
	return 0;
}

static uint8_t do_ranges(struct virtio_blk *b, const struct virtio_blk_req *r)
{
	bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t feature = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;

	if (!(b->dev.features & VIRTIO_BIT(feature)))
		return VIRTIO_BLK_S_UNSUPP;
	for (unsigned i = 0; i < r->nranges; i++) {
		const struct virtio_blk_range *g = &r->range[i];
		off_t off = (off_t)(g->sector * VIRTIO_BLK_SECTOR);
		off_t len = (off_t)g->sectors * (off_t)VIRTIO_BLK_SECTOR;

		if (len == 0)
			continue;
		if (zero ? write_zeroes(b->fd, off, len, g->flags & VIRTIO_BLK_RANGE_F_UNMAP) < 0
			 : discard(b->fd, off, len) < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	if (zero && !(b->dev.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) && datasync(b->fd) < 0)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_request(struct virtio_blk *b, const struct virtq_chain *c,
			  const struct virtio_blk_req *r)
{
	off_t off = (off_t)(r->sector * VIRTIO_BLK_SECTOR);
	unsigned n;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		n = data_iov(c, true, 0, r->data_len, b->data);
		return rw_all(b->fd, b->data, n, off, false) < 0 ? VIRTIO_BLK_S_IOERR
								   : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		n = data_iov(c, false, HDR_BYTES, r->data_len, b->data);
		if (rw_all(b->fd, b->data, n, off, true) < 0)
			return VIRTIO_BLK_S_IOERR;
		/* Without FLUSH negotiated the driver assumes write-through. */
		if (!(b->dev.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) && datasync(b->fd) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		if (b->ro)
			return VIRTIO_BLK_S_OK;
		return datasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t len = r->data_len < VIRTIO_BLK_ID_BYTES ? r->data_len : VIRTIO_BLK_ID_BYTES;

		virtq_chain_write(c, 0, b->id, len);
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return do_ranges(b, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_queue_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_blk *b = blk_of(d);
	struct virtq *q = &d->vq[qi];
	struct virtq_chain *c = &b->chain;
	bool pushed = false;

	while (virtq_pop(q, c) == VIRTQ_POP_CHAIN) {
		struct virtio_blk_req r;
		uint8_t status;

		if (virtio_blk_parse(c, b->capacity, b->ro, &r, &status) < 0) {
			virtq_fail(q, "%s", err_msg());
			break; /* those answered before still get their interrupt */
		}
		if (status == VIRTIO_BLK_S_OK)
			status = do_request(b, c, &r);
		if (status == VIRTIO_BLK_S_IOERR)
			b->io_errors++;
		*r.status = status;
		virtq_push(q, c, (uint32_t)c->in_len);
		pushed = true;
	}
	if (pushed)
		virtq_notify(q);
}

static uint64_t blk_features(struct virtio_dev *d)
{
	struct virtio_blk *b = blk_of(d);

	return VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
	       VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
	       (b->ro ? VIRTIO_BIT(VIRTIO_BLK_F_RO)
		      : VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
}

/* struct virtio_blk_config up to write_zeroes_may_unmap and its padding (spec 5.2.4) */
#define BLK_CONFIG_SIZE 60

static void put32(uint8_t *cfg, unsigned off, uint32_t v)
{
	memcpy(cfg + off, &v, 4);
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct virtio_blk *b = blk_of(d);
	uint8_t cfg[BLK_CONFIG_SIZE] = {0};

	memcpy(cfg + 0, &b->capacity, 8);           /* capacity */
	put32(cfg, 12, VIRTQ_NUM_MAX - 2);          /* seg_max: header and status take two */
	put32(cfg, 20, VIRTIO_BLK_SECTOR);          /* blk_size */
	put32(cfg, 36, VIRTIO_BLK_MAX_RANGE_SECTORS); /* max_discard_sectors */
	put32(cfg, 40, VIRTIO_BLK_MAX_RANGES);      /* max_discard_seg */
	put32(cfg, 44, 8);                          /* discard_sector_alignment: 4 KiB */
	put32(cfg, 48, VIRTIO_BLK_MAX_RANGE_SECTORS); /* max_write_zeroes_sectors */
	put32(cfg, 52, VIRTIO_BLK_MAX_RANGES);      /* max_write_zeroes_seg */
	cfg[56] = 1;                                /* write_zeroes_may_unmap */
	memcpy(buf, cfg + off, len);
}

static void blk_free(struct virtio_dev *d)
{
	struct virtio_blk *b = blk_of(d);

	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.config_size = BLK_CONFIG_SIZE,
	.features = blk_features,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.free = blk_free,
};

struct virtio_dev *virtio_blk_new(const struct virtio_blk_opts *o)
{
	struct virtio_blk *b;
	off_t size;
	const char *id;

	size = lseek(o->fd, 0, SEEK_END);
	if (size < 0) {
		err_errno("%s: cannot size the image", o->name);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		err_set("%s: out of memory", o->name);
		return NULL;
	}
	b->fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 3);
	if (b->fd < 0) {
		err_errno("%s: dup", o->name);
		free(b);
		return NULL;
	}
	virtio_dev_init(&b->dev, &blk_ops, o->name);
	b->ro = o->ro;
	b->capacity = (uint64_t)size / VIRTIO_BLK_SECTOR;
	id = o->id ? o->id : b->dev.name;
	memcpy(b->id, id, strnlen(id, VIRTIO_BLK_ID_BYTES));
	return &b->dev;
}

uint64_t virtio_blk_capacity(const struct virtio_dev *dev)
{
	return ((const struct virtio_blk *)dev)->capacity;
}
