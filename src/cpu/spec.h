/* SPDX-License-Identifier: MIT */
/*
 * Feature strings: `MODEL[,opt]...` as `--cpu` and `cpu show` take them.
 *
 *   +f / -f            add / remove feature f
 *   f=on|off, f        set feature f (a bare name means f=on, as in QEMU)
 *   check, enforce     warn (default) / fail when the host lacks a feature
 *   migratable=on|off  drop unmigratable and nameless bits (default on)
 *   vendor= family= model= stepping= model-id= level= xlevel=
 *   vendor=model       keep the named model's own vendor (default: the host's)
 *   version=latest     an unversioned model name means its newest version, as
 *                      under QEMU's -M microvm (default: v1, as QEMU's pc/q35)
 *
 * MODEL is a model name or `file:PATH` (a custom model, cpu/custom.h).
 * A literal comma inside a value is written ",," (QEMU's escape).
 *
 * Precedence, as QEMU 7.2 implements it (x86_cpu_parse_featurestr puts
 * f=on|off in global properties applied in order at instance init, and
 * x86_cpu_expand_features applies every +f and then every -f afterwards):
 *
 *   features = ((model & ~off) | on | plus) & ~minus
 *
 * where on/off come from the f=on|off options in order (the last wins).
 * So -f beats both +f and f=on wherever it appears, and +f beats f=off.
 * An f=... after +f or -f of the same f is accepted with QEMU's
 * "Ambiguous CPU model string" warnings (QEMU's own test: pentium,-fpu,+fpu,
 * -mce,mce=on,+cx8,cx8=off gives fpu off, mce off, cx8 on).
 */
#ifndef SKYVM_CPU_SPEC_H
#define SKYVM_CPU_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/features.h"
#include "cpu/models.h"

#define CPU_SPEC_MODEL_MAX 1024
#define CPU_SPEC_WARN_MAX 1024

struct cpu_spec {
	char model[CPU_SPEC_MODEL_MAX]; /* model name, or the path of file:PATH */
	bool model_is_file;
	struct cpu_featureset plus, minus; /* +f, -f */
	struct cpu_featureset on, off;     /* f=on, f=off after ordering */
	bool enforce;
	bool check;          /* default true: warn per filtered feature */
	int migratable;      /* -1 = not given (the default applies), 0, 1 */
	bool has_vendor, has_family, has_model, has_stepping, has_model_id;
	bool has_level, has_xlevel;
	char vendor[13];
	/*
	 * vendor=model: a named model keeps its table's vendor.  By default it
	 * takes the host's, as QEMU does under KVM (host_cpu_instance_init);
	 * the table's is what QEMU shows under TCG and skyvm showed before.
	 */
	bool vendor_model;
	/* version=latest: an unversioned model name is its newest version (QEMU -M microvm) */
	bool version_latest;
	uint32_t family, model_number, stepping, level, xlevel;
	char model_id[49];
	bool ambiguous;      /* f=... mixed with +f/-f: QEMU's closing warning */
	char warnings[CPU_SPEC_WARN_MAX]; /* one "warning text\n" per line */
};

/*
 * Parse `text` into *out.  Returns 0, or -1 with err_msg() naming the bad
 * option: an unknown feature with the closest known names, a malformed
 * number, a vendor not 12 characters long, an empty model name.
 */
int cpu_spec_parse(const char *text, struct cpu_spec *out);

/* Apply the option features to *fs by the precedence rule above. */
void cpu_spec_apply_features(const struct cpu_spec *s, struct cpu_featureset *fs);
/* The bits the options name explicitly (+f, -f, f=on, f=off). */
void cpu_spec_user_bits(const struct cpu_spec *s, struct cpu_featureset *out);
/* Apply vendor= family= model= stepping= model-id= level= xlevel= to *def. */
void cpu_spec_apply_def(const struct cpu_spec *s, struct cpu_def *def);

/*
 * Set or clear every feature called `name` in *fs (QEMU's "kvmclock" names
 * two bits).  Returns 0, or -1 with err_msg() "unknown CPU feature 'x'
 * (did you mean: a, b?)" .  Shared with custom model files.
 */
int cpu_feature_name_apply(const char *name, bool on, struct cpu_featureset *fs);

#endif
