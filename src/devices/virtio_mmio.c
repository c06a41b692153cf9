/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio devices in the machine: virtio-blk (--disk), virtio-rng
 * (--rng) and virtio-console (--console virtio).  The virtio logic is
 * src/virtio/ (transport, queues, devices, pure code); this file is what
 * plugs it into a VM:
 *
 *   - an MMIO window (VIRTIO_MMIO_SIZE bytes, at a 4 KiB-aligned address the
 *     allocator picks from 0xD0000000) and a GSI of its own;
 *   - described to Linux once: a DSDT device with _HID "LNRO0005",
 *     Memory32Fixed and an edge, active-high Interrupt; only when the
 *     kernel command line switches ACPI off (acpi=off) does
 *     virtio_mmio.device=<size>@<base>:<gsi> describe it instead
 *     (machine_cmdline(): Linux claims each window once and refuses a
 *     second description with "can't request region");
 *   - interrupts through an irqfd (edge: Linux's handler reads and acks
 *     InterruptStatus each time);
 *   - queue notifications through an ioeventfd per queue (datamatch on the
 *     queue index) served by the event loop, so disk I/O (preadv, pwritev,
 *     fdatasync) never runs on a vCPU thread.  Without an ioeventfd (KVM
 *     refused it), the write reaches the MMIO handler, which signals the
 *     same eventfd: the work still happens on the loop.
 *
 * Options (create()):
 *   virtio-blk      "PATH[,ro]": the raw image; read-only opens it O_RDONLY and
 *                   never for writing; the GET_ID answer is the device id
 *   virtio-rng      none (getrandom)
 *   virtio-console  none: takes console input from the UART; its output goes
 *                   to the same console backend (bounded, never blocking)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/device.h"
#include "exitcodes.h"
#include "util/err.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"

#define CONSOLE_PENDING 65536 /* typed bytes kept while the guest has no rx buffers */

enum vkind { V_BLK, V_RNG, V_CONSOLE };

struct vdev;

/* What the loop's handler for one queue's eventfd needs. */
struct notify_ctx {
	struct vdev *v;
	unsigned q;
};

struct vdev {
	struct device *dev;
	enum vkind kind;
	struct virtio_mmio *t;
	struct virtio_mem mem;
	struct virtio_mmio_host vhost;
	unsigned nq;
	int irq_fd;
	int notify_fd[VIRTIO_MAX_QUEUES];
	struct notify_ctx nctx[VIRTIO_MAX_QUEUES];
	bool ioeventfd[VIRTIO_MAX_QUEUES];
	bool irqfd;
	/* virtio-blk */
	int image_fd;
	bool ro;
	/* virtio-console */
	int rx_fd;                 /* eventfd: the guest added receive buffers */
	int retry_fd;              /* timerfd: offer kept input again while any is kept */
	pthread_mutex_t pending_lock;
	uint8_t *pending;
	size_t npending;
	uint64_t input_dropped;
};

static void *vmem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return dev_mem(ctx, gpa, len);
}

static void vset_irq(void *opaque, int level)
{
	struct vdev *v = opaque;
	uint64_t one = 1;

	if (!level)
		return; /* edge: nothing to lower */
	if (v->irqfd) {
		if (write(v->irq_fd, &one, sizeof(one)) < 0) {
			/* an eventfd write fails only on counter overflow: already pending */
		}
	} else {
		dev_set_irq(v->dev, true);
		dev_set_irq(v->dev, false);
	}
}

/* A QueueNotify that arrived as an MMIO exit: hand it to the loop. */
static void vqueue_notify(void *opaque, unsigned q)
{
	struct vdev *v = opaque;
	uint64_t one = 1;

	if (q < v->nq && write(v->notify_fd[q], &one, sizeof(one)) < 0) {
		/* counter overflow: a notification is pending anyway */
	}
}

static void vlog(void *opaque, const char *msg)
{
	fprintf(stderr, "skyvm: %s\n", msg);
}

static void mmio_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data,
		      unsigned size)
{
	struct vdev *v = d->state;

	virtio_mmio_read(v->t, addr - d->region[0].base, size, data);
}

static void mmio_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		       unsigned size)
{
	struct vdev *v = d->state;

	virtio_mmio_write(v->t, addr - d->region[0].base, size, data);
}

static int vcmdline(const struct device *d, char *buf, size_t size)
{
	snprintf(buf, size, "virtio_mmio.device=0x%llx@0x%llx:%d",
		 (unsigned long long)d->region[0].len, (unsigned long long)d->region[0].base,
		 d->gsi);
	return 0;
}

/* ---- console glue */

static void console_out(void *opaque, const void *buf, size_t len)
{
	struct vdev *v = opaque;
	struct console *c = v->dev->host->console;

	if (!console_write(c, buf, len))
		dev_stop(v->dev, EXIT_GUEST_OUTPUT,
			 "the guest wrote more than %llu bytes to the console (--max-output); "
			 "stopped it", (unsigned long long)c->max);
}

static void console_rx_ready(void *opaque)
{
	struct vdev *v = opaque;
	uint64_t one = 1;

	if (write(v->rx_fd, &one, sizeof(one)) < 0) {
		/* already signalled */
	}
}

#define RETRY_NS 100000000L /* 100 ms */

/*
 * While input is kept, a periodic timer offers it again: Linux posts its
 * receive buffers (and notifies) before it sets DRIVER_OK, when the device
 * still ignores notifications, so rx_ready alone may never come.
 */
static void arm_retry(struct vdev *v, bool on)
{
	struct itimerspec its = { 0 };

	if (v->retry_fd < 0)
		return;
	if (on) {
		its.it_value.tv_nsec = RETRY_NS;
		its.it_interval.tv_nsec = RETRY_NS;
	}
	timerfd_settime(v->retry_fd, 0, &its, NULL);
}

/* Offer what was kept; on the loop thread. */
static void offer_pending(struct vdev *v)
{
	pthread_mutex_lock(&v->pending_lock);
	if (v->npending) {
		size_t took = virtio_console_input(virtio_mmio_dev(v->t), v->pending, v->npending);

		memmove(v->pending, v->pending + took, v->npending - took);
		v->npending -= took;
	}
	arm_retry(v, v->npending != 0);
	pthread_mutex_unlock(&v->pending_lock);
}

static void console_typed(void *opaque, const uint8_t *buf, size_t len)
{
	struct vdev *v = opaque;
	size_t room;

	pthread_mutex_lock(&v->pending_lock);
	room = CONSOLE_PENDING - v->npending;
	if (len > room) {
		v->input_dropped += len - room;
		len = room;
	}
	memcpy(v->pending + v->npending, buf, len);
	v->npending += len;
	pthread_mutex_unlock(&v->pending_lock);
	offer_pending(v);
}

static void on_rx_ready(void *opaque, uint32_t events)
{
	struct vdev *v = opaque;
	uint64_t n;

	if (read(v->rx_fd, &n, sizeof(n)) < 0) {
		/* spurious: nothing counted */
	}
	offer_pending(v);
}

static void on_retry(void *opaque, uint32_t events)
{
	struct vdev *v = opaque;
	uint64_t n;

	if (read(v->retry_fd, &n, sizeof(n)) < 0) {
		/* not expired yet */
	}
	offer_pending(v);
}

/* ---- lifecycle */

static int vcreate(struct device *d, enum vkind kind, const char *opts)
{
	struct vdev *v = calloc(1, sizeof(*v));
	struct dev_region r = {
		.name = "virtio-mmio", .space = IO_MMIO, .len = VIRTIO_MMIO_SIZE,
		.read = mmio_read, .write = mmio_write,
	};

	if (!v)
		return err_set("out of memory");
	d->state = v;
	v->dev = d;
	v->kind = kind;
	v->irq_fd = v->rx_fd = v->retry_fd = v->image_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->notify_fd[q] = -1;
	pthread_mutex_init(&v->pending_lock, NULL);
	d->acpi_hid = "LNRO0005";
	d->irq_want = DEV_IRQ_ANY;
	d->irq_edge = true;
	d->cmdline = vcmdline;
	if (!device_add_region(d, &r))
		return -1;
	if (kind == V_BLK) {
		char path[4096];
		const char *comma;
		struct stat st;

		if (!opts || !*opts)
			return err_set("--disk needs a file");
		comma = strchr(opts, ',');
		snprintf(path, sizeof(path), "%.*s", (int)(comma ? comma - opts : (long)strlen(opts)),
			 opts);
		while (comma) {
			const char *item = comma + 1;
			size_t n;

			comma = strchr(item, ',');
			n = comma ? (size_t)(comma - item) : strlen(item);
			if (n == 2 && !strncmp(item, "ro", 2))
				v->ro = true;
			else
				return err_set("--disk %s: unknown option '%.*s' (expected ro or id=NAME)",
					       path, (int)n, item);
		}
		/* Read-only never opens the file for writing. */
		v->image_fd = open(path, (v->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (v->image_fd < 0)
			return err_errno("--disk %s: cannot open it%s", path,
					 v->ro ? "" : " for reading and writing (add ,ro?)");
		if (fstat(v->image_fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
			return err_set("--disk %s: not a regular file or block device", path);
		if (S_ISREG(st.st_mode) && st.st_size % 512)
			return err_set("--disk %s: %lld bytes is not a whole number of 512-byte "
				       "sectors", path, (long long)st.st_size);
	}
	return 0;
}

static int blk_create(struct device *d, const char *opts)
{
	return vcreate(d, V_BLK, opts);
}

static int rng_create(struct device *d, const char *opts)
{
	if (opts && *opts)
		return err_set("virtio-rng takes no options ('%s')", opts);
	return vcreate(d, V_RNG, opts);
}

static int console_create(struct device *d, const char *opts)
{
	if (opts && *opts)
		return err_set("virtio-console takes no options ('%s')", opts);
	return vcreate(d, V_CONSOLE, opts);
}

static void vdestroy(struct device *d)
{
	struct vdev *v = d->state;

	if (!v)
		return;
	if (v->image_fd >= 0)
		close(v->image_fd);
	pthread_mutex_destroy(&v->pending_lock);
	free(v->pending);
	free(v);
	d->state = NULL;
}

static struct virtio_dev *new_virtio_dev(struct vdev *v)
{
	switch (v->kind) {
	case V_BLK: {
		struct virtio_blk_opts o = { .name = v->dev->id, .fd = v->image_fd, .ro = v->ro,
					     .id = v->dev->id };

		return virtio_blk_new(&o);
	}
	case V_RNG: {
		struct virtio_rng_opts o = { .name = v->dev->id };

		return virtio_rng_new(&o);
	}
	case V_CONSOLE: {
		struct virtio_console_opts o = {
			.name = v->dev->id,
			.ops = { .opaque = v, .write = console_out, .rx_ready = console_rx_ready },
		};

		return virtio_console_new(&o);
	}
	}
	return NULL;
}

static void on_notify(void *opaque, uint32_t events)
{
	struct notify_ctx *n = opaque;
	uint64_t count;

	if (read(n->v->notify_fd[n->q], &count, sizeof(count)) < 0)
		return;
	virtio_mmio_queue_notify(n->v->t, n->q);
}

static int vrealize(struct device *d)
{
	struct vdev *v = d->state;
	const struct device_host *h = d->host;
	struct virtio_dev *vd;

	v->mem = (struct virtio_mem){ .ptr = vmem_ptr, .ctx = d };
	v->vhost = (struct virtio_mmio_host){
		.opaque = v, .set_irq = vset_irq, .queue_notify = vqueue_notify, .log = vlog,
	};
	vd = new_virtio_dev(v);
	if (!vd)
		return -1;
	v->nq = vd->ops->num_queues;
	v->t = virtio_mmio_new(vd, &v->mem, &v->vhost);
	if (!v->t)
		return -1;
	if (v->image_fd >= 0) { /* the device holds its own dup */
		close(v->image_fd);
		v->image_fd = -1;
	}
	/* Interrupt: an irqfd on the device's GSI. */
	v->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->irq_fd < 0)
		return err_errno("eventfd");
	if (h->irqfd && h->irqfd(h->ctx, (unsigned)d->gsi, v->irq_fd, true) < 0)
		return err_wrap("irqfd for GSI %d", d->gsi);
	v->irqfd = h->irqfd != NULL;
	/* Notifications: an eventfd per queue, served by the loop. */
	if (!h->loop)
		return err_set("no event loop to serve the queues");
	for (unsigned q = 0; q < v->nq; q++) {
		v->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->notify_fd[q] < 0)
			return err_errno("eventfd");
		v->nctx[q] = (struct notify_ctx){ v, q };
		if (event_loop_add(h->loop, v->notify_fd[q], EPOLLIN, on_notify, &v->nctx[q]) < 0) {
			close(v->notify_fd[q]);
			v->notify_fd[q] = -1;
			return -1;
		}
		if (h->ioeventfd &&
		    h->ioeventfd(h->ctx, d->region[0].base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, false,
				 v->notify_fd[q], true) == 0)
			v->ioeventfd[q] = true;
		/* else the MMIO exit path signals the same eventfd (vqueue_notify) */
	}
	if (v->kind == V_CONSOLE) {
		v->pending = malloc(CONSOLE_PENDING);
		v->rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!v->pending || v->rx_fd < 0)
			return err_errno("virtio-console input");
		if (event_loop_add(h->loop, v->rx_fd, EPOLLIN, on_rx_ready, v) < 0) {
			close(v->rx_fd);
			v->rx_fd = -1;
			return -1;
		}
		v->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (v->retry_fd < 0)
			return err_errno("timerfd_create");
		if (event_loop_add(h->loop, v->retry_fd, EPOLLIN, on_retry, v) < 0) {
			close(v->retry_fd);
			v->retry_fd = -1;
			return -1;
		}
		/* The guest console's input now goes here, not to the UART. */
		console_set_input(h->console, console_typed, v, true);
	}
	return 0;
}

static void vunrealize(struct device *d)
{
	struct vdev *v = d->state;
	const struct device_host *h = d->host;

	if (v->kind == V_CONSOLE) {
		console_clear_input(h->console, v);
		if (v->rx_fd >= 0) {
			if (h->loop)
				event_loop_remove(h->loop, v->rx_fd);
			close(v->rx_fd);
			v->rx_fd = -1;
		}
		if (v->retry_fd >= 0) {
			if (h->loop)
				event_loop_remove(h->loop, v->retry_fd);
			close(v->retry_fd);
			v->retry_fd = -1;
		}
		if (v->input_dropped)
			fprintf(stderr, "skyvm: %s: %llu typed bytes dropped (the guest read none)\n",
				d->id, (unsigned long long)v->input_dropped);
	}

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (v->notify_fd[q] < 0)
			continue;
		if (v->ioeventfd[q])
			h->ioeventfd(h->ctx, d->region[0].base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, false,
				     v->notify_fd[q], false);
		if (h->loop)
			event_loop_remove(h->loop, v->notify_fd[q]);
		close(v->notify_fd[q]);
		v->notify_fd[q] = -1;
	}
	if (v->irq_fd >= 0) {
		if (v->irqfd)
			h->irqfd(h->ctx, (unsigned)d->gsi, v->irq_fd, false);
		close(v->irq_fd);
		v->irq_fd = -1;
	}
	if (v->t)
		virtio_mmio_free(v->t);
	v->t = NULL;
}

static void vreset(struct device *d)
{
	struct vdev *v = d->state;

	if (v->t)
		virtio_mmio_reset(v->t);
}

/*
 * Snapshot hooks: the device's identity (so a restore refuses a machine that
 * differs), then the transport and queue state (virtio/mmio.h).  On load,
 * every ready queue is processed once: a notification the guest sent just
 * before the save may not have been handled, and a spurious one is harmless.
 * Backends are not saved: a disk is reopened by path.
 */
#define VDEV_SAVE_VERSION 2

struct vdev_saved {
	uint32_t version, kind;
	uint64_t base;
	int32_t gsi;
	uint32_t status;
};

static int vsave(struct device *d, void *buf, size_t size, size_t *len)
{
	struct vdev *v = d->state;
	struct vdev_saved s = { VDEV_SAVE_VERSION, v->kind, d->region[0].base, d->gsi,
				v->t ? virtio_mmio_status(v->t) : 0 };
	size_t tlen = 0;

	if (size < sizeof(s))
		return err_set("%s: %zu bytes are too few to save it", d->id, size);
	memcpy(buf, &s, sizeof(s));
	if (v->t && virtio_mmio_save(v->t, (uint8_t *)buf + sizeof(s), size - sizeof(s), &tlen) < 0)
		return -1;
	*len = sizeof(s) + tlen;
	return 0;
}

static int vload(struct device *d, const void *buf, size_t len)
{
	struct vdev *v = d->state;
	struct vdev_saved s;

	if (len < sizeof(s))
		return err_set("%s: saved state has %zu bytes, too few", d->id, len);
	memcpy(&s, buf, sizeof(s));
	if (s.kind != v->kind || s.base != d->region[0].base || s.gsi != d->gsi)
		return err_set("%s: saved state is for another device", d->id);
	if (s.version == 1) {
		if (s.status)
			return err_set("%s: a snapshot of format 1 has no queue state for this live "
				       "virtio device", d->id);
		return 0;
	}
	if (s.version != VDEV_SAVE_VERSION)
		return err_set("%s: saved state version %u, this skyvm reads %u", d->id, s.version,
			       VDEV_SAVE_VERSION);
	if (!v->t)
		return len == sizeof(s) ? 0 : err_set("%s: saved state for a missing transport", d->id);
	if (virtio_mmio_load(v->t, (const uint8_t *)buf + sizeof(s), len - sizeof(s)) < 0)
		return err_wrap("%s", d->id);
	for (unsigned q = 0; q < v->nq; q++)
		virtio_mmio_queue_notify(v->t, q);
	return 0;
}

#define VIRTIO_OPS                                                                      \
	{ .realize = vrealize, .reset = vreset, .save = vsave, .load = vload,           \
	  .unrealize = vunrealize }

static struct device_class virtio_blk_class = {
	.name = "virtio-blk", .create = blk_create, .destroy = vdestroy, .ops = VIRTIO_OPS,
};
DEVICE_CLASS(virtio_blk_class)

static struct device_class virtio_rng_class = {
	.name = "virtio-rng", .create = rng_create, .destroy = vdestroy, .ops = VIRTIO_OPS,
};
DEVICE_CLASS(virtio_rng_class)

static struct device_class virtio_console_class = {
	.name = "virtio-console", .create = console_create, .destroy = vdestroy,
	.ops = VIRTIO_OPS,
};
DEVICE_CLASS(virtio_console_class)
