/* SPDX-License-Identifier: MIT */
/*
 * The cache model a guest sees: leaves 2, 4, 0x80000005, 0x80000006 and
 * 0x8000001D, written from a description of four caches, as QEMU writes
 * them (target/i386/cpu.c, cpu_x86_cpuid) rather than passed through from
 * the host, so a model's caches are the same on every host.
 *
 * A named model either carries its own description (EPYC, EPYC-Rome, ...:
 * `cache` in the model table) or gets QEMU's "legacy" caches, which differ
 * between the Intel leaves (2, 4) and the AMD ones (0x8000000[56]) exactly
 * as QEMU's do.  host and max get the legacy caches too (QEMU passes the
 * host's through only with host-cache-info=on, which skyvm does not offer).
 */
#ifndef SKYVM_CPU_CACHE_H
#define SKYVM_CPU_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpuid.h"

enum cpu_cache_type { CACHE_DATA = 1, CACHE_INSTRUCTION = 2, CACHE_UNIFIED = 3 };

/*
 * Which topology level shares a cache (QEMU's share_level, in the cache
 * descriptions of QEMU 9.1 and later).  CACHE_SHARE_LEGACY: QEMU 7.2's fixed
 * counts (cpu_cache_leaves()).  skyvm's topology has no modules or dies, so
 * MODULE and DIE are the package, as in QEMU without -smp modules=/dies=.
 */
enum cpu_cache_share {
	CACHE_SHARE_LEGACY = 0,
	CACHE_SHARE_CORE,
	CACHE_SHARE_MODULE,
	CACHE_SHARE_DIE,
	CACHE_SHARE_SOCKET,
};

struct cpu_cache {
	uint8_t type;          /* enum cpu_cache_type */
	uint8_t level;         /* 1..3 */
	uint32_t size;         /* bytes = line_size * associativity * partitions * sets */
	uint16_t line_size;    /* bytes */
	uint16_t associativity;
	uint8_t partitions;
	uint32_t sets;
	uint8_t lines_per_tag; /* 0x8000000[56] only */
	bool self_init, no_invd_sharing, inclusive, complex_indexing;
	uint8_t share;         /* enum cpu_cache_share */
};

/* L1 data, L1 instruction, L2, L3: one description for every leaf. */
struct cpu_cache_info {
	struct cpu_cache l1d, l1i, l2, l3;
};

/* QEMU's models with their own caches (target/i386/cpu.c *_cache_info). */
extern const struct cpu_cache_info cpu_cache_epyc, cpu_cache_epyc_rome, cpu_cache_epyc_milan,
	cpu_cache_epyc_milan_v2, cpu_cache_epyc_genoa, cpu_cache_epyc_v4, cpu_cache_epyc_rome_v3;
/* The same from QEMU 10.1, each cache with its share level. */
extern const struct cpu_cache_info cpu_cache_epyc_v5, cpu_cache_epyc_rome_v5,
	cpu_cache_epyc_milan_v3, cpu_cache_epyc_genoa_v2, cpu_cache_epyc_turin, cpu_cache_xeon_spr, cpu_cache_xeon_gnr,
	cpu_cache_xeon_srf, cpu_cache_yongfeng;

struct cpu_topology;

/*
 * Write leaves 2, 4, 0x80000005, 0x80000006 and 0x8000001D of `t` (those
 * within its levels) for `cache` (NULL: QEMU's legacy caches), the CPU
 * vendor in t's leaf 0 and the vCPU topology.  On an AMD or Hygon vendor
 * leaves 2 and 4 read as zero (QEMU's x-vendor-cpuid-only, on for every
 * current machine type).  Returns 0, or -1 with err_msg() when t is full.
 */
int cpu_cache_leaves(struct cpuid_table *t, const struct cpu_cache_info *cache,
		     const struct cpu_topology *topo);

/* Sanity of a description (size = line * ways * partitions * sets, ...). */
bool cpu_cache_valid(const struct cpu_cache *c);

#endif
