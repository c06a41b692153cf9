/* SPDX-License-Identifier: MIT */
#include "verify/probe_decode.h"

#include <string.h>

#include "util/err.h"

#define PVCLOCK_TSC_STABLE_BIT 0x01u

static const char *const status_names[] = {
	[PROBE_ST_OK] = "ok",
	[PROBE_ST_NOT_OFFERED] = "not offered",
	[PROBE_ST_GP] = "#GP",
	[PROBE_ST_BAD] = "bad",
	[PROBE_ST_NO_KVM] = "no KVM",
};

static const char *const error_names[] = {
	[PROBE_ERR_CPUID_OVERFLOW] = "cpuid overflow",
	[PROBE_ERR_CLOCK_BACKWARDS] = "kvmclock went backwards",
	[PROBE_ERR_EXCEPTION] = "exception",
};

/* Payload length of each known record type (0: unknown type). */
static const uint32_t record_len[] = {
	[PROBE_REC_BEGIN] = PROBE_LEN_BEGIN,         [PROBE_REC_CPUID] = PROBE_LEN_CPUID,
	[PROBE_REC_KVMCLOCK] = PROBE_LEN_KVMCLOCK,   [PROBE_REC_WALLCLOCK] = PROBE_LEN_WALLCLOCK,
	[PROBE_REC_STEAL] = PROBE_LEN_STEAL,         [PROBE_REC_PV_EOI] = PROBE_LEN_PV_EOI,
	[PROBE_REC_MSR_CHECK] = PROBE_LEN_MSR_CHECK, [PROBE_REC_ERROR] = PROBE_LEN_ERROR,
	[PROBE_REC_END] = PROBE_LEN_END,             [PROBE_REC_FEATURE_MSR] = PROBE_LEN_FEATURE_MSR,
};

static const char *const record_names[] = {
	[PROBE_REC_BEGIN] = "BEGIN",       [PROBE_REC_CPUID] = "CPUID",
	[PROBE_REC_KVMCLOCK] = "KVMCLOCK", [PROBE_REC_WALLCLOCK] = "WALLCLOCK",
	[PROBE_REC_STEAL] = "STEAL",       [PROBE_REC_PV_EOI] = "PV_EOI",
	[PROBE_REC_MSR_CHECK] = "MSR_CHECK", [PROBE_REC_ERROR] = "ERROR",
	[PROBE_REC_END] = "END",           [PROBE_REC_FEATURE_MSR] = "FEATURE_MSR",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *probe_status_name(uint32_t status)
{
	return status < ARRAY_LEN(status_names) && status_names[status] ? status_names[status]
									 : "unknown";
}

const char *probe_error_name(uint32_t code)
{
	return code < ARRAY_LEN(error_names) && error_names[code] ? error_names[code] : "unknown";
}

static uint64_t u64(const uint32_t *lo_hi)
{
	return (uint64_t)lo_hi[1] << 32 | lo_hi[0];
}

static int check_status(size_t at, const char *what, uint32_t status)
{
	if (status >= ARRAY_LEN(status_names) || !status_names[status])
		return err_set("probe data word %zu: %s record with unknown status %u", at, what,
			       status);
	return 0;
}

/* Store one record (header at word `at`, payload `p`); 0 or -1. */
static int take(struct probe_report *r, size_t at, uint32_t type, const uint32_t *p)
{
	const char *name = record_names[type];

	if (type != PROBE_REC_BEGIN && !r->begun)
		return err_set("probe data word %zu: %s record before BEGIN", at, name);
	switch (type) {
	case PROBE_REC_BEGIN:
		if (r->begun)
			return err_set("probe data word %zu: second BEGIN record", at);
		if (p[0] != PROBE_VERSION)
			return err_set("probe data word %zu: protocol version %u, "
				       "this skyvm reads %u",
				       at, p[0], PROBE_VERSION);
		r->begun = true;
		r->version = p[0];
		r->cpu = p[1];
		r->apic_id = p[2];
		r->ncpus = p[3];
		break;
	case PROBE_REC_CPUID: {
		struct probe_cpuid *c;

		if (r->ncpuid >= PROBE_MAX_CPUID)
			return err_set("probe data word %zu: more than %d CPUID records", at,
				       PROBE_MAX_CPUID);
		c = &r->cpuid[r->ncpuid++];
		c->leaf = p[0];
		c->subleaf = p[1];
		c->eax = p[2];
		c->ebx = p[3];
		c->ecx = p[4];
		c->edx = p[5];
		break;
	}
	case PROBE_REC_KVMCLOCK: {
		struct probe_kvmclock *k = &r->kvmclock;

		if (k->present)
			return err_set("probe data word %zu: second KVMCLOCK record", at);
		if (check_status(at, name, p[0]) < 0)
			return -1;
		k->present = true;
		k->status = p[0];
		k->version = p[1];
		k->mul = p[2];
		k->shift = (int32_t)p[3];
		k->flags = p[4];
		k->t0_ns = u64(p + 5);
		k->t1_ns = u64(p + 7);
		k->stable = p[4] & PVCLOCK_TSC_STABLE_BIT;
		k->advancing = k->t1_ns > k->t0_ns;
		break;
	}
	case PROBE_REC_WALLCLOCK: {
		struct probe_wallclock *w = &r->wallclock;

		if (w->present)
			return err_set("probe data word %zu: second WALLCLOCK record", at);
		if (check_status(at, name, p[0]) < 0)
			return -1;
		w->present = true;
		w->status = p[0];
		w->version = p[1];
		w->sec = p[2];
		w->nsec = p[3];
		break;
	}
	case PROBE_REC_STEAL: {
		struct probe_steal *s = &r->steal;

		if (s->present)
			return err_set("probe data word %zu: second STEAL record", at);
		if (check_status(at, name, p[0]) < 0)
			return -1;
		s->present = true;
		s->status = p[0];
		s->version = p[1];
		s->start_ns = u64(p + 2);
		s->end_ns = u64(p + 4);
		s->busy_us = p[6];
		s->preempted = p[7];
		break;
	}
	case PROBE_REC_PV_EOI:
		if (r->pv_eoi.present)
			return err_set("probe data word %zu: second PV_EOI record", at);
		if (check_status(at, name, p[0]) < 0)
			return -1;
		r->pv_eoi.present = true;
		r->pv_eoi.status = p[0];
		r->pv_eoi.msr_value = u64(p + 1);
		break;
	case PROBE_REC_MSR_CHECK:
		if (r->nmsr >= PROBE_MAX_MSR_CHECKS)
			return err_set("probe data word %zu: more than %d MSR_CHECK records", at,
				       PROBE_MAX_MSR_CHECKS);
		if (p[2] != PROBE_MSR_ACCEPTED && p[2] != PROBE_MSR_GP)
			return err_set("probe data word %zu: MSR_CHECK result %u", at, p[2]);
		r->msr[r->nmsr].msr = p[0];
		r->msr[r->nmsr].feature_bit = p[1];
		r->msr[r->nmsr].gp = p[2] == PROBE_MSR_GP;
		r->nmsr++;
		break;
	case PROBE_REC_FEATURE_MSR:
		if (r->nfeature_msr >= PROBE_MAX_FEATURE_MSRS)
			return err_set("probe data word %zu: more than %d FEATURE_MSR records", at,
				       PROBE_MAX_FEATURE_MSRS);
		if (p[1] != PROBE_MSR_READ && p[1] != PROBE_MSR_READ_GP)
			return err_set("probe data word %zu: FEATURE_MSR result %u", at, p[1]);
		for (size_t k = 0; k < r->nfeature_msr; k++)
			if (r->feature_msr[k].msr == p[0])
				return err_set("probe data word %zu: FEATURE_MSR 0x%x twice", at,
					       p[0]);
		r->feature_msr[r->nfeature_msr].msr = p[0];
		r->feature_msr[r->nfeature_msr].gp = p[1] == PROBE_MSR_READ_GP;
		r->feature_msr[r->nfeature_msr].value = u64(p + 2);
		r->nfeature_msr++;
		break;
	case PROBE_REC_ERROR:
		/* Kept even past the limit's worth of detail: count what fits. */
		if (r->nerror < PROBE_MAX_ERRORS) {
			r->error[r->nerror].code = p[0];
			r->error[r->nerror].arg = p[1];
			r->nerror++;
		}
		break;
	case PROBE_REC_END:
		if (p[0] != r->records)
			return err_set("probe data word %zu: END counts %u records, %u arrived "
				       "(words lost on the port?)",
				       at, p[0], r->records);
		r->ended = true;
		return 0;
	default:
		break;
	}
	r->records++;
	return 0;
}

int probe_decode(const uint32_t *words, size_t n, struct probe_report *r)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	if (!n)
		return err_set("probe data: empty (the guest sent nothing)");
	while (i < n) {
		uint32_t h = words[i], type = PROBE_HEADER_TYPE(h), len = PROBE_HEADER_LEN(h);
		bool known = type < ARRAY_LEN(record_len) && record_len[type];

		if (r->ended)
			return err_set("probe data word %zu: 0x%08x after the END record", i, h);
		if (PROBE_HEADER_MAGIC(h) != PROBE_MAGIC)
			return err_set("probe data word %zu: 0x%08x is not a record header", i, h);
		if (i + 1 + len > n)
			return err_set("probe data word %zu: %s record truncated (%u of %u words)",
				       i, known ? record_names[type] : "unknown",
				       (unsigned)(n - i - 1), len);
		if (i == 0 && type != PROBE_REC_BEGIN)
			return err_set("probe data word 0: stream starts with %s, not BEGIN",
				       known ? record_names[type] : "an unknown record");
		if (!known) {
			/* A newer guest's record: its length lets us step over it. */
			r->skipped++;
			r->records++;
			i += 1 + len;
			continue;
		}
		if (len != record_len[type])
			return err_set("probe data word %zu: %s record of %u words, expected %u", i,
				       record_names[type], len, record_len[type]);
		if (take(r, i, type, words + i + 1) < 0)
			return -1;
		i += 1 + len;
	}
	if (!r->ended)
		return err_set("probe data: no END record after %u records (the guest stopped "
			       "early?)",
			       r->records);
	return 0;
}

const struct probe_cpuid *probe_report_cpuid(const struct probe_report *r, uint32_t leaf,
					     uint32_t subleaf)
{
	for (size_t i = 0; i < r->ncpuid; i++)
		if (r->cpuid[i].leaf == leaf && r->cpuid[i].subleaf == subleaf)
			return &r->cpuid[i];
	return NULL;
}
