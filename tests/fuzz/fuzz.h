/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target includes: libFuzzer's entry point (renamed per
 * target by the replay build, see tests/fuzz/fuzz.mk) and small helpers.
 */
#ifndef SKYVM_FUZZ_H
#define SKYVM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A violated invariant is a finding: print it and abort, so libFuzzer keeps
 * the input and the replay test fails.
 */
#define FUZZ_CHECK(cond)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                        \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* A NUL-terminated copy of the input (free() it); NULL when out of memory. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Bytes of a string a terminal would act on (C0 controls, DEL); 0 when none. */
static inline int fuzz_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* With FUZZ_VERBOSE set, say how an input ended (for writing seeds). */
static inline void fuzz_report(int rc)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "fuzz: %s\n", rc == 0 ? "accepted" : err_msg());
}

#endif
