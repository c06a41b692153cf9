/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock in the machine (--vsock cid=N,socket=PATH): the device logic
 * of src/virtio/vsock.c on a virtio-mmio window, wired like virtio_net.c
 * (GSI + irqfd, per-queue ioeventfds on the event loop).  The device's own
 * epoll fd, which watches the unix sockets of every connection, is one
 * handler of the event loop: connections cost the loop no slots, and all
 * socket work happens there, never on a vCPU thread.
 *
 * The listening socket PATH is created in create(), before anything of the
 * VM exists: a path that exists, or that cannot be created, is a start-up
 * error.  It is removed when the VM ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/device.h"
#include "util/err.h"
#include "virtio/mmio.h"
#include "virtio/vsock.h"
#include "vmm/event_loop.h"

#define VS_QUEUES 3

struct vvs;

struct vvs_notify {
	struct vvs *v;
	unsigned q;
};

struct vvs {
	struct device *dev;
	struct virtio_dev *vd;     /* until realize hands it to the transport */
	struct virtio_mmio *t;
	struct virtio_mem mem;
	struct virtio_mmio_host vhost;
	int irq_fd;
	bool irqfd;
	int notify_fd[VS_QUEUES];
	bool ioeventfd[VS_QUEUES];
	struct vvs_notify nctx[VS_QUEUES];
	int work_fd;               /* eventfd: a kick for more work */
	bool vs_watched, work_watched;
};

static void vs_kick_q(void *opaque, unsigned q)
{
	struct vvs *v = opaque;
	uint64_t one = 1;

	if (q < VS_QUEUES && write(v->notify_fd[q], &one, sizeof(one)) < 0) {
		/* counter full: pending anyway */
	}
}

static void vs_kick(void *opaque)
{
	struct vvs *v = opaque;
	uint64_t one = 1;

	if (write(v->work_fd, &one, sizeof(one)) < 0) {
		/* pending anyway */
	}
}

static struct virtio_dev *vs_dev(struct vvs *v)
{
	return v->t ? virtio_mmio_dev(v->t) : v->vd;
}

static void on_sockets(void *opaque, uint32_t events)
{
	virtio_vsock_work(vs_dev(opaque));
}

static void on_work(void *opaque, uint32_t events)
{
	struct vvs *v = opaque;
	uint64_t n;

	if (read(v->work_fd, &n, sizeof(n)) < 0) {
		/* spurious */
	}
	virtio_vsock_work(vs_dev(v));
}

/* ---- the virtio-mmio glue (as virtio_mmio.c) */

static void *vmem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return dev_mem(ctx, gpa, len);
}

static void vset_irq(void *opaque, int level)
{
	struct vvs *v = opaque;
	uint64_t one = 1;

	if (!level)
		return; /* edge */
	if (v->irqfd) {
		if (write(v->irq_fd, &one, sizeof(one)) < 0) {
			/* counter overflow: already pending */
		}
	} else {
		dev_set_irq(v->dev, true);
		dev_set_irq(v->dev, false);
	}
}

static void vqueue_notify(void *opaque, unsigned q)
{
	vs_kick_q(opaque, q);
}

static void vlog(void *opaque, const char *msg)
{
	fprintf(stderr, "skyvm: %s\n", msg);
}

static void mmio_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data,
		      unsigned size)
{
	struct vvs *v = d->state;

	virtio_mmio_read(v->t, addr - d->region[0].base, size, data);
}

static void mmio_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		       unsigned size)
{
	struct vvs *v = d->state;

	virtio_mmio_write(v->t, addr - d->region[0].base, size, data);
}

static int vcmdline(const struct device *d, char *buf, size_t size)
{
	snprintf(buf, size, "virtio_mmio.device=0x%llx@0x%llx:%d",
		 (unsigned long long)d->region[0].len, (unsigned long long)d->region[0].base,
		 d->gsi);
	return 0;
}

static void on_notify(void *opaque, uint32_t events)
{
	struct vvs_notify *n = opaque;
	uint64_t count;

	if (read(n->v->notify_fd[n->q], &count, sizeof(count)) < 0)
		return;
	virtio_mmio_queue_notify(n->v->t, n->q);
}

/* ---- lifecycle */

static int vs_create(struct device *d, const char *opts)
{
	struct vvs *v = calloc(1, sizeof(*v));
	struct dev_region r = {
		.name = "virtio-mmio", .space = IO_MMIO, .len = VIRTIO_MMIO_SIZE,
		.read = mmio_read, .write = mmio_write,
	};
	struct virtio_vsock_opts o = { .name = d->id, .kick = vs_kick };
	char path[128];

	if (!v)
		return err_set("out of memory");
	d->state = v;
	v->dev = d;
	v->irq_fd = v->work_fd = -1;
	for (unsigned q = 0; q < VS_QUEUES; q++)
		v->notify_fd[q] = -1;
	d->acpi_hid = "LNRO0005";
	d->irq_want = DEV_IRQ_ANY;
	d->irq_edge = true;
	d->cmdline = vcmdline;
	if (!device_add_region(d, &r))
		return -1;
	if (virtio_vsock_parse(opts, &o.guest_cid, path, sizeof(path)) < 0)
		return -1;
	o.path = path;
	o.opaque = v;
	v->vd = virtio_vsock_new(&o);
	return v->vd ? 0 : -1;
}

static void vs_destroy(struct device *d)
{
	struct vvs *v = d->state;

	if (!v)
		return;
	virtio_dev_free(v->vd);
	free(v);
	d->state = NULL;
}

static int vs_realize(struct device *d)
{
	struct vvs *v = d->state;
	const struct device_host *h = d->host;

	if (!h->loop)
		return err_set("%s: no event loop to serve the queues", d->id);
	v->mem = (struct virtio_mem){ .ptr = vmem_ptr, .ctx = d };
	v->vhost = (struct virtio_mmio_host){
		.opaque = v, .set_irq = vset_irq, .queue_notify = vqueue_notify, .log = vlog,
	};
	v->t = virtio_mmio_new(v->vd, &v->mem, &v->vhost);
	v->vd = NULL; /* the transport owns it now (and freed it on failure) */
	if (!v->t)
		return -1;
	v->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->work_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->irq_fd < 0 || v->work_fd < 0)
		return err_errno("eventfd");
	if (h->irqfd && h->irqfd(h->ctx, (unsigned)d->gsi, v->irq_fd, true) < 0)
		return err_wrap("irqfd for GSI %d", d->gsi);
	v->irqfd = h->irqfd != NULL;
	for (unsigned q = 0; q < VS_QUEUES; q++) {
		v->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->notify_fd[q] < 0)
			return err_errno("eventfd");
		v->nctx[q] = (struct vvs_notify){ v, q };
		if (event_loop_add(h->loop, v->notify_fd[q], EPOLLIN, on_notify, &v->nctx[q]) < 0) {
			close(v->notify_fd[q]);
			v->notify_fd[q] = -1;
			return -1;
		}
		if (h->ioeventfd &&
		    h->ioeventfd(h->ctx, d->region[0].base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, false,
				 v->notify_fd[q], true) == 0)
			v->ioeventfd[q] = true;
	}
	if (event_loop_add(h->loop, virtio_vsock_fd(vs_dev(v)), EPOLLIN, on_sockets, v) < 0)
		return -1;
	v->vs_watched = true;
	if (event_loop_add(h->loop, v->work_fd, EPOLLIN, on_work, v) < 0)
		return -1;
	v->work_watched = true;
	return 0;
}

static void vs_unrealize(struct device *d)
{
	struct vvs *v = d->state;
	const struct device_host *h = d->host;

	if (v->vs_watched && h->loop)
		event_loop_remove(h->loop, virtio_vsock_fd(vs_dev(v)));
	v->vs_watched = false;
	if (v->work_fd >= 0) {
		if (v->work_watched && h->loop)
			event_loop_remove(h->loop, v->work_fd);
		close(v->work_fd);
		v->work_fd = -1;
	}
	for (unsigned q = 0; q < VS_QUEUES; q++) {
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
	if (v->t) {
		struct virtio_vsock_stats s;

		virtio_vsock_get_stats(virtio_mmio_dev(v->t), &s);
		if (s.bad)
			fprintf(stderr, "skyvm: %s: %llu bad packets from the guest dropped "
				"(connections reset: %llu)\n", d->id, (unsigned long long)s.bad,
				(unsigned long long)s.resets_sent);
		virtio_mmio_free(v->t);
	}
	v->t = NULL;
}

static void vs_reset_dev(struct device *d)
{
	struct vvs *v = d->state;

	if (v->t)
		virtio_mmio_reset(v->t);
}

static struct device_class virtio_vsock_class = {
	.name = "virtio-vsock", .create = vs_create, .destroy = vs_destroy,
	.ops = { .realize = vs_realize, .reset = vs_reset_dev, .unrealize = vs_unrealize },
};
DEVICE_CLASS(virtio_vsock_class)
