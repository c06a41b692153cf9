/* SPDX-License-Identifier: MIT */
#include "default/features.h"

const char *const feature_word_names[FW_COUNT] = {
	"1.ecx", "1.edx", "7.ebx", "7.ecx", "7.edx", "kvm",
};

const struct feature_name feature_names[] = {
	{ FW_1_EDX, 0, "fpu" }, { FW_1_EDX, 1, "vme" }, { FW_1_EDX, 2, "de" },
	{ FW_1_EDX, 3, "pse" }, { FW_1_EDX, 4, "tsc" }, { FW_1_EDX, 5, "msr" },
	{ FW_1_EDX, 6, "pae" }, { FW_1_EDX, 7, "mce" }, { FW_1_EDX, 8, "cx8" },
	{ FW_1_EDX, 9, "apic" }, { FW_1_EDX, 11, "sep" }, { FW_1_EDX, 12, "mtrr" },
	{ FW_1_EDX, 13, "pge" }, { FW_1_EDX, 14, "mca" }, { FW_1_EDX, 15, "cmov" },
	{ FW_1_EDX, 16, "pat" }, { FW_1_EDX, 17, "pse36" }, { FW_1_EDX, 18, "pn" },
	{ FW_1_EDX, 19, "clflush" }, { FW_1_EDX, 21, "ds" }, { FW_1_EDX, 22, "acpi" },
	{ FW_1_EDX, 23, "mmx" }, { FW_1_EDX, 24, "fxsr" }, { FW_1_EDX, 25, "sse" },
	{ FW_1_EDX, 26, "sse2" }, { FW_1_EDX, 27, "ss" }, { FW_1_EDX, 28, "ht" },
	{ FW_1_EDX, 29, "tm" }, { FW_1_EDX, 30, "ia64" }, { FW_1_EDX, 31, "pbe" },

	{ FW_1_ECX, 0, "pni" }, { FW_1_ECX, 1, "pclmulqdq" }, { FW_1_ECX, 2, "dtes64" },
	{ FW_1_ECX, 3, "monitor" }, { FW_1_ECX, 4, "ds-cpl" }, { FW_1_ECX, 5, "vmx" },
	{ FW_1_ECX, 6, "smx" }, { FW_1_ECX, 7, "est" }, { FW_1_ECX, 8, "tm2" },
	{ FW_1_ECX, 9, "ssse3" }, { FW_1_ECX, 10, "cid" }, { FW_1_ECX, 12, "fma" },
	{ FW_1_ECX, 13, "cx16" }, { FW_1_ECX, 14, "xtpr" }, { FW_1_ECX, 15, "pdcm" },
	{ FW_1_ECX, 17, "pcid" }, { FW_1_ECX, 18, "dca" }, { FW_1_ECX, 19, "sse4.1" },
	{ FW_1_ECX, 20, "sse4.2" }, { FW_1_ECX, 21, "x2apic" }, { FW_1_ECX, 22, "movbe" },
	{ FW_1_ECX, 23, "popcnt" }, { FW_1_ECX, 24, "tsc-deadline" }, { FW_1_ECX, 25, "aes" },
	{ FW_1_ECX, 26, "xsave" }, { FW_1_ECX, 27, "osxsave" }, { FW_1_ECX, 28, "avx" },
	{ FW_1_ECX, 29, "f16c" }, { FW_1_ECX, 30, "rdrand" }, { FW_1_ECX, 31, "hypervisor" },

	{ FW_7_EBX, 0, "fsgsbase" }, { FW_7_EBX, 1, "tsc-adjust" }, { FW_7_EBX, 2, "sgx" },
	{ FW_7_EBX, 3, "bmi1" }, { FW_7_EBX, 4, "hle" }, { FW_7_EBX, 5, "avx2" },
	{ FW_7_EBX, 7, "smep" }, { FW_7_EBX, 8, "bmi2" }, { FW_7_EBX, 9, "erms" },
	{ FW_7_EBX, 10, "invpcid" }, { FW_7_EBX, 11, "rtm" }, { FW_7_EBX, 14, "mpx" },
	{ FW_7_EBX, 16, "avx512f" }, { FW_7_EBX, 17, "avx512dq" }, { FW_7_EBX, 18, "rdseed" },
	{ FW_7_EBX, 19, "adx" }, { FW_7_EBX, 20, "smap" }, { FW_7_EBX, 21, "avx512ifma" },
	{ FW_7_EBX, 22, "pcommit" }, { FW_7_EBX, 23, "clflushopt" }, { FW_7_EBX, 24, "clwb" },
	{ FW_7_EBX, 25, "intel-pt" }, { FW_7_EBX, 26, "avx512pf" }, { FW_7_EBX, 27, "avx512er" },
	{ FW_7_EBX, 28, "avx512cd" }, { FW_7_EBX, 29, "sha-ni" }, { FW_7_EBX, 30, "avx512bw" },
	{ FW_7_EBX, 31, "avx512vl" },

	{ FW_7_ECX, 1, "avx512vbmi" }, { FW_7_ECX, 2, "umip" }, { FW_7_ECX, 3, "pku" },
	{ FW_7_ECX, 5, "waitpkg" }, { FW_7_ECX, 6, "avx512vbmi2" }, { FW_7_ECX, 8, "gfni" },
	{ FW_7_ECX, 9, "vaes" }, { FW_7_ECX, 10, "vpclmulqdq" }, { FW_7_ECX, 11, "avx512vnni" },
	{ FW_7_ECX, 12, "avx512bitalg" }, { FW_7_ECX, 14, "avx512-vpopcntdq" },
	{ FW_7_ECX, 16, "la57" }, { FW_7_ECX, 22, "rdpid" }, { FW_7_ECX, 24, "bus-lock-detect" },
	{ FW_7_ECX, 25, "cldemote" }, { FW_7_ECX, 27, "movdiri" }, { FW_7_ECX, 28, "movdir64b" },
	{ FW_7_ECX, 30, "sgxlc" }, { FW_7_ECX, 31, "pks" },

	{ FW_7_EDX, 2, "avx512-4vnniw" }, { FW_7_EDX, 3, "avx512-4fmaps" },
	{ FW_7_EDX, 4, "fsrm" }, { FW_7_EDX, 8, "avx512-vp2intersect" },
	{ FW_7_EDX, 10, "md-clear" }, { FW_7_EDX, 14, "serialize" }, { FW_7_EDX, 16, "tsx-ldtrk" },
	{ FW_7_EDX, 18, "pconfig" }, { FW_7_EDX, 20, "arch-lbr" }, { FW_7_EDX, 22, "amx-bf16" },
	{ FW_7_EDX, 23, "avx512-fp16" }, { FW_7_EDX, 24, "amx-tile" }, { FW_7_EDX, 25, "amx-int8" },
	{ FW_7_EDX, 26, "spec-ctrl" }, { FW_7_EDX, 27, "stibp" }, { FW_7_EDX, 28, "flush-l1d" },
	{ FW_7_EDX, 29, "arch-capabilities" }, { FW_7_EDX, 30, "core-capability" },
	{ FW_7_EDX, 31, "ssbd" },

	/* QEMU calls bits 0 and 3 both "kvmclock"; the second is shown as kvmclock2. */
	{ FW_KVM, 0, "kvmclock" }, { FW_KVM, 1, "kvm-nopiodelay" }, { FW_KVM, 2, "kvm-mmu" },
	{ FW_KVM, 3, "kvmclock2" }, { FW_KVM, 4, "kvm-asyncpf" }, { FW_KVM, 5, "kvm-steal-time" },
	{ FW_KVM, 6, "kvm-pv-eoi" }, { FW_KVM, 7, "kvm-pv-unhalt" },
	{ FW_KVM, 9, "kvm-pv-tlb-flush" }, { FW_KVM, 10, "kvm-asyncpf-vmexit" },
	{ FW_KVM, 11, "kvm-pv-ipi" }, { FW_KVM, 12, "kvm-poll-control" },
	{ FW_KVM, 13, "kvm-pv-sched-yield" }, { FW_KVM, 14, "kvm-asyncpf-int" },
	{ FW_KVM, 15, "kvm-msi-ext-dest-id" }, { FW_KVM, 24, "kvmclock-stable-bit" },
};

const unsigned feature_names_count = sizeof(feature_names) / sizeof(feature_names[0]);

const char *feature_name(unsigned word, unsigned bit)
{
	for (unsigned i = 0; i < feature_names_count; i++)
		if (feature_names[i].word == word && feature_names[i].bit == bit)
			return feature_names[i].name;
	return 0;
}
