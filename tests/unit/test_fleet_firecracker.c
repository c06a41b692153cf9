/* SPDX-License-Identifier: MIT */
/*
 * Firecracker fingerprints read as CPUID tables (fleet/firecracker.c):
 * documents built in memory for each rule, and the committed fingerprint
 * checked against the host dump it was made from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/dump.h"
#include "cpu/features.h"
#include "fleet/firecracker.h"
#include "util/err.h"

#define BITS_VENDOR_EBX "0b01110101011011100110010101000111" /* "Genu" */
#define BITS_VENDOR_EDX "0b01001001011001010110111001101001" /* "ineI" */
#define BITS_VENDOR_ECX "0b01101100011001010111010001101110" /* "ntel" */
#define BITS_ZERO "0b00000000000000000000000000000000"

/* Leaf 0 with max leaf 0x16 and GenuineIntel, then whatever `more` adds. */
static const char *const leaf0 =
	"{\"leaf\":\"0x0\",\"subleaf\":\"0x0\",\"flags\":0,\"modifiers\":["
	"{\"register\":\"eax\",\"bitmap\":\"0b00000000000000000000000000010110\"},"
	"{\"register\":\"ebx\",\"bitmap\":\"" BITS_VENDOR_EBX "\"},"
	"{\"register\":\"ecx\",\"bitmap\":\"" BITS_VENDOR_ECX "\"},"
	"{\"register\":\"edx\",\"bitmap\":\"" BITS_VENDOR_EDX "\"}]}";

static struct cpuid_table table;
static struct cpuid_dump_meta meta;

/* Parse `{"guest_cpu_config":{"cpuid_modifiers":[leaf0, more]}}`. */
static int parse_with(const char *more, bool wrapped)
{
	char doc[8192];
	json_error_t jerr;
	json_t *root;
	int rc;

	snprintf(doc, sizeof(doc), "%s\"cpuid_modifiers\":[%s%s%s]%s",
		 wrapped ? "{\"kernel_version\":\"6.1.0\",\"firecracker_version\":\"1.7.0\","
			   "\"microcode_version\":\"0x2b\",\"guest_cpu_config\":{"
			 : "{",
		 leaf0, more[0] ? "," : "", more, wrapped ? "}}" : "}");
	root = json_loads(doc, 0, &jerr);
	assert_non_null(root);
	err_clear();
	rc = firecracker_dump_parse(root, "dir/host-a.json", &table, &meta);
	json_decref(root);
	return rc;
}

static void leaf7(char *buf, size_t size, const char *ebx_bitmap, const char *extra_modifier)
{
	snprintf(buf, size,
		 "{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":["
		 "{\"register\":\"eax\",\"bitmap\":\"" BITS_ZERO "\"},"
		 "{\"register\":\"ebx\",\"bitmap\":\"%s\"},"
		 "{\"register\":\"ecx\",\"bitmap\":\"" BITS_ZERO "\"}%s%s]}",
		 ebx_bitmap, extra_modifier[0] ? "," : "", extra_modifier);
}

static const char *const edx_zero = "{\"register\":\"edx\",\"bitmap\":\"" BITS_ZERO "\"}";

static void test_reads_registers_flags_and_meta(void **state)
{
	char l7[1024];
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	/* avx2 (bit 5) and avx512f (bit 16), written with '_' separators. */
	leaf7(l7, sizeof(l7), "0b0000_0000_0000_0001_0000_0000_0010_0000", edx_zero);
	assert_int_equal(parse_with(l7, true), 0);
	assert_int_equal(table.nent, 2);
	e = cpuid_find_const(&table, 7, 0);
	assert_non_null(e);
	assert_int_equal(e->ebx, (1u << 16) | (1u << 5));
	assert_int_equal(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	/* Indexed: subleaf 1 of leaf 7 is a different entry and absent. */
	assert_null(cpuid_find_const(&table, 7, 1));
	assert_int_equal(cpuid_value(&table, 0, 0, CPUID_EAX), 0x16);
	assert_string_equal(meta.vendor, "GenuineIntel");
	assert_string_equal(meta.name, "host-a");
	assert_string_equal(meta.kernel, "6.1.0");
	assert_non_null(strstr(meta.source, "1.7.0"));
	assert_non_null(strstr(meta.source, "fingerprint"));
}

static void test_template_dump_without_wrapper_is_read(void **state)
{
	(void)state;
	assert_int_equal(parse_with("", false), 0);
	assert_int_equal(table.nent, 1);
	assert_string_equal(meta.vendor, "GenuineIntel");
	assert_non_null(strstr(meta.source, "template dump"));
}

static void test_x_bit_is_refused_with_its_key(void **state)
{
	char l7[1024];

	(void)state;
	leaf7(l7, sizeof(l7), "0b000000000000000000000000001x0000", edx_zero);
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "dir/host-a.json"));
	assert_non_null(strstr(err_msg(), "guest_cpu_config.cpuid_modifiers[1].modifiers[1].bitmap"));
	assert_non_null(strstr(err_msg(), "'x'"));
}

static void test_short_and_long_bitmaps_are_refused(void **state)
{
	char l7[1024];

	(void)state;
	/* 31 bits: a template would pad with x; a dump must state all 32. */
	leaf7(l7, sizeof(l7), "0b000000000000000000000000000000", edx_zero);
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "a dump states all 32"));
	leaf7(l7, sizeof(l7), "0b100000000000000000000000000000000", edx_zero);
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "more than 32 bits"));
	leaf7(l7, sizeof(l7), "0b0000000000000000000000000000000z", edx_zero);
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "unexpected character 'z'"));
	leaf7(l7, sizeof(l7), "00000000000000000000000000000000", edx_zero);
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "does not start with 0b"));
}

static void test_missing_or_unknown_register_is_refused(void **state)
{
	char l7[1024];

	(void)state;
	leaf7(l7, sizeof(l7), BITS_ZERO, "");
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "no edx"));
	leaf7(l7, sizeof(l7), BITS_ZERO, "{\"register\":\"ekx\",\"bitmap\":\"" BITS_ZERO "\"}");
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "modifiers[3].register: 'ekx'"));
	leaf7(l7, sizeof(l7), BITS_ZERO, "{\"register\":\"ebx\",\"bitmap\":\"" BITS_ZERO "\"}");
	assert_int_equal(parse_with(l7, true), -1);
	assert_non_null(strstr(err_msg(), "ebx given twice"));
}

static void test_leaf_numbers_need_a_radix_prefix(void **state)
{
	(void)state;
	assert_int_equal(parse_with("{\"leaf\":\"7\",\"subleaf\":\"0x0\",\"flags\":0,"
				    "\"modifiers\":[]}", true), -1);
	assert_non_null(strstr(err_msg(), "cpuid_modifiers[1].leaf: '7' lacks a 0x or 0b prefix"));
	assert_int_equal(parse_with("{\"leaf\":\"0b111\",\"subleaf\":\"0x1ffffffff\",\"flags\":0,"
				    "\"modifiers\":[]}", true), -1);
	assert_non_null(strstr(err_msg(), "does not fit in 32 bits"));
	assert_int_equal(parse_with("{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":\"1\","
				    "\"modifiers\":[]}", true), -1);
	assert_non_null(strstr(err_msg(), "flags: expected an integer"));
}

static void test_duplicate_leaf_is_refused(void **state)
{
	char two[2048];

	(void)state;
	snprintf(two, sizeof(two), "%s", leaf0);
	assert_int_equal(parse_with(two, true), -1);
	assert_non_null(strstr(err_msg(), "given twice"));
}

static void test_wrong_documents_are_refused(void **state)
{
	static const char *const docs[] = {
		"[]",
		"{\"guest_cpu_config\": []}",
		"{\"guest_cpu_config\": {}}",
		"{\"guest_cpu_config\": {\"cpuid_modifiers\": {}}}",
		"{\"guest_cpu_config\": {\"cpuid_modifiers\": []}}",
		"{\"guest_cpu_config\": {\"cpuid_modifiers\": [42]}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_error_t jerr;
		json_t *root = json_loads(docs[i], 0, &jerr);

		assert_non_null(root);
		err_clear();
		assert_int_equal(firecracker_dump_parse(root, "x.json", &table, &meta), -1);
		assert_non_null(strstr(err_msg(), "x.json"));
		json_decref(root);
	}
}

static void test_a_table_without_leaf0_is_refused(void **state)
{
	json_error_t jerr;
	json_t *root = json_loads(
		"{\"cpuid_modifiers\":[{\"leaf\":\"0x1\",\"subleaf\":\"0x0\",\"flags\":0,"
		"\"modifiers\":[{\"register\":\"eax\",\"bitmap\":\"" BITS_ZERO "\"},"
		"{\"register\":\"ebx\",\"bitmap\":\"" BITS_ZERO "\"},"
		"{\"register\":\"ecx\",\"bitmap\":\"" BITS_ZERO "\"},"
		"{\"register\":\"edx\",\"bitmap\":\"" BITS_ZERO "\"}]}]}", 0, &jerr);

	(void)state;
	assert_non_null(root);
	assert_int_equal(firecracker_dump_parse(root, "x.json", &table, &meta), -1);
	assert_non_null(strstr(err_msg(), "no leaf 0x0"));
	json_decref(root);
}

static void test_detect(void **state)
{
	static const struct {
		const char *doc;
		bool firecracker;
	} cases[] = {
		{ "{\"guest_cpu_config\": {}}", true },
		{ "{\"cpuid_modifiers\": []}", true },
		{ "{\"format\": \"skyvm-cpuid-dump\", \"entries\": []}", false },
		{ "[1, 2]", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t jerr;
		json_t *root = json_loads(cases[i].doc, 0, &jerr);

		assert_non_null(root);
		assert_int_equal(firecracker_dump_detect(root), cases[i].firecracker);
		json_decref(root);
	}
}

/*
 * The committed fingerprint is the Cascade Lake dump after Firecracker's
 * normalisation: loaded through cpuid_dump_load() (which detects the format),
 * its feature words must equal the dump's except where Firecracker's
 * normalisation writes them (hypervisor, TSC-deadline on; PDCM off).
 */
static void test_committed_fingerprint_matches_its_host(void **state)
{
	static struct cpuid_table fc, host;
	struct cpuid_dump_meta fc_meta, host_meta;
	struct cpu_featureset a, b;
	const struct cpu_feature *normalised[] = {
		cpu_feature_find("hypervisor"),
		cpu_feature_find("tsc-deadline"),
		cpu_feature_find("pdcm"),
	};

	(void)state;
	assert_int_equal(cpuid_dump_load("tests/data/hosts/firecracker-cascadelake.json", &fc,
					 &fc_meta), 0);
	assert_int_equal(cpuid_dump_load("tests/data/hosts/intel-cascadelake.json", &host,
					 &host_meta), 0);
	assert_string_equal(fc_meta.vendor, "GenuineIntel");
	assert_int_equal(fc.nent, host.nent);
	featureset_from_cpuid(&a, &fc);
	featureset_from_cpuid(&b, &host);
	for (size_t i = 0; i < sizeof(normalised) / sizeof(normalised[0]); i++) {
		assert_non_null(normalised[i]);
		assert_int_not_equal(featureset_has(&a, normalised[i]),
				     featureset_has(&b, normalised[i]));
		featureset_set(&a, normalised[i], false);
		featureset_set(&b, normalised[i], false);
	}
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(featureset_has(&a, cpu_feature_find("avx512vnni")));
}


/* A leaf modifier with all four registers, eax = `eax`, the rest 0. */
static void leaf_mod(char *buf, size_t size, uint32_t leaf, uint32_t subleaf, unsigned flags,
		     uint32_t eax)
{
	char bits[40] = "0b";

	for (int i = 31; i >= 0; i--)
		strcat(bits, (eax >> i) & 1 ? "1" : "0");
	snprintf(buf, size,
		 "{\"leaf\":\"0x%x\",\"subleaf\":\"0x%x\",\"flags\":%u,\"modifiers\":["
		 "{\"register\":\"eax\",\"bitmap\":\"%s\"},"
		 "{\"register\":\"ebx\",\"bitmap\":\"" BITS_ZERO "\"},"
		 "{\"register\":\"ecx\",\"bitmap\":\"" BITS_ZERO "\"},"
		 "{\"register\":\"edx\",\"bitmap\":\"" BITS_ZERO "\"}]}",
		 leaf, subleaf, flags, bits);
}

/*
 * Leaf 2's stateful flags (2, 4; old kernels reported them) mean nothing to
 * a table and a skyvm dump cannot hold them: only "subleaf significant" is
 * kept, so a fingerprint written as a skyvm dump reads back the same.
 */
static void test_only_the_index_flag_is_kept(void **state)
{
	char two[1024], four[600];

	(void)state;
	leaf_mod(two, sizeof(two), 2, 0, 6, 0x00feff01);
	leaf_mod(four, sizeof(four), 4, 1, 5, 0x4);
	strcat(two, ",");
	strcat(two, four);
	if (parse_with(two, true) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpuid_find(&table, 2, 0)->flags, 0);
	assert_int_equal(cpuid_find(&table, 4, 1)->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
}

/* The subleaf rule of skyvm dumps, in either order: flags 0 answers every subleaf. */
static void test_unindexed_leaf_beside_subleaves_is_refused(void **state)
{
	char a[600], b[600], both[1300];

	(void)state;
	leaf_mod(a, sizeof(a), 7, 0, 0, 1);
	leaf_mod(b, sizeof(b), 7, 1, 1, 2);
	snprintf(both, sizeof(both), "%s,%s", a, b);
	assert_int_equal(parse_with(both, true), -1);
	assert_non_null(strstr(err_msg(), "flags 0"));
	snprintf(both, sizeof(both), "%s,%s", b, a);
	assert_int_equal(parse_with(both, true), -1);
	assert_non_null(strstr(err_msg(), "flags 0"));
}

/* The brand string (leaves 0x80000002-4) is printed: control characters escaped. */
static void test_brand_string_is_escaped(void **state)
{
	char doc[4096], b2[600];

	(void)state;
	/* "\e]0;" then "x\a" and NULs: an OSC sequence retitling the terminal */
	leaf_mod(b2, sizeof(b2), 0x80000002, 0, 0, 0x3b305d1b);
	snprintf(doc, sizeof(doc), "{\"cpuid_modifiers\":[%s,%s]}", leaf0, b2);
	if (cpuid_dump_parse(doc, strlen(doc), "fc.json", &table, &meta) < 0)
		fail_msg("%s", err_msg());
	assert_string_equal(meta.model_id, "\\x1b]0;");
	assert_string_equal(meta.vendor, "GenuineIntel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_registers_flags_and_meta),
		cmocka_unit_test(test_template_dump_without_wrapper_is_read),
		cmocka_unit_test(test_x_bit_is_refused_with_its_key),
		cmocka_unit_test(test_short_and_long_bitmaps_are_refused),
		cmocka_unit_test(test_missing_or_unknown_register_is_refused),
		cmocka_unit_test(test_leaf_numbers_need_a_radix_prefix),
		cmocka_unit_test(test_duplicate_leaf_is_refused),
		cmocka_unit_test(test_only_the_index_flag_is_kept),
		cmocka_unit_test(test_unindexed_leaf_beside_subleaves_is_refused),
		cmocka_unit_test(test_brand_string_is_escaped),
		cmocka_unit_test(test_wrong_documents_are_refused),
		cmocka_unit_test(test_a_table_without_leaf0_is_refused),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_committed_fingerprint_matches_its_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
