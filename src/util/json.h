/* SPDX-License-Identifier: MIT */
/*
 * Unsigned numbers in skyvm's JSON files (CPUID dumps, custom CPU models):
 * a JSON integer, or a string in hex ("0x1f") or decimal ("31"), as
 * docs/cpuid-dump.md writes them.  One reader, so every file refuses a
 * sign, a space, trailing text and a value too wide in the same words.
 */
#ifndef SKYVM_UTIL_JSON_H
#define SKYVM_UTIL_JSON_H

#include <jansson.h>
#include <stdint.h>

/*
 * Read `v` as an unsigned number of at most `bits` bits (1 to 64) into *out.
 * Returns 0, or -1 with err_msg() saying why, without a prefix: the caller
 * wraps it with where the value was (err_wrap("entries[3].eax")).
 */
int json_read_uint(const json_t *v, unsigned bits, uint64_t *out);

#endif
