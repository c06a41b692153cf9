/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOADed by bench/timeit.c --preload: how much of the guest's memory the
 * process had touched (the RSS of its guest-RAM mapping), so that the bench can
 * report peak RSS *beyond* guest memory for skyvm, bare_kvm and QEMU alike.
 *
 * The guest-RAM mapping is the anonymous mapping of exactly BENCH_GUEST_BYTES
 * bytes (skyvm, bare_kvm and QEMU each map their RAM in one piece of --memory /
 * -m size).  Its "Rss:" from /proc/self/smaps is written, in KiB, to the file
 * descriptor BENCH_GUESTMEM_FD: when the process unmaps it (skyvm does before
 * it exits) or, if it never does, at exit.  Guest pages are only ever added, so
 * this is the most guest memory the process held.  After it, on the same line,
 * the process's RssAnon and RssFile + RssShmem (KiB, /proc/self/status) then:
 * private memory against the pages of its executable and shared libraries;
 * and VmHWM, the peak RSS of this program since its exec.  (wait4's ru_maxrss
 * is no good here: it also counts the forked stopwatch before the exec, about
 * 1.5 MiB, so it never reads less than that for any program.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int reported;

/* RSS (KiB) of the mapping starting at addr, or of the first one of `bytes` when addr is 0. */
static long mapping_rss_kib(uintptr_t addr, unsigned long bytes)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int match = 0;
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') &&
		    line[strlen(line) - 1] == '\n' && strstr(line, " rw")) {
			match = addr ? start == addr : end - start == bytes;
			continue;
		}
		if (match && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), " %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void report(long kib)
{
	const char *fd = getenv("BENCH_GUESTMEM_FD");
	char buf[96];
	int n;

	if (reported || kib < 0 || !fd)
		return;
	reported = 1;
	/* Files on tmpfs (the bench's root in the nested guest) count as RssShmem. */
	n = snprintf(buf, sizeof(buf), "%ld %ld %ld %ld\n", kib, status_kib("RssAnon:"),
		     status_kib("RssFile:") + status_kib("RssShmem:"), status_kib("VmHWM:"));
	if (pwrite(atoi(fd), buf, (size_t)n, 0) != n)
		return;
}

static unsigned long guest_bytes(void)
{
	const char *b = getenv("BENCH_GUEST_BYTES");

	return b ? strtoul(b, NULL, 10) : 0;
}

int munmap(void *addr, size_t len)
{
	static int (*real)(void *, size_t);

	if (!real)
		real = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
	if (!reported && len && len == guest_bytes())
		report(mapping_rss_kib((uintptr_t)addr, 0));
	return real(addr, len);
}

__attribute__((destructor)) static void at_exit(void)
{
	if (guest_bytes())
		report(mapping_rss_kib(0, guest_bytes()));
}
