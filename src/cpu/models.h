/* SPDX-License-Identifier: MIT */
/*
 * Named CPU models as const data, with versions and aliases (models.c).
 *
 * As in QEMU a fix is a new version of a model, never an edit of an old one,
 * so a guest's CPU never changes under it.  The unversioned name is an alias
 * of one version (QEMU 7.2: usually v1).  Models resolve to a flat struct
 * cpu_def; special kinds ("host", "max", "base") are filled from the
 * supported CPUID by the pipeline.
 */
#ifndef SKYVM_CPU_MODELS_H
#define SKYVM_CPU_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cache.h"
#include "cpu/features.h"

enum cpu_def_kind { CPU_DEF_NAMED, CPU_DEF_HOST, CPU_DEF_MAX, CPU_DEF_BASE, CPU_DEF_CUSTOM };

struct cpu_def {
	char name[64];          /* canonical name, e.g. "Skylake-Server-v4" */
	enum cpu_def_kind kind;
	char vendor[13];        /* "GenuineIntel", "AuthenticAMD"; "" = host's */
	uint32_t family, model, stepping;
	uint32_t level, xlevel; /* max basic / extended leaf */
	/*
	 * CPUID.07H.0:EAX, the highest leaf-7 subleaf: QEMU's min-level-func7,
	 * set from the features asked for before the host filters them (the
	 * pipeline); cpu_build_table() raises it to reach every enabled word.
	 */
	uint32_t level_func7;
	char model_id[49];      /* brand string */
	const struct cpu_cache_info *cache; /* leaves 2, 4, 0x8000000[56], 0x8000001D; NULL = legacy */
	uint32_t avx10_version; /* CPUID.24H:EBX[7:0] with avx10 (host/max: the host's); 0 = none */
	bool force_0x1f;        /* leaf 0x1F written whatever the topology (QEMU x-force-cpuid-0x1f) */
	struct cpu_featureset features;
};

/* One line per model version for `cpu list`. */
struct cpu_model_info {
	const char *name;       /* "Skylake-Server-v4" */
	const char *base_name;  /* "Skylake-Server" */
	int version;
	const char *alias;      /* an extra alias of this version, or NULL */
	const char *note;       /* short description, or NULL */
	const char *origin;     /* "QEMU 8.1": the release that introduced it; "skyvm": host/max/base */
	bool is_default;        /* base_name alone resolves to this version */
};

/*
 * Resolve a model name ("Skylake-Server", "Skylake-Server-v4", an alias,
 * "host", "max", "base") into *out.  Returns 0, or -1 with err_msg() naming
 * the unknown model and suggesting close names.
 */
int cpu_model_resolve(const char *name, struct cpu_def *out);
/*
 * The same, but with `latest` an unversioned name ("Westmere") means the
 * model's newest version, as under QEMU's -M microvm; cpu_model_resolve()
 * gives the version QEMU's pc and q35 machines give (v1 for every model).
 */
int cpu_model_resolve_latest(const char *name, bool latest, struct cpu_def *out);
/* "named", "host", "max", "base" or "custom" (cpu list/show, JSON "kind"). */
const char *cpu_def_kind_name(enum cpu_def_kind k);
/* Enumerate versions: returns the number written (at most max). */
size_t cpu_model_list(struct cpu_model_info *out, size_t max);

#endif
