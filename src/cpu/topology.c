/* SPDX-License-Identifier: MIT */
#include "cpu/topology.h"

#include <string.h>

#include "cpu/normalise.h"
#include "util/err.h"

/* ceil(log2(n)) for n >= 1 */
static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

int cpu_topology_resolve(const struct cpu_topology *in, struct cpu_topology *out)
{
	struct cpu_topology t = *in;
	unsigned long long product;

	if (t.cpus == 0 && t.sockets && t.cores && t.threads)
		t.cpus = t.sockets * t.cores * t.threads;
	if (t.cpus == 0)
		return err_set("no vCPUs: --cpus must be at least 1");
	if (t.cpus > CPU_MAX_VCPUS)
		return err_set("%u vCPUs: at most %u", t.cpus, CPU_MAX_VCPUS);
	if (!t.sockets && !t.cores && !t.threads) {
		t.sockets = 1;
		t.cores = t.cpus;
		t.threads = 1;
	}
	if (!t.sockets)
		t.sockets = 1;
	if (!t.threads)
		t.threads = 1;
	if (!t.cores)
		t.cores = (t.cpus + t.sockets * t.threads - 1) / (t.sockets * t.threads);
	product = (unsigned long long)t.sockets * t.cores * t.threads;
	if (product < t.cpus)
		return err_set("topology sockets=%u cores=%u threads=%u holds %llu vCPUs, fewer "
			       "than --cpus %u", t.sockets, t.cores, t.threads, product, t.cpus);
	if (product > CPU_MAX_VCPUS)
		return err_set("topology sockets=%u cores=%u threads=%u holds %llu vCPUs, more than "
			       "%u", t.sockets, t.cores, t.threads, product, CPU_MAX_VCPUS);
	*out = t;
	return 0;
}

unsigned cpu_topology_smt_bits(const struct cpu_topology *t)
{
	return bits_for(t->threads ? t->threads : 1);
}

unsigned cpu_topology_core_bits(const struct cpu_topology *t)
{
	return bits_for(t->cores ? t->cores : 1);
}

unsigned cpu_apic_id(const struct cpu_topology *topo, unsigned index)
{
	struct cpu_topology t;
	unsigned thread, core, socket;

	if (cpu_topology_resolve(topo, &t) < 0)
		return index; /* unresolvable: flat ids, as a VMM without topology */
	thread = index % t.threads;
	core = (index / t.threads) % t.cores;
	socket = index / (t.threads * t.cores);
	return (socket << (cpu_topology_smt_bits(&t) + cpu_topology_core_bits(&t))) |
	       (core << cpu_topology_smt_bits(&t)) | thread;
}

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

static void leaf1(struct cpuid_table *t, unsigned apic, unsigned pkg_threads)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, 1, 0);
	const struct cpu_feature *htt = cpu_feature_find("ht");

	if (!e)
		return;
	/* CPUID.01H:EBX[31:24] initial APIC id (low 8 bits of the x2APIC id) */
	e->ebx = (e->ebx & 0x00ffffffu) | ((apic & 0xffu) << 24);
	/*
	 * CPUID.01H:EBX[23:16] logical processors per package and EDX HTT, when
	 * there is more than one: the count itself, as QEMU writes it.  With one,
	 * HTT stays what the model says (QEMU does not clear it either).
	 */
	e->ebx &= ~0x00ff0000u;
	if (pkg_threads > 1) {
		e->ebx |= min_u(pkg_threads, 255) << 16;
		if (htt && feature_words[htt->word].leaf == 1)
			*cpuid_reg_ptr(e, feature_words[htt->word].reg) |= 1u << htt->bit;
	}
}

/* 0xB and 0x1F: SMT and core levels, then an invalid level ending the list. */
static void x2apic_leaf(struct cpuid_table *t, uint32_t leaf, const struct cpu_topology *topo,
			unsigned apic, unsigned smt_bits, unsigned core_bits)
{
	struct kvm_cpuid_entry2 *e;

	cpuid_remove_leaf(t, leaf);
	e = cpuid_get_or_add(t, leaf, 0, true);
	if (!e)
		return;
	/* CPUID.(EAX=0BH,ECX=0): SMT level: EAX[4:0] shift, EBX logical count, ECX[15:8] type 1 */
	e->eax = smt_bits;
	e->ebx = topo->threads;
	e->ecx = 0 | (1u << 8);
	e->edx = apic; /* EDX x2APIC id of this logical processor */
	e = cpuid_get_or_add(t, leaf, 1, true);
	if (!e)
		return;
	/* CPUID.(EAX=0BH,ECX=1): core level, type 2, shift to the package id */
	e->eax = smt_bits + core_bits;
	e->ebx = topo->threads * topo->cores;
	e->ecx = 1 | (2u << 8);
	e->edx = apic;
	e = cpuid_get_or_add(t, leaf, 2, true);
	if (!e)
		return;
	/* CPUID.(EAX=0BH,ECX=2): type 0, invalid: the end of the list */
	e->eax = 0;
	e->ebx = 0;
	e->ecx = 2;
	e->edx = apic;
}

int cpu_topology_shared_leaves(struct cpuid_table *t, const struct cpu_topology *topo)
{
	unsigned pkg_threads = topo->cores * topo->threads;
	unsigned pkg_bits = cpu_topology_smt_bits(topo) + cpu_topology_core_bits(topo);
	uint32_t xlevel = cpuid_value(t, 0x80000000, 0, CPUID_EAX);
	const struct cpu_feature *cmp = cpu_feature_find("cmp-legacy");
	struct kvm_cpuid_entry2 *e;
	char vendor[13];

	cpu_vendor_decode(t, vendor);
	e = cpuid_find(t, 0x80000001, 0);
	/*
	 * cmp-legacy (CPUID.80000001H:ECX): set with more than one thread per
	 * package on every vendor but Intel, whose Linux would then ignore the
	 * thread counts (QEMU's rule).
	 */
	if (e && cmp && pkg_threads > 1 && strcmp(vendor, "GenuineIntel"))
		*cpuid_reg_ptr(e, feature_words[cmp->word].reg) |= 1u << cmp->bit;
	e = xlevel >= 0x80000008 ? cpuid_find(t, 0x80000008, 0) : NULL;
	if (e) {
		/* CPUID.80000008H:ECX[7:0] NC: threads per package - 1; [15:12] ApicIdSize */
		e->ecx = pkg_threads > 1 ? (min_u(pkg_threads, 256) - 1) | pkg_bits << 12 : 0;
	}
	/* CPUID.8000001EH (per vCPU below) exists wherever xlevel reaches it, as in QEMU. */
	if (xlevel >= 0x8000001e && !cpuid_get_or_add(t, 0x8000001e, 0, false))
		return err_set("CPUID table full (%d entries)", CPUID_MAX_ENTRIES);
	return 0;
}

void cpu_topology_leaves(struct cpuid_table *t, const struct cpu_topology *topo, unsigned index,
			 bool amd)
{
	unsigned smt_bits = cpu_topology_smt_bits(topo), core_bits = cpu_topology_core_bits(topo);
	unsigned apic = cpu_apic_id(topo, index);
	uint32_t level = cpuid_value(t, 0, 0, CPUID_EAX);
	struct kvm_cpuid_entry2 *e;

	(void)amd; /* the cache leaves, once vendor-specific here, are cpu/cache.c's */
	leaf1(t, apic, topo->cores * topo->threads);
	if (level >= 0xb)
		x2apic_leaf(t, 0xb, topo, apic, smt_bits, core_bits);
	if (level >= 0x1f && cpuid_find(t, 0x1f, 0))
		x2apic_leaf(t, 0x1f, topo, apic, smt_bits, core_bits);
	e = cpuid_find(t, 0x8000001e, 0);
	if (e) {
		/*
		 * CPUID.8000001EH: EAX extended APIC id; EBX[15:8] threads per core - 1,
		 * EBX[7:0] core id; ECX[10:8] nodes per package - 1 (one), [7:0] node id
		 * (the package: the APIC id above the core bits)
		 */
		e->eax = apic;
		e->ebx = ((topo->threads - 1) << 8) | ((index / topo->threads) % topo->cores);
		e->ecx = (apic >> (smt_bits + core_bits)) & 0xffu;
		e->edx = 0;
	}
}
