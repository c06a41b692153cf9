/* SPDX-License-Identifier: MIT */
/*
 * Custom CPU models from JSON files (`--cpu file:PATH`), documented in
 * docs/cpu-model-file.md:
 *
 *   { "name": "skymdw", "base": "Skylake-Server-v4",
 *     "vendor": ..., "family": ..., "model": ..., "stepping": ...,
 *     "model-id": ..., "level": ..., "xlevel": ...,
 *     "features": { "+": ["pcid"], "-": ["hle", "rtm"] },
 *     "cpuid_modifiers": [ { "leaf": "0x7", "subleaf": "0x0", "flags": 1,
 *         "modifiers": [ { "register": "ebx", "bitmap": "0bxxxx_xxx0_..." } ] } ] }
 *
 * Raw modifiers use Firecracker's bitmaps: '0' clear, '1' set, 'x' keep,
 * '_' a separator; fewer than 32 bits are padded with 'x' on the left.
 */
#ifndef SKYVM_CPU_CUSTOM_H
#define SKYVM_CPU_CUSTOM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"
#include "cpu/spec.h"

#define CPU_CUSTOM_MODS_MAX 128

/* One register edit: value = (value & ~clear) | set. */
struct cpu_cpuid_modifier {
	uint32_t leaf, subleaf;
	bool indexed;
	enum cpuid_reg reg;
	uint32_t set, clear;
};

struct cpu_custom_model {
	char name[64];
	char base[64];         /* the model it starts from ("host" when not given) */
	struct cpu_spec props; /* vendor/family/... and features +/- of the file */
	struct cpu_cpuid_modifier mods[CPU_CUSTOM_MODS_MAX];
	size_t nmods;
};

/*
 * Load a model file.  Errors: "PATH:LINE:COL: <jansson's text>" for JSON
 * syntax, "PATH: <key path>: <problem>" for content, e.g.
 * "m.json: features.-[1]: unknown CPU feature 'avx512fx' (did you mean: ...?)".
 */
int cpu_custom_load(const char *path, struct cpu_custom_model *out);
/*
 * The same from memory; `name` stands for the file in messages and gives the
 * default model name.  Files over CPU_CUSTOM_MAX_BYTES are refused; control
 * characters in names and values are refused, and escaped in messages.
 */
int cpu_custom_parse(const void *buf, size_t len, const char *name, struct cpu_custom_model *out);

/* The largest model file read (models/skymdw.json is 1 KiB). */
#define CPU_CUSTOM_MAX_BYTES (1u << 20)

/*
 * A Firecracker bitmap ("0b1x0_1", "0b" required) as set/clear masks.
 * Returns 0, or -1 with err_msg() saying what is wrong with it.
 */
int cpu_bitmap_parse(const char *text, uint32_t *set, uint32_t *clear);

/* The feature word a modifier edits, or FW_COUNT when none. */
enum feature_word cpu_modifier_word(const struct cpu_cpuid_modifier *m);

/*
 * Apply the modifiers that edit feature words to *fs, ORing the bits they
 * touch into *user; the others to the table (cpu_custom_apply_table).
 */
void cpu_custom_apply_features(const struct cpu_custom_model *c, struct cpu_featureset *fs,
			       struct cpu_featureset *user);
int cpu_custom_apply_table(const struct cpu_custom_model *c, struct cpuid_table *t);

#endif
