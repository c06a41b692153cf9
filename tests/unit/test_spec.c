/* SPDX-License-Identifier: MIT */
/*
 * Feature strings: QEMU's precedence (-f beats +f and f=on wherever it
 * appears; +f beats f=off; f=on|off in order, the last wins), the
 * properties, and the errors a user sees for unknown names and bad values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "cpu/spec.h"
#include "util/err.h"

static struct cpu_spec spec;

static bool final_has(const char *text, const char *feature, bool model_has)
{
	struct cpu_featureset fs = { 0 };
	const struct cpu_feature *f = cpu_feature_find(feature);

	assert_non_null(f);
	if (cpu_spec_parse(text, &spec) < 0)
		fail_msg("'%s' did not parse: %s", text, err_msg());
	featureset_set(&fs, f, model_has);
	cpu_spec_apply_features(&spec, &fs);
	return featureset_has(&fs, f);
}

static void test_precedence(void **state)
{
	(void)state;
	/* table: spec, model has the feature, expected result */
	static const struct {
		const char *text;
		bool model_has, want;
	} cases[] = {
		{ "m,+avx2", false, true },
		{ "m,-avx2", true, false },
		{ "m,+avx2,-avx2", false, false },
		{ "m,-avx2,+avx2", false, false },   /* -f wins whatever the order */
		{ "m,avx2=on,-avx2", false, false }, /* -f beats f=on */
		{ "m,-avx2,avx2=on", false, false },
		{ "m,avx2=off,+avx2", true, true },  /* +f beats f=off */
		{ "m,+avx2,avx2=off", true, true },
		{ "m,avx2=off,avx2=on", false, true }, /* properties: last wins */
		{ "m,avx2=on,avx2=off", true, false },
		{ "m,avx2", false, true },           /* bare name = on */
		{ "m,avx2=off", true, false },
		{ "m,avx2=no", true, false },
		{ "m,avx2=yes", false, true },
		{ "m", true, true },
		{ "m,sse4_1=off", true, true },      /* other feature: untouched */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = final_has(cases[i].text, "avx2", cases[i].model_has);

		if (got != cases[i].want)
			fail_msg("%s (model %s avx2): got %s, want %s", cases[i].text,
				 cases[i].model_has ? "has" : "lacks", got ? "on" : "off",
				 cases[i].want ? "on" : "off");
	}
}

static void test_ambiguous_warns(void **state)
{
	(void)state;
	assert_int_equal(cpu_spec_parse("m,+avx2,avx2=off", &spec), 0);
	assert_non_null(strstr(spec.warnings, "Ambiguous CPU model string. Don't mix both "
					      "\"+avx2\" and \"avx2=off\""));
	assert_non_null(strstr(spec.warnings, "Compatibility of ambiguous CPU model strings "
					      "won't be kept on future QEMU versions\n"));
	assert_int_equal(cpu_spec_parse("m,-avx2,avx2=on", &spec), 0);
	assert_non_null(strstr(spec.warnings, "\"-avx2\" and \"avx2=on\""));
	/* as in QEMU, only an f=... after +f/-f is reported */
	assert_int_equal(cpu_spec_parse("m,avx2=on,-avx2", &spec), 0);
	assert_string_equal(spec.warnings, "");
	assert_int_equal(cpu_spec_parse("m,+avx2,-sse4.2", &spec), 0);
	assert_string_equal(spec.warnings, "");
}

/* QEMU's tests/qtest/test-x86-cpuid-compat.c parsing-plus-minus case */
static void test_qemu_plus_minus_case(void **state)
{
	static const char *const qemu = "m,-fpu,+fpu,-mce,mce=on,+cx8,cx8=off,+sse4_1,sse4_2=on";

	(void)state;
	assert_false(final_has(qemu, "fpu", true));
	assert_false(final_has(qemu, "mce", true));
	assert_true(final_has(qemu, "cx8", false));
	assert_true(final_has(qemu, "sse4.1", false));
	assert_true(final_has(qemu, "sse4.2", false));
	assert_non_null(strstr(spec.warnings, "Don't mix both \"-mce\" and \"mce=on\""));
	assert_non_null(strstr(spec.warnings, "Don't mix both \"+cx8\" and \"cx8=off\""));
}

static void test_aliases_and_spellings(void **state)
{
	(void)state;
	/* sse3 = pni; '_' and '-' are the same; case is ignored */
	assert_true(final_has("m,+sse3", "pni", false));
	assert_true(final_has("m,+kvm_steal_time", "kvm-steal-time", false));
	assert_false(final_has("m,-SSE4_2", "sse4.2", true));
	assert_false(final_has("m,sse4-1=off", "sse4.1", true));
}

static void test_kvmclock_names_two_bits(void **state)
{
	struct cpu_featureset fs = { 0 };

	(void)state;
	assert_int_equal(cpu_spec_parse("m,+kvmclock", &spec), 0);
	cpu_spec_apply_features(&spec, &fs);
	/* CPUID.40000001H:EAX bits 0 and 3: the old and the new MSR pair */
	assert_int_equal(fs.w[FW_KVM_FEATURES], (1u << 0) | (1u << 3));
}

static void test_properties(void **state)
{
	struct cpu_def def = { 0 };

	(void)state;
	assert_int_equal(cpu_spec_parse("Skylake-Server,vendor=AuthenticAMD,family=0x19,model=1,"
					 "stepping=2,model-id=My CPU,,with comma,level=0x14,"
					 "xlevel=0x80000021,enforce,migratable=off", &spec), 0);
	assert_string_equal(spec.model, "Skylake-Server");
	assert_false(spec.model_is_file);
	cpu_spec_apply_def(&spec, &def);
	assert_string_equal(def.vendor, "AuthenticAMD");
	assert_int_equal(def.family, 0x19);
	assert_int_equal(def.model, 1);
	assert_int_equal(def.stepping, 2);
	assert_string_equal(def.model_id, "My CPU,with comma");
	assert_int_equal(def.level, 0x14);
	assert_int_equal(def.xlevel, 0x80000021);
	assert_true(spec.enforce);
	assert_int_equal(spec.migratable, 0);
	assert_true(spec.check);

	assert_int_equal(cpu_spec_parse("host", &spec), 0);
	assert_int_equal(spec.migratable, -1);
	assert_false(spec.enforce);

	assert_int_equal(cpu_spec_parse("file:models/skymdw.json,-avx2", &spec), 0);
	assert_true(spec.model_is_file);
	assert_string_equal(spec.model, "models/skymdw.json");
}

static void expect_error(const char *text, const char *needle)
{
	err_clear();
	if (cpu_spec_parse(text, &spec) == 0)
		fail_msg("'%s' parsed, expected an error containing \"%s\"", text, needle);
	if (!strstr(err_msg(), needle))
		fail_msg("'%s': error \"%s\" lacks \"%s\"", text, err_msg(), needle);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("Skylake-Server,+avx512fx", "unknown CPU feature 'avx512fx'");
	expect_error("Skylake-Server,+avx512fx", "did you mean: avx512f");
	expect_error("Skylake-Server,-sse4.3", "did you mean: sse4.1");
	expect_error("Skylake-Server,avx2=maybe", "option 'avx2=maybe': expected on or off");
	expect_error("Skylake-Server,family=abc", "option 'family=abc'");
	expect_error("Skylake-Server,family=271", "from 0 to 270");
	expect_error("Skylake-Server,model=256", "option 'model=256'");
	expect_error("Skylake-Server,stepping=16", "option 'stepping=16'");
	expect_error("Skylake-Server,level=-1", "option 'level=-1'");
	expect_error("Skylake-Server,xlevel=5", "option 'xlevel=5'");
	expect_error("Skylake-Server,vendor=Intel", "exactly 12 characters");
	expect_error("Skylake-Server,model-id=0123456789012345678901234567890123456789012345678",
		     "the brand string holds 48");
	expect_error("Skylake-Server,enforce=perhaps", "expected on or off");
	expect_error("Skylake-Server,", "empty option");
	expect_error(",+avx2", "no CPU model given");
	expect_error("", "no CPU model given");
	expect_error("file:", "needs a path");
	expect_error("Skylake-Server,frobnicate=1", "unknown CPU feature 'frobnicate'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_ambiguous_warns),
		cmocka_unit_test(test_qemu_plus_minus_case),
		cmocka_unit_test(test_aliases_and_spellings),
		cmocka_unit_test(test_kvmclock_names_two_bits),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
