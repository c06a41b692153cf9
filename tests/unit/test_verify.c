/* SPDX-License-Identifier: MIT */
/*
 * `cpu verify`'s comparison on synthetic inputs: real per-vCPU tables from
 * the pipeline on a recorded host (tests/data/supported/), and guest
 * reports written here as a guest on a given KVM would send them.
 *
 * Run with `--json-example FILE` the program writes the JSON document of a
 * report with differences of every kind instead of testing, so the e2e
 * tests can validate docs/schemas/cpu-verify.schema.json against the real
 * builder without /dev/kvm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "cpu/msrs.h"
#include "util/err.h"
#include "verify/verify.h"

#define ICELAKE "tests/data/supported/intel-icelake-server.json"
#define MAX_VCPUS 2

static struct cpuid_table supported;
static struct cpu_result result;
static struct cpuid_table tables[MAX_VCPUS];
static struct probe_report reports[MAX_VCPUS];
static struct verify_vcpu_input inputs[MAX_VCPUS];
static struct verify_result vr;

/* The per-vCPU tables of `spec` on the recorded Ice Lake host. */
static void configure(const char *spec, unsigned cpus)
{
	struct cpuid_dump_meta meta;
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = cpus };

	if (cpuid_dump_load(ICELAKE, &supported, &meta) < 0)
		fail_msg("%s", err_msg());
	cpu_host_facts_default(&facts);
	if (cpu_configure_with(spec, &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s: %s", spec, err_msg());
	for (unsigned i = 0; i < cpus; i++)
		if (cpu_vcpu_cpuid(&result, i, &tables[i]) < 0)
			fail_msg("vCPU %u: %s", i, err_msg());
}

static void pv_all_ok(struct probe_report *r)
{
	r->kvmclock = (struct probe_kvmclock){ .present = true, .status = PROBE_ST_OK,
					       .version = 2, .mul = 0x9c4f2cd2, .shift = -1,
					       .flags = 1, .t0_ns = 1000, .t1_ns = 1350,
					       .stable = true, .advancing = true };
	r->wallclock = (struct probe_wallclock){ .present = true, .status = PROBE_ST_OK,
						 .version = 2, .sec = 1790000000, .nsec = 5 };
	r->steal = (struct probe_steal){ .present = true, .status = PROBE_ST_OK, .version = 4,
					 .start_ns = 100, .end_ns = 40100, .busy_us = 20000 };
	r->pv_eoi = (struct probe_pv_eoi){ .present = true, .status = PROBE_ST_OK,
					   .msr_value = 0x123401 };
}

/*
 * A guest on a KVM that honours the table: one CPUID record per table entry,
 * with the registers the table holds, and every PV check passed.
 */
static void guest_honours_table(unsigned cpus)
{
	for (unsigned i = 0; i < cpus; i++) {
		struct probe_report *r = &reports[i];

		memset(r, 0, sizeof(*r));
		r->begun = r->ended = true;
		r->cpu = i;
		for (uint32_t k = 0; k < tables[i].nent; k++) {
			const struct kvm_cpuid_entry2 *e = &tables[i].ent[k];
			bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

			r->cpuid[r->ncpuid++] = (struct probe_cpuid){
				e->function, indexed ? e->index : 0, e->eax, e->ebx, e->ecx, e->edx
			};
		}
		pv_all_ok(r);
		inputs[i] = (struct verify_vcpu_input){ .table = &tables[i], .report = r,
						 .report_complete = true };
	}
}

/* The guest's record of (leaf, subleaf). */
static struct probe_cpuid *seen(unsigned cpu, uint32_t leaf, uint32_t subleaf)
{
	for (size_t k = 0; k < reports[cpu].ncpuid; k++)
		if (reports[cpu].cpuid[k].leaf == leaf && reports[cpu].cpuid[k].subleaf == subleaf)
			return &reports[cpu].cpuid[k];
	static struct probe_cpuid none;

	fail_msg("no record of leaf 0x%x.%u", leaf, subleaf);
	return &none; /* not reached: fail_msg() ends the test */
}

static uint32_t *seen_reg(unsigned cpu, const char *feature)
{
	const struct cpu_feature *f = cpu_feature_find(feature);
	const struct feature_word_info *w;
	struct probe_cpuid *c;

	assert_non_null(f);
	w = &feature_words[f->word];
	c = seen(cpu, w->leaf, w->subleaf);
	switch (w->reg) {
	case CPUID_EAX: return &c->eax;
	case CPUID_EBX: return &c->ebx;
	case CPUID_ECX: return &c->ecx;
	default: return &c->edx;
	}
}

static void guest_sets(unsigned cpu, const char *feature, bool on)
{
	const struct cpu_feature *f = cpu_feature_find(feature);
	uint32_t *reg = seen_reg(cpu, feature);

	if (on)
		*reg |= 1u << f->bit;
	else
		*reg &= ~(1u << f->bit);
}

static bool table_has(unsigned cpu, const char *feature)
{
	const struct cpu_feature *f = cpu_feature_find(feature);
	const struct feature_word_info *w = &feature_words[f->word];

	return cpuid_value(&tables[cpu], w->leaf, w->subleaf, w->reg) >> f->bit & 1;
}

static void compare(unsigned cpus)
{
	if (verify_compare(inputs, cpus, &vr) < 0)
		fail_msg("%s", err_msg());
}

static int teardown(void **state)
{
	(void)state;
	verify_result_free(&vr);
	return 0;
}

static const char *describe(size_t k)
{
	static char buf[256];

	assert_true(k < vr.ndiffs);
	verify_diff_describe(&vr.diffs[k], buf, sizeof(buf));
	return buf;
}

/* ---- CPUID */

static void test_identical_has_no_difference(void **state)
{
	(void)state;
	configure("Skylake-Server", 2);
	guest_honours_table(2);
	compare(2);
	assert_true(vr.identical);
	assert_true(vr.pv_ok);
	assert_int_equal(vr.ndiffs, 0);
	assert_int_equal(vr.nunprobed, 0);
	assert_int_equal(vr.nvcpus, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(vr.vcpu[i].records, tables[i].nent);
		for (int c = 0; c < VERIFY_PV_COUNT; c++)
			if (c != VERIFY_PV_ENFORCEMENT)
				assert_int_equal(vr.vcpu[i].pv[c].status, VERIFY_PV_OK);
	}
}

static void test_dynamic_bits_are_ignored(void **state)
{
	(void)state;
	configure("Skylake-Server", 2);
	guest_honours_table(2);
	for (unsigned i = 0; i < 2; i++) {
		seen(i, 1, 0)->ecx ^= 1u << 27;         /* OSXSAVE */
		seen(i, 7, 0)->ecx ^= 1u << 4;          /* OSPKE */
		seen(i, 1, 0)->ebx ^= 0x5a000000;       /* initial APIC id */
		seen(i, 0xb, 0)->edx ^= 0x77;           /* x2APIC id */
		seen(i, 0xb, 1)->edx ^= 0x77;
		seen(i, 0xd, 0)->ebx = 0x340;           /* xsave size for the current XCR0 */
		seen(i, 0xd, 1)->ebx = 0x980;
	}
	compare(2);
	assert_true(vr.identical);
	assert_int_equal(vr.ndiffs, 0);
}

static void test_ignored_fields_are_exactly_the_dynamic_ones(void **state)
{
	(void)state;
	assert_int_equal(verify_ignored_mask(1, 0, CPUID_ECX), 1u << 27);
	assert_int_equal(verify_ignored_mask(7, 0, CPUID_ECX), 1u << 4);
	assert_int_equal(verify_ignored_mask(7, 1, CPUID_ECX), 0);
	assert_int_equal(verify_ignored_mask(1, 0, CPUID_EBX), 0xff000000u);
	assert_int_equal(verify_ignored_mask(1, 0, CPUID_EDX), 0);
	assert_int_equal(verify_ignored_mask(0xb, 3, CPUID_EDX), 0xffffffffu);
	assert_int_equal(verify_ignored_mask(0x1f, 0, CPUID_EDX), 0xffffffffu);
	assert_int_equal(verify_ignored_mask(0x1f, 0, CPUID_EAX), 0);
	assert_int_equal(verify_ignored_mask(0x8000001e, 0, CPUID_EAX), 0xffffffffu);
	assert_int_equal(verify_ignored_mask(0xd, 0, CPUID_EBX), 0xffffffffu);
	assert_int_equal(verify_ignored_mask(0xd, 1, CPUID_EBX), 0xffffffffu);
	assert_int_equal(verify_ignored_mask(0xd, 2, CPUID_EBX), 0);
	assert_int_equal(verify_ignored_mask(0xd, 0, CPUID_EAX), 0);
	assert_int_equal(verify_ignored_count, 8);
}

static void test_non_dynamic_neighbours_are_not_ignored(void **state)
{
	(void)state;
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	seen(0, 1, 0)->ebx ^= 0x00ff0000; /* logical processor count, not the APIC id */
	compare(1);
	assert_false(vr.identical);
	assert_int_equal(vr.ndiffs, 1);
	assert_int_equal(vr.diffs[0].kind, VERIFY_DIFF_REGISTER);
	assert_int_equal(vr.diffs[0].leaf, 1);
	assert_int_equal(vr.diffs[0].reg, CPUID_EBX);
	/* the APIC-id byte is masked out of both values */
	assert_int_equal(vr.diffs[0].expected & 0xff000000u, 0);
	assert_int_equal(vr.diffs[0].expected ^ vr.diffs[0].seen, 0x00ff0000);
}

static void test_forced_bit_is_named_with_its_direction(void **state)
{
	(void)state;
	configure("Skylake-Server,-avx2", 2);
	assert_false(table_has(0, "avx2"));
	guest_honours_table(2);
	guest_sets(0, "avx2", true);
	compare(2);
	assert_false(vr.identical);
	assert_int_equal(vr.ndiffs, 1);
	assert_int_equal(vr.diffs[0].vcpu, 0);
	assert_int_equal(vr.diffs[0].kind, VERIFY_DIFF_FORCED);
	assert_string_equal(vr.diffs[0].feature->name, "avx2");
	assert_int_equal(vr.diffs[0].leaf, 7);
	assert_int_equal(vr.diffs[0].bit, 5);
	assert_string_equal(describe(0),
			    "guest sees avx2 although the model disables it (the host forces it)");
	assert_int_equal(vr.vcpu[0].ndiffs, 1);
	assert_int_equal(vr.vcpu[1].ndiffs, 0);
}

static void test_hidden_bit_is_named_with_its_direction(void **state)
{
	(void)state;
	configure("Skylake-Server", 1);
	assert_true(table_has(0, "x2apic"));
	guest_honours_table(1);
	guest_sets(0, "x2apic", false);
	compare(1);
	assert_int_equal(vr.ndiffs, 1);
	assert_int_equal(vr.diffs[0].kind, VERIFY_DIFF_HIDDEN);
	assert_string_equal(vr.diffs[0].feature->name, "x2apic");
	assert_string_equal(describe(0), "guest lacks x2apic although the model enables it "
					 "(the host clears it)");
}

/* HOST-KVM.md's restricted host: a fixed set of leaf-1 bits comes through, whatever the table */
static void test_every_forced_bit_is_named_and_nothing_else(void **state)
{
	static const char *const forced[] = { "sse3", "pclmulqdq", "ssse3", "fma", "sse4.1",
					      "sse4.2", "movbe", "popcnt", "aes", "xsave",
					      "avx", "f16c", "rdrand" };
	const struct cpu_feature *names[64];
	size_t n;

	(void)state;
	configure("Skylake-Server,-sse3,-pclmulqdq,-ssse3,-fma,-sse4.1,-sse4.2,-movbe,-popcnt,"
		  "-aes,-xsave,-avx,-f16c,-rdrand", 2);
	guest_honours_table(2);
	for (unsigned i = 0; i < 2; i++)
		for (size_t k = 0; k < sizeof(forced) / sizeof(forced[0]); k++) {
			assert_false(table_has(i, forced[k]));
			guest_sets(i, forced[k], true);
		}
	compare(2);
	assert_false(vr.identical);
	assert_int_equal(vr.ndiffs, 2 * sizeof(forced) / sizeof(forced[0]));
	for (size_t k = 0; k < vr.ndiffs; k++)
		assert_int_equal(vr.diffs[k].kind, VERIFY_DIFF_FORCED);
	n = verify_forced_features(&vr, names, 64);
	assert_int_equal(n, sizeof(forced) / sizeof(forced[0]));
	for (size_t k = 0; k < sizeof(forced) / sizeof(forced[0]); k++) {
		bool found = false;

		for (size_t j = 0; j < n; j++)
			found = found || !strcmp(names[j]->name, cpu_feature_find(forced[k])->name);
		assert_true(found);
	}
}

static void test_nameless_bit_is_labelled(void **state)
{
	char want[160];
	unsigned bit = 0;

	(void)state;
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	while (bit < 32 && (cpu_feature_at(FW_7_0_EDX, bit) ||
			    cpuid_value(&tables[0], 7, 0, CPUID_EDX) >> bit & 1))
		bit++;
	assert_true(bit < 32); /* 7.0.EDX has unnamed bits the model leaves clear */
	seen(0, 7, 0)->edx |= 1u << bit;
	compare(1);
	assert_int_equal(vr.ndiffs, 1);
	assert_null(vr.diffs[0].feature);
	snprintf(want, sizeof(want),
		 "guest sees CPUID.07H.0:EDX[bit %u] although the model disables it "
		 "(the host forces it)", bit);
	assert_string_equal(describe(0), want);
}

static void test_non_feature_register_is_reported_raw(void **state)
{
	char want[128];

	(void)state;
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	seen(0, 0xd, 0)->eax = 0x3;
	compare(1);
	assert_int_equal(vr.ndiffs, 1);
	assert_int_equal(vr.diffs[0].kind, VERIFY_DIFF_REGISTER);
	assert_int_equal(vr.diffs[0].seen, 0x3);
	snprintf(want, sizeof(want),
		 "CPUID.0DH.0:EAX: guest sees 0x00000003, the table gives 0x%08x",
		 cpuid_value(&tables[0], 0xd, 0, CPUID_EAX));
	assert_string_equal(describe(0), want);
}

static void test_table_entry_the_guest_never_read_is_listed_not_a_difference(void **state)
{
	(void)state;
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	/* drop the guest's record of leaf 6 */
	for (size_t k = 0; k < reports[0].ncpuid; k++)
		if (reports[0].cpuid[k].leaf == 6)
			reports[0].cpuid[k] = reports[0].cpuid[--reports[0].ncpuid];
	compare(1);
	assert_true(vr.identical);
	assert_int_equal(vr.nunprobed, 1);
	assert_int_equal(vr.unprobed[0].leaf, 6);
}

/* ---- leaves the table lacks: KVM's answers */

static void set_entry(struct cpuid_table *t, uint32_t leaf, uint32_t sub, bool indexed,
		      uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = cpuid_get_or_add(t, leaf, sub, indexed);

	assert_non_null(e);
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

static void small_table(struct cpuid_table *t, bool amd)
{
	memset(t, 0, sizeof(*t));
	if (amd) /* "AuthenticAMD" */
		set_entry(t, 0, 0, false, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	else /* "GenuineIntel" */
		set_entry(t, 0, 0, false, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
	set_entry(t, 0xb, 0, true, 1, 1, 0x100, 4);
	set_entry(t, 0xb, 1, true, 2, 2, 0x201, 4);
	set_entry(t, 0xd, 0, true, 7, 0x240, 0x340, 0);
	set_entry(t, 0xd, 3, true, 0x11, 0x22, 0x33, 0x44);
	set_entry(t, 0x80000000, 0, false, 0x80000008, 0, 0, 0);
}

static void test_expected_values_for_absent_leaves(void **state)
{
	static struct cpuid_table t;
	uint32_t r[4];

	(void)state;
	small_table(&t, false);
	assert_int_equal(verify_expected(&t, 0xd, 0, r), VERIFY_FROM_TABLE);
	assert_int_equal(r[CPUID_EBX], 0x240);
	/* inside the basic range, no entry: zeros */
	assert_int_equal(verify_expected(&t, 0x8, 0, r), VERIFY_FROM_ZEROS);
	assert_true(!r[0] && !r[1] && !r[2] && !r[3]);
	/* above the basic maximum on Intel: the highest basic leaf, same subleaf */
	assert_int_equal(verify_expected(&t, 0x20, 3, r), VERIFY_FROM_MAX_BASIC);
	assert_int_equal(r[CPUID_EAX], 0x11);
	assert_int_equal(r[CPUID_EDX], 0x44);
	/* above the extended maximum on Intel: the same */
	assert_int_equal(verify_expected(&t, 0x80000009, 0, r), VERIFY_FROM_MAX_BASIC);
	assert_int_equal(r[CPUID_EAX], 7);
	/* a range with no maximum leaf at all (0x40000000 absent) */
	assert_int_equal(verify_expected(&t, 0x40000001, 0, r), VERIFY_FROM_MAX_BASIC);
	/* inside the extended range: zeros */
	assert_int_equal(verify_expected(&t, 0x80000005, 0, r), VERIFY_FROM_ZEROS);
	/* 0xB past its last subleaf: ECX echoes the subleaf, EDX is the x2APIC id */
	assert_int_equal(verify_expected(&t, 0xb, 5, r), VERIFY_FROM_ZEROS);
	assert_int_equal(r[CPUID_ECX], 5);
	assert_int_equal(r[CPUID_EDX], 4);
	assert_int_equal(r[CPUID_EAX], 0);
	/* an absent 0xD subleaf is zeros */
	assert_int_equal(verify_expected(&t, 0xd, 2, r), VERIFY_FROM_ZEROS);
	assert_int_equal(r[CPUID_EAX] | r[CPUID_EBX], 0);

	/*
	 * CPUID.(12H,1):ECX:EDX as KVM answers an existing entry: x87|SSE set,
	 * the rest masked by 0xD.0's XCR0 bits (7 here: x87, SSE, AVX)
	 */
	set_entry(&t, 0x12, 1, true, 0, 0, 0, 0);
	assert_int_equal(verify_expected(&t, 0x12, 1, r), VERIFY_FROM_TABLE);
	assert_int_equal(r[CPUID_ECX], 3);
	assert_int_equal(r[CPUID_EDX], 0);
	set_entry(&t, 0x12, 1, true, 0, 0, 0xff, 0xff);
	verify_expected(&t, 0x12, 1, r);
	assert_int_equal(r[CPUID_ECX], 7);
	assert_int_equal(r[CPUID_EDX], 0);
	/* and not another subleaf */
	set_entry(&t, 0x12, 0, true, 0, 0, 0, 0);
	verify_expected(&t, 0x12, 0, r);
	assert_int_equal(r[CPUID_ECX], 0);

	/* AMD answers zeros above every range */
	small_table(&t, true);
	assert_int_equal(verify_expected(&t, 0x20, 3, r), VERIFY_FROM_ZEROS);
	assert_int_equal(r[CPUID_EAX] | r[CPUID_EDX], 0);
	assert_int_equal(verify_expected(&t, 0x80000009, 0, r), VERIFY_FROM_ZEROS);
}

static void test_swept_absent_leaf_is_compared_with_kvms_answer(void **state)
{
	static struct probe_report rep;
	static struct cpuid_table t;
	struct verify_vcpu_input in = { .table = &t, .report = &rep, .report_complete = true };

	(void)state;
	small_table(&t, false);
	memset(&rep, 0, sizeof(rep));
	pv_all_ok(&rep);
	/* leaf 0x8 is in range and absent: a guest that sees anything there differs */
	rep.cpuid[rep.ncpuid++] = (struct probe_cpuid){ 0x8, 0, 0, 0, 0, 0 };
	rep.cpuid[rep.ncpuid++] = (struct probe_cpuid){ 0x20, 3, 0x11, 0x22, 0x33, 0x44 };
	assert_int_equal(verify_compare(&in, 1, &vr), 0);
	assert_true(vr.identical);
	verify_result_free(&vr);
	rep.cpuid[0].ecx = 0x1;
	assert_int_equal(verify_compare(&in, 1, &vr), 0);
	assert_int_equal(vr.ndiffs, 1);
	assert_int_equal(vr.diffs[0].source, VERIFY_FROM_ZEROS);
	assert_non_null(strstr(describe(0), "the table has no such leaf: zeros"));
}

/* ---- PV */

static void pv_case(void (*edit)(struct probe_report *r), const char *spec)
{
	configure(spec, 1);
	guest_honours_table(1);
	edit(&reports[0]);
	compare(1);
}

static void edit_none(struct probe_report *r)
{
	(void)r;
}

static void edit_odd_version(struct probe_report *r)
{
	r->kvmclock.version = 3;
}

static void edit_zero_mul(struct probe_report *r)
{
	r->kvmclock.mul = 0;
}

static void edit_not_advancing(struct probe_report *r)
{
	r->kvmclock.t1_ns = r->kvmclock.t0_ns;
}

static void edit_not_stable(struct probe_report *r)
{
	r->kvmclock.stable = false;
	r->kvmclock.flags = 0;
}

static void test_kvmclock_checks(void **state)
{
	(void)state;
	pv_case(edit_none, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_OK);
	assert_true(vr.pv_ok);
	verify_result_free(&vr);

	pv_case(edit_odd_version, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "version odd"));
	assert_false(vr.pv_ok);
	assert_true(vr.identical); /* CPUID is still identical */
	verify_result_free(&vr);

	pv_case(edit_zero_mul, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "mul is 0"));
	verify_result_free(&vr);

	pv_case(edit_not_advancing, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "did not advance"));
}

static void test_kvmclock_stable_flag_follows_the_model(void **state)
{
	(void)state;
	/* named models carry kvmclock-stable-bit: the flag is required */
	pv_case(edit_not_stable, "Skylake-Server");
	assert_true(cpuid_value(&tables[0], 0x40000001, 0, CPUID_EAX) >> 24 & 1);
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "kvmclock-stable-bit"));
	verify_result_free(&vr);
	/* without it the flag is only reported */
	pv_case(edit_not_stable, "Skylake-Server,-kvmclock-stable-bit");
	assert_false(cpuid_value(&tables[0], 0x40000001, 0, CPUID_EAX) >> 24 & 1);
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_OK);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "not stable"));
	verify_result_free(&vr);
	/* a host whose KVM has no master clock cannot set it: reported, not failed */
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	edit_not_stable(&reports[0]);
	inputs[0].host_no_master_clock = true;
	compare(1);
	inputs[0].host_no_master_clock = false;
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_OK);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "no master clock"));
	/* ...but a stable flag with a master clock stays required (the first case) */
}

static void edit_kvmclock_gp(struct probe_report *r)
{
	r->kvmclock.status = PROBE_ST_GP;
}

static void edit_not_offered(struct probe_report *r)
{
	r->kvmclock.status = PROBE_ST_NOT_OFFERED;
	r->wallclock.status = PROBE_ST_NOT_OFFERED;
}

static void edit_no_record(struct probe_report *r)
{
	r->pv_eoi.present = false;
}

static void test_pv_statuses(void **state)
{
	(void)state;
	pv_case(edit_kvmclock_gp, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].detail, "#GP"));
	verify_result_free(&vr);

	pv_case(edit_not_offered, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_NOT_OFFERED);
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_WALLCLOCK].status, VERIFY_PV_NOT_OFFERED);
	assert_true(vr.pv_ok); /* not offered is not a failure */
	verify_result_free(&vr);

	pv_case(edit_no_record, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_EOI].status, VERIFY_PV_FAILED);
	assert_false(vr.pv_ok);
	assert_string_equal(verify_pv_status_name(VERIFY_PV_NOT_OFFERED), "not-offered");
	assert_string_equal(verify_pv_check_name(VERIFY_PV_STEAL), "steal_time");
}

static void edit_wallclock_odd(struct probe_report *r)
{
	r->wallclock.version = 7;
}

static void test_wallclock(void **state)
{
	(void)state;
	pv_case(edit_none, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_WALLCLOCK].status, VERIFY_PV_OK);
	assert_string_equal(vr.vcpu[0].pv[VERIFY_PV_WALLCLOCK].detail,
			    "1790000000.000000005 s at boot, version 2");
	verify_result_free(&vr);

	pv_case(edit_wallclock_odd, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_WALLCLOCK].status, VERIFY_PV_FAILED);
	assert_string_equal(vr.vcpu[0].pv[VERIFY_PV_WALLCLOCK].detail,
			    "version odd (1790000000.000000005 s at boot, version 7)");
	assert_false(vr.pv_ok);
}

static void edit_steal_backwards(struct probe_report *r)
{
	r->steal.start_ns = 5000;
	r->steal.end_ns = 4000;
}

static void test_steal_time(void **state)
{
	(void)state;
	pv_case(edit_none, "Skylake-Server");
	assert_true(vr.vcpu[0].steal_valid);
	assert_int_equal(vr.vcpu[0].steal_start_ns, 100);
	assert_int_equal(vr.vcpu[0].steal_end_ns, 40100);
	assert_int_equal(vr.vcpu[0].steal_busy_us, 20000);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_STEAL].detail, "+40000 ns"));
	verify_result_free(&vr);

	pv_case(edit_steal_backwards, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_STEAL].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_STEAL].detail, "backwards"));
}

static void edit_hidden_msrs_fault(struct probe_report *r)
{
	r->nmsr = 2;
	r->msr[0] = (struct probe_msr_check){ 0x4b564d01, 3, true };
	r->msr[1] = (struct probe_msr_check){ 0x4b564d00, 3, true };
	r->kvmclock.status = PROBE_ST_NOT_OFFERED;
	r->wallclock.status = PROBE_ST_NOT_OFFERED;
}

static void edit_hidden_msr_accepted(struct probe_report *r)
{
	r->nmsr = 2;
	r->msr[0] = (struct probe_msr_check){ 0x4b564d01, 3, true };
	r->msr[1] = (struct probe_msr_check){ 0x4b564d03, 5, false };
}

static void test_enforcement_of_hidden_pv_features(void **state)
{
	(void)state;
	pv_case(edit_none, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_ENFORCEMENT].status, VERIFY_PV_NOT_OFFERED);
	verify_result_free(&vr);

	pv_case(edit_hidden_msrs_fault, "Skylake-Server,-kvmclock");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_ENFORCEMENT].status, VERIFY_PV_OK);
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_KVMCLOCK].status, VERIFY_PV_NOT_OFFERED);
	assert_true(vr.pv_ok);
	verify_result_free(&vr);

	pv_case(edit_hidden_msr_accepted, "Skylake-Server");
	assert_int_equal(vr.vcpu[0].pv[VERIFY_PV_ENFORCEMENT].status, VERIFY_PV_FAILED);
	assert_non_null(strstr(vr.vcpu[0].pv[VERIFY_PV_ENFORCEMENT].detail,
			       "MSR 0x4b564d03 (kvm-steal-time) accepted"));
	assert_null(strstr(vr.vcpu[0].pv[VERIFY_PV_ENFORCEMENT].detail, "0x4b564d01"));
	assert_false(vr.pv_ok);
}

static void test_incomplete_stream_or_guest_exception_is_not_ok(void **state)
{
	(void)state;
	configure("Skylake-Server", 1);
	guest_honours_table(1);
	inputs[0].report_complete = false;
	compare(1);
	assert_false(vr.pv_ok);
	assert_false(vr.vcpu[0].complete);
	verify_result_free(&vr);

	inputs[0].report_complete = true;
	reports[0].nerror = 1;
	reports[0].error[0] = (struct probe_error){ PROBE_ERR_EXCEPTION, 13 };
	compare(1);
	assert_false(vr.pv_ok);
	assert_int_equal(vr.vcpu[0].nerrors, 1);
}

static void test_bad_input_is_an_error(void **state)
{
	struct verify_vcpu_input in = { .report_complete = true };

	(void)state;
	assert_int_equal(verify_compare(&in, 0, &vr), -1);
	assert_int_equal(verify_compare(&in, 1, &vr), -1);
	assert_non_null(strstr(err_msg(), "vCPU 0"));
}

/* ---- JSON */

static json_t *field(json_t *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_is_array(o) ? json_array_get(o, strtoul(k, NULL, 10))
				     : json_object_get(o, k);
	return o;
}

/* ---- feature MSRs */

#define ARCH_CAP 0x10au
#define CORE_CAP 0xcfu

static uint64_t msr_bit(const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	assert_true(feature_word_is_msr(f->word));
	return 1ull << (f->bit + feature_words[f->word].msr_shift);
}

static void guest_reads(unsigned cpu, uint32_t msr, bool gp, uint64_t value)
{
	struct probe_report *r = &reports[cpu];

	r->feature_msr[r->nfeature_msr++] = (struct probe_feature_msr){ msr, gp, value };
}

static const char *describe_msr(unsigned cpu, size_t k)
{
	static char buf[1024];

	assert_true(k < vr.vcpu[cpu].nmsrs);
	verify_msr_describe(&vr.vcpu[cpu].msrs[k], buf, sizeof(buf));
	return buf;
}

/* Cascadelake-Server-v2: its CPUID has arch-capabilities, skyvm writes its MSR bits. */
static uint64_t cascadelake_v2(void)
{
	uint64_t want = msr_bit("rdctl-no") | msr_bit("ibrs-all") |
			msr_bit("skip-l1dfl-vmentry") | msr_bit("mds-no"), value;

	configure("Cascadelake-Server-v2", 1);
	assert_true(cpu_msr_gated(&tables[0], ARCH_CAP));
	assert_false(cpu_msr_gated(&tables[0], CORE_CAP));
	assert_true(cpu_msr_get(&tables[0], ARCH_CAP, &value));
	assert_int_equal(value, want);
	guest_honours_table(1);
	return want;
}

static void test_feature_msr_read_as_written(void **state)
{
	uint64_t want = cascadelake_v2();

	guest_reads(0, ARCH_CAP, false, want);
	guest_reads(0, CORE_CAP, true, 0);
	compare(1);
	assert_true(vr.identical);
	assert_int_equal(vr.nmsr_diffs, 0);
	assert_int_equal(vr.vcpu[0].nmsrs, 2);
	assert_int_equal(vr.vcpu[0].msrs[0].status, VERIFY_MSR_EQUAL);
	assert_string_equal(describe_msr(0, 0), "MSR(10AH) = 0x2b, as skyvm wrote it");
	/* the CPUID hides CORE_CAPABILITY: reported, not judged */
	assert_int_equal(vr.vcpu[0].msrs[1].status, VERIFY_MSR_NOT_GATED);
	assert_string_equal(describe_msr(0, 1), "MSR(CFH): not compared, the guest's CPUID "
						"lacks core-capability; RDMSR gave #GP");
}

static void test_feature_msr_difference_named_bit_by_bit(void **state)
{
	uint64_t want = cascadelake_v2();
	json_t *doc;

	guest_reads(0, ARCH_CAP, false, (want & ~msr_bit("mds-no")) | msr_bit("taa-no"));
	compare(1);
	assert_false(vr.identical);
	assert_int_equal(vr.ndiffs, 0); /* the CPUID is as the table says */
	assert_int_equal(vr.nmsr_diffs, 1);
	assert_int_equal(vr.vcpu[0].msrs[0].status, VERIFY_MSR_DIFFERENT);
	assert_string_equal(describe_msr(0, 0),
			    "guest lacks MSR(10AH).mds-no although the model enables it\n"
			    "guest sees MSR(10AH).taa-no although the model disables it");
	doc = verify_result_json(&vr, "Cascadelake-Server-v2");
	assert_string_equal(json_string_value(field(doc, "verdict")), "different");
	assert_int_equal(json_integer_value(field(doc, "msr_differences")), 1);
	assert_false(json_boolean_value(field(doc, "vcpus.0.identical")));
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.status")),
			    "different");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.expected")),
			    "0x000000000000002b");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.bits.0.feature")),
			    "mds-no");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.bits.0.kind")),
			    "hidden");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.bits.1.feature")),
			    "taa-no");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.bits.1.kind")),
			    "forced");
	json_decref(doc);
}

/* A bit of the MSR's high half is named with its bit in the MSR. */
static void test_feature_msr_high_bit(void **state)
{
	uint64_t want = cascadelake_v2();

	guest_reads(0, ARCH_CAP, false, want | msr_bit("its-no"));
	compare(1);
	assert_int_equal(vr.nmsr_diffs, 1);
	assert_string_equal(describe_msr(0, 0),
			    "guest sees MSR(10AH).its-no although the model disables it");
}

/* #GP where the CPUID promises the MSR, and a write KVM refused (a PVM host) */
static void test_feature_msr_fault_and_refused_write(void **state)
{
	static struct cpuid_table written;
	uint64_t want = cascadelake_v2();

	written = tables[0];
	/* what the vCPU held after the write: KVM kept its own 0 */
	assert_int_equal(cpu_msr_put(&tables[0], ARCH_CAP, 0), 0);
	tables[0].msrs_known = true;
	inputs[0].written = &written;
	guest_reads(0, ARCH_CAP, true, 0);
	compare(1);
	assert_int_equal(vr.nmsr_diffs, 1);
	assert_true(vr.vcpu[0].msrs[0].gp);
	assert_true(vr.vcpu[0].msrs[0].written);
	assert_int_equal(vr.vcpu[0].msrs[0].expected, want);
	assert_string_equal(describe_msr(0, 0),
			    "MSR(10AH): RDMSR raised #GP although skyvm wrote 0x2b (the guest's "
			    "CPUID has arch-capabilities)\n"
			    "MSR(10AH): KVM refused skyvm's write of 0x2b: the vCPU holds 0x0");
}

/* The CPUID has the bit but skyvm wrote nothing (KVM does not list it): not judged */
static void test_feature_msr_not_written(void **state)
{
	cascadelake_v2();
	tables[0].nmsrs = 0;
	guest_reads(0, ARCH_CAP, false, 0x79);
	compare(1);
	assert_true(vr.identical);
	assert_int_equal(vr.vcpu[0].msrs[0].status, VERIFY_MSR_NOT_WRITTEN);
	assert_string_equal(describe_msr(0, 0), "MSR(10AH): skyvm wrote none (KVM does not list "
						"it); RDMSR gave 0x79");
}

/* A report with one difference of each kind and every PV status. */
static void example_result(void)
{
	configure("Skylake-Server,-avx2", 2);
	guest_honours_table(2);
	/* feature MSRs: Skylake-Server's CPUID has no arch-capabilities: reported, not judged */
	guest_reads(0, ARCH_CAP, true, 0);
	guest_reads(1, CORE_CAP, false, 0x20);
	guest_sets(0, "avx2", true);
	guest_sets(1, "x2apic", false);
	seen(1, 0xd, 0)->eax = 0x3;
	reports[1].kvmclock.status = PROBE_ST_GP;
	reports[1].nmsr = 1;
	reports[1].msr[0] = (struct probe_msr_check){ 0x4b564d05, 12, true };
	compare(2);
}

static void test_json_document(void **state)
{
	json_t *doc;

	(void)state;
	example_result();
	doc = verify_result_json(&vr, "Skylake-Server,-avx2");
	assert_non_null(doc);
	assert_string_equal(json_string_value(field(doc, "verdict")), "different");
	assert_false(json_boolean_value(field(doc, "identical")));
	assert_int_equal(json_integer_value(field(doc, "differences")), 3);
	assert_int_equal(json_array_size(field(doc, "ignored")), verify_ignored_count);
	assert_string_equal(json_string_value(field(doc, "vcpus.0.differences.0.feature")), "avx2");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.differences.0.kind")), "forced");
	assert_string_equal(json_string_value(field(doc, "vcpus.0.differences.0.leaf")),
			    "0x00000007");
	assert_int_equal(json_array_size(field(doc, "vcpus.1.differences")), 2);
	assert_string_equal(json_string_value(field(doc, "vcpus.1.pv.kvmclock.status")), "failed");
	assert_string_equal(json_string_value(field(doc, "vcpus.1.pv.hidden_pv_msrs_fault.status")),
			    "ok");
	assert_int_equal(json_integer_value(field(doc, "vcpus.0.steal_time.delta_ns")), 40000);
	assert_int_equal(json_integer_value(field(doc, "msr_differences")), 0);
	assert_string_equal(json_string_value(field(doc, "vcpus.0.feature_msrs.0.status")),
			    "not-gated");
	assert_true(json_is_null(field(doc, "vcpus.0.feature_msrs.0.seen")));
	assert_string_equal(json_string_value(field(doc, "vcpus.1.feature_msrs.0.seen")),
			    "0x0000000000000020");
	json_decref(doc);
}

static int write_json_example(const char *path)
{
	json_t *doc;
	int rc;

	example_result();
	doc = verify_result_json(&vr, "Skylake-Server,-avx2");
	rc = doc ? json_dump_file(doc, path, JSON_INDENT(2)) : -1;
	json_decref(doc);
	verify_result_free(&vr);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_identical_has_no_difference, teardown),
		cmocka_unit_test_teardown(test_dynamic_bits_are_ignored, teardown),
		cmocka_unit_test(test_ignored_fields_are_exactly_the_dynamic_ones),
		cmocka_unit_test_teardown(test_non_dynamic_neighbours_are_not_ignored, teardown),
		cmocka_unit_test_teardown(test_forced_bit_is_named_with_its_direction, teardown),
		cmocka_unit_test_teardown(test_hidden_bit_is_named_with_its_direction, teardown),
		cmocka_unit_test_teardown(test_every_forced_bit_is_named_and_nothing_else,
					  teardown),
		cmocka_unit_test_teardown(test_nameless_bit_is_labelled, teardown),
		cmocka_unit_test_teardown(test_non_feature_register_is_reported_raw, teardown),
		cmocka_unit_test_teardown(
			test_table_entry_the_guest_never_read_is_listed_not_a_difference, teardown),
		cmocka_unit_test(test_expected_values_for_absent_leaves),
		cmocka_unit_test_teardown(test_swept_absent_leaf_is_compared_with_kvms_answer,
					  teardown),
		cmocka_unit_test_teardown(test_kvmclock_checks, teardown),
		cmocka_unit_test_teardown(test_kvmclock_stable_flag_follows_the_model, teardown),
		cmocka_unit_test_teardown(test_pv_statuses, teardown),
		cmocka_unit_test_teardown(test_wallclock, teardown),
		cmocka_unit_test_teardown(test_steal_time, teardown),
		cmocka_unit_test_teardown(test_enforcement_of_hidden_pv_features, teardown),
		cmocka_unit_test_teardown(test_incomplete_stream_or_guest_exception_is_not_ok,
					  teardown),
		cmocka_unit_test_teardown(test_bad_input_is_an_error, teardown),
		cmocka_unit_test_teardown(test_json_document, teardown),
		cmocka_unit_test_teardown(test_feature_msr_read_as_written, teardown),
		cmocka_unit_test_teardown(test_feature_msr_difference_named_bit_by_bit, teardown),
		cmocka_unit_test_teardown(test_feature_msr_high_bit, teardown),
		cmocka_unit_test_teardown(test_feature_msr_fault_and_refused_write, teardown),
		cmocka_unit_test_teardown(test_feature_msr_not_written, teardown),
	};

	if (argc == 3 && !strcmp(argv[1], "--json-example"))
		return write_json_example(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
