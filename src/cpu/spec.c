/* SPDX-License-Identifier: MIT */
/* Feature strings (cpu/spec.h): parsing and the precedence rule. */
#include "cpu/spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

/* Architectural limits of the fields leaf 1 EAX can encode. */
#define FAMILY_MAX (0xff + 0xf) /* extended family + base family 0xf */
#define MODEL_MAX 0xff          /* extended model << 4 | model */
#define STEPPING_MAX 0xf

#define SUGGEST_MAX 3

/* strlcat: append what fits, always terminated. */
static void append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf), add = strlen(s);

	if (len + add >= size)
		add = size - len - 1;
	memcpy(buf + len, s, add);
	buf[len + add] = '\0';
}

int cpu_feature_name_apply(const char *name, bool on, struct cpu_featureset *fs)
{
	const struct cpu_feature *found[4];
	size_t n = cpu_feature_find_all(name, found, 4);

	if (n == 0) {
		const char *close[SUGGEST_MAX];
		size_t k = cpu_feature_suggest(name, close, SUGGEST_MAX);
		char hint[256] = "";

		for (size_t i = 0; i < k; i++) {
			append(hint, sizeof(hint), i ? ", " : " (did you mean: ");
			append(hint, sizeof(hint), close[i]);
		}
		if (k)
			append(hint, sizeof(hint), "?)");
		return err_set("unknown CPU feature '%s'%s", name, hint);
	}
	for (size_t i = 0; i < n; i++)
		featureset_set(fs, found[i], on);
	return 0;
}

static void add_warning(struct cpu_spec *s, const char *fmt, ...)
{
	size_t len = strlen(s->warnings);
	va_list ap;

	if (len + 1 >= sizeof(s->warnings))
		return;
	va_start(ap, fmt);
	vsnprintf(s->warnings + len, sizeof(s->warnings) - len, fmt, ap);
	va_end(ap);
	len = strlen(s->warnings);
	if (len + 1 < sizeof(s->warnings)) {
		s->warnings[len] = '\n';
		s->warnings[len + 1] = '\0';
	}
}

static int parse_bool(const char *key, const char *val, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true" };
	static const char *const no[] = { "off", "no", "false" };

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return err_set("option '%s=%s': expected on or off", key, val);
}

/* Decimal or 0x-prefixed hex, as QEMU's integer properties take them. */
static int parse_number(const char *key, const char *val, uint32_t min, uint32_t max,
			uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*val || *val == '-' || *val == '+' || *val == ' ')
		goto bad;
	v = strtoull(val, &end, 0);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	return err_set("option '%s=%s': expected a number from %u to %u (decimal or 0x hex)", key,
		       val, min, max);
}

/* '_' and '-' are the same in option names, as in feature names. */
static bool key_is(const char *key, const char *name)
{
	for (; *key && *name; key++, name++) {
		char k = *key == '_' ? '-' : *key;

		if (k != *name)
			return false;
	}
	return *key == *name;
}

static int set_feature(struct cpu_spec *s, const char *key, bool on)
{
	struct cpu_featureset named = { 0 };
	struct cpu_featureset *set = on ? &s->on : &s->off;
	struct cpu_featureset *other = on ? &s->off : &s->on;

	if (cpu_feature_name_apply(key, true, &named) < 0)
		return err_wrap("option '%s'", key);
	for (int w = 0; w < FW_COUNT; w++) {
		/* QEMU warns when f=... follows +f or -f (not the other way round) */
		if (named.w[w] & s->plus.w[w])
			add_warning(s, "Ambiguous CPU model string. Don't mix both \"+%s\" and "
				       "\"%s=%s\"", key, key, on ? "on" : "off");
		if (named.w[w] & s->minus.w[w])
			add_warning(s, "Ambiguous CPU model string. Don't mix both \"-%s\" and "
				       "\"%s=%s\"", key, key, on ? "on" : "off");
		if (named.w[w] & (s->plus.w[w] | s->minus.w[w]))
			s->ambiguous = true;
		set->w[w] |= named.w[w];
		other->w[w] &= ~named.w[w]; /* the last f=on|off wins */
	}
	return 0;
}

static int parse_option(struct cpu_spec *s, char *opt)
{
	char *val;
	bool b;

	if (!*opt)
		return err_set("empty option (a stray comma?)");
	if (opt[0] == '+' || opt[0] == '-') {
		struct cpu_featureset *set = opt[0] == '+' ? &s->plus : &s->minus;
		struct cpu_featureset named = { 0 };

		if (cpu_feature_name_apply(opt + 1, true, &named) < 0)
			return err_wrap("option '%s'", opt);
		for (int w = 0; w < FW_COUNT; w++)
			set->w[w] |= named.w[w];
		return 0;
	}
	val = strchr(opt, '=');
	if (val)
		*val++ = '\0';
	if (key_is(opt, "version")) {
		if (!val || (strcmp(val, "latest") && strcmp(val, "default")))
			return err_set("option 'version=%s': expected latest (an unversioned model "
				       "name is its newest version, as QEMU -M microvm) or default",
				       val ? val : "");
		s->version_latest = !strcmp(val, "latest");
		return 0;
	}
	if (key_is(opt, "vendor") && val && !strcmp(val, "model")) {
		s->vendor_model = true;
		s->has_vendor = false;
		return 0;
	}
	if (key_is(opt, "vendor")) {
		if (!val || strlen(val) != 12)
			return err_set("option 'vendor=%s': a vendor string is exactly 12 characters "
				       "(e.g. GenuineIntel, AuthenticAMD), or 'model' for the model table's",
				       val ? val : "");
		memcpy(s->vendor, val, 13);
		s->has_vendor = true;
		s->vendor_model = false;
		return 0;
	}
	if (key_is(opt, "model-id")) {
		if (!val)
			return err_set("option 'model-id': needs a value (model-id=TEXT)");
		if (strlen(val) > 48)
			return err_set("option 'model-id': %zu characters, the brand string holds 48",
				       strlen(val));
		snprintf(s->model_id, sizeof(s->model_id), "%s", val);
		s->has_model_id = true;
		return 0;
	}
	if (key_is(opt, "family") || key_is(opt, "model") || key_is(opt, "stepping") ||
	    key_is(opt, "level") || key_is(opt, "xlevel")) {
		if (!val)
			return err_set("option '%s': needs a value (%s=N)", opt, opt);
		if (key_is(opt, "family")) {
			s->has_family = true;
			return parse_number(opt, val, 0, FAMILY_MAX, &s->family);
		}
		if (key_is(opt, "model")) {
			s->has_model = true;
			return parse_number(opt, val, 0, MODEL_MAX, &s->model_number);
		}
		if (key_is(opt, "stepping")) {
			s->has_stepping = true;
			return parse_number(opt, val, 0, STEPPING_MAX, &s->stepping);
		}
		if (key_is(opt, "level")) {
			s->has_level = true;
			return parse_number(opt, val, 0, 0x3fffffff, &s->level);
		}
		s->has_xlevel = true;
		return parse_number(opt, val, 0x80000000u, 0x8fffffffu, &s->xlevel);
	}
	if (key_is(opt, "check") || key_is(opt, "enforce") || key_is(opt, "migratable")) {
		if (parse_bool(opt, val ? val : "on", &b) < 0)
			return -1;
		if (key_is(opt, "check"))
			s->check = b;
		else if (key_is(opt, "enforce"))
			s->enforce = b;
		else
			s->migratable = b;
		return 0;
	}
	/* Anything else is a feature; a bare name means name=on, as in QEMU. */
	if (!cpu_feature_find(opt))
		return cpu_feature_name_apply(opt, true, &(struct cpu_featureset){ 0 });
	if (parse_bool(opt, val ? val : "on", &b) < 0)
		return -1;
	return set_feature(s, opt, b);
}

/*
 * Split at single commas; ",," is a literal comma.  Writes the next token
 * into buf and returns where it stopped: the separating comma or the end.
 */
static const char *next_token(const char *p, char *buf, size_t size, bool *too_long)
{
	size_t n = 0;

	*too_long = false;
	for (; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++; /* ",," */
		}
		if (n + 1 >= size) {
			*too_long = true;
			return NULL;
		}
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return p;
}

int cpu_spec_parse(const char *text, struct cpu_spec *out)
{
	char tok[CPU_SPEC_MODEL_MAX];
	const char *p = text;
	bool too_long;

	memset(out, 0, sizeof(*out));
	out->check = true;
	out->migratable = -1;
	if (!text || !*text)
		return err_set("no CPU model given (e.g. Skylake-Server, host, file:PATH)");
	p = next_token(p, tok, sizeof(tok), &too_long);
	if (too_long)
		return err_set("CPU model name longer than %d characters", CPU_SPEC_MODEL_MAX - 1);
	if (!strncmp(tok, "file:", 5)) {
		if (!tok[5])
			return err_set("'file:' needs a path (file:PATH)");
		snprintf(out->model, sizeof(out->model), "%s", tok + 5);
		out->model_is_file = true;
	} else {
		if (!tok[0])
			return err_set("no CPU model given before the options in '%s'", text);
		snprintf(out->model, sizeof(out->model), "%s", tok);
	}
	/* A trailing comma leaves an empty last option: an error, not ignored. */
	while (p && *p == ',') {
		p = next_token(p + 1, tok, sizeof(tok), &too_long);
		if (too_long)
			return err_set("option longer than %d characters", CPU_SPEC_MODEL_MAX - 1);
		if (parse_option(out, tok) < 0)
			return -1;
	}
	if (out->ambiguous)
		add_warning(out, "Compatibility of ambiguous CPU model strings won't be kept on "
				 "future QEMU versions");
	return 0;
}

void cpu_spec_apply_features(const struct cpu_spec *s, struct cpu_featureset *fs)
{
	for (int w = 0; w < FW_COUNT; w++)
		fs->w[w] = ((fs->w[w] & ~s->off.w[w]) | s->on.w[w] | s->plus.w[w]) & ~s->minus.w[w];
}

void cpu_spec_user_bits(const struct cpu_spec *s, struct cpu_featureset *out)
{
	for (int w = 0; w < FW_COUNT; w++)
		out->w[w] = s->plus.w[w] | s->minus.w[w] | s->on.w[w] | s->off.w[w];
}

void cpu_spec_apply_def(const struct cpu_spec *s, struct cpu_def *def)
{
	if (s->has_vendor)
		memcpy(def->vendor, s->vendor, sizeof(def->vendor));
	if (s->has_family)
		def->family = s->family;
	if (s->has_model)
		def->model = s->model_number;
	if (s->has_stepping)
		def->stepping = s->stepping;
	if (s->has_model_id)
		memcpy(def->model_id, s->model_id, sizeof(def->model_id));
	if (s->has_level)
		def->level = s->level;
	if (s->has_xlevel)
		def->xlevel = s->xlevel;
}
