/* SPDX-License-Identifier: MIT */
/*
 * CPUID dumps: a host's KVM_GET_SUPPORTED_CPUID written as JSON by
 * `skyvm cpu host --json`, and read back by `cpu show --supported`,
 * `cpu compare` and `cpu baseline`.  The format is documented and
 * versioned in docs/cpuid-dump.md:
 *
 *   { "format": "skyvm-cpuid-dump", "version": 1,
 *     "source": "KVM_GET_SUPPORTED_CPUID" | "synthesised: <how>",
 *     "host": { "name": "...", "vendor": "...", "model_id": "...", "kernel": "..." },
 *     "entries": [ { "leaf": "0x00000007", "subleaf": "0x0", "indexed": true,
 *                    "eax": "0x...", "ebx": "0x...", "ecx": "0x...", "edx": "0x..." } ] }
 *
 * Firecracker's `cpu-template-helper fingerprint dump` JSON is read too
 * (src/fleet/firecracker.c); cpuid_dump_load() detects which it is.
 */
#ifndef SKYVM_CPU_DUMP_H
#define SKYVM_CPU_DUMP_H

#include <stdbool.h>
#include <stdio.h>

#include "cpu/cpuid.h"

struct cpuid_dump_meta {
	char name[128];   /* host name or file stem */
	char source[256];
	char vendor[13];
	char model_id[49];
	char kernel[128];
};

/* The largest dump read: a full table with long host strings is ~60 KiB. */
#define CPUID_DUMP_MAX_BYTES (4u << 20)

/*
 * Load a dump (either format).  Errors name the file, and for JSON syntax
 * errors the line and column; for a bad key, its path ("entries[3].eax").
 * A file over CPUID_DUMP_MAX_BYTES is refused.  Control characters in
 * *meta and in error messages are escaped (util/text.h): both reach a
 * terminal.
 */
int cpuid_dump_load(const char *path, struct cpuid_table *out, struct cpuid_dump_meta *meta);
/* The same from memory; `name` stands for the file in messages and the name. */
int cpuid_dump_parse(const void *buf, size_t len, const char *name, struct cpuid_table *out,
		     struct cpuid_dump_meta *meta);

/*
 * True when CPUID lookup (cpuid_find) could answer one (leaf, subleaf) with
 * either entry: same leaf, and one is not indexed or both have the index.
 * A dump never holds two such entries.
 */
bool cpuid_dump_entries_clash(const struct kvm_cpuid_entry2 *a, const struct kvm_cpuid_entry2 *b);
/* Write `t` in the skyvm format (sorted). */
int cpuid_dump_write(FILE *f, const struct cpuid_table *t, const struct cpuid_dump_meta *meta);

#endif
