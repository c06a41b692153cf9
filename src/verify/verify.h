/* SPDX-License-Identifier: MIT */
/*
 * `skyvm cpu verify`'s comparison: what each vCPU's guest saw (the probe
 * guest's decoded report, verify/probe_decode.h) against the CPUID table
 * skyvm gave KVM_SET_CPUID2 for that vCPU.  Pure: no KVM, no I/O, so every
 * rule is unit-tested on synthetic tables and reports (tests/unit/test_verify.c).
 *
 * Rules (docs/verify.md has them in prose):
 *   - Every CPUID record the guest sent is compared with what KVM answers
 *     for that (leaf, subleaf) from the table (verify_expected()): the
 *     table's entry; for a leaf the table lacks, zeros, or on a non-AMD
 *     vendor above its range's maximum, the highest basic leaf (KVM's
 *     kvm_cpuid(), as Intel CPUs do).
 *   - Table entries the guest never read are listed as not probed; they are
 *     not differences (the guest cannot see what CPUID's enumeration does
 *     not lead it to).
 *   - Only bits dynamic by definition are ignored (verify_ignored[]).
 *   - A difference in a feature word is one entry per bit, named by the
 *     feature table, with its direction; elsewhere the whole register's raw
 *     values are reported.
 *   - The PV checks (kvmclock, wall clock, steal time, PV EOI, enforcement of
 *     hidden PV features) are judged per vCPU: ok, failed, or not offered.
 *   - Each feature MSR the guest read (cpu/msrs.h: ARCH_CAPABILITIES,
 *     CORE_CAPABILITY; a FEATURE_MSR record) whose CPUID bit the table sets
 *     and which skyvm wrote must read back exactly what skyvm wrote; a #GP or
 *     another value is a difference, named bit by bit from the feature
 *     table.  One skyvm did not write (KVM does not list it) or whose CPUID
 *     bit the table clears is reported with what the guest got, not judged.
 */
#ifndef SKYVM_VERIFY_VERIFY_H
#define SKYVM_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"
#include "verify/probe_decode.h"

/* A field KVM or the CPU changes at run time, so the guest may see another value. */
struct verify_ignored_field {
	uint32_t leaf;
	uint32_t subleaf;
	bool any_subleaf;
	enum cpuid_reg reg;
	uint32_t mask;
	const char *name; /* "osxsave", "initial APIC id" */
	const char *why;
};

extern const struct verify_ignored_field verify_ignored[];
extern const size_t verify_ignored_count;

/* The bits of (leaf, subleaf, reg) verify ignores (0 for most registers). */
uint32_t verify_ignored_mask(uint32_t leaf, uint32_t subleaf, enum cpuid_reg reg);

/* Where the value the guest should see comes from. */
enum verify_source {
	VERIFY_FROM_TABLE,     /* the table's entry for the leaf */
	VERIFY_FROM_ZEROS,     /* no entry: KVM answers zeros */
	VERIFY_FROM_MAX_BASIC, /* no entry, out of range: the highest basic leaf */
};

/*
 * What KVM answers to CPUID(leaf, subleaf) from `t` (KVM's kvm_cpuid()
 * rules, see the top of this file): the four registers in out[CPUID_EAX..],
 * and where they came from.
 */
enum verify_source verify_expected(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
				   uint32_t out[4]);

enum verify_diff_kind {
	VERIFY_DIFF_FORCED,   /* a feature bit the guest sees and the table clears */
	VERIFY_DIFF_HIDDEN,   /* a feature bit the table sets and the guest lacks */
	VERIFY_DIFF_REGISTER, /* a register outside the feature words: raw values */
};

struct verify_diff {
	unsigned vcpu;
	enum verify_diff_kind kind;
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
	enum verify_source source;
	bool indexed; /* the subleaf is significant (printed in labels) */
	/* Feature differences: the word, the bit and its name (NULL when nameless). */
	enum feature_word word;
	unsigned bit;
	const struct cpu_feature *feature;
	/* The whole register, ignored bits masked out of both. */
	uint32_t expected, seen;
};

/* A table entry the guest never read. */
struct verify_unprobed {
	unsigned vcpu;
	uint32_t leaf, subleaf;
};

#define VERIFY_MAX_ERRORS 8

enum verify_pv_check {
	VERIFY_PV_KVMCLOCK,
	VERIFY_PV_WALLCLOCK,
	VERIFY_PV_STEAL,
	VERIFY_PV_EOI,
	VERIFY_PV_ENFORCEMENT, /* writing a hidden PV feature's MSR raises #GP */
	VERIFY_PV_COUNT
};

enum verify_pv_status { VERIFY_PV_OK, VERIFY_PV_FAILED, VERIFY_PV_NOT_OFFERED };

struct verify_pv_result {
	enum verify_pv_status status;
	char detail[256]; /* what was seen, and for a failure what did not hold */
};

enum verify_msr_status {
	VERIFY_MSR_EQUAL,       /* the guest read what skyvm wrote */
	VERIFY_MSR_DIFFERENT,   /* another value, or #GP: a difference */
	VERIFY_MSR_NOT_WRITTEN, /* its CPUID bit is set, skyvm wrote nothing: KVM's own */
	VERIFY_MSR_NOT_GATED,   /* the table clears its CPUID bit: not judged */
};

/* One feature MSR as the guest read it, against what skyvm wrote. */
struct verify_msr {
	uint32_t msr;
	enum verify_msr_status status;
	bool gp;           /* the guest's RDMSR raised #GP */
	uint64_t seen;     /* what it read (0 after #GP) */
	bool written;      /* skyvm wrote the MSR (KVM_SET_MSRS before the first run) */
	uint64_t expected; /* what it wrote */
	bool held_known;   /* the vCPU's value read back after the write */
	uint64_t held;     /* != expected: KVM refused the write */
};

struct verify_vcpu_input {
	const struct cpuid_table *table;   /* what KVM_SET_CPUID2 was given */
	/*
	 * The table whose feature MSRs skyvm wrote (the model's, cpu/msrs.h);
	 * the vCPU's `table` then holds, with msrs_known, what the vCPU held
	 * after the write.  NULL: `table`'s feature MSRs are what skyvm wrote.
	 */
	const struct cpuid_table *written;
	const struct probe_report *report; /* what the guest sent */
	bool report_complete;              /* probe_decode() returned 0 */
	/*
	 * KVM_GET_CLOCK said KVM_CLOCK_TSC_STABLE is clear: KVM runs without a
	 * master clock (the host's clocksource is not the TSC), and then it
	 * never sets PVCLOCK_TSC_STABLE_BIT, whatever the model advertises.
	 */
	bool host_no_master_clock;
};

struct verify_vcpu {
	unsigned index;
	unsigned records;    /* CPUID records compared */
	size_t ndiffs;       /* of verify_result.diffs, this vCPU's */
	bool complete;       /* the stream ended properly */
	struct verify_pv_result pv[VERIFY_PV_COUNT];
	/* Steal time as the guest read it (valid when steal_valid). */
	bool steal_valid;
	uint64_t steal_start_ns, steal_end_ns;
	uint32_t steal_busy_us;
	/* ERROR records the probe sent (an unexpected exception, a CPUID overflow). */
	size_t nerrors;
	struct probe_error errors[VERIFY_MAX_ERRORS];
	/* The feature MSRs the guest read, in its order; nmsr_diffs of them differ. */
	size_t nmsrs, nmsr_diffs;
	struct verify_msr msrs[PROBE_MAX_FEATURE_MSRS];
};

struct verify_result {
	unsigned nvcpus;
	struct verify_vcpu *vcpu;
	size_t ndiffs, diffs_cap;
	struct verify_diff *diffs;       /* by vCPU, then in the guest's record order */
	size_t nunprobed, unprobed_cap;
	struct verify_unprobed *unprobed;
	size_t nmsr_diffs;              /* feature MSRs that differ, over all vCPUs */
	bool identical; /* no CPUID or feature MSR difference on any vCPU */
	bool pv_ok;     /* no PV check failed and every stream was complete */
};

/*
 * Compare `n` vCPUs.  Returns 0 with *out filled (free it with
 * verify_result_free()), or -1 with err_msg() (no vCPU, a missing table or
 * report, out of memory).  Differences are data, not errors.
 */
int verify_compare(const struct verify_vcpu_input *in, unsigned n, struct verify_result *out);
void verify_result_free(struct verify_result *r);

/*
 * One line for a difference, e.g.
 *   guest sees avx2 although the model disables it (the host forces it)
 *   guest lacks x2apic although the model enables it (the host clears it)
 *   CPUID.0DH.0:EAX: guest sees 0x000002e7, the table gives 0x00000007
 */
void verify_diff_describe(const struct verify_diff *d, char *buf, size_t size);

/*
 * What a feature MSR's check found, one '\n'-separated line per finding, e.g.
 *   guest sees MSR(10AH).ssb-no although the model disables it
 *   guest lacks MSR(10AH).ibrs-all although the model enables it
 *   MSR(10AH): RDMSR raised #GP although skyvm wrote 0x29 (CPUID has arch-capabilities)
 *   MSR(10AH) = 0x29, as skyvm wrote it
 */
void verify_msr_describe(const struct verify_msr *m, char *buf, size_t size);
const char *verify_msr_status_name(enum verify_msr_status s); /* "equal", "different", ... */

const char *verify_pv_check_name(enum verify_pv_check c); /* "kvmclock", ... */
const char *verify_pv_status_name(enum verify_pv_status s); /* "ok", "failed", "not-offered" */

/*
 * Names of the features the guest sees although its table clears them
 * (VERIFY_DIFF_FORCED with a name), each once, in feature-table order:
 * host-check's "forced_cpuid_bits".  Returns how many were written.
 */
size_t verify_forced_features(const struct verify_result *r, const struct cpu_feature **out,
			      size_t max);

/*
 * The JSON document of `skyvm cpu verify --json`
 * (docs/schemas/cpu-verify.schema.json).  `spec` is the model string;
 * per-vCPU steal time comes from the result.  NULL when out of memory.
 */
json_t *verify_result_json(const struct verify_result *r, const char *spec);

#endif
