/* SPDX-License-Identifier: MIT */
/*
 * The feature table: every named CPUID bit, spelled as QEMU 7.2 spells it
 * (target/i386/cpu.c, feature_word_info[]).  A few words that QEMU 7.2 did
 * not name yet (7.1.EDX, 7.2.EDX, 0x24.EBX, 0x80000007.EBX, 0x80000021.EAX,
 * 0x80000022.EAX) and bits named after 7.2 use the spelling later QEMU
 * releases gave them, so one table covers what newer hosts report; no
 * QEMU 7.2 model sets any of them (tests/e2e/test_qemu_models.py checks).
 */
#include "cpu/features.h"

#include <asm/kvm_para.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "util/editdist.h"
#include "util/err.h"

const struct feature_word_info feature_words[FW_COUNT] = {
	[FW_1_EDX] = { 0x1, 0, false, CPUID_EDX, "CPUID.01H:EDX" },
	[FW_1_ECX] = { 0x1, 0, false, CPUID_ECX, "CPUID.01H:ECX" },
	[FW_6_EAX] = { 0x6, 0, false, CPUID_EAX, "CPUID.06H:EAX" },
	[FW_7_0_EBX] = { 0x7, 0, true, CPUID_EBX, "CPUID.07H:EBX" },
	[FW_7_0_ECX] = { 0x7, 0, true, CPUID_ECX, "CPUID.07H:ECX" },
	[FW_7_0_EDX] = { 0x7, 0, true, CPUID_EDX, "CPUID.07H:EDX" },
	[FW_7_1_EAX] = { 0x7, 1, true, CPUID_EAX, "CPUID.07H:EAX" },
	[FW_7_1_EDX] = { 0x7, 1, true, CPUID_EDX, "CPUID.07H:EDX" },
	[FW_7_2_EDX] = { 0x7, 2, true, CPUID_EDX, "CPUID.07H:EDX" },
	[FW_D_1_EAX] = { 0xd, 1, true, CPUID_EAX, "CPUID.0DH:EAX" },
	[FW_14_0_ECX] = { 0x14, 0, true, CPUID_ECX, "CPUID.14H:ECX" },
	[FW_24_0_EBX] = { 0x24, 0, true, CPUID_EBX, "CPUID.24H:EBX" },
	[FW_24_1_ECX] = { 0x24, 1, true, CPUID_ECX, "CPUID.24H:ECX" },
	[FW_1E_1_EAX] = { 0x1e, 1, true, CPUID_EAX, "CPUID.1EH:EAX" },
	[FW_29_0_EBX] = { 0x29, 0, true, CPUID_EBX, "CPUID.29H:EBX" },
	[FW_8000_0001_EDX] = { 0x80000001, 0, false, CPUID_EDX, "CPUID.80000001H:EDX" },
	[FW_8000_0001_ECX] = { 0x80000001, 0, false, CPUID_ECX, "CPUID.80000001H:ECX" },
	[FW_8000_0007_EDX] = { 0x80000007, 0, false, CPUID_EDX, "CPUID.80000007H:EDX" },
	[FW_8000_0007_EBX] = { 0x80000007, 0, false, CPUID_EBX, "CPUID.80000007H:EBX" },
	[FW_8000_0008_EBX] = { 0x80000008, 0, false, CPUID_EBX, "CPUID.80000008H:EBX" },
	[FW_8000_0021_EAX] = { 0x80000021, 0, false, CPUID_EAX, "CPUID.80000021H:EAX" },
	[FW_8000_0021_EBX] = { 0x80000021, 0, false, CPUID_EBX, "CPUID.80000021H:EBX" },
	[FW_8000_0022_EAX] = { 0x80000022, 0, false, CPUID_EAX, "CPUID.80000022H:EAX" },
	[FW_C000_0001_EDX] = { 0xc0000001, 0, false, CPUID_EDX, "CPUID.C0000001H:EDX" },
	[FW_8000_000A_EDX] = { 0x8000000a, 0, false, CPUID_EDX, "CPUID.8000000AH:EDX" },
	[FW_KVM_FEATURES] = { 0x40000001, 0, false, CPUID_EAX, "CPUID.40000001H:EAX" },
	[FW_KVM_HINTS] = { 0x40000001, 0, false, CPUID_EDX, "CPUID.40000001H:EDX" },
	/* QEMU's MSR_FEATURE_WORDs, labelled as its feature_word_description() does */
	[FW_ARCH_CAP] = { .label = "MSR(10AH)", .msr = 0x10a, .msr_shift = 0,
			  .gate = "arch-capabilities" },
	[FW_ARCH_CAP_HI] = { .label = "MSR(10AH)", .msr = 0x10a, .msr_shift = 32,
			     .gate = "arch-capabilities" },
	[FW_CORE_CAP] = { .label = "MSR(CFH)", .msr = 0xcf, .msr_shift = 0,
			  .gate = "core-capability" },
};

/*
 * A bit number checked at compile time: a struct may hold a static
 * assertion (C11 6.7.2.1), and sizeof() of it is a constant expression.
 */
#define BIT(b) \
	((uint8_t)((b) + 0 * sizeof(struct { _Static_assert((b) < 32, "bit > 31"); int x; })))

#define F(word_, bit_, name_, ...) { .name = name_, .word = word_, .bit = BIT(bit_), __VA_ARGS__ }
#define ALIASES(...) .aliases = { __VA_ARGS__, NULL }

#define UNMIG FEAT_UNMIGRATABLE
#define PV FEAT_KVM_PV
#define PV_HC (FEAT_KVM_PV | FEAT_NEEDS_HYPERCALL)

const struct cpu_feature cpu_features[] = {
	/* CPUID.01H:EDX */
	F(FW_1_EDX, 0, "fpu"),
	F(FW_1_EDX, 1, "vme"),
	F(FW_1_EDX, 2, "de"),
	F(FW_1_EDX, 3, "pse"),
	F(FW_1_EDX, 4, "tsc"),
	F(FW_1_EDX, 5, "msr"),
	F(FW_1_EDX, 6, "pae"),
	F(FW_1_EDX, 7, "mce"),
	F(FW_1_EDX, 8, "cx8"),
	F(FW_1_EDX, 9, "apic"),
	F(FW_1_EDX, 11, "sep"),
	F(FW_1_EDX, 12, "mtrr"),
	F(FW_1_EDX, 13, "pge"),
	F(FW_1_EDX, 14, "mca"),
	F(FW_1_EDX, 15, "cmov"),
	F(FW_1_EDX, 16, "pat"),
	F(FW_1_EDX, 17, "pse36"),
	F(FW_1_EDX, 18, "pn"),
	F(FW_1_EDX, 19, "clflush"),
	F(FW_1_EDX, 21, "ds"),
	F(FW_1_EDX, 22, "acpi"),
	F(FW_1_EDX, 23, "mmx"),
	F(FW_1_EDX, 24, "fxsr"),
	F(FW_1_EDX, 25, "sse"),
	F(FW_1_EDX, 26, "sse2"),
	F(FW_1_EDX, 27, "ss"),
	F(FW_1_EDX, 28, "ht"),
	F(FW_1_EDX, 29, "tm"),
	F(FW_1_EDX, 30, "ia64"),
	F(FW_1_EDX, 31, "pbe"),

	/* CPUID.01H:ECX (bit 27 OSXSAVE is dynamic and has no name) */
	F(FW_1_ECX, 0, "pni", ALIASES("sse3")),
	F(FW_1_ECX, 1, "pclmulqdq", ALIASES("pclmuldq")),
	F(FW_1_ECX, 2, "dtes64"),
	F(FW_1_ECX, 3, "monitor"),
	F(FW_1_ECX, 4, "ds-cpl"),
	F(FW_1_ECX, 5, "vmx"),
	F(FW_1_ECX, 6, "smx"),
	F(FW_1_ECX, 7, "est"),
	F(FW_1_ECX, 8, "tm2"),
	F(FW_1_ECX, 9, "ssse3"),
	F(FW_1_ECX, 10, "cid"),
	F(FW_1_ECX, 12, "fma"),
	F(FW_1_ECX, 13, "cx16"),
	F(FW_1_ECX, 14, "xtpr"),
	F(FW_1_ECX, 15, "pdcm"),
	F(FW_1_ECX, 17, "pcid"),
	F(FW_1_ECX, 18, "dca"),
	F(FW_1_ECX, 19, "sse4.1", ALIASES("sse4-1")),
	F(FW_1_ECX, 20, "sse4.2", ALIASES("sse4-2")),
	F(FW_1_ECX, 21, "x2apic"),
	F(FW_1_ECX, 22, "movbe"),
	F(FW_1_ECX, 23, "popcnt"),
	F(FW_1_ECX, 24, "tsc-deadline"),
	F(FW_1_ECX, 25, "aes"),
	F(FW_1_ECX, 26, "xsave"),
	F(FW_1_ECX, 28, "avx"),
	F(FW_1_ECX, 29, "f16c"),
	F(FW_1_ECX, 30, "rdrand"),
	F(FW_1_ECX, 31, "hypervisor"),

	/* CPUID.06H:EAX */
	F(FW_6_EAX, 2, "arat"),

	/* CPUID.07H.0:EBX */
	F(FW_7_0_EBX, 0, "fsgsbase"),
	F(FW_7_0_EBX, 1, "tsc-adjust"),
	F(FW_7_0_EBX, 2, "sgx"),
	F(FW_7_0_EBX, 3, "bmi1"),
	F(FW_7_0_EBX, 4, "hle"),
	F(FW_7_0_EBX, 5, "avx2"),
	F(FW_7_0_EBX, 6, "fdp-excptn-only"), /* named after QEMU 7.2 */
	F(FW_7_0_EBX, 7, "smep"),
	F(FW_7_0_EBX, 8, "bmi2"),
	F(FW_7_0_EBX, 9, "erms"),
	F(FW_7_0_EBX, 10, "invpcid"),
	F(FW_7_0_EBX, 11, "rtm"),
	F(FW_7_0_EBX, 13, "zero-fcs-fds"), /* named after QEMU 7.2 */
	F(FW_7_0_EBX, 14, "mpx"),
	F(FW_7_0_EBX, 16, "avx512f"),
	F(FW_7_0_EBX, 17, "avx512dq"),
	F(FW_7_0_EBX, 18, "rdseed"),
	F(FW_7_0_EBX, 19, "adx"),
	F(FW_7_0_EBX, 20, "smap"),
	F(FW_7_0_EBX, 21, "avx512ifma"),
	F(FW_7_0_EBX, 22, "pcommit"),
	F(FW_7_0_EBX, 23, "clflushopt"),
	F(FW_7_0_EBX, 24, "clwb"),
	F(FW_7_0_EBX, 25, "intel-pt"),
	F(FW_7_0_EBX, 26, "avx512pf"),
	F(FW_7_0_EBX, 27, "avx512er"),
	F(FW_7_0_EBX, 28, "avx512cd"),
	F(FW_7_0_EBX, 29, "sha-ni"),
	F(FW_7_0_EBX, 30, "avx512bw"),
	F(FW_7_0_EBX, 31, "avx512vl"),

	/* CPUID.07H.0:ECX (bit 4 OSPKE is dynamic and has no name) */
	F(FW_7_0_ECX, 1, "avx512vbmi"),
	F(FW_7_0_ECX, 2, "umip"),
	F(FW_7_0_ECX, 3, "pku"),
	F(FW_7_0_ECX, 5, "waitpkg"),
	F(FW_7_0_ECX, 6, "avx512vbmi2"),
	F(FW_7_0_ECX, 7, "cet-ss"), /* named after QEMU 7.2: CET shadow stack */
	F(FW_7_0_ECX, 8, "gfni"),
	F(FW_7_0_ECX, 9, "vaes"),
	F(FW_7_0_ECX, 10, "vpclmulqdq"),
	F(FW_7_0_ECX, 11, "avx512vnni"),
	F(FW_7_0_ECX, 12, "avx512bitalg"),
	F(FW_7_0_ECX, 14, "avx512-vpopcntdq"),
	F(FW_7_0_ECX, 16, "la57"),
	F(FW_7_0_ECX, 22, "rdpid"),
	F(FW_7_0_ECX, 24, "bus-lock-detect"),
	F(FW_7_0_ECX, 25, "cldemote"),
	F(FW_7_0_ECX, 27, "movdiri"),
	F(FW_7_0_ECX, 28, "movdir64b"),
	F(FW_7_0_ECX, 30, "sgxlc"),
	F(FW_7_0_ECX, 31, "pks"),

	/* CPUID.07H.0:EDX */
	F(FW_7_0_EDX, 2, "avx512-4vnniw"),
	F(FW_7_0_EDX, 3, "avx512-4fmaps"),
	F(FW_7_0_EDX, 4, "fsrm"),
	F(FW_7_0_EDX, 8, "avx512-vp2intersect"),
	F(FW_7_0_EDX, 10, "md-clear"),
	F(FW_7_0_EDX, 14, "serialize"),
	F(FW_7_0_EDX, 16, "tsx-ldtrk"),
	F(FW_7_0_EDX, 19, "arch-lbr"),
	F(FW_7_0_EDX, 20, "cet-ibt"), /* named after QEMU 7.2: CET indirect branch tracking */
	F(FW_7_0_EDX, 22, "amx-bf16"),
	F(FW_7_0_EDX, 23, "avx512-fp16"),
	F(FW_7_0_EDX, 24, "amx-tile"),
	F(FW_7_0_EDX, 25, "amx-int8"),
	F(FW_7_0_EDX, 26, "spec-ctrl"),
	F(FW_7_0_EDX, 27, "stibp"),
	F(FW_7_0_EDX, 28, "flush-l1d"), /* named after QEMU 7.2 */
	F(FW_7_0_EDX, 29, "arch-capabilities"),
	F(FW_7_0_EDX, 30, "core-capability"),
	F(FW_7_0_EDX, 31, "ssbd"),

	/* CPUID.07H.1:EAX (QEMU 7.2 names bits 4 and 5; the rest came later) */
	F(FW_7_1_EAX, 0, "sha512"),
	F(FW_7_1_EAX, 1, "sm3"),
	F(FW_7_1_EAX, 2, "sm4"),
	F(FW_7_1_EAX, 4, "avx-vnni"),
	F(FW_7_1_EAX, 5, "avx512-bf16"),
	F(FW_7_1_EAX, 7, "cmpccxadd"),
	F(FW_7_1_EAX, 10, "fzrm"),
	F(FW_7_1_EAX, 11, "fsrs"),
	F(FW_7_1_EAX, 12, "fsrc"),
	F(FW_7_1_EAX, 17, "fred"),
	F(FW_7_1_EAX, 18, "lkgs"),
	F(FW_7_1_EAX, 19, "wrmsrns"),
	F(FW_7_1_EAX, 21, "amx-fp16"),
	F(FW_7_1_EAX, 23, "avx-ifma"),
	F(FW_7_1_EAX, 26, "lam"),
	F(FW_7_1_EAX, 31, "movrs"),

	/* CPUID.07H.1:EDX (named after QEMU 7.2) */
	F(FW_7_1_EDX, 4, "avx-vnni-int8"),
	F(FW_7_1_EDX, 5, "avx-ne-convert"),
	F(FW_7_1_EDX, 8, "amx-complex"),
	F(FW_7_1_EDX, 10, "avx-vnni-int16"),
	F(FW_7_1_EDX, 14, "prefetchiti"),
	F(FW_7_1_EDX, 19, "avx10"),
	F(FW_7_1_EDX, 21, "apxf"), /* APX: extended GPRs (XSAVE component 19) */

	/* CPUID.07H.2:EDX (named after QEMU 7.2) */
	F(FW_7_2_EDX, 0, "intel-psfd"),
	F(FW_7_2_EDX, 1, "ipred-ctrl"),
	F(FW_7_2_EDX, 2, "rrsba-ctrl"),
	F(FW_7_2_EDX, 3, "ddpd-u"),
	F(FW_7_2_EDX, 4, "bhi-ctrl"),
	F(FW_7_2_EDX, 5, "mcdt-no"),

	/* CPUID.0DH.1:EAX */
	F(FW_D_1_EAX, 0, "xsaveopt"),
	F(FW_D_1_EAX, 1, "xsavec"),
	F(FW_D_1_EAX, 2, "xgetbv1"),
	F(FW_D_1_EAX, 3, "xsaves"),
	F(FW_D_1_EAX, 4, "xfd"),

	/* CPUID.14H.0:ECX */
	F(FW_14_0_ECX, 31, "intel-pt-lip"),

	/* CPUID.24H.0:EBX (named after QEMU 7.2) */
	F(FW_24_0_EBX, 16, "avx10-128"),
	F(FW_24_0_EBX, 17, "avx10-256"),
	F(FW_24_0_EBX, 18, "avx10-512"),

	/* CPUID.24H.1:ECX (AVX10.2, named after QEMU 7.2) */
	F(FW_24_1_ECX, 2, "avx10-vnni-int"),

	/*
	 * CPUID.1EH.1:EAX, the AMX TMUL features (named after QEMU 7.2): bits 0-3
	 * mirror 7.0:EDX/7.1:EAX/7.1:EDX amx-int8, -bf16, -complex, -fp16.  QEMU
	 * first named them -mirror, later -alias.
	 */
	F(FW_1E_1_EAX, 0, "amx-int8-alias", ALIASES("amx-int8-mirror")),
	F(FW_1E_1_EAX, 1, "amx-bf16-alias", ALIASES("amx-bf16-mirror")),
	F(FW_1E_1_EAX, 2, "amx-complex-alias", ALIASES("amx-complex-mirror")),
	F(FW_1E_1_EAX, 3, "amx-fp16-alias", ALIASES("amx-fp16-mirror")),
	F(FW_1E_1_EAX, 4, "amx-fp8"),
	F(FW_1E_1_EAX, 6, "amx-tf32"),
	F(FW_1E_1_EAX, 7, "amx-avx512"),
	F(FW_1E_1_EAX, 8, "amx-movrs"),

	/* CPUID.29H.0:EBX (APX, named after QEMU 7.2) */
	F(FW_29_0_EBX, 0, "apx-nci-ndd-nf"),

	/*
	 * CPUID.80000001H:EDX.  The bits AMD mirrors from 1.EDX (fpu, vme, ...)
	 * carry no names here, as in QEMU: they follow leaf 1 on AMD models.
	 */
	F(FW_8000_0001_EDX, 11, "syscall"),
	F(FW_8000_0001_EDX, 20, "nx", ALIASES("xd")),
	F(FW_8000_0001_EDX, 22, "mmxext"),
	F(FW_8000_0001_EDX, 25, "fxsr-opt", ALIASES("ffxsr")),
	F(FW_8000_0001_EDX, 26, "pdpe1gb"),
	F(FW_8000_0001_EDX, 27, "rdtscp"),
	F(FW_8000_0001_EDX, 29, "lm", ALIASES("i64")),
	F(FW_8000_0001_EDX, 30, "3dnowext"),
	F(FW_8000_0001_EDX, 31, "3dnow"),

	/* CPUID.80000001H:ECX */
	F(FW_8000_0001_ECX, 0, "lahf-lm"),
	F(FW_8000_0001_ECX, 1, "cmp-legacy"),
	F(FW_8000_0001_ECX, 2, "svm"),
	F(FW_8000_0001_ECX, 3, "extapic"),
	F(FW_8000_0001_ECX, 4, "cr8legacy"),
	F(FW_8000_0001_ECX, 5, "abm"),
	F(FW_8000_0001_ECX, 6, "sse4a"),
	F(FW_8000_0001_ECX, 7, "misalignsse"),
	F(FW_8000_0001_ECX, 8, "3dnowprefetch"),
	F(FW_8000_0001_ECX, 9, "osvw"),
	F(FW_8000_0001_ECX, 10, "ibs"),
	F(FW_8000_0001_ECX, 11, "xop"),
	F(FW_8000_0001_ECX, 12, "skinit"),
	F(FW_8000_0001_ECX, 13, "wdt"),
	F(FW_8000_0001_ECX, 15, "lwp"),
	F(FW_8000_0001_ECX, 16, "fma4"),
	F(FW_8000_0001_ECX, 17, "tce"),
	F(FW_8000_0001_ECX, 19, "nodeid-msr"),
	F(FW_8000_0001_ECX, 21, "tbm"),
	F(FW_8000_0001_ECX, 22, "topoext"),
	F(FW_8000_0001_ECX, 23, "perfctr-core"),
	F(FW_8000_0001_ECX, 24, "perfctr-nb"),

	/*
	 * CPUID.80000007H:EDX.  An invariant TSC keeps its rate only on the
	 * host it was measured on, so QEMU marks it unmigratable.
	 */
	F(FW_8000_0007_EDX, 8, "invtsc", .flags = UNMIG),

	/* CPUID.80000007H:EBX (named after QEMU 7.2) */
	F(FW_8000_0007_EBX, 0, "overflow-recov"),
	F(FW_8000_0007_EBX, 1, "succor"),

	/* CPUID.80000008H:EBX */
	F(FW_8000_0008_EBX, 0, "clzero"),
	F(FW_8000_0008_EBX, 2, "xsaveerptr"),
	F(FW_8000_0008_EBX, 9, "wbnoinvd"),
	F(FW_8000_0008_EBX, 12, "ibpb"),
	F(FW_8000_0008_EBX, 14, "ibrs"),
	F(FW_8000_0008_EBX, 15, "amd-stibp"),
	F(FW_8000_0008_EBX, 17, "stibp-always-on"), /* named after QEMU 7.2 */
	F(FW_8000_0008_EBX, 24, "amd-ssbd"),
	F(FW_8000_0008_EBX, 25, "virt-ssbd"),
	F(FW_8000_0008_EBX, 26, "amd-no-ssb"),
	F(FW_8000_0008_EBX, 28, "amd-psfd"), /* named after QEMU 7.2 */

	/* CPUID.80000021H:EAX (named after QEMU 7.2) */
	F(FW_8000_0021_EAX, 0, "no-nested-data-bp"),
	F(FW_8000_0021_EAX, 1, "fs-gs-base-ns"),
	F(FW_8000_0021_EAX, 2, "lfence-always-serializing"),
	F(FW_8000_0021_EAX, 6, "null-sel-clr-base"),
	F(FW_8000_0021_EAX, 8, "auto-ibrs"),
	F(FW_8000_0021_EAX, 20, "prefetchi"),
	F(FW_8000_0021_EAX, 24, "eraps"),
	F(FW_8000_0021_EAX, 27, "sbpb"),
	F(FW_8000_0021_EAX, 28, "ibpb-brtype"),
	F(FW_8000_0021_EAX, 29, "srso-no"),
	F(FW_8000_0021_EAX, 30, "srso-user-kernel-no"),

	/* CPUID.80000022H:EAX (named after QEMU 7.2) */
	F(FW_8000_0022_EAX, 0, "perfmon-v2"),

	/* CPUID.C0000001H:EDX (VIA/Zhaoxin PadLock) */
	F(FW_C000_0001_EDX, 2, "xstore"),
	F(FW_C000_0001_EDX, 3, "xstore-en"),
	F(FW_C000_0001_EDX, 6, "xcrypt"),
	F(FW_C000_0001_EDX, 7, "xcrypt-en"),
	F(FW_C000_0001_EDX, 8, "ace2"),
	F(FW_C000_0001_EDX, 9, "ace2-en"),
	F(FW_C000_0001_EDX, 10, "phe"),
	F(FW_C000_0001_EDX, 11, "phe-en"),
	F(FW_C000_0001_EDX, 12, "pmm"),
	F(FW_C000_0001_EDX, 13, "pmm-en"),

	/* CPUID.8000000AH:EDX (SVM) */
	F(FW_8000_000A_EDX, 0, "npt"),
	F(FW_8000_000A_EDX, 1, "lbrv"),
	F(FW_8000_000A_EDX, 2, "svm-lock"),
	F(FW_8000_000A_EDX, 3, "nrip-save"),
	F(FW_8000_000A_EDX, 4, "tsc-scale"),
	F(FW_8000_000A_EDX, 5, "vmcb-clean"),
	F(FW_8000_000A_EDX, 6, "flushbyasid"),
	F(FW_8000_000A_EDX, 7, "decodeassists"),
	F(FW_8000_000A_EDX, 10, "pause-filter"),
	F(FW_8000_000A_EDX, 12, "pfthreshold"),
	F(FW_8000_000A_EDX, 13, "avic"),
	F(FW_8000_000A_EDX, 15, "v-vmsave-vmload"),
	F(FW_8000_000A_EDX, 16, "vgif"),
	F(FW_8000_000A_EDX, 25, "vnmi"), /* named after QEMU 7.2 */
	F(FW_8000_000A_EDX, 28, "svme-addr-chk"),

	/*
	 * CPUID.40000001H:EAX, KVM paravirt features (Linux asm/kvm_para.h).
	 * "kvmclock" names two bits, as in QEMU: the old and the new MSR pair;
	 * cpu_feature_find_all() returns both.  Features whose guest side
	 * issues vmcall are marked, since some hosts never return from one.
	 */
	F(FW_KVM_FEATURES, KVM_FEATURE_CLOCKSOURCE, "kvmclock", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_NOP_IO_DELAY, "kvm-nopiodelay", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_MMU_OP, "kvm-mmu", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_CLOCKSOURCE2, "kvmclock", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_ASYNC_PF, "kvm-asyncpf", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_STEAL_TIME, "kvm-steal-time", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_PV_EOI, "kvm-pv-eoi", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_PV_UNHALT, "kvm-pv-unhalt", .flags = PV_HC),
	F(FW_KVM_FEATURES, KVM_FEATURE_PV_TLB_FLUSH, "kvm-pv-tlb-flush", .flags = PV_HC),
	F(FW_KVM_FEATURES, KVM_FEATURE_ASYNC_PF_VMEXIT, "kvm-asyncpf-vmexit", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_PV_SEND_IPI, "kvm-pv-ipi", .flags = PV_HC),
	F(FW_KVM_FEATURES, KVM_FEATURE_POLL_CONTROL, "kvm-poll-control", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_PV_SCHED_YIELD, "kvm-pv-sched-yield", .flags = PV_HC),
	F(FW_KVM_FEATURES, KVM_FEATURE_ASYNC_PF_INT, "kvm-asyncpf-int", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_MSI_EXT_DEST_ID, "kvm-msi-ext-dest-id", .flags = PV),
	F(FW_KVM_FEATURES, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT, "kvmclock-stable-bit", .flags = PV),

	/* CPUID.40000001H:EDX, KVM hints */
	F(FW_KVM_HINTS, KVM_HINTS_REALTIME, "kvm-hint-dedicated", .flags = PV),

	/*
	 * IA32_ARCH_CAPABILITIES (MSR 0x10A), QEMU's FEAT_ARCH_CAPABILITIES names.
	 * QEMU 7.2 names bits 0-8; the others are the names later QEMU releases
	 * gave them (its-no, bit 62, is in the high word).
	 */
	F(FW_ARCH_CAP, 0, "rdctl-no"),
	F(FW_ARCH_CAP, 1, "ibrs-all"),
	F(FW_ARCH_CAP, 2, "rsba"),
	F(FW_ARCH_CAP, 3, "skip-l1dfl-vmentry"),
	F(FW_ARCH_CAP, 4, "ssb-no"),
	F(FW_ARCH_CAP, 5, "mds-no"),
	F(FW_ARCH_CAP, 6, "pschange-mc-no"),
	F(FW_ARCH_CAP, 7, "tsx-ctrl"),
	F(FW_ARCH_CAP, 8, "taa-no"),
	F(FW_ARCH_CAP, 13, "sbdr-ssdp-no"),
	F(FW_ARCH_CAP, 14, "fbsdp-no"),
	F(FW_ARCH_CAP, 15, "psdp-no"),
	F(FW_ARCH_CAP, 17, "fb-clear"),
	F(FW_ARCH_CAP, 20, "bhi-no"),
	F(FW_ARCH_CAP, 24, "pbrsb-no"),
	F(FW_ARCH_CAP, 26, "gds-no"),
	F(FW_ARCH_CAP, 27, "rfds-no"),
	F(FW_ARCH_CAP, 28, "rfds-clear"),
	F(FW_ARCH_CAP_HI, 62 - 32, "its-no"),

	/* IA32_CORE_CAPABILITY (MSR 0xCF), QEMU's FEAT_CORE_CAPABILITY */
	F(FW_CORE_CAP, 5, "split-lock-detect"),
};

const size_t cpu_features_count = sizeof(cpu_features) / sizeof(cpu_features[0]);

_Static_assert(sizeof(cpu_features) / sizeof(cpu_features[0]) > 250,
	       "the feature table lost entries");
_Static_assert(FW_COUNT == sizeof(feature_words) / sizeof(feature_words[0]),
	       "one feature_word_info per enum feature_word");

/*
 * Compare two names as QEMU users write them: case-insensitive, with '_'
 * and '-' equivalent (QEMU turns "kvm_steal_time" into "kvm-steal-time").
 */
static char name_fold(char c)
{
	if (c == '_')
		return '-';
	/* tolower() in the "C" locale skyvm runs in, without a call per byte */
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (name_fold(*a) != name_fold(*b))
			return false;
	return *a == *b;
}

static bool feature_matches(const struct cpu_feature *f, const char *name)
{
	if (name_equal(f->name, name))
		return true;
	for (size_t i = 0; i < sizeof(f->aliases) / sizeof(f->aliases[0]) && f->aliases[i]; i++)
		if (name_equal(f->aliases[i], name))
			return true;
	return false;
}

/*
 * Every name and alias in a hash table (open addressing, linear probing):
 * models, options and every pipeline stage look names up, and a linear search
 * over the table for each was most of `skyvm run`'s start-up instructions.  A
 * slot holds a feature's index + 1 (0: empty).  Entries are inserted in table
 * order, so along a probe sequence the features matching one name come in
 * table order, as a linear search finds them.  With it, the first feature at
 * each (word, bit), for cpu_feature_at().
 *
 * The build computes both (scripts/gen-cpu-index.c runs this file's
 * hash_names() and writes them out as cpu_index.h), so a run starts with them
 * ready; a build without the generated header builds them on first use.
 */
#define NAME_SLOTS 4096u /* a power of two, at least twice the names and aliases */

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a over the folded name */

	for (; *name; name++)
		h = (h ^ (uint8_t)name_fold(*name)) * 16777619u;
	return h & (NAME_SLOTS - 1);
}

#if !defined(SKYVM_CPU_INDEX_GEN) && __has_include("cpu_index.h")
#define CPU_INDEX_WANT_FEATURES
#include "cpu_index.h"
_Static_assert(CPU_INDEX_FEATURES == sizeof(cpu_features) / sizeof(cpu_features[0]),
	       "cpu_index.h is stale: the Makefile regenerates it from features.c");
#define ensure_index() ((void)0)
#else
static uint16_t name_slot[NAME_SLOTS];
static uint16_t bit_feature[FW_COUNT][32];
static pthread_once_t names_hashed = PTHREAD_ONCE_INIT;

static void name_insert(const char *name, size_t index)
{
	uint32_t h = name_hash(name);

	while (name_slot[h])
		h = (h + 1) & (NAME_SLOTS - 1);
	name_slot[h] = (uint16_t)(index + 1);
}

static void hash_names(void)
{
	_Static_assert(NAME_SLOTS < UINT16_MAX, "slot values are uint16_t");
	/* twice the most names the table can carry: a probe sequence always ends */
	_Static_assert(sizeof(cpu_features) / sizeof(cpu_features[0]) *
		       (1 + sizeof(cpu_features[0].aliases) / sizeof(cpu_features[0].aliases[0])) *
		       2 <= NAME_SLOTS, "NAME_SLOTS too small for the feature table");
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		name_insert(f->name, i);
		if (!bit_feature[f->word][f->bit])
			bit_feature[f->word][f->bit] = (uint16_t)(i + 1);
		for (size_t a = 0; a < sizeof(f->aliases) / sizeof(f->aliases[0]) && f->aliases[a];
		     a++)
			name_insert(f->aliases[a], i);
	}
}
#define ensure_index() pthread_once(&names_hashed, hash_names)
#endif

/* The features matching `name`, in table order, each once; returns how many. */
static size_t find_hashed(const char *name, const struct cpu_feature **out, size_t max)
{
	uint32_t h;
	size_t n = 0;

	ensure_index();
	for (h = name_hash(name); name_slot[h] && n < max; h = (h + 1) & (NAME_SLOTS - 1)) {
		const struct cpu_feature *f = &cpu_features[name_slot[h] - 1];
		bool dup = false;

		if (!feature_matches(f, name))
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= out[k] == f;
		if (!dup)
			out[n++] = f;
	}
	return n;
}

const struct cpu_feature *cpu_feature_find(const char *name)
{
	const struct cpu_feature *f;

	if (!name)
		return NULL;
	return find_hashed(name, &f, 1) ? f : NULL;
}

bool featureset_has_name(const struct cpu_featureset *s, const char *name)
{
	const struct cpu_feature *f[8];
	size_t n = cpu_feature_find_all(name, f, sizeof(f) / sizeof(f[0]));

	for (size_t i = 0; i < n; i++)
		if (featureset_has(s, f[i]))
			return true;
	return false;
}

size_t cpu_feature_find_all(const char *name, const struct cpu_feature **out, size_t max)
{
	if (!name)
		return 0;
	return find_hashed(name, out, max);
}

const struct cpu_feature *cpu_feature_at(enum feature_word w, unsigned bit)
{
	if ((unsigned)w >= FW_COUNT || bit >= 32)
		return NULL;
	ensure_index();
	return bit_feature[w][bit] ? &cpu_features[bit_feature[w][bit] - 1] : NULL;
}

/*
 * How far an unknown name may be from a suggestion: a third of its length,
 * at least 2, so "avx512" finds "avx512f".  A known name that starts with
 * the unknown one ("kvm-steal" -> "kvm-steal-time") ranks just past that.
 */
static unsigned suggest_limit(const char *unknown)
{
	unsigned limit = (unsigned)strlen(unknown) / 3;

	return limit < 2 ? 2 : limit;
}

static bool name_has_prefix(const char *name, const char *prefix)
{
	for (; *prefix; name++, prefix++)
		if (name_fold(*name) != name_fold(*prefix))
			return false;
	return true;
}

/* The rank of a known feature as a suggestion for `unknown`; UINT_MAX: not one. */
static unsigned feature_distance(const struct cpu_feature *f, const char *unknown,
				 unsigned limit)
{
	unsigned best = name_edit_distance(f->name, unknown);

	for (size_t i = 0; i < sizeof(f->aliases) / sizeof(f->aliases[0]) && f->aliases[i]; i++) {
		unsigned d = name_edit_distance(f->aliases[i], unknown);

		if (d < best)
			best = d;
	}
	if (best <= limit)
		return best;
	if (strlen(unknown) >= 3 && name_has_prefix(f->name, unknown))
		return limit + 1;
	return UINT_MAX;
}

size_t cpu_feature_suggest(const char *unknown, const char **out, size_t max)
{
	unsigned limit, dist[64];
	size_t n = 0;

	if (!unknown || max == 0)
		return 0;
	if (max > 64)
		max = 64;
	limit = suggest_limit(unknown);
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		unsigned d = feature_distance(f, unknown, limit);
		size_t pos;
		bool dup = false;

		if (d == UINT_MAX)
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= !strcmp(out[k], f->name);
		if (dup)
			continue;
		/* Insertion sort: closest first, table order among equals. */
		for (pos = n; pos > 0 && dist[pos - 1] > d; pos--)
			;
		if (pos >= max)
			continue;
		if (n < max)
			n++;
		for (size_t k = n - 1; k > pos; k--) {
			out[k] = out[k - 1];
			dist[k] = dist[k - 1];
		}
		out[pos] = f->name;
		dist[pos] = d;
	}
	return n;
}

void featureset_from_cpuid(struct cpu_featureset *s, const struct cpuid_table *t)
{
	for (int w = 0; w < FW_COUNT; w++) {
		const struct feature_word_info *fw = &feature_words[w];

		/* MSR words are not CPUID: cpu/msrs.h reads them */
		s->w[w] = fw->msr ? 0 : cpuid_value(t, fw->leaf, fw->subleaf, fw->reg);
	}
}

int featureset_to_cpuid(const struct cpu_featureset *s, struct cpuid_table *t)
{
	for (int w = 0; w < FW_COUNT; w++) {
		const struct feature_word_info *fw = &feature_words[w];
		struct kvm_cpuid_entry2 *e;

		if (fw->msr)
			continue; /* written to the vCPU as an MSR (cpu/msrs.h) */
		e = cpuid_find(t, fw->leaf, fw->subleaf);
		/* An all-zero word does not create a leaf the table lacks. */
		if (!e && !s->w[w])
			continue;
		if (!e)
			e = cpuid_get_or_add(t, fw->leaf, fw->subleaf, fw->indexed);
		if (!e)
			return err_set("CPUID table full (%d entries) writing %s", CPUID_MAX_ENTRIES,
				       fw->label);
		*cpuid_reg_ptr(e, fw->reg) = s->w[w];
	}
	return 0;
}
