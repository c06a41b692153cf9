/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: custom CPU model files (cpu/custom.c) parsed from memory, the
 * modifiers then applied to a feature set and a CPUID table.
 */
#include "cpu/custom.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_custom_model m;
	static struct cpuid_table t;
	struct cpu_featureset fs, user;
	int rc = cpu_custom_parse(data, size, "fuzz.json", &m);

	fuzz_report(rc);
	FUZZ_CHECK(!fuzz_has_control(err_msg()));
	if (rc < 0)
		return 0;
	FUZZ_CHECK(m.name[0] && m.base[0] && !fuzz_has_control(m.name) &&
		   !fuzz_has_control(m.base));
	FUZZ_CHECK(m.nmods <= CPU_CUSTOM_MODS_MAX);
	FUZZ_CHECK(!fuzz_has_control(m.props.model_id) && !fuzz_has_control(m.props.vendor));
	memset(&fs, 0, sizeof(fs));
	memset(&user, 0, sizeof(user));
	cpu_custom_apply_features(&m, &fs, &user);
	memset(&t, 0, sizeof(t));
	if (cpu_custom_apply_table(&m, &t) == 0)
		FUZZ_CHECK(t.nent <= m.nmods);
	return 0;
}
