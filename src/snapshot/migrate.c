/* SPDX-License-Identifier: MIT */
/* Live migration (snapshot/migrate.h). */
#include "snapshot/migrate.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "api/vmapi.h"
#include "boot/layout.h"
#include "cpu/dump.h"
#include "cpu/host.h"
#include "exitcodes.h"
#include "snapshot/cpucheck.h"
#include "snapshot/snapshot.h"
#include "util/err.h"
#include "vmm/runstate.h"

enum { M_HELLO = 1, M_CPU, M_ACK, M_REFUSE, M_PAGES, M_STATE, M_ERROR, M_RUNNING };

#define MIG_MAGIC "SKYVMMIG"
#define MIG_VERSION 1u
#define PAGE 4096u
#define PAGES_PER_FRAME 256u
#define MAX_FRAME (SNAP_MAX_FILE + 16)
#define IO_TIMEOUT_S 60
#define MAX_ROUNDS 30
#define CONVERGED_PAGES 64

static const char *const frame_names[] = { "?", "HELLO", "CPU", "ACK", "REFUSE", "PAGES",
					   "STATE", "ERROR", "RUNNING" };

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- frames */

struct link {
	int fd;
	double start_ms, mib_s;
	uint64_t bytes;
	uint8_t *copy;            /* PAGES_PER_FRAME pages: what a PAGES frame sends */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_errno("migration stream: send");
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = recv(fd, p, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return err_set("the other side went away mid-migration (the stream ends "
				       "short)");
		if (r < 0)
			return err_errno("migration stream: receive");
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static uint32_t frame_crc(uint32_t type, uint64_t len, const void *a, size_t alen,
			  const void *b, size_t blen)
{
	uint32_t c = snap_crc32(0, &type, 4);

	c = snap_crc32(c, &len, 8);
	c = snap_crc32(c, a, alen);
	return snap_crc32(c, b, blen);
}

/* A frame whose payload is a then b (b may be empty). */
static int send_frame2(struct link *l, uint32_t type, const void *a, size_t alen, const void *b,
		       size_t blen)
{
	uint8_t hdr[16];
	uint64_t len = alen + blen;
	uint32_t crc = frame_crc(type, len, a, alen, b, blen);

	memcpy(hdr, &type, 4);
	memcpy(hdr + 4, &crc, 4);
	memcpy(hdr + 8, &len, 8);
	if (write_all(l->fd, hdr, 16) < 0 || (alen && write_all(l->fd, a, alen) < 0) ||
	    (blen && write_all(l->fd, b, blen) < 0))
		return -1;
	l->bytes += 16 + len;
	if (l->mib_s > 0) {
		/* Hold the average rate to the limit. */
		double due = (double)l->bytes / (l->mib_s * 1048576.0) * 1e3 + l->start_ms,
		       wait = due - now_ms();

		if (wait > 0) {
			struct timespec ts = { (time_t)(wait / 1e3),
					       (long)((wait - (double)(time_t)(wait / 1e3) * 1e3) * 1e6) };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int send_frame(struct link *l, uint32_t type, const void *p, size_t len)
{
	return send_frame2(l, type, p, len, NULL, 0);
}

/* Receive one frame; *buf malloc'ed (NUL-terminated for text). */
static int recv_frame(struct link *l, uint32_t *type, uint8_t **buf, uint64_t *len)
{
	uint8_t hdr[16];
	uint32_t crc;

	*buf = NULL;
	if (read_all(l->fd, hdr, 16) < 0)
		return -1;
	memcpy(type, hdr, 4);
	memcpy(&crc, hdr + 4, 4);
	memcpy(len, hdr + 8, 8);
	if (*type < M_HELLO || *type > M_RUNNING)
		return err_set("migration stream corrupt: unknown frame type %u", *type);
	if (*len > MAX_FRAME)
		return err_set("migration stream corrupt: a %s frame of %llu bytes",
			       frame_names[*type], (unsigned long long)*len);
	*buf = malloc((size_t)*len + 1);
	if (!*buf)
		return err_set("out of memory");
	if (read_all(l->fd, *buf, (size_t)*len) < 0) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[*len] = '\0';
	if (frame_crc(*type, *len, *buf, (size_t)*len, NULL, 0) != crc) {
		free(*buf);
		*buf = NULL;
		return err_set("migration stream corrupt: %s frame checksum mismatch",
			       frame_names[*type]);
	}
	return 0;
}

/* ---- addresses */

static int split_tcp(const char *addr, char *host, size_t hsize, const char **port)
{
	const char *colon = strrchr(addr, ':');

	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= hsize)
		return err_set("'tcp:%s': expected tcp:HOST:PORT", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = colon + 1;
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int connect_to(const char *to)
{
	int fd = -1;

	if (!strncmp(to, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(to + 5) >= sizeof(sa.sun_path) || !to[5])
			return err_set("%s: bad unix socket path", to);
		strcpy(sa.sun_path, to + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			err_errno("%s: connect", to);
			close(fd);
			return -1;
		}
	} else if (!strncmp(to, "tcp:", 4)) {
		char host[256];
		const char *port;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
		int r;

		if (split_tcp(to + 4, host, sizeof(host), &port) < 0)
			return -1;
		r = getaddrinfo(host, port, &hints, &ai);
		if (r)
			return err_set("%s: %s", to, gai_strerror(r));
		for (p = ai; p; p = p->ai_next) {
			fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
			if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) == 0)
				break;
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
		if (fd < 0)
			return err_errno("%s: connect", to);
	} else {
		return err_set("'%s': expected unix:PATH or tcp:HOST:PORT", to);
	}
	if (fd < 0)
		return err_errno("%s: socket", to);
	set_timeouts(fd);
	return fd;
}

static int listen_on(const char *from)
{
	int fd;

	if (!strncmp(from, "unix:", 5))
		return api_socket_create(from + 5);
	if (!strncmp(from, "tcp:", 4)) {
		char host[256];
		const char *port;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
		int one = 1, r;

		if (split_tcp(from + 4, host, sizeof(host), &port) < 0)
			return -1;
		r = getaddrinfo(host, port, &hints, &ai);
		if (r)
			return err_set("%s: %s", from, gai_strerror(r));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			freeaddrinfo(ai);
			return err_errno("%s: socket", from);
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
			freeaddrinfo(ai);
			err_errno("%s", from);
			close(fd);
			return -1;
		}
		freeaddrinfo(ai);
		return fd;
	}
	return err_set("--incoming '%s': expected unix:PATH or tcp:HOST:PORT", from);
}

/* ---- the source */

struct slot {
	unsigned id;
	uint64_t gpa, size;
	uint8_t *host;
	uint64_t *bitmap;         /* dirty, not sent yet */
	uint64_t *sent;           /* sent at least once (the destination has it) */
};

static int nslots(struct vm *vm, struct slot *s)
{
	unsigned n = 0;

	s[n++] = (struct slot){ 0, 0, vm->mem.low_size, vm->mem.host, NULL, NULL };
	if (vm->mem.size > vm->mem.low_size)
		s[n++] = (struct slot){ 1, LAYOUT_HOLE_END, vm->mem.size - vm->mem.low_size,
					vm->mem.host + vm->mem.low_size, NULL, NULL };
	return (int)n;
}

static int dirty_logging(struct vm *vm, struct slot *s, int n, bool on)
{
	for (int i = 0; i < n; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = s[i].id, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = s[i].gpa, .memory_size = s[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)s[i].host,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return err_errno("KVM_SET_USER_MEMORY_REGION (%s dirty logging, slot %u)",
					 on ? "enabling" : "disabling", s[i].id);
	}
	return 0;
}

static bool page_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

#define BIT(map, p) (((map)[(p) / 64] >> ((p) % 64)) & 1)

/*
 * Send the dirty pages of `s`; with `all`, also every page that is not all
 * zeros or was sent before (it may have become zeros since): the whole of
 * what the destination must hold.
 */
static int send_pages(struct link *l, struct slot *s, bool all, uint64_t *sent)
{
	uint64_t npages = s->size / PAGE, i = 0;

	while (i < npages) {
		uint64_t run = 0;

		while (i + run < npages && run < PAGES_PER_FRAME) {
			uint64_t p = i + run;
			bool want = BIT(s->bitmap, p) ||
				    (all && (BIT(s->sent, p) || !page_zero(s->host + p * PAGE)));

			if (!want)
				break;
			run++;
		}
		if (!run) {
			i++;
			continue;
		}
		{
			uint64_t gpa = s->gpa + i * PAGE;

			/*
			 * A copy: the guest may write these pages while they are sent, and
			 * the checksum must cover the bytes that go out (a page changed
			 * since is dirty again and goes in a later round).
			 */
			memcpy(l->copy, s->host + i * PAGE, run * PAGE);
			if (send_frame2(l, M_PAGES, &gpa, 8, l->copy, run * PAGE) < 0)
				return -1;
		}
		for (uint64_t p = i; p < i + run; p++)
			s->sent[p / 64] |= 1ULL << (p % 64);
		*sent += run;
		i += run;
	}
	return 0;
}

/*
 * Fetch and clear KVM's dirty bitmaps into s[].bitmap: replacing what is
 * there, or ORed into it (`keep`: pages found dirty before and not sent yet).
 * Returns the number of pages set, or -1.
 */
static int64_t collect_dirty(struct vm *vm, struct slot *s, int n, bool keep)
{
	int64_t total = 0;

	for (int i = 0; i < n; i++) {
		uint64_t words = (s[i].size / PAGE + 63) / 64;
		uint64_t *tmp = calloc(words, 8);
		struct kvm_dirty_log d = { .slot = s[i].id };

		if (!tmp)
			return err_set("out of memory");
		d.dirty_bitmap = tmp;
		if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &d) < 0) {
			free(tmp);
			return err_errno("KVM_GET_DIRTY_LOG (slot %u)", s[i].id);
		}
		for (uint64_t w = 0; w < words; w++) {
			s[i].bitmap[w] = keep ? s[i].bitmap[w] | tmp[w] : tmp[w];
			total += __builtin_popcountll(s[i].bitmap[w]);
		}
		free(tmp);
	}
	return total;
}

/* Devices that write guest memory themselves (virtio DMA): KVM logs none of it. */
static bool has_dma_devices(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->machine.n; i++)
		if (!strncmp(vm->machine.dev[i]->cls->name, "virtio", 6))
			return true;
	return false;
}

int migrate_send(struct vm *vm, const char *to, double mib_s, struct migrate_stats *st)
{
	struct link l = { .fd = -1, .start_ms = now_ms(), .mib_s = mib_s };
	struct slot slots[2];
	int n = nslots(vm, slots), r = -1;
	struct snap_file f;
	uint8_t *enc = NULL, *reply = NULL;
	size_t enclen;
	uint64_t rlen;
	uint32_t type;
	bool logging = false, paused = false, state_sent = false;
	double pause_ms = 0;
	int64_t dirty;

	memset(st, 0, sizeof(*st));
	snap_init(&f);
	l.copy = malloc(PAGES_PER_FRAME * PAGE);
	if (!l.copy) {
		err_set("out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		slots[i].bitmap = calloc((slots[i].size / PAGE + 63) / 64, 8);
		slots[i].sent = calloc((slots[i].size / PAGE + 63) / 64, 8);
		if (!slots[i].bitmap || !slots[i].sent) {
			err_set("out of memory");
			goto out;
		}
	}
	if (vm_run_state(vm) != VM_RUNNING) {
		err_set("the VM is not running");
		goto out;
	}
	l.fd = connect_to(to);
	if (l.fd < 0)
		goto out;
	{
		uint8_t hello[12];
		uint32_t v = MIG_VERSION;

		memcpy(hello, MIG_MAGIC, 8);
		memcpy(hello + 8, &v, 4);
		if (send_frame(&l, M_HELLO, hello, sizeof(hello)) < 0)
			goto out;
	}
	/* The CPU first: the destination refuses before any memory moves. */
	if (snapshot_cpu_sections(vm, &f) < 0 || snap_encode(&f, &enc, &enclen) < 0 ||
	    send_frame(&l, M_CPU, enc, enclen) < 0 || recv_frame(&l, &type, &reply, &rlen) < 0)
		goto out;
	if (type == M_REFUSE) {
		st->refused = true;
		err_set("the destination refused the guest's CPU:\n%s", (char *)reply);
		goto out;
	}
	if (type != M_ACK) {
		err_set("the destination answered %s: %s", frame_names[type],
			type == M_ERROR ? (char *)reply : "");
		goto out;
	}
	if (dirty_logging(vm, slots, n, true) < 0)
		goto out;
	logging = true;
	/* Round 1: every page that is not all zeros (the destination starts zeroed). */
	for (int i = 0; i < n; i++)
		if (send_pages(&l, &slots[i], true, &st->pages) < 0)
			goto out;
	st->rounds = 1;
	for (;;) {
		dirty = collect_dirty(vm, slots, n, false);
		if (dirty < 0)
			goto out;
		if (dirty <= CONVERGED_PAGES || st->rounds >= MAX_ROUNDS)
			break;
		for (int i = 0; i < n; i++)
			if (send_pages(&l, &slots[i], false, &st->pages) < 0)
				goto out;
		st->rounds++;
	}
	/* Stop the guest, then the last pages and the state. */
	if (vm_pause(vm) < 0)
		goto out;
	paused = true;
	pause_ms = now_ms();
	{
		uint64_t before = st->pages;
		bool dma = has_dma_devices(vm);

		/* The pages found dirty above were not sent: keep them, add the rest. */
		if (collect_dirty(vm, slots, n, true) < 0)
			dma = true; /* cannot tell what changed: send every page */
		for (int i = 0; i < n; i++)
			if (send_pages(&l, &slots[i], dma, &st->pages) < 0)
				goto out;
		st->last_dirty = st->pages - before;
	}
	st->rounds++;
	snap_free(&f);
	snap_init(&f);
	free(enc);
	enc = NULL;
	if (snapshot_collect(vm, &f) < 0 || snap_encode(&f, &enc, &enclen) < 0 ||
	    send_frame(&l, M_STATE, enc, enclen) < 0)
		goto out;
	state_sent = true;
	free(reply);
	reply = NULL;
	if (recv_frame(&l, &type, &reply, &rlen) < 0)
		goto out;
	if (type != M_RUNNING) {
		state_sent = false; /* the destination said it failed: ours to run again */
		err_set("the destination could not start the guest: %s",
			type == M_ERROR ? (char *)reply : frame_names[type]);
		goto out;
	}
	st->downtime_ms = now_ms() - pause_ms;
	st->total_ms = now_ms() - l.start_ms;
	vm_stop(vm, EXIT_OK, "migrated to %s (%u rounds, downtime %.1f ms)", to, st->rounds,
		st->downtime_ms);
	r = 0;
out:
	if (r < 0) {
		char msg[ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err_msg());
		if (logging)
			dirty_logging(vm, slots, n, false);
		if (paused && state_sent) {
			/* The destination may be running the guest: never run it twice. */
			st->source_paused = true;
			err_set("%s; the state was sent and the destination did not confirm: the "
				"guest is left paused here (resume it only if the destination is "
				"not running it)", msg);
		} else {
			if (paused)
				vm_resume(vm, true);
			err_set("%s; the VM keeps running here", msg);
		}
	}
	if (l.fd >= 0)
		close(l.fd);
	for (int i = 0; i < n; i++) {
		free(slots[i].bitmap);
		free(slots[i].sent);
	}
	free(enc);
	free(reply);
	free(l.copy);
	snap_free(&f);
	return r;
}

/* ---- the destination */

static void send_text(struct link *l, uint32_t type, const char *text)
{
	send_frame(l, type, text, strlen(text));
}

static int accept_one(int lfd, const char *from)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	fprintf(stderr, "skyvm: waiting for a VM on %s\n", from);
	for (;;) {
		int r = poll(&p, 1, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_errno("poll");
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return err_errno("accept");
	}
	{
		int flags = 0;

		ioctl(fd, FIONBIO, &flags); /* blocking, with timeouts */
	}
	set_timeouts(fd);
	return fd;
}

static int check_cpu(const struct snapshot *s, const char *supported, char *why, size_t size)
{
	static struct cpuid_table host;
	static struct snap_cpu_verdict v;
	struct cpu_host_facts facts;

	if (supported) {
		struct cpuid_dump_meta meta;

		if (cpuid_dump_load(supported, &host, &meta) < 0)
			return -1;
		cpu_host_facts_default(&facts);
		snapshot_cpu_check(s->cpuid, s->ncpus, &host, &facts, &v);
		if (v.nproblems) {
			snprintf(why, size, "%s", v.text);
			return 1;
		}
	}
	if (cpu_host_supported(&host) < 0)
		return -1;
	cpu_host_facts_probe(&facts);
	snapshot_cpu_check(s->cpuid, s->ncpus, &host, &facts, &v);
	if (v.nproblems) {
		snprintf(why, size, "%s", v.text);
		return 1;
	}
	return 0;
}

int migrate_incoming(const struct incoming_opts *o)
{
	struct link l = { .fd = -1 };
	struct snapshot s, st;
	struct vm_config cfg;
	struct vm vm;
	bool vm_made = false;
	struct vm_api *api = NULL;
	uint8_t *buf = NULL;
	uint64_t len, pages = 0;
	uint32_t type;
	int lfd, code = EXIT_ERROR;
	static char why[16384];

	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	lfd = listen_on(o->from);
	if (lfd < 0) {
		fprintf(stderr, "skyvm: --incoming: %s\n", err_msg());
		return EXIT_ERROR;
	}
	l.fd = accept_one(lfd, o->from);
	close(lfd);
	if (!strncmp(o->from, "unix:", 5))
		unlink(o->from + 5);
	if (l.fd < 0)
		goto fail;
	if (recv_frame(&l, &type, &buf, &len) < 0)
		goto fail;
	if (type != M_HELLO || len != 12 || memcmp(buf, MIG_MAGIC, 8)) {
		err_set("not a skyvm migration stream");
		goto fail;
	}
	{
		uint32_t v;

		memcpy(&v, buf + 8, 4);
		if (v > MIG_VERSION) {
			err_set("migration stream version %u is newer than this skyvm reads (%u)", v,
				MIG_VERSION);
			send_text(&l, M_ERROR, err_msg());
			goto fail;
		}
	}
	free(buf);
	if (recv_frame(&l, &type, &buf, &len) < 0)
		goto fail;
	if (type != M_CPU) {
		err_set("expected the CPU tables, got %s", frame_names[type]);
		goto fail;
	}
	if (snap_decode(buf, (size_t)len, "migration CPU frame", &s.f) < 0 ||
	    snapshot_parse(&s, "migration CPU frame") < 0)
		goto fail;
	snprintf(s.dir, sizeof(s.dir), "%s", o->from);
	switch (check_cpu(&s, o->supported, why, sizeof(why))) {
	case 0:
		break;
	case 1:
		send_text(&l, M_REFUSE, why);
		fprintf(stderr, "skyvm: --incoming: refused the guest's CPU (%s):\n", s.model);
		for (char *p = why, *nl; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			fprintf(stderr, "skyvm: %.*s\n", (int)(nl - p), p);
		}
		code = EXIT_CPU_INCOMPATIBLE;
		goto out;
	default:
		send_text(&l, M_ERROR, err_msg());
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.console = o->console;
	cfg.timeout_s = o->timeout_s;
	cfg.max_output = o->max_output;
	cfg.verbose = o->verbose;
	cfg.warn = stderr;
	cfg.sandbox = o->sandbox;
	if (snapshot_config(&s, &cfg) < 0) {
		send_text(&l, M_ERROR, err_msg());
		goto fail;
	}
	vm_made = true;
	if (vm_create(&vm, &cfg) < 0) {
		send_text(&l, M_ERROR, err_msg());
		goto fail;
	}
	madvise(vm.mem.host, vm.mem.size, MADV_DONTNEED); /* all zeros, as the source assumes */
	send_frame(&l, M_ACK, NULL, 0);
	for (;;) {
		free(buf);
		if (recv_frame(&l, &type, &buf, &len) < 0) {
			err_wrap("receiving the guest failed after %llu pages; nothing was started",
				 (unsigned long long)pages);
			goto fail;
		}
		if (type == M_STATE)
			break;
		if (type != M_PAGES || len < 8 + PAGE || (len - 8) % PAGE) {
			err_set("migration stream corrupt: unexpected %s frame", frame_names[type]);
			goto fail;
		}
		{
			uint64_t gpa;
			void *dst;

			memcpy(&gpa, buf, 8);
			dst = guest_ptr(&vm.mem, gpa, len - 8);
			if (!dst || gpa % PAGE) {
				err_set("migration stream: pages at 0x%llx are outside guest RAM",
					(unsigned long long)gpa);
				goto fail;
			}
			memcpy(dst, buf + 8, (size_t)(len - 8));
			pages += (len - 8) / PAGE;
		}
	}
	if (snap_decode(buf, (size_t)len, "migration state", &st.f) < 0 ||
	    snapshot_parse(&st, "migration state") < 0 || snapshot_restore_cpu_state(&st, &vm) < 0) {
		send_text(&l, M_ERROR, err_msg());
		goto fail;
	}
	if (o->api_path && !(api = vm_api_start(&vm, o->api_path))) {
		send_text(&l, M_ERROR, err_msg());
		goto fail;
	}
	/* The guest runs here from now on: say so before the first KVM_RUN. */
	if (send_frame(&l, M_RUNNING, NULL, 0) < 0) {
		err_wrap("the source went away before the guest was started here; nothing was "
			 "started");
		goto fail;
	}
	close(l.fd);
	l.fd = -1;
	if (o->verbose)
		fprintf(stderr, "skyvm: --incoming: received %llu pages; running\n",
			(unsigned long long)pages);
	code = vm_run(&vm);
	vm_api_stop(api);
	api = NULL;
	if (code != EXIT_OK || o->verbose)
		fprintf(stderr, "skyvm: %s (exit %d)\n", vm.stop_reason, code);
	console_report(&vm.console, stderr);
	goto out;
fail:
	fprintf(stderr, "skyvm: --incoming: %s\n", err_msg());
	code = EXIT_ERROR;
out:
	vm_api_stop(api);
	if (vm_made)
		vm_destroy(&vm);
	if (l.fd >= 0)
		close(l.fd);
	free(buf);
	snapshot_free(&s);
	snapshot_free(&st);
	return code;
}
