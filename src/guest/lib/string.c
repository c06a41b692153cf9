/* SPDX-License-Identifier: MIT */
/*
 * String functions.  Copies and fills use `rep movsb`/`rep stosb`: one
 * instruction for the emulator of a restricted KVM instead of a loop.
 */
#include "lib/string.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool str_equal_n(const char *a, size_t n, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i] || !b[i])
			return false;
	return b[n] == 0;
}
