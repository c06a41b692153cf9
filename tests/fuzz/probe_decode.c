/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the probe-record decoder (verify/probe_decode.c), fed the
 * words a guest could write to its data port (the input as little-endian
 * 32-bit words; a trailing partial word is dropped, as the port takes whole
 * words).
 */
#include "fuzz.h"
#include "verify/probe_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_report r;
	size_t n = size / 4;
	uint32_t *words = malloc(n ? n * 4 : 1);
	int rc;

	if (!words)
		return 0;
	memcpy(words, data, n * 4);
	rc = probe_decode(words, n, &r);
	fuzz_report(rc);
	/* Whatever the words, the report stays within its arrays. */
	FUZZ_CHECK(r.ncpuid <= PROBE_MAX_CPUID);
	FUZZ_CHECK(r.nmsr <= PROBE_MAX_MSR_CHECKS);
	FUZZ_CHECK(r.nerror <= PROBE_MAX_ERRORS);
	if (rc == 0) {
		FUZZ_CHECK(r.begun && r.ended);
		for (size_t i = 0; i < r.ncpuid; i++)
			FUZZ_CHECK(probe_report_cpuid(&r, r.cpuid[i].leaf, r.cpuid[i].subleaf));
		for (size_t i = 0; i < r.nerror; i++)
			FUZZ_CHECK(probe_error_name(r.error[i].code) != NULL);
		FUZZ_CHECK(probe_status_name(r.kvmclock.status) != NULL);
	}
	free(words);
	return 0;
}
