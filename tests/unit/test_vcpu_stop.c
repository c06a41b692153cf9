/* SPDX-License-Identifier: MIT */
/*
 * Ending a vCPU thread with a bound (vmm/vcpu.h): vcpu_join_until() comes
 * back by its deadline when the thread is wedged (here: blocked on a lock,
 * as on a device's lock), kicking it meanwhile, and joins once it ends;
 * vcpu_where_text() says where the thread is.  No KVM: the thread is a
 * plain one standing in for a vCPU's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "devices/device.h"
#include "vmm/vcpu.h"

static atomic_int kicks;

static void on_kick(int sig)
{
	(void)sig;
	atomic_fetch_add(&kicks, 1);
}

static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;

/* A vCPU thread in an MMIO handler that waits for its device's lock. */
static void *wedged_vcpu(void *arg)
{
	struct vcpu *v = arg;

	atomic_store(&v->where, VCPU_AT_MMIO_WRITE);
	pthread_mutex_lock(&device_lock);
	pthread_mutex_unlock(&device_lock);
	atomic_store(&v->where, VCPU_AT_EXITED);
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void test_join_until_returns_for_a_wedged_thread(void **state)
{
	struct sigaction sa;
	struct kvm_run run;
	struct device dev;
	struct vcpu v;
	struct timespec dl;
	char where[256];
	long t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&run, 0, sizeof(run));
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.id, sizeof(dev.id), "virtio-net0");
	memset(&v, 0, sizeof(v));
	v.run = &run;
	atomic_store(&v.where_dev, &dev);
	atomic_store(&v.where_addr, 0xd0000050);

	pthread_mutex_lock(&device_lock);
	assert_int_equal(pthread_create(&v.thread, NULL, wedged_vcpu, &v), 0);
	v.thread_started = true;
	while (atomic_load(&v.where) != VCPU_AT_MMIO_WRITE)
		;
	t0 = now_ms();
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 400000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	assert_int_equal(vcpu_join_until(&v, &dl), -1);
	assert_true(now_ms() - t0 >= 350);
	assert_true(now_ms() - t0 < 2000);
	assert_true(v.thread_started);          /* not joined: left running */
	assert_int_equal(run.immediate_exit, 1); /* and kicked */
	assert_true(atomic_load(&kicks) >= 2);   /* again, while waiting */
	vcpu_where_text(&v, where, sizeof(where));
	assert_string_equal(where, "in an MMIO write to virtio-net0 at 0xd0000050");

	/* The lock comes free: the thread ends and is joined. */
	pthread_mutex_unlock(&device_lock);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	assert_int_equal(vcpu_join_until(&v, &dl), 0);
	assert_false(v.thread_started);
	vcpu_where_text(&v, where, sizeof(where));
	assert_string_equal(where, "leaving its thread");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_until_returns_for_a_wedged_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
