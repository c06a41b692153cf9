/* SPDX-License-Identifier: MIT */
/*
 * Can a CPU model run on a host?  The rules Cloud Hypervisor applies on
 * migration, per CPUID field:
 *   feature words (1.ECX, 7.0.EBX, 0x80000001.ECX, 0x40000001.EAX, ...)
 *                     the guest's bits must be a subset of the host's;
 *   max-leaf fields   (0.EAX, 0x80000000.EAX, 0x40000000.EAX)
 *                     the guest's value must not be greater than the host's;
 *   vendor, hypervisor signature (0x40000000.EBX/ECX/EDX)
 *                     equal.
 * The guest side ("demand") is what the model and its options ask for before
 * the pipeline filters anything away (cpu_result.requested); the host side
 * ("offer") is a host's KVM_GET_SUPPORTED_CPUID, read from a dump, after the
 * same host fix-ups the pipeline applies.  Both are plain data, so the rules
 * are testable without /dev/kvm and without a model table.
 */
#ifndef SKYVM_FLEET_COMPARE_H
#define SKYVM_FLEET_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"
#include "cpu/models.h"

/* What a guest CPU needs from a host. */
struct fleet_demand {
	char vendor[13];          /* "" = whatever the host has (host, max) */
	uint32_t level;           /* CPUID.0:EAX */
	uint32_t xlevel;          /* CPUID.80000000H:EAX */
	uint32_t hv_level;        /* CPUID.40000000H:EAX */
	char hv_signature[12];    /* CPUID.40000000H:EBX,ECX,EDX: bytes, not a C string */
	struct cpu_featureset features;
};

/* What a host can give. */
struct fleet_offer {
	char vendor[13];
	uint32_t level, xlevel, hv_level;
	char hv_signature[12];
	struct cpu_featureset features;
	/*
	 * The dump records no feature MSRs (cpu/msrs.h): their words say
	 * nothing, and neither a missing nor an extra bit is counted there.
	 */
	bool msrs_unknown;
};

enum fleet_verdict {
	FLEET_IDENTICAL,    /* the host offers exactly what the model asks */
	FLEET_RUNS,         /* the host offers more: the model runs */
	FLEET_INCOMPATIBLE, /* something the model asks is missing or differs */
};

/* Everything that differs, one flag or set per rule. */
struct fleet_comparison {
	enum fleet_verdict verdict;
	struct cpu_featureset missing; /* asked for, not offered */
	struct cpu_featureset extra;   /* offered, not asked for (the VMM's own bits aside) */
	bool vendor_differs;
	bool level_exceeds;            /* demand.level > offer.level */
	bool xlevel_exceeds;
	bool hv_level_exceeds;
	bool signature_differs;
	unsigned missing_count;        /* bits set in `missing` */
	unsigned extra_count;
};

/*
 * The bits that are the VMM's to set, not the host's to offer: the hypervisor
 * bit, kvm-msi-ext-dest-id (how the VMM routes MSIs) and the KVM hints (a
 * dedicated pCPU is a promise, not a capability).
 * They never count as a host offering more (compare), and a baseline never
 * adds or removes them (the chosen model's value stands).
 */
void fleet_vmm_owned_features(struct cpu_featureset *out);

/*
 * The demand of a configured model: vendor, level and xlevel from `def`,
 * features from `requested`, and the KVM leaves skyvm's normalisation always
 * writes (signature "KVMKVMKVM\0\0\0", max leaf KVM_CPUID_FEATURES).
 */
void fleet_demand_from_model(struct fleet_demand *d, const struct cpu_def *def,
			     const struct cpu_featureset *requested);

/*
 * The offer of a host: vendor, max leaves and signature read from its CPUID
 * table, features from `features` (the table's feature words after the host
 * fix-ups; pass NULL to read them from the table as they are).
 */
void fleet_offer_from_cpuid(struct fleet_offer *o, const struct cpuid_table *t,
			    const struct cpu_featureset *features);

/* Apply every rule.  Pure: no errors, no output. */
void fleet_compare(const struct fleet_demand *d, const struct fleet_offer *o,
		   struct fleet_comparison *out);

const char *fleet_verdict_name(enum fleet_verdict v); /* "identical", "runs", "incompatible" */

/* Number of bits set across all feature words. */
unsigned fleet_featureset_count(const struct cpu_featureset *s);

/*
 * A feature bit as QEMU names it in warnings, "CPUID.07H:EBX.avx512f [bit 16]",
 * or "CPUID.07H:EBX [bit 30]" for a bit without a name.  Returns `buf`.
 */
const char *fleet_feature_label(enum feature_word w, unsigned bit, char *buf, size_t size);

/*
 * The 12 signature bytes as text: printable ASCII kept, NUL bytes at the end
 * dropped, anything else as \xNN.  `buf` needs 49 bytes.  Returns `buf`.
 */
const char *fleet_signature_text(const char sig[12], char *buf, size_t size);

#endif
