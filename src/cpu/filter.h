/* SPDX-License-Identifier: MIT */
/*
 * Stages 6 and 7: drop what the host lacks (with QEMU's warnings, or an
 * error under enforce) and, with migratable=on, what would pin a guest to
 * this host.
 */
#ifndef SKYVM_CPU_FILTER_H
#define SKYVM_CPU_FILTER_H

#include <stddef.h>
#include <stdio.h>

#include "cpu/features.h"

/*
 * QEMU's description of one bit: "CPUID.07H:EBX.avx512f [bit 16]", or
 * "CPUID.07H:EBX [bit 5]" for a bit with no name.
 */
void cpu_bit_describe(enum feature_word w, unsigned bit, char *buf, size_t size);

/*
 * Clear from *enabled every bit *supported lacks; the cleared bits are ORed
 * into *filtered.  Returns how many bits were cleared.
 */
unsigned cpu_filter_supported(struct cpu_featureset *enabled,
			      const struct cpu_featureset *supported,
			      struct cpu_featureset *filtered);

/*
 * One line per set bit of *bits: "<prefix>: CPUID.07H:EBX.avx512f [bit 16]",
 * written to `f` (NULL: not written) as "skyvm: warning: <line>\n" and
 * appended to `log` (may be NULL) as "<line>\n".
 */
void cpu_report_bits(FILE *f, const char *prefix, const struct cpu_featureset *bits, char *log,
		     size_t log_size);

/*
 * enforce: -1 with err_msg() listing every bit of *missing, one per line;
 * 0 when none is missing.
 */
int cpu_enforce(const struct cpu_featureset *missing);

/*
 * migratable=on: clear the bits of *enabled that are unmigratable (flag
 * FEAT_UNMIGRATABLE, e.g. invtsc) or have no name, except those in *keep
 * (asked for explicitly).  Cleared bits are ORed into *dropped.
 */
void cpu_filter_migratable(struct cpu_featureset *enabled, const struct cpu_featureset *keep,
			   struct cpu_featureset *dropped);

#endif
