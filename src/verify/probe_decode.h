/* SPDX-License-Identifier: MIT */
/*
 * Decoding what the probe guest sent on its data port (the record format is
 * in src/guest/lib/ports.h and docs/guests.md): one vCPU's words in, one
 * struct probe_report out.  Pure: no KVM, no I/O.
 *
 *     struct probe_report *r = calloc(1, sizeof(*r));
 *     if (probe_decode(vcpu->probe_words, vcpu->probe_len, r) < 0)
 *             report("vCPU %u: %s", i, err_msg());   // r holds what came before
 */
#ifndef SKYVM_VERIFY_PROBE_DECODE_H
#define SKYVM_VERIFY_PROBE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/lib/ports.h"

#define PROBE_MAX_CPUID 512
#define PROBE_MAX_MSR_CHECKS 32
#define PROBE_MAX_ERRORS 32

struct probe_cpuid {
	uint32_t leaf, subleaf;
	uint32_t eax, ebx, ecx, edx;
};

/* `status` is PROBE_ST_* for all four PV results; the rest is valid when
 * status is PROBE_ST_OK or PROBE_ST_BAD. */
struct probe_kvmclock {
	bool present;
	uint32_t status;
	uint32_t version, mul;
	int32_t shift;
	uint32_t flags;
	uint64_t t0_ns, t1_ns;
	bool stable;    /* PVCLOCK_TSC_STABLE_BIT in flags */
	bool advancing; /* t1 > t0 */
};

struct probe_wallclock {
	bool present;
	uint32_t status;
	uint32_t version, sec, nsec;
};

struct probe_steal {
	bool present;
	uint32_t status;
	uint32_t version;
	uint64_t start_ns, end_ns;
	uint32_t busy_us;
	uint32_t preempted;
};

struct probe_pv_eoi {
	bool present;
	uint32_t status;
	uint64_t msr_value;
};

struct probe_msr_check {
	uint32_t msr, feature_bit;
	bool gp; /* the write raised #GP (else it was accepted) */
};

/* A feature MSR as the guest read it (FEATURE_MSR). */
struct probe_feature_msr {
	uint32_t msr;
	bool gp;        /* RDMSR raised #GP */
	uint64_t value; /* what it read (0 after #GP) */
};

struct probe_error {
	uint32_t code, arg; /* PROBE_ERR_* */
};

struct probe_report {
	bool begun, ended;
	uint32_t version, cpu, apic_id, ncpus; /* from BEGIN */
	unsigned records;                      /* decoded before END, BEGIN included */
	unsigned skipped;                      /* records of types this decoder does not know */
	size_t ncpuid;
	struct probe_cpuid cpuid[PROBE_MAX_CPUID]; /* in the order sent */
	struct probe_kvmclock kvmclock;
	struct probe_wallclock wallclock;
	struct probe_steal steal;
	struct probe_pv_eoi pv_eoi;
	size_t nmsr;
	struct probe_msr_check msr[PROBE_MAX_MSR_CHECKS];
	size_t nfeature_msr;
	struct probe_feature_msr feature_msr[PROBE_MAX_FEATURE_MSRS];
	size_t nerror;
	struct probe_error error[PROBE_MAX_ERRORS];
};

/*
 * Decode one vCPU's stream into `r` (cleared first).  Returns 0 when the
 * stream is complete and well formed (BEGIN ... END with a matching count);
 * -1 with err_msg() naming the word and the problem otherwise, leaving in
 * `r` everything decoded before it.
 */
int probe_decode(const uint32_t *words, size_t n, struct probe_report *r);

/* The CPUID record for (leaf, subleaf), or NULL when the guest sent none. */
const struct probe_cpuid *probe_report_cpuid(const struct probe_report *r, uint32_t leaf,
					     uint32_t subleaf);

/* "ok", "not offered", "#GP", "bad", "no KVM"; "unknown" for others. */
const char *probe_status_name(uint32_t status);
/* "cpuid overflow", ...; "unknown" for others. */
const char *probe_error_name(uint32_t code);

#endif
