/* SPDX-License-Identifier: MIT */
/*
 * Custom CPU model files: Firecracker bitmaps, the shipped example
 * (models/skymdw.json) through the whole pipeline, and bad files, each of
 * which must name the file and the line/column (syntax) or the key (content).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "cpu/custom.h"
#include "cpu/dump.h"
#include "cpu/normalise.h"
#include "util/err.h"

#define ICELAKE "tests/data/supported/intel-icelake-server.json"

static struct cpu_custom_model model;
static struct cpu_result result;
static struct cpuid_table supported;

static void test_bitmaps(void **state)
{
	static const struct {
		const char *text;
		uint32_t set, clear;
	} good[] = {
		{ "0b1", 0x1, 0x0 },
		{ "0b0", 0x0, 0x1 },
		{ "0bx", 0x0, 0x0 },
		{ "0b1x0", 0x4, 0x1 },
		{ "0bxx10_01", 0x9, 0x6 },
		{ "0b1000_0000_0000_0000_0000_0000_0000_0000", 0x80000000, 0x7fffffff },
		{ "0b11111111111111111111111111111111", 0xffffffff, 0 },
		{ "0bXXXX1", 0x1, 0 },
		/* short: the high bits are 'x' (kept) */
		{ "0b0_1", 0x1, 0x2 },
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "0b111111111111111111111111111111111", "more than 32 bits" },
		{ "0b10y1", "'y' is not 0, 1, x or _" },
		{ "1010", "must start with 0b" },
		{ "0x1f", "must start with 0b" },
		{ "0b", "no bits" },
		{ "0b__", "no bits" },
		{ "0b1 0", "' ' is not 0, 1, x or _" },
	};
	uint32_t s, c;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (cpu_bitmap_parse(good[i].text, &s, &c) < 0)
			fail_msg("%s: %s", good[i].text, err_msg());
		if (s != good[i].set || c != good[i].clear)
			fail_msg("%s: set 0x%x clear 0x%x, want 0x%x 0x%x", good[i].text, s, c,
				 good[i].set, good[i].clear);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cpu_bitmap_parse(bad[i].text, &s, &c) == 0)
			fail_msg("%s parsed", bad[i].text);
		if (!strstr(err_msg(), bad[i].why))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].text, err_msg(), bad[i].why);
	}
}

static int configure(const char *spec)
{
	struct cpuid_dump_meta meta;
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 1 };

	if (cpuid_dump_load(ICELAKE, &supported, &meta) < 0)
		fail_msg("%s", err_msg());
	cpu_host_facts_default(&facts);
	err_clear();
	return cpu_configure_with(spec, &supported, &facts, &topo, &result, NULL);
}

static bool enabled(const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return featureset_has(&result.enabled, f);
}

static void test_skymdw(void **state)
{
	char brand[49];

	(void)state;
	if (cpu_custom_load("models/skymdw.json", &model) < 0)
		fail_msg("%s", err_msg());
	assert_string_equal(model.name, "skymdw");
	assert_string_equal(model.base, "Skylake-Server-v4");
	assert_int_equal(model.nmods, 1);
	if (configure("file:models/skymdw.json") < 0)
		fail_msg("%s", err_msg());
	assert_string_equal(result.def.name, "skymdw");
	assert_int_equal(result.def.kind, CPU_DEF_CUSTOM);
	/* the base's features, minus pku, plus kvm-poll-control */
	assert_true(enabled("avx512f"));
	assert_false(enabled("pku"));
	assert_true(enabled("kvm-poll-control"));
	assert_false(enabled("hle"));
	/* CPUID.80000008H:EAX[7:0] physical address bits: clamped to 46 by the modifier */
	assert_int_equal(cpuid_value(&result.table, 0x80000008, 0, CPUID_EAX) & 0xff, 46);
	cpu_brand_decode(&result.table, brand);
	assert_string_equal(brand, "skyvm migration pool CPU (Skylake-SP class)");
	/* the same family/model/stepping as the base: 6/85/4 */
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX), 0x00050654);
	/* options after the file still apply, with -f winning */
	assert_int_equal(configure("file:models/skymdw.json,+pku,-avx512f"), 0);
	assert_true(enabled("pku"));
	assert_false(enabled("avx512f"));
	assert_false(enabled("avx512vl")); /* dependency */
}

static char path[64];

static void write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/skyvm-test-custom-%d.json", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_bad(const char *text, const char *needle)
{
	write_file(text);
	err_clear();
	if (cpu_custom_load(path, &model) == 0)
		fail_msg("loaded:\n%s", text);
	if (!strstr(err_msg(), path))
		fail_msg("\"%s\" does not name the file", err_msg());
	if (!strstr(err_msg(), needle))
		fail_msg("\"%s\" lacks \"%s\"", err_msg(), needle);
	unlink(path);
}

static void test_bad_files(void **state)
{
	char want[128];

	(void)state;
	/* syntax: line 3, column of the stray token */
	write_file("{\n  \"base\": \"Skylake-Server\",\n  \"features\" {}\n}\n");
	assert_int_equal(cpu_custom_load(path, &model), -1);
	snprintf(want, sizeof(want), "%s:3:", path);
	if (!strstr(err_msg(), want))
		fail_msg("\"%s\" lacks line 3 (\"%s\")", err_msg(), want);
	unlink(path);
	expect_bad("{\"base\": \"Skylake-Server\", "
		   "\"features\": {\"-\": [\"avx2\", \"avx512fx\"]}}",
		   "features.-[1]: unknown CPU feature 'avx512fx' (did you mean: avx512f");
	expect_bad("{\"base\": \"Skylake-Server\", \"features\": {\"+\": \"avx2\"}}",
		   "features.+: expected an array");
	expect_bad("{\"base\": \"Skylake-Server\", \"features\": {\"on\": []}}",
		   "features.on: only \"+\" and \"-\"");
	expect_bad("{\"base\": \"Skylake-Server\", \"featurs\": {}}", "featurs: unknown key");
	expect_bad("{\"base\": \"Skylake-Server\", \"family\": \"abc\"}", "family");
	expect_bad("{\"base\": \"Skylake-Server\", \"vendor\": \"Intel\"}", "12 characters");
	expect_bad("{\"base\": 7}", "base: expected a model name");
	expect_bad("{\"base\": \"file:x.json\"}", "cannot be based on another file");
	expect_bad("{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": 1, "
		   "\"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0b1x0\"}, "
		   "{\"register\": \"ecx\", \"bitmap\": \"0b12\"}]}]}",
		   "cpuid_modifiers[0].modifiers[1].bitmap: bitmap '0b12': '2'");
	expect_bad("{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"modifiers\": [{\"register\": "
		   "\"rax\", \"bitmap\": \"0b1\"}]}]}",
		   "cpuid_modifiers[0].modifiers[0].register: 'rax' is not one of");
	expect_bad("{\"cpuid_modifiers\": [{\"leaf\": \"seven\", \"modifiers\": []}]}",
		   "cpuid_modifiers[0].leaf: 'seven' is not a number");
	expect_bad("{\"cpuid_modifiers\": [{\"leaf\": 7, \"flags\": 2, \"modifiers\": []}]}",
		   "cpuid_modifiers[0].flags");
	expect_bad("{\"msr_modifiers\": []}", "msr_modifiers");
	expect_bad("[1, 2]", "expected a JSON object");
	expect_bad("{\"base\": \"Skylake-Server\", \"base\": \"Haswell\"}", "duplicate");
}

static void test_raw_modifiers_on_features(void **state)
{
	char spec[96];

	(void)state;
	/*
	 * Firecracker-style: on host, clear CPUID.07H:EBX[5] (avx2) and set
	 * CPUID.07H:EBX[4] (hle, which the Icelake host lacks: filtered).
	 */
	write_file("{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": 1,"
		   " \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0b01xxxx\"}]}]}");
	snprintf(spec, sizeof(spec), "file:%s", path);
	if (configure(spec) < 0)
		fail_msg("%s", err_msg());
	unlink(path);
	/* no "name": the file's stem */
	assert_non_null(strstr(path, result.def.name));
	assert_false(enabled("avx2"));
	assert_false(enabled("hle"));
	assert_true(featureset_has(&result.filtered, cpu_feature_find("hle")));
	assert_true(featureset_has(&result.user, cpu_feature_find("avx2")));
	assert_true(enabled("avx512f")); /* the base (host) keeps the rest */
}


/* Model files have a size limit: a clear error, not a 1 GiB read. */
static void test_oversized_file_is_refused(void **state)
{
	static const char body[] = "{\"base\": \"Skylake-Server\"}";
	FILE *f;

	(void)state;
	write_file(body);
	f = fopen(path, "a");
	assert_non_null(f);
	for (size_t n = strlen(body); n <= CPU_CUSTOM_MAX_BYTES; n++)
		fputc(' ', f);
	fclose(f);
	err_clear();
	assert_int_equal(cpu_custom_load(path, &model), -1);
	unlink(path);
	if (!strstr(err_msg(), path) || !strstr(err_msg(), "larger than"))
		fail_msg("\"%s\"", err_msg());
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/*
 * A model's name and brand string are printed (cpu show, errors): control
 * characters in them are refused, and messages quoting the file escape them.
 */
static void test_control_characters(void **state)
{
	static const char *const files[] = {
		"{\"name\": \"sky\\u001b[2J\", \"base\": \"Skylake-Server\"}",
		"{\"base\": \"Skylake\\u001b[2J\"}",
		"{\"base\": \"Skylake-Server\", \"model-id\": \"Fast\\r\\nCPU\"}",
		"{\"base\": \"Skylake-Server\", \"vendor\": \"Genu\\u0007neIntel\"}",
		"{\"base\": \"Skylake-Server\", \"features\": {\"+\": [\"avx\\u001b]0;x\\u0007\"]}}",
		"{\"base\": \"Skylake-Server\", \"\\u001b[31mred\": 1}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		write_file(files[i]);
		err_clear();
		if (cpu_custom_load(path, &model) == 0)
			fail_msg("loaded: %s (name \"%s\", model-id \"%s\")", files[i], model.name,
				 model.props.model_id);
		unlink(path);
		if (has_control(err_msg()))
			fail_msg("file %zu: raw control character in \"%s\"", i, err_msg());
		if (!strstr(err_msg(), path))
			fail_msg("file %zu: \"%s\" does not name the file", i, err_msg());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmaps),
		cmocka_unit_test(test_skymdw),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_raw_modifiers_on_features),
		cmocka_unit_test(test_oversized_file_is_refused),
		cmocka_unit_test(test_control_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
