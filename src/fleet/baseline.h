/* SPDX-License-Identifier: MIT */
/*
 * The most capable CPU every host of a fleet can run, as libvirt's
 * cpu-baseline finds it for x86:
 *   1. intersect   one vendor; feature words ANDed; max leaves: the minimum
 *   2. choose      the named model that needs the fewest changes to become the
 *                  intersection: first among models whose features are all in
 *                  it (only +f needed), then among all (+f and -f); ties go
 *                  to the newer model
 *   3. express     "MODEL,+f,...,-g,..." with exactly those changes
 * Every step works on plain tables, so the CLI (cli/cpu_fleet.c) feeds it
 * models configured by the pipeline and the tests feed it hand-made ones.
 */
#ifndef SKYVM_FLEET_BASELINE_H
#define SKYVM_FLEET_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"

/*
 * The CPUID every host can give: `out` holds the entries present on all
 * hosts (the first host's values), with the feature words ANDed and CPUID.0,
 * 0x40000000 and 0x80000000 EAX lowered to the smallest host's (entries above
 * those dropped).  Other fields (caches, topology, xsave sizes) are the first
 * host's: normalisation rewrites them per vCPU.  `names` label the hosts in
 * errors.  Returns 0, or -1 with err_msg(): no hosts, a host without leaf 0,
 * or hosts of different vendors ("a baseline needs one CPU vendor: a.json is
 * GenuineIntel, b.json is AuthenticAMD").
 */
int fleet_intersect(const struct cpuid_table *const *hosts, const char *const *names, size_t n,
		    struct cpuid_table *out);

/* The bits that have a name: only those can be written as +f/-f. */
void fleet_named_features(struct cpu_featureset *out);
/* The bits flagged unmigratable (invtsc, ...): dropped by --migratable. */
void fleet_unmigratable_features(struct cpu_featureset *out);

/* A named model the baseline may start from. */
struct fleet_candidate {
	const char *name;               /* "Skylake-Server-v4": what the result string names */
	int version;                    /* newer versions win ties */
	char vendor[13];
	uint32_t level, xlevel;         /* the model may not need more than the hosts give */
	struct cpu_featureset features; /* what the model asks for (cpu_result.requested) */
};

#define FLEET_NO_MODEL ((size_t)-1)

struct fleet_choice {
	size_t index;                 /* into the candidates, or FLEET_NO_MODEL */
	struct cpu_featureset add;    /* +f: in the target, not in the model */
	struct cpu_featureset remove; /* -f: in the model, not in the target */
	unsigned changes;             /* bits in add + remove */
};

/*
 * Choose the candidate closest to `target` (step 2 above), not counting the
 * bits in `ignore` (NULL = none) as changes either way.  Candidates of
 * another vendor, or whose level/xlevel exceed the given ones, are never
 * chosen.  Ties in the number of changes go to the model with more features
 * (a later generation), then the higher version, then the later candidate.
 * When none is eligible, index is FLEET_NO_MODEL and `add` is the whole
 * target (the caller starts from "base").
 */
void fleet_choose_model(const struct cpu_featureset *target, const struct cpu_featureset *ignore,
			const char *vendor, uint32_t level, uint32_t xlevel,
			const struct fleet_candidate *c, size_t n, struct fleet_choice *out);

/*
 * Write "MODEL,+f,...,-g,..." into buf: names from the feature table in
 * word and bit order, each name once (QEMU gives two bits one name).
 * Returns 0, or -1 with err_msg() when a bit has no name or buf is too small.
 */
int fleet_spec_format(const char *model, const struct cpu_featureset *add,
		      const struct cpu_featureset *remove, char *buf, size_t size);

#endif
