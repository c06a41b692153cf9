/* SPDX-License-Identifier: MIT */
/*
 * Firecracker fingerprints (`cpu-template-helper fingerprint dump`) and CPU
 * config dumps (`cpu-template-helper template dump`) read into a CPUID
 * table.  The shape is described in firecracker.h and docs/fleet.md.
 */
#include "fleet/firecracker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/*
 * Key paths for messages ("guest_cpu_config.cpuid_modifiers[3].modifiers[1].bitmap"),
 * each level's buffer larger than its parent's plus what it appends.
 */
#define KEY_LEAF_MAX 96
#define KEY_MODIFIER_MAX (KEY_LEAF_MAX + 48)
#define KEY_FIELD_MAX (KEY_MODIFIER_MAX + 16)

/* The registers a modifier may name, in Firecracker's spelling. */
static const struct {
	const char *name;
	enum cpuid_reg reg;
} firecracker_registers[] = {
	{ "eax", CPUID_EAX },
	{ "ebx", CPUID_EBX },
	{ "ecx", CPUID_ECX },
	{ "edx", CPUID_EDX },
};

#define FIRECRACKER_REGISTER_COUNT (sizeof(firecracker_registers) / sizeof(firecracker_registers[0]))

bool firecracker_dump_detect(const json_t *root)
{
	if (!json_is_object(root))
		return false;
	return json_object_get(root, "guest_cpu_config") || json_object_get(root, "cpuid_modifiers");
}

/*
 * Firecracker writes leaf and subleaf as strings with a radix prefix ("0x7",
 * "0b111") and rejects anything without one; so do we.
 */
static int parse_prefixed_u32(const json_t *v, const char *where, uint32_t *out)
{
	const char *s, *digits;
	char *end;
	unsigned long long n;
	int base;

	if (!json_is_string(v))
		return err_set("%s: expected a string like \"0x7\"", where);
	s = json_string_value(v);
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		base = 16;
	else if (!strncmp(s, "0b", 2) || !strncmp(s, "0B", 2))
		base = 2;
	else
		return err_set("%s: '%s' lacks a 0x or 0b prefix", where, s);
	digits = s + 2;
	if (!*digits || *digits == '-' || *digits == '+' || *digits == ' ')
		return err_set("%s: '%s' is not a number", where, s);
	errno = 0;
	n = strtoull(digits, &end, base);
	if (errno || *end)
		return err_set("%s: '%s' is not a number", where, s);
	if (n > UINT32_MAX)
		return err_set("%s: '%s' does not fit in 32 bits", where, s);
	*out = (uint32_t)n;
	return 0;
}

/*
 * A dump's bitmap: "0b" then exactly 32 of '0'/'1', most significant first,
 * '_' allowed anywhere as a separator.  'x' means "keep the host's bit" in a
 * template, which a record of a host cannot mean: it is refused rather than
 * read as 0, so a template passed by mistake is caught instead of turning
 * into a host without those features.
 */
static int parse_full_bitmap(const json_t *v, const char *where, uint32_t *out)
{
	const char *s;
	uint32_t value = 0;
	unsigned bits = 0;

	if (!json_is_string(v))
		return err_set("%s: expected a string like \"0b0101...\"", where);
	s = json_string_value(v);
	if (strncmp(s, "0b", 2))
		return err_set("%s: '%s' does not start with 0b", where, s);
	for (const char *p = s + 2; *p; p++) {
		switch (*p) {
		case '_':
			continue;
		case '0':
		case '1':
			if (bits == 32)
				return err_set("%s: more than 32 bits", where);
			value = (value << 1) | (uint32_t)(*p - '0');
			bits++;
			break;
		case 'x':
		case 'X':
			return err_set("%s: 'x' (keep the host's bit) is not allowed in a dump: "
				       "this looks like a CPU template, not a fingerprint", where);
		default:
			return err_set("%s: unexpected character '%c' in a bitmap", where, *p);
		}
	}
	if (bits != 32)
		return err_set("%s: %u bits; a dump states all 32", where, bits);
	*out = value;
	return 0;
}

static int parse_flags(const json_t *v, const char *where, uint32_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return err_set("%s: expected an integer", where);
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)UINT32_MAX)
		return err_set("%s: %" JSON_INTEGER_FORMAT " is out of range", where, n);
	*out = (uint32_t)n;
	return 0;
}

static int parse_register_modifier(const json_t *m, const char *where,
				   struct kvm_cpuid_entry2 *e, unsigned *seen)
{
	char key[KEY_FIELD_MAX];
	const json_t *reg_v, *bitmap_v;
	const char *name;
	uint32_t value = 0;

	if (!json_is_object(m))
		return err_set("%s: expected an object", where);
	reg_v = json_object_get(m, "register");
	bitmap_v = json_object_get(m, "bitmap");
	if (!reg_v)
		return err_set("%s: missing \"register\"", where);
	if (!bitmap_v)
		return err_set("%s: missing \"bitmap\"", where);
	snprintf(key, sizeof(key), "%s.register", where);
	if (!json_is_string(reg_v))
		return err_set("%s: expected one of eax, ebx, ecx, edx", key);
	name = json_string_value(reg_v);
	for (size_t i = 0; i < FIRECRACKER_REGISTER_COUNT; i++) {
		if (strcmp(name, firecracker_registers[i].name))
			continue;
		if (*seen & (1u << i))
			return err_set("%s: %s given twice", key, name);
		snprintf(key, sizeof(key), "%s.bitmap", where);
		if (parse_full_bitmap(bitmap_v, key, &value) < 0)
			return -1;
		*cpuid_reg_ptr(e, firecracker_registers[i].reg) = value;
		*seen |= 1u << i;
		return 0;
	}
	return err_set("%s: '%s' is not one of eax, ebx, ecx, edx", key, name);
}

static int parse_leaf_modifier(const json_t *lm, const char *where, struct cpuid_table *out)
{
	char key[KEY_MODIFIER_MAX];
	const json_t *mods;
	struct kvm_cpuid_entry2 entry = { 0 };
	unsigned seen = 0;
	size_t i;
	const json_t *m;

	if (!json_is_object(lm))
		return err_set("%s: expected an object", where);
	snprintf(key, sizeof(key), "%s.leaf", where);
	if (!json_object_get(lm, "leaf"))
		return err_set("%s: missing", key);
	if (parse_prefixed_u32(json_object_get(lm, "leaf"), key, &entry.function) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s.subleaf", where);
	if (!json_object_get(lm, "subleaf"))
		return err_set("%s: missing", key);
	if (parse_prefixed_u32(json_object_get(lm, "subleaf"), key, &entry.index) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s.flags", where);
	if (!json_object_get(lm, "flags"))
		return err_set("%s: missing", key);
	if (parse_flags(json_object_get(lm, "flags"), key, &entry.flags) < 0)
		return -1;
	/*
	 * Only "subleaf significant" means anything to a table: the stateful
	 * flags (2, 4) are leaf 2's obsolete protocol, which KVM no longer uses
	 * but old kernels reported, and a skyvm dump cannot carry them.
	 */
	entry.flags &= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	/* Without a significant index KVM ignores the subleaf; keep ours canonical. */
	if (!(entry.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))
		entry.index = 0;

	snprintf(key, sizeof(key), "%s.modifiers", where);
	mods = json_object_get(lm, "modifiers");
	if (!mods)
		return err_set("%s: missing", key);
	if (!json_is_array(mods))
		return err_set("%s: expected an array", key);
	json_array_foreach(mods, i, m) {
		snprintf(key, sizeof(key), "%s.modifiers[%zu]", where, i);
		if (parse_register_modifier(m, key, &entry, &seen) < 0)
			return -1;
	}
	for (size_t r = 0; r < FIRECRACKER_REGISTER_COUNT; r++)
		if (!(seen & (1u << r)))
			return err_set("%s.modifiers: no %s; a dump states all four registers",
				       where, firecracker_registers[r].name);

	/* The rule of skyvm dumps: no (leaf, subleaf) that two entries answer. */
	for (uint32_t k = 0; k < out->nent; k++) {
		if (!cpuid_dump_entries_clash(&out->ent[k], &entry))
			continue;
		if (!((out->ent[k].flags ^ entry.flags) & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))
			return err_set("%s: leaf 0x%" PRIx32 " subleaf 0x%" PRIx32 " given twice",
				       where, entry.function, entry.index);
		return err_set("%s: leaf 0x%" PRIx32 " is given by an earlier modifier too, and "
			       "one of them has flags 0 (answers every subleaf): a lookup would "
			       "find only one", where, entry.function);
	}
	if (out->nent >= CPUID_MAX_ENTRIES)
		return err_set("%s: more than %d CPUID entries", where, CPUID_MAX_ENTRIES);
	out->ent[out->nent++] = entry;
	return 0;
}

/* Copy a JSON string member into a fixed buffer; absent or not a string leaves "". */
static void copy_string_member(const json_t *obj, const char *key, char *buf, size_t size)
{
	const json_t *v = json_object_get(obj, key);

	buf[0] = '\0';
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
}

/* The file name without directories and without ".json": the host's name by default. */
static void file_stem(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".json"))
		len -= 5;
	if (len >= size)
		len = size - 1;
	memcpy(buf, base, len);
	buf[len] = '\0';
}

/* CPUID.0: EBX, EDX, ECX spell the vendor. */
static void vendor_from_cpuid(const struct cpuid_table *t, char out[13])
{
	uint32_t regs[3] = {
		cpuid_value(t, 0, 0, CPUID_EBX),
		cpuid_value(t, 0, 0, CPUID_EDX),
		cpuid_value(t, 0, 0, CPUID_ECX),
	};

	memcpy(out, regs, 12);
	out[12] = '\0';
}

/* CPUID.80000002H-80000004H: the brand string, 48 bytes, leading blanks dropped. */
static void brand_from_cpuid(const struct cpuid_table *t, char out[49])
{
	uint32_t regs[12];
	const char *p;

	for (uint32_t leaf = 0; leaf < 3; leaf++)
		for (unsigned r = 0; r < 4; r++)
			regs[leaf * 4 + r] = cpuid_value(t, 0x80000002u + leaf, 0, (enum cpuid_reg)r);
	memcpy(out, regs, 48);
	out[48] = '\0';
	for (p = out; *p == ' '; p++)
		;
	memmove(out, p, strlen(p) + 1);
}

int firecracker_dump_parse(json_t *root, const char *path, struct cpuid_table *out,
			   struct cpuid_dump_meta *meta)
{
	const json_t *config, *mods, *lm;
	const char *prefix;
	char where[KEY_LEAF_MAX];
	char fc_version[64], microcode[64];
	size_t i;

	if (!json_is_object(root))
		return err_set("%s: not a Firecracker fingerprint: expected a JSON object", path);
	config = json_object_get(root, "guest_cpu_config");
	if (config) {
		prefix = "guest_cpu_config.";
		if (!json_is_object(config))
			return err_set("%s: guest_cpu_config: expected an object", path);
	} else {
		prefix = "";
		config = root;
	}
	mods = json_object_get(config, "cpuid_modifiers");
	if (!mods)
		return err_set("%s: %scpuid_modifiers: missing (not a Firecracker fingerprint?)", path,
			       prefix);
	if (!json_is_array(mods))
		return err_set("%s: %scpuid_modifiers: expected an array", path, prefix);
	if (json_array_size(mods) == 0)
		return err_set("%s: %scpuid_modifiers: empty; a dump holds the host's CPUID", path,
			       prefix);

	memset(out, 0, sizeof(*out));
	json_array_foreach(mods, i, lm) {
		snprintf(where, sizeof(where), "%scpuid_modifiers[%zu]", prefix, i);
		if (parse_leaf_modifier(lm, where, out) < 0)
			return err_wrap("%s", path);
	}
	if (!cpuid_find_const(out, 0, 0))
		return err_set("%s: %scpuid_modifiers: no leaf 0x0 (vendor and max leaf)", path,
			       prefix);
	cpuid_sort(out);

	memset(meta, 0, sizeof(*meta));
	file_stem(path, meta->name, sizeof(meta->name));
	vendor_from_cpuid(out, meta->vendor);
	brand_from_cpuid(out, meta->model_id);
	copy_string_member(root, "kernel_version", meta->kernel, sizeof(meta->kernel));
	copy_string_member(root, "firecracker_version", fc_version, sizeof(fc_version));
	copy_string_member(root, "microcode_version", microcode, sizeof(microcode));
	if (config == root)
		snprintf(meta->source, sizeof(meta->source),
			 "firecracker: cpu-template-helper template dump (guest CPU configuration)");
	else
		snprintf(meta->source, sizeof(meta->source),
			 "firecracker: cpu-template-helper fingerprint dump (firecracker %s, "
			 "microcode %s)",
			 fc_version[0] ? fc_version : "?", microcode[0] ? microcode : "?");
	return 0;
}
