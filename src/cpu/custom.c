/* SPDX-License-Identifier: MIT */
#include "cpu/custom.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/file.h"
#include "util/json.h"
#include "util/text.h"

int cpu_bitmap_parse(const char *text, uint32_t *set, uint32_t *clear)
{
	unsigned nbits = 0;
	uint32_t s = 0, c = 0;

	if (strncmp(text, "0b", 2))
		return err_set("bitmap '%s' must start with 0b", text);
	for (const char *p = text + 2; *p; p++) {
		if (*p == '_')
			continue;
		if (*p != '0' && *p != '1' && *p != 'x' && *p != 'X')
			return err_set("bitmap '%s': '%c' is not 0, 1, x or _", text, *p);
		if (++nbits > 32)
			return err_set("bitmap '%s' has more than 32 bits", text);
		s <<= 1;
		c <<= 1;
		if (*p == '1')
			s |= 1;
		else if (*p == '0')
			c |= 1;
	}
	if (nbits == 0)
		return err_set("bitmap '%s' has no bits", text);
	/* Fewer than 32 bits: the missing high bits are 'x' (keep), as in Firecracker. */
	*set = s;
	*clear = c;
	return 0;
}

/* A hex string ("0x7"), a decimal string, or a JSON integer, as 32 bits. */
static int json_u32(const json_t *v, uint32_t *out)
{
	uint64_t n;

	if (json_read_uint(v, 32, &n) < 0)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int parse_register(const char *name, enum cpuid_reg *out)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };

	for (int r = 0; r < 4; r++) {
		if (!strcmp(name, names[r])) {
			*out = (enum cpuid_reg)r;
			return 0;
		}
	}
	return err_set("'%s' is not one of eax, ebx, ecx, edx", name);
}

static int parse_modifiers(const json_t *arr, struct cpu_custom_model *out)
{
	size_t i, j;
	const json_t *lm, *rm;

	if (!json_is_array(arr))
		return err_set("cpuid_modifiers: expected an array");
	json_array_foreach(arr, i, lm) {
		uint32_t leaf, subleaf = 0, flags = 0;
		const json_t *regs, *v;

		if (!json_is_object(lm))
			return err_set("cpuid_modifiers[%zu]: expected an object", i);
		v = json_object_get(lm, "leaf");
		if (!v)
			return err_set("cpuid_modifiers[%zu].leaf: missing", i);
		if (json_u32(v, &leaf) < 0)
			return err_wrap("cpuid_modifiers[%zu].leaf", i);
		v = json_object_get(lm, "subleaf");
		if (v && json_u32(v, &subleaf) < 0)
			return err_wrap("cpuid_modifiers[%zu].subleaf", i);
		v = json_object_get(lm, "flags");
		if (v && json_u32(v, &flags) < 0)
			return err_wrap("cpuid_modifiers[%zu].flags", i);
		if (flags & ~(uint32_t)KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			return err_set("cpuid_modifiers[%zu].flags: only 1 (subleaf significant) "
				       "is meaningful, got %u", i, flags);
		regs = json_object_get(lm, "modifiers");
		if (!json_is_array(regs))
			return err_set("cpuid_modifiers[%zu].modifiers: expected an array", i);
		json_array_foreach(regs, j, rm) {
			struct cpu_cpuid_modifier *m;
			const json_t *reg = json_object_get(rm, "register");
			const json_t *bm = json_object_get(rm, "bitmap");

			if (out->nmods >= CPU_CUSTOM_MODS_MAX)
				return err_set("cpuid_modifiers: more than %d register modifiers",
					       CPU_CUSTOM_MODS_MAX);
			m = &out->mods[out->nmods];
			if (!json_is_object(rm))
				return err_set("cpuid_modifiers[%zu].modifiers[%zu]: expected an "
					       "object", i, j);
			if (!json_is_string(reg))
				return err_set("cpuid_modifiers[%zu].modifiers[%zu].register: expected "
					       "\"eax\", \"ebx\", \"ecx\" or \"edx\"", i, j);
			if (parse_register(json_string_value(reg), &m->reg) < 0)
				return err_wrap("cpuid_modifiers[%zu].modifiers[%zu].register", i,
						j);
			if (!json_is_string(bm))
				return err_set("cpuid_modifiers[%zu].modifiers[%zu].bitmap: expected a "
					       "string like \"0bxx10\"", i, j);
			if (cpu_bitmap_parse(json_string_value(bm), &m->set, &m->clear) < 0)
				return err_wrap("cpuid_modifiers[%zu].modifiers[%zu].bitmap", i, j);
			m->leaf = leaf;
			m->subleaf = subleaf;
			m->indexed = flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
			out->nmods++;
		}
	}
	return 0;
}

static int parse_features(const json_t *obj, struct cpu_spec *props)
{
	const char *key;
	const json_t *list;

	if (!json_is_object(obj))
		return err_set("features: expected an object like {\"+\": [...], \"-\": [...]}");
	json_object_foreach((json_t *)obj, key, list) {
		struct cpu_featureset *set;
		size_t i;
		const json_t *name;

		if (!strcmp(key, "+"))
			set = &props->plus;
		else if (!strcmp(key, "-"))
			set = &props->minus;
		else
			return err_set("features.%s: only \"+\" and \"-\" are allowed", key);
		if (!json_is_array(list))
			return err_set("features.%s: expected an array of feature names", key);
		json_array_foreach(list, i, name) {
			if (!json_is_string(name))
				return err_set("features.%s[%zu]: expected a feature name", key, i);
			if (cpu_feature_name_apply(json_string_value(name), true, set) < 0)
				return err_wrap("features.%s[%zu]", key, i);
		}
	}
	/* -f beats +f here too, as on the command line. */
	return 0;
}

/*
 * vendor/family/model/stepping/model-id/level/xlevel: parsed by the
 * feature-string parser so the file and --cpu accept exactly the same values.
 */
static int parse_prop(const char *key, const json_t *v, struct cpu_spec *props)
{
	char text[160];
	struct cpu_spec one;
	uint32_t n;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (strchr(s, ','))
			return err_set("%s: commas are not allowed", key);
		if (text_needs_escape(s))
			return err_set("%s: control characters are not allowed", key);
		snprintf(text, sizeof(text), "x,%s=%s", key, s);
	} else if (json_is_integer(v)) {
		if (json_u32(v, &n) < 0)
			return err_wrap("%s", key);
		snprintf(text, sizeof(text), "x,%s=%u", key, n);
	} else {
		return err_set("%s: expected a string or a number", key);
	}
	if (cpu_spec_parse(text, &one) < 0)
		return err_wrap("%s", key);
	if (one.has_vendor) {
		props->has_vendor = true;
		memcpy(props->vendor, one.vendor, sizeof(props->vendor));
	}
	if (one.has_model_id) {
		props->has_model_id = true;
		memcpy(props->model_id, one.model_id, sizeof(props->model_id));
	}
#define TAKE(f)                                 \
	if (one.has_##f) {                      \
		props->has_##f = true;          \
		props->f = one.f;               \
	}
	TAKE(family)
	TAKE(stepping)
	TAKE(level)
	TAKE(xlevel)
#undef TAKE
	if (one.has_model) {
		props->has_model = true;
		props->model_number = one.model_number;
	}
	return 0;
}

static const char *const prop_keys[] = { "vendor", "family", "model", "stepping", "model-id",
					 "level", "xlevel" };

static int parse_model(const json_t *root, struct cpu_custom_model *out)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(root))
		return err_set("expected a JSON object");
	json_object_foreach((json_t *)root, key, v) {
		bool is_prop = false;

		for (size_t i = 0; i < sizeof(prop_keys) / sizeof(prop_keys[0]); i++)
			is_prop |= !strcmp(key, prop_keys[i]);
		if (is_prop) {
			if (parse_prop(key, v, &out->props) < 0)
				return -1;
		} else if (!strcmp(key, "name") || !strcmp(key, "base")) {
			char *dst = key[0] == 'n' ? out->name : out->base;

			if (!json_is_string(v) || !json_string_length(v) ||
			    json_string_length(v) >= sizeof(out->name))
				return err_set("%s: expected a model name (1-63 characters)", key);
			if (text_needs_escape(json_string_value(v)))
				return err_set("%s: control characters are not allowed in a model "
					       "name", key);
			snprintf(dst, sizeof(out->name), "%s", json_string_value(v));
		} else if (!strcmp(key, "description")) {
			if (!json_is_string(v))
				return err_set("description: expected a string");
		} else if (!strcmp(key, "features")) {
			if (parse_features(v, &out->props) < 0)
				return -1;
		} else if (!strcmp(key, "cpuid_modifiers")) {
			if (parse_modifiers(v, out) < 0)
				return -1;
		} else if (!strcmp(key, "msr_modifiers") || !strcmp(key, "kvm_capabilities")) {
			return err_set("%s: Firecracker's %s are not supported (only CPUID is "
				       "modelled)", key, key);
		} else {
			return err_set("%s: unknown key (known: name, description, base, vendor, "
				       "family, model, stepping, model-id, level, xlevel, features, "
				       "cpuid_modifiers)", key);
		}
	}
	if (!strncmp(out->base, "file:", 5))
		return err_set("base: a model file cannot be based on another file");
	return 0;
}

static int parse_buffer(const void *buf, size_t len, const char *name,
			struct cpu_custom_model *out)
{
	json_error_t jerr;
	json_t *root;
	int rc;
	const char *stem;

	if (len > CPU_CUSTOM_MAX_BYTES)
		return err_set("%s: %zu bytes is larger than the %u a model file may have", name,
			       len, CPU_CUSTOM_MAX_BYTES);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line < 0)
			return err_set("%s: %s", name, jerr.text);
		return err_set("%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
	}
	rc = parse_model(root, out);
	json_decref(root);
	if (rc < 0)
		return err_wrap("%s", name);
	if (!out->base[0])
		snprintf(out->base, sizeof(out->base), "host");
	if (!out->name[0]) {
		stem = strrchr(name, '/');
		stem = stem ? stem + 1 : name;
		snprintf(out->name, sizeof(out->name), "%.*s", (int)strcspn(stem, "."), stem);
		text_escape_inplace(out->name, sizeof(out->name));
	}
	return 0;
}

static void init_model(struct cpu_custom_model *out)
{
	memset(out, 0, sizeof(*out));
	out->props.check = true;
	out->props.migratable = -1;
}

int cpu_custom_parse(const void *buf, size_t len, const char *name, struct cpu_custom_model *out)
{
	init_model(out);
	if (parse_buffer(buf, len, name, out) < 0)
		return err_escape(); /* messages quote the file's keys and values */
	return 0;
}

int cpu_custom_load(const char *path, struct cpu_custom_model *out)
{
	uint8_t *buf;
	size_t len;
	int rc;

	init_model(out);
	if (file_read_all(path, "CPU model file", CPU_CUSTOM_MAX_BYTES, &buf, &len) < 0)
		return err_escape();
	rc = cpu_custom_parse(buf, len, path, out);
	free(buf);
	return rc;
}

enum feature_word cpu_modifier_word(const struct cpu_cpuid_modifier *m)
{
	for (int w = 0; w < FW_COUNT; w++) {
		const struct feature_word_info *fw = &feature_words[w];

		if (!fw->msr && fw->leaf == m->leaf && fw->reg == m->reg &&
		    (!fw->indexed || fw->subleaf == m->subleaf))
			return (enum feature_word)w;
	}
	return FW_COUNT;
}

void cpu_custom_apply_features(const struct cpu_custom_model *c, struct cpu_featureset *fs,
			       struct cpu_featureset *user)
{
	for (size_t i = 0; i < c->nmods; i++) {
		const struct cpu_cpuid_modifier *m = &c->mods[i];
		enum feature_word w = cpu_modifier_word(m);

		if (w == FW_COUNT)
			continue;
		fs->w[w] = (fs->w[w] & ~m->clear) | m->set;
		user->w[w] |= m->set | m->clear;
	}
}

int cpu_custom_apply_table(const struct cpu_custom_model *c, struct cpuid_table *t)
{
	for (size_t i = 0; i < c->nmods; i++) {
		const struct cpu_cpuid_modifier *m = &c->mods[i];
		struct kvm_cpuid_entry2 *e;
		uint32_t *r;

		if (cpu_modifier_word(m) != FW_COUNT)
			continue;
		e = cpuid_get_or_add(t, m->leaf, m->subleaf, m->indexed);
		if (!e)
			return err_set("CPUID table full applying a modifier of leaf 0x%x",
				       m->leaf);
		r = cpuid_reg_ptr(e, m->reg);
		*r = (*r & ~m->clear) | m->set;
	}
	return 0;
}
