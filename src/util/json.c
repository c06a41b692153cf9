/* SPDX-License-Identifier: MIT */
#include "util/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "util/err.h"

int json_read_uint(const json_t *v, unsigned bits, uint64_t *out)
{
	uint64_t max = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
	unsigned long long n;
	const char *s;
	char *end;

	if (!v)
		return err_set("missing");
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return err_set("%" JSON_INTEGER_FORMAT " is negative", i);
		if ((uint64_t)i > max)
			return err_set("%" JSON_INTEGER_FORMAT " does not fit in %u bits", i, bits);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return err_set("expected a number or a string like \"0x1f\"");
	s = json_string_value(v);
	/* strtoull() would skip white space and take a sign (wrapping "-1" round) */
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return err_set("'%s' is not a number", s);
	errno = 0;
	n = strtoull(s, &end, 0);
	if (*end || (errno && errno != ERANGE))
		return err_set("'%s' is not a number", s);
	if (errno == ERANGE || n > max)
		return err_set("'%s' does not fit in %u bits", s, bits);
	*out = n;
	return 0;
}
