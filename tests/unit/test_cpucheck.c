/* SPDX-License-Identifier: MIT */
/*
 * The feature-MSR part of the CPU check before a restore or migration
 * (snapshot/cpucheck.h), and how a snapshot records the feature MSRs the
 * guest saw (snapshot_parse(): 'vcpuN.feature_msrs', or in an older
 * snapshot the gated ones among 'vcpuN.msrs').
 *
 * The guest is QEMU's Cascadelake-Server-v2 configured on the recorded
 * Cascade Lake host (tests/data/hosts/intel-cascadelake.json): its CPUID has
 * arch-capabilities and its ARCH_CAPABILITIES holds rdctl-no, ibrs-all,
 * skip-l1dfl-vmentry and mds-no.  The hosts are that dump with feature MSR
 * values added; every value is built from the feature table's names.
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
#include "cpu/msrs.h"
#include "snapshot/cpucheck.h"
#include "snapshot/snapshot.h"
#include "util/err.h"

#define CASCADELAKE "tests/data/hosts/intel-cascadelake.json"
#define SKYLAKE "tests/data/hosts/intel-skylake-sp.json"
#define ARCH_CAP 0x10au
#define CORE_CAP 0xcfu
#define MISC_ENABLE 0x1a0u /* an MSR the check does not model */

static struct cpuid_table dump, host, guest, two[2];
static struct cpu_result result;
static struct snap_cpu_verdict v;

/* The MSR value with the named feature bits set (NULL-terminated). */
static uint64_t msr_bits(const char *const *names)
{
	uint64_t value = 0;

	for (; *names; names++) {
		const struct cpu_feature *f = cpu_feature_find(*names);

		assert_non_null(f);
		assert_true(feature_word_is_msr(f->word));
		value |= 1ull << (f->bit + feature_words[f->word].msr_shift);
	}
	return value;
}

static const char *const cascadelake_v2[] = { "rdctl-no", "ibrs-all", "skip-l1dfl-vmentry",
					      "mds-no", NULL };
static const char *const without_mds_no[] = { "rdctl-no", "ibrs-all", "skip-l1dfl-vmentry",
					      NULL };

/* A vCPU of `model` on the recorded host, as the vCPU records its feature MSRs. */
static void configure(const char *dumpfile, const char *model, struct cpuid_table *out)
{
	struct cpuid_dump_meta meta;
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 2 };

	assert_int_equal(cpuid_dump_load(dumpfile, &dump, &meta), 0);
	cpu_host_facts_default(&facts);
	assert_int_equal(cpu_configure_with(model, &dump, &facts, &topo, &result, NULL), 0);
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, out), 0);
	out->msrs_known = true; /* vmm/vcpu.c reads back what the vCPU holds */
}

/* The recorded host, with KVM reporting `value` for ARCH_CAPABILITIES. */
static void host_with(uint64_t value)
{
	struct cpuid_dump_meta meta;

	assert_int_equal(cpuid_dump_load(CASCADELAKE, &host, &meta), 0);
	assert_false(host.msrs_known); /* the dump records none: the test adds them */
	host.msrs_known = true;
	assert_int_equal(cpu_msr_put(&host, ARCH_CAP, value), 0);
}

static void check(const struct cpuid_table *tables, unsigned n)
{
	struct cpu_host_facts facts;

	cpu_host_facts_default(&facts);
	snapshot_cpu_check(tables, n, &host, &facts, &v);
}

static unsigned lines(const char *text)
{
	unsigned n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* The guest's ARCH_CAPABILITIES is the model's: that is what the check holds. */
static void test_guest_has_the_models_value(void **state)
{
	uint64_t value;

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	assert_true(cpu_msr_gated(&guest, ARCH_CAP));
	assert_false(cpu_msr_gated(&guest, CORE_CAP));
	assert_false(cpu_msr_gated(&guest, MISC_ENABLE));
	assert_true(cpu_msr_get(&guest, ARCH_CAP, &value));
	assert_int_equal(value, msr_bits(cascadelake_v2));
}

/* A host whose KVM has every bit: yes, MSRs checked. */
static void test_host_with_every_bit_takes_it(void **state)
{
	json_t *j;

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	host_with(msr_bits(cascadelake_v2) | msr_bits((const char *const[]){ "taa-no", NULL }));
	check(&guest, 1);
	assert_int_equal(v.nproblems, 0);
	assert_string_equal(v.text, "");
	j = snapshot_cpu_verdict_json(&v);
	assert_true(json_is_true(json_object_get(j, "compatible")));
	assert_true(json_is_true(json_object_get(j, "feature_msrs_checked")));
	json_decref(j);
}

/* A saved mds-no on a host without it: refused, named in QEMU's words, once. */
static void test_saved_mds_no_refused(void **state)
{
	json_t *j, *m;

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	two[0] = guest;
	two[1] = guest;
	host_with(msr_bits(without_mds_no));
	check(two, 2);
	assert_int_equal(v.nmissing, 1);
	assert_int_equal(v.nproblems, 1);
	assert_string_equal(v.text, "host doesn't support requested feature: MSR(10AH).mds-no "
				    "[bit 5]\n");
	j = snapshot_cpu_verdict_json(&v);
	assert_false(json_is_true(json_object_get(j, "compatible")));
	assert_true(json_is_true(json_object_get(j, "feature_msrs_checked")));
	assert_int_equal(json_array_size(json_object_get(j, "missing")), 1);
	m = json_array_get(json_object_get(j, "missing"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "feature")), "mds-no");
	assert_string_equal(json_string_value(json_object_get(m, "register")), "MSR(10AH)");
	assert_int_equal(json_integer_value(json_object_get(m, "bit")), 5);
	json_decref(j);
}

/* An MSR this host's KVM does not list supports no bit: each saved bit named. */
static void test_unlisted_msr_names_every_bit(void **state)
{
	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	host_with(0);
	host.nmsrs = 0; /* listed nothing */
	check(&guest, 1);
	assert_int_equal(v.nmissing, 4);
	assert_int_equal(lines(v.text), v.nproblems);
	for (const char *const *n = cascadelake_v2; *n; n++) {
		char want[96];

		snprintf(want, sizeof(want), "MSR(10AH).%s [bit ", *n);
		assert_non_null(strstr(v.text, want));
	}
}

/* A bit of the MSR's high word counts from 32, in the text and in --json. */
static void test_high_word_bit(void **state)
{
	uint64_t its = msr_bits((const char *const[]){ "its-no", NULL });
	json_t *j, *m;

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	assert_int_equal(cpu_msr_put(&guest, ARCH_CAP, msr_bits(cascadelake_v2) | its), 0);
	host_with(msr_bits(cascadelake_v2));
	check(&guest, 1);
	assert_int_equal(v.nmissing, 1);
	assert_string_equal(v.text, "host doesn't support requested feature: MSR(10AH).its-no "
				    "[bit 62]\n");
	j = snapshot_cpu_verdict_json(&v);
	m = json_array_get(json_object_get(j, "missing"), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "bit")), 62);
	json_decref(j);
}

/* A host dump without feature_msrs cannot say: a problem, never a silent yes. */
static void test_dump_without_msrs_cannot_check(void **state)
{
	struct cpuid_dump_meta meta;
	json_t *j;

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	assert_int_equal(cpuid_dump_load(CASCADELAKE, &host, &meta), 0);
	check(&guest, 1);
	assert_int_equal(v.nmissing, 0);
	assert_int_equal(v.nproblems, 1);
	assert_int_equal(v.msrs_unchecked, 1);
	assert_non_null(strstr(v.text, "cannot check feature MSR MSR(10AH) = 0x2b: the host's "
				       "record has no feature MSRs"));
	j = snapshot_cpu_verdict_json(&v);
	assert_false(json_is_true(json_object_get(j, "compatible")));
	assert_false(json_is_true(json_object_get(j, "feature_msrs_checked")));
	json_decref(j);
	/* ... while a value of 0 has no bit to miss */
	assert_int_equal(cpu_msr_put(&guest, ARCH_CAP, 0), 0);
	check(&guest, 1);
	assert_int_equal(v.nproblems, 0);
}

/* A guest whose CPUID hides the MSR never read it: nothing to check. */
static void test_ungated_msr_not_checked(void **state)
{
	struct cpuid_dump_meta meta;

	configure(SKYLAKE, "Skylake-Server", &guest);
	assert_false(cpu_msr_gated(&guest, ARCH_CAP));
	/* KVM's own value, which the guest cannot read (#GP): not the check's business */
	assert_int_equal(cpu_msr_put(&guest, ARCH_CAP, msr_bits(cascadelake_v2)), 0);
	assert_int_equal(cpuid_dump_load(SKYLAKE, &host, &meta), 0);
	check(&guest, 1);
	assert_int_equal(v.nproblems, 0);
}

/* A snapshot that does not record the value the guest read: a problem too. */
static void test_unrecorded_guest_value(void **state)
{
	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	guest.msrs_known = false;
	host_with(msr_bits(cascadelake_v2));
	check(&guest, 1);
	assert_int_equal(v.nproblems, 1);
	assert_string_equal(v.text, "cannot check feature MSR MSR(10AH): the snapshot does not "
				    "record the value the guest read\n");
}

/* ---- the state file */

static struct snapshot snap;

static void add_entries(struct snap_file *f, const char *name, const uint32_t *idx,
			const uint64_t *data, size_t n)
{
	struct kvm_msr_entry e[8];

	memset(e, 0, sizeof(e));
	for (size_t i = 0; i < n; i++) {
		e[i].index = idx[i];
		e[i].data = data[i];
	}
	assert_int_equal(snap_add(f, name, e, n * sizeof(e[0])), 0);
}

/* A one-vCPU state file of `guest`'s CPUID, plus the caller's sections. */
static void start(struct snap_file *f)
{
	static const char meta[] = "{\"cpus\": 1, \"cpu_model\": \"x\"}";

	memset(&snap, 0, sizeof(snap));
	snap_init(f);
	assert_int_equal(snap_add(f, "meta", meta, strlen(meta)), 0);
	assert_int_equal(snap_add(f, "vcpu0.cpuid", guest.ent,
				  guest.nent * sizeof(guest.ent[0])), 0);
}

static int parse(struct snap_file *f)
{
	int r;

	snap.f = *f;
	r = snapshot_parse(&snap, "state");
	return r;
}

static void test_state_file_feature_msrs(void **state)
{
	struct snap_file f;
	uint64_t value, want = msr_bits(cascadelake_v2);

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	/* the section */
	start(&f);
	add_entries(&f, "vcpu0.feature_msrs", (const uint32_t[]){ ARCH_CAP }, &want, 1);
	assert_int_equal(parse(&f), 0);
	assert_true(snap.cpuid[0].msrs_known);
	assert_true(cpu_msr_get(&snap.cpuid[0], ARCH_CAP, &value));
	assert_int_equal(value, want);
	snapshot_free(&snap);

	/* an older snapshot: the gated ones among the vCPU's saved MSRs */
	start(&f);
	add_entries(&f, "vcpu0.msrs", (const uint32_t[]){ MISC_ENABLE, ARCH_CAP, CORE_CAP },
		    (const uint64_t[]){ 1, want, 7 }, 3);
	assert_int_equal(parse(&f), 0);
	assert_true(snap.cpuid[0].msrs_known);
	assert_int_equal(snap.cpuid[0].nmsrs, 1); /* not CORE_CAP: its CPUID bit is off */
	assert_true(cpu_msr_get(&snap.cpuid[0], ARCH_CAP, &value));
	assert_int_equal(value, want);
	snapshot_free(&snap);

	/* neither (a CPU frame from an older skyvm): not recorded */
	start(&f);
	assert_int_equal(parse(&f), 0);
	assert_false(snap.cpuid[0].msrs_known);
	snapshot_free(&snap);

	/* malformed: a partial record, an MSR it does not model, one twice */
	start(&f);
	assert_int_equal(snap_add(&f, "vcpu0.feature_msrs", "abc", 3), 0);
	assert_int_equal(parse(&f), -1);
	assert_non_null(strstr(err_msg(), "section 'vcpu0.feature_msrs' is malformed"));
	snapshot_free(&snap);
	start(&f);
	add_entries(&f, "vcpu0.feature_msrs", (const uint32_t[]){ MISC_ENABLE },
		    (const uint64_t[]){ 1 }, 1);
	assert_int_equal(parse(&f), -1);
	assert_non_null(strstr(err_msg(), "MSR 0x1a0 is not a feature MSR this skyvm models"));
	snapshot_free(&snap);
	start(&f);
	add_entries(&f, "vcpu0.feature_msrs", (const uint32_t[]){ ARCH_CAP, ARCH_CAP },
		    (const uint64_t[]){ 1, 2 }, 2);
	assert_int_equal(parse(&f), -1);
	assert_non_null(strstr(err_msg(), "MSR 0x10a twice"));
	snapshot_free(&snap);
}

/* The whole path: a saved mds-no, loaded from the state file, refused. */
static void test_state_file_to_verdict(void **state)
{
	struct snap_file f;
	uint64_t want = msr_bits(cascadelake_v2);

	configure(CASCADELAKE, "Cascadelake-Server-v2", &guest);
	start(&f);
	add_entries(&f, "vcpu0.feature_msrs", (const uint32_t[]){ ARCH_CAP }, &want, 1);
	assert_int_equal(parse(&f), 0);
	host_with(msr_bits(without_mds_no));
	check(snap.cpuid, snap.ncpus);
	assert_string_equal(v.text, "host doesn't support requested feature: MSR(10AH).mds-no "
				    "[bit 5]\n");
	snapshot_free(&snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_has_the_models_value),
		cmocka_unit_test(test_host_with_every_bit_takes_it),
		cmocka_unit_test(test_saved_mds_no_refused),
		cmocka_unit_test(test_unlisted_msr_names_every_bit),
		cmocka_unit_test(test_high_word_bit),
		cmocka_unit_test(test_dump_without_msrs_cannot_check),
		cmocka_unit_test(test_ungated_msr_not_checked),
		cmocka_unit_test(test_unrecorded_guest_value),
		cmocka_unit_test(test_state_file_feature_msrs),
		cmocka_unit_test(test_state_file_to_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
