/* SPDX-License-Identifier: MIT */
#include "vmm/event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/err.h"

int event_loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	for (unsigned i = 0; i < EVENT_LOOP_MAX; i++)
		l->h[i].fd = -1;
	pthread_mutex_init(&l->lock, NULL);
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
			h->owns_fd = true;
	}
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event ev[16];

	while (!atomic_load(&l->quit)) {
		int n = epoll_wait(l->epfd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n && !atomic_load(&l->quit); i++) {
			struct event_handler *h = ev[i].data.ptr;

			if (!h)
				continue; /* the wake eventfd: `quit` says why */
			if (h->fd >= 0 && h->fn)
				h->fn(h->opaque, ev[i].events);
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

void event_loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	if (!l->running)
		return;
	atomic_store(&l->quit, true);
	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* an eventfd only fails to count past 2^64-2 */
	}
	pthread_join(l->thread, NULL);
	l->running = false;
}
