/* SPDX-License-Identifier: MIT */
#include "lib/cmdline.h"

#include "lib/string.h"

static const char *cmdline = "";

const char *cmdline_get(void)
{
	return cmdline;
}

void cmdline_set(const char *s)
{
	cmdline = s ? s : "";
}

/* The option `key` (with or without a value, as asked): its value or itself. */
static const char *find(const char *key, bool want_value, size_t *vlen)
{
	const char *p = cmdline;

	while (*p) {
		const char *tok, *eq = NULL;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		tok = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (p == tok)
			break;
		n = (size_t)((eq ? eq : p) - tok);
		if (!str_equal_n(tok, n, key) || (eq != NULL) != want_value)
			continue;
		if (vlen)
			*vlen = eq ? (size_t)(p - eq - 1) : 0;
		return eq ? eq + 1 : tok;
	}
	return NULL;
}

bool cmdline_has(const char *word)
{
	return find(word, false, NULL) != NULL;
}

const char *cmdline_value(const char *key, size_t *len)
{
	return find(key, true, len);
}

uint64_t cmdline_uint(const char *key, uint64_t def)
{
	size_t n;
	const char *v = cmdline_value(key, &n);
	uint64_t x = 0;
	unsigned base = 10;

	if (!v || !n)
		return def;
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		v += 2;
		n -= 2;
	}
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return def;
		if (d >= base || x > (UINT64_MAX - d) / base)
			return def;
		x = x * base + d;
	}
	return x;
}

bool cmdline_is(const char *key, const char *value)
{
	size_t n;
	const char *v = cmdline_value(key, &n);

	return v && str_equal_n(v, n, value);
}
