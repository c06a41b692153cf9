/* SPDX-License-Identifier: MIT */
/*
 * snapshot/format.c and snapshot/cpucheck.c: the state file round-trips,
 * a corrupt section is refused by name, a newer format and a truncated file
 * are refused; the CPU check names each feature a recorded host lacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "snapshot/cpucheck.h"
#include "snapshot/format.h"
#include "util/err.h"

static void build(uint8_t **buf, size_t *len)
{
	struct snap_file f;
	uint8_t big[5000];

	memset(big, 0xab, sizeof(big));
	snap_init(&f);
	assert_int_equal(snap_add(&f, "meta", "{\"a\":1}", 7), 0);
	assert_int_equal(snap_add(&f, "vcpu0.regs", big, sizeof(big)), 0);
	assert_int_equal(snap_add(&f, "empty", NULL, 0), 0);
	assert_int_equal(snap_add(&f, "meta", "x", 1), -1); /* twice */
	assert_int_equal(snap_encode(&f, buf, len), 0);
	snap_free(&f);
}

static void test_roundtrip(void **state)
{
	struct snap_file g;
	uint8_t *buf;
	size_t len;
	const struct snap_section *s;

	build(&buf, &len);
	assert_int_equal(snap_decode(buf, len, "t", &g), 0);
	assert_int_equal(g.n, 3);
	s = snap_get(&g, "vcpu0.regs");
	assert_non_null(s);
	assert_int_equal(s->len, 5000);
	assert_int_equal(s->data[4999], 0xab);
	assert_int_equal(snap_get(&g, "empty")->len, 0);
	assert_null(snap_get(&g, "nope"));
	snap_free(&g);
	free(buf);
}

/* Flip one byte inside each section's payload: the error names that section. */
static void test_corrupt_section_named(void **state)
{
	struct snap_file g;
	uint8_t *buf;
	size_t len, off;

	build(&buf, &len);
	/* header 32, then "meta": 2 + 4 + 8 + 4 = 18 bytes before its payload */
	off = 32 + 18 + 3;
	buf[off] ^= 1;
	assert_int_equal(snap_decode(buf, len, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "section 'meta' is corrupt"));
	snap_free(&g);
	buf[off] ^= 1;
	off = 32 + 18 + 7 + 2 + 10 + 8 + 4 + 1000; /* inside vcpu0.regs */
	buf[off] ^= 0x40;
	assert_int_equal(snap_decode(buf, len, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "section 'vcpu0.regs' is corrupt"));
	snap_free(&g);
	buf[off] ^= 0x40;
	assert_int_equal(snap_decode(buf, len, "t", &g), 0);
	snap_free(&g);
	free(buf);
}

static void test_newer_and_truncated(void **state)
{
	struct snap_file g;
	uint8_t *buf;
	size_t len;
	uint32_t crc;

	build(&buf, &len);
	assert_int_equal(snap_decode(buf, len - 1, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "truncated"));
	snap_free(&g);
	buf[8] = SNAP_VERSION + 1; /* a newer version, header checksum fixed up */
	crc = snap_crc32(0, buf, 28);
	memcpy(buf + 28, &crc, 4);
	assert_int_equal(snap_decode(buf, len, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "newer than this skyvm reads"));
	snap_free(&g);
	buf[8] = SNAP_VERSION; /* without fixing the checksum: the header is corrupt */
	assert_int_equal(snap_decode(buf, len, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "header is corrupt"));
	snap_free(&g);
	memcpy(buf, "NOTASNAP", 8);
	assert_int_equal(snap_decode(buf, len, "t", &g), -1);
	assert_non_null(strstr(err_msg(), "not a skyvm snapshot"));
	snap_free(&g);
	free(buf);
}

static struct cpuid_table host_sky, host_has, vcpu_tbl;

/* A Skylake-Server guest configured on a recorded Skylake host: fine there,
 * refused on a Haswell host, naming avx512f in QEMU's words. */
static void test_cpu_check(void **state)
{
	static struct cpu_result r;
	static struct snap_cpu_verdict v;
	struct cpuid_dump_meta meta;
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 2 };

	assert_int_equal(cpuid_dump_load("tests/data/hosts/intel-skylake-sp.json", &host_sky,
					 &meta), 0);
	assert_int_equal(cpuid_dump_load("tests/data/hosts/intel-haswell-ep.json", &host_has,
					 &meta), 0);
	cpu_host_facts_default(&facts);
	assert_int_equal(cpu_configure_with("Skylake-Server", &host_sky, &facts, &topo, &r, NULL),
			 0);
	assert_int_equal(cpu_vcpu_cpuid(&r, 1, &vcpu_tbl), 0);
	snapshot_cpu_check(&vcpu_tbl, 1, &host_sky, &facts, &v);
	assert_int_equal(v.nproblems, 0);
	snapshot_cpu_check(&vcpu_tbl, 1, &host_has, &facts, &v);
	assert_true(v.nmissing > 0);
	assert_non_null(strstr(v.text, "host doesn't support requested feature: "
				       "CPUID.07H:EBX.avx512f [bit 16]\n"));
	/* One line per missing feature. */
	{
		unsigned lines = 0;

		for (const char *p = v.text; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, v.nproblems);
	}
	{
		json_t *j = snapshot_cpu_verdict_json(&v);

		assert_false(json_is_true(json_object_get(j, "compatible")));
		assert_true(json_array_size(json_object_get(j, "missing")) == v.nmissing);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_corrupt_section_named),
		cmocka_unit_test(test_newer_and_truncated),
		cmocka_unit_test(test_cpu_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
