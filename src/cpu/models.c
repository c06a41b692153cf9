/* SPDX-License-Identifier: MIT */
/*
 * Model lookup: names, versions and aliases to a flat struct cpu_def.
 *
 * The data (models_intel.c, models_amd.c) is QEMU 7.2's: version 1 of each
 * model plus per-version property changes.  Resolving a version replays
 * those changes in order, then applies the KVM defaults QEMU applies to
 * every named model when it runs under KVM, which is the only way skyvm
 * runs a guest.
 */
#include "cpu/models.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpu/models_data.h"
#include "util/editdist.h"
#include "util/err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The order of `skyvm cpu list`: the models most used first, then the rest by age. */
static const struct model_family *const model_families[] = {
	&model_qemu64,
	&model_kvm64,
	&model_haswell,
	&model_skylake_client,
	&model_skylake_server,
	&model_cascadelake_server,
	&model_icelake_server,
	&model_sapphirerapids,
	&model_graniterapids,
	&model_sierraforest,
	&model_clearwaterforest,
	&model_diamondrapids,
	&model_epyc,
	&model_epyc_rome,
	&model_epyc_milan,
	&model_epyc_genoa,
	&model_epyc_turin,
	/* Intel, oldest first */
	&model_conroe,
	&model_penryn,
	&model_nehalem,
	&model_westmere,
	&model_sandybridge,
	&model_ivybridge,
	&model_broadwell,
	&model_cooperlake,
	&model_denverton,
	&model_snowridge,
	&model_knightsmill,
	/* AMD and Hygon, oldest first */
	&model_opteron_g1,
	&model_opteron_g2,
	&model_opteron_g3,
	&model_opteron_g4,
	&model_opteron_g5,
	&model_dhyana,
	/* Zhaoxin */
	&model_yongfeng,
	/* 32-bit and legacy desktop models */
	&model_qemu32,
	&model_kvm32,
	&model_i486,
	&model_pentium,
	&model_pentium2,
	&model_pentium3,
	&model_coreduo,
	&model_core2duo,
	&model_n270,
	&model_athlon,
	&model_phenom,
};

/*
 * What QEMU changes in every named model under KVM (target/i386/kvm/
 * kvm-cpu.c, kvm_default_props[]): the KVM paravirt basics on, x2APIC on
 * (KVM emulates it in the kernel at no cost), the MSI extended destination
 * id off (it needs a VMM-side IOAPIC protocol), and acpi/monitor/svm off,
 * because KVM cannot give a guest ACPI thermal control, MWAIT or nested SVM
 * on a named model's terms.
 */
static const struct model_prop kvm_default_props[] = {
	{ "kvmclock", "on" },
	{ "kvm-nopiodelay", "on" },
	{ "kvm-asyncpf", "on" },
	{ "kvm-steal-time", "on" },
	{ "kvm-pv-eoi", "on" },
	{ "kvmclock-stable-bit", "on" },
	{ "x2apic", "on" },
	{ "kvm-msi-ext-dest-id", "off" },
	{ "acpi", "off" },
	{ "monitor", "off" },
	{ "svm", "off" },
	{ NULL, NULL },
};

struct special_model {
	const char *name;
	enum cpu_def_kind kind;
	const char *note;
};

static const struct special_model special_models[] = {
	{ "host", CPU_DEF_HOST, "the host's vendor, signature and every supported feature" },
	{ "max", CPU_DEF_MAX, "every feature KVM supports on this host" },
	{ "base", CPU_DEF_BASE, "no features at all" },
};

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 0);
	if (*end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int copy_string(char *dst, size_t size, const char *src, const char *what)
{
	if (strlen(src) >= size)
		return err_set("%s '%s' longer than %zu characters", what, src, size - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int set_feature(struct cpu_def *def, const char *name, bool on)
{
	const struct cpu_feature *bits[4];
	size_t n = cpu_feature_find_all(name, bits, ARRAY_SIZE(bits));

	if (n == 0)
		return err_set("unknown feature '%s'", name);
	for (size_t i = 0; i < n; i++)
		featureset_set(&def->features, bits[i], on);
	return 0;
}

/* Apply one QEMU-style property change to a definition. */
static int apply_prop(struct cpu_def *def, const struct model_prop *p)
{
	struct {
		const char *name;
		uint32_t *field;
	} const numbers[] = {
		{ "family", &def->family },   { "model", &def->model }, { "stepping", &def->stepping },
		{ "level", &def->level },     { "xlevel", &def->xlevel },
		{ "avx10-version", &def->avx10_version },
	};

	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		if (strcmp(p->name, numbers[i].name))
			continue;
		if (parse_u32(p->value, numbers[i].field) < 0)
			return err_set("%s=%s: not a number", p->name, p->value);
		return 0;
	}
	if (!strcmp(p->name, "model-id"))
		return copy_string(def->model_id, sizeof(def->model_id), p->value, "model-id");
	if (!strcmp(p->name, "x-force-cpuid-0x1f") && (!strcmp(p->value, "on") ||
						       !strcmp(p->value, "off"))) {
		def->force_0x1f = !strcmp(p->value, "on");
		return 0;
	}
	if (!strcmp(p->name, "vendor")) {
		if (strlen(p->value) != 12)
			return err_set("vendor '%s' is not 12 characters", p->value);
		return copy_string(def->vendor, sizeof(def->vendor), p->value, "vendor");
	}
	if (!strcmp(p->value, "on"))
		return set_feature(def, p->name, true);
	if (!strcmp(p->value, "off"))
		return set_feature(def, p->name, false);
	return err_set("%s=%s: expected on or off", p->name, p->value);
}

static int apply_props(struct cpu_def *def, const struct model_prop *props)
{
	for (; props && props->name; props++)
		if (apply_prop(def, props) < 0)
			return -1;
	return 0;
}

/* Version 1 of a family, then every later version's changes up to `version`. */
static int build_version(const struct model_family *fam, int version, struct cpu_def *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = CPU_DEF_NAMED;
	snprintf(out->name, sizeof(out->name), "%s-v%d", fam->name, version);
	if (copy_string(out->vendor, sizeof(out->vendor), fam->vendor, "vendor") < 0 ||
	    copy_string(out->model_id, sizeof(out->model_id), fam->model_id, "model-id") < 0)
		return err_wrap("model %s", fam->name);
	out->family = fam->family;
	out->model = fam->model;
	out->stepping = fam->stepping;
	out->level = fam->level;
	out->xlevel = fam->xlevel;
	out->cache = fam->cache;
	for (const char *const *f = fam->features; *f; f++)
		if (set_feature(out, *f, true) < 0)
			return err_wrap("model %s", fam->name);
	for (size_t i = 0; i < fam->nversions && fam->versions[i].version <= version; i++) {
		if (apply_props(out, fam->versions[i].props) < 0)
			return err_wrap("model %s-v%d", fam->name, fam->versions[i].version);
		if (fam->versions[i].cache)
			out->cache = fam->versions[i].cache;
	}
	return apply_props(out, kvm_default_props) < 0 ? err_wrap("KVM defaults") : 0;
}

static bool family_has_version(const struct model_family *fam, int version)
{
	for (size_t i = 0; i < fam->nversions; i++)
		if (fam->versions[i].version == version)
			return true;
	return false;
}

/* "Skylake-Server-v4" -> 4 when `name` is fam's name plus "-vN"; else 0. */
static int versioned_name(const struct model_family *fam, const char *name)
{
	size_t len = strlen(fam->name);
	char *end;
	long v;

	if (strncasecmp(name, fam->name, len) || strncasecmp(name + len, "-v", 2))
		return 0;
	if (name[len + 2] < '1' || name[len + 2] > '9')
		return 0;
	v = strtol(name + len + 2, &end, 10);
	if (*end || v > 1000)
		return 0;
	return (int)v;
}

/*
 * The family and version `name` denotes, or NULL.  An unversioned name is
 * the family's default version, or with `latest` its newest (QEMU's rule
 * for -M microvm; pc and q35 use the default).
 */
static const struct model_family *find_named(const char *name, bool latest, int *version)
{
	for (size_t i = 0; i < ARRAY_SIZE(model_families); i++) {
		const struct model_family *fam = model_families[i];
		int v;

		if (!strcasecmp(name, fam->name)) {
			*version = latest && fam->nversions ? fam->versions[fam->nversions - 1].version
							    : fam->default_version;
			return fam;
		}
		v = versioned_name(fam, name);
		if (v && family_has_version(fam, v)) {
			*version = v;
			return fam;
		}
		for (size_t k = 0; k < fam->nversions; k++) {
			if (fam->versions[k].alias && !strcasecmp(name, fam->versions[k].alias)) {
				*version = fam->versions[k].version;
				return fam;
			}
		}
	}
	return NULL;
}

/* Every name cpu_model_resolve() accepts, for suggestions; returns the count. */
static size_t all_model_names(const char **out, char (*storage)[64], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(special_models) && n < max; i++)
		out[n++] = special_models[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(model_families); i++) {
		const struct model_family *fam = model_families[i];

		if (n < max)
			out[n++] = fam->name;
		for (size_t k = 0; k < fam->nversions && n < max; k++) {
			snprintf(storage[n], sizeof(storage[n]), "%s-v%d", fam->name,
				 fam->versions[k].version);
			out[n] = storage[n];
			n++;
			if (fam->versions[k].alias && n < max)
				out[n++] = fam->versions[k].alias;
		}
	}
	return n;
}

/* "Skylake-Server-v4": a version's own name, left out of suggestions (the base suffices). */
static bool is_versioned(const char *name)
{
	const char *v = strrchr(name, 'v');

	if (!v || v == name || v[-1] != '-' || !v[1])
		return false;
	return strspn(v + 1, "0123456789") == strlen(v + 1);
}

/*
 * Close names to an unknown model: within a third of its length in edits
 * (at least 2), or starting with it ("Skylake" -> "Skylake-Client", ...).
 * Unversioned names come first; at most `max`.
 */
static size_t suggest_models(const char *unknown, const char **out, size_t max,
			     char (*storage)[64])
{
	const char *names[256];
	size_t count = all_model_names(names, storage, 256);
	unsigned limit = (unsigned)strlen(unknown) / 3;
	size_t n = 0;

	if (limit < 2)
		limit = 2;
	for (unsigned d = 0; d <= limit + 1 && n < max; d++) {
		for (size_t i = 0; i < count && n < max; i++) {
			unsigned dist = name_edit_distance(names[i], unknown);
			bool prefix = !strncasecmp(names[i], unknown, strlen(unknown)) &&
				      strlen(unknown) >= 3;

			/* Prefix matches rank just after every near miss; far names never match. */
			if (prefix && dist > limit)
				dist = limit + 1;
			else if (dist > limit)
				continue;
			if (dist == d && !is_versioned(names[i]))
				out[n++] = names[i];
		}
	}
	return n;
}

int cpu_model_resolve(const char *name, struct cpu_def *out)
{
	return cpu_model_resolve_latest(name, false, out);
}

int cpu_model_resolve_latest(const char *name, bool latest, struct cpu_def *out)
{
	const struct model_family *fam;
	const char *close[4];
	char msg[256];
	/* The suggestions' versioned names live here, in this call, not in a static buffer. */
	char (*storage)[64];
	size_t n, len;
	int version;

	if (!name || !*name)
		return err_set("empty CPU model name");
	for (size_t i = 0; i < ARRAY_SIZE(special_models); i++) {
		if (strcasecmp(name, special_models[i].name))
			continue;
		/* The pipeline fills vendor, signature and features from the host. */
		memset(out, 0, sizeof(*out));
		out->kind = special_models[i].kind;
		snprintf(out->name, sizeof(out->name), "%s", special_models[i].name);
		return 0;
	}
	fam = find_named(name, latest, &version);
	if (fam)
		return build_version(fam, version, out);

	storage = calloc(256, sizeof(*storage));
	if (!storage)
		return err_set("out of memory");
	n = suggest_models(name, close, ARRAY_SIZE(close), storage);
	len = 0;
	msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t add = strlen(close[i]) + (i ? 2 : 0);

		if (len + add >= sizeof(msg))
			break;
		if (i)
			memcpy(msg + len, ", ", 2);
		memcpy(msg + len + (i ? 2 : 0), close[i], strlen(close[i]) + 1);
		len += add;
	}
	free(storage); /* msg holds copies of the names */
	if (n)
		return err_set("unknown CPU model '%s'; did you mean %s?", name, msg);
	return err_set("unknown CPU model '%s' (see 'skyvm cpu list')", name);
}

/*
 * The versioned names ("Skylake-Server-v4") and origins ("QEMU 10.1"), built
 * once for the process (pthread_once: the API thread may list models while
 * the main thread does), never rewritten, so every pointer cpu_model_list()
 * hands out stays valid and unchanged.
 */
static char version_names[256][64], version_origins[256][16];
static size_t nversion_names;
static pthread_once_t version_names_once = PTHREAD_ONCE_INIT;

static void build_version_names(void)
{
	size_t slot = 0;

	for (size_t i = 0; i < ARRAY_SIZE(model_families); i++) {
		const struct model_family *fam = model_families[i];

		for (size_t k = 0; k < fam->nversions && slot < ARRAY_SIZE(version_names); k++) {
			const struct model_version *v = &fam->versions[k];

			snprintf(version_names[slot], sizeof(version_names[slot]), "%s-v%d",
				 fam->name, v->version);
			/* every version has a release (test_models.c checks); "?" is never shipped */
			snprintf(version_origins[slot], sizeof(version_origins[slot]), "QEMU %s",
				 v->qemu ? v->qemu : "?");
			slot++;
		}
	}
	nversion_names = slot;
}

size_t cpu_model_list(struct cpu_model_info *out, size_t max)
{
	size_t n = 0, slot = 0;

	pthread_once(&version_names_once, build_version_names);
	for (size_t i = 0; i < ARRAY_SIZE(special_models) && n < max; i++) {
		out[n++] = (struct cpu_model_info){
			.name = special_models[i].name,
			.base_name = special_models[i].name,
			.version = 0,
			.note = special_models[i].note,
			.origin = "skyvm",
			.is_default = true,
		};
	}
	for (size_t i = 0; i < ARRAY_SIZE(model_families); i++) {
		const struct model_family *fam = model_families[i];

		for (size_t k = 0; k < fam->nversions && n < max && slot < nversion_names; k++) {
			const struct model_version *v = &fam->versions[k];

			out[n++] = (struct cpu_model_info){
				.name = version_names[slot],
				.base_name = fam->name,
				.version = v->version,
				.alias = v->alias,
				.note = v->note,
				.origin = version_origins[slot],
				.is_default = v->version == fam->default_version,
			};
			slot++;
		}
	}
	return n;
}

const char *cpu_def_kind_name(enum cpu_def_kind k)
{
	switch (k) {
	case CPU_DEF_NAMED: return "named";
	case CPU_DEF_HOST: return "host";
	case CPU_DEF_MAX: return "max";
	case CPU_DEF_BASE: return "base";
	case CPU_DEF_CUSTOM: return "custom";
	}
	return "?";
}
