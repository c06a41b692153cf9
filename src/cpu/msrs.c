/* SPDX-License-Identifier: MIT */
#include "cpu/msrs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm.h"
#include "util/err.h"

/* More MSRs than any KVM lists as feature MSRs (about 30 with VMX). */
#define FEATURE_LIST_MAX 1024u

size_t cpu_feature_msr_indices(uint32_t *out, size_t max)
{
	size_t n = 0;

	for (int w = 0; w < FW_COUNT; w++) {
		bool seen = false;

		if (!feature_word_is_msr(w))
			continue;
		for (size_t i = 0; i < n; i++)
			seen |= out[i] == feature_words[w].msr;
		if (!seen && n < max)
			out[n++] = feature_words[w].msr;
	}
	return n;
}

bool cpu_msr_gated(const struct cpuid_table *t, uint32_t index)
{
	struct cpu_featureset fs;
	bool gated = false;

	featureset_from_cpuid(&fs, t);
	for (int w = 0; w < FW_COUNT; w++) {
		const struct cpu_feature *gate;

		if (!feature_word_is_msr(w) || feature_words[w].msr != index)
			continue;
		gate = cpu_feature_find(feature_words[w].gate);
		gated |= gate && featureset_has(&fs, gate);
	}
	return gated;
}

bool cpu_msr_get(const struct cpuid_table *t, uint32_t index, uint64_t *value)
{
	for (uint32_t i = 0; i < t->nmsrs && i < CPU_FEATURE_MSRS_MAX; i++) {
		if (t->msrs[i].index == index) {
			*value = t->msrs[i].value;
			return true;
		}
	}
	return false;
}

int cpu_msr_put(struct cpuid_table *t, uint32_t index, uint64_t value)
{
	for (uint32_t i = 0; i < t->nmsrs && i < CPU_FEATURE_MSRS_MAX; i++) {
		if (t->msrs[i].index == index) {
			t->msrs[i].value = value;
			return 0;
		}
	}
	if (t->nmsrs >= CPU_FEATURE_MSRS_MAX)
		return err_set("feature MSR table full (%d MSRs) adding MSR 0x%x",
			       CPU_FEATURE_MSRS_MAX, index);
	t->msrs[t->nmsrs].index = index;
	t->msrs[t->nmsrs].value = value;
	t->nmsrs++;
	return 0;
}

int cpu_feature_msrs_from_kvm(struct cpuid_table *t, const uint32_t *listed, size_t nlisted,
			      int (*read)(void *ctx, uint32_t index, uint64_t *value), void *ctx)
{
	uint32_t modelled[CPU_FEATURE_MSRS_MAX];
	size_t n = cpu_feature_msr_indices(modelled, CPU_FEATURE_MSRS_MAX);

	t->nmsrs = 0;
	t->msrs_known = true;
	for (size_t m = 0; m < n; m++) {
		bool in_list = false;
		uint64_t value;

		for (size_t i = 0; i < nlisted && !in_list; i++)
			in_list = listed[i] == modelled[m];
		if (!in_list || read(ctx, modelled[m], &value) < 0)
			continue;
		if (cpu_msr_put(t, modelled[m], value) < 0)
			return -1;
	}
	return 0;
}

static int kvm_read_feature_msr(void *ctx, uint32_t index, uint64_t *value)
{
	/* On the system fd KVM_GET_MSRS reads feature MSRs: the host's supported value */
	return kvm_get_msr(*(const int *)ctx, index, value);
}

int cpu_host_feature_msrs_fd(int kvm_fd, struct cpuid_table *t)
{
	struct kvm_msr_list probe = { 0 }, *l;
	int rc;

	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) <= 0)
		return cpu_feature_msrs_from_kvm(t, NULL, 0, kvm_read_feature_msr, &kvm_fd);
	/* nmsrs 0: KVM answers E2BIG with the count */
	if (ioctl(kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_errno("KVM_GET_MSR_FEATURE_INDEX_LIST");
	if (probe.nmsrs > FEATURE_LIST_MAX)
		return err_set("KVM_GET_MSR_FEATURE_INDEX_LIST: %u MSRs, more than %u",
			       probe.nmsrs, FEATURE_LIST_MAX);
	l = calloc(1, sizeof(*l) + (probe.nmsrs ? probe.nmsrs : 1) * sizeof(l->indices[0]));
	if (!l)
		return err_set("KVM_GET_MSR_FEATURE_INDEX_LIST: out of memory");
	l->nmsrs = probe.nmsrs;
	if (probe.nmsrs && ioctl(kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, l) < 0) {
		free(l);
		return err_errno("KVM_GET_MSR_FEATURE_INDEX_LIST");
	}
	rc = cpu_feature_msrs_from_kvm(t, l->indices, l->nmsrs, kvm_read_feature_msr, &kvm_fd);
	free(l);
	return rc;
}

/* The bits of MSR value v that word w holds. */
static uint32_t word_of(int w, uint64_t v)
{
	return (uint32_t)(v >> feature_words[w].msr_shift);
}

void featureset_supported_msrs(struct cpu_featureset *s, const struct cpuid_table *supported)
{
	for (int w = 0; w < FW_COUNT; w++) {
		uint64_t v = 0;

		if (!feature_word_is_msr(w))
			continue;
		if (!supported->msrs_known)
			s->w[w] = ~0u;
		else
			s->w[w] = cpu_msr_get(supported, feature_words[w].msr, &v) ? word_of(w, v) : 0;
	}
}

void featureset_from_msrs(struct cpu_featureset *s, const struct cpuid_table *t)
{
	for (int w = 0; w < FW_COUNT; w++) {
		uint64_t v = 0;

		if (feature_word_is_msr(w))
			s->w[w] = cpu_msr_get(t, feature_words[w].msr, &v) ? word_of(w, v) : 0;
	}
}

int cpu_build_msrs(struct cpuid_table *out, const struct cpuid_table *supported,
		   const struct cpu_featureset *enabled)
{
	uint32_t modelled[CPU_FEATURE_MSRS_MAX];
	size_t n = cpu_feature_msr_indices(modelled, CPU_FEATURE_MSRS_MAX);

	out->nmsrs = 0;
	out->msrs_known = false;
	for (size_t m = 0; m < n; m++) {
		uint64_t value = 0, host;
		bool gated = false;

		/* QEMU writes what KVM lists (has_msr_arch_capabs, ...); a dump may not say */
		if (supported->msrs_known && !cpu_msr_get(supported, modelled[m], &host))
			continue;
		for (int w = 0; w < FW_COUNT; w++) {
			const struct cpu_feature *gate;

			if (feature_words[w].msr != modelled[m])
				continue;
			gate = cpu_feature_find(feature_words[w].gate);
			gated |= gate && featureset_has(enabled, gate);
			value |= (uint64_t)enabled->w[w] << feature_words[w].msr_shift;
		}
		/* Without the CPUID bit the guest cannot read it (#GP): nothing to write */
		if (gated && cpu_msr_put(out, modelled[m], value) < 0)
			return -1;
	}
	return 0;
}
