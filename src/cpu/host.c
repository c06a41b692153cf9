/* SPDX-License-Identifier: MIT */
#include "cpu/host.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpu/msrs.h"
#include "kvm/kvm.h"
#include "util/err.h"

/* Most hosts report 40-100 entries; start there and double on E2BIG. */
#define FIRST_REQUEST 64

int cpu_host_supported_fd(int kvm_fd, struct cpuid_table *out)
{
	uint32_t want = FIRST_REQUEST;

	for (;;) {
		struct kvm_cpuid2 *req;
		int rc, saved;

		/* Not zeroed: KVM reads only nent and writes the entries it returns. */
		req = malloc(sizeof(*req) + want * sizeof(req->entries[0]));
		if (!req)
			return err_set("KVM_GET_SUPPORTED_CPUID: out of memory");
		memset(req, 0, sizeof(*req));
		req->nent = want;
		rc = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, req);
		saved = errno;
		if (rc == 0) {
			uint32_t got = req->nent;

			if (got > CPUID_MAX_ENTRIES) {
				free(req);
				return err_set("KVM_GET_SUPPORTED_CPUID: %u entries, more than %u",
					       got, CPUID_MAX_ENTRIES);
			}
			memset(out, 0, sizeof(*out));
			out->nent = req->nent;
			memcpy(out->ent, req->entries, req->nent * sizeof(req->entries[0]));
			free(req);
			/* and the feature MSRs' supported values (cpu/msrs.h) */
			return cpu_host_feature_msrs_fd(kvm_fd, out);
		}
		free(req);
		/* E2BIG: the kernel has more entries than we asked for. */
		if (saved == E2BIG && want < CPUID_MAX_ENTRIES) {
			want = want * 2 > CPUID_MAX_ENTRIES ? CPUID_MAX_ENTRIES : want * 2;
			continue;
		}
		errno = saved;
		return err_errno("KVM_GET_SUPPORTED_CPUID");
	}
}

int cpu_host_supported(struct cpuid_table *out)
{
	struct kvm kvm;
	int rc;

	/* The same device, checks and messages as `skyvm run` (kvm/kvm.c). */
	if (kvm_open(&kvm, kvm_device_path()) < 0)
		return -1;
	rc = cpu_host_supported_fd(kvm.fd, out);
	kvm_close(&kvm);
	return rc;
}

void cpu_host_brand(char out[49])
{
	unsigned regs[12];

	memset(out, 0, 49);
	if (__get_cpuid_max(0x80000000, NULL) < 0x80000004)
		return;
	for (unsigned i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
	memcpy(out, regs, 48);
}
