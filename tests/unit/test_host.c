/* SPDX-License-Identifier: MIT */
/*
 * cpu_host_supported_fd() against a fake KVM: this program defines ioctl(),
 * which takes precedence over libc's for the library code linked into it, and
 * answers KVM_GET_SUPPORTED_CPUID like the kernel does (E2BIG while the
 * buffer is too small), so the growth path is tested without /dev/kvm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpu/host.h"
#include "util/err.h"

static uint32_t fake_nent;   /* entries the fake kernel has */
static unsigned fake_calls;  /* KVM_GET_SUPPORTED_CPUID calls seen */
static int fake_errno;       /* fail every call with this, when non-zero */

int ioctl(int fd, unsigned long request, ...)
{
	struct kvm_cpuid2 *c;
	va_list ap;

	(void)fd;
	va_start(ap, request);
	c = va_arg(ap, struct kvm_cpuid2 *);
	va_end(ap);
	if (request != KVM_GET_SUPPORTED_CPUID) {
		errno = ENOTTY;
		return -1;
	}
	fake_calls++;
	if (fake_errno) {
		errno = fake_errno;
		return -1;
	}
	/* The kernel: E2BIG when the caller's nent is too small. */
	if (c->nent < fake_nent) {
		errno = E2BIG;
		return -1;
	}
	c->nent = fake_nent;
	for (uint32_t i = 0; i < fake_nent; i++) {
		memset(&c->entries[i], 0, sizeof(c->entries[i]));
		c->entries[i].function = i;
		c->entries[i].eax = 0x1000 + i;
	}
	return 0;
}

static struct cpuid_table t;

static void test_grows_on_e2big(void **state)
{
	(void)state;
	/* 59 entries (the PVM host's count) fit the first request */
	fake_nent = 59;
	fake_calls = 0;
	assert_int_equal(cpu_host_supported_fd(3, &t), 0);
	assert_int_equal(t.nent, 59);
	assert_int_equal(fake_calls, 1);
	/* 150 need two retries (64 -> 128 -> 256) */
	fake_nent = 150;
	fake_calls = 0;
	assert_int_equal(cpu_host_supported_fd(3, &t), 0);
	assert_int_equal(t.nent, 150);
	assert_int_equal(fake_calls, 3);
	assert_int_equal(t.ent[149].function, 149);
	assert_int_equal(t.ent[149].eax, 0x1000 + 149);
	/* the table's maximum exactly */
	fake_nent = CPUID_MAX_ENTRIES;
	assert_int_equal(cpu_host_supported_fd(3, &t), 0);
	assert_int_equal(t.nent, CPUID_MAX_ENTRIES);
}

static void test_errors(void **state)
{
	(void)state;
	/* more than skyvm's table holds: E2BIG even at the largest request */
	fake_nent = CPUID_MAX_ENTRIES + 1;
	fake_calls = 0;
	assert_int_equal(cpu_host_supported_fd(3, &t), -1);
	assert_non_null(strstr(err_msg(), "KVM_GET_SUPPORTED_CPUID"));
	assert_int_equal(fake_calls, 3); /* 64, 128, 256: then give up */
	/* any other failure is reported with its errno */
	fake_errno = EFAULT;
	assert_int_equal(cpu_host_supported_fd(3, &t), -1);
	assert_non_null(strstr(err_msg(), strerror(EFAULT)));
	fake_errno = 0;
}

static void test_no_dev_kvm(void **state)
{
	(void)state;
	if (access("/dev/kvm", F_OK) == 0)
		skip();
	assert_int_equal(cpu_host_supported(&t), -1);
	assert_non_null(strstr(err_msg(), "/dev/kvm"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_on_e2big),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_dev_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
