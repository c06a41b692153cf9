/* SPDX-License-Identifier: MIT */
/*
 * CPUID dumps: the skyvm format written and read back bit for bit, the
 * recorded hosts in tests/data, Firecracker fingerprints told apart by their
 * keys, and every kind of bad file with the file, line/column or key named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/dump.h"
#include "cpu/features.h"
#include "cpu/msrs.h"
#include "cpu/xsave.h"
#include "util/err.h"

static struct cpuid_table a, b;
static struct cpuid_dump_meta meta, meta2;
static char path[64];

static void write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/skyvm-test-dump-%d.json", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_recorded_hosts(void **state)
{
	static const struct {
		const char *path, *vendor;
		uint32_t min_entries;
	} hosts[] = {
		{ "tests/data/supported/amd-epyc-turin.json", "AuthenticAMD", 50 },
		{ "tests/data/supported/intel-icelake-server.json", "GenuineIntel", 40 },
		{ "tests/data/supported/intel-haswell-server.json", "GenuineIntel", 30 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		if (cpuid_dump_load(hosts[i].path, &a, &meta) < 0)
			fail_msg("%s", err_msg());
		assert_string_equal(meta.vendor, hosts[i].vendor);
		assert_true(a.nent >= hosts[i].min_entries);
		/* honestly labelled */
		assert_true(!strncmp(meta.source, "synthesised: ", 13));
		/* every table carries the KVM PV leaf */
		assert_non_null(cpuid_find(&a, 0x40000001, 0));
		/* sorted */
		for (uint32_t k = 1; k < a.nent; k++)
			assert_true(a.ent[k - 1].function < a.ent[k].function ||
				    (a.ent[k - 1].function == a.ent[k].function &&
				     a.ent[k - 1].index < a.ent[k].index));
	}
}

static void test_round_trip(void **state)
{
	FILE *f;

	(void)state;
	if (cpuid_dump_load("tests/data/supported/amd-epyc-turin.json", &a, &meta) < 0)
		fail_msg("%s", err_msg());
	snprintf(meta.name, sizeof(meta.name), "name with \"quotes\" and \\");
	write_file("");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(cpuid_dump_write(f, &a, &meta), 0);
	fclose(f);
	if (cpuid_dump_load(path, &b, &meta2) < 0)
		fail_msg("%s", err_msg());
	unlink(path);
	assert_int_equal(a.nent, b.nent);
	assert_memory_equal(a.ent, b.ent, a.nent * sizeof(a.ent[0]));
	assert_string_equal(meta.name, meta2.name);
	assert_string_equal(meta.source, meta2.source);
	assert_string_equal(meta.model_id, meta2.model_id);
}

static void test_firecracker_detected(void **state)
{
	(void)state;
	if (cpuid_dump_load("tests/data/hosts/firecracker-cascadelake.json", &a, &meta) < 0)
		fail_msg("%s", err_msg());
	assert_string_equal(meta.vendor, "GenuineIntel");
	assert_non_null(cpuid_find(&a, 7, 0));
}

static void expect_bad(const char *text, const char *needle)
{
	write_file(text);
	err_clear();
	if (cpuid_dump_load(path, &a, &meta) == 0)
		fail_msg("loaded:\n%s", text);
	unlink(path);
	if (!strstr(err_msg(), path))
		fail_msg("\"%s\" does not name the file", err_msg());
	if (!strstr(err_msg(), needle))
		fail_msg("\"%s\" lacks \"%s\"", err_msg(), needle);
}

#define HEAD "{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, \"entries\": ["
#define E0 "{\"leaf\": \"0x0\", \"eax\": \"0xd\", \"ebx\": \"0x0\", \"ecx\": \"0x0\", " \
	   "\"edx\": \"0x0\"}"

static void test_bad_dumps(void **state)
{
	char want[96];

	(void)state;
	write_file("{\n  \"format\": \"skyvm-cpuid-dump\",\n  \"version\": 1\n"
		   "  \"entries\": []\n}\n");
	assert_int_equal(cpuid_dump_load(path, &a, &meta), -1);
	snprintf(want, sizeof(want), "%s:4:", path);
	if (!strstr(err_msg(), want))
		fail_msg("\"%s\" lacks \"%s\"", err_msg(), want);
	unlink(path);
	expect_bad("{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, \"entries\": [", "");
	expect_bad("{\"format\": \"other\", \"version\": 1, \"entries\": []}", "format");
	expect_bad("{\"format\": \"skyvm-cpuid-dump\", \"version\": 2, \"entries\": [" E0 "]}",
		   "version: 2 is not supported");
	expect_bad(HEAD "]}", "entries: empty");
	expect_bad(HEAD E0 ", " E0 ", " E0 ", {\"leaf\": \"0x1\", \"eax\": \"0x1\", "
		   "\"ebx\": \"0\", "
		   "\"ecx\": \"0\", \"edx\": \"0\"}, {\"leaf\": \"0x2\", \"eax\": \"0xzz\", "
		   "\"ebx\": \"0\", \"ecx\": \"0\", \"edx\": \"0\"}]}",
		   "appears twice");
	expect_bad(HEAD E0 ", {\"leaf\": \"0x2\", \"eax\": \"0x1\", \"ebx\": \"0\", "
		   "\"ecx\": \"0\", "
		   "\"edx\": \"0\"}, {\"leaf\": \"0x3\", \"eax\": \"0x1\", \"ebx\": \"0\", "
		   "\"ecx\": \"0\", \"edx\": \"0\"}, {\"leaf\": \"0x4\", \"eax\": \"0xzz\", "
		   "\"ebx\": \"0\", \"ecx\": \"0\", \"edx\": \"0\"}]}",
		   "entries[3].eax: '0xzz' is not a number");
	expect_bad(HEAD "{\"leaf\": \"0x0\", \"eax\": \"0x1\", \"ebx\": \"0\", \"ecx\": \"0\"}]}",
		   "entries[0].edx: missing");
	expect_bad(HEAD "{\"leaf\": \"0x0\", \"eax\": \"0x100000000\", \"ebx\": \"0\", "
		   "\"ecx\": \"0\", "
		   "\"edx\": \"0\"}]}",
		   "does not fit in 32 bits");
	expect_bad(HEAD "{\"leaf\": \"0x0\", \"indexed\": \"yes\", \"eax\": \"0\", \"ebx\": \"0\", "
		   "\"ecx\": \"0\", \"edx\": \"0\"}]}",
		   "entries[0].indexed");
	expect_bad("[]", "expected a JSON object");
	expect_bad("", "");
}


#define MSR(index, value) \
	", \"feature_msrs\": [{\"index\": " index ", \"value\": " value "}]}"

/*
 * The edges of each field's width, one reader for all of them (util/json.h):
 * the largest value is taken, one more is refused naming the key and the
 * width, and a sign or white space is no number.
 */
static void test_number_boundaries(void **state)
{
	const struct kvm_cpuid_entry2 *e;
	uint64_t v;

	(void)state;
	write_file(HEAD "{\"leaf\": \"0x0\", \"eax\": \"0xffffffff\", \"ebx\": 4294967295, "
		   "\"ecx\": \"0\", \"edx\": \"0\"}]"
		   MSR("\"0x10a\"", "\"0xffffffffffffffff\""));
	if (cpuid_dump_load(path, &a, &meta) < 0)
		fail_msg("%s", err_msg());
	unlink(path);
	e = cpuid_find(&a, 0, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0xffffffffu);
	assert_int_equal(e->ebx, 0xffffffffu);
	assert_true(cpu_msr_get(&a, 0x10a, &v));
	assert_true(v == UINT64_MAX);

	expect_bad(HEAD "{\"leaf\": \"0x0\", \"eax\": \"0x1\", \"ebx\": 4294967296, "
		   "\"ecx\": \"0\", \"edx\": \"0\"}]}",
		   "entries[0].ebx: 4294967296 does not fit in 32 bits");
	expect_bad(HEAD "{\"leaf\": \"0x0\", \"eax\": \"0x1\", \"ebx\": -1, "
		   "\"ecx\": \"0\", \"edx\": \"0\"}]}",
		   "entries[0].ebx: -1 is negative");
	expect_bad(HEAD E0 "]" MSR("\"0x100000000\"", "\"0x0\""),
		   "feature_msrs[0].index: '0x100000000' does not fit in 32 bits");
	expect_bad(HEAD E0 "]" MSR("\"0x10a\"", "\"0x10000000000000000\""),
		   "feature_msrs[0].value: '0x10000000000000000' does not fit in 64 bits");
	expect_bad(HEAD E0 "]" MSR("\"0x10a\"", "\"-1\""),
		   "feature_msrs[0].value: '-1' is not a number");
	expect_bad(HEAD E0 "]" MSR("\"0x10a\"", "\"\\t5\""),
		   "feature_msrs[0].value: '\\x095' is not a number");
	expect_bad(HEAD E0 "]" MSR("\"0x10a\"", "\"0x\""),
		   "feature_msrs[0].value: '0x' is not a number");
	expect_bad(HEAD E0 "], \"feature_msrs\": [{\"value\": \"0x0\"}]}",
		   "feature_msrs[0].index: missing");
	expect_bad(HEAD E0 "]" MSR("\"0x10a\"", "true"),
		   "feature_msrs[0].value: expected a number or a string like \"0x1f\"");
}

/* A dump of leaf 0 and `more` (entries, each with its leading comma). */
static int load_entries(const char *more)
{
	char text[4096];

	snprintf(text, sizeof(text), HEAD E0 "%s]}", more);
	write_file(text);
	err_clear();
	return cpuid_dump_load(path, &a, &meta);
}

#define SUB(l, s, ix, eax) \
	", {\"leaf\": \"" l "\", \"subleaf\": \"" s "\"" ix ", \"eax\": \"" eax "\", " \
	"\"ebx\": \"0\", \"ecx\": \"0\", \"edx\": \"0\"}"

/*
 * The reader's rule for subleaves is CPUID lookup's (cpuid_find): an entry
 * not indexed answers every subleaf.  Subleaves listed without "indexed" are
 * all indexed, whatever their order; an entry that is explicitly not indexed
 * next to others of its leaf is refused, whatever the order.
 */
static void test_subleaf_rule_matches_lookup(void **state)
{
	static const char *const listed[2] = {
		SUB("0x7", "0x0", "", "0x70") SUB("0x7", "0x1", "", "0x71"),
		SUB("0x7", "0x1", "", "0x71") SUB("0x7", "0x0", "", "0x70"),
	};
	static const char *const clash[2] = {
		SUB("0x7", "0x0", ", \"indexed\": false", "0x70")
			SUB("0x7", "0x1", ", \"indexed\": true", "0x71"),
		SUB("0x7", "0x1", ", \"indexed\": true", "0x71")
			SUB("0x7", "0x0", ", \"indexed\": false", "0x70"),
	};

	(void)state;
	for (int order = 0; order < 2; order++) {
		if (load_entries(listed[order]) < 0)
			fail_msg("order %d: %s", order, err_msg());
		unlink(path);
		assert_non_null(cpuid_find(&a, 7, 0));
		assert_non_null(cpuid_find(&a, 7, 1));
		/* each subleaf reachable, as itself */
		assert_int_equal(cpuid_find(&a, 7, 0)->eax, 0x70);
		assert_int_equal(cpuid_find(&a, 7, 1)->eax, 0x71);
		assert_null(cpuid_find(&a, 7, 2));
	}
	for (int order = 0; order < 2; order++) {
		if (load_entries(clash[order]) == 0)
			fail_msg("order %d: a non-indexed leaf 7 beside subleaf 1 was accepted",
				 order);
		unlink(path);
		if (!strstr(err_msg(), "not indexed"))
			fail_msg("order %d: \"%s\"", order, err_msg());
	}
	/* One entry alone, subleaf 0, no "indexed": every subleaf, as before. */
	assert_int_equal(load_entries(SUB("0x6", "0x0", "", "0x60")), 0);
	unlink(path);
	assert_int_equal(cpuid_find(&a, 6, 5)->eax, 0x60);
}

/* A dump's leaf 0xD layout near 4 GiB: sizes computed in 64 bits, never wrapped. */
static void test_xsave_sizes_from_a_dump_do_not_wrap(void **state)
{
	struct cpuid_table t;
	struct cpu_featureset fs = { 0 };

	(void)state;
	/* component 2 (AVX) at 0x240, 0xffffff00 bytes: ends past 4 GiB; 3 and 4: 2 GiB each */
	write_file(HEAD E0 ", {\"leaf\": \"0xd\", \"subleaf\": \"0x2\", \"indexed\": true, "
		   "\"eax\": \"0xffffff00\", \"ebx\": \"0x240\", \"ecx\": \"0\", \"edx\": \"0\"}, "
		   "{\"leaf\": \"0xd\", \"subleaf\": \"0x3\", \"indexed\": true, "
		   "\"eax\": \"0x80000000\", \"ebx\": \"0x340\", \"ecx\": \"0\", \"edx\": \"0\"}, "
		   "{\"leaf\": \"0xd\", \"subleaf\": \"0x4\", \"indexed\": true, "
		   "\"eax\": \"0x80000000\", \"ebx\": \"0x380\", \"ecx\": \"0\", \"edx\": \"0\"}]}");
	if (cpuid_dump_load(path, &a, &meta) < 0)
		fail_msg("%s", err_msg());
	unlink(path);
	/* the wrapped sums were 576 (0x240 + 0xffffff00 = 0x1_0000_0140) and small */
	assert_int_equal(cpu_xsave_size(&a, 0x7), UINT32_MAX);
	assert_int_equal(cpu_xsave_compacted_size(&a, 0x7), UINT32_MAX);
	assert_int_equal(cpu_xsave_compacted_size(&a, 0x1f), UINT32_MAX);
	/* and a model built on that host gets an error, not a 4 GiB or a tiny leaf 0xD */
	featureset_set(&fs, cpu_feature_find("fpu"), true);
	featureset_set(&fs, cpu_feature_find("sse"), true);
	featureset_set(&fs, cpu_feature_find("xsave"), true);
	featureset_set(&fs, cpu_feature_find("avx"), true);
	memset(&t, 0, sizeof(t));
	err_clear();
	assert_int_equal(cpu_xsave_leaf(&t, &a, &fs), -1);
	if (!strstr(err_msg(), "0xD"))
		fail_msg("\"%s\"", err_msg());
	/* a sane host layout is untouched */
	assert_int_equal(cpu_xsave_size(NULL, 0x7), 832);
}

/* JSON inputs have a size limit: a clear error, not a 1 GiB read. */
static void test_oversized_dump_is_refused(void **state)
{
	static const char body[] = HEAD E0 "]}";
	FILE *f;

	(void)state;
	write_file(body);
	f = fopen(path, "a");
	assert_non_null(f);
	/* valid JSON: the dump, then whitespace up to one byte over the limit */
	for (size_t n = strlen(body); n <= CPUID_DUMP_MAX_BYTES; n++)
		fputc(' ', f);
	fclose(f);
	err_clear();
	assert_int_equal(cpuid_dump_load(path, &a, &meta), -1);
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

/* Strings from a dump reach the terminal; their control characters escaped. */
static void test_control_characters_are_escaped(void **state)
{
	(void)state;
	write_file("{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, "
		   "\"source\": \"synthesised\\u0007\", \"host\": {\"name\": \"a\\u001b[2Jb\", "
		   "\"vendor\": \"Genu\\u007fneIntel\", \"model_id\": \"x\\r\\ny\", "
		   "\"kernel\": \"6.1\\u009b0m\"}, \"entries\": [" E0 "]}");
	if (cpuid_dump_load(path, &a, &meta) < 0)
		fail_msg("%s", err_msg());
	unlink(path);
	assert_false(has_control(meta.name) || has_control(meta.source) ||
		     has_control(meta.vendor) || has_control(meta.model_id) ||
		     has_control(meta.kernel));
	assert_string_equal(meta.name, "a\\x1b[2Jb");
	assert_string_equal(meta.model_id, "x\\x0d\\x0ay");
	assert_string_equal(meta.kernel, "6.1\\xc2\\x9b0m"); /* C1 CSI, as UTF-8 */
	assert_string_equal(meta.source, "synthesised\\x07");
	/* and in messages that quote the file */
	write_file(HEAD "{\"leaf\": \"0x\\u001b]0;pwned\\u0007\", \"eax\": \"0\", \"ebx\": \"0\", "
		   "\"ecx\": \"0\", \"edx\": \"0\"}]}");
	assert_int_equal(cpuid_dump_load(path, &a, &meta), -1);
	unlink(path);
	assert_false(has_control(err_msg()));
	if (!strstr(err_msg(), "\\x1b]0;pwned\\x07"))
		fail_msg("\"%s\"", err_msg());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_hosts),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_firecracker_detected),
		cmocka_unit_test(test_bad_dumps),
		cmocka_unit_test(test_number_boundaries),
		cmocka_unit_test(test_subleaf_rule_matches_lookup),
		cmocka_unit_test(test_xsave_sizes_from_a_dump_do_not_wrap),
		cmocka_unit_test(test_oversized_dump_is_refused),
		cmocka_unit_test(test_control_characters_are_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
