/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's CPU fingerprints, read as CPUID tables.
 *
 * `cpu-template-helper fingerprint dump` writes the guest CPU configuration
 * Firecracker would give a guest on that host, wrapped with host facts:
 *
 *   { "firecracker_version": "...", "kernel_version": "...",
 *     "microcode_version": "...", "bios_version": "...", "bios_revision": "...",
 *     "guest_cpu_config": {
 *       "cpuid_modifiers": [ { "leaf": "0x7", "subleaf": "0x0", "flags": 1,
 *                              "modifiers": [ { "register": "ebx",
 *                                               "bitmap": "0b0000...1" } ] } ],
 *       "msr_modifiers": [ ... ] } }
 *
 * `cpu-template-helper template dump` writes the inner object alone; both are
 * accepted.  A dump states every bit, so a bitmap must hold exactly 32 of
 * '0'/'1' ('_' separators allowed): an 'x' (keep the host's bit) only makes
 * sense in a template applied to a host, never in a record of one, and is an
 * error naming the key.  MSR modifiers are ignored: CPUID is what fleet
 * compatibility compares.  See docs/fleet.md.
 */
#ifndef SKYVM_FLEET_FIRECRACKER_H
#define SKYVM_FLEET_FIRECRACKER_H

#include <jansson.h>
#include <stdbool.h>

#include "cpu/cpuid.h"
#include "cpu/dump.h"

/*
 * True when `root` looks like a Firecracker fingerprint or CPU config dump
 * (an object with "guest_cpu_config" or "cpuid_modifiers"), so that
 * cpuid_dump_load() can tell it from a skyvm dump before parsing.
 */
bool firecracker_dump_detect(const json_t *root);

/*
 * Read a fingerprint (or template dump) already parsed from `path` into *out
 * (sorted by leaf, subleaf) and *meta (name = file stem, vendor and model_id
 * from leaves 0 and 0x80000002-4, kernel and a source line from the host
 * facts).  `path` is used for messages and the name only.  Returns 0, or -1
 * with err_msg() naming the file and the key ("guest_cpu_config.
 * cpuid_modifiers[3].modifiers[1].bitmap: 'x' is not allowed in a dump").
 */
int firecracker_dump_parse(json_t *root, const char *path, struct cpuid_table *out,
			   struct cpuid_dump_meta *meta);

#endif
