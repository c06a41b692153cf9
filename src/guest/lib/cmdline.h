/* SPDX-License-Identifier: MIT */
/* The guest command line: space-separated `word` and `key=value` options. */
#ifndef SKYVM_GUEST_LIB_CMDLINE_H
#define SKYVM_GUEST_LIB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The command line ("" when the loader gave none). */
const char *cmdline_get(void);
void cmdline_set(const char *s);
/* True when `word` (no value) is present. */
bool cmdline_has(const char *word);
/* The value of `key=`, its length in *len; NULL when absent. */
const char *cmdline_value(const char *key, size_t *len);
/* `key=N` (decimal or 0x hex); `def` when absent or malformed. */
uint64_t cmdline_uint(const char *key, uint64_t def);
/* True when `key=value` is present with exactly that value. */
bool cmdline_is(const char *key, const char *value);

#endif
