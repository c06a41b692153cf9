/* SPDX-License-Identifier: MIT */
/*
 * Every fuzz target (tests/fuzz/NAME.c, built here with the project's
 * compiler and flags) replayed over its corpus (tests/fuzz/corpus/NAME/):
 * the seeds and every input a fuzzer once crashed on, kept as regression
 * tests.  A target that no longer compiles breaks the build of this test; an
 * input that crashes, trips a sanitizer (SANITIZE=1) or fails a target's
 * invariant aborts it.  Run from the repository root; FUZZ_CORPUS_DIR
 * overrides tests/fuzz/corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_table.h"
#include "util/file.h"

#define FUZZ_INPUT_MAX (16u << 20)

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_replay(void **state)
{
	const struct fuzz_target *t = *state;
	const char *root = getenv("FUZZ_CORPUS_DIR");
	char dir[512], path[1024];
	struct dirent **names;
	int n, replayed = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root ? root : "tests/fuzz/corpus", t->name);
	n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		fail_msg("fuzz target %s: no corpus directory %s", t->name, dir);
	for (int i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (file_read_all(path, "fuzz input", FUZZ_INPUT_MAX, &buf, &len) < 0)
				fail_msg("%s: cannot read", path);
			/* libFuzzer requires 0; anything else is reserved */
			assert_int_equal(t->one(buf, len), 0);
			free(buf);
			replayed++;
		}
		free(names[i]);
	}
	free(names);
	if (replayed == 0)
		fail_msg("fuzz target %s: %s holds no seeds", t->name, dir);
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t n = 0;

	while (fuzz_targets[n].name)
		n++;
	tests = calloc(n ? n : 1, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		tests[i].name = fuzz_targets[i].name;
		tests[i].test_func = test_replay;
		tests[i].initial_state = (void *)&fuzz_targets[i];
	}
	return _cmocka_run_group_tests("fuzz_corpus", tests, n, NULL, NULL);
}
