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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_hosts),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_firecracker_detected),
		cmocka_unit_test(test_bad_dumps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
