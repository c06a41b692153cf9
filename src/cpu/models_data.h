/* SPDX-License-Identifier: MIT */
/*
 * The shape of the named-model data (models_intel.c, models_amd.c), read
 * only by models.c.  It mirrors QEMU's X86CPUDefinition: a model family is
 * its version 1 (vendor, signature, levels, brand, feature names); each
 * later version is its predecessor plus property changes, written as
 * QEMU writes them ({ "hle", "off" }, { "model-id", "..." }), so a version
 * can be checked line by line against QEMU's table.
 */
#ifndef SKYVM_CPU_MODELS_DATA_H
#define SKYVM_CPU_MODELS_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cache.h"

/*
 * One property change: a feature name with "on"/"off", or one of
 * "vendor", "family", "model", "stepping", "level", "xlevel", "model-id",
 * "avx10-version" (CPUID.24H:EBX[7:0], QEMU's property of the same name),
 * "x-force-cpuid-0x1f" "on" (leaf 0x1F written with any topology, QEMU 10.1).
 */
struct model_prop {
	const char *name;
	const char *value;
};

struct model_version {
	int version;
	const char *alias;  /* e.g. "Skylake-Server-IBRS", or NULL */
	const char *note;   /* QEMU's note, e.g. "ARCH_CAPABILITIES", or NULL */
	const char *qemu;   /* the QEMU release that introduced it ("8.1"; the rule: models_intel.c);
			     * never NULL: tests/unit/test_models.c fails on a version without one */
	const struct model_prop *props; /* changes from the previous version; NULL-name ended */
	const struct cpu_cache_info *cache; /* new cache description from here on, or NULL */
};

struct model_family {
	const char *name;   /* "Skylake-Server" */
	const char *vendor;
	uint32_t family, model, stepping;
	uint32_t level, xlevel;
	const char *model_id;
	const char *const *features; /* version 1's features, NULL-terminated */
	const struct model_version *versions; /* 1, 2, ... in order */
	size_t nversions;
	int default_version; /* what the unversioned name resolves to */
	const struct cpu_cache_info *cache; /* QEMU's cache_info; NULL = QEMU's legacy caches */
};

/* Generic and Intel models (models_intel.c). */
extern const struct model_family model_qemu64, model_kvm64, model_qemu32, model_kvm32, model_i486,
	model_pentium, model_pentium2, model_pentium3, model_coreduo, model_core2duo, model_n270,
	model_conroe, model_penryn, model_nehalem, model_westmere, model_sandybridge,
	model_ivybridge, model_haswell, model_broadwell, model_skylake_client, model_skylake_server,
	model_cascadelake_server, model_cooperlake, model_icelake_server, model_sapphirerapids,
	model_graniterapids, model_sierraforest, model_clearwaterforest, model_diamondrapids,
	model_yongfeng,
	model_denverton, model_snowridge, model_knightsmill;
/* AMD and Hygon models (models_amd.c). */
extern const struct model_family model_athlon, model_phenom, model_opteron_g1, model_opteron_g2,
	model_opteron_g3, model_opteron_g4, model_opteron_g5, model_epyc, model_epyc_rome,
	model_epyc_milan, model_epyc_genoa, model_epyc_turin, model_dhyana;

#endif
