/* SPDX-License-Identifier: MIT */
#include "verify/verify.h"

#include <asm/kvm_para.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/filter.h"
#include "cpu/msrs.h"
#include "cpu/normalise.h"
#include "cpu/xsave.h"
#include "util/err.h"

#define ALL_BITS 0xffffffffu

/*
 * Bits a guest may legitimately see differ from its table: KVM rewrites
 * them at run time (kvm_update_cpuid_runtime(), kvm_cpuid()) or fills them
 * per vCPU.  Nothing else is ignored: a bit outside this table that differs
 * is a difference, whatever the reason.
 */
const struct verify_ignored_field verify_ignored[] = {
	{ 0x1, 0, false, CPUID_ECX, CPUID_1_ECX_OSXSAVE, "osxsave",
	  "mirrors CR4.OSXSAVE, which the guest sets" },
	{ 0x7, 0, false, CPUID_ECX, CPUID_7_0_ECX_OSPKE, "ospke",
	  "mirrors CR4.PKE, which the guest sets" },
	{ 0x1, 0, false, CPUID_EBX, 0xff000000u, "initial APIC id",
	  "per vCPU, filled by the topology" },
	{ 0xb, 0, true, CPUID_EDX, ALL_BITS, "x2APIC id", "per vCPU, filled by the topology" },
	{ 0x1f, 0, true, CPUID_EDX, ALL_BITS, "x2APIC id", "per vCPU, filled by the topology" },
	{ 0x8000001e, 0, false, CPUID_EAX, ALL_BITS, "extended APIC id",
	  "per vCPU, filled by the topology" },
	{ 0xd, 0, false, CPUID_EBX, ALL_BITS, "xsave size for XCR0",
	  "depends on the XCR0 the guest set" },
	{ 0xd, 1, false, CPUID_EBX, ALL_BITS, "xsave size for XCR0|XSS",
	  "depends on the XCR0 and IA32_XSS the guest set" },
};

const size_t verify_ignored_count = sizeof(verify_ignored) / sizeof(verify_ignored[0]);

uint32_t verify_ignored_mask(uint32_t leaf, uint32_t subleaf, enum cpuid_reg reg)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < verify_ignored_count; i++) {
		const struct verify_ignored_field *f = &verify_ignored[i];

		if (f->leaf == leaf && f->reg == reg && (f->any_subleaf || f->subleaf == subleaf))
			mask |= f->mask;
	}
	return mask;
}

/* ---- what KVM answers from a table */

/* AuthenticAMD or HygonGenuine in leaf 0 (decoded by cpu/normalise.c, as everywhere). */
static bool vendor_is_amd_like(const struct kvm_cpuid_entry2 *basic)
{
	char vendor[13];

	cpu_vendor_from_regs(basic->ebx, basic->ecx, basic->edx, vendor);
	return cpu_vendor_is_amd(vendor);
}

/*
 * The leaf that holds the maximum of `leaf`'s range: 0, 0x40000000 (per
 * 0x100 block, as KVM), 0x80000000 or 0xc0000000.
 */
static uint32_t range_base(uint32_t leaf)
{
	if (leaf >= 0x40000000 && leaf <= 0x4fffffff)
		return leaf & 0xffffff00;
	if (leaf >= 0xc0000000)
		return 0xc0000000;
	return leaf & 0x80000000;
}

static void copy_regs(const struct kvm_cpuid_entry2 *e, uint32_t out[4])
{
	out[CPUID_EAX] = e->eax;
	out[CPUID_EBX] = e->ebx;
	out[CPUID_ECX] = e->ecx;
	out[CPUID_EDX] = e->edx;
}

/*
 * CPUID.(12H,1):ECX:EDX, the enclave XFRM an SGX guest may request: KVM
 * keeps only the bits the guest's XCR0 may hold (leaf 0xD.0 EDX:EAX) and
 * sets x87 and SSE (kvm_vcpu_after_set_cpuid), whatever the table says,
 * even in the zero entry QEMU writes for a model without SGX.
 */
static void sgx_xfrm(const struct cpuid_table *t, uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *xsave = cpuid_find_const(t, 0xd, 0);
	uint64_t xcr0 = xsave ? (uint64_t)xsave->edx << 32 | xsave->eax : 0;

	out[CPUID_ECX] = (out[CPUID_ECX] & (uint32_t)xcr0) | XSAVE_X87_SSE;
	out[CPUID_EDX] &= (uint32_t)(xcr0 >> 32);
}

enum verify_source verify_expected(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
				   uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, leaf, subleaf);
	const struct kvm_cpuid_entry2 *basic, *range;
	enum verify_source src = VERIFY_FROM_ZEROS;

	memset(out, 0, 4 * sizeof(out[0]));
	if (e) {
		copy_regs(e, out);
		if (leaf == 0x12 && subleaf == 1)
			sgx_xfrm(t, out);
		return VERIFY_FROM_TABLE;
	}
	/*
	 * Intel CPUs answer a leaf above its range's maximum with the highest
	 * basic leaf (at the subleaf asked for); KVM does the same for every
	 * vendor but AMD and Hygon, whose CPUs answer zeros.
	 */
	basic = cpuid_find_const(t, 0, 0);
	range = cpuid_find_const(t, range_base(leaf), 0);
	if (basic && !vendor_is_amd_like(basic) && !(range && leaf <= range->eax)) {
		leaf = basic->eax;
		src = VERIFY_FROM_MAX_BASIC;
		e = cpuid_find_const(t, leaf, subleaf);
		if (e) {
			copy_regs(e, out);
			return src;
		}
	}
	/*
	 * Leaves 0xB and 0x1F past their last subleaf: ECX[7:0] echoes the
	 * subleaf and EDX is the x2APIC id, when the leaf exists (subleaf 1 does).
	 */
	if (leaf == 0xb || leaf == 0x1f) {
		e = cpuid_find_const(t, leaf, 1);
		if (e) {
			out[CPUID_ECX] = subleaf & 0xff;
			out[CPUID_EDX] = e->edx;
		}
	}
	return src;
}

/* ---- the comparison */

static int feature_word_of(uint32_t leaf, uint32_t subleaf, enum cpuid_reg reg)
{
	for (int w = 0; w < FW_COUNT; w++) {
		const struct feature_word_info *fw = &feature_words[w];

		if (!fw->msr && fw->leaf == leaf && fw->reg == reg &&
		    (!fw->indexed || fw->subleaf == subleaf))
			return w;
	}
	return -1;
}

static int add_diff(struct verify_result *r, const struct verify_diff *d)
{
	if (r->ndiffs == r->diffs_cap) {
		size_t cap = r->diffs_cap ? 2 * r->diffs_cap : 64;
		struct verify_diff *n = realloc(r->diffs, cap * sizeof(*n));

		if (!n)
			return err_set("out of memory for CPUID differences");
		r->diffs = n;
		r->diffs_cap = cap;
	}
	r->diffs[r->ndiffs++] = *d;
	return 0;
}

static int add_unprobed(struct verify_result *r, unsigned vcpu, uint32_t leaf, uint32_t subleaf)
{
	if (r->nunprobed == r->unprobed_cap) {
		size_t cap = r->unprobed_cap ? 2 * r->unprobed_cap : 32;
		struct verify_unprobed *n = realloc(r->unprobed, cap * sizeof(*n));

		if (!n)
			return err_set("out of memory for unprobed leaves");
		r->unprobed = n;
		r->unprobed_cap = cap;
	}
	r->unprobed[r->nunprobed++] = (struct verify_unprobed){ vcpu, leaf, subleaf };
	return 0;
}

/* One register of one record: no entry, one per differing feature bit, or one raw entry. */
static int compare_register(struct verify_result *r, struct verify_diff *base, uint32_t expected,
			    uint32_t seen)
{
	uint32_t ignored = verify_ignored_mask(base->leaf, base->subleaf, base->reg);
	uint32_t differ;
	int w;

	expected &= ~ignored;
	seen &= ~ignored;
	differ = expected ^ seen;
	if (!differ)
		return 0;
	base->expected = expected;
	base->seen = seen;
	w = feature_word_of(base->leaf, base->subleaf, base->reg);
	if (w < 0) {
		base->kind = VERIFY_DIFF_REGISTER;
		return add_diff(r, base);
	}
	for (unsigned bit = 0; bit < 32; bit++) {
		if (!(differ >> bit & 1))
			continue;
		base->kind = (seen >> bit & 1) ? VERIFY_DIFF_FORCED : VERIFY_DIFF_HIDDEN;
		base->word = (enum feature_word)w;
		base->bit = bit;
		base->feature = cpu_feature_at((enum feature_word)w, bit);
		if (add_diff(r, base) < 0)
			return -1;
	}
	return 0;
}

/* Whether t's CPUID has the named feature (the feature table knows its bit). */
static bool table_offers(const struct cpuid_table *t, const char *feature)
{
	struct cpu_featureset fs;

	featureset_from_cpuid(&fs, t);
	return featureset_has_name(&fs, feature);
}

static void pv_set(struct verify_pv_result *p, enum verify_pv_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pv_set(struct verify_pv_result *p, enum verify_pv_status s, const char *fmt, ...)
{
	va_list ap;

	p->status = s;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

/* The statuses every PV record shares; true when the data needs judging. */
static bool pv_common(struct verify_pv_result *p, bool present, uint32_t status,
		      const char *feature, const char *msr)
{
	if (!present) {
		pv_set(p, VERIFY_PV_FAILED, "the probe sent no %s record", feature);
		return false;
	}
	switch (status) {
	case PROBE_ST_OK:
	case PROBE_ST_BAD:
		return true;
	case PROBE_ST_NOT_OFFERED:
		pv_set(p, VERIFY_PV_NOT_OFFERED, "the guest's CPUID 0x40000001 does not offer %s",
		       feature);
		return false;
	case PROBE_ST_NO_KVM:
		pv_set(p, VERIFY_PV_NOT_OFFERED, "no KVM signature at CPUID 0x40000000");
		return false;
	case PROBE_ST_GP:
		pv_set(p, VERIFY_PV_FAILED, "%s is offered, but writing %s raised #GP", feature,
		       msr);
		return false;
	default:
		pv_set(p, VERIFY_PV_FAILED, "unknown status %u", (unsigned)status);
		return false;
	}
}

/* Append "; what" to a failure list. */
static void note(char *buf, size_t size, const char *what)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? "; " : "", what);
}

static void judge_kvmclock(struct verify_pv_result *p, const struct probe_kvmclock *k,
			   const struct cpuid_table *t, bool host_no_master_clock)
{
	bool want_stable = table_offers(t, "kvmclock-stable-bit");
	char bad[160] = "";

	if (!pv_common(p, k->present, k->status, "kvmclock", "MSR_KVM_SYSTEM_TIME_NEW"))
		return;
	if (k->version & 1)
		note(bad, sizeof(bad), "pvclock version odd (an update never finished)");
	if (!k->mul)
		note(bad, sizeof(bad), "tsc_to_system_mul is 0");
	if (!(k->t1_ns > k->t0_ns))
		note(bad, sizeof(bad), "time did not advance");
	/*
	 * KVM sets PVCLOCK_TSC_STABLE_BIT whenever its master clock is in use,
	 * whatever CPUID says; the CPUID bit only tells the guest it may trust
	 * the flag.  So the flag is required when the model advertises
	 * kvmclock-stable-bit, and only reported otherwise.  Without a master
	 * clock (KVM_GET_CLOCK says so) KVM cannot set it: that is the host's
	 * clocksource, not the model, and is reported as such.
	 */
	if (want_stable && !k->stable && !host_no_master_clock)
		note(bad, sizeof(bad), "PVCLOCK_TSC_STABLE_BIT clear although the model "
				       "advertises kvmclock-stable-bit");
	if (!bad[0] && k->status == PROBE_ST_BAD)
		note(bad, sizeof(bad), "the guest judged the pvclock data bad");
	if (bad[0]) {
		pv_set(p, VERIFY_PV_FAILED,
		       "%s (version %u, mul %u, %" PRIu64 " -> %" PRIu64 " ns)", bad, k->version,
		       k->mul, k->t0_ns, k->t1_ns);
		return;
	}
	pv_set(p, VERIFY_PV_OK, "version %u, mul %u, shift %d, %" PRIu64 " -> %" PRIu64 " ns, %s%s",
	       k->version, k->mul, k->shift, k->t0_ns, k->t1_ns,
	       k->stable ? "stable" : "not stable",
	       !want_stable ? " (kvmclock-stable-bit not advertised)"
	       : !k->stable ? " (KVM has no master clock on this host: KVM_GET_CLOCK "
			      "reports no KVM_CLOCK_TSC_STABLE, so KVM cannot set the flag)"
			    : "");
}

static void judge_wallclock(struct verify_pv_result *p, const struct probe_wallclock *w)
{
	char bad[128] = "";

	if (!pv_common(p, w->present, w->status, "kvmclock", "MSR_KVM_WALL_CLOCK_NEW"))
		return;
	if (w->version & 1)
		note(bad, sizeof(bad), "version odd");
	if (w->nsec >= 1000000000u)
		note(bad, sizeof(bad), "nsec >= 1e9");
	if (!bad[0] && w->status == PROBE_ST_BAD)
		note(bad, sizeof(bad), "the guest judged the wall clock bad");
	if (bad[0])
		pv_set(p, VERIFY_PV_FAILED, "%s (%u.%09u s at boot, version %u)", bad, w->sec,
		       w->nsec, w->version);
	else
		pv_set(p, VERIFY_PV_OK, "%u.%09u s at boot, version %u", w->sec, w->nsec,
		       w->version);
}

static void judge_steal(struct verify_pv_result *p, struct verify_vcpu *v,
			const struct probe_steal *s)
{
	char bad[128] = "";

	if (!pv_common(p, s->present, s->status, "steal time", "MSR_KVM_STEAL_TIME"))
		return;
	v->steal_valid = true;
	v->steal_start_ns = s->start_ns;
	v->steal_end_ns = s->end_ns;
	v->steal_busy_us = s->busy_us;
	if (s->version & 1)
		note(bad, sizeof(bad), "version odd");
	if (s->end_ns < s->start_ns)
		note(bad, sizeof(bad), "the steal counter went backwards");
	if (!bad[0] && s->status == PROBE_ST_BAD)
		note(bad, sizeof(bad), "the guest judged the steal-time area bad");
	if (bad[0]) {
		pv_set(p, VERIFY_PV_FAILED, "%s (%" PRIu64 " -> %" PRIu64 " ns)", bad, s->start_ns,
		       s->end_ns);
		return;
	}
	pv_set(p, VERIFY_PV_OK, "%" PRIu64 " -> %" PRIu64 " ns (+%" PRIu64 " ns over %u us busy)",
	       s->start_ns, s->end_ns, s->end_ns - s->start_ns, s->busy_us);
}

static void judge_pv_eoi(struct verify_pv_result *p, const struct probe_pv_eoi *e)
{
	if (!pv_common(p, e->present, e->status, "PV EOI", "MSR_KVM_PV_EOI_EN"))
		return;
	if (e->status == PROBE_ST_BAD)
		pv_set(p, VERIFY_PV_FAILED,
		       "MSR_KVM_PV_EOI_EN reads back 0x%" PRIx64 ", not what the guest wrote",
		       e->msr_value);
	else
		pv_set(p, VERIFY_PV_OK, "MSR_KVM_PV_EOI_EN reads back 0x%" PRIx64, e->msr_value);
}

static void judge_enforcement(struct verify_pv_result *p, const struct probe_report *rep)
{
	char accepted[200] = "";
	unsigned faulted = 0;

	if (rep->kvmclock.present && rep->kvmclock.status == PROBE_ST_NO_KVM) {
		pv_set(p, VERIFY_PV_NOT_OFFERED, "no KVM signature at CPUID 0x40000000");
		return;
	}
	if (!rep->nmsr) {
		pv_set(p, VERIFY_PV_NOT_OFFERED, "the model hides no PV feature with an MSR");
		return;
	}
	for (size_t i = 0; i < rep->nmsr; i++) {
		const struct probe_msr_check *m = &rep->msr[i];
		const struct cpu_feature *f = cpu_feature_at(FW_KVM_FEATURES, m->feature_bit & 31);
		char one[64];

		if (m->gp) {
			faulted++;
			continue;
		}
		snprintf(one, sizeof(one), "MSR 0x%x (%s) accepted", (unsigned)m->msr,
			 f ? f->name : "unnamed bit");
		note(accepted, sizeof(accepted), one);
	}
	if (accepted[0])
		pv_set(p, VERIFY_PV_FAILED,
		       "%s although the feature is hidden (%u of %zu raised #GP)", accepted,
		       faulted, rep->nmsr);
	else
		pv_set(p, VERIFY_PV_OK, "writing the MSRs of %zu hidden PV features raised #GP",
		       rep->nmsr);
}

/* ---- feature MSRs */

/* The first MSR word of feature MSR `msr`, or -1 for one the table does not model. */
static int msr_word(uint32_t msr)
{
	for (int w = 0; w < FW_COUNT; w++)
		if (feature_word_is_msr(w) && feature_words[w].msr == msr)
			return w;
	return -1;
}

static void judge_feature_msrs(struct verify_vcpu *v, const struct verify_vcpu_input *in)
{
	const struct probe_report *rep = in->report;
	const struct cpuid_table *wrote = in->written ? in->written : in->table;

	for (size_t k = 0; k < rep->nfeature_msr && v->nmsrs < PROBE_MAX_FEATURE_MSRS; k++) {
		const struct probe_feature_msr *p = &rep->feature_msr[k];
		struct verify_msr *m = &v->msrs[v->nmsrs++];

		*m = (struct verify_msr){ .msr = p->msr, .gp = p->gp, .seen = p->gp ? 0 : p->value };
		m->written = cpu_msr_get(wrote, p->msr, &m->expected);
		m->held_known = in->written && in->table->msrs_known &&
				cpu_msr_get(in->table, p->msr, &m->held);
		if (!cpu_msr_gated(in->table, p->msr)) {
			m->status = VERIFY_MSR_NOT_GATED;
		} else if (!m->written) {
			m->status = VERIFY_MSR_NOT_WRITTEN;
		} else if (!p->gp && p->value == m->expected) {
			m->status = VERIFY_MSR_EQUAL;
		} else {
			m->status = VERIFY_MSR_DIFFERENT;
			v->nmsr_diffs++;
		}
	}
}

static int compare_vcpu(struct verify_result *r, unsigned i, const struct verify_vcpu_input *in)
{
	const struct probe_report *rep = in->report;
	const struct cpuid_table *t = in->table;
	struct verify_vcpu *v = &r->vcpu[i];
	size_t before = r->ndiffs;

	v->index = i;
	v->complete = in->report_complete;
	for (size_t k = 0; k < rep->ncpuid; k++) {
		const struct probe_cpuid *c = &rep->cpuid[k];
		const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, c->leaf, c->subleaf);
		uint32_t seen[4] = { c->eax, c->ebx, c->ecx, c->edx }, expected[4];
		struct verify_diff d = { .vcpu = i, .leaf = c->leaf, .subleaf = c->subleaf };

		d.source = verify_expected(t, c->leaf, c->subleaf, expected);
		d.indexed = (e && (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)) || c->subleaf;
		v->records++;
		for (int reg = CPUID_EAX; reg <= CPUID_EDX; reg++) {
			d.reg = (enum cpuid_reg)reg;
			if (compare_register(r, &d, expected[reg], seen[reg]) < 0)
				return -1;
		}
	}
	for (uint32_t k = 0; k < t->nent; k++) {
		const struct kvm_cpuid_entry2 *e = &t->ent[k];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		uint32_t sub = indexed ? e->index : 0;
		bool seen = false;

		for (size_t c = 0; c < rep->ncpuid && !seen; c++)
			seen = rep->cpuid[c].leaf == e->function &&
			       (!indexed || rep->cpuid[c].subleaf == sub);
		if (!seen && add_unprobed(r, i, e->function, sub) < 0)
			return -1;
	}
	v->ndiffs = r->ndiffs - before;

	judge_kvmclock(&v->pv[VERIFY_PV_KVMCLOCK], &rep->kvmclock, t, in->host_no_master_clock);
	judge_wallclock(&v->pv[VERIFY_PV_WALLCLOCK], &rep->wallclock);
	judge_steal(&v->pv[VERIFY_PV_STEAL], v, &rep->steal);
	judge_pv_eoi(&v->pv[VERIFY_PV_EOI], &rep->pv_eoi);
	judge_enforcement(&v->pv[VERIFY_PV_ENFORCEMENT], rep);
	judge_feature_msrs(v, in);
	r->nmsr_diffs += v->nmsr_diffs;
	v->nerrors = rep->nerror < VERIFY_MAX_ERRORS ? rep->nerror : VERIFY_MAX_ERRORS;
	memcpy(v->errors, rep->error, v->nerrors * sizeof(v->errors[0]));
	return 0;
}

int verify_compare(const struct verify_vcpu_input *in, unsigned n, struct verify_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return err_set("no vCPU to verify");
	for (unsigned i = 0; i < n; i++)
		if (!in[i].table || !in[i].report)
			return err_set("vCPU %u: no %s to compare", i,
				       in[i].table ? "probe report" : "CPUID table");
	out->vcpu = calloc(n, sizeof(*out->vcpu));
	if (!out->vcpu)
		return err_set("out of memory for %u vCPUs", n);
	out->nvcpus = n;
	out->pv_ok = true;
	for (unsigned i = 0; i < n; i++) {
		if (compare_vcpu(out, i, &in[i]) < 0) {
			verify_result_free(out);
			return -1;
		}
		if (!out->vcpu[i].complete || out->vcpu[i].nerrors)
			out->pv_ok = false;
		for (int c = 0; c < VERIFY_PV_COUNT; c++)
			if (out->vcpu[i].pv[c].status == VERIFY_PV_FAILED)
				out->pv_ok = false;
	}
	out->identical = out->ndiffs == 0 && out->nmsr_diffs == 0;
	return 0;
}

void verify_result_free(struct verify_result *r)
{
	free(r->vcpu);
	free(r->diffs);
	free(r->unprobed);
	memset(r, 0, sizeof(*r));
}

/* ---- words */

/* "CPUID.07H.1:EAX", "CPUID.80000001H:EDX": Intel's spelling, the subleaf when it matters. */
static void register_label(uint32_t leaf, uint32_t subleaf, bool indexed, enum cpuid_reg reg,
			   char *buf, size_t size)
{
	if (indexed)
		snprintf(buf, size, "CPUID.%02" PRIX32 "H.%" PRIu32 ":%s", leaf, subleaf,
			 cpuid_reg_name(reg));
	else
		snprintf(buf, size, "CPUID.%02" PRIX32 "H:%s", leaf, cpuid_reg_name(reg));
}

void verify_diff_describe(const struct verify_diff *d, char *buf, size_t size)
{
	char what[80];

	if (d->kind == VERIFY_DIFF_REGISTER) {
		const char *note = "";

		if (d->source == VERIFY_FROM_ZEROS)
			note = " (the table has no such leaf: zeros)";
		else if (d->source == VERIFY_FROM_MAX_BASIC)
			note = " (the table has no such leaf: the highest basic leaf)";

		register_label(d->leaf, d->subleaf, d->indexed, d->reg, what, sizeof(what));
		snprintf(buf, size,
			 "%s: guest sees 0x%08" PRIx32 ", the table gives 0x%08" PRIx32 "%s", what,
			 d->seen, d->expected, note);
		return;
	}
	if (d->feature) {
		snprintf(what, sizeof(what), "%s", d->feature->name);
	} else {
		char reg[48];

		register_label(d->leaf, d->subleaf, feature_words[d->word].indexed, d->reg, reg,
			       sizeof(reg));
		snprintf(what, sizeof(what), "%s[bit %u]", reg, d->bit);
	}
	if (d->kind == VERIFY_DIFF_FORCED)
		snprintf(buf, size,
			 "guest sees %s although the model disables it (the host forces it)", what);
	else
		snprintf(buf, size,
			 "guest lacks %s although the model enables it (the host clears it)", what);
}

static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

void verify_msr_describe(const struct verify_msr *m, char *buf, size_t size)
{
	int w0 = msr_word(m->msr);
	const char *label = w0 >= 0 ? feature_words[w0].label : "MSR";
	const char *gate = w0 >= 0 ? feature_words[w0].gate : "its CPUID bit";
	char read[48];

	if (!size)
		return;
	buf[0] = '\0';
	if (m->gp)
		snprintf(read, sizeof(read), "#GP");
	else
		snprintf(read, sizeof(read), "0x%" PRIx64, m->seen);
	switch (m->status) {
	case VERIFY_MSR_EQUAL:
		append(buf, size, "%s = 0x%" PRIx64 ", as skyvm wrote it", label, m->seen);
		return;
	case VERIFY_MSR_NOT_WRITTEN:
		append(buf, size, "%s: skyvm wrote none (KVM does not list it); RDMSR gave %s",
		       label, read);
		return;
	case VERIFY_MSR_NOT_GATED:
		append(buf, size, "%s: not compared, the guest's CPUID lacks %s; RDMSR gave %s",
		       label, gate, read);
		return;
	case VERIFY_MSR_DIFFERENT:
		break;
	}
	if (m->gp) {
		append(buf, size, "%s: RDMSR raised #GP although skyvm wrote 0x%" PRIx64
		       " (the guest's CPUID has %s)", label, m->expected, gate);
	} else {
		for (int w = 0; w < FW_COUNT; w++) {
			uint32_t differ;

			if (!feature_word_is_msr(w) || feature_words[w].msr != m->msr)
				continue;
			differ = (uint32_t)((m->seen ^ m->expected) >> feature_words[w].msr_shift);
			for (unsigned bit = 0; bit < 32; bit++) {
				const struct cpu_feature *f = cpu_feature_at((enum feature_word)w, bit);
				bool sees = (m->seen >> (bit + feature_words[w].msr_shift)) & 1;
				char what[96];

				if (!(differ >> bit & 1))
					continue;
				if (f)
					snprintf(what, sizeof(what), "%s.%s", label, f->name);
				else
					snprintf(what, sizeof(what), "%s[bit %u]", label,
						 bit + feature_words[w].msr_shift);
				append(buf, size, "%sguest %s %s although the model %s it",
				       buf[0] ? "\n" : "", sees ? "sees" : "lacks", what,
				       sees ? "disables" : "enables");
			}
		}
	}
	if (m->held_known && m->held != m->expected)
		append(buf, size, "\n%s: KVM refused skyvm's write of 0x%" PRIx64
		       ": the vCPU holds 0x%" PRIx64, label, m->expected, m->held);
}

const char *verify_msr_status_name(enum verify_msr_status s)
{
	switch (s) {
	case VERIFY_MSR_EQUAL: return "equal";
	case VERIFY_MSR_DIFFERENT: return "different";
	case VERIFY_MSR_NOT_WRITTEN: return "not-written";
	case VERIFY_MSR_NOT_GATED: return "not-gated";
	}
	return "unknown";
}

static const char *const pv_check_names[VERIFY_PV_COUNT] = {
	[VERIFY_PV_KVMCLOCK] = "kvmclock",
	[VERIFY_PV_WALLCLOCK] = "wallclock",
	[VERIFY_PV_STEAL] = "steal_time",
	[VERIFY_PV_EOI] = "pv_eoi",
	[VERIFY_PV_ENFORCEMENT] = "hidden_pv_msrs_fault",
};

const char *verify_pv_check_name(enum verify_pv_check c)
{
	return (unsigned)c < VERIFY_PV_COUNT ? pv_check_names[c] : "unknown";
}

const char *verify_pv_status_name(enum verify_pv_status s)
{
	switch (s) {
	case VERIFY_PV_OK: return "ok";
	case VERIFY_PV_FAILED: return "failed";
	case VERIFY_PV_NOT_OFFERED: return "not-offered";
	}
	return "unknown";
}

size_t verify_forced_features(const struct verify_result *r, const struct cpu_feature **out,
			      size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cpu_features_count && n < max; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		bool forced = false, listed = false;

		for (size_t k = 0; k < r->ndiffs && !forced; k++)
			forced = r->diffs[k].kind == VERIFY_DIFF_FORCED && r->diffs[k].feature == f;
		for (size_t k = 0; k < n && !listed; k++)
			listed = !strcmp(out[k]->name, f->name);
		if (forced && !listed)
			out[n++] = f;
	}
	return n;
}

/* ---- JSON */

static json_t *hex32(uint32_t v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx32, width, v);
	return json_string(buf);
}

static const char *diff_kind_name(enum verify_diff_kind k)
{
	switch (k) {
	case VERIFY_DIFF_FORCED: return "forced";
	case VERIFY_DIFF_HIDDEN: return "hidden";
	case VERIFY_DIFF_REGISTER: return "register";
	}
	return "unknown";
}

static const char *source_name(enum verify_source s)
{
	switch (s) {
	case VERIFY_FROM_TABLE: return "table";
	case VERIFY_FROM_ZEROS: return "absent-zeros";
	case VERIFY_FROM_MAX_BASIC: return "absent-max-basic";
	}
	return "unknown";
}

static json_t *ignored_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < verify_ignored_count; i++) {
		const struct verify_ignored_field *f = &verify_ignored[i];

		json_t *sub = f->any_subleaf ? json_string("any") : hex32(f->subleaf, 1);

		json_t *o = json_pack("{s:o, s:o, s:s, s:o, s:s, s:s}", "leaf", hex32(f->leaf, 8),
				      "subleaf", sub, "register", cpuid_reg_name(f->reg), "mask",
				      hex32(f->mask, 8), "name", f->name, "why", f->why);

		json_array_append_new(a, o);
	}
	return a;
}

static json_t *diff_json(const struct verify_diff *d)
{
	char desc[200];
	json_t *o;

	verify_diff_describe(d, desc, sizeof(desc));
	o = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:s, s:s}", "kind", diff_kind_name(d->kind),
		      "leaf", hex32(d->leaf, 8), "subleaf", hex32(d->subleaf, 1), "register",
		      cpuid_reg_name(d->reg), "expected", hex32(d->expected, 8), "seen",
		      hex32(d->seen, 8), "source", source_name(d->source), "description", desc);
	if (o && d->kind != VERIFY_DIFF_REGISTER) {
		json_object_set_new(o, "bit", json_integer(d->bit));
		json_object_set_new(o, "feature", d->feature ? json_string(d->feature->name)
							     : json_null());
	}
	return o;
}

static json_t *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	return json_string(buf);
}

/* The bits in which the guest's value differs from skyvm's, as {kind, bit, feature}. */
static json_t *msr_bits_json(const struct verify_msr *m)
{
	json_t *a = json_array();
	uint64_t differ = m->seen ^ m->expected;

	if (m->status != VERIFY_MSR_DIFFERENT || m->gp)
		return a;
	for (unsigned bit = 0; bit < 64; bit++) {
		const struct cpu_feature *f = NULL;

		if (!(differ >> bit & 1))
			continue;
		for (int w = 0; w < FW_COUNT && !f; w++)
			if (feature_word_is_msr(w) && feature_words[w].msr == m->msr &&
			    bit >= feature_words[w].msr_shift && bit < feature_words[w].msr_shift + 32u)
				f = cpu_feature_at((enum feature_word)w,
						   bit - feature_words[w].msr_shift);
		json_array_append_new(a, json_pack("{s:s, s:i, s:o}", "kind",
						   (m->seen >> bit & 1) ? "forced" : "hidden", "bit",
						   (int)bit, "feature",
						   f ? json_string(f->name) : json_null()));
	}
	return a;
}

static json_t *msr_json(const struct verify_msr *m)
{
	char desc[1024];
	int w = msr_word(m->msr);

	verify_msr_describe(m, desc, sizeof(desc));
	return json_pack("{s:o, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:s}", "msr", hex32(m->msr, 8),
			 "label", w >= 0 ? feature_words[w].label : "MSR", "status",
			 verify_msr_status_name(m->status), "gp", m->gp, "seen",
			 m->gp ? json_null() : hex64(m->seen), "expected",
			 m->written ? hex64(m->expected) : json_null(), "held",
			 m->held_known ? hex64(m->held) : json_null(), "bits", msr_bits_json(m),
			 "description", desc);
}

static json_t *vcpu_json(const struct verify_result *r, const struct verify_vcpu *v)
{
	json_t *diffs = json_array(), *unprobed = json_array(), *pv = json_object();
	json_t *errors = json_array(), *msrs = json_array(), *steal, *o;

	for (size_t k = 0; k < r->ndiffs; k++)
		if (r->diffs[k].vcpu == v->index)
			json_array_append_new(diffs, diff_json(&r->diffs[k]));
	for (size_t k = 0; k < r->nunprobed; k++)
		if (r->unprobed[k].vcpu == v->index)
			json_array_append_new(unprobed,
					      json_pack("{s:o, s:o}", "leaf",
							hex32(r->unprobed[k].leaf, 8), "subleaf",
							hex32(r->unprobed[k].subleaf, 1)));
	for (int c = 0; c < VERIFY_PV_COUNT; c++)
		json_object_set_new(pv, verify_pv_check_name((enum verify_pv_check)c),
				    json_pack("{s:s, s:s}", "status",
					      verify_pv_status_name(v->pv[c].status), "detail",
					      v->pv[c].detail));
	for (size_t k = 0; k < v->nerrors; k++)
		json_array_append_new(errors, json_pack("{s:s, s:I}", "error",
							probe_error_name(v->errors[k].code), "arg",
							(json_int_t)v->errors[k].arg));
	if (v->steal_valid)
		steal = json_pack("{s:I, s:I, s:I, s:I}", "start_ns",
				  (json_int_t)v->steal_start_ns, "end_ns",
				  (json_int_t)v->steal_end_ns, "delta_ns",
				  (json_int_t)(v->steal_end_ns >= v->steal_start_ns
						       ? v->steal_end_ns - v->steal_start_ns
						       : 0),
				  "busy_us", (json_int_t)v->steal_busy_us);
	else
		steal = json_null();
	for (size_t k = 0; k < v->nmsrs; k++)
		json_array_append_new(msrs, msr_json(&v->msrs[k]));
	o = json_pack("{s:i, s:b, s:i, s:b, s:o, s:o, s:o, s:o, s:o}", "index", (int)v->index,
		      "complete", v->complete, "records", (int)v->records, "identical",
		      v->ndiffs == 0 && v->nmsr_diffs == 0, "differences", diffs, "not_probed",
		      unprobed, "pv", pv, "steal_time", steal, "probe_errors", errors);
	json_object_set_new(o, "feature_msrs", msrs);
	return o;
}

json_t *verify_result_json(const struct verify_result *r, const char *spec)
{
	json_t *vcpus = json_array();

	for (unsigned i = 0; i < r->nvcpus; i++)
		json_array_append_new(vcpus, vcpu_json(r, &r->vcpu[i]));
	return json_pack("{s:s, s:s, s:b, s:b, s:i, s:i, s:o, s:o}", "spec", spec, "verdict",
			 r->identical && r->pv_ok ? "identical" : "different", "identical",
			 r->identical, "pv_ok", r->pv_ok, "differences", (int)r->ndiffs,
			 "msr_differences", (int)r->nmsr_diffs, "ignored", ignored_json(), "vcpus",
			 vcpus);
}
