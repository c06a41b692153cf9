/* SPDX-License-Identifier: MIT */
/*
 * The event loop (vmm/event_loop.h): a timer's handler runs once, and a
 * stop that its thread does not answer (a handler that does not return)
 * comes back within its bound, naming the handler's descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/event_loop.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void count(void *opaque, uint32_t events)
{
	atomic_fetch_add((atomic_int *)opaque, 1);
}

/*
 * An expired timerfd stays readable until it is read; the loop is level-
 * triggered.  Before the fix the --timeout handler ran again on every turn
 * of the loop (tens of thousands of times here), keeping the loop thread
 * spinning on vm->lock while the main thread tried to end the VM.
 */
static void test_timer_fires_once(void **state)
{
	struct event_loop l;
	atomic_int n = 0;

	assert_int_equal(event_loop_init(&l), 0);
	assert_int_equal(event_loop_timer(&l, 0.01, count, &n), 0);
	assert_int_equal(event_loop_start(&l), 0);
	sleep_ms(200);
	event_loop_stop(&l);
	assert_int_equal(atomic_load(&n), 1);
	event_loop_destroy(&l);
}

struct wedge {
	pthread_mutex_t m;
	atomic_int entered;
};

/* A handler that waits for a lock the test holds: a device thread wedged. */
static void wedged(void *opaque, uint32_t events)
{
	struct wedge *w = opaque;

	atomic_store(&w->entered, 1);
	pthread_mutex_lock(&w->m);
	pthread_mutex_unlock(&w->m);
}

static void test_stop_timed_returns_when_a_handler_is_wedged(void **state)
{
	struct event_loop l;
	struct wedge w = { .entered = 0 };
	int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	char why[256] = "", expect[32];
	long t0;

	assert_true(fd >= 0);
	pthread_mutex_init(&w.m, NULL);
	pthread_mutex_lock(&w.m);
	assert_int_equal(event_loop_init(&l), 0);
	assert_int_equal(event_loop_add(&l, fd, EPOLLIN, wedged, &w), 0);
	assert_int_equal(event_loop_start(&l), 0);
	while (!atomic_load(&w.entered))
		sleep_ms(1);
	t0 = now_ms();
	assert_int_equal(event_loop_stop_timed(&l, 300, why, sizeof(why)), -1);
	assert_true(now_ms() - t0 < 2000);
	snprintf(expect, sizeof(expect), "fd %d (", fd);
	assert_non_null(strstr(why, expect));
	assert_non_null(strstr(why, "eventfd"));
	/* unwedged: the loop ends, the fd once read */
	pthread_mutex_unlock(&w.m);
	event_loop_stop(&l);
	event_loop_destroy(&l);
	close(fd);
	pthread_mutex_destroy(&w.m);
}

static void test_stop_timed_when_idle(void **state)
{
	struct event_loop l;
	char why[256] = "";

	assert_int_equal(event_loop_init(&l), 0);
	assert_int_equal(event_loop_start(&l), 0);
	assert_int_equal(event_loop_stop_timed(&l, 1000, why, sizeof(why)), 0);
	assert_false(l.running);
	event_loop_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_fires_once),
		cmocka_unit_test(test_stop_timed_returns_when_a_handler_is_wedged),
		cmocka_unit_test(test_stop_timed_when_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
