/* SPDX-License-Identifier: MIT */
#include "virtio/vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/err.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

static int sys_open(void *opaque, const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

static int sys_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static void sys_close(void *opaque, int fd)
{
	close(fd);
}

const struct vhost_io vhost_io_sys = { .open = sys_open, .ioctl = sys_ioctl, .close = sys_close };

uint64_t vhost_net_required_features(void)
{
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
	       VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
}

static int vio(struct vhost_net *v, unsigned long req, void *arg)
{
	int r;

	do
		r = v->io->ioctl(v->io->opaque, v->fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

int vhost_net_open(struct vhost_net *v, const struct vhost_io *io, const char *path)
{
	uint64_t need = vhost_net_required_features();

	memset(v, 0, sizeof(*v));
	v->io = io;
	v->fd = io->open(io->opaque, path);
	if (v->fd < 0) {
		int e = errno;

		v->fd = -1;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return err_set("vhost=on: no %s on this host (load the vhost_net module, or "
				       "use vhost=off)", path);
		if (e == EACCES || e == EPERM)
			return err_set("vhost=on: not allowed to open %s (its group or mode), or "
				       "use vhost=off", path);
		errno = e;
		return err_errno("vhost=on: cannot open %s", path);
	}
	v->state = VHOST_NET_OPEN;
	if (vio(v, VHOST_SET_OWNER, NULL) < 0) {
		err_errno("vhost=on: %s: VHOST_SET_OWNER", path);
		vhost_net_close(v);
		return -1;
	}
	if (vio(v, VHOST_GET_FEATURES, &v->kernel_features) < 0) {
		err_errno("vhost=on: %s: VHOST_GET_FEATURES", path);
		vhost_net_close(v);
		return -1;
	}
	if ((v->kernel_features & need) != need) {
		err_set("vhost=on: %s serves features 0x%llx, without 0x%llx that skyvm's "
			"virtio-net offers (VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT_DESC)",
			path, (unsigned long long)v->kernel_features,
			(unsigned long long)(need & ~v->kernel_features));
		vhost_net_close(v);
		return -1;
	}
	return 0;
}

uint64_t vhost_net_features_for(const struct vhost_net *v, uint64_t acked)
{
	return acked & v->kernel_features;
}

/* Detach the tap from the first `n` queues and read their bases back. */
static void detach(struct vhost_net *v, unsigned n, bool *failed)
{
	for (unsigned q = 0; q < n; q++) {
		struct vhost_vring_file f = { .index = q, .fd = -1 };

		if (vio(v, VHOST_NET_SET_BACKEND, &f) < 0 && !*failed) {
			err_errno("vhost-net: VHOST_NET_SET_BACKEND -1 (queue %u)", q);
			*failed = true;
		}
	}
	for (unsigned q = 0; q < n; q++) {
		struct vhost_vring_state s = { .index = q };

		if (vio(v, VHOST_GET_VRING_BASE, &s) < 0) {
			if (!*failed)
				err_errno("vhost-net: VHOST_GET_VRING_BASE (queue %u)", q);
			*failed = true;
			continue;
		}
		v->base[q] = (uint16_t)s.num;
	}
}

int vhost_net_start(struct vhost_net *v, uint64_t acked, const struct vhost_net_region *r,
		    unsigned nregion, const struct vhost_net_ring ring[VHOST_NET_QUEUES],
		    int tap_fd)
{
	uint64_t f = vhost_net_features_for(v, acked);
	struct vhost_memory *mem;
	unsigned attached = 0;
	bool failed = false;

	if (v->state != VHOST_NET_OPEN)
		return err_set("vhost-net: start while %s", v->state == VHOST_NET_RUNNING ?
			       "running" : "closed");
	if (!nregion || nregion > VHOST_NET_MAX_REGIONS)
		return err_set("vhost-net: %u memory regions (1 to %d)", nregion,
			       VHOST_NET_MAX_REGIONS);
	if (vio(v, VHOST_SET_FEATURES, &f) < 0)
		return err_errno("vhost-net: VHOST_SET_FEATURES 0x%llx", (unsigned long long)f);
	v->features = f;
	mem = calloc(1, sizeof(*mem) + nregion * sizeof(mem->regions[0]));
	if (!mem)
		return err_set("out of memory");
	mem->nregions = nregion;
	for (unsigned i = 0; i < nregion; i++)
		mem->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = r[i].gpa, .memory_size = r[i].len,
			.userspace_addr = (uint64_t)(uintptr_t)r[i].hva,
		};
	if (vio(v, VHOST_SET_MEM_TABLE, mem) < 0) {
		free(mem);
		return err_errno("vhost-net: VHOST_SET_MEM_TABLE (%u regions)", nregion);
	}
	free(mem);
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++) {
		const struct vhost_net_ring *g = &ring[q];
		struct vhost_vring_state num = { .index = q, .num = g->num };
		struct vhost_vring_state base = { .index = q, .num = g->base };
		struct vhost_vring_addr addr = {
			.index = q,
			.desc_user_addr = (uint64_t)(uintptr_t)g->desc,
			.avail_user_addr = (uint64_t)(uintptr_t)g->avail,
			.used_user_addr = (uint64_t)(uintptr_t)g->used,
		};
		struct vhost_vring_file kick = { .index = q, .fd = g->kick };
		struct vhost_vring_file call = { .index = q, .fd = g->call };

		if (!g->num || !g->desc || !g->avail || !g->used || g->kick < 0 || g->call < 0)
			return err_set("vhost-net: queue %u is not set up", q);
		if (vio(v, VHOST_SET_VRING_NUM, &num) < 0)
			return err_errno("vhost-net: VHOST_SET_VRING_NUM %u (queue %u)", g->num, q);
		if (vio(v, VHOST_SET_VRING_BASE, &base) < 0)
			return err_errno("vhost-net: VHOST_SET_VRING_BASE %u (queue %u)", g->base, q);
		if (vio(v, VHOST_SET_VRING_ADDR, &addr) < 0)
			return err_errno("vhost-net: VHOST_SET_VRING_ADDR (queue %u)", q);
		if (vio(v, VHOST_SET_VRING_KICK, &kick) < 0)
			return err_errno("vhost-net: VHOST_SET_VRING_KICK (queue %u)", q);
		if (vio(v, VHOST_SET_VRING_CALL, &call) < 0)
			return err_errno("vhost-net: VHOST_SET_VRING_CALL (queue %u)", q);
	}
	for (; attached < VHOST_NET_QUEUES; attached++) {
		struct vhost_vring_file b = { .index = attached, .fd = tap_fd };

		if (vio(v, VHOST_NET_SET_BACKEND, &b) < 0) {
			int e = errno;

			detach(v, attached, &failed);
			errno = e;
			return err_errno("vhost-net: VHOST_NET_SET_BACKEND (queue %u)", attached);
		}
	}
	v->state = VHOST_NET_RUNNING;
	v->starts++;
	return 0;
}

int vhost_net_stop(struct vhost_net *v)
{
	bool failed = false;

	if (v->state != VHOST_NET_RUNNING)
		return 0;
	detach(v, VHOST_NET_QUEUES, &failed);
	v->state = VHOST_NET_OPEN;
	v->stops++;
	return failed ? -1 : 0;
}

void vhost_net_close(struct vhost_net *v)
{
	if (v->state == VHOST_NET_RUNNING)
		vhost_net_stop(v);
	if (v->fd >= 0 && v->io)
		v->io->close(v->io->opaque, v->fd);
	v->fd = -1;
	v->state = VHOST_NET_CLOSED;
}
