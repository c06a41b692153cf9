/* SPDX-License-Identifier: MIT */
#include "lib/format.h"

#include <stdint.h>

void sb_init(struct strbuf *b, char *buf, size_t cap)
{
	b->buf = buf;
	b->len = 0;
	b->cap = cap;
	b->truncated = false;
}

void sb_putc(struct strbuf *b, char c)
{
	if (b->len < b->cap)
		b->buf[b->len++] = c;
	else
		b->truncated = true;
}

void sb_puts(struct strbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

struct spec {
	bool zero, left;
	unsigned width;
	int precision; /* %s: at most this many bytes; -1 for all */
};

static void pad(struct strbuf *b, char c, unsigned n)
{
	while (n--)
		sb_putc(b, c);
}

/* Digits of v in `base`, most significant first, honouring width/flags. */
static void put_number(struct strbuf *b, uint64_t v, unsigned base, bool upper, bool negative,
		       const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + negative;
	if (!sp->left && !sp->zero && sp->width > len)
		pad(b, ' ', sp->width - len);
	if (negative)
		sb_putc(b, '-');
	if (!sp->left && sp->zero && sp->width > len)
		pad(b, '0', sp->width - len);
	while (n)
		sb_putc(b, tmp[--n]);
	if (sp->left && sp->width > len)
		pad(b, ' ', sp->width - len);
}

void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		struct spec sp = { false, false, 0, -1 };
		unsigned lng = 0; /* 0 int, 1 long, 2 long long, 3 size_t */

		if (*fmt != '%') {
			sb_putc(b, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '-')
				sp.left = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			sp.width = sp.width * 10 + (unsigned)(*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				fmt++;
			} else {
				sp.precision = 0;
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 + (*fmt++ - '0');
			}
		}
		if (*fmt == 'z') {
			lng = 3;
			fmt++;
		} else {
			while (*fmt == 'l') {
				lng++;
				fmt++;
			}
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng == 0   ? va_arg(ap, int)
				    : lng == 3 ? (int64_t)va_arg(ap, size_t)
					       : va_arg(ap, long);
			put_number(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, false, v < 0, &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng == 0   ? va_arg(ap, unsigned)
				     : lng == 3 ? va_arg(ap, size_t)
						: va_arg(ap, unsigned long);
			put_number(b, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false, &sp);
			break;
		}
		case 'p':
			sb_puts(b, "0x");
			put_number(b, (uintptr_t)va_arg(ap, void *), 16, false, false, &sp);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = 0;

			if (!s)
				s = "(null)";
			while (s[n] && (sp.precision < 0 || n < (size_t)sp.precision))
				n++;
			if (!sp.left && sp.width > n)
				pad(b, ' ', sp.width - (unsigned)n);
			for (size_t i = 0; i < n; i++)
				sb_putc(b, s[i]);
			if (sp.left && sp.width > n)
				pad(b, ' ', sp.width - (unsigned)n);
			break;
		}
		case 'c':
			sb_putc(b, (char)va_arg(ap, int));
			break;
		case '%':
			sb_putc(b, '%');
			break;
		case 0:
			return;
		default:
			sb_putc(b, '%');
			sb_putc(b, *fmt);
			break;
		}
	}
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}
