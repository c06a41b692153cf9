/* SPDX-License-Identifier: MIT */
#include "lib/cpuid.h"

#include "lib/string.h"

struct cpu_signature cpuid_signature(uint32_t eax)
{
	struct cpu_signature s;
	uint32_t family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf;

	/* SDM: the extended family adds only to family 15; the extended model
	 * extends families 6 and 15 (AMD: 15 and above). */
	s.stepping = eax & 0xf;
	s.family = family == 0xf ? family + ((eax >> 20) & 0xff) : family;
	s.model = (family == 0x6 || family == 0xf) ? model | ((eax >> 12) & 0xf0) : model;
	return s;
}

int cpuid_is_kvm(const struct cpuid_regs *r)
{
	char sig[12];

	memcpy(sig + 0, &r->ebx, 4);
	memcpy(sig + 4, &r->ecx, 4);
	memcpy(sig + 8, &r->edx, 4);
	return !memcmp(sig, "KVMKVMKVM\0\0\0", 12);
}
