/* SPDX-License-Identifier: MIT */
/*
 * Synthesised hosts for the fleet tests: a supported-CPUID table with a
 * vendor, max basic/extended leaves, the KVM signature and the named
 * features, as KVM_GET_SUPPORTED_CPUID would return it.  Include after
 * <cmocka.h>.
 */
#ifndef SKYVM_TEST_FLEET_HOSTS_H
#define SKYVM_TEST_FLEET_HOSTS_H

#include <stdint.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "cpu/dump.h"

static inline const struct cpu_feature *feat(const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return f;
}

/* fs = exactly the named features (a NULL-terminated list). */
static inline void set_features(struct cpu_featureset *fs, const char *const *names)
{
	memset(fs, 0, sizeof(*fs));
	for (size_t i = 0; names[i]; i++)
		featureset_set(fs, feat(names[i]), true);
}

static inline void host_table(struct cpuid_table *t, const char *vendor, uint32_t level,
			      uint32_t xlevel, const char *const *features)
{
	struct kvm_cpuid_entry2 *e;
	struct cpu_featureset fs;

	memset(t, 0, sizeof(*t));
	e = cpuid_get_or_add(t, 0, 0, false);
	e->eax = level;
	memcpy(&e->ebx, vendor, 4);
	memcpy(&e->edx, vendor + 4, 4);
	memcpy(&e->ecx, vendor + 8, 4);
	cpuid_get_or_add(t, 0x80000000u, 0, false)->eax = xlevel;
	e = cpuid_get_or_add(t, KVM_CPUID_SIGNATURE, 0, false);
	e->eax = KVM_CPUID_FEATURES;
	memcpy(&e->ebx, "KVMKVMKVM\0\0\0", 12);
	set_features(&fs, features);
	assert_int_equal(featureset_to_cpuid(&fs, t), 0);
}

#endif
