/* SPDX-License-Identifier: MIT */
/*
 * CPUID dumps in the skyvm format (docs/cpuid-dump.md), and the format
 * detection that sends Firecracker fingerprints to fleet/firecracker.c.
 */
#include "cpu/dump.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/msrs.h"
#include "fleet/firecracker.h"
#include "util/err.h"
#include "util/file.h"
#include "util/json.h"
#include "util/text.h"

#define DUMP_FORMAT "skyvm-cpuid-dump"
#define DUMP_VERSION 1

/* A 32-bit number (util/json.h: "0x1f", "31" or a JSON integer); errors name `where`. */
static int parse_u32(const json_t *v, const char *where, uint32_t *out)
{
	uint64_t n;

	if (json_read_uint(v, 32, &n) < 0) {
		err_wrap("%s", where);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/*
 * "feature_msrs": [ { "index": "0x0000010a", "value": "0x..." } ]: what
 * KVM_GET_MSRS on /dev/kvm returned for the feature MSRs KVM lists
 * (cpu/msrs.h).  Optional: a dump without it records none (msrs_known false).
 */
static int parse_msrs(const json_t *msrs, struct cpuid_table *out)
{
	size_t i;
	const json_t *jm;

	out->nmsrs = 0;
	out->msrs_known = msrs != NULL;
	if (!msrs)
		return 0;
	if (!json_is_array(msrs))
		return err_set("feature_msrs: expected an array");
	json_array_foreach(msrs, i, jm) {
		char where[64];
		uint32_t index;
		uint64_t value = 0, seen;

		if (!json_is_object(jm))
			return err_set("feature_msrs[%zu]: expected an object", i);
		snprintf(where, sizeof(where), "feature_msrs[%zu].index", i);
		if (parse_u32(json_object_get(jm, "index"), where, &index) < 0)
			return -1;
		snprintf(where, sizeof(where), "feature_msrs[%zu].value", i);
		if (json_read_uint(json_object_get(jm, "value"), 64, &value) < 0)
			return err_wrap("%s", where);
		if (cpu_msr_get(out, index, &seen))
			return err_set("feature_msrs[%zu]: MSR 0x%x appears twice", i, index);
		if (cpu_msr_put(out, index, value) < 0)
			return err_wrap("feature_msrs[%zu]", i);
	}
	return 0;
}

static void copy_str(char *dst, size_t size, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		snprintf(dst, size, "%s", json_string_value(v));
}

static void file_stem(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strcspn(base, ".");
	if (len >= size)
		len = size - 1;
	memcpy(buf, base, len);
	buf[len] = '\0';
}

/* The vendor string of leaf 0: EBX, EDX, ECX. */
static void vendor_of(const struct cpuid_table *t, char out[13])
{
	const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, 0, 0);

	out[0] = '\0';
	if (!e)
		return;
	memcpy(out, &e->ebx, 4);
	memcpy(out + 4, &e->edx, 4);
	memcpy(out + 8, &e->ecx, 4);
	out[12] = '\0';
}

bool cpuid_dump_entries_clash(const struct kvm_cpuid_entry2 *a, const struct kvm_cpuid_entry2 *b)
{
	if (a->function != b->function)
		return false;
	/* An entry without a significant index answers every subleaf of its leaf. */
	if (!(a->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
	    !(b->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))
		return true;
	return a->index == b->index;
}

/*
 * The subleaf rule, the same whatever the order of the entries:
 *  - an entry without "indexed" is indexed when its subleaf is not 0 or when
 *    its leaf has other entries (the writer listed subleaves: 0 is one of
 *    them, not "every subleaf");
 *  - no two entries may answer the same (leaf, subleaf) as CPUID lookup
 *    (cpuid_find) sees it: an entry that is not indexed answers every
 *    subleaf of its leaf, so it must be its leaf's only entry.
 * Checked as each entry arrives, so errors come in file order: when the
 * second entry of a leaf arrives, both already have their final rule.
 * implicit[k]: entry k gave no "indexed".
 */
static int add_entry(struct cpuid_table *out, bool *implicit, size_t i,
		     const struct kvm_cpuid_entry2 *add, bool add_implicit)
{
	struct kvm_cpuid_entry2 e = *add;

	for (uint32_t k = 0; k < out->nent; k++) {
		if (out->ent[k].function != e.function)
			continue;
		if (implicit[k])
			out->ent[k].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX; /* index stays */
		if (add_implicit)
			e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	for (uint32_t k = 0; k < out->nent; k++) {
		const struct kvm_cpuid_entry2 *o = &out->ent[k];

		if (!cpuid_dump_entries_clash(o, &e))
			continue;
		if ((o->flags ^ e.flags) & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			return err_set("entries[%zu]: leaf 0x%x is in an earlier entry too, and one "
				       "of them is not indexed (answers every subleaf): a lookup "
				       "would find only one", i, e.function);
		return err_set("entries[%zu]: leaf 0x%x subleaf 0x%x appears twice", i,
			       e.function, e.index);
	}
	if (out->nent >= CPUID_MAX_ENTRIES)
		return err_set("entries: more than %d entries", CPUID_MAX_ENTRIES);
	implicit[out->nent] = add_implicit;
	out->ent[out->nent++] = e;
	return 0;
}

static int parse_entry(const json_t *je, size_t i, struct cpuid_table *out, bool *implicit)
{
	static const char *const regs[] = { "eax", "ebx", "ecx", "edx" };
	char where[64];
	uint32_t leaf, subleaf = 0, val[4];
	const json_t *v, *indexed_v;
	bool indexed;
	struct kvm_cpuid_entry2 e;

	if (!json_is_object(je))
		return err_set("entries[%zu]: expected an object", i);
	snprintf(where, sizeof(where), "entries[%zu].leaf", i);
	if (parse_u32(json_object_get(je, "leaf"), where, &leaf) < 0)
		return -1;
	v = json_object_get(je, "subleaf");
	snprintf(where, sizeof(where), "entries[%zu].subleaf", i);
	if (v && parse_u32(v, where, &subleaf) < 0)
		return -1;
	indexed_v = json_object_get(je, "indexed");
	if (indexed_v && !json_is_boolean(indexed_v))
		return err_set("entries[%zu].indexed: expected true or false", i);
	indexed = indexed_v ? json_is_true(indexed_v) : subleaf != 0;
	for (int r = 0; r < 4; r++) {
		snprintf(where, sizeof(where), "entries[%zu].%s", i, regs[r]);
		v = json_object_get(je, regs[r]);
		if (!v)
			return err_set("%s: missing", where);
		if (parse_u32(v, where, &val[r]) < 0)
			return -1;
	}
	memset(&e, 0, sizeof(e));
	e.function = leaf;
	e.index = indexed ? subleaf : 0;
	e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e.eax = val[0];
	e.ebx = val[1];
	e.ecx = val[2];
	e.edx = val[3];
	return add_entry(out, implicit, i, &e, !indexed_v);
}

static int parse_skyvm(const json_t *root, struct cpuid_table *out, struct cpuid_dump_meta *meta)
{
	const json_t *fmt = json_object_get(root, "format");
	const json_t *ver = json_object_get(root, "version");
	const json_t *host = json_object_get(root, "host");
	const json_t *entries = json_object_get(root, "entries");
	bool implicit[CPUID_MAX_ENTRIES];
	size_t i;
	const json_t *je;

	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), DUMP_FORMAT))
		return err_set("format: expected \"%s\" (or a Firecracker fingerprint)",
			       DUMP_FORMAT);
	if (!json_is_integer(ver))
		return err_set("version: expected an integer");
	if (json_integer_value(ver) != DUMP_VERSION)
		return err_set("version: %" JSON_INTEGER_FORMAT " is not supported (this skyvm "
			       "reads version %d)", json_integer_value(ver), DUMP_VERSION);
	if (host && !json_is_object(host))
		return err_set("host: expected an object");
	if (!json_is_array(entries))
		return err_set("entries: expected an array");
	if (json_array_size(entries) == 0)
		return err_set("entries: empty");
	copy_str(meta->source, sizeof(meta->source), root, "source");
	if (host) {
		copy_str(meta->name, sizeof(meta->name), host, "name");
		copy_str(meta->vendor, sizeof(meta->vendor), host, "vendor");
		copy_str(meta->model_id, sizeof(meta->model_id), host, "model_id");
		copy_str(meta->kernel, sizeof(meta->kernel), host, "kernel");
	}
	json_array_foreach(entries, i, je)
		if (parse_entry(je, i, out, implicit) < 0)
			return -1;
	return parse_msrs(json_object_get(root, "feature_msrs"), out);
}

/* What a dump may show a terminal: its strings with control characters escaped. */
static void escape_meta(struct cpuid_dump_meta *meta)
{
	text_escape_inplace(meta->name, sizeof(meta->name));
	text_escape_inplace(meta->source, sizeof(meta->source));
	text_escape_inplace(meta->vendor, sizeof(meta->vendor));
	text_escape_inplace(meta->model_id, sizeof(meta->model_id));
	text_escape_inplace(meta->kernel, sizeof(meta->kernel));
}

static int parse_buffer(const void *buf, size_t len, const char *name, struct cpuid_table *out,
			struct cpuid_dump_meta *meta)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	if (len > CPUID_DUMP_MAX_BYTES)
		return err_set("%s: %zu bytes is larger than the %u a CPUID dump may have", name,
			       len, CPUID_DUMP_MAX_BYTES);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line < 0)
			return err_set("%s: %s", name, jerr.text);
		return err_set("%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set("%s: not a CPUID dump (expected a JSON object)", name);
	}
	if (firecracker_dump_detect(root)) {
		rc = firecracker_dump_parse(root, name, out, meta);
		json_decref(root);
		return rc;
	}
	rc = parse_skyvm(root, out, meta);
	json_decref(root);
	if (rc < 0)
		return err_wrap("%s", name);
	if (!meta->name[0])
		file_stem(name, meta->name, sizeof(meta->name));
	if (!meta->vendor[0])
		vendor_of(out, meta->vendor);
	cpuid_sort(out);
	return 0;
}

int cpuid_dump_parse(const void *buf, size_t len, const char *name, struct cpuid_table *out,
		     struct cpuid_dump_meta *meta)
{
	memset(out, 0, sizeof(*out));
	memset(meta, 0, sizeof(*meta));
	if (parse_buffer(buf, len, name, out, meta) < 0) {
		memset(out, 0, sizeof(*out));
		return err_escape(); /* messages quote the file's strings */
	}
	escape_meta(meta);
	return 0;
}

int cpuid_dump_load(const char *path, struct cpuid_table *out, struct cpuid_dump_meta *meta)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(meta, 0, sizeof(*meta));
	if (file_read_all(path, "CPUID dump", CPUID_DUMP_MAX_BYTES, &buf, &len) < 0)
		return err_escape();
	rc = cpuid_dump_parse(buf, len, path, out, meta);
	free(buf);
	return rc;
}

/* A JSON string literal for `s` (escaped by jansson); "" when s is NULL. */
static int put_string(FILE *f, const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *text;

	if (!j) /* not UTF-8 */
		j = json_string("");
	text = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (!text)
		return err_set("out of memory");
	fputs(text, f);
	free(text);
	return 0;
}

static int write_sorted(FILE *f, const struct cpuid_table *sorted,
			const struct cpuid_dump_meta *meta);

int cpuid_dump_write(FILE *f, const struct cpuid_table *t, const struct cpuid_dump_meta *meta)
{
	static const struct cpuid_dump_meta none;
	struct cpuid_table *sorted = malloc(sizeof(*sorted)); /* 10 KiB: off the stack */
	int rc;

	if (!sorted)
		return err_set("out of memory");
	if (!meta)
		meta = &none;
	*sorted = *t;
	cpuid_sort(sorted);
	rc = write_sorted(f, sorted, meta);
	free(sorted);
	return rc;
}

static int write_sorted(FILE *f, const struct cpuid_table *sorted,
			const struct cpuid_dump_meta *meta)
{
	fprintf(f, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"source\": ", DUMP_FORMAT,
		DUMP_VERSION);
	if (put_string(f, meta->source[0] ? meta->source : "KVM_GET_SUPPORTED_CPUID") < 0)
		return -1;
	fputs(",\n  \"host\": {\n    \"name\": ", f);
	put_string(f, meta->name);
	fputs(",\n    \"vendor\": ", f);
	put_string(f, meta->vendor);
	fputs(",\n    \"model_id\": ", f);
	put_string(f, meta->model_id);
	fputs(",\n    \"kernel\": ", f);
	put_string(f, meta->kernel);
	fputs("\n  },\n  \"entries\": [\n", f);
	for (uint32_t i = 0; i < sorted->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &sorted->ent[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		fprintf(f, "    {\"leaf\": \"0x%08x\", \"subleaf\": \"0x%x\", \"indexed\": %s, "
			   "\"eax\": \"0x%08x\", \"ebx\": \"0x%08x\", \"ecx\": \"0x%08x\", "
			   "\"edx\": \"0x%08x\"}%s\n",
			e->function, indexed ? e->index : 0, indexed ? "true" : "false", e->eax,
			e->ebx, e->ecx, e->edx, i + 1 < sorted->nent ? "," : "");
	}
	fputs("  ]", f);
	if (sorted->msrs_known) {
		fputs(",\n  \"feature_msrs\": [\n", f);
		for (uint32_t i = 0; i < sorted->nmsrs && i < CPU_FEATURE_MSRS_MAX; i++)
			fprintf(f, "    {\"index\": \"0x%08x\", \"value\": \"0x%016llx\"}%s\n",
				sorted->msrs[i].index,
				(unsigned long long)sorted->msrs[i].value,
				i + 1 < sorted->nmsrs ? "," : "");
		fputs("  ]", f);
	}
	fputs("\n}\n", f);
	if (ferror(f))
		return err_set("write error");
	return 0;
}
