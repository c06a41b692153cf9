/* SPDX-License-Identifier: MIT */
/*
 * The VM's event loop: one thread waiting in epoll on every file descriptor
 * the VM serves outside the vCPU threads: stdin, console output when the
 * reader is slow, device backends, ioeventfds, timers (--timeout), and a wake
 * eventfd that ends the loop.  Handlers run on the loop thread, one at a
 * time; they must not block.
 *
 * Handlers may be added from any thread (epoll_ctl is thread-safe); a handler
 * is only removed while the loop is not running or from the loop thread.
 */
#ifndef SKYVM_VMM_EVENT_LOOP_H
#define SKYVM_VMM_EVENT_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);

#define EVENT_LOOP_MAX 64

struct event_handler {
	int fd;                   /* -1: free slot */
	event_fn fn;
	void *opaque;
	bool owns_fd;             /* timers: closed on removal */
	bool timer;               /* a timerfd: read before fn is called */
};

struct event_loop {
	int epfd;
	int wake_fd;              /* eventfd: ends the loop */
	pthread_t thread;
	bool running;
	atomic_bool quit;
	pthread_mutex_t lock;     /* the handler table */
	struct event_handler h[EVENT_LOOP_MAX];
	/* What the loop thread is doing, for a stop that does not come back:
	 * the fd whose handler runs (-1: waiting in epoll) and since when. */
	atomic_int busy_fd;
	atomic_uint_least64_t busy_since_ns; /* CLOCK_MONOTONIC */
};

int event_loop_init(struct event_loop *l);
void event_loop_destroy(struct event_loop *l);
/* Watch fd for `events` (EPOLLIN, EPOLLOUT, ...). 0, or -1 (err_msg; errno kept). */
int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn fn, void *opaque);
int event_loop_modify(struct event_loop *l, int fd, uint32_t events);
void event_loop_remove(struct event_loop *l, int fd);
/*
 * A one-shot timer after `seconds`; the loop owns its timerfd, and reads
 * it before calling fn, so fn runs once.
 */
int event_loop_timer(struct event_loop *l, double seconds, event_fn fn, void *opaque);
/* Run the loop on its own thread until event_loop_stop(). */
int event_loop_start(struct event_loop *l);
void event_loop_stop(struct event_loop *l);
/*
 * Ask the loop to end and wait at most timeout_ms for its thread.  0 when
 * it ended; -1 when it did not (a handler that does not return): `why` says
 * which handler and for how long, the thread is left running (never
 * cancelled: it may hold locks), and the loop must not be destroyed.
 */
int event_loop_stop_timed(struct event_loop *l, long timeout_ms, char *why, size_t size);

#endif
