/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the split-virtqueue walker (virtio/virtqueue.c) over guest
 * RAM the input fills: descriptor table, avail ring, indirect tables and
 * buffers all come from the input (layout in virtio_fuzz.h).  Options byte:
 * bit 0 EVENT_IDX, bit 1 INDIRECT_DESC.
 *
 * Invariants: every chain's buffers lie inside guest RAM, it has at most
 * queue-size buffers, its totals are the sum of its parts and below 4 GiB;
 * a broken queue was reported exactly once and stays broken; the used
 * index counts the chains returned (once the device has written it).
 */
#include "fuzz.h"
#include "virtio_fuzz.h"

static struct vf_ram ram;
static int broken_reports;

static void on_broken(void *opaque, struct virtq *q, const char *msg)
{
	broken_reports++;
	err_set("%s", msg); /* for fuzz_report() */
}

static void on_interrupt(void *opaque, struct virtq *q)
{
}

static const struct virtq_host host = {.broken = on_broken, .interrupt = on_interrupt};

/* Copy len bytes of the chain's writable part from off (what the guest has there). */
static void peek_in(const struct virtq_chain *c, uint64_t off, uint8_t *buf, uint64_t len)
{
	for (unsigned k = c->n_out; k < c->n_out + c->n_in && len; k++) {
		uint64_t l = c->iov[k].iov_len, n;

		if (off >= l) {
			off -= l;
			continue;
		}
		n = l - off < len ? l - off : len;
		memcpy(buf, (uint8_t *)c->iov[k].iov_base + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	static uint8_t scratch[4096];
	struct virtq q;
	uint16_t num = vf_num(data, size), used = 0, used_now;
	int rc = VIRTQ_POP_EMPTY;

	if (!ram.m.host)
		vf_ram_init(&ram);
	vf_ram_load(&ram, data, size);
	broken_reports = 0;
	virtq_init(&q, 0, &ram.vm, &host);
	q.num = num;
	q.desc_gpa = VF_DESC;
	q.avail_gpa = VF_AVAIL;
	q.used_gpa = VF_USED;
	FUZZ_CHECK(virtq_enable(&q, size && (data[0] & 1), size && (data[0] & 2)) == 0);
	/* more pops than the ring can hold: the index check must stop them */
	for (unsigned i = 0; i < 2u * num + 2; i++) {
		uint64_t out = 0, in = 0;

		rc = virtq_pop(&q, &c);
		if (rc != VIRTQ_POP_CHAIN)
			break;
		FUZZ_CHECK(c.head < num);
		FUZZ_CHECK(c.n_out + c.n_in >= 1 && c.n_out + c.n_in <= num);
		for (unsigned k = 0; k < c.n_out + c.n_in; k++) {
			FUZZ_CHECK(c.iov[k].iov_len > 0);
			FUZZ_CHECK(vf_inside(&ram, c.iov[k].iov_base, c.iov[k].iov_len));
			if (k < c.n_out)
				out += c.iov[k].iov_len;
			else
				in += c.iov[k].iov_len;
		}
		FUZZ_CHECK(out == c.out_len && in == c.in_len);
		FUZZ_CHECK(out <= UINT32_MAX && in <= UINT32_MAX);
		FUZZ_CHECK(virtq_chain_read(&c, 0, scratch, sizeof(scratch)) ==
			   (out < sizeof(scratch) ? out : sizeof(scratch)));
		/* write back what is there: buffers may overlap the rings, and
		 * the checks below assume the driver's rings do not move */
		peek_in(&c, in > 64 ? in - 64 : 0, scratch, in < 64 ? in : 64);
		FUZZ_CHECK(virtq_chain_write(&c, in > 64 ? in - 64 : 0, scratch, 64) ==
			   (in < 64 ? in : 64));
		virtq_push(&q, &c, (uint32_t)in);
		used++;
	}
	virtq_notify(&q);
	if (rc == VIRTQ_POP_BROKEN) {
		FUZZ_CHECK(q.broken && broken_reports == 1);
		FUZZ_CHECK(virtq_pop(&q, &c) == VIRTQ_POP_BROKEN);
		FUZZ_CHECK(broken_reports == 1);
	} else {
		FUZZ_CHECK(broken_reports == 0);
		FUZZ_CHECK(rc == VIRTQ_POP_EMPTY); /* 2 * num + 2 pops can't all succeed */
	}
	if (rc != VIRTQ_POP_BROKEN)
		err_set("%u chains", used);
	fuzz_report(-1); /* with FUZZ_VERBOSE: the break, or how many chains */
	memcpy(&used_now, ram.bytes + VF_USED + 2, 2);
	/* the device writes used->idx on its first push; before that it is the input's */
	FUZZ_CHECK(used == 0 || used_now == used);
	return 0;
}
