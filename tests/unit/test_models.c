/* SPDX-License-Identifier: MIT */
/*
 * Named CPU models (cpu/models.c): names, versions and aliases resolve to
 * the QEMU 7.2 version they denote, versions inherit from their
 * predecessors, the KVM defaults apply, and unknown names get suggestions.
 * (tests/e2e/test_qemu_models.py compares every version with QEMU itself.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "cpu/models.h"
#include "util/err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct cpu_def resolve(const char *name)
{
	struct cpu_def d;

	if (cpu_model_resolve(name, &d) < 0)
		fail_msg("%s: %s", name, err_msg());
	return d;
}

static bool has(const struct cpu_def *d, const char *feature)
{
	const struct cpu_feature *f = cpu_feature_find(feature);

	if (!f)
		fail_msg("no feature %s", feature);
	return featureset_has(&d->features, f);
}

/* Which version each spelling denotes (QEMU 7.2's query-cpu-definitions alias-of). */
static const struct {
	const char *spelling;
	const char *canonical;
} names[] = {
	{ "qemu64", "qemu64-v1" },
	{ "kvm64", "kvm64-v1" },
	{ "Haswell", "Haswell-v1" },
	{ "Haswell-noTSX", "Haswell-v2" },
	{ "Haswell-IBRS", "Haswell-v3" },
	{ "Haswell-noTSX-IBRS", "Haswell-v4" },
	{ "Skylake-Client", "Skylake-Client-v1" },
	{ "Skylake-Client-noTSX-IBRS", "Skylake-Client-v3" },
	{ "Skylake-Server", "Skylake-Server-v1" },
	{ "Skylake-Server-IBRS", "Skylake-Server-v2" },
	{ "Skylake-Server-v4", "Skylake-Server-v4" },
	{ "skylake-server-v5", "Skylake-Server-v5" },
	{ "Cascadelake-Server", "Cascadelake-Server-v1" },
	{ "Cascadelake-Server-noTSX", "Cascadelake-Server-v3" },
	{ "Icelake-Server", "Icelake-Server-v1" },
	{ "Icelake-Server-noTSX", "Icelake-Server-v2" },
	{ "Icelake-Server-v6", "Icelake-Server-v6" },
	{ "EPYC", "EPYC-v1" },
	{ "EPYC-IBPB", "EPYC-v2" },
	{ "EPYC-v3", "EPYC-v3" },
	{ "EPYC-Rome", "EPYC-Rome-v1" },
	{ "EPYC-Rome-v2", "EPYC-Rome-v2" },
	{ "EPYC-Milan", "EPYC-Milan-v1" },
	{ "SapphireRapids", "SapphireRapids-v1" },
	{ "EPYC-Turin", "EPYC-Turin-v1" },
	{ "DiamondRapids", "DiamondRapids-v1" },
	{ "YongFeng", "YongFeng-v1" }, /* v1 stays the default after v2 fixed its model number */
	{ "EPYC-Genoa", "EPYC-Genoa-v1" },
	{ "Broadwell-noTSX-IBRS", "Broadwell-v4" },
	{ "Opteron_G5", "Opteron_G5-v1" },
	{ "486", "486-v1" },
	{ "Dhyana-v2", "Dhyana-v2" },
};

static void test_names_resolve_to_versions(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct cpu_def d = resolve(names[i].spelling);

		if (strcmp(d.name, names[i].canonical))
			fail_msg("%s resolved to %s, want %s", names[i].spelling, d.name,
				 names[i].canonical);
		assert_int_equal(d.kind, CPU_DEF_NAMED);
	}
}

/* Signatures and levels as QEMU 7.2 defines them. */
static const struct {
	const char *name;
	const char *vendor;
	uint32_t family, model, stepping, level, xlevel;
	const char *model_id;
} signatures[] = {
	{ "qemu64", "AuthenticAMD", 15, 107, 1, 0xd, 0x8000000a, "QEMU Virtual CPU version 2.5+" },
	{ "kvm64", "GenuineIntel", 15, 6, 1, 0xd, 0x80000008, "Common KVM processor" },
	{ "Haswell", "GenuineIntel", 6, 60, 4, 0xd, 0x80000008, "Intel Core Processor (Haswell)" },
	{ "Haswell-v2", "GenuineIntel", 6, 60, 1, 0xd, 0x80000008,
	  "Intel Core Processor (Haswell, no TSX)" },
	{ "Haswell-v3", "GenuineIntel", 6, 60, 4, 0xd, 0x80000008,
	  "Intel Core Processor (Haswell, IBRS)" },
	{ "Skylake-Server", "GenuineIntel", 6, 85, 4, 0xd, 0x80000008,
	  "Intel Xeon Processor (Skylake)" },
	{ "Cascadelake-Server", "GenuineIntel", 6, 85, 6, 0xd, 0x80000008,
	  "Intel Xeon Processor (Cascadelake)" },
	{ "Icelake-Server", "GenuineIntel", 6, 134, 0, 0xd, 0x80000008,
	  "Intel Xeon Processor (Icelake)" },
	{ "EPYC", "AuthenticAMD", 23, 1, 2, 0xd, 0x8000001e, "AMD EPYC Processor" },
	{ "EPYC-v2", "AuthenticAMD", 23, 1, 2, 0xd, 0x8000001e, "AMD EPYC Processor (with IBPB)" },
	{ "EPYC-Rome", "AuthenticAMD", 23, 49, 0, 0xd, 0x8000001e, "AMD EPYC-Rome Processor" },
	{ "EPYC-Milan", "AuthenticAMD", 25, 1, 1, 0xd, 0x8000001e, "AMD EPYC-Milan Processor" },
	{ "SapphireRapids", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008,
	  "Intel Xeon Processor (SapphireRapids)" },
	/* Versions after QEMU 7.2, with the release that introduced each. */
	{ "SapphireRapids-v2", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008, /* QEMU 8.1 */
	  "Intel Xeon Processor (SapphireRapids)" },
	{ "SapphireRapids-v3", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008, /* QEMU 9.2 */
	  "Intel Xeon Processor (SapphireRapids)" },
	{ "GraniteRapids-v1", "GenuineIntel", 6, 173, 0, 0x20, 0x80000008, /* QEMU 8.1 */
	  "Intel Xeon Processor (GraniteRapids)" },
	{ "GraniteRapids-v2", "GenuineIntel", 6, 173, 1, 0x20, 0x80000008, /* QEMU 9.2 */
	  "Intel Xeon Processor (GraniteRapids)" },
	{ "SierraForest-v1", "GenuineIntel", 6, 175, 0, 0x23, 0x80000008, /* QEMU 9.0 */
	  "Intel Xeon Processor (SierraForest)" },
	{ "SierraForest-v2", "GenuineIntel", 6, 175, 3, 0x23, 0x80000008, /* QEMU 9.2 */
	  "Intel Xeon Processor (SierraForest)" },
	{ "ClearwaterForest-v1", "GenuineIntel", 6, 221, 0, 0x23, 0x80000008, /* QEMU 10.1 */
	  "Intel Xeon Processor (ClearwaterForest)" },
	{ "EPYC-Milan-v2", "AuthenticAMD", 25, 1, 1, 0xd, 0x8000001e, /* QEMU 8.1 */
	  "AMD EPYC-Milan-v2 Processor" },
	{ "EPYC-Genoa-v1", "AuthenticAMD", 25, 17, 0, 0xd, 0x80000022, /* QEMU 8.1 */
	  "AMD EPYC-Genoa Processor" },
	{ "EPYC-v4", "AuthenticAMD", 23, 1, 2, 0xd, 0x8000001e, "AMD EPYC-v4 Processor" }, /* 8.1 */
	{ "YongFeng-v1", "CentaurHauls", 7, 11, 3, 0x1f, 0x80000008, /* QEMU 10.0 */
	  "Zhaoxin YongFeng Processor" },
	{ "EPYC-Rome-v3", "AuthenticAMD", 23, 49, 0, 0xd, 0x8000001e, /* QEMU 8.1 */
	  "AMD EPYC-Rome-v3 Processor" },
	/* QEMU 9.0 */
	{ "Icelake-Server-v7", "GenuineIntel", 6, 106, 0, 0xd, 0x80000008, /* model from v4 */
	  "Intel Xeon Processor (Icelake)" },
	/* QEMU 10.1 */
	{ "SapphireRapids-v4", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008,
	  "Intel Xeon Processor (SapphireRapids)" },
	{ "GraniteRapids-v3", "GenuineIntel", 6, 173, 1, 0x20, 0x80000008,
	  "Intel Xeon Processor (GraniteRapids)" },
	{ "SierraForest-v3", "GenuineIntel", 6, 175, 3, 0x23, 0x80000008,
	  "Intel Xeon Processor (SierraForest)" },
	{ "YongFeng-v2", "CentaurHauls", 7, 0x5b, 3, 0x1f, 0x80000008, "Zhaoxin YongFeng Processor" },
	{ "YongFeng-v3", "CentaurHauls", 7, 0x5b, 3, 0x1f, 0x80000008, "Zhaoxin YongFeng Processor" },
	{ "EPYC-v5", "AuthenticAMD", 23, 1, 2, 0xd, 0x8000001e, "AMD EPYC-v5 Processor" },
	{ "EPYC-Rome-v5", "AuthenticAMD", 23, 49, 0, 0xd, 0x8000001e, "AMD EPYC-Rome-v5 Processor" },
	{ "EPYC-Milan-v3", "AuthenticAMD", 25, 1, 1, 0xd, 0x8000001e,
	  "AMD EPYC-Milan-v3 Processor" },
	{ "EPYC-Genoa-v2", "AuthenticAMD", 25, 17, 0, 0xd, 0x80000022,
	  "AMD EPYC-Genoa-v2 Processor" },
	{ "EPYC-Turin", "AuthenticAMD", 26, 0, 0, 0xd, 0x80000022, "AMD EPYC-Turin Processor" },
	/* QEMU 11.0 */
	{ "SapphireRapids-v5", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008,
	  "Intel Xeon Processor (SapphireRapids)" },
	{ "SapphireRapids-v6", "GenuineIntel", 6, 143, 4, 0x20, 0x80000008,
	  "Intel Xeon Processor (SapphireRapids)" },
	{ "GraniteRapids-v4", "GenuineIntel", 6, 173, 1, 0x20, 0x80000008,
	  "Intel Xeon Processor (GraniteRapids)" },
	{ "GraniteRapids-v5", "GenuineIntel", 6, 173, 1, 0x20, 0x80000008,
	  "Intel Xeon Processor (GraniteRapids)" },
	{ "SierraForest-v4", "GenuineIntel", 6, 175, 3, 0x23, 0x80000008,
	  "Intel Xeon Processor (SierraForest)" },
	{ "SierraForest-v5", "GenuineIntel", 6, 175, 3, 0x23, 0x80000008,
	  "Intel Xeon Processor (SierraForest)" },
	{ "ClearwaterForest-v2", "GenuineIntel", 6, 221, 0, 0x23, 0x80000008,
	  "Intel Xeon Processor (ClearwaterForest)" },
	{ "ClearwaterForest-v3", "GenuineIntel", 6, 221, 0, 0x23, 0x80000008,
	  "Intel Xeon Processor (ClearwaterForest)" },
	{ "DiamondRapids-v1", "GenuineIntel", 19, 1, 0, 0x29, 0x80000008,
	  "Intel Xeon Processor (DiamondRapids)" },
	{ "EPYC-Rome-v4", "AuthenticAMD", 23, 49, 0, 0xd, 0x8000001e, /* QEMU 9.0 */
	  "AMD EPYC-Rome-v4 Processor (no XSAVES)" },
};

static void test_signatures(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(signatures); i++) {
		struct cpu_def d = resolve(signatures[i].name);

		assert_string_equal(d.vendor, signatures[i].vendor);
		assert_int_equal(d.family, signatures[i].family);
		assert_int_equal(d.model, signatures[i].model);
		assert_int_equal(d.stepping, signatures[i].stepping);
		assert_int_equal(d.level, signatures[i].level);
		assert_int_equal(d.xlevel, signatures[i].xlevel);
		assert_string_equal(d.model_id, signatures[i].model_id);
	}
}

/*
 * Versions inherit: each row is one feature in one version, so a change
 * must appear in the version that makes it and stay in the later ones.
 */
static const struct {
	const char *model;
	const char *feature;
	bool on;
} version_features[] = {
	{ "Haswell-v1", "hle", true },
	{ "Haswell-v1", "spec-ctrl", false },
	{ "Haswell-v2", "hle", false },
	{ "Haswell-v2", "rtm", false },
	{ "Haswell-v3", "hle", true },
	{ "Haswell-v3", "spec-ctrl", true },
	{ "Haswell-v4", "rtm", false },
	{ "Haswell-v4", "spec-ctrl", true }, /* from v3 */
	{ "Skylake-Client-v1", "spec-ctrl", false },
	{ "Skylake-Client-v2", "spec-ctrl", true },
	{ "Skylake-Client-v3", "spec-ctrl", true }, /* from v2 */
	{ "Skylake-Client-v3", "hle", false },
	{ "Skylake-Client-v3", "xsaves", false },
	{ "Skylake-Client-v4", "xsaves", true },
	{ "Skylake-Client-v4", "hle", false }, /* from v3 */
	{ "Skylake-Server-v1", "avx512f", true },
	{ "Skylake-Server-v1", "clflushopt", true },
	{ "Skylake-Server-v3", "rtm", false },
	{ "Skylake-Server-v4", "rtm", false },
	{ "Skylake-Server-v5", "xsaves", true },
	{ "Cascadelake-Server-v1", "avx512vnni", true },
	{ "Cascadelake-Server-v1", "arch-capabilities", false },
	{ "Cascadelake-Server-v2", "arch-capabilities", true },
	{ "Cascadelake-Server-v3", "hle", false },
	{ "Cascadelake-Server-v5", "arch-capabilities", true }, /* from v2 */
	{ "Cascadelake-Server-v5", "xsaves", true },
	{ "Icelake-Server-v1", "avx512vbmi2", true },
	{ "Icelake-Server-v2", "rtm", false },
	{ "Icelake-Server-v5", "xsaves", true },
	{ "EPYC-v1", "ibpb", false },
	{ "EPYC-v2", "ibpb", true },
	{ "EPYC-v3", "ibpb", true },
	{ "EPYC-v3", "xsaves", true },
	{ "EPYC-Rome-v1", "ibrs", false },
	{ "EPYC-Rome-v2", "ibrs", true },
	{ "EPYC-Milan-v1", "pku", true },
	{ "SapphireRapids", "amx-tile", true },
	{ "SapphireRapids", "avx512-fp16", true },
	{ "SapphireRapids", "xfd", true },
	{ "qemu64", "avx", false },
	{ "qemu64", "vme", false },
	{ "qemu32", "vme", false },
	{ "486", "vme", true },
	{ "Snowridge-v3", "core-capability", true },
	{ "Snowridge-v4", "core-capability", false },
	{ "Snowridge-v4", "xsaves", true }, /* from v3 */
	{ "kvm64", "vme", true },
	/* after QEMU 7.2 (release in the signatures table above) */
	{ "SapphireRapids-v2", "cldemote", false },
	{ "SapphireRapids-v3", "cldemote", true },
	{ "SapphireRapids-v3", "ss", true },
	{ "SapphireRapids-v3", "movdir64b", true },
	{ "GraniteRapids-v1", "amx-fp16", true },
	{ "GraniteRapids-v1", "prefetchiti", true },
	{ "GraniteRapids-v1", "mcdt-no", true },
	{ "GraniteRapids-v1", "avx10", false },
	{ "GraniteRapids-v2", "avx10", true },
	{ "GraniteRapids-v2", "avx10-512", true },
	{ "GraniteRapids-v2", "amx-fp16", true }, /* from v1 */
	{ "SierraForest-v1", "avx512f", false },
	{ "SierraForest-v1", "cmpccxadd", true },
	{ "SierraForest-v1", "avx-ne-convert", true },
	{ "SierraForest-v1", "lam", false },
	{ "SierraForest-v2", "lam", true },
	{ "SierraForest-v2", "bhi-ctrl", true },
	{ "ClearwaterForest-v1", "sha512", true },
	{ "ClearwaterForest-v1", "avx-vnni-int16", true },
	{ "ClearwaterForest-v1", "ddpd-u", true },
	{ "EPYC-Milan-v1", "vaes", false },
	{ "EPYC-Milan-v2", "vaes", true },
	{ "EPYC-Milan-v2", "auto-ibrs", false },
	{ "EPYC-Milan-v2", "null-sel-clr-base", true },
	{ "EPYC-Genoa-v1", "avx512f", true },
	{ "EPYC-Genoa-v1", "auto-ibrs", true },
	{ "EPYC-Genoa-v1", "vnmi", true },
	{ "EPYC-Genoa-v1", "la57", true },
	{ "EPYC-Genoa-v1", "topoext", true },
	{ "EPYC-v4", "xsaves", true }, /* from v3 */
	{ "YongFeng-v1", "xstore-en", true },
	{ "YongFeng-v1", "sha-ni", true },
	{ "YongFeng-v1", "avx512f", false },
	{ "EPYC-v4", "clzero", true },
	{ "EPYC-Rome-v3", "xsaves", true },
	{ "EPYC-Rome-v3", "ibrs", true }, /* from v2 */
	{ "EPYC-Rome-v4", "xsaves", false },
	{ "EPYC-Rome-v4", "amd-ssbd", true },
	/* QEMU 9.0: Icelake-Server-v7 brings TSX back */
	{ "Icelake-Server-v6", "hle", false },
	{ "Icelake-Server-v7", "hle", true },
	{ "Icelake-Server-v7", "rtm", true },
	{ "Icelake-Server-v7", "xsaves", true }, /* from v5 */
	/* QEMU 10.1: caches and leaf 0x1F only (test_pipeline.c), the features stay */
	{ "SapphireRapids-v4", "movdir64b", true },
	{ "SapphireRapids-v4", "cet-ss", false },
	{ "GraniteRapids-v3", "avx10", true },
	{ "SierraForest-v3", "lam", true },
	/* QEMU 11.0: CET in SapphireRapids-v5, GraniteRapids-v4, SierraForest-v4,
	 * ClearwaterForest-v2; the its-no versions after them change no CPUID */
	{ "SapphireRapids-v5", "cet-ss", true },
	{ "SapphireRapids-v5", "cet-ibt", true },
	{ "SapphireRapids-v6", "cet-ibt", true },
	{ "GraniteRapids-v3", "cet-ibt", false },
	{ "GraniteRapids-v4", "cet-ss", true },
	{ "GraniteRapids-v5", "cet-ss", true },
	{ "GraniteRapids-v5", "avx10-512", true },
	{ "SierraForest-v3", "cet-ss", false },
	{ "SierraForest-v4", "cet-ibt", true },
	{ "SierraForest-v5", "cet-ibt", true },
	{ "ClearwaterForest-v1", "cet-ss", false },
	{ "ClearwaterForest-v2", "cet-ss", true },
	{ "ClearwaterForest-v3", "cet-ibt", true },
	/* QEMU 10.1: the EPYC family's RAS and SVM bits */
	{ "EPYC-v4", "succor", false },
	{ "EPYC-v5", "succor", true },
	{ "EPYC-v5", "overflow-recov", true },
	{ "EPYC-v5", "vgif", true },
	{ "EPYC-v5", "perfmon-v2", false },
	{ "EPYC-Rome-v4", "lbrv", false },
	{ "EPYC-Rome-v5", "lbrv", true },
	{ "EPYC-Rome-v5", "xsaves", false }, /* from v4 */
	{ "EPYC-Milan-v2", "pause-filter", false },
	{ "EPYC-Milan-v3", "pause-filter", true },
	{ "EPYC-Milan-v3", "vaes", true }, /* from v2 */
	{ "EPYC-Genoa-v1", "perfmon-v2", false },
	{ "EPYC-Genoa-v1", "fs-gs-base-ns", false },
	{ "EPYC-Genoa-v2", "perfmon-v2", true },
	{ "EPYC-Genoa-v2", "fs-gs-base-ns", true },
	{ "EPYC-Genoa-v2", "v-vmsave-vmload", true },
	{ "EPYC-Turin-v1", "movdir64b", true },
	{ "EPYC-Turin-v1", "avx512-vp2intersect", true },
	{ "EPYC-Turin-v1", "prefetchi", true },
	{ "EPYC-Turin-v1", "srso-user-kernel-no", true },
	{ "EPYC-Turin-v1", "succor", true },
	{ "EPYC-Genoa-v2", "prefetchi", false },
	{ "YongFeng-v2", "xstore-en", true }, /* from v1 */
	/* QEMU 11.0: DiamondRapids-v1 */
	{ "DiamondRapids-v1", "apxf", true },
	{ "DiamondRapids-v1", "apx-nci-ndd-nf", true },
	{ "DiamondRapids-v1", "movrs", true },
	{ "DiamondRapids-v1", "amx-movrs", true },
	{ "DiamondRapids-v1", "amx-fp8", true },
	{ "DiamondRapids-v1", "avx10-vnni-int", true },
	{ "DiamondRapids-v1", "fred", true },
	{ "DiamondRapids-v1", "cet-ss", true },
	{ "DiamondRapids-v1", "amx-fp16", true },
	{ "DiamondRapids-v1", "waitpkg", false },
	{ "GraniteRapids-v5", "apxf", false },
	{ "GraniteRapids-v5", "movrs", false },
};

static void test_version_features(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(version_features); i++) {
		struct cpu_def d = resolve(version_features[i].model);

		if (has(&d, version_features[i].feature) != version_features[i].on)
			fail_msg("%s: %s should be %s", version_features[i].model,
				 version_features[i].feature, version_features[i].on ? "on" : "off");
	}
}

/*
 * QEMU's KVM defaults on every named model: qemu64 has svm and EPYC has
 * monitor in their tables, and neither reaches a KVM guest; x2apic is on
 * even where the table lacks it.
 */
static const struct {
	const char *model;
	const char *feature;
	bool on;
} kvm_defaults[] = {
	{ "qemu64", "kvmclock", true },
	{ "qemu64", "kvm-nopiodelay", true },
	{ "qemu64", "kvm-asyncpf", true },
	{ "qemu64", "kvm-steal-time", true },
	{ "qemu64", "kvm-pv-eoi", true },
	{ "qemu64", "kvmclock-stable-bit", true },
	{ "qemu64", "x2apic", true },
	{ "qemu64", "svm", false },
	{ "EPYC", "monitor", false },
	{ "EPYC", "x2apic", true },
	{ "Haswell", "kvm-msi-ext-dest-id", false },
	{ "Haswell", "kvm-pv-unhalt", false },
	{ "Haswell", "kvm-pv-ipi", false },
	{ "Haswell", "kvm-poll-control", false },
	{ "Haswell", "acpi", false },
};

static void test_kvm_defaults(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(kvm_defaults); i++) {
		struct cpu_def d = resolve(kvm_defaults[i].model);

		if (has(&d, kvm_defaults[i].feature) != kvm_defaults[i].on)
			fail_msg("%s: %s should be %s under KVM", kvm_defaults[i].model,
				 kvm_defaults[i].feature, kvm_defaults[i].on ? "on" : "off");
	}
}

/* QEMU's "kvmclock" is both the old and the new kvmclock MSR pair. */
static void test_kvmclock_sets_both_bits(void **state)
{
	struct cpu_def d = resolve("Skylake-Server");

	assert_int_equal(d.features.w[FW_KVM_FEATURES] & 0x9u, 0x9u);
}

static void test_special_models(void **state)
{
	static const struct {
		const char *name;
		enum cpu_def_kind kind;
	} rows[] = {
		{ "host", CPU_DEF_HOST }, { "max", CPU_DEF_MAX }, { "base", CPU_DEF_BASE },
		{ "HOST", CPU_DEF_HOST },
	};
	struct cpu_featureset none;

	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cpu_def d = resolve(rows[i].name);

		assert_int_equal(d.kind, rows[i].kind);
		assert_memory_equal(&d.features, &none, sizeof(none));
		assert_string_equal(d.vendor, "");
	}
}

static const struct {
	const char *name;
	const char *must_contain;     /* in the message */
	const char *must_not_contain; /* or NULL */
} unknown_models[] = {
	{ "Skylake-Servr", "did you mean Skylake-Server", NULL },
	{ "Haswel", "Haswell", NULL },
	{ "epyc-rome-v9", "EPYC-Rome", NULL }, /* v3 and v4 exist since QEMU 8.1 / 9.0 */
	{ "Skylake", "Skylake-Server", NULL },
	{ "Skylake-Server-v9", "Skylake-Server", NULL },
	{ "Skylake-Server-v0", "unknown CPU model 'Skylake-Server-v0'", NULL },
	{ "SkylakeServer", "Skylake-Server", NULL },
	{ "zzzzzzzz", "unknown CPU model 'zzzzzzzz'", "did you mean" },
	{ "", "empty", NULL },
};

static void test_unknown_models(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(unknown_models); i++) {
		struct cpu_def d;

		err_clear();
		if (cpu_model_resolve(unknown_models[i].name, &d) != -1)
			fail_msg("'%s' resolved", unknown_models[i].name);
		if (!strstr(err_msg(), unknown_models[i].must_contain))
			fail_msg("'%s': message \"%s\" lacks \"%s\"", unknown_models[i].name,
				 err_msg(), unknown_models[i].must_contain);
		if (unknown_models[i].must_not_contain &&
		    strstr(err_msg(), unknown_models[i].must_not_contain))
			fail_msg("'%s': message \"%s\"", unknown_models[i].name, err_msg());
	}
}

/*
 * The list: every entry resolves to itself, versions of a model run 1..N
 * without gaps, exactly one is the unversioned name's, and each alias
 * resolves to its version.
 */
static void test_list_is_consistent(void **state)
{
	static struct cpu_model_info m[256];
	size_t n = cpu_model_list(m, ARRAY_SIZE(m));
	size_t named = 0;

	assert_true(n >= 78);
	assert_true(n < ARRAY_SIZE(m));
	for (size_t i = 0; i < n; i++) {
		struct cpu_def d = resolve(m[i].name);
		size_t defaults = 0;
		int expect_version = 1;

		if (d.kind != CPU_DEF_NAMED) {
			assert_int_equal(m[i].version, 0);
			continue;
		}
		named++;
		assert_string_equal(d.name, m[i].name);
		assert_int_equal(strlen(d.vendor), 12);
		assert_true(d.level > 0);
		/* QEMU's 486 and Pentiums have no extended leaves and no brand string. */
		assert_true(d.xlevel == 0 || d.xlevel >= 0x80000004);
		assert_true(d.model_id[0] != '\0' || d.xlevel < 0x80000004);
		if (m[i].alias)
			assert_string_equal(resolve(m[i].alias).name, m[i].name);
		if (i > 0 && !strcmp(m[i - 1].base_name, m[i].base_name))
			continue;
		/* First version of a model: walk all of its versions. */
		for (size_t k = i; k < n && !strcmp(m[k].base_name, m[i].base_name); k++) {
			assert_int_equal(m[k].version, expect_version++);
			defaults += m[k].is_default;
			if (m[k].is_default)
				assert_string_equal(resolve(m[k].base_name).name, m[k].name);
		}
		assert_int_equal(defaults, 1);
	}
	assert_true(named >= 75);
	assert_int_equal(cpu_model_list(m, 2), 2);
}

static void *list_models(void *arg)
{
	static struct cpu_model_info m[256];

	(void)arg;
	return (void *)(uintptr_t)cpu_model_list(m, ARRAY_SIZE(m));
}

/*
 * The names a listing hands out are never rewritten by a later one (issue
 * #14: no function-static buffers that later calls overwrite), whichever
 * thread lists first: the API thread and the main thread both list.
 */
static void test_list_names_stay_put(void **state)
{
	static struct cpu_model_info a[256], b[256];
	pthread_t t[2];
	void *count[2];
	size_t n;

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, list_models, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], &count[i]), 0);
	n = cpu_model_list(a, ARRAY_SIZE(a));
	assert_int_equal((size_t)(uintptr_t)count[0], n);
	assert_int_equal((size_t)(uintptr_t)count[1], n);
	for (size_t i = 0; i < n; i++) {
		char copy[64], origin[16];

		snprintf(copy, sizeof(copy), "%s", a[i].name);
		snprintf(origin, sizeof(origin), "%s", a[i].origin);
		assert_int_equal(cpu_model_list(b, i + 1), i + 1);
		assert_ptr_equal(b[i].name, a[i].name);
		assert_string_equal(a[i].name, copy);
		assert_string_equal(a[i].origin, origin);
	}
	/* every version of every family has its own name: none was cut */
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			assert_string_not_equal(a[i].name, a[k].name);
}

/*
 * The QEMU release that introduced each version (`cpu list`'s ORIGIN; the
 * rule is in models_intel.c): v1 the model's release, a version QEMU named
 * before its "-vN" names (an alias, e.g. Haswell-noTSX) that name's release,
 * any other version the release that added it.  Pinned from QEMU's history
 * (the commit that added each definition, the first release containing it),
 * not read from skyvm's tables.
 */
static const struct {
	const char *name;
	const char *release;
} origins[] = {
	{ "qemu64-v1", "0.9.1" },         /* "added -cpu option for x86", 2007-11 */
	{ "pentium3-v1", "0.9.1" },       /* the same commit */
	{ "kvm64-v1", "0.12" },           /* "introduce kvm64 CPU", 2009-08 */
	{ "Conroe-v1", "0.13" },          /* "Add cpu model configuration support", 2010-02 */
	{ "Opteron_G3-v1", "0.13" },      /* the same commit */
	{ "Westmere-v1", "1.1" },         /* "add Westmere as a qemu cpu model", 2012-02 */
	{ "Haswell-v1", "1.3" },          /* "target-i386: Add Haswell CPU model", 2012-11 */
	{ "Haswell-v2", "2.3" },          /* Haswell-noTSX, 2015-03 */
	{ "IvyBridge-v1", "2.3" },        /* committed 2014-12, merged after 2.2.0 */
	{ "Skylake-Server-v2", "2.12" },  /* "Add new -IBRS versions of Intel CPU models", 2018-01 */
	{ "EPYC-v1", "2.11" },            /* "Add new EPYC CPU model", 2017-09 */
	{ "Snowridge-v1", "4.1" },        /* 2019-07, in 4.1's freeze */
	{ "Skylake-Client-v3", "4.2" },   /* the -noTSX versions, 2019-11 */
	{ "Cooperlake-v1", "5.0" },       /* "Add new CPU model Cooperlake", 2019-12 */
	{ "EPYC-Rome-v1", "5.0" },        /* "Add 2nd Generation AMD EPYC processors", 2020-03 */
	{ "EPYC-Milan-v1", "6.0" },       /* "Add the support for AMD EPYC 3rd generation", 2021-02 */
	{ "Icelake-Server-v5", "6.1" },   /* "Add CPU model versions supporting 'xsaves'", 2021-05 */
	{ "Dhyana-v2", "6.1" },           /* the same commit */
	{ "Snowridge-v4", "6.2" },        /* "Remove split lock detect in Snowridge", 2021-08 */
	{ "Icelake-Server-v6", "7.0" },   /* 5-level EPT */
	{ "SapphireRapids-v1", "8.0" },
};

/* QEMU's feature releases, in order ("0.9.1": the first with -cpu models). */
static const char *const qemu_releases[] = {
	"0.9.1", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15",
	"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7",
	"2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12",
	"3.0", "3.1", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2",
	"7.0", "7.1", "7.2", "8.0", "8.1", "8.2", "9.0", "9.1", "9.2", "10.0", "10.1", "10.2", "11.0",
};

/* The index of origin "QEMU x.y" in qemu_releases, or -1. */
static int release_index(const char *origin)
{
	if (strncmp(origin, "QEMU ", 5))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(qemu_releases); i++)
		if (!strcmp(origin + 5, qemu_releases[i]))
			return (int)i;
	return -1;
}

static void test_every_version_has_its_release(void **state)
{
	static struct cpu_model_info m[256];
	size_t n = cpu_model_list(m, ARRAY_SIZE(m));
	int v4_1 = release_index("QEMU 4.1");
	size_t pinned = 0;

	assert_true(v4_1 > 0);
	for (size_t i = 0; i < n; i++) {
		int r = release_index(m[i].origin);

		if (m[i].version == 0) {
			assert_string_equal(m[i].origin, "skyvm");
			continue;
		}
		/* a real QEMU release, never a guess ("<= 7.2") or a missing one ("?") */
		if (r < 0)
			fail_msg("%s: origin '%s' is no QEMU release", m[i].name, m[i].origin);
		/* a version is never older than the one before it */
		if (m[i].version > 1) {
			assert_string_equal(m[i - 1].base_name, m[i].base_name);
			if (r < release_index(m[i - 1].origin))
				fail_msg("%s (%s) older than %s (%s)", m[i].name, m[i].origin,
					 m[i - 1].name, m[i - 1].origin);
		}
		/* without a pre-4.1 alias, a later version is a "-vN" name: 4.1 or newer */
		if (m[i].version > 1 && !m[i].alias && r < v4_1)
			fail_msg("%s: %s, but QEMU's versioned names date from 4.1", m[i].name,
				 m[i].origin);
	}
	for (size_t k = 0; k < ARRAY_SIZE(origins); k++) {
		char want[32];

		snprintf(want, sizeof(want), "QEMU %s", origins[k].release);
		assert_true(release_index(want) >= 0);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(m[i].name, origins[k].name))
				continue;
			if (strcmp(m[i].origin, want))
				fail_msg("%s: %s, not %s", m[i].name, m[i].origin, want);
			pinned++;
		}
	}
	assert_int_equal(pinned, ARRAY_SIZE(origins));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_names_stay_put),
		cmocka_unit_test(test_names_resolve_to_versions),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_version_features),
		cmocka_unit_test(test_kvm_defaults),
		cmocka_unit_test(test_kvmclock_sets_both_bits),
		cmocka_unit_test(test_special_models),
		cmocka_unit_test(test_unknown_models),
		cmocka_unit_test(test_list_is_consistent),
		cmocka_unit_test(test_every_version_has_its_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
