/* SPDX-License-Identifier: MIT */
/* Fuzz target: skyvm CPUID dumps (cpu/dump.c); see cpuid_dump_fuzz.h. */
#include "cpuid_dump_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return cpuid_dump_fuzz_one(data, size);
}
