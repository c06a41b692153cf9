/* SPDX-License-Identifier: MIT */
/*
 * Cache leaves from a cache description (cpu/cache.h).  The encodings and
 * QEMU's values are from QEMU's target/i386/cpu.c (7.2): the "legacy"
 * caches every model without its own description gets, the TLB constants
 * of 0x8000000[56], and the leaf-2 descriptor table of the SDM.
 */
#include "cpu/cache.h"

#include <stddef.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/normalise.h"
#include "cpu/topology.h"
#include "util/err.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* QEMU's legacy caches.  Leaves 2 and 4 (Intel) and 0x8000000[56] (AMD) disagree, as in QEMU. */
static const struct cpu_cache legacy_l1d = {
	CACHE_DATA, 1, 32 * KIB, 64, 8, 1, 64, 0, .self_init = true, .no_invd_sharing = true,
};
static const struct cpu_cache legacy_l1i = {
	CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 0, .self_init = true,
	.no_invd_sharing = true,
};
static const struct cpu_cache legacy_l2 = {
	CACHE_UNIFIED, 2, 4 * MIB, 64, 16, 1, 4096, 0, .self_init = true, .no_invd_sharing = true,
};
/* Leaf 2 has no descriptor for the leaf-4 L2, so QEMU describes another one there. */
static const struct cpu_cache legacy_l2_leaf2 = { CACHE_UNIFIED, 2, 2 * MIB, 64, 8, 1, 4096, 0,
						   .self_init = false };
static const struct cpu_cache legacy_l3 = {
	CACHE_UNIFIED, 3, 16 * MIB, 64, 16, 1, 16384, 1, .self_init = true, .inclusive = true,
	.complex_indexing = true,
};
static const struct cpu_cache legacy_l1d_amd = {
	CACHE_DATA, 1, 64 * KIB, 64, 2, 1, 512, 1, .self_init = true, .no_invd_sharing = true,
};
static const struct cpu_cache legacy_l1i_amd = {
	CACHE_INSTRUCTION, 1, 64 * KIB, 64, 2, 1, 512, 1, .self_init = true,
	.no_invd_sharing = true,
};
static const struct cpu_cache legacy_l2_amd = { CACHE_UNIFIED, 2, 512 * KIB, 64, 16, 1, 512, 1,
						 .self_init = false };

/* The EPYC family's own caches (QEMU epyc_cache_info, epyc_rome_..., epyc_milan_...). */
#define EPYC_L1D { CACHE_DATA, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true, \
		   .no_invd_sharing = true }
#define EPYC_L2 { CACHE_UNIFIED, 2, 512 * KIB, 64, 8, 1, 1024, 1, .self_init = false }
#define EPYC_L3(mib) { CACHE_UNIFIED, 3, (mib) * MIB, 64, 16, 1, (mib) * 1024, 1, \
		       .self_init = true, .inclusive = true, .complex_indexing = true }

const struct cpu_cache_info cpu_cache_epyc = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 64 * KIB, 64, 4, 1, 256, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3(8),
};
const struct cpu_cache_info cpu_cache_epyc_rome = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3(16),
};
const struct cpu_cache_info cpu_cache_epyc_milan = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3(32),
};
/*
 * QEMU 8.1's corrected versions (EPYC-v4, EPYC-Rome-v3, EPYC-Milan-v2:
 * epyc_v4_cache_info, ...): the same caches with an L3 that is not
 * complex-indexed, as the hardware reports it.
 */
#define EPYC_L3_V2(mib) { CACHE_UNIFIED, 3, (mib) * MIB, 64, 16, 1, (mib) * 1024, 1, \
			  .self_init = true, .inclusive = true }
const struct cpu_cache_info cpu_cache_epyc_v4 = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 64 * KIB, 64, 4, 1, 256, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3_V2(8),
};
const struct cpu_cache_info cpu_cache_epyc_rome_v3 = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3_V2(16),
};
const struct cpu_cache_info cpu_cache_epyc_milan_v2 = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = EPYC_L2,
	.l3 = EPYC_L3_V2(32),
};
/* EPYC-Genoa-v1 (QEMU 8.1, epyc_genoa_cache_info): 1 MiB L2. */
const struct cpu_cache_info cpu_cache_epyc_genoa = {
	.l1d = EPYC_L1D,
	.l1i = { CACHE_INSTRUCTION, 1, 32 * KIB, 64, 8, 1, 64, 1, .self_init = true,
		 .no_invd_sharing = true },
	.l2 = { CACHE_UNIFIED, 2, 1 * MIB, 64, 8, 1, 2048, 1, .self_init = false },
	.l3 = { CACHE_UNIFIED, 3, 32 * MIB, 64, 16, 1, 32768, 1, .self_init = true,
		.inclusive = true },
};

/*
 * QEMU 10.1's descriptions (target/i386/cpu.c, *_cache_info of EPYC-v5,
 * EPYC-Rome-v5, EPYC-Milan-v3, EPYC-Genoa-v2, SapphireRapids-v4,
 * GraniteRapids-v3, SierraForest-v3, YongFeng-v3): each cache names the
 * topology level sharing it.  The EPYC ones correct the earlier ones as
 * QEMU's commits say: L1 without the WBINVD-not-shared bit, L2
 * self-initialising and inclusive, L3 not inclusive but WBINVD-not-shared.
 */
#define EPYC_FIXED_L1(type_, kib, ways, sets_) { type_, 1, (kib) * KIB, 64, ways, 1, sets_, 1, \
		.self_init = true, .share = CACHE_SHARE_CORE }
#define EPYC_FIXED_L2(kib) { CACHE_UNIFIED, 2, (kib) * KIB, 64, 8, 1, (kib) * 2, 1, \
		.self_init = true, .inclusive = true, .share = CACHE_SHARE_CORE }
#define EPYC_FIXED_L3(mib) { CACHE_UNIFIED, 3, (mib) * MIB, 64, 16, 1, (mib) * 1024, 1, \
		.self_init = true, .no_invd_sharing = true, .share = CACHE_SHARE_DIE }
const struct cpu_cache_info cpu_cache_epyc_v5 = {
	.l1d = EPYC_FIXED_L1(CACHE_DATA, 32, 8, 64),
	.l1i = EPYC_FIXED_L1(CACHE_INSTRUCTION, 64, 4, 256),
	.l2 = EPYC_FIXED_L2(512),
	.l3 = EPYC_FIXED_L3(8),
};
const struct cpu_cache_info cpu_cache_epyc_rome_v5 = {
	.l1d = EPYC_FIXED_L1(CACHE_DATA, 32, 8, 64),
	.l1i = EPYC_FIXED_L1(CACHE_INSTRUCTION, 32, 8, 64),
	.l2 = EPYC_FIXED_L2(512),
	.l3 = EPYC_FIXED_L3(16),
};
const struct cpu_cache_info cpu_cache_epyc_milan_v3 = {
	.l1d = EPYC_FIXED_L1(CACHE_DATA, 32, 8, 64),
	.l1i = EPYC_FIXED_L1(CACHE_INSTRUCTION, 32, 8, 64),
	.l2 = EPYC_FIXED_L2(512),
	.l3 = EPYC_FIXED_L3(32),
};
const struct cpu_cache_info cpu_cache_epyc_genoa_v2 = {
	.l1d = EPYC_FIXED_L1(CACHE_DATA, 32, 8, 64),
	.l1i = EPYC_FIXED_L1(CACHE_INSTRUCTION, 32, 8, 64),
	.l2 = EPYC_FIXED_L2(1024),
	.l3 = EPYC_FIXED_L3(32),
};

/* EPYC-Turin-v1 (epyc_turin_cache_info): 48K 12-way L1d, 1 MiB 16-way L2 */
const struct cpu_cache_info cpu_cache_epyc_turin = {
	.l1d = EPYC_FIXED_L1(CACHE_DATA, 48, 12, 64),
	.l1i = EPYC_FIXED_L1(CACHE_INSTRUCTION, 32, 8, 64),
	.l2 = { CACHE_UNIFIED, 2, 1 * MIB, 64, 16, 1, 1024, 1, .self_init = true, .inclusive = true,
		.share = CACHE_SHARE_CORE },
	.l3 = EPYC_FIXED_L3(32),
};

/* Intel (and Zhaoxin) descriptions: self-initialising, no lines per tag unless given. */
#define XEON_CACHE(type_, level_, size_, ways, sets_, share_, ...) { .type = type_, \
		.level = level_, .size = size_, .line_size = 64, .associativity = ways, \
		.partitions = 1, .sets = sets_, .self_init = true, .share = share_, __VA_ARGS__ }
/* SapphireRapids-v4 (xeon_spr_cache_info): 48K/32K L1, 2 MiB L2, 60 MiB L3 */
const struct cpu_cache_info cpu_cache_xeon_spr = {
	.l1d = XEON_CACHE(CACHE_DATA, 1, 48 * KIB, 12, 64, CACHE_SHARE_CORE),
	.l1i = XEON_CACHE(CACHE_INSTRUCTION, 1, 32 * KIB, 8, 64, CACHE_SHARE_CORE),
	.l2 = XEON_CACHE(CACHE_UNIFIED, 2, 2 * MIB, 16, 2048, CACHE_SHARE_CORE),
	.l3 = XEON_CACHE(CACHE_UNIFIED, 3, 60 * MIB, 15, 65536, CACHE_SHARE_SOCKET,
			 .complex_indexing = true),
};
/* GraniteRapids-v3 (xeon_gnr_cache_info): 48K/64K L1, 2 MiB L2, 288 MiB L3 */
const struct cpu_cache_info cpu_cache_xeon_gnr = {
	.l1d = XEON_CACHE(CACHE_DATA, 1, 48 * KIB, 12, 64, CACHE_SHARE_CORE),
	.l1i = XEON_CACHE(CACHE_INSTRUCTION, 1, 64 * KIB, 16, 64, CACHE_SHARE_CORE),
	.l2 = XEON_CACHE(CACHE_UNIFIED, 2, 2 * MIB, 16, 2048, CACHE_SHARE_CORE),
	.l3 = XEON_CACHE(CACHE_UNIFIED, 3, 288 * MIB, 16, 294912, CACHE_SHARE_SOCKET,
			 .complex_indexing = true),
};
/* SierraForest-v3 (xeon_srf_cache_info): 32K/64K L1, 4 MiB L2 per module, 108 MiB L3 */
const struct cpu_cache_info cpu_cache_xeon_srf = {
	.l1d = XEON_CACHE(CACHE_DATA, 1, 32 * KIB, 8, 64, CACHE_SHARE_CORE),
	.l1i = XEON_CACHE(CACHE_INSTRUCTION, 1, 64 * KIB, 8, 128, CACHE_SHARE_CORE),
	.l2 = XEON_CACHE(CACHE_UNIFIED, 2, 4 * MIB, 16, 4096, CACHE_SHARE_MODULE),
	.l3 = XEON_CACHE(CACHE_UNIFIED, 3, 108 * MIB, 12, 147456, CACHE_SHARE_SOCKET,
			 .complex_indexing = true),
};
/* YongFeng-v3 (yongfeng_cache_info): 32K/64K L1 (1 line per tag), 256K L2, 8 MiB L3 */
const struct cpu_cache_info cpu_cache_yongfeng = {
	.l1d = XEON_CACHE(CACHE_DATA, 1, 32 * KIB, 8, 64, CACHE_SHARE_CORE, .lines_per_tag = 1),
	.l1i = XEON_CACHE(CACHE_INSTRUCTION, 1, 64 * KIB, 16, 64, CACHE_SHARE_CORE,
			  .lines_per_tag = 1),
	.l2 = XEON_CACHE(CACHE_UNIFIED, 2, 256 * KIB, 8, 512, CACHE_SHARE_CORE, .inclusive = true),
	.l3 = XEON_CACHE(CACHE_UNIFIED, 3, 8 * MIB, 16, 8192, CACHE_SHARE_DIE, .inclusive = true,
			 .no_invd_sharing = true),
};

/* Which description each group of leaves reads. */
struct cache_view {
	const struct cpu_cache *l1d, *l1i, *l2, *l3;
};

/*
 * SDM vol. 2A, CPUID leaf 2 descriptors that name one cache (QEMU's
 * cpuid2_cache_descriptors[]: the same subset, the same first match).
 */
static const struct {
	uint8_t desc, type, level;
	uint32_t size;
	uint8_t ways, line;
} leaf2_descriptors[] = {
	{ 0x06, CACHE_INSTRUCTION, 1, 8 * KIB, 4, 32 },  { 0x08, CACHE_INSTRUCTION, 1, 16 * KIB, 4, 32 },
	{ 0x09, CACHE_INSTRUCTION, 1, 32 * KIB, 4, 64 }, { 0x0a, CACHE_DATA, 1, 8 * KIB, 2, 32 },
	{ 0x0c, CACHE_DATA, 1, 16 * KIB, 4, 32 },        { 0x0d, CACHE_DATA, 1, 16 * KIB, 4, 64 },
	{ 0x0e, CACHE_DATA, 1, 24 * KIB, 6, 64 },        { 0x1d, CACHE_UNIFIED, 2, 128 * KIB, 2, 64 },
	{ 0x21, CACHE_UNIFIED, 2, 256 * KIB, 8, 64 },    { 0x24, CACHE_UNIFIED, 2, 1 * MIB, 16, 64 },
	{ 0x2c, CACHE_DATA, 1, 32 * KIB, 8, 64 },        { 0x30, CACHE_INSTRUCTION, 1, 32 * KIB, 8, 64 },
	{ 0x41, CACHE_UNIFIED, 2, 128 * KIB, 4, 32 },    { 0x42, CACHE_UNIFIED, 2, 256 * KIB, 4, 32 },
	{ 0x43, CACHE_UNIFIED, 2, 512 * KIB, 4, 32 },    { 0x44, CACHE_UNIFIED, 2, 1 * MIB, 4, 32 },
	{ 0x45, CACHE_UNIFIED, 2, 2 * MIB, 4, 32 },      { 0x46, CACHE_UNIFIED, 3, 4 * MIB, 4, 64 },
	{ 0x47, CACHE_UNIFIED, 3, 8 * MIB, 8, 64 },      { 0x48, CACHE_UNIFIED, 2, 3 * MIB, 12, 64 },
	{ 0x4a, CACHE_UNIFIED, 3, 6 * MIB, 12, 64 },     { 0x4b, CACHE_UNIFIED, 3, 8 * MIB, 16, 64 },
	{ 0x4c, CACHE_UNIFIED, 3, 12 * MIB, 12, 64 },    { 0x4d, CACHE_UNIFIED, 3, 16 * MIB, 16, 64 },
	{ 0x4e, CACHE_UNIFIED, 2, 6 * MIB, 24, 64 },     { 0x60, CACHE_DATA, 1, 16 * KIB, 8, 64 },
	{ 0x66, CACHE_DATA, 1, 8 * KIB, 4, 64 },         { 0x67, CACHE_DATA, 1, 16 * KIB, 4, 64 },
	{ 0x68, CACHE_DATA, 1, 32 * KIB, 4, 64 },        { 0x78, CACHE_UNIFIED, 2, 1 * MIB, 4, 64 },
	{ 0x7d, CACHE_UNIFIED, 2, 2 * MIB, 8, 64 },      { 0x7f, CACHE_UNIFIED, 2, 512 * KIB, 2, 64 },
	{ 0x80, CACHE_UNIFIED, 2, 512 * KIB, 8, 64 },    { 0x82, CACHE_UNIFIED, 2, 256 * KIB, 8, 32 },
	{ 0x83, CACHE_UNIFIED, 2, 512 * KIB, 8, 32 },    { 0x84, CACHE_UNIFIED, 2, 1 * MIB, 8, 32 },
	{ 0x85, CACHE_UNIFIED, 2, 2 * MIB, 8, 32 },      { 0x86, CACHE_UNIFIED, 2, 512 * KIB, 4, 64 },
	{ 0x87, CACHE_UNIFIED, 2, 1 * MIB, 8, 64 },      { 0xd0, CACHE_UNIFIED, 3, 512 * KIB, 4, 64 },
	{ 0xd1, CACHE_UNIFIED, 3, 1 * MIB, 4, 64 },      { 0xd2, CACHE_UNIFIED, 3, 2 * MIB, 4, 64 },
	{ 0xd6, CACHE_UNIFIED, 3, 1 * MIB, 8, 64 },      { 0xd7, CACHE_UNIFIED, 3, 2 * MIB, 8, 64 },
	{ 0xd8, CACHE_UNIFIED, 3, 4 * MIB, 8, 64 },      { 0xdc, CACHE_UNIFIED, 3, 1536 * KIB, 12, 64 },
	{ 0xdd, CACHE_UNIFIED, 3, 3 * MIB, 12, 64 },     { 0xde, CACHE_UNIFIED, 3, 6 * MIB, 12, 64 },
	{ 0xe2, CACHE_UNIFIED, 3, 2 * MIB, 16, 64 },     { 0xe3, CACHE_UNIFIED, 3, 4 * MIB, 16, 64 },
	{ 0xe4, CACHE_UNIFIED, 3, 8 * MIB, 16, 64 },     { 0xea, CACHE_UNIFIED, 3, 12 * MIB, 24, 64 },
	{ 0xeb, CACHE_UNIFIED, 3, 18 * MIB, 24, 64 },    { 0xec, CACHE_UNIFIED, 3, 24 * MIB, 24, 64 },
};

/* "No descriptor: use leaf 4" (SDM). */
#define LEAF2_USE_LEAF4 0xffu

/* 0x8000000[56] TLBs (QEMU's constants): L1 fully used, 255 entries; L2 4-way, 512 entries. */
#define L1_TLB_2M_4K 0x01ff01ffu /* [31:24] D assoc 1, [23:16] D 255, [15:8] I 1, [7:0] I 255 */

bool cpu_cache_valid(const struct cpu_cache *c)
{
	return c->type >= CACHE_DATA && c->type <= CACHE_UNIFIED && c->level >= 1 &&
	       c->level <= 3 && c->line_size && c->associativity && c->partitions && c->sets &&
	       c->associativity < c->sets &&
	       (uint64_t)c->line_size * c->associativity * c->partitions * c->sets == c->size;
}

static uint32_t leaf2_descriptor(const struct cpu_cache *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(leaf2_descriptors); i++)
		if (leaf2_descriptors[i].type == c->type && leaf2_descriptors[i].level == c->level &&
		    leaf2_descriptors[i].size == c->size && leaf2_descriptors[i].ways ==
		    c->associativity && leaf2_descriptors[i].line == c->line_size)
			return leaf2_descriptors[i].desc;
	return LEAF2_USE_LEAF4;
}

/* AMD's associativity code of 0x80000006 (APM): 1, 2, 4 as is, then a table. */
static uint32_t amd_assoc(unsigned ways)
{
	static const struct {
		unsigned ways;
		uint32_t code;
	} codes[] = { { 8, 0x6 }, { 16, 0x8 }, { 32, 0xa }, { 48, 0xb }, { 64, 0xc },
		      { 96, 0xd }, { 128, 0xe }, { 255, 0xf } };

	if (ways <= 2 || ways == 4)
		return ways;
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i].ways == ways)
			return codes[i].code;
	return 0;
}

/* CPUID.80000006H:ECX, the L2: [31:16] KiB, [15:12] assoc code, [11:8] lines per tag, [7:0] line */
static uint32_t l2_field(const struct cpu_cache *l2)
{
	return (l2->size / KIB) << 16 | amd_assoc(l2->associativity) << 12 |
	       (uint32_t)l2->lines_per_tag << 8 | l2->line_size;
}

/*
 * Leaf 4 and 0x8000001D share a layout: EAX[4:0] type, [7:5] level, [8]
 * self-initialising, [25:14] logical processors sharing it - 1 (leaf 4 also
 * [31:26] cores per package - 1); EBX line size - 1, partitions - 1 << 12,
 * ways - 1 << 22; ECX sets - 1; EDX [0] WBINVD not shared, [1] inclusive,
 * [2] complex indexing.
 */
static void encode_cache(struct kvm_cpuid_entry2 *e, const struct cpu_cache *c, unsigned sharing)
{
	e->eax = c->type | (uint32_t)c->level << 5 | (c->self_init ? 1u << 8 : 0) |
		 ((sharing - 1) & 0xfffu) << 14;
	e->ebx = (c->line_size - 1u) | (c->partitions - 1u) << 12 | (c->associativity - 1u) << 22;
	e->ecx = c->sets - 1;
	e->edx = (c->no_invd_sharing ? 1u : 0) | (c->inclusive ? 2u : 0) |
		 (c->complex_indexing ? 4u : 0);
}

static int fill_subleaves(struct cpuid_table *t, uint32_t leaf, const struct cache_view *v,
			  const unsigned sharing[4], uint32_t cores_field)
{
	const struct cpu_cache *caches[4] = { v->l1d, v->l1i, v->l2, v->l3 };
	struct kvm_cpuid_entry2 *e;

	cpuid_remove_leaf(t, leaf);
	for (uint32_t i = 0; i < 4; i++) {
		e = cpuid_get_or_add(t, leaf, i, true);
		if (!e)
			return -1;
		encode_cache(e, caches[i], sharing[i]);
		e->eax |= cores_field;
	}
	/* Subleaf 4: type 0, the end of the list. */
	return cpuid_get_or_add(t, leaf, 4, true) ? 0 : -1;
}

static struct kvm_cpuid_entry2 *reset_leaf(struct cpuid_table *t, uint32_t leaf)
{
	struct kvm_cpuid_entry2 *e;

	cpuid_remove_leaf(t, leaf);
	e = cpuid_get_or_add(t, leaf, 0, false);
	if (e)
		e->eax = e->ebx = e->ecx = e->edx = 0;
	return e;
}

/* A description whose caches name their share levels (QEMU 9.1 and later). */
static bool shared_by_level(const struct cpu_cache_info *model)
{
	return model && model->l1d.share != CACHE_SHARE_LEGACY;
}

/*
 * The descriptions with share levels are QEMU 10.1's (cpu/cache.h), which
 * only a QEMU of 10.1 or later has, and its current machine types (and
 * microvm) encode them with x-consistent-cache and x-vendor-cpuid-only-v2
 * on ("i386/cpu: Present same cache model in CPUID 0x2 & 0x4", "Mark
 * CPUID[0x80000005] as reserved for Intel", "Fix CPUID[0x80000006] for
 * Intel CPU", QEMU 10.1).  Every other description keeps QEMU 7.2's
 * encodings, which the differential test compares.
 */
static bool qemu101_encoding(const struct cpu_cache_info *model)
{
	return shared_by_level(model);
}

int cpu_cache_leaves(struct cpuid_table *t, const struct cpu_cache_info *model,
		     const struct cpu_topology *topo)
{
	uint32_t level = cpuid_value(t, 0, 0, CPUID_EAX);
	uint32_t xlevel = cpuid_value(t, 0x80000000, 0, CPUID_EAX);
	unsigned threads = topo->threads, cores = topo->cores;
	unsigned pkg_ids = 1u << (cpu_topology_smt_bits(topo) + cpu_topology_core_bits(topo));
	unsigned core_ids = 1u << cpu_topology_smt_bits(topo);
	struct cache_view leaf2 = { &legacy_l1d, &legacy_l1i, &legacy_l2_leaf2, &legacy_l3 };
	struct cache_view leaf4 = { &legacy_l1d, &legacy_l1i, &legacy_l2, &legacy_l3 };
	struct cache_view amd = { &legacy_l1d_amd, &legacy_l1i_amd, &legacy_l2_amd, &legacy_l3 };
	struct kvm_cpuid_entry2 *e;
	char vendor[13];
	bool is_amd, intel_v2;

	if (model)
		leaf2 = leaf4 = amd = (struct cache_view){ &model->l1d, &model->l1i, &model->l2,
							   &model->l3 };
	cpu_vendor_decode(t, vendor);
	is_amd = cpu_vendor_is_amd(vendor);
	intel_v2 = qemu101_encoding(model) && !strcmp(vendor, "GenuineIntel");

	if (level >= 2) {
		e = reset_leaf(t, 2);
		if (!e)
			goto full;
		/* CPUID.02H: AL = 1 call; descriptors: EDX L1d, L1i, L2; ECX L3 */
		if (!is_amd && qemu101_encoding(model)) {
			/*
			 * QEMU 10.1's encode_cache_cpuid2() with x-consistent-cache:
			 * with leaf 4 there (min-level >= 4, as every such model has),
			 * only 0xFF in DL, "no descriptors: use leaf 4" (SDM)
			 */
			e->eax = 1;
			e->edx = LEAF2_USE_LEAF4;
		} else if (!is_amd) {
			e->eax = 1;
			e->ecx = leaf2_descriptor(leaf2.l3);
			e->edx = leaf2_descriptor(leaf2.l1d) << 16 | leaf2_descriptor(leaf2.l1i) << 8 |
				 leaf2_descriptor(leaf2.l2);
		}
	}
	if (level >= 4) {
		/* L1 counted per logical processor, L2 per core, L3 per package (QEMU 7.2). */
		unsigned sharing[4] = { 1, 1, threads, pkg_ids };
		uint32_t cores_field = (cores - 1u) << 26;

		if (shared_by_level(model)) {
			/*
			 * QEMU 9.1 and later, for a description with share levels:
			 * each count is the APIC ids of its level (a power of two),
			 * and EAX[31:26] the core ids of the package.
			 */
			const struct cpu_cache *c[4] = { &model->l1d, &model->l1i, &model->l2,
							 &model->l3 };

			for (int i = 0; i < 4; i++)
				sharing[i] = c[i]->share == CACHE_SHARE_CORE ? core_ids : pkg_ids;
			cores_field = ((1u << cpu_topology_core_bits(topo)) - 1u) << 26;
		}
		if (is_amd) {
			/* CPUID.04H is reserved on AMD: one all-zero subleaf. */
			cpuid_remove_leaf(t, 4);
			if (!cpuid_get_or_add(t, 4, 0, true))
				goto full;
		} else if (fill_subleaves(t, 4, &leaf4, sharing, cores_field) < 0) {
			goto full;
		}
	}
	if (xlevel >= 0x80000005) {
		e = reset_leaf(t, 0x80000005);
		if (!e)
			goto full;
		/* QEMU 10.1 (x-vendor-cpuid-only-v2): reserved, all zero, on Intel (SDM) */
		if (intel_v2)
			goto l1_done;
		/* CPUID.80000005H: EAX/EBX L1 TLBs (2M/4M, 4K), ECX L1d, EDX L1i:
		 * [31:24] KiB, [23:16] ways, [15:8] lines per tag, [7:0] line size */
		e->eax = L1_TLB_2M_4K;
		e->ebx = L1_TLB_2M_4K;
		e->ecx = (amd.l1d->size / KIB) << 24 | (uint32_t)amd.l1d->associativity << 16 |
			 (uint32_t)amd.l1d->lines_per_tag << 8 | amd.l1d->line_size;
		e->edx = (amd.l1i->size / KIB) << 24 | (uint32_t)amd.l1i->associativity << 16 |
			 (uint32_t)amd.l1i->lines_per_tag << 8 | amd.l1i->line_size;
	}
l1_done:
	if (xlevel >= 0x80000006) {
		e = reset_leaf(t, 0x80000006);
		if (!e)
			goto full;
		if (intel_v2 || (qemu101_encoding(model) && cpu_vendor_is_zhaoxin(vendor))) {
			/*
			 * QEMU 10.1 (x-vendor-cpuid-only-v2) on Intel and Zhaoxin:
			 * only ECX, the L2 (leaf 4's), is defined; the TLB and L3
			 * fields are reserved
			 */
			e->ecx = l2_field(amd.l2);
			goto l2_done;
		}
		/* CPUID.80000006H: EAX L2 TLB 2M/4M (none), EBX L2 TLB 4K: 4-way, 512 entries */
		e->eax = 0;
		e->ebx = amd_assoc(4) << 28 | 512u << 16 | amd_assoc(4) << 12 | 512u;
		e->ecx = l2_field(amd.l2);
		/* EDX L3: [31:18] size in 512 KiB units, then as ECX */
		e->edx = (amd.l3->size / (512 * KIB)) << 18 | amd_assoc(amd.l3->associativity) << 12 |
			 (uint32_t)amd.l3->lines_per_tag << 8 | amd.l3->line_size;
	}
l2_done:
	if (xlevel >= 0x8000001d) {
		/* L1 and L2 shared by a core's threads, L3 by the package's cores (QEMU 7.2). */
		unsigned sharing[4] = { threads, threads, threads, cores * threads };

		if (shared_by_level(model)) {
			/* QEMU 9.1 and later: the threads of each cache's level */
			const struct cpu_cache *c[4] = { &model->l1d, &model->l1i, &model->l2,
							 &model->l3 };

			for (int i = 0; i < 4; i++)
				sharing[i] = c[i]->share == CACHE_SHARE_CORE ? threads : cores * threads;
		}

		if (fill_subleaves(t, 0x8000001d, &amd, sharing, 0) < 0)
			goto full;
	}
	return 0;
full:
	return err_set("CPUID table full (%d entries)", CPUID_MAX_ENTRIES);
}
