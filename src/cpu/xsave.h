/* SPDX-License-Identifier: MIT */
/*
 * CPUID leaf 0xD: the XSAVE state components a model enables and the sizes
 * a guest must allocate for them.
 *
 * XSAVE runs natively in the guest, so the standard-format offset of each
 * component is the host CPU's, not a model's choice (AMD parts leave no hole
 * for MPX: AVX-512 state starts at 832 there, at 1088 on Intel).  Sizes and
 * offsets come from the host's supported leaf 0xD where it lists them, and
 * from Intel's architectural layout otherwise.
 */
#ifndef SKYVM_CPU_XSAVE_H
#define SKYVM_CPU_XSAVE_H

#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"

#define XSAVE_LEGACY_SIZE 512 /* x87 + SSE area */
#define XSAVE_HEADER_SIZE 64
#define XSAVE_COMPONENTS 20   /* 0..19: up to APX */
#define XSAVE_X87_SSE 0x3u    /* XCR0 bits 0 and 1, x87 and SSE state: always set */

/* XCR0 bits the enabled features need (x87, SSE, AVX, MPX, AVX-512, PKRU, AMX, APX). */
uint64_t cpu_xsave_xcr0(const struct cpu_featureset *fs);

/*
 * IA32_XSS (supervisor) bits the enabled features need and the host's KVM
 * offers (its CPUID.(EAX=0DH,ECX=1):EDX:ECX): the CET user and supervisor
 * states (components 11, 12) with cet-ss or cet-ibt, only with xsaves, as
 * QEMU 11.0 does.  `host` NULL: none.
 */
uint64_t cpu_xsave_xss(const struct cpu_featureset *fs, const struct cpuid_table *host);

/*
 * The XSAVE component whose guest permission the process must request
 * (arch_prctl ARCH_REQ_XCOMP_GUEST_PERM) before KVM accepts table `t`: AMX
 * tile data when t's 0xD.0 EAX has it; -1 when none is needed.
 */
int cpu_xsave_guest_perm(const struct cpuid_table *t);

/*
 * Offset and size of user component i (>= 2) in the standard format:
 * from `host` (0xD.i EBX/EAX) when present, else the architectural table.
 * Returns 0, or -1 for a component with no known layout.
 */
int cpu_xsave_component(const struct cpuid_table *host, unsigned i, uint32_t *offset,
			uint32_t *size, uint32_t *flags);

/*
 * Standard-format size of an XSAVE area holding `xcr0` (576 for x87|SSE).
 * Summed in 64 bits; UINT32_MAX when a host layout puts the end beyond that.
 */
uint32_t cpu_xsave_size(const struct cpuid_table *host, uint64_t xcr0);
/*
 * Compacted-format size (XSAVEC/XSAVES) of the components in `mask` (XCR0
 * bits, and IA32_XSS bits for XSAVES); as above.
 */
uint32_t cpu_xsave_compacted_size(const struct cpuid_table *host, uint64_t mask);

/*
 * Rewrite leaf 0xD of `t` for the features in `fs` (0xD.1.EAX, the XSAVE
 * instruction word, is taken from fs too; 0xD.1.EDX:ECX from
 * cpu_xsave_xss()).  Subleaves of components not enabled are removed.  Returns 0, or -1 when the table is full or the host's
 * layout gives sizes beyond 32 bits.
 */
int cpu_xsave_leaf(struct cpuid_table *t, const struct cpuid_table *host,
		   const struct cpu_featureset *fs);

#endif
