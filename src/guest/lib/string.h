/* SPDX-License-Identifier: MIT */
/*
 * The few string functions the guests use.  memcpy/memset/memcmp keep
 * their standard names because the compiler may emit calls to them.
 */
#ifndef SKYVM_GUEST_LIB_STRING_H
#define SKYVM_GUEST_LIB_STRING_H

#include <stdbool.h>
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
/* True when the first n bytes of a equal the NUL-terminated b and b has n bytes. */
bool str_equal_n(const char *a, size_t n, const char *b);

#endif
