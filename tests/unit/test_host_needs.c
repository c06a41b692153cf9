/* SPDX-License-Identifier: MIT */
/*
 * host-check's rules (src/verify/host_needs.h) without a VM: how a hostcheck
 * VM's end is classified, when an instruction needs action, and what a guest
 * needs given the measurements of a hardware host and of the restricted host
 * ../shared/docs/HOST-KVM.md describes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "exitcodes.h"
#include "guest/hostcheck/protocol.h"
#include "verify/host_needs.h"

static const struct insn_check *check(const char *name)
{
	for (size_t i = 0; i < host_insn_count; i++)
		if (!strcmp(host_insn_checks[i].name, name))
			return &host_insn_checks[i];
	fail_msg("no check for %s", name);
	return &host_insn_checks[0];
}

static size_t index_of(const char *name)
{
	return (size_t)(check(name) - host_insn_checks);
}

static void test_every_guest_instruction_is_checked_once(void **state)
{
	static const char *const guest[] = { HOSTCHECK_INSNS };

	(void)state;
	assert_int_equal(host_insn_count, HOST_INSN_COUNT);
	assert_int_equal(sizeof(guest) / sizeof(guest[0]), host_insn_count);
	for (size_t i = 0; i < host_insn_count; i++) {
		assert_string_equal(host_insn_checks[i].name, guest[i]);
		/* every gating feature is one skyvm knows */
		if (host_insn_checks[i].feature)
			assert_non_null(cpu_feature_find(host_insn_checks[i].feature));
	}
}

static void test_classify(void **state)
{
	const struct insn_check *popcnt = check("popcnt"), *ud1 = check("ud1");
	char text[32];

	(void)state;
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_OK, false), INSN_OK);
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_OK, true), INSN_COMPLETED_BY_SKYVM);
	assert_int_equal(host_insn_classify(popcnt, EXIT_GUEST_INTERNAL, false),
			 INSN_KVM_INTERNAL_ERROR);
	assert_int_equal(host_insn_classify(popcnt, EXIT_TIMEOUT, false), INSN_HANG);
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_NOT_OFFERED, false),
			 INSN_NOT_OFFERED);
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_EXCEPTION + 6, false), INSN_UD);
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_EXCEPTION + 13, false),
			 INSN_EXCEPTION);
	assert_int_equal(host_insn_classify(popcnt, EXIT_GUEST_SHUTDOWN, false), INSN_ERROR);
	assert_int_equal(host_insn_classify(popcnt, HOSTCHECK_UNKNOWN, false), INSN_ERROR);
	assert_int_equal(host_insn_classify(check("xsave"), HOSTCHECK_CANNOT_ENABLE, false),
			 INSN_CANNOT_ENABLE);
	/* ud1 raises #UD by definition */
	assert_int_equal(host_insn_classify(ud1, HOSTCHECK_EXCEPTION + 6, false), INSN_OK);
	assert_int_equal(host_insn_classify(ud1, EXIT_GUEST_INTERNAL, false),
			 INSN_KVM_INTERNAL_ERROR);

	host_insn_status_text(INSN_EXCEPTION, HOSTCHECK_EXCEPTION + 13, text, sizeof(text));
	assert_string_equal(text, "#GP");
	host_insn_status_text(INSN_COMPLETED_BY_SKYVM, HOSTCHECK_OK, text, sizeof(text));
	assert_string_equal(text, "completed-by-skyvm");
	host_insn_status_text(INSN_UD, HOSTCHECK_EXCEPTION + 6, text, sizeof(text));
	assert_string_equal(text, "#UD");
}

static void test_needs_action(void **state)
{
	(void)state;
	assert_false(host_insn_needs_action(INSN_OK, true));
	assert_false(host_insn_needs_action(INSN_NOT_OFFERED, false));
	assert_true(host_insn_needs_action(INSN_COMPLETED_BY_SKYVM, true));
	assert_true(host_insn_needs_action(INSN_KVM_INTERNAL_ERROR, true));
	assert_true(host_insn_needs_action(INSN_HANG, true));
	assert_true(host_insn_needs_action(INSN_CANNOT_ENABLE, true));
	/* #UD is right when CPUID does not offer the instruction, wrong when it does */
	assert_false(host_insn_needs_action(INSN_UD, false));
	assert_true(host_insn_needs_action(INSN_UD, true));
}

static enum insn_status statuses[HOST_INSN_COUNT];
static bool needs[HOST_INSN_COUNT];

static void measured(const char *name, enum insn_status s)
{
	statuses[index_of(name)] = s;
	needs[index_of(name)] = host_insn_needs_action(s, true);
}

static void all_ok(void)
{
	for (size_t i = 0; i < host_insn_count; i++) {
		statuses[i] = INSN_OK;
		needs[i] = false;
	}
}

/* HOST-KVM.md: what the restricted host's emulator does at CPL0. */
static void restricted_host(void)
{
	static const char *const internal[] = { "cmpxchg16b", "xsave", "xrstor", "xgetbv",
						"popcnt", "ud1", "fldz", "ldmxcsr",
						"pclmulqdq", "aesenc" };
	static const char *const completed[] = { "int3", "fwait", "stac", "clac", "rdtscp" };
	static const char *const ud[] = { "movbe", "crc32", "rdpid" };

	all_ok();
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		measured(internal[i], INSN_KVM_INTERNAL_ERROR);
	for (size_t i = 0; i < sizeof(completed) / sizeof(completed[0]); i++)
		measured(completed[i], INSN_COMPLETED_BY_SKYVM);
	for (size_t i = 0; i < sizeof(ud) / sizeof(ud[0]); i++)
		measured(ud[i], INSN_UD);
	measured("vmcall", INSN_HANG);
}

static bool in_list(const char *list, char sep, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-1] == sep) && (p[n] == '\0' || p[n] == sep))
			return true;
	return false;
}

static const char *clearcpuid(const struct host_needs *n)
{
	const char *p = strstr(n->kernel_cmdline, "clearcpuid=");

	return p ? p + strlen("clearcpuid=") : "";
}

static void test_hardware_host_needs_nothing(void **state)
{
	struct host_needs n;

	(void)state;
	all_ok();
	host_needs_derive(statuses, needs, NULL, 0, &n);
	assert_string_equal(n.kernel_cmdline, "");
	assert_string_equal(n.model_options, "");
	assert_string_equal(n.unfixable, "");
}

static void test_restricted_host(void **state)
{
	/* HOST-KVM.md: the host forces popcnt, all of leaf 7 (smap, rdpid), aes, ... */
	static const char *const forced_names[] = { "popcnt", "smap", "rdpid", "aes", "pclmulqdq",
						    "movbe", "sse4.2", "xsave" };
	const struct cpu_feature *forced[8];
	struct host_needs n;

	(void)state;
	for (size_t i = 0; i < 8; i++)
		assert_non_null(forced[i] = cpu_feature_find(forced_names[i]));
	restricted_host();
	host_needs_derive(statuses, needs, forced, 8, &n);
	/* the recipe HOST-KVM.md found to boot Linux there is implied */
	assert_non_null(strstr(n.kernel_cmdline, "noxsave"));
	assert_true(in_list(clearcpuid(&n), ',', "smap"));
	assert_true(in_list(clearcpuid(&n), ',', "popcnt"));
	assert_true(in_list(clearcpuid(&n), ',', "rdtscp"));
	assert_true(in_list(n.model_options, ',', "-cx16"));
	/* smap twice (stac, clac) is listed once */
	assert_null(strstr(strstr(clearcpuid(&n), "smap") + 1, "smap"));
	/* forced bits cannot be hidden by the model: only by the kernel */
	assert_false(in_list(n.model_options, ',', "-popcnt"));
	assert_false(in_list(n.model_options, ',', "-smap"));
	/* rdtscp is in 0x80000001, which the host honours: hidden at the source too */
	assert_true(in_list(n.model_options, ',', "-rdtscp"));
	/* the xsave family is noxsave, not a clearcpuid name */
	assert_false(in_list(clearcpuid(&n), ',', "xsave"));
	/* vmcall hangs: every PV feature that issues hypercalls goes */
	assert_true(in_list(n.model_options, ',', "-kvm-pv-unhalt"));
	assert_true(in_list(n.model_options, ',', "-kvm-pv-ipi"));
	/* ud1's failure is an emulator failure with no option to avoid it; int3 skyvm completes */
	assert_true(in_list(n.unfixable, ',', "ud1"));
	assert_true(in_list(n.unfixable, ',', "fldz"));
	assert_true(in_list(n.unfixable, ',', "ldmxcsr"));
	assert_false(in_list(n.unfixable, ',', "int3"));
	assert_false(in_list(n.unfixable, ',', "vmcall"));
}

static void test_only_the_xsave_family_failing(void **state)
{
	struct host_needs n;

	(void)state;
	all_ok();
	measured("xgetbv", INSN_KVM_INTERNAL_ERROR);
	measured("xsave", INSN_CANNOT_ENABLE);
	host_needs_derive(statuses, needs, NULL, 0, &n);
	assert_string_equal(n.kernel_cmdline, "noxsave");
	assert_string_equal(n.model_options, "-xsave");
	assert_string_equal(n.unfixable, "");
}

static void test_list_add(void **state)
{
	char list[64] = "";

	(void)state;
	host_list_add(list, sizeof(list), ",", "sse4_2");
	host_list_add(list, sizeof(list), ",", "sse4");
	host_list_add(list, sizeof(list), ",", "sse4_2");
	host_list_add(list, sizeof(list), ",", "sse4");
	assert_string_equal(list, "sse4_2,sse4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_guest_instruction_is_checked_once),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_needs_action),
		cmocka_unit_test(test_hardware_host_needs_nothing),
		cmocka_unit_test(test_restricted_host),
		cmocka_unit_test(test_only_the_xsave_family_failing),
		cmocka_unit_test(test_list_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
