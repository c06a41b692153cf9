/* SPDX-License-Identifier: MIT */
#include "util/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

/*
 * Length of the well-formed UTF-8 character at s (2-4), or 0 when s[0]
 * does not start one or it encodes a C1 control (U+0080-U+009F).
 */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

size_t text_escape(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0;

	if (size == 0)
		return 0;
	while (*s) {
		size_t n = *s >= 0x20 && *s < 0x7f ? 1 : *s >= 0x80 ? utf8_len(s) : 0;

		if (n) {
			if (out + n >= size)
				break;
			memcpy(dst + out, s, n);
			out += n;
			s += n;
		} else {
			if (out + 4 >= size)
				break;
			snprintf(dst + out, 5, "\\x%02x", *s);
			out += 4;
			s++;
		}
	}
	dst[out] = '\0';
	return out;
}

void text_escape_inplace(char *s, size_t size)
{
	char tmp[ERR_MSG_MAX];

	if (!text_needs_escape(s))
		return;
	if (size > sizeof(tmp))
		size = sizeof(tmp);
	text_escape(tmp, size, s);
	memcpy(s, tmp, strlen(tmp) + 1);
}

bool text_needs_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p >= 0x20 && *p < 0x7f ? 1 : *p >= 0x80 ? utf8_len(p) : 0;

		if (!n)
			return true;
		p += n;
	}
	return false;
}

int err_escape(void)
{
	char msg[ERR_MSG_MAX];

	if (!text_needs_escape(err_msg()))
		return -1;
	text_escape(msg, sizeof(msg), err_msg());
	return err_set("%s", msg);
}
