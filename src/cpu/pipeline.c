/* SPDX-License-Identifier: MIT */
/*
 * The CPU model pipeline, stage by stage (the list is in cpu/cpu.h).  Each
 * stage is a function of its own file; this one only runs them in order
 * and keeps the record struct cpu_result gives `cpu show`.
 */
#include "cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/cache.h"
#include "cpu/custom.h"
#include "cpu/deps.h"
#include "cpu/filter.h"
#include "cpu/fixups.h"
#include "cpu/msrs.h"
#include "cpu/normalise.h"
#include "cpu/spec.h"
#include "cpu/topology.h"
#include "util/err.h"

/*
 * Stage 3 for host/max/base: what the supported CPUID says about this host,
 * and its brand string from the CPUID instruction (KVM's table has none),
 * as QEMU's host_cpu_max_instance_init does.  The caches are QEMU's legacy
 * ones (cpu/cache.h): QEMU passes the host's through only on request.
 */
static void fill_from_host(struct cpu_def *def, const struct cpuid_table *supported,
			   const struct cpu_host_facts *facts)
{
	const struct cpu_feature *topoext = cpu_feature_find("topoext");

	cpu_vendor_decode(supported, def->vendor);
	cpu_signature_decode(cpuid_value(supported, 1, 0, CPUID_EAX), &def->family, &def->model,
			     &def->stepping);
	if (facts->brand[0])
		snprintf(def->model_id, sizeof(def->model_id), "%s", facts->brand);
	else
		cpu_brand_decode(supported, def->model_id);
	def->cache = NULL;
	/* CPUID.24H:EBX[7:0] AVX10 version: the host's (QEMU's max takes KVM's) */
	def->avx10_version = cpuid_value(supported, 0x24, 0, CPUID_EBX) & 0xff;
	def->level = cpuid_value(supported, 0, 0, CPUID_EAX);
	def->xlevel = cpuid_value(supported, 0x80000000, 0, CPUID_EAX);
	if (def->kind == CPU_DEF_BASE) {
		/* base: the host's identity, no features; levels grow with what is added */
		memset(&def->features, 0, sizeof(def->features));
		def->level = 1;
		def->xlevel = 0;
		return;
	}
	/* host and max: every supported bit, nameless ones too (migratable=on drops those),
	 * the feature MSRs' too, as QEMU's max takes every supported feature word */
	featureset_from_cpuid(&def->features, supported);
	featureset_from_msrs(&def->features, supported);
	/* KVM hints are promises about the host's setup: asked for, never implied (QEMU) */
	def->features.w[FW_KVM_HINTS] = 0;
	/* topoext is always offered (cpu/fixups.h) but, as in QEMU, only a model or the user
	 * turns it on: -cpu host does not auto-enable it (QEMU's no_autoenable_flags). */
	if (topoext)
		featureset_set(&def->features, topoext, false);
	/* AMD's copies of leaf-1 EDX bits in 0x80000001.EDX follow leaf 1 (normalise) */
	def->features.w[FW_8000_0001_EDX] &= ~CPUID_8000_0001_EDX_AMD_ALIASES;
}

/*
 * Stage 3: the model.  A named model takes the host's vendor, as QEMU's
 * do under KVM (host_cpu_instance_init): a guest's syscall/sysenter paths
 * and Linux's vendor quirks then match the silicon.  `vendor=model` keeps
 * the table's (spec->vendor_model); an explicit vendor=... wins over both
 * (cpu_spec_apply_def, later).
 */
static int resolve_model(const char *name, const struct cpuid_table *supported,
			 const struct cpu_host_facts *facts, const struct cpu_spec *spec,
			 struct cpu_def *def)
{
	bool keep_vendor = spec->vendor_model;

	if (cpu_model_resolve_latest(name, spec->version_latest, def) < 0)
		return -1;
	if (def->kind == CPU_DEF_HOST || def->kind == CPU_DEF_MAX || def->kind == CPU_DEF_BASE)
		fill_from_host(def, supported, facts);
	else if (def->kind == CPU_DEF_NAMED && !keep_vendor)
		cpu_vendor_decode(supported, def->vendor);
	return 0;
}

/*
 * The default every model but `base` gets when the host has it: the
 * hypervisor bit (a KVM guest is always under one).  Only when supported,
 * so it never causes a warning; -hypervisor still turns it off.
 * TSC-deadline is not a default: the host fix-up offers it (cpu/fixups.h),
 * and, as in QEMU, only models whose table lists it (SandyBridge and later
 * Intel models), host, max and +tsc-deadline turn it on.
 */
static void model_defaults(struct cpu_def *def, const struct cpu_featureset *supported)
{
	const struct cpu_feature *f = cpu_feature_find("hypervisor");

	if (def->kind != CPU_DEF_BASE && f && featureset_has(supported, f))
		featureset_set(&def->features, f, true);
}

static void log_line(struct cpu_result *r, FILE *warn, const char *line)
{
	size_t len = strlen(r->warnings), add = strlen(line);

	if (warn)
		fprintf(warn, "skyvm: warning: %s\n", line);
	if (len + add + 2 <= sizeof(r->warnings)) {
		memcpy(r->warnings + len, line, add);
		r->warnings[len + add] = '\n';
		r->warnings[len + add + 1] = '\0';
	}
}

/*
 * Stage 5 (run again after the filter): clear dependents of features that
 * are off.  As in QEMU, only a dependent the user asked for is reported
 * (and counts as filtered, so enforce fails on it).
 */
static void run_deps(struct cpu_result *r, FILE *warn, bool check)
{
	struct cpu_featureset cleared = { 0 }, report = { 0 };
	bool any = false;

	cpu_deps_apply(&r->enabled, &cleared);
	for (int w = 0; w < FW_COUNT; w++) {
		r->dependent.w[w] |= cleared.w[w];
		report.w[w] = cleared.w[w] & r->user.w[w];
		r->filtered.w[w] |= report.w[w];
		any |= report.w[w] != 0;
	}
	if (any && check)
		cpu_report_bits(warn, "This feature depends on other features that were not "
			       "requested", &report, r->warnings, sizeof(r->warnings));
}

int cpu_configure_with(const char *text, const struct cpuid_table *supported_in,
		       const struct cpu_host_facts *facts, const struct cpu_topology *topo,
		       struct cpu_result *r, FILE *warn)
{
	struct cpuid_table *supported;
	struct cpu_featureset sup_fs, host_missing = { 0 }, levels_from;
	struct cpu_custom_model *custom = NULL;
	struct cpu_spec *spec;
	uint32_t min_level, min_xlevel;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	supported = malloc(sizeof(*supported));
	spec = malloc(sizeof(*spec));
	if (!supported || !spec) {
		err_set("out of memory");
		goto out;
	}
	if (cpu_topology_resolve(topo, &r->topo) < 0)
		goto out;

	/* 2. host fix-ups */
	*supported = *supported_in;
	if (cpu_host_fixups(supported, facts) < 0)
		goto out;
	featureset_from_cpuid(&sup_fs, supported);
	featureset_supported_msrs(&sup_fs, supported);

	/* 4 (parsed first: it names the model). */
	if (cpu_spec_parse(text, spec) < 0)
		goto out;

	/* 3. model */
	if (spec->model_is_file) {
		custom = malloc(sizeof(*custom));
		if (!custom) {
			err_set("out of memory");
			goto out;
		}
		if (cpu_custom_load(spec->model, custom) < 0)
			goto out;
		if (resolve_model(custom->base, supported, facts, spec, &r->def) < 0) {
			err_wrap("%s: base", spec->model);
			goto out;
		}
		model_defaults(&r->def, &sup_fs);
		cpu_spec_apply_def(&custom->props, &r->def);
		cpu_spec_apply_features(&custom->props, &r->def.features);
		cpu_spec_user_bits(&custom->props, &r->user);
		cpu_custom_apply_features(custom, &r->def.features, &r->user);
		snprintf(r->def.name, sizeof(r->def.name), "%s", custom->name);
		r->def.kind = CPU_DEF_CUSTOM;
	} else {
		if (resolve_model(spec->model, supported, facts, spec, &r->def) < 0)
			goto out;
		model_defaults(&r->def, &sup_fs);
	}

	/* 4. options */
	cpu_spec_apply_def(spec, &r->def);
	cpu_spec_apply_features(spec, &r->def.features);
	{
		struct cpu_featureset named;

		cpu_spec_user_bits(spec, &named);
		for (int w = 0; w < FW_COUNT; w++)
			r->user.w[w] |= named.w[w];
	}
	r->enforce = spec->enforce;
	r->migratable = spec->migratable != 0; /* QEMU: migratable=on by default, host too */
	{
		char *save = NULL;

		for (char *line = strtok_r(spec->warnings, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			log_line(r, warn, line);
	}
	r->requested = r->def.features;
	r->enabled = r->def.features;

	/* 5. dependencies */
	run_deps(r, warn, spec->check || spec->enforce);

	/* QEMU sets the minimum levels from the features before filtering (x86_cpu_expand_features) */
	levels_from = r->enabled;

	/* 6. filter against the host */
	cpu_filter_supported(&r->enabled, &sup_fs, &host_missing);
	for (int w = 0; w < FW_COUNT; w++)
		r->filtered.w[w] |= host_missing.w[w];
	if (spec->check || spec->enforce)
		cpu_report_bits(warn, "host doesn't support requested feature", &host_missing,
				r->warnings, sizeof(r->warnings));
	run_deps(r, warn, spec->check || spec->enforce);
	if (r->enforce && cpu_enforce(&r->filtered) < 0)
		goto out;

	/* 7. migratable */
	if (r->migratable)
		cpu_filter_migratable(&r->enabled, &r->user, &r->unmigratable);

	/*
	 * Levels: what the model says, raised to reach every word the model and
	 * options ask for, even one the host then filtered (QEMU's min-level).
	 */
	for (int w = 0; w < FW_COUNT; w++)
		levels_from.w[w] &= ~r->unmigratable.w[w];
	cpu_min_levels(&levels_from, &min_level, &min_xlevel, &r->def.level_func7);
	if (!spec->has_level && !(custom && custom->props.has_level) && r->def.level < min_level)
		r->def.level = min_level;
	if (!spec->has_xlevel && !(custom && custom->props.has_xlevel) &&
	    r->def.xlevel < min_xlevel)
		r->def.xlevel = min_xlevel;
	if (!r->def.vendor[0])
		cpu_vendor_decode(supported, r->def.vendor);

	/* 8 (shared part). */
	if (cpu_build_table(&r->table, supported, &r->def, &r->enabled) < 0 ||
	    cpu_build_msrs(&r->table, supported, &r->enabled) < 0)
		goto out;
	if (cpu_cache_leaves(&r->table, r->def.cache, &r->topo) < 0 ||
	    cpu_topology_shared_leaves(&r->table, &r->topo) < 0)
		goto out;
	if (custom && cpu_custom_apply_table(custom, &r->table) < 0)
		goto out;
	cpuid_sort(&r->table);
	rc = 0;
out:
	free(custom);
	free(spec);
	free(supported);
	return rc;
}

int cpu_configure(const char *spec, const struct cpuid_table *supported,
		  const struct cpu_topology *topo, struct cpu_result *out, FILE *warn)
{
	struct cpu_host_facts facts;

	cpu_host_facts_probe(&facts);
	return cpu_configure_with(spec, supported, &facts, topo, out, warn);
}

int cpu_vcpu_cpuid(const struct cpu_result *r, unsigned index, struct cpuid_table *out)
{
	if (index >= r->topo.cpus)
		return err_set("vCPU %u out of range (%u vCPUs)", index, r->topo.cpus);
	*out = r->table;
	cpu_topology_leaves(out, &r->topo, index, cpu_vendor_is_amd(r->def.vendor));
	cpuid_sort(out);
	return 0;
}
