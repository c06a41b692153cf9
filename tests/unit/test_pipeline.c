/* SPDX-License-Identifier: MIT */
/*
 * The CPU model pipeline end to end on recorded supported-CPUID tables
 * (tests/data/supported/), stage by stage: host fix-ups, filtering and
 * QEMU's exact warnings, enforce, dependencies, migratable, and the final
 * table's vendor, signature, brand, XSAVE sizes and KVM leaves.  Expected
 * values are facts about the CPUs (Haswell has no AVX-512, an XSAVE area
 * with AVX is 832 bytes), not copies of the code's tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "cpu/fixups.h"
#include "cpu/host.h"
#include "cpu/msrs.h"
#include "cpu/normalise.h"
#include "cpu/topology.h"
#include "util/err.h"

#define HASWELL "tests/data/supported/intel-haswell-server.json"
#define ICELAKE "tests/data/supported/intel-icelake-server.json"
#define TURIN "tests/data/supported/amd-epyc-turin.json"

static struct cpuid_table supported, vcpu;
static struct cpu_result result;
static char warnings[16384];

static void load(const char *path)
{
	struct cpuid_dump_meta meta;

	if (cpuid_dump_load(path, &supported, &meta) < 0)
		fail_msg("%s", err_msg());
}

/* Configure on a recorded host (hardware KVM facts unless told otherwise). */
static int configure_facts(const char *host, const char *spec, unsigned cpus, bool pvm)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = cpus };
	FILE *w = fmemopen(warnings, sizeof(warnings), "w");
	int rc;

	assert_non_null(w);
	memset(warnings, 0, sizeof(warnings));
	load(host);
	cpu_host_facts_default(&facts);
	facts.hypercalls_hang = pvm;
	err_clear();
	rc = cpu_configure_with(spec, &supported, &facts, &topo, &result, w);
	fclose(w);
	return rc;
}

static void configure(const char *host, const char *spec)
{
	if (configure_facts(host, spec, 1, false) < 0)
		fail_msg("%s on %s: %s", spec, host, err_msg());
}

static bool enabled(const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return featureset_has(&result.enabled, f);
}

static bool in_set(const struct cpu_featureset *s, const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return featureset_has(s, f);
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_filter_warnings_exact(void **state)
{
	static const char *const haswell_lacks[] = {
		"CPUID.07H:EBX.avx512f [bit 16]", "CPUID.07H:EBX.avx512dq [bit 17]",
		"CPUID.07H:EBX.rdseed [bit 18]",  "CPUID.07H:EBX.adx [bit 19]",
		"CPUID.07H:EBX.smap [bit 20]",    "CPUID.07H:EBX.clwb [bit 24]",
		"CPUID.07H:EBX.avx512cd [bit 28]",
		"CPUID.07H:EBX.avx512bw [bit 30]", "CPUID.07H:EBX.avx512vl [bit 31]",
		"CPUID.07H:ECX.pku [bit 3]",
	};
	unsigned filtered = 0;

	(void)state;
	configure(HASWELL, "Skylake-Server-v4");
	for (size_t i = 0; i < sizeof(haswell_lacks) / sizeof(haswell_lacks[0]); i++) {
		char line[160];

		snprintf(line, sizeof(line),
			 "skyvm: warning: host doesn't support requested feature: %s\n",
			 haswell_lacks[i]);
		if (count_lines(warnings, line) != 1)
			fail_msg("expected exactly one \"%s\" in:\n%s", line, warnings);
	}
	/* One warning per filtered bit, nothing else. */
	for (int w = 0; w < FW_COUNT; w++)
		filtered += (unsigned)__builtin_popcount(result.filtered.w[w]);
	assert_int_equal(count_lines(warnings, "skyvm: warning: "), filtered);
	assert_int_equal(count_lines(result.warnings, "host doesn't support"), filtered);
	assert_false(enabled("avx512f"));
	assert_true(in_set(&result.filtered, "avx512f"));
	assert_true(in_set(&result.requested, "avx512f"));
	/* What Haswell has stays. */
	assert_true(enabled("avx2"));
	assert_true(enabled("fma"));
	assert_null(strstr(warnings, ".avx2 "));
	/* The filtered bits are gone from the final table too: CPUID.07H:EBX[16] */
	assert_int_equal(cpuid_value(&result.table, 7, 0, CPUID_EBX) & (1u << 16), 0);
	assert_int_not_equal(cpuid_value(&result.table, 7, 0, CPUID_EBX) & (1u << 5), 0);
}

static void test_no_warnings_when_host_has_all(void **state)
{
	(void)state;
	configure(ICELAKE, "Skylake-Server-v4");
	assert_string_equal(warnings, "");
	assert_true(enabled("avx512f"));
	assert_int_equal(configure_facts(ICELAKE, "Skylake-Server-v4,enforce", 1, false), 0);
}

static void test_enforce_lists_all(void **state)
{
	(void)state;
	assert_int_equal(configure_facts(HASWELL, "Skylake-Server-v4,enforce", 1, false), -1);
	assert_non_null(strstr(err_msg(), "enforce"));
	assert_non_null(strstr(err_msg(), "CPUID.07H:EBX.avx512f [bit 16]"));
	assert_non_null(strstr(err_msg(), "CPUID.07H:EBX.avx512vl [bit 31]"));
	assert_non_null(strstr(err_msg(), "CPUID.07H:ECX.pku [bit 3]"));
	/* every missing feature is listed, one per line */
	assert_int_equal(count_lines(err_msg(), "\n  CPUID."), count_lines(warnings, "warning:"));
}

static void test_pvm_hides_hypercall_features(void **state)
{
	(void)state;
	/* Hardware KVM: kvm-pv-unhalt is offered and granted. */
	configure(ICELAKE, "Skylake-Server-v4,+kvm-pv-unhalt,+kvm-pv-ipi");
	assert_true(enabled("kvm-pv-unhalt"));
	assert_true(enabled("kvm-pv-ipi"));
	assert_string_equal(warnings, "");
	/* PVM: vmcall never returns, so the fix-up removes them from what is supported. */
	assert_int_equal(configure_facts(ICELAKE, "Skylake-Server-v4,+kvm-pv-unhalt,+kvm-pv-ipi",
					 1, true), 0);
	assert_false(enabled("kvm-pv-unhalt"));
	assert_false(enabled("kvm-pv-ipi"));
	assert_non_null(strstr(warnings, "skyvm: warning: host doesn't support requested feature: "
					 "CPUID.40000001H:EAX.kvm-pv-unhalt [bit 7]\n"));
	assert_non_null(strstr(warnings, "CPUID.40000001H:EAX.kvm-pv-ipi [bit 11]\n"));
	/* kvmclock does not use vmcall: untouched */
	assert_true(enabled("kvmclock"));
	/* host on PVM: never offered at all, and no warning since nobody asked */
	assert_int_equal(configure_facts(ICELAKE, "host", 1, true), 0);
	assert_false(enabled("kvm-pv-unhalt"));
	assert_false(enabled("kvm-pv-sched-yield"));
	assert_false(enabled("kvm-pv-tlb-flush"));
	assert_true(enabled("kvm-steal-time"));
	assert_string_equal(warnings, "");
}

static void test_fixup_functions(void **state)
{
	struct cpuid_table t = { 0 };
	struct kvm_cpuid_entry2 *kvm = cpuid_get_or_add(&t, 0x40000001, 0, false);
	struct kvm_cpuid_entry2 *l1 = cpuid_get_or_add(&t, 1, 0, false);

	(void)state;
	/* Linux 6.1's KVM_GET_SUPPORTED_CPUID 0x40000001.EAX */
	kvm->eax = 0x0100fefb;
	cpu_fixup_hypercall_features(&t, false);
	assert_int_equal(kvm->eax, 0x0100fefb);
	cpu_fixup_hypercall_features(&t, true);
	/* bits 7 pv-unhalt, 9 pv-tlb-flush, 11 pv-ipi, 13 pv-sched-yield cleared */
	assert_int_equal(kvm->eax, 0x0100fefb & ~((1u << 7) | (1u << 9) | (1u << 11) | (1u << 13)));
	cpu_fixup_tsc_deadline(&t, true);
	assert_int_equal(l1->ecx, 1u << 24);
	cpu_fixup_tsc_deadline(&t, false);
	assert_int_equal(l1->ecx, 0);
	cpu_fixup_vmm_bits(&t);
	assert_int_equal(l1->ecx, 1u << 31);
	/* kvm-msi-ext-dest-id (bit 15) is never offered: KVM's in-kernel IOAPIC */
	assert_int_equal(kvm->eax & (1u << 15), 0);
	assert_int_equal(kvm->edx, 1); /* KVM_HINTS_REALTIME may be asked for */
}

static void test_dependencies(void **state)
{
	(void)state;
	/* -xsave takes AVX and everything above it along, silently (not asked for) */
	configure(ICELAKE, "Skylake-Server-v4,-xsave");
	assert_false(enabled("avx"));
	assert_false(enabled("avx2"));
	assert_false(enabled("fma"));
	assert_false(enabled("avx512f"));
	assert_false(enabled("avx512vl"));
	assert_false(enabled("xsaveopt"));
	assert_true(in_set(&result.dependent, "avx512vl"));
	assert_true(enabled("sse4.2"));
	assert_string_equal(warnings, "");
	/* without XSAVE, leaf 0xD is empty */
	assert_null(cpuid_find(&result.table, 0xd, 0));

	/* a dependent the user asked for is reported in QEMU's words */
	configure(ICELAKE, "Skylake-Server-v4,-avx,+avx2");
	assert_false(enabled("avx2"));
	assert_non_null(strstr(warnings, "skyvm: warning: This feature depends on other features "
					 "that were not requested: CPUID.07H:EBX.avx2 [bit 5]\n"));
	assert_true(in_set(&result.filtered, "avx2"));
	assert_int_equal(configure_facts(ICELAKE, "Skylake-Server-v4,-avx,+avx2,enforce", 1, false),
			 -1);
	assert_non_null(strstr(err_msg(), "CPUID.07H:EBX.avx2 [bit 5]"));
}

static void test_migratable(void **state)
{
	(void)state;
	/* host, migratable=on (the default, as QEMU): invtsc and nameless bits dropped */
	configure(TURIN, "host");
	assert_true(result.migratable);
	assert_false(enabled("invtsc"));
	assert_true(in_set(&result.unmigratable, "invtsc"));
	assert_true(result.unmigratable.w[FW_8000_0021_EAX] != 0); /* nameless bits */
	for (int w = 0; w < FW_COUNT; w++)
		for (unsigned b = 0; b < 32; b++)
			if ((result.enabled.w[w] >> b) & 1u)
				assert_non_null(cpu_feature_at(w, b));
	/* but kept when asked for by name */
	configure(TURIN, "host,+invtsc");
	assert_true(enabled("invtsc"));
	/* migratable=off: everything the host supports, nameless bits too */
	configure(TURIN, "host,migratable=off");
	assert_false(result.migratable);
	assert_true(enabled("invtsc"));
	assert_int_equal(result.enabled.w[FW_8000_0021_EAX],
			 cpuid_value(&supported, 0x80000021, 0, CPUID_EAX));
	/* CPUID.80000007H:EDX[8] invariant TSC in the table */
	assert_int_not_equal(cpuid_value(&result.table, 0x80000007, 0, CPUID_EDX) & (1u << 8), 0);
	/* host never implies a KVM hint */
	assert_false(enabled("kvm-hint-dedicated"));
}

static void test_identity_leaves(void **state)
{
	char buf[49];

	(void)state;
	configure(ICELAKE, "Skylake-Server-v4");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "GenuineIntel");
	/* Skylake-SP: family 6 model 85 stepping 4 = signature 0x50654 */
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX), 0x00050654);
	assert_int_equal(cpuid_value(&result.table, 0, 0, CPUID_EAX), 0xd);
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EAX), 0x80000008);
	/* nothing above the levels survives from the host's table */
	for (uint32_t i = 0; i < result.table.nent; i++) {
		uint32_t f = result.table.ent[i].function;

		assert_true(f <= 0xd || (f >= 0x40000000 && f <= 0x40000001) ||
			    (f >= 0x80000000 && f <= 0x80000008));
	}
	cpu_brand_decode(&result.table, buf);
	assert_string_equal(buf, "Intel Xeon Processor (Skylake, IBRS, no TSX)");

	/* AMD Genoa's signature: family 0x19 model 0x11 stepping 1 = 0xA10F11 */
	configure(TURIN, "EPYC-Milan,family=0x19,model=0x11,stepping=1,model-id=Test CPU 1");
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX), 0x00a10f11);
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_EAX), 0x00a10f11);
	cpu_brand_decode(&result.table, buf);
	assert_string_equal(buf, "Test CPU 1");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "AuthenticAMD");
	/* AMD: 0x80000001.EDX repeats leaf 1's fpu..fxsr bits */
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_EDX) & 0x0183f3ff,
			 cpuid_value(&result.table, 1, 0, CPUID_EDX) & 0x0183f3ff);

	/* vendor= changes leaf 0 and 0x80000000 */
	configure(ICELAKE, "Skylake-Server-v4,vendor=AuthenticAMD,level=0x7");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "AuthenticAMD");
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EBX), 0x68747541);
	assert_int_equal(cpuid_value(&result.table, 0, 0, CPUID_EAX), 7);
	assert_null(cpuid_find(&result.table, 0xd, 0)); /* past level=7 */
}

static void test_kvm_leaves(void **state)
{
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	configure(ICELAKE, "Skylake-Server-v4");
	e = cpuid_find_const(&result.table, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000001);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	/*
	 * QEMU's KVM defaults: kvmclock (bits 0 and 3), nopiodelay (1), asyncpf (4),
	 * steal-time (5), pv-eoi (6), kvmclock-stable-bit (24).
	 */
	assert_int_equal(cpuid_value(&result.table, 0x40000001, 0, CPUID_EAX),
			 (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
				 (1u << 24));
	assert_int_equal(cpuid_value(&result.table, 0x40000001, 0, CPUID_EDX), 0);
	/* CPUID.01H:ECX[31] hypervisor and [24] TSC-deadline on, [27] OSXSAVE off */
	assert_int_not_equal(cpuid_value(&result.table, 1, 0, CPUID_ECX) & (1u << 31), 0);
	assert_int_not_equal(cpuid_value(&result.table, 1, 0, CPUID_ECX) & (1u << 24), 0);
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_ECX) & (1u << 27), 0);
	configure(ICELAKE, "Skylake-Server-v4,-kvmclock,+kvm-hint-dedicated,-hypervisor");
	assert_int_equal(cpuid_value(&result.table, 0x40000001, 0, CPUID_EAX) & 9u, 0);
	assert_int_equal(cpuid_value(&result.table, 0x40000001, 0, CPUID_EDX), 1);
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_ECX) & (1u << 31), 0);
	assert_string_equal(warnings, "");
}

static uint32_t xsave_ebx(unsigned sub)
{
	return cpuid_value(&result.table, 0xd, sub, CPUID_EBX);
}

static void test_xsave_sizes(void **state)
{
	(void)state;
	/* x87 + SSE + AVX: 512 legacy + 64 header + 256 = 832 bytes */
	configure(HASWELL, "Haswell");
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x7);
	assert_int_equal(xsave_ebx(0), 832);
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_ECX), 832);
	assert_int_equal(xsave_ebx(2), 576); /* AVX state offset */
	/* + AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) on Intel: 2688; + PKRU: 2696 */
	configure(ICELAKE, "Skylake-Server-v4,-pku");
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0xe7);
	assert_int_equal(xsave_ebx(0), 2688);
	configure(ICELAKE, "Skylake-Server-v4");
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x2e7);
	assert_int_equal(xsave_ebx(0), 2696);
	/* compacted (XSAVEC): 576 + 256 + 64 + 512 + 1024 + 8, no MPX hole */
	configure(ICELAKE, "Icelake-Server,-hle,-rtm");
	assert_int_equal(xsave_ebx(1), 2440);
	/* AMD keeps no hole for MPX: AVX-512 at 832, PKRU at 2432, total 2440 */
	configure(TURIN, "host");
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x2e7);
	assert_int_equal(xsave_ebx(0), 2440);
	assert_int_equal(xsave_ebx(5), 832);
	/* Sapphire Rapids with AMX: tile data (8 KiB at 2816) makes 11008 bytes */
	configure("tests/data/hosts/intel-sapphirerapids.json", "host");
	assert_true(enabled("amx-tile"));
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x602e7);
	assert_int_equal(xsave_ebx(0), 11008);
	/* compacted: tile data 64-byte aligned after 2440 + 64 bytes of tile config */
	assert_int_equal(xsave_ebx(1), ((2440 + 64 + 63) & ~63) + 8192);
	configure("tests/data/hosts/intel-sapphirerapids.json", "host,-amx-tile");
	assert_int_equal(xsave_ebx(0), 2696);
	assert_false(enabled("amx-int8")); /* depends on amx-tile */
	assert_null(cpuid_find(&result.table, 0x1d, 0)); /* no tile palette leaf */
	/*
	 * CPUID.(EAX=0DH,ECX=18):ECX is the host's bits 1 (64-byte aligned)
	 * and 2 (XFD-capable), as QEMU writes esa->ecx & (ALIGN64 | XFD)
	 * (cpu_x86_cpuid(0xD), QEMU 7.0 to 10.2; 11.0 copies the host's ECX)
	 */
	{
		struct cpu_host_facts facts;
		struct cpu_topology topo = { .cpus = 1 };

		load("tests/data/hosts/intel-sapphirerapids.json");
		cpuid_find(&supported, 0xd, 18)->ecx = 0x6;
		cpu_host_facts_default(&facts);
		if (cpu_configure_with("host", &supported, &facts, &topo, &result, NULL) < 0)
			fail_msg("%s", err_msg());
		assert_int_equal(cpuid_value(&result.table, 0xd, 18, CPUID_ECX), 0x6);
		assert_int_equal(cpuid_value(&result.table, 0xd, 17, CPUID_ECX), 0);
	}
	/* no AVX: back to the legacy area */
	configure(ICELAKE, "Skylake-Server-v4,-avx");
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x3 | 0x200);
	assert_int_equal(xsave_ebx(0), 2696); /* PKRU's offset is fixed at 2688 */
	assert_null(cpuid_find(&result.table, 0xd, 2));
}

/*
 * A Sapphire Rapids host whose KVM offers CET (Linux 6.18+): the feature
 * bits and the CET XSAVE components, as KVM_GET_SUPPORTED_CPUID reports
 * them: CPUID.(EAX=0DH,ECX=1):ECX bits 11 (CET_U) and 12 (CET_S), and
 * subleaves 11 and 12 with their sizes, no offset, ECX[0] = supervisor.
 */
static void load_cet_host(void)
{
	struct kvm_cpuid_entry2 *e;

	load("tests/data/hosts/intel-sapphirerapids.json");
	cpuid_find(&supported, 7, 0)->ecx |= 1u << cpu_feature_find("cet-ss")->bit;
	cpuid_find(&supported, 7, 0)->edx |= 1u << cpu_feature_find("cet-ibt")->bit;
	cpuid_find(&supported, 0xd, 1)->ecx = (1u << 11) | (1u << 12);
	e = cpuid_get_or_add(&supported, 0xd, 11, true);
	e->eax = 16;
	e->ecx = 1;
	e = cpuid_get_or_add(&supported, 0xd, 12, true);
	e->eax = 24;
	e->ecx = 1;
}

static void configure_cet(const char *spec)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 1 };

	load_cet_host();
	cpu_host_facts_default(&facts);
	if (cpu_configure_with(spec, &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s: %s", spec, err_msg());
}

/*
 * The CET states in XSAVE, as QEMU 11.0 offers them with cet-ss/cet-ibt
 * (target/i386/cpu.c: x86_ext_save_areas[XSTATE_CET_U_BIT/XSTATE_CET_S_BIT],
 * sizes 0x10 and 0x18, either CET feature bringing both, "i386/cpu: Enable
 * xsave support for CET states"; supervisor states only with XSAVES,
 * x86_cpu_enable_xsave_components(); cpu_x86_cpuid(0xD): subleaf 1 ECX/EDX
 * = FEAT_XSAVE_XSS_LO/HI, EBX = xsave_area_size(XCR0 | XSS, compacted)).
 */
static void test_cet_xsave_states(void **state)
{
	(void)state;
	/* SapphireRapids-v5 (QEMU 11.0: cet-ss, cet-ibt), AMX off to keep the sum simple */
	configure_cet("SapphireRapids-v5,-amx-tile");
	assert_true(enabled("cet-ss"));
	assert_true(enabled("cet-ibt"));
	assert_true(enabled("xsaves"));
	/* XCR0 unchanged: x87, SSE, AVX, AVX-512, PKRU; IA32_XSS: CET_U | CET_S */
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX), 0x2e7);
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0x1800);
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_EDX), 0);
	/* compacted: 576 + 256 + 64 + 512 + 1024 + 8, then CET_U 16 and CET_S 24 */
	assert_int_equal(xsave_ebx(1), 2440 + 16 + 24);
	/* the standard format holds no supervisor state: still 2696 */
	assert_int_equal(xsave_ebx(0), 2696);
	/* subleaves 11 and 12: size, no offset, ECX[0] supervisor */
	assert_int_equal(cpuid_value(&result.table, 0xd, 11, CPUID_EAX), 16);
	assert_int_equal(cpuid_value(&result.table, 0xd, 11, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 0xd, 11, CPUID_ECX), 1);
	assert_int_equal(cpuid_value(&result.table, 0xd, 12, CPUID_EAX), 24);
	assert_int_equal(cpuid_value(&result.table, 0xd, 12, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 0xd, 12, CPUID_ECX), 1);
	/* either CET feature brings both states */
	configure_cet("SapphireRapids-v5,-amx-tile,-cet-ss");
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0x1800);
	configure_cet("SapphireRapids-v5,-amx-tile,-cet-ibt");
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0x1800);
	/* neither: no supervisor state, no subleaves 11/12 */
	configure_cet("SapphireRapids-v5,-amx-tile,-cet-ss,-cet-ibt");
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0);
	assert_int_equal(xsave_ebx(1), 2440);
	assert_null(cpuid_find(&result.table, 0xd, 11));
	assert_null(cpuid_find(&result.table, 0xd, 12));
	/* SapphireRapids-v4 (QEMU 10.1) has no CET */
	configure_cet("SapphireRapids-v4,-amx-tile");
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0);
	/* no XSAVES, no supervisor state (QEMU 11.0 skips it) */
	configure_cet("SapphireRapids-v5,-amx-tile,-xsaves");
	assert_true(enabled("cet-ss"));
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0);
	assert_null(cpuid_find(&result.table, 0xd, 12));
	/* a KVM without CET in IA32_XSS (0xD.1 ECX = 0) offers none either */
	load_cet_host();
	cpuid_find(&supported, 0xd, 1)->ecx = 0;
	{
		struct cpu_host_facts facts;
		struct cpu_topology topo = { .cpus = 1 };

		cpu_host_facts_default(&facts);
		if (cpu_configure_with("SapphireRapids-v5,-amx-tile", &supported, &facts, &topo,
				       &result, NULL) < 0)
			fail_msg("%s", err_msg());
	}
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_ECX), 0);
	assert_int_equal(xsave_ebx(1), 2440);
	assert_null(cpuid_find(&result.table, 0xd, 11));
}

static void test_topology_apic_ids(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		assert_int_equal(configure_facts(ICELAKE, "Skylake-Server-v4", n, false), 0);
		assert_int_equal(result.topo.cpus, n);
		for (unsigned i = 0; i < n; i++) {
			const struct kvm_cpuid_entry2 *e;

			/* one socket of n single-thread cores: ids 0..n-1 */
			assert_int_equal(cpu_apic_id(&result.topo, i), i);
			assert_int_equal(cpu_vcpu_cpuid(&result, i, &vcpu), 0);
			/* CPUID.01H:EBX[31:24] initial APIC id */
			assert_int_equal(cpuid_value(&vcpu, 1, 0, CPUID_EBX) >> 24, i);
			/* CPUID.01H:EDX[28] HTT iff more than one logical processor */
			assert_int_equal((cpuid_value(&vcpu, 1, 0, CPUID_EDX) >> 28) & 1, n > 1);
			/* CPUID.0BH: x2APIC id in EDX on every subleaf; core level counts n */
			for (unsigned sub = 0; sub < 3; sub++)
				assert_int_equal(cpuid_value(&vcpu, 0xb, sub, CPUID_EDX), i);
			e = cpuid_find_const(&vcpu, 0xb, 1);
			assert_non_null(e);
			assert_int_equal(e->ebx & 0xffff, n);
			assert_int_equal((e->ecx >> 8) & 0xff, 2); /* level type: core */
			/* shift to the package id covers every id */
			assert_true((i >> (e->eax & 0x1f)) == 0);
		}
		assert_int_equal(cpu_vcpu_cpuid(&result, n, &vcpu), -1);
	}
}

static void check_topology(const char *host, unsigned cpus, unsigned s, unsigned c, unsigned t,
			   const unsigned *want_ids)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = cpus, .sockets = s, .cores = c, .threads = t };

	load(host);
	cpu_host_facts_default(&facts);
	if (cpu_configure_with("host", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	for (unsigned i = 0; i < cpus; i++) {
		assert_int_equal(cpu_apic_id(&result.topo, i), want_ids[i]);
		assert_int_equal(cpu_vcpu_cpuid(&result, i, &vcpu), 0);
		assert_int_equal(cpuid_value(&vcpu, 0xb, 0, CPUID_EDX), want_ids[i]);
		/* SMT level: threads per core; core level: logical per socket */
		assert_int_equal(cpuid_value(&vcpu, 0xb, 0, CPUID_EBX), t);
		assert_int_equal(cpuid_value(&vcpu, 0xb, 1, CPUID_EBX), t * c);
	}
}

static void test_topology_smp(void **state)
{
	static const unsigned ids_222[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	/* 3 cores need 2 bits: socket 1 starts at id 4 */
	static const unsigned ids_231[] = { 0, 1, 2, 4, 5, 6 };
	/* 3 threads need 2 bits */
	static const unsigned ids_213[] = { 0, 1, 2, 4, 5, 6 };
	static const unsigned ids_142[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	struct cpu_topology in = { .cpus = 3, .sockets = 1, .cores = 2, .threads = 1 }, out;

	(void)state;
	check_topology(ICELAKE, 8, 2, 2, 2, ids_222);
	check_topology(ICELAKE, 6, 2, 3, 1, ids_231);
	check_topology(ICELAKE, 6, 2, 1, 3, ids_213);
	check_topology(TURIN, 8, 1, 4, 2, ids_142);
	/* AMD: CPUID.80000008H:ECX[7:0] NC = 8 - 1, [15:12] ApicIdSize = 3 */
	assert_int_equal(cpu_vcpu_cpuid(&result, 5, &vcpu), 0);
	assert_int_equal(cpuid_value(&vcpu, 0x80000008, 0, CPUID_ECX) & 0xf0ff, (3u << 12) | 7);
	/* leaf 4 is Intel's: on an AMD vendor one all-zero subleaf (QEMU's vendor-cpuid-only) */
	assert_non_null(cpuid_find(&vcpu, 4, 0));
	assert_int_equal(cpuid_value(&vcpu, 4, 0, CPUID_EAX), 0);
	assert_null(cpuid_find(&vcpu, 4, 1));
	/*
	 * Intel leaf 4, as QEMU 7.2 writes it: EAX[25:14] counts 1 logical
	 * processor for L1, the core's threads for L2, the package's ids for L3.
	 */
	check_topology(ICELAKE, 8, 1, 4, 2, ids_142);
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, &vcpu), 0);
	assert_int_equal((cpuid_value(&vcpu, 4, 0, CPUID_EAX) >> 14) & 0xfff, 0);
	assert_int_equal((cpuid_value(&vcpu, 4, 2, CPUID_EAX) >> 14) & 0xfff, 1);
	assert_int_equal((cpuid_value(&vcpu, 4, 3, CPUID_EAX) >> 14) & 0xfff, 7);
	assert_int_equal(cpuid_value(&vcpu, 4, 0, CPUID_EAX) >> 26, 3);
	/* CPUID.01H:EBX[23:16]: 8 addressable ids */
	assert_int_equal((cpuid_value(&vcpu, 1, 0, CPUID_EBX) >> 16) & 0xff, 8);

	/* too small a topology is an error; missing values are derived */
	assert_int_equal(cpu_topology_resolve(&in, &out), -1);
	assert_non_null(strstr(err_msg(), "fewer than --cpus 3"));
	in = (struct cpu_topology){ .cpus = 6, .sockets = 2 };
	assert_int_equal(cpu_topology_resolve(&in, &out), 0);
	assert_int_equal(out.cores, 3);
	assert_int_equal(out.threads, 1);
	in = (struct cpu_topology){ .sockets = 2, .cores = 2, .threads = 2 };
	assert_int_equal(cpu_topology_resolve(&in, &out), 0);
	assert_int_equal(out.cpus, 8);
	in = (struct cpu_topology){ 0 };
	assert_int_equal(cpu_topology_resolve(&in, &out), -1);
}

/*
 * AMD topology leaves, on the Turin dump with what its guest view hides put
 * back (topoext and the 0x8000001D cache descriptors a metal Zen part has).
 */
static void test_amd_topoext_leaves(void **state)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 8, .sockets = 2, .cores = 2, .threads = 2 };
	struct kvm_cpuid_entry2 *e;

	(void)state;
	load(TURIN);
	/* CPUID.80000001H:ECX[22] TopologyExtensions */
	cpuid_find(&supported, 0x80000001, 0)->ecx |= 1u << 22;
	cpuid_remove_leaf(&supported, 0x8000001d);
	/* L1d (level 1, type 1) and L3 (level 3, type 3), sharing fields zero */
	e = cpuid_get_or_add(&supported, 0x8000001d, 0, true);
	e->eax = 0x21;
	e = cpuid_get_or_add(&supported, 0x8000001d, 1, true);
	e->eax = 0x63;
	cpuid_get_or_add(&supported, 0x8000001d, 2, true);
	cpu_host_facts_default(&facts);
	/* -cpu host does not turn topoext on by itself (QEMU's no_autoenable_flags) */
	if (cpu_configure_with("host", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_false(enabled("topoext"));
	if (cpu_configure_with("host,+topoext", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_true(enabled("topoext"));
	/* vCPU 5: socket 1, core 0, thread 1 -> APIC id 0b1_0_1 = 5 */
	assert_int_equal(cpu_vcpu_cpuid(&result, 5, &vcpu), 0);
	assert_int_equal(cpu_apic_id(&result.topo, 5), 5);
	/* CPUID.8000001EH: EAX extended APIC id, EBX[15:8] threads per core - 1, [7:0] core */
	assert_int_equal(cpuid_value(&vcpu, 0x8000001e, 0, CPUID_EAX), 5);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001e, 0, CPUID_EBX), (1u << 8) | 0);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001e, 0, CPUID_ECX) & 0xff, 1); /* node */
	/*
	 * CPUID.8000001DH, written from the model's caches (host: QEMU's legacy
	 * ones), not the host's: EAX[25:14] L1d shared by 2 threads, L3 by the 4
	 * of a socket; subleaf 4 ends the list.
	 */
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 0, CPUID_EAX) & 0x1ff, 0x121);
	assert_int_equal((cpuid_value(&vcpu, 0x8000001d, 0, CPUID_EAX) >> 14) & 0xfff, 1);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 3, CPUID_EAX) & 0x1ff, 0x163);
	assert_int_equal((cpuid_value(&vcpu, 0x8000001d, 3, CPUID_EAX) >> 14) & 0xfff, 3);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 4, CPUID_EAX), 0);
	/* NC: 4 logical processors per package */
	assert_int_equal(cpuid_value(&vcpu, 0x80000008, 0, CPUID_ECX) & 0xff, 3);
}

/*
 * Leaf 0x1F, QEMU's rule (cpu_x86_cpuid(0x1F) and kvm_x86_build_cpuid():
 * the leaf exists only when x86_has_cpuid_0x1f(), i.e. x-force-cpuid-0x1f
 * or a topology with modules or dies; QEMU 9.2 "Introduce enable_cpuid_0x1f",
 * renamed force_cpuid_0x1f in 10.1): without the force there is no entry,
 * whatever the host has and however high the level, and the guest reads
 * zeros there.  With it, it is written like 0xB.
 */
static void test_leaf_1f(void **state)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 4, .cores = 2, .threads = 2 };
	struct kvm_cpuid_entry2 *e;

	(void)state;
	/* an Icelake host whose KVM reports a leaf 0x1F (SMT and core levels) */
	load(ICELAKE);
	e = cpuid_get_or_add(&supported, 0x1f, 0, true);
	e->eax = 1;
	e->ebx = 2;
	e->ecx = 0x100;
	e = cpuid_get_or_add(&supported, 0x1f, 1, true);
	e->eax = 7;
	e->ebx = 64;
	e->ecx = 0x201;
	cpuid_find(&supported, 0, 0)->eax = 0x1f;
	cpu_host_facts_default(&facts);
	/* host: the level stays the host's 0x1F, the leaf is not passed through */
	if (cpu_configure_with("host", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpu_vcpu_cpuid(&result, 3, &vcpu), 0);
	assert_int_equal(cpuid_value(&vcpu, 0, 0, CPUID_EAX), 0x1f);
	assert_null(cpuid_find(&vcpu, 0x1f, 0));
	assert_null(cpuid_find(&vcpu, 0x1f, 1));
	/* SapphireRapids-v3 (level 0x20, no force): none either */
	if (cpu_configure_with("SapphireRapids-v3", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpu_vcpu_cpuid(&result, 3, &vcpu), 0);
	assert_int_equal(cpuid_value(&vcpu, 0, 0, CPUID_EAX), 0x20);
	assert_null(cpuid_find(&vcpu, 0x1f, 0));
	/* SapphireRapids-v4 (10.1, x-force-cpuid-0x1f): the leaf, written like 0xB */
	if (cpu_configure_with("SapphireRapids-v4", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpu_vcpu_cpuid(&result, 3, &vcpu), 0);
	for (unsigned sub = 0; sub < 3; sub++) {
		assert_int_equal(cpuid_value(&vcpu, 0x1f, sub, CPUID_EAX),
				 cpuid_value(&vcpu, 0xb, sub, CPUID_EAX));
		assert_int_equal(cpuid_value(&vcpu, 0x1f, sub, CPUID_EDX),
				 cpuid_value(&vcpu, 0xb, sub, CPUID_EDX));
	}
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 0, CPUID_EDX), 3);
	/* this topology's, not the host's: 4 logical processors at the core level */
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 1, CPUID_EBX), 4);
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 1, CPUID_EAX), 2);
	/* with a level below 0x1F the forced leaf is out of reach */
	if (cpu_configure_with("SapphireRapids-v4,level=0x1b", &supported, &facts, &topo, &result,
			       NULL) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, &vcpu), 0);
	assert_null(cpuid_find(&vcpu, 0x1f, 0));
}

/*
 * Invariants over every model version on every recorded host: the guest gets
 * nothing the host lacks, nothing unrequested, and its final table carries
 * exactly the enabled feature words (bar the bits topology and the OS own).
 */
static void check_invariants(const char *host, const char *name)
{
	struct cpu_host_facts facts = { .tsc_deadline_timer = true };
	struct cpu_featureset sup, table_fs;

	if (configure_facts(host, name, 3, false) < 0)
		fail_msg("%s on %s: %s", name, host, err_msg());
	cpu_host_fixups(&supported, &facts);
	featureset_from_cpuid(&sup, &supported);
	featureset_supported_msrs(&sup, &supported);
	assert_int_equal(cpu_vcpu_cpuid(&result, 2, &vcpu), 0);
	featureset_from_cpuid(&table_fs, &vcpu);
	/* the feature MSRs the vCPU gets written are its table's too */
	featureset_from_msrs(&table_fs, &vcpu);
	for (int w = 0; w < FW_COUNT; w++) {
		uint32_t en = result.enabled.w[w], dyn = 0, leaf = feature_words[w].leaf;

		if (en & ~sup.w[w])
			fail_msg("%s on %s: %s has 0x%x the host lacks", name, host,
				 feature_words[w].label, en & ~sup.w[w]);
		if (en & ~result.requested.w[w])
			fail_msg("%s: unrequested bits in %s", name, feature_words[w].label);
		if (w == FW_1_EDX)
			dyn = 1u << 28; /* HTT follows the topology */
		if (w == FW_8000_0001_EDX)
			dyn = 0x0183f3ffu; /* AMD's copies of leaf 1 */
		if (w == FW_8000_0001_ECX)
			dyn = 1u << cpu_feature_find("cmp-legacy")->bit; /* >1 thread, not Intel */
		if ((table_fs.w[w] & ~dyn) != (en & ~dyn))
			fail_msg("%s on %s: table %s = 0x%08x, enabled 0x%08x", name, host,
				 feature_words[w].label, table_fs.w[w], en);
		/* max leaves reach every enabled word */
		if (en && leaf < 0x40000000)
			assert_true(cpuid_value(&vcpu, 0, 0, CPUID_EAX) >= leaf);
		if (en && leaf >= 0x80000000 && leaf < 0xc0000000)
			assert_true(cpuid_value(&vcpu, 0x80000000, 0, CPUID_EAX) >= leaf);
	}
	/* the KVM signature, and vCPU 2 its own APIC id */
	assert_int_equal(cpuid_value(&vcpu, 0x40000000, 0, CPUID_EBX), 0x4b4d564b);
	assert_int_equal(cpuid_value(&vcpu, 1, 0, CPUID_EBX) >> 24, 2);
	/* XSAVE: the area holds at least the legacy region and header */
	if (cpuid_find(&vcpu, 0xd, 0))
		assert_true(cpuid_value(&vcpu, 0xd, 0, CPUID_EBX) >= 576);
}

/*
 * Invariants over every model version on every recorded host: the guest gets
 * nothing the host lacks, nothing unrequested, and its final table carries
 * exactly the enabled feature words (bar the bits topology and AMD own).
 */
static void test_invariants_all_models(void **state)
{
	static const char *const hosts[] = { HASWELL, ICELAKE, TURIN };
	static const char *const extra[] = { "host", "max", "base", "file:models/skymdw.json" };
	static struct cpu_model_info models[256];
	size_t n = cpu_model_list(models, 256);

	(void)state;
	assert_true(n >= 14);
	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
		for (size_t m = 0; m < n; m++)
			check_invariants(hosts[h], models[m].name);
		for (size_t m = 0; m < sizeof(extra) / sizeof(extra[0]); m++)
			check_invariants(hosts[h], extra[m]);
	}
}

/*
 * Differences from QEMU under KVM found by the differential test
 * (tests/e2e/test_cpu_qemu_diff.py) and fixed; each assertion here fails on
 * skyvm before the fix.  QEMU's behaviour is from QEMU 7.2's
 * target/i386/cpu.c and kvm/kvm.c (named per test).
 */

/*
 * TSC-deadline: QEMU adds it to the *supported* set only
 * (kvm_arch_get_supported_cpuid, with KVM_CAP_TSC_DEADLINE_TIMER), so a
 * model gets it only when its table lists it.  skyvm gave it to every model.
 */
static void test_qemu_tsc_deadline_only_where_asked(void **state)
{
	(void)state;
	configure(TURIN, "EPYC-Rome"); /* QEMU's EPYC-Rome table has no tsc-deadline */
	assert_false(enabled("tsc-deadline"));
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_ECX) & (1u << 24), 0);
	configure(TURIN, "kvm64");
	assert_false(enabled("tsc-deadline"));
	configure(ICELAKE, "SandyBridge"); /* its table lists it */
	assert_true(enabled("tsc-deadline"));
	configure(TURIN, "EPYC-Rome,+tsc-deadline");
	assert_true(enabled("tsc-deadline"));
	configure(TURIN, "host"); /* every supported feature */
	assert_true(enabled("tsc-deadline"));
	assert_string_equal(warnings, "");
}

/*
 * Vendor: under KVM QEMU gives a named model the host's vendor
 * (host_cpu_instance_init) unless vendor= is set; family/model/stepping
 * stay the model's.  vendor=model keeps the table's (skyvm's old default).
 */
static void test_qemu_vendor_is_the_hosts(void **state)
{
	char buf[13];

	(void)state;
	configure(TURIN, "Skylake-Server-v4");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "AuthenticAMD");
	assert_string_equal(result.def.vendor, "AuthenticAMD");
	/* CPUID.80000000H repeats it */
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EBX), 0x68747541);
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX), 0x00050654);
	/* an AMD vendor copies leaf 1's fpu..fxsr bits into 0x80000001.EDX */
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_EDX) & 0x0183f3ff,
			 cpuid_value(&result.table, 1, 0, CPUID_EDX) & 0x0183f3ff);
	configure(ICELAKE, "EPYC-Rome");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "GenuineIntel");
	/* the old behaviour, by name */
	configure(TURIN, "Skylake-Server-v4,vendor=model");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "GenuineIntel");
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_EDX) & 0x0183f3ff, 0);
	/* an explicit vendor wins, whichever comes last */
	configure(TURIN, "Skylake-Server-v4,vendor=model,vendor=GenuineIotel");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "GenuineIotel");
	configure(TURIN, "Skylake-Server-v4,vendor=GenuineIotel,vendor=model");
	cpu_vendor_decode(&result.table, buf);
	assert_string_equal(buf, "GenuineIntel");
}

/*
 * topoext: QEMU always offers it under KVM (kvm_arch_get_supported_cpuid)
 * and writes 0x8000001D from the model's caches (EPYC-Rome:
 * epyc_rome_cache_info) and 0x8000001E from the topology.  The Turin dump's
 * KVM does not report topoext.  `host` does not turn it on by itself.
 */
static void test_qemu_topoext_for_epyc(void **state)
{
	(void)state;
	load(TURIN);
	assert_int_equal(cpuid_value(&supported, 0x80000001, 0, CPUID_ECX) & (1u << 22), 0);
	if (configure_facts(TURIN, "EPYC-Rome", 2, false) < 0)
		fail_msg("%s", err_msg());
	assert_true(enabled("topoext"));
	assert_false(in_set(&result.filtered, "topoext"));
	assert_int_equal(cpu_vcpu_cpuid(&result, 1, &vcpu), 0);
	assert_int_not_equal(cpuid_value(&vcpu, 0x80000001, 0, CPUID_ECX) & (1u << 22), 0);
	/* EPYC-Rome's L1d: 32 KiB, 8 ways, 64 sets of 64-byte lines, per core */
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 0, CPUID_EAX), 0x121);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 0, CPUID_EBX), 0x01c0003f);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 0, CPUID_ECX), 0x3f);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 0, CPUID_EDX), 1);
	/* L3: 16 MiB, 16 ways, shared by the 2 cores, inclusive, complex indexing */
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 3, CPUID_EAX), 0x4163);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 3, CPUID_EBX), 0x03c0003f);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 3, CPUID_ECX), 0x3fff);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001d, 3, CPUID_EDX), 6);
	/* vCPU 1: APIC id 1, core 1 */
	assert_int_equal(cpuid_value(&vcpu, 0x8000001e, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&vcpu, 0x8000001e, 0, CPUID_EBX), 1);
	/* 0x8000000[56] from the same caches: L1d 32 KiB 8-way, L2 512 KiB 8-way (code 6) */
	assert_int_equal(cpuid_value(&vcpu, 0x80000005, 0, CPUID_ECX), 0x20080140);
	assert_int_equal(cpuid_value(&vcpu, 0x80000006, 0, CPUID_ECX), 0x02006140);
	configure(TURIN, "EPYC-v3");
	assert_true(enabled("topoext"));
	configure(TURIN, "host");
	assert_false(enabled("topoext"));
}

/*
 * Brand of host and max: QEMU reads it with the CPUID instruction
 * (host_cpu_fill_model_id); KVM's supported table may have zeros there.
 */
static void test_qemu_host_brand_from_cpuid(void **state)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 1 };
	char buf[49];

	(void)state;
	load(TURIN);
	for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(&supported, leaf, 0);

		e->eax = e->ebx = e->ecx = e->edx = 0; /* as PVM's and nested KVM's tables */
	}
	cpu_host_facts_default(&facts);
	snprintf(facts.brand, sizeof(facts.brand), "AMD EPYC 9B45 128-Core Processor");
	for (int i = 0; i < 2; i++) {
		if (cpu_configure_with(i ? "max" : "host", &supported, &facts, &topo, &result,
				       NULL) < 0)
			fail_msg("%s", err_msg());
		cpu_brand_decode(&result.table, buf);
		assert_string_equal(buf, "AMD EPYC 9B45 128-Core Processor");
	}
	/* a named model keeps its own */
	if (cpu_configure_with("EPYC-Milan", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	cpu_brand_decode(&result.table, buf);
	assert_string_equal(buf, "AMD EPYC-Milan Processor");
	/* this machine's own brand, read the same way, is what probing gives */
	cpu_host_facts_probe(&facts);
	cpu_host_brand(buf);
	assert_string_equal(facts.brand, buf);
}

/*
 * The leaves QEMU writes itself rather than passing the host's through
 * (cpu_x86_cpuid): leaf 5, QEMU's legacy caches in 0x8000000[56], SVM's
 * revision and ASIDs, and the physical address width of named models.
 */
static void test_qemu_fixed_leaves(void **state)
{
	(void)state;
	configure(TURIN, "kvm64");
	/* CPUID.05H: MONITOR off, still QEMU's EMX|IBE */
	assert_int_equal(cpuid_value(&result.table, 5, 0, CPUID_ECX), 3);
	assert_int_equal(cpuid_value(&result.table, 5, 0, CPUID_EAX), 0);
	/* legacy AMD L1: 64 KiB, 2 ways; TLBs 255 entries fully used */
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_EAX), 0x01ff01ff);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0x40020140);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_EDX), 0x40020140);
	/* legacy L2 512 KiB 16-way (code 8); L3 16 MiB (32 x 512 KiB) 16-way */
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x02008140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0x00808140);
	/* named models: 40 physical bits whatever the host has (Turin: 48) */
	assert_int_equal(cpuid_value(&result.table, 0x80000008, 0, CPUID_EAX), 0x3028);
	configure(TURIN, "host");
	assert_int_equal(cpuid_value(&result.table, 0x80000008, 0, CPUID_EAX), 0x3030);
	/* CPUID.8000000AH: revision 1, 16 ASIDs (Turin's KVM: 0x8000) */
	assert_int_equal(cpuid_value(&result.table, 0x8000000a, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x8000000a, 0, CPUID_EBX), 0x10);
	/* min-xlevel follows what is asked for under KVM: svm is off, so Opteron_G3 stays at 8 */
	configure(TURIN, "Opteron_G3");
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EAX), 0x80000008);
	/* and what is asked for, even when the host then filters it (Turin has no SGX) */
	configure(TURIN, "pentium,+sgx");
	assert_true(in_set(&result.filtered, "sgx"));
	assert_int_equal(cpuid_value(&result.table, 0, 0, CPUID_EAX), 7);
	/* cmp-legacy with two cores on a non-Intel vendor */
	if (configure_facts(TURIN, "kvm64", 2, false) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_ECX) & 2, 2);
	if (configure_facts(TURIN, "kvm64,vendor=GenuineIntel", 2, false) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpuid_value(&result.table, 0x80000001, 0, CPUID_ECX) & 2, 0);
}

/*
 * What the newer models put in CPUID beyond feature bits, as QEMU writes it:
 * AVX10 version in leaf 0x24 (GraniteRapids-v2, QEMU 9.2: AVX10.1), the
 * AMX palette and TMUL leaves 0x1D/0x1E (SapphireRapids, QEMU 8.0), and the
 * cache descriptions of EPYC-Genoa-v1 and EPYC-Milan-v2 (QEMU 8.1).
 */
static void test_new_model_leaves(void **state)
{
	struct kvm_cpuid_entry2 *e;

	(void)state;
	/* a Granite Rapids host reporting AVX10.1 with all vector lengths */
	load(ICELAKE);
	cpuid_find(&supported, 0, 0)->eax = 0x24;
	cpuid_find(&supported, 7, 0)->eax = 1;
	e = cpuid_get_or_add(&supported, 7, 1, true);
	e->edx |= 1u << cpu_feature_find("avx10")->bit;
	e = cpuid_get_or_add(&supported, 0x24, 0, true);
	e->ebx = 0x7u << 16 | 2; /* version 2, 128/256/512 */
	{
		struct cpu_host_facts facts;
		struct cpu_topology topo = { .cpus = 1 };

		cpu_host_facts_default(&facts);
		if (cpu_configure_with("GraniteRapids-v2", &supported, &facts, &topo, &result,
				       NULL) < 0)
			fail_msg("%s", err_msg());
	}
	assert_true(enabled("avx10"));
	/* CPUID.24H: the model's version 1 (the host's 2 is higher), lengths 128/256/512 */
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX), 0x70001);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0, 0, CPUID_EAX), 0x24);

	/* AMX: palette 1 = 8 KiB in 8 tiles of 16 rows x 64 bytes; TMUL K=16 N=64 */
	configure("tests/data/hosts/intel-sapphirerapids.json", "SapphireRapids-v3");
	assert_true(enabled("amx-tile"));
	assert_int_equal(cpuid_value(&result.table, 0x1d, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x1d, 1, CPUID_EAX), 0x04002000);
	assert_int_equal(cpuid_value(&result.table, 0x1d, 1, CPUID_EBX), 0x00080040);
	assert_int_equal(cpuid_value(&result.table, 0x1d, 1, CPUID_ECX), 0x10);
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EBX), 0x4010);

	/* EPYC-Genoa-v1: 1 MiB 8-way L2 (code 6), 32 MiB L3 (64 x 512 KiB), xlevel 0x80000022 */
	configure(TURIN, "EPYC-Genoa-v1");
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EAX), 0x80000022);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x04006140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0x01008140);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 2, CPUID_ECX), 2047);
	/* L3 inclusive, not complex-indexed (EDX[1] only) */
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 2);
	/* EPYC-Milan-v2 drops the L3's complex indexing; v1 keeps it */
	configure(TURIN, "EPYC-Milan-v2");
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 2);
	configure(TURIN, "EPYC-Milan-v1");
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 6);
	/* EPYC-v4 and EPYC-Rome-v3 (QEMU 8.1) likewise; Rome-v4 keeps v3's caches */
	configure(TURIN, "EPYC-v4");
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 1, CPUID_ECX), 255); /* 64K L1i */
	configure(TURIN, "EPYC-v3");
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 6);
	configure(TURIN, "EPYC-Rome-v4");
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_ECX), 16383);
}

/* Configure with a topology of `cores` cores of `threads` threads (one package). */
static void configure_topo(const char *host, const char *spec, unsigned cores, unsigned threads)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = cores * threads, .cores = cores, .threads = threads };

	load(host);
	cpu_host_facts_default(&facts);
	if (cpu_configure_with(spec, &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s on %s: %s", spec, host, err_msg());
}

/*
 * The leaves beyond feature bits of QEMU 10.1's versions: caches that name
 * their share levels, encoded as QEMU 9.1+ does (leaf 4: the APIC ids of
 * the level, EAX[31:26] the package's core ids; 0x8000001D: the level's
 * threads), and leaf 0x1F forced on (x-force-cpuid-0x1f) whatever the host
 * offers.  Two cores of two threads: SMT and core ids take one bit each.
 */
static void test_qemu10_model_leaves(void **state)
{
	(void)state;
	/* SapphireRapids-v4 (QEMU 10.1): xeon_spr_cache_info on an Intel host */
	configure_topo(ICELAKE, "SapphireRapids-v4", 2, 2);
	/* L1d 48K 12-way 64 sets, self-init, per core (2 ids), 2 core ids per package */
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_EAX), 0x04004121);
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_EBX), 0x02c0003f);
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_ECX), 63);
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_EDX), 0);
	/* L1i 32K 8-way; L2 2 MiB 16-way 2048 sets per core */
	assert_int_equal(cpuid_value(&result.table, 4, 1, CPUID_EBX), 0x01c0003f);
	assert_int_equal(cpuid_value(&result.table, 4, 2, CPUID_EAX), 0x04004143);
	assert_int_equal(cpuid_value(&result.table, 4, 2, CPUID_ECX), 2047);
	/* L3 60 MiB 15-way 65536 sets, per package (4 ids), complex indexing */
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_EAX), 0x0400c163);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_EBX), 0x0380003f);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_ECX), 65535);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_EDX), 4);
	/* leaf 0x1F forced: present on a host that has none, with the topology's levels */
	assert_null(cpuid_find(&supported, 0x1f, 0));
	assert_int_equal(cpu_vcpu_cpuid(&result, 3, &vcpu), 0);
	assert_non_null(cpuid_find(&vcpu, 0x1f, 0));
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 0, CPUID_EBX), 2);
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 1, CPUID_EBX), 4);
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 1, CPUID_ECX), 0x201);
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 0, CPUID_EDX), 3);
	/* v3 (QEMU 9.2): QEMU 7.2's legacy caches and no leaf 0x1F on this host */
	configure_topo(ICELAKE, "SapphireRapids-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_ECX), 63);
	assert_int_equal(cpuid_value(&result.table, 4, 0, CPUID_EAX) >> 14 & 0xfff, 0);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_ECX), 16383);
	assert_int_equal(cpu_vcpu_cpuid(&result, 3, &vcpu), 0);
	assert_null(cpuid_find(&vcpu, 0x1f, 0));

	/* GraniteRapids-v3 (10.1): 64K 16-way L1i, 288 MiB L3; 0x1F forced */
	configure_topo(ICELAKE, "GraniteRapids-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 4, 1, CPUID_EBX), 0x03c0003f);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_ECX), 294911);
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, &vcpu), 0);
	assert_non_null(cpuid_find(&vcpu, 0x1f, 0));
	/* SierraForest-v3 (10.1): the 4 MiB L2 is the module's, here the package's */
	configure_topo(ICELAKE, "SierraForest-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 4, 2, CPUID_EAX), 0x0400c143);
	assert_int_equal(cpuid_value(&result.table, 4, 2, CPUID_ECX), 4095);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_ECX), 147455);
	/* YongFeng-v3 (10.1): inclusive L2; L3 of the die (the package), inclusive, no INVD sharing */
	configure_topo(ICELAKE, "YongFeng-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 4, 2, CPUID_EDX), 2);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_EAX), 0x0400c163);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_EDX), 3);
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, &vcpu), 0);
	assert_non_null(cpuid_find(&vcpu, 0x1f, 0));
	configure_topo(ICELAKE, "YongFeng-v2", 2, 2);
	assert_int_equal(cpu_vcpu_cpuid(&result, 0, &vcpu), 0);
	assert_null(cpuid_find(&vcpu, 0x1f, 0));
	/* YongFeng-v2 (10.1): model 0x5b = extended model 5, model 0xb */
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX) & 0xf00f0, 0x500b0);

	/*
	 * EPYC-Genoa-v2 (10.1) on an AMD host: L1 without the WBINVD bit, L2
	 * self-initialising and inclusive, L3 not inclusive, WBINVD not shared;
	 * L1/L2 per core (2 threads), L3 per die (the package's 4)
	 */
	configure_topo(TURIN, "EPYC-Genoa-v2", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 0, CPUID_EAX), 0x4121);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 0, CPUID_EDX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 2, CPUID_EAX), 0x4143);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 2, CPUID_EDX), 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EAX), 0xc163);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x04006140);
	/* v1 (8.1) as before: L1 WBINVD bit, L2 not self-initialising, L3 inclusive */
	configure_topo(TURIN, "EPYC-Genoa-v1", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 0, CPUID_EDX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 2, CPUID_EAX), 0x4043);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 2);
	/* EPYC-v5, EPYC-Rome-v5, EPYC-Milan-v3 (10.1): the same corrections */
	configure_topo(TURIN, "EPYC-v5", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 1, CPUID_ECX), 255); /* 64K L1i */
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_ECX), 8191);
	configure_topo(TURIN, "EPYC-Rome-v5", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 2, CPUID_EDX), 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_ECX), 16383);
	configure_topo(TURIN, "EPYC-Milan-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_ECX), 32767);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EDX), 1);
	/* EPYC-Turin-v1 (10.1): 48K 12-way L1d, 1 MiB 16-way L2 (code 8), 32 MiB L3 */
	configure_topo(TURIN, "EPYC-Turin-v1", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 0x80000000, 0, CPUID_EAX), 0x80000022);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0x300c0140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x04008140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0x01008140);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 0, CPUID_EBX), 0x02c0003f);
	assert_int_equal(cpuid_value(&result.table, 0x8000001d, 3, CPUID_EAX), 0xc163);
}

/*
 * Leaves 2, 0x80000005 and 0x80000006 of QEMU 10.1's cache descriptions,
 * as QEMU 10.1 and later encode them on their current machine types (and
 * microvm): encode_cache_cpuid2() with x-consistent-cache gives a CPU with
 * leaf 4 EAX = 1 and DL = 0xFF only ("use leaf 4", SDM); with
 * x-vendor-cpuid-only-v2, 0x80000005 is all zero on Intel and 0x80000006
 * has only ECX, the L2, on Intel and Zhaoxin ("i386/cpu: Present same
 * cache model in CPUID 0x2 & 0x4", "Mark CPUID[0x80000005] as reserved for
 * Intel", "Fix CPUID[0x80000006] for Intel CPU", all QEMU 10.1).  QEMU 7.2's
 * descriptions keep 7.2's encodings (the differential test's reference).
 */
static void test_qemu101_cache_encodings(void **state)
{
	(void)state;
	/* SapphireRapids-v4 (10.1 description) on an Intel host */
	configure_topo(ICELAKE, "SapphireRapids-v4", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_ECX), 0);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EDX), 0xff);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_EDX), 0);
	/* 0x80000006.ECX: 2048 KiB, 16-way (code 8), no lines per tag, 64-byte lines */
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x08008040);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0);
	/* SapphireRapids-v3 (QEMU 7.2's legacy caches): 7.2's descriptors and AMD-style leaves */
	configure_topo(ICELAKE, "SapphireRapids-v3", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EDX), 0x2c307d);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_ECX), 0x4d);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0x40020140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0x00808140);
	/* YongFeng-v3 keeping its vendor (Zhaoxin): 0x80000006 Intel's way, leaf 2 the same */
	configure_topo(ICELAKE, "YongFeng-v3,vendor=model", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EDX), 0xff);
	/* 256 KiB, 8-way (code 6), 64-byte lines */
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x01006040);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EBX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0);
	/* 0x80000005 is not reserved on Zhaoxin: its L1d 32 KiB 8-way, 1 line per tag */
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0x20080140);
	/* EPYC-Genoa-v2 (10.1) on an Intel host takes the Intel vendor, hence Intel's encodings */
	configure_topo(ICELAKE, "EPYC-Genoa-v2", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EDX), 0xff);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_ECX), 0x04006140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0);
	/* ... and on an AMD host AMD's: leaf 2 zero, 0x80000005/6 in full */
	configure_topo(TURIN, "EPYC-Genoa-v2", 2, 2);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 2, 0, CPUID_EDX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x80000005, 0, CPUID_ECX), 0x20080140);
	assert_int_equal(cpuid_value(&result.table, 0x80000006, 0, CPUID_EDX), 0x01008140);
}

/*
 * DiamondRapids-v1 (QEMU 11.0) on a host offering all it asks for: AVX10.2
 * (leaf 0x24 subleaf 1), the AMX TMUL features of 0x1E subleaf 1, APX
 * (leaf 0x29 and XSAVE component 19), the extended family, leaf 0x1F forced.
 */
static void test_diamondrapids_leaves(void **state)
{
	struct cpu_def dmr;
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 4, .cores = 2, .threads = 2 };
	struct kvm_cpuid_entry2 *e;

	(void)state;
	load(ICELAKE);
	if (cpu_model_resolve("DiamondRapids", &dmr) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(featureset_to_cpuid(&dmr.features, &supported), 0);
	cpuid_find(&supported, 0, 0)->eax = 0x29;
	cpuid_find(&supported, 7, 0)->eax = 2;
	e = cpuid_get_or_add(&supported, 0x24, 0, true);
	e->ebx |= 2; /* AVX10.2 */
	e->eax = 1;
	/* the AMX TMUL leaf's highest subleaf, 1 on a part with 0x1E.1 */
	cpuid_get_or_add(&supported, 0x1e, 0, true)->eax = 1;
	cpu_host_facts_default(&facts);
	if (cpu_configure_with("DiamondRapids", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_string_equal(result.def.name, "DiamondRapids-v1");
	assert_true(enabled("apxf"));
	assert_true(enabled("movrs"));
	assert_true(enabled("amx-movrs"));
	assert_true(enabled("avx10-vnni-int"));
	assert_true(enabled("apx-nci-ndd-nf"));
	/* CPUID.01H:EAX: family 0xf + extended 4 (= 19), model 1, stepping 0 */
	assert_int_equal(cpuid_value(&result.table, 1, 0, CPUID_EAX), 0x00400f10);
	assert_int_equal(cpuid_value(&result.table, 0, 0, CPUID_EAX), 0x29);
	/* AVX10.2: version 2, lengths 128/256/512, subleaf 1 with avx10-vnni-int (ECX[2]) */
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX), 0x70002);
	assert_int_equal(cpuid_value(&result.table, 0x24, 1, CPUID_ECX), 4);
	/* AMX: palette leaf as before; 0x1E subleaf 1 with bits 0-4, 6-8 */
	assert_int_equal(cpuid_value(&result.table, 0x1d, 1, CPUID_EAX), 0x04002000);
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EBX), 0x4010);
	assert_int_equal(cpuid_value(&result.table, 0x1e, 1, CPUID_EAX), 0x1df);
	/* APX: leaf 0x29 EBX[0] only; XCR0 bit 19, 128 bytes at 960 */
	assert_int_equal(cpuid_value(&result.table, 0x29, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x29, 0, CPUID_EBX), 1);
	assert_int_equal(cpuid_value(&result.table, 0xd, 0, CPUID_EAX) >> 19 & 1, 1);
	assert_int_equal(cpuid_value(&result.table, 0xd, 19, CPUID_EAX), 128);
	assert_int_equal(cpuid_value(&result.table, 0xd, 19, CPUID_EBX), 960);
	/* leaf 0x1F forced on; QEMU's legacy caches (no description of its own) */
	assert_int_equal(cpu_vcpu_cpuid(&result, 1, &vcpu), 0);
	assert_int_equal(cpuid_value(&vcpu, 0x1f, 1, CPUID_EBX), 4);
	assert_int_equal(cpuid_value(&result.table, 4, 3, CPUID_ECX), 16383);
	/*
	 * GraniteRapids-v2 keeps one subleaf in 0x24 (AVX10.1); 0x1E has the
	 * host's subleaf count, its subleaf 1 none of the model's bits
	 */
	if (cpu_configure_with("GraniteRapids-v2", &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX), 0x70001);
	assert_null(cpuid_find(&result.table, 0x24, 1));
	assert_null(cpuid_find(&result.table, 0x29, 0));
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x1e, 1, CPUID_EAX), 0);
}

/*
 * A host offering every bit DiamondRapids asks for, with AVX10 at `version`
 * (AVX10.2's subleaf 1 only from version 2) and `amx_subleaves` as the
 * highest subleaf of 0x1E (its TMUL bits only from 1).
 */
static void load_avx10_host(uint32_t version, uint32_t amx_subleaves)
{
	struct cpu_def dmr;
	struct kvm_cpuid_entry2 *e;

	load(ICELAKE);
	if (cpu_model_resolve("DiamondRapids", &dmr) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(featureset_to_cpuid(&dmr.features, &supported), 0);
	cpuid_find(&supported, 0, 0)->eax = 0x29;
	cpuid_find(&supported, 7, 0)->eax = 2;
	e = cpuid_get_or_add(&supported, 0x24, 0, true);
	e->eax = version >= 2 ? 1 : 0;
	e->ebx = 0x7u << 16 | version; /* AVX10-128/256/512, the version */
	if (version < 2)
		cpuid_find(&supported, 0x24, 1)->ecx = 0;
	cpuid_get_or_add(&supported, 0x1e, 0, true)->eax = amx_subleaves;
	if (amx_subleaves < 1)
		cpuid_find(&supported, 0x1e, 1)->eax = 0;
}

static void configure_loaded(const char *spec)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 1 };

	cpu_host_facts_default(&facts);
	if (cpu_configure_with(spec, &supported, &facts, &topo, &result, NULL) < 0)
		fail_msg("%s: %s", spec, err_msg());
}

/*
 * The subleaf counts of leaves 0x24 and 0x1E as QEMU 11.0 writes them
 * (target/i386/cpu.c, cpu_x86_cpuid(); kvm_x86_build_cpuid() then writes
 * subleaves 1..EAX):
 * - CPUID.(24H,0):EAX = avx10_max_subleaf, set with the avx10-version asked
 *   for (builtin_avx10_defs[]: avx10.1 -> 0, avx10.2 -> 1) and kept when
 *   x86_cpu_filter_features() lowers the version to the host's ("i386/cpu:
 *   Support AVX10.2 with AVX10 feature models"); EBX[7:0] the lowered version,
 *   0 for a model without avx10-version (x86_cpu_load_model() sets none);
 * - CPUID.(1EH,0):EAX = the host's (x86_cpu_get_supported_cpuid(0x1E, 0)),
 *   subleaf 1 EAX = FEAT_1E_1_EAX ("i386/cpu: Add CPUID.0x1E.0x1 subleaf for
 *   AMX instructions").
 */
static void test_avx10_amx_subleaf_counts(void **state)
{
	(void)state;
	/* DiamondRapids (avx10.2) on an AVX10.1 host: version 1, yet EAX 1 and a zero subleaf 1 */
	load_avx10_host(1, 0);
	configure_loaded("DiamondRapids");
	assert_true(enabled("avx10"));
	assert_false(enabled("avx10-vnni-int"));
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX), 0x70001);
	assert_non_null(cpuid_find(&result.table, 0x24, 1));
	assert_int_equal(cpuid_value(&result.table, 0x24, 1, CPUID_ECX), 0);
	/* the host's 0x1E.0 EAX (0 here): no subleaf 1, the TMUL bits filtered anyway */
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EAX), 0);
	assert_null(cpuid_find(&result.table, 0x1e, 1));
	/* GraniteRapids-v2 (avx10.1) on an AVX10.2 host: EAX 0, version 1, no subleaf 1 */
	load_avx10_host(2, 1);
	configure_loaded("GraniteRapids-v2");
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX), 0x70001);
	assert_null(cpuid_find(&result.table, 0x24, 1));
	/* ... but the host's 0x1E.0 EAX = 1, and a subleaf 1 without TMUL bits of its own */
	assert_int_equal(cpuid_value(&result.table, 0x1e, 0, CPUID_EAX), 1);
	assert_non_null(cpuid_find(&result.table, 0x1e, 1));
	assert_int_equal(cpuid_value(&result.table, 0x1e, 1, CPUID_EAX), 0);
	/* SapphireRapids-v3 with +avx10: a model without avx10-version reports version 0 */
	configure_loaded("SapphireRapids-v3,+avx10");
	assert_true(enabled("avx10"));
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 0);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX) & 0xff, 0);
	/* host on that host: the host's version 2, so subleaf 1 as well */
	configure_loaded("host");
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 0x24, 0, CPUID_EBX) & 0xff, 2);
	assert_int_equal(cpuid_value(&result.table, 0x24, 1, CPUID_ECX),
			 1u << cpu_feature_find("avx10-vnni-int")->bit);
}

/*
 * CPUID.07H.0:EAX counts the leaf-7 subleaves the model asks for, as QEMU's
 * cpuid_level_func7 does before filtering: Cooperlake on an Ice Lake host
 * (no avx512-bf16) still reads 1 and a zero subleaf 1 (the CI's nested
 * differential run against QEMU found skyvm reading 0 there).
 */
static void test_leaf7_subleaf_count_before_filtering(void **state)
{
	(void)state;
	configure(ICELAKE, "Cooperlake-v1");
	assert_false(enabled("avx512-bf16"));
	assert_int_equal(cpuid_value(&result.table, 7, 0, CPUID_EAX), 1);
	assert_int_equal(cpuid_value(&result.table, 7, 1, CPUID_EAX), 0);
	/* asked off by the user: nothing to count */
	configure(ICELAKE, "Cooperlake-v1,-avx512-bf16");
	assert_int_equal(cpuid_value(&result.table, 7, 0, CPUID_EAX), 0);
	assert_null(cpuid_find(&result.table, 7, 1));
	/* a model without leaf-7 subleaf features */
	configure(ICELAKE, "Icelake-Server-v6");
	assert_int_equal(cpuid_value(&result.table, 7, 0, CPUID_EAX), 0);
	/* on a host with it, the bit and the count */
	configure(TURIN, "Cooperlake-v1");
	assert_true(enabled("avx512-bf16"));
	assert_int_equal(cpuid_value(&result.table, 7, 0, CPUID_EAX), 1);
	assert_int_not_equal(cpuid_value(&result.table, 7, 1, CPUID_EAX), 0);
}

/*
 * Entries QEMU under KVM writes or leaves out, where KVM makes the
 * difference visible (the nested differential run found both):
 * - leaf 0x12 without SGX: zero subleaves 0 and 1 wherever the level reaches
 *   0x12 (KVM then sets x87|SSE in subleaf 1's ECX; a missing entry reads 0);
 * - leaf 0xD subleaf 1 with EAX 0 is not written: the guest reads zeros, not
 *   the compacted XSAVE size.
 */
static void test_kvm_visible_entries_as_qemu_writes_them(void **state)
{
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	configure(ICELAKE, "Snowridge-v1");
	assert_false(enabled("sgx"));
	assert_true(result.def.level >= 0x12);
	for (uint32_t sub = 0; sub < 2; sub++) {
		e = cpuid_find(&result.table, 0x12, sub);
		assert_non_null(e);
		assert_true(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	}
	assert_null(cpuid_find(&result.table, 0x12, 2));
	/* a level below 0x12: nothing there */
	configure(ICELAKE, "Haswell-v1");
	assert_true(result.def.level < 0x12);
	assert_null(cpuid_find(&result.table, 0x12, 0));
	/* Opteron_G4: XSAVE but none of xsaveopt/xsavec/xgetbv1/xsaves */
	configure(TURIN, "Opteron_G4-v1");
	assert_true(enabled("xsave"));
	assert_false(enabled("xsaveopt"));
	assert_non_null(cpuid_find(&result.table, 0xd, 0));
	assert_null(cpuid_find(&result.table, 0xd, 1));
	/* Haswell: xsaveopt, so subleaf 1 with the compacted size of x87, SSE, AVX */
	configure(TURIN, "Haswell-v1");
	assert_true(enabled("xsaveopt"));
	assert_int_equal(cpuid_value(&result.table, 0xd, 1, CPUID_EBX), 832);
}

/*
 * Unversioned names: v1, as QEMU's pc and q35 machines resolve them; with
 * version=latest the newest version, as QEMU's -M microvm does.  The
 * differential run showed Westmere's and SandyBridge's brands differ there.
 */
static void test_unversioned_resolution_choice(void **state)
{
	char buf[49];

	(void)state;
	configure(ICELAKE, "Westmere");
	assert_string_equal(result.def.name, "Westmere-v1");
	configure(ICELAKE, "Westmere,version=latest");
	assert_string_equal(result.def.name, "Westmere-v2");
	cpu_brand_decode(&result.table, buf);
	assert_string_equal(buf, "Westmere E56xx/L56xx/X56xx (IBRS update)");
	configure(ICELAKE, "Skylake-Server,version=latest");
	assert_string_equal(result.def.name, "Skylake-Server-v5");
	/* a versioned name is what it says */
	configure(ICELAKE, "Skylake-Server-v2,version=latest");
	assert_string_equal(result.def.name, "Skylake-Server-v2");
	configure(ICELAKE, "Skylake-Server,version=latest,version=default");
	assert_string_equal(result.def.name, "Skylake-Server-v1");
	assert_int_equal(configure_facts(ICELAKE, "Westmere,version=2", 1, false), -1);
	assert_non_null(strstr(err_msg(), "version=2"));
}

/*
 * The by-design differences docs/cpu-models.md lists: kvm-msi-ext-dest-id
 * stays off (skyvm's IOAPIC is KVM's in-kernel one, which has no extended
 * destination ids; QEMU's microvm sets it with its split irqchip), and
 * kvm-asyncpf-vmexit, which QEMU 7.2 had no name for, is part of host.
 */
static void test_design_differences_pinned(void **state)
{
	(void)state;
	load(TURIN);
	assert_int_not_equal(cpuid_value(&supported, 0x40000001, 0, CPUID_EAX) & (1u << 15), 0);
	configure(TURIN, "EPYC-Rome");
	assert_false(enabled("kvm-msi-ext-dest-id"));
	configure(TURIN, "host");
	assert_false(enabled("kvm-msi-ext-dest-id"));
	assert_true(enabled("kvm-asyncpf-vmexit"));
	assert_int_equal(configure_facts(TURIN, "host,+kvm-msi-ext-dest-id,enforce", 1, false), -1);
}

static void test_model_errors(void **state)
{
	(void)state;
	assert_int_equal(configure_facts(ICELAKE, "Skylake-Servr", 1, false), -1);
	assert_non_null(strstr(err_msg(), "Skylake-Servr"));
	assert_non_null(strstr(err_msg(), "Skylake-Server"));
	assert_int_equal(configure_facts(ICELAKE, "Skylake-Server,+avx512fx", 1, false), -1);
	assert_non_null(strstr(err_msg(), "did you mean: avx512f"));
	assert_int_equal(configure_facts(ICELAKE, "file:/nonexistent/m.json", 1, false), -1);
	assert_non_null(strstr(err_msg(), "/nonexistent/m.json"));
}

static void test_max_base(void **state)
{
	(void)state;
	configure(ICELAKE, "max");
	assert_true(enabled("avx512f"));
	assert_string_equal(warnings, "");
	configure(ICELAKE, "base");
	for (int w = 0; w < FW_COUNT; w++)
		assert_int_equal(result.enabled.w[w], 0);
	configure(ICELAKE, "base,+sse2,+avx2");
	/* avx2 needs avx, which base lacks: dropped with QEMU's dependency warning */
	assert_true(enabled("sse2"));
	assert_false(enabled("avx2"));
	assert_non_null(strstr(warnings, "CPUID.07H:EBX.avx2 [bit 5]"));
	/* level rises to reach the enabled words (QEMU's min-level) */
	configure(ICELAKE, "base,+avx,+xsave,+avx2");
	assert_true(enabled("avx2"));
	assert_true(cpuid_value(&result.table, 0, 0, CPUID_EAX) >= 0xd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_warnings_exact),
		cmocka_unit_test(test_no_warnings_when_host_has_all),
		cmocka_unit_test(test_enforce_lists_all),
		cmocka_unit_test(test_pvm_hides_hypercall_features),
		cmocka_unit_test(test_fixup_functions),
		cmocka_unit_test(test_dependencies),
		cmocka_unit_test(test_migratable),
		cmocka_unit_test(test_identity_leaves),
		cmocka_unit_test(test_kvm_leaves),
		cmocka_unit_test(test_xsave_sizes),
		cmocka_unit_test(test_cet_xsave_states),
		cmocka_unit_test(test_topology_apic_ids),
		cmocka_unit_test(test_topology_smp),
		cmocka_unit_test(test_amd_topoext_leaves),
		cmocka_unit_test(test_leaf_1f),
		cmocka_unit_test(test_invariants_all_models),
		cmocka_unit_test(test_qemu_tsc_deadline_only_where_asked),
		cmocka_unit_test(test_qemu_vendor_is_the_hosts),
		cmocka_unit_test(test_qemu_topoext_for_epyc),
		cmocka_unit_test(test_qemu_host_brand_from_cpuid),
		cmocka_unit_test(test_qemu_fixed_leaves),
		cmocka_unit_test(test_design_differences_pinned),
		cmocka_unit_test(test_unversioned_resolution_choice),
		cmocka_unit_test(test_new_model_leaves),
		cmocka_unit_test(test_qemu10_model_leaves),
		cmocka_unit_test(test_qemu101_cache_encodings),
		cmocka_unit_test(test_diamondrapids_leaves),
		cmocka_unit_test(test_avx10_amx_subleaf_counts),
		cmocka_unit_test(test_leaf7_subleaf_count_before_filtering),
		cmocka_unit_test(test_kvm_visible_entries_as_qemu_writes_them),
		cmocka_unit_test(test_model_errors),
		cmocka_unit_test(test_max_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
