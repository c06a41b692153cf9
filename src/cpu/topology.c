/* SPDX-License-Identifier: MIT */
#include "cpu/topology.h"

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

/* Leaf 4 (Intel) or 0x8000001D (AMD) cache level -> how many ids share it. */
static unsigned cache_sharing(unsigned level, unsigned smt_bits, unsigned core_bits)
{
	/* L1 and L2 are per core; L3 is per socket. */
	return level >= 3 ? 1u << (smt_bits + core_bits) : 1u << smt_bits;
}

static void leaf1(struct cpuid_table *t, unsigned apic, unsigned pkg_ids)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, 1, 0);

	if (!e)
		return;
	/* CPUID.01H:EBX[31:24] initial APIC id (low 8 bits of the x2APIC id) */
	e->ebx = (e->ebx & 0x00ffffffu) | ((apic & 0xffu) << 24);
	/* CPUID.01H:EBX[23:16] addressable logical ids per package; EDX[28] HTT */
	e->ebx &= ~0x00ff0000u;
	if (pkg_ids > 1) {
		e->ebx |= min_u(pkg_ids, 255) << 16;
		e->edx |= 1u << 28;
	} else {
		e->edx &= ~(1u << 28);
	}
}

static void leaf4(struct cpuid_table *t, unsigned smt_bits, unsigned core_bits)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->ent[i];
		unsigned level = (e->eax >> 5) & 7;

		if (e->function != 4 || !(e->eax & 0x1f))
			continue;
		/*
		 * CPUID.(EAX=04H):EAX[25:14] ids sharing this cache - 1,
		 * EAX[31:26] addressable core ids per package - 1.
		 */
		e->eax &= 0x00003fffu;
		e->eax |= (min_u(cache_sharing(level, smt_bits, core_bits), 4096) - 1) << 14;
		e->eax |= (min_u(1u << core_bits, 64) - 1) << 26;
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

static void amd_leaves(struct cpuid_table *t, const struct cpu_topology *topo, unsigned index,
		       unsigned apic, unsigned smt_bits, unsigned core_bits)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, 0x80000008, 0);

	if (e) {
		/* CPUID.80000008H:ECX[7:0] NC: threads per package - 1; [15:12] ApicIdSize */
		e->ecx &= ~0x0000f0ffu;
		e->ecx |= (min_u(topo->cores * topo->threads, 256) - 1) |
			  ((smt_bits + core_bits) << 12);
	}
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *c = &t->ent[i];

		if (c->function != 0x8000001d || !(c->eax & 0x1f))
			continue;
		/* CPUID.8000001DH:EAX[25:14] NumSharingCache - 1 */
		c->eax &= ~0x03ffc000u;
		c->eax |= (cache_sharing((c->eax >> 5) & 7, smt_bits, core_bits) - 1) << 14;
	}
	e = cpuid_find(t, 0x8000001e, 0);
	if (e) {
		/*
		 * CPUID.8000001EH: EAX extended APIC id; EBX[15:8] threads per core - 1,
		 * EBX[7:0] core id
		 */
		e->eax = apic;
		e->ebx = ((topo->threads - 1) << 8) | ((index / topo->threads) % topo->cores);
		/* ECX[10:8] nodes per package - 1 (one), [7:0] node id = the socket */
		e->ecx = index / (topo->threads * topo->cores);
		e->edx = 0;
	}
}

void cpu_topology_leaves(struct cpuid_table *t, const struct cpu_topology *topo, unsigned index,
			 bool amd)
{
	unsigned smt_bits = cpu_topology_smt_bits(topo), core_bits = cpu_topology_core_bits(topo);
	unsigned apic = cpu_apic_id(topo, index);
	uint32_t level = cpuid_value(t, 0, 0, CPUID_EAX);

	leaf1(t, apic, topo->cores * topo->threads > 1 ? 1u << (smt_bits + core_bits) : 1);
	if (amd)
		cpuid_remove_leaf(t, 4); /* reserved on AMD: 0x8000001D describes caches */
	else if (level >= 4)
		leaf4(t, smt_bits, core_bits);
	if (level >= 0xb)
		x2apic_leaf(t, 0xb, topo, apic, smt_bits, core_bits);
	if (level >= 0x1f && cpuid_find(t, 0x1f, 0))
		x2apic_leaf(t, 0x1f, topo, apic, smt_bits, core_bits);
	if (amd)
		amd_leaves(t, topo, index, apic, smt_bits, core_bits);
}
