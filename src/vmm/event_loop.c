/* SPDX-License-Identifier: MIT */
#include "vmm/event_loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/sandbox.h"

int event_loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	for (unsigned i = 0; i < EVENT_LOOP_MAX; i++)
		l->h[i].fd = -1;
	pthread_mutex_init(&l->lock, NULL);
	atomic_store(&l->busy_fd, -1);
	l->wake_fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return err_errno("epoll_create1");
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0)
		return err_errno("eventfd");
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0)
			return err_errno("epoll_ctl (wake eventfd)");
	}
	return 0;
}

void event_loop_destroy(struct event_loop *l)
{
	event_loop_stop(l);
	for (unsigned i = 0; i < EVENT_LOOP_MAX; i++)
		if (l->h[i].fd >= 0 && l->h[i].owns_fd)
			close(l->h[i].fd);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->wake_fd = l->epfd = -1;
	pthread_mutex_destroy(&l->lock);
}

static struct event_handler *add_slot(struct event_loop *l, int fd, event_fn fn, void *opaque)
{
	struct event_handler *h = NULL;

	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < EVENT_LOOP_MAX; i++) {
		if (l->h[i].fd < 0) {
			h = &l->h[i];
			*h = (struct event_handler){ .fd = fd, .fn = fn, .opaque = opaque };
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return h;
}

static void free_slot(struct event_loop *l, struct event_handler *h)
{
	pthread_mutex_lock(&l->lock);
	h->fd = -1;
	pthread_mutex_unlock(&l->lock);
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn fn, void *opaque)
{
	struct event_handler *h = add_slot(l, fd, fn, opaque);
	struct epoll_event ev = { .events = events };
	int saved;

	if (!h)
		return err_set("event loop: more than %d file descriptors", EVENT_LOOP_MAX);
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		saved = errno;
		free_slot(l, h);
		errno = saved;
		return err_errno("epoll_ctl(ADD, fd %d)", fd);
	}
	return 0;
}

static struct event_handler *find(struct event_loop *l, int fd)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX; i++)
		if (l->h[i].fd == fd)
			return &l->h[i];
	return NULL;
}

int event_loop_modify(struct event_loop *l, int fd, uint32_t events)
{
	struct event_handler *h;
	struct epoll_event ev = { .events = events };

	pthread_mutex_lock(&l->lock);
	h = find(l, fd);
	pthread_mutex_unlock(&l->lock);
	if (!h)
		return err_set("event loop: fd %d is not watched", fd);
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return err_errno("epoll_ctl(MOD, fd %d)", fd);
	return 0;
}

void event_loop_remove(struct event_loop *l, int fd)
{
	struct event_handler *h;

	pthread_mutex_lock(&l->lock);
	h = find(l, fd);
	pthread_mutex_unlock(&l->lock);
	if (!h)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (h->owns_fd)
		close(fd);
	free_slot(l, h);
}

int event_loop_timer(struct event_loop *l, double seconds, event_fn fn, void *opaque)
{
	struct itimerspec its = { 0 };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return err_errno("timerfd_create");
	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (double)its.it_value.tv_sec) * 1e9);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) < 0 ||
	    event_loop_add(l, fd, EPOLLIN, fn, opaque) < 0) {
		err_errno("timerfd");
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&l->lock);
	{
		struct event_handler *h = find(l, fd);

		if (h)
			h->owns_fd = h->timer = true;
	}
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event ev[16];

	sandbox_thread_start("event-loop");

	while (!atomic_load(&l->quit)) {
		int n = epoll_wait(l->epfd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n && !atomic_load(&l->quit); i++) {
			struct event_handler *h = ev[i].data.ptr;
			int fd = h ? h->fd : -1;

			if (fd < 0 || !h->fn)
				continue; /* the wake eventfd (`quit` says why), or removed */
			if (h->timer) {
				/* An expired timerfd stays readable until read: without
				 * this the loop is level-triggered into calling the
				 * handler again on every turn, forever. */
				uint64_t expirations;

				if (read(fd, &expirations, sizeof(expirations)) !=
				    (ssize_t)sizeof(expirations))
					continue;
			}
			atomic_store(&l->busy_since_ns, now_ns());
			atomic_store(&l->busy_fd, fd);
			h->fn(h->opaque, ev[i].events);
			atomic_store(&l->busy_fd, -1);
		}
	}
	return NULL;
}

int event_loop_start(struct event_loop *l)
{
	int r = pthread_create(&l->thread, NULL, loop_thread, l);

	if (r) {
		errno = r;
		return err_errno("event loop: pthread_create");
	}
	l->running = true;
	return 0;
}

static void ask_to_quit(struct event_loop *l)
{
	uint64_t one = 1;

	atomic_store(&l->quit, true);
	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* an eventfd only fails to count past 2^64-2 */
	}
}

void event_loop_stop(struct event_loop *l)
{
	if (!l->running)
		return;
	ask_to_quit(l);
	pthread_join(l->thread, NULL);
	l->running = false;
}

int event_loop_stop_timed(struct event_loop *l, long timeout_ms, char *why, size_t size)
{
	struct timespec dl;
	int fd;
	char what[128] = "?";

	if (!l->running)
		return 0;
	ask_to_quit(l);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	if (pthread_clockjoin_np(l->thread, NULL, CLOCK_MONOTONIC, &dl) == 0) {
		l->running = false;
		return 0;
	}
	fd = atomic_load(&l->busy_fd);
	if (fd >= 0) {
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, what, sizeof(what) - 1);
		what[n > 0 ? n : 0] = '\0';
		snprintf(why, size, "the event loop thread did not stop within %ld ms: it has been "
			 "in the handler of fd %d (%s) for %llu ms", timeout_ms, fd,
			 n > 0 ? what : "closed",
			 (unsigned long long)((now_ns() - atomic_load(&l->busy_since_ns)) / 1000000));
	} else {
		snprintf(why, size, "the event loop thread did not stop within %ld ms (not in a "
			 "handler)", timeout_ms);
	}
	return -1;
}
