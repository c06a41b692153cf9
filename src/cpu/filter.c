/* SPDX-License-Identifier: MIT */
#include "cpu/filter.h"

#include <string.h>

#include "util/err.h"

void cpu_bit_describe(enum feature_word w, unsigned bit, char *buf, size_t size)
{
	const struct cpu_feature *f = cpu_feature_at(w, bit);

	/* The same text as QEMU's mark_unavailable_features() */
	/* an MSR's high word counts its bits from 32, as QEMU's 64-bit words do */
	snprintf(buf, size, "%s%s%s [bit %u]", feature_words[w].label, f ? "." : "",
		 f ? f->name : "", bit + feature_words[w].msr_shift);
}

unsigned cpu_filter_supported(struct cpu_featureset *enabled,
			      const struct cpu_featureset *supported,
			      struct cpu_featureset *filtered)
{
	unsigned n = 0;

	for (int w = 0; w < FW_COUNT; w++) {
		uint32_t missing = enabled->w[w] & ~supported->w[w];

		enabled->w[w] &= ~missing;
		filtered->w[w] |= missing;
		n += (unsigned)__builtin_popcount(missing);
	}
	return n;
}

static void log_append(char *log, size_t size, const char *line)
{
	size_t len, add;

	if (!log || !size)
		return;
	len = strlen(log);
	add = strlen(line);
	if (len + add + 2 > size)
		return; /* keep whole lines only */
	memcpy(log + len, line, add);
	log[len + add] = '\n';
	log[len + add + 1] = '\0';
}

void cpu_report_bits(FILE *f, const char *prefix, const struct cpu_featureset *bits, char *log,
		     size_t log_size)
{
	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			char desc[96], line[256];

			if (!((bits->w[w] >> b) & 1u))
				continue;
			cpu_bit_describe(w, b, desc, sizeof(desc));
			snprintf(line, sizeof(line), "%s: %s", prefix, desc);
			if (f)
				fprintf(f, "skyvm: warning: %s\n", line);
			log_append(log, log_size, line);
		}
	}
}

int cpu_enforce(const struct cpu_featureset *missing)
{
	char list[ERR_MSG_MAX - 128] = "";
	unsigned n = 0;
	size_t len = 0;

	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			char desc[96];

			if (!((missing->w[w] >> b) & 1u))
				continue;
			n++;
			cpu_bit_describe(w, b, desc, sizeof(desc));
			if (len + strlen(desc) + 4 < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len, "\n  %s",
							desc);
		}
	}
	if (!n)
		return 0;
	return err_set("enforce: the host does not support %u requested feature%s:%s", n,
		       n == 1 ? "" : "s", list);
}

void cpu_filter_migratable(struct cpu_featureset *enabled, const struct cpu_featureset *keep,
			   struct cpu_featureset *dropped)
{
	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			const struct cpu_feature *f;
			uint32_t bit = 1u << b;

			if (!(enabled->w[w] & bit) || (keep->w[w] & bit))
				continue;
			f = cpu_feature_at(w, b);
			if (f && !(f->flags & FEAT_UNMIGRATABLE))
				continue;
			enabled->w[w] &= ~bit;
			dropped->w[w] |= bit;
		}
	}
}
