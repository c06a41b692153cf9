/* SPDX-License-Identifier: MIT */
/*
 * printf-style formatting into a bounded buffer (no allocation, truncates).
 * Conversions: %d %i %u %x %X %s %c %p %%, flags '0' and '-', a width, a
 * precision for %s (.N or .*), and the length modifiers l, ll and z.
 */
#ifndef SKYVM_GUEST_LIB_FORMAT_H
#define SKYVM_GUEST_LIB_FORMAT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool truncated;
};

void sb_init(struct strbuf *b, char *buf, size_t cap);
void sb_putc(struct strbuf *b, char c);
void sb_puts(struct strbuf *b, const char *s);
void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
