/* SPDX-License-Identifier: MIT */
/* util/text.c: what reaches a terminal from a file is escaped, and only that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "util/err.h"
#include "util/text.h"

static void test_escapes(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain ASCII ~!", "plain ASCII ~!" },
		{ "", "" },
		{ "a\x1b[2Jb", "a\\x1b[2Jb" },
		{ "\r\n\t\x7f", "\\x0d\\x0a\\x09\\x7f" },
		{ "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80" },
		{ "\xc2\x9b" "31m", "\\xc2\\x9b31m" },         /* C1 CSI in UTF-8 */
		{ "\x9b" "31m", "\\x9b31m" },                  /* raw 8-bit CSI */
		{ "\xc0\xaf", "\\xc0\\xaf" },                  /* overlong '/' */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },         /* a surrogate */
		{ "\xe6\x97", "\\xe6\\x97" },                  /* cut short */
		{ "\xff\xfe", "\\xff\\xfe" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = text_escape(buf, sizeof(buf), cases[i].in);

		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
		assert_int_equal(text_needs_escape(cases[i].in),
				 strcmp(cases[i].in, cases[i].out) != 0);
	}
}

/* Cut to fit, never inside an escape or a UTF-8 character. */
static void test_truncation(void **state)
{
	char buf[6];

	(void)state;
	text_escape(buf, sizeof(buf), "ab\x1b" "cd");
	assert_string_equal(buf, "ab"); /* "\x1b" needs 4 more: not half of it */
	text_escape(buf, sizeof(buf), "abcd\xc3\xa9");
	assert_string_equal(buf, "abcd");
	text_escape(buf, 1, "abc");
	assert_string_equal(buf, "");
	strcpy(buf, "a\x07");
	text_escape_inplace(buf, sizeof(buf));
	assert_string_equal(buf, "a\\x07");
}

static void test_error_message(void **state)
{
	(void)state;
	err_set("m.json: '%s' is not a number", "0x\x1b]0;t\x07");
	assert_int_equal(err_escape(), -1);
	assert_string_equal(err_msg(), "m.json: '0x\\x1b]0;t\\x07' is not a number");
	err_set("clean");
	err_escape();
	assert_string_equal(err_msg(), "clean");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_error_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
