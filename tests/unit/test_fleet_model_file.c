/* SPDX-License-Identifier: MIT */
/*
 * A baseline written as a model file (fleet/model_file.c) must read back,
 * through the loader `--cpu file:` uses, as the same base and features.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpu/custom.h"
#include "fleet/model_file.h"
#include "util/err.h"

static char dir[] = "/tmp/skyvm-model-file-XXXXXX";
static char path[sizeof(dir) + 32];

static int make_dir(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/fleet.json", dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static const struct cpu_feature *feat(const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return f;
}

static void test_written_file_loads_as_the_same_model(void **state)
{
	static struct cpu_custom_model m;
	struct cpu_featureset add = { 0 }, remove = { 0 };

	(void)state;
	featureset_set(&add, feat("avx512vnni"), true);
	featureset_set(&add, feat("invtsc"), true);
	featureset_set(&remove, feat("hle"), true);
	featureset_set(&remove, feat("rtm"), true);
	assert_int_equal(fleet_model_file_write(path, "Skylake-Server-v2", &add, &remove,
						"skyvm cpu baseline of 2 hosts: a, b"), 0);
	assert_int_equal(cpu_custom_load(path, &m), 0);
	assert_string_equal(m.base, "Skylake-Server-v2");
	assert_string_equal(m.name, "fleet");
	assert_memory_equal(&m.props.plus, &add, sizeof(add));
	assert_memory_equal(&m.props.minus, &remove, sizeof(remove));
	assert_int_equal(m.nmods, 0);
}

static void test_empty_changes_load_as_the_bare_model(void **state)
{
	static struct cpu_custom_model m;
	struct cpu_featureset none = { 0 };

	(void)state;
	assert_int_equal(fleet_model_file_write(path, "EPYC-Rome-v2", &none, &none, "d"), 0);
	assert_int_equal(cpu_custom_load(path, &m), 0);
	assert_string_equal(m.base, "EPYC-Rome-v2");
	assert_memory_equal(&m.props.plus, &none, sizeof(none));
	assert_memory_equal(&m.props.minus, &none, sizeof(none));
}

static void test_errors_name_the_file(void **state)
{
	struct cpu_featureset add = { 0 }, none = { 0 };
	char bad[sizeof(dir) + 32];

	(void)state;
	add.w[FW_1_EDX] = 1u << 10; /* reserved: no name to write */
	assert_int_equal(fleet_model_file_write(path, "base", &add, &none, "d"), -1);
	assert_non_null(strstr(err_msg(), "fleet.json"));
	assert_non_null(strstr(err_msg(), "CPUID.01H:EDX [bit 10] has no name"));
	snprintf(bad, sizeof(bad), "%s/no/such.json", dir);
	assert_int_equal(fleet_model_file_write(bad, "base", &none, &none, "d"), -1);
	assert_non_null(strstr(err_msg(), "no/such.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_file_loads_as_the_same_model),
		cmocka_unit_test(test_empty_changes_load_as_the_bare_model),
		cmocka_unit_test(test_errors_name_the_file),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
