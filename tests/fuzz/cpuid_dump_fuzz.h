/* SPDX-License-Identifier: MIT */
/*
 * CPUID dumps under a fuzzer (cpuid_dump.c: skyvm dumps, firecracker_dump.c:
 * Firecracker fingerprints; the same reader, different seeds): parse from
 * memory, then use the table as the tools do and check what must hold.
 */
#ifndef SKYVM_FUZZ_CPUID_DUMP_H
#define SKYVM_FUZZ_CPUID_DUMP_H

#include "cpu/dump.h"
#include "cpu/xsave.h"
#include "fuzz.h"

static inline int cpuid_dump_fuzz_one(const uint8_t *data, size_t size)
{
	static struct cpuid_table t;
	static struct cpuid_dump_meta meta;
	int rc = cpuid_dump_parse(data, size, "fuzz.json", &t, &meta);
	char *text = NULL;
	size_t text_len = 0;
	FILE *f;

	fuzz_report(rc);
	/* Nothing a terminal would act on leaves the reader. */
	FUZZ_CHECK(!fuzz_has_control(err_msg()));
	if (rc < 0)
		return 0;
	FUZZ_CHECK(t.nent > 0 && t.nent <= CPUID_MAX_ENTRIES);
	FUZZ_CHECK(!fuzz_has_control(meta.name) && !fuzz_has_control(meta.source) &&
		   !fuzz_has_control(meta.vendor) && !fuzz_has_control(meta.model_id) &&
		   !fuzz_has_control(meta.kernel));
	/* Lookup finds each entry as itself: no entry hides another. */
	for (uint32_t i = 0; i < t.nent; i++)
		FUZZ_CHECK(cpuid_find_const(&t, t.ent[i].function, t.ent[i].index) == &t.ent[i]);
	/* XSAVE sizes from the table's leaf 0xD never wrap below the legacy area. */
	FUZZ_CHECK(cpu_xsave_size(&t, ~0ull) >= 576);
	FUZZ_CHECK(cpu_xsave_compacted_size(&t, ~0ull) >= cpu_xsave_compacted_size(&t, 0x7));
	/* What it writes, it reads back: the same table. */
	f = open_memstream(&text, &text_len);
	if (f) {
		static struct cpuid_table back;
		static struct cpuid_dump_meta back_meta;

		rc = cpuid_dump_write(f, &t, &meta);
		fclose(f);
		if (rc == 0 && text) {
			FUZZ_CHECK(cpuid_dump_parse(text, text_len, "back.json", &back,
						    &back_meta) == 0);
			FUZZ_CHECK(back.nent == t.nent &&
				   !memcmp(back.ent, t.ent, t.nent * sizeof(t.ent[0])));
		}
		free(text);
	}
	return 0;
}

#endif
