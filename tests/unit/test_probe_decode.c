/* SPDX-License-Identifier: MIT */
/*
 * The probe decoder against streams built here, word by word, from the
 * record layout in src/guest/lib/ports.h (what the probe guest sends).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/err.h"
#include "verify/probe_decode.h"

struct stream {
	uint32_t w[8192];
	size_t n;
	unsigned records;
};

/* Append a record: header then `len` payload words. */
static void rec(struct stream *s, unsigned type, unsigned len, ...)
{
	va_list ap;

	s->w[s->n++] = PROBE_HEADER(type, len);
	va_start(ap, len);
	for (unsigned i = 0; i < len; i++)
		s->w[s->n++] = va_arg(ap, uint32_t);
	va_end(ap);
	s->records++;
}

static void begin(struct stream *s, uint32_t cpu, uint32_t apic, uint32_t ncpus)
{
	rec(s, PROBE_REC_BEGIN, PROBE_LEN_BEGIN, PROBE_VERSION, cpu, apic, ncpus);
}

static void end(struct stream *s)
{
	rec(s, PROBE_REC_END, PROBE_LEN_END, s->records);
}

static void cpuid_rec(struct stream *s, uint32_t leaf, uint32_t sub, uint32_t a, uint32_t b,
		      uint32_t c, uint32_t d)
{
	rec(s, PROBE_REC_CPUID, PROBE_LEN_CPUID, leaf, sub, a, b, c, d);
}

static struct probe_report *new_report(void)
{
	struct probe_report *r = malloc(sizeof(*r));

	assert_non_null(r);
	memset(r, 0xa5, sizeof(*r)); /* the decoder must clear it */
	return r;
}

static void expect_error(const struct stream *s, struct probe_report *r, const char *needle)
{
	err_clear();
	assert_int_equal(probe_decode(s->w, s->n, r), -1);
	if (!strstr(err_msg(), needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err_msg(), needle);
}

static void test_full_stream(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();
	const struct probe_cpuid *c;

	begin(s, 1, 4, 2);
	cpuid_rec(s, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
	cpuid_rec(s, 7, 0, 1, 0xd19f4fbb, 0x8, 0xbc000400);
	cpuid_rec(s, 7, 1, 0, 0, 0, 0);
	cpuid_rec(s, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	rec(s, PROBE_REC_KVMCLOCK, PROBE_LEN_KVMCLOCK, PROBE_ST_OK, 2, 0x9f2e4a1b,
	    (uint32_t)-1, 0x01, 0x00000010, 0x1, 0x00000200, 0x1);
	rec(s, PROBE_REC_WALLCLOCK, PROBE_LEN_WALLCLOCK, PROBE_ST_OK, 4, 1764064800, 999);
	rec(s, PROBE_REC_STEAL, PROBE_LEN_STEAL, PROBE_ST_OK, 6, 100, 0, 0x5, 0x2, 20000, 0);
	rec(s, PROBE_REC_PV_EOI, PROBE_LEN_PV_EOI, PROBE_ST_OK, 0x123401, 0);
	rec(s, PROBE_REC_MSR_CHECK, PROBE_LEN_MSR_CHECK, KVM_MSR_ASYNC_PF_EN, KVM_PV_ASYNC_PF,
	    PROBE_MSR_GP);
	rec(s, PROBE_REC_MSR_CHECK, PROBE_LEN_MSR_CHECK, KVM_MSR_POLL_CONTROL,
	    KVM_PV_POLL_CONTROL, PROBE_MSR_ACCEPTED);
	rec(s, PROBE_REC_ERROR, PROBE_LEN_ERROR, PROBE_ERR_CPUID_OVERFLOW, 0x80001000);
	end(s);

	assert_int_equal(probe_decode(s->w, s->n, r), 0);
	assert_true(r->begun && r->ended);
	assert_int_equal(r->version, PROBE_VERSION);
	assert_int_equal(r->cpu, 1);
	assert_int_equal(r->apic_id, 4);
	assert_int_equal(r->ncpus, 2);
	assert_int_equal(r->records, 12);
	assert_int_equal(r->skipped, 0);

	assert_int_equal(r->ncpuid, 4);
	c = probe_report_cpuid(r, 7, 1);
	assert_non_null(c);
	assert_ptr_equal(c, &r->cpuid[2]);
	c = probe_report_cpuid(r, 7, 0);
	assert_int_equal(c->ebx, 0xd19f4fbb);
	assert_int_equal(c->edx, 0xbc000400);
	assert_null(probe_report_cpuid(r, 7, 2));
	assert_null(probe_report_cpuid(r, 1, 0));
	assert_int_equal(probe_report_cpuid(r, 0x40000000, 0)->ebx, 0x4b4d564b);

	assert_true(r->kvmclock.present);
	assert_int_equal(r->kvmclock.status, PROBE_ST_OK);
	assert_int_equal(r->kvmclock.mul, 0x9f2e4a1b);
	assert_int_equal(r->kvmclock.shift, -1);
	assert_true(r->kvmclock.stable);
	assert_int_equal(r->kvmclock.t0_ns, 0x100000010ull);
	assert_int_equal(r->kvmclock.t1_ns, 0x100000200ull);
	assert_true(r->kvmclock.advancing);

	assert_int_equal(r->wallclock.sec, 1764064800);
	assert_int_equal(r->wallclock.nsec, 999);
	assert_int_equal(r->steal.start_ns, 100);
	assert_int_equal(r->steal.end_ns, 0x200000005ull);
	assert_int_equal(r->steal.busy_us, 20000);
	assert_int_equal(r->pv_eoi.msr_value, 0x123401);

	assert_int_equal(r->nmsr, 2);
	assert_int_equal(r->msr[0].msr, KVM_MSR_ASYNC_PF_EN);
	assert_int_equal(r->msr[0].feature_bit, KVM_PV_ASYNC_PF);
	assert_true(r->msr[0].gp);
	assert_false(r->msr[1].gp);
	assert_int_equal(r->nerror, 1);
	assert_int_equal(r->error[0].arg, 0x80001000);
	assert_string_equal(probe_error_name(r->error[0].code), "cpuid overflow");
	free(s);
	free(r);
}

/* What the probe sends on a host without KVM leaves (QEMU TCG). */
static void test_no_kvm_stream(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	cpuid_rec(s, 0, 0, 1, 0, 0, 0);
	rec(s, PROBE_REC_KVMCLOCK, PROBE_LEN_KVMCLOCK, PROBE_ST_NO_KVM, 0, 0, 0, 0, 0, 0, 0, 0);
	rec(s, PROBE_REC_WALLCLOCK, PROBE_LEN_WALLCLOCK, PROBE_ST_NO_KVM, 0, 0, 0);
	rec(s, PROBE_REC_STEAL, PROBE_LEN_STEAL, PROBE_ST_NO_KVM, 0, 0, 0, 0, 0, 0, 0);
	rec(s, PROBE_REC_PV_EOI, PROBE_LEN_PV_EOI, PROBE_ST_NO_KVM, 0, 0);
	end(s);
	assert_int_equal(probe_decode(s->w, s->n, r), 0);
	assert_string_equal(probe_status_name(r->kvmclock.status), "no KVM");
	assert_string_equal(probe_status_name(r->steal.status), "no KVM");
	assert_false(r->kvmclock.advancing);
	assert_int_equal(r->nmsr, 0);
	free(s);
	free(r);
}

static void test_status_names(void **state)
{
	assert_string_equal(probe_status_name(PROBE_ST_OK), "ok");
	assert_string_equal(probe_status_name(PROBE_ST_NOT_OFFERED), "not offered");
	assert_string_equal(probe_status_name(PROBE_ST_GP), "#GP");
	assert_string_equal(probe_status_name(PROBE_ST_BAD), "bad");
	assert_string_equal(probe_status_name(99), "unknown");
	assert_string_equal(probe_error_name(0), "unknown");
}

static void test_empty(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	expect_error(s, r, "empty");
	assert_false(r->begun);
	free(s);
	free(r);
}

static void test_must_start_with_begin(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	end(s);
	expect_error(s, r, "starts with CPUID");
	s->n = 0;
	rec(s, 200, 1, 7);
	expect_error(s, r, "starts with an unknown record");
	free(s);
	free(r);
}

static void test_bad_magic_names_the_word(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	s->w[s->n++] = 0xdeadbeef;
	end(s);
	expect_error(s, r, "word 12: 0xdeadbeef is not a record header");
	/* what came before the damage is still there */
	assert_true(r->begun);
	assert_int_equal(r->ncpuid, 1);
	free(s);
	free(r);
}

static void test_truncated(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	s->n -= 2;
	expect_error(s, r, "CPUID record truncated (4 of 6 words)");
	free(s);
	free(r);
}

static void test_wrong_length(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_CPUID, 5, 0, 0, 1, 2, 3);
	end(s);
	expect_error(s, r, "CPUID record of 5 words, expected 6");
	free(s);
	free(r);
}

static void test_missing_end(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	cpuid_rec(s, 1, 0, 5, 6, 7, 8);
	expect_error(s, r, "no END record after 3 records");
	assert_int_equal(r->ncpuid, 2);
	assert_false(r->ended);
	free(s);
	free(r);
}

static void test_end_count_detects_lost_records(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	cpuid_rec(s, 1, 0, 5, 6, 7, 8);
	end(s);
	/* drop the middle record, as if its port writes never arrived */
	memmove(s->w + 12, s->w + 19, (s->n - 19) * sizeof(s->w[0]));
	s->n -= 7;
	expect_error(s, r, "END counts 3 records, 2 arrived");
	free(s);
	free(r);
}

static void test_unknown_record_is_skipped(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	rec(s, 77, 3, 1, 2, 3);
	rec(s, 78, 0);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	end(s);
	assert_int_equal(probe_decode(s->w, s->n, r), 0);
	assert_int_equal(r->skipped, 2);
	assert_int_equal(r->ncpuid, 1);
	assert_int_equal(r->cpuid[0].ebx, 2);
	free(s);
	free(r);
}

static void test_data_after_end(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	end(s);
	cpuid_rec(s, 0, 0, 1, 2, 3, 4);
	expect_error(s, r, "after the END record");
	free(s);
	free(r);
}

static void test_version_and_duplicates(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	rec(s, PROBE_REC_BEGIN, PROBE_LEN_BEGIN, PROBE_VERSION + 1, 0, 0, 1);
	end(s);
	expect_error(s, r, "protocol version 2");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	begin(s, 0, 0, 1);
	end(s);
	expect_error(s, r, "second BEGIN");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_PV_EOI, PROBE_LEN_PV_EOI, PROBE_ST_OK, 1, 0);
	rec(s, PROBE_REC_PV_EOI, PROBE_LEN_PV_EOI, PROBE_ST_OK, 1, 0);
	end(s);
	expect_error(s, r, "second PV_EOI");
	free(s);
	free(r);
}

static void test_bad_values(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_STEAL, PROBE_LEN_STEAL, 42, 0, 0, 0, 0, 0, 0, 0);
	end(s);
	expect_error(s, r, "STEAL record with unknown status 42");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_MSR_CHECK, PROBE_LEN_MSR_CHECK, KVM_MSR_STEAL_TIME, 5, 2);
	end(s);
	expect_error(s, r, "MSR_CHECK result 2");
	free(s);
	free(r);
}

/* FEATURE_MSR: value or #GP per MSR, in the guest's order; malformed ones named */
static void test_feature_msr_records(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0x10a, PROBE_MSR_READ, 0x0c000069,
	    0x40000000);
	rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0xcf, PROBE_MSR_READ_GP, 0, 0);
	end(s);
	assert_int_equal(probe_decode(s->w, s->n, r), 0);
	assert_int_equal(r->skipped, 0);
	assert_int_equal(r->nfeature_msr, 2);
	assert_int_equal(r->feature_msr[0].msr, 0x10a);
	assert_false(r->feature_msr[0].gp);
	assert_int_equal(r->feature_msr[0].value, 0x400000000c000069ull);
	assert_int_equal(r->feature_msr[1].msr, 0xcf);
	assert_true(r->feature_msr[1].gp);

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0x10a, 7, 0, 0);
	end(s);
	expect_error(s, r, "FEATURE_MSR result 7");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0x10a, PROBE_MSR_READ, 1, 0);
	rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0x10a, PROBE_MSR_READ, 1, 0);
	end(s);
	expect_error(s, r, "FEATURE_MSR 0x10a twice");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	for (uint32_t i = 0; i <= PROBE_MAX_FEATURE_MSRS; i++)
		rec(s, PROBE_REC_FEATURE_MSR, PROBE_LEN_FEATURE_MSR, 0x100 + i, PROBE_MSR_READ, 0, 0);
	end(s);
	expect_error(s, r, "more than 8 FEATURE_MSR records");

	memset(s, 0, sizeof(*s));
	begin(s, 0, 0, 1);
	rec(s, PROBE_REC_FEATURE_MSR, 3, 0x10a, PROBE_MSR_READ, 1);
	end(s);
	expect_error(s, r, "FEATURE_MSR");
	free(s);
	free(r);
}

static void test_cpuid_limit(void **state)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	begin(s, 0, 0, 1);
	for (uint32_t i = 0; i < PROBE_MAX_CPUID; i++)
		cpuid_rec(s, i, 0, i, 0, 0, 0);
	end(s);
	assert_int_equal(probe_decode(s->w, s->n, r), 0);
	assert_int_equal(r->ncpuid, PROBE_MAX_CPUID);
	assert_int_equal(probe_report_cpuid(r, PROBE_MAX_CPUID - 1, 0)->eax, PROBE_MAX_CPUID - 1);

	s->n -= 1 + PROBE_LEN_END;
	s->records--;
	cpuid_rec(s, 0x80000000, 0, 0, 0, 0, 0);
	end(s);
	expect_error(s, r, "more than 512 CPUID records");
	free(s);
	free(r);
}

/*
 * Streams the real probe guest sent under QEMU TCG (tests/data/probe/, with
 * the QEMU command line in their header): the guest's encoder and this
 * decoder must agree, and what QEMU was asked for must come out.
 */
static size_t load_words(const char *path, uint32_t *w, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t n = 0;

	if (!f)
		fail_msg("%s: cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		if (line[0] == '#')
			continue;
		for (;;) {
			unsigned long v = strtoul(p, &end, 16);

			if (end == p)
				break;
			assert_true(n < max);
			w[n++] = (uint32_t)v;
			p = end;
		}
	}
	fclose(f);
	return n;
}

static void regs_text(char *out, const struct probe_cpuid *c, int n, const int *order)
{
	for (int i = 0; i < n; i++) {
		const uint32_t regs[4] = { c->eax, c->ebx, c->ecx, c->edx };
		uint32_t r = regs[order[i]];
		memcpy(out + 4 * i, &r, 4);
	}
	out[4 * n] = 0;
}

static void test_recorded_qemu_streams(void **state)
{
	static const char *const files[] = { "tests/data/probe/qemu-tcg-cpu0.words",
					     "tests/data/probe/qemu-tcg-cpu1.words" };
	static const int vendor_order[] = { 1, 3, 2 }, brand_order[] = { 0, 1, 2, 3 };
	struct stream *s = calloc(1, sizeof(*s));
	struct probe_report *r = new_report();

	for (uint32_t cpu = 0; cpu < 2; cpu++) {
		char text[64];

		s->n = load_words(files[cpu], s->w, sizeof(s->w) / sizeof(s->w[0]));
		err_clear();
		if (probe_decode(s->w, s->n, r) < 0)
			fail_msg("%s: %s", files[cpu], err_msg());
		assert_int_equal(r->cpu, cpu);
		assert_int_equal(r->ncpus, 2);
		assert_int_equal(r->apic_id, cpu); /* QEMU numbers APIC ids from 0 */
		assert_int_equal(r->skipped, 0);
		assert_int_equal(probe_report_cpuid(r, 1, 0)->ebx >> 24, r->apic_id);
		regs_text(text, probe_report_cpuid(r, 0, 0), 3, vendor_order);
		assert_string_equal(text, "GenuineIntel");
		for (uint32_t leaf = 0; leaf <= 0x1f; leaf++)
			assert_non_null(probe_report_cpuid(r, leaf, 0));
		for (uint32_t leaf = 0x80000000; leaf <= 0x80000021; leaf++)
			assert_non_null(probe_report_cpuid(r, leaf, 0));
		for (int i = 0; i < 3; i++)
			regs_text(text + 16 * i, probe_report_cpuid(r, 0x80000002 + i, 0), 4,
				  brand_order);
		assert_string_equal(text, "skyvm probe fixture");
		/* TCG has no KVM leaves: every PV result says so, nothing else was tried */
		assert_int_equal(r->kvmclock.status, PROBE_ST_NO_KVM);
		assert_int_equal(r->wallclock.status, PROBE_ST_NO_KVM);
		assert_int_equal(r->steal.status, PROBE_ST_NO_KVM);
		assert_int_equal(r->pv_eoi.status, PROBE_ST_NO_KVM);
		assert_int_equal(r->nmsr, 0);
		assert_int_equal(r->nerror, 0);
	}
	free(s);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_stream),
		cmocka_unit_test(test_no_kvm_stream),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_must_start_with_begin),
		cmocka_unit_test(test_bad_magic_names_the_word),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_missing_end),
		cmocka_unit_test(test_end_count_detects_lost_records),
		cmocka_unit_test(test_unknown_record_is_skipped),
		cmocka_unit_test(test_data_after_end),
		cmocka_unit_test(test_version_and_duplicates),
		cmocka_unit_test(test_feature_msr_records),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_cpuid_limit),
		cmocka_unit_test(test_recorded_qemu_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
