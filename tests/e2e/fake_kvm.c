/* SPDX-License-Identifier: MIT */
/*
 * An LD_PRELOAD stand-in for /dev/kvm, for the tests of `skyvm cpu host` and
 * `cpu show` on the live path where no KVM exists: open("/dev/kvm") gives a
 * descriptor of /dev/null, and on it KVM_GET_API_VERSION, KVM_CHECK_EXTENSION
 * and KVM_GET_SUPPORTED_CPUID answer as the kernel does, the last from the
 * struct kvm_cpuid_entry2 records in the file $SKYVM_FAKE_CPUID (E2BIG while
 * the caller's buffer is too small).  Every other call goes to libc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static int fake_fd = -1;

static int real_open(const char *path, int flags, mode_t mode)
{
	static int (*fn)(const char *, int, ...);

	if (!fn)
		fn = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	return fn(path, flags, mode);
}

static int fake_open(const char *path, int flags, mode_t mode)
{
	if (strcmp(path, "/dev/kvm"))
		return real_open(path, flags, mode);
	fake_fd = real_open("/dev/null", O_RDWR | O_CLOEXEC, 0);
	return fake_fd;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return fake_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return fake_open(path, flags, mode);
}

static int supported_cpuid(struct kvm_cpuid2 *c)
{
	const char *path = getenv("SKYVM_FAKE_CPUID");
	struct kvm_cpuid_entry2 e;
	FILE *f;
	__u32 n = 0;

	f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		errno = EIO;
		return -1;
	}
	while (fread(&e, sizeof(e), 1, f) == 1) {
		if (n < c->nent)
			c->entries[n] = e;
		n++;
	}
	fclose(f);
	if (n > c->nent) {
		errno = E2BIG;
		return -1;
	}
	c->nent = n;
	return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd != fake_fd) {
		if (!real)
			real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
		return real(fd, request, arg);
	}
	switch (request) {
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return 1;
	case KVM_GET_VCPU_MMAP_SIZE:
		return 3 * 4096; /* kvm_run plus the pio and coalesced pages */
	case KVM_GET_SUPPORTED_CPUID:
		return supported_cpuid(arg);
	}
	errno = ENOTTY;
	return -1;
}
