/* SPDX-License-Identifier: MIT */
/*
 * Intel (and QEMU's generic 64-bit) named models: QEMU 7.2's definitions
 * (target/i386/cpu.c, builtin_x86_defs[]), version 1 plus each version's
 * property changes.  Only the CPUID words skyvm models are written down;
 * versions that change only VMX capability MSRs in QEMU (EPT switching,
 * 5-level EPT) keep their number, note and CPUID unchanged here.
 *
 * tests/e2e/test_qemu_models.py compares every version below with the
 * installed qemu-system-x86_64's query-cpu-model-expansion (SapphireRapids,
 * which QEMU 7.2 lacks, is QEMU 8.0's version 1).
 */
#include "cpu/models_data.h"

/* qemu64: QEMU Virtual CPU version 2.5+ */
static const char *const qemu64_features[] = {
	/* 01H:EDX */
	"fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge",
	"mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "cx16", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm",
	NULL,
};

static const struct model_version qemu64_versions[] = {
	{
		.version = 1,
	},
};

const struct model_family model_qemu64 = {
	.name = "qemu64",
	.vendor = "AuthenticAMD",
	.family = 15,
	.model = 107,
	.stepping = 1,
	.level = 0xd,
	.xlevel = 0x8000000a,
	.model_id = "QEMU Virtual CPU version 2.5+",
	.features = qemu64_features,
	.versions = qemu64_versions,
	.nversions = sizeof(qemu64_versions) / sizeof(qemu64_versions[0]),
	.default_version = 1,
};

/* kvm64: Common KVM processor */
static const char *const kvm64_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "cx16", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	NULL,
};

static const struct model_version kvm64_versions[] = {
	{
		.version = 1,
	},
};

const struct model_family model_kvm64 = {
	.name = "kvm64",
	.vendor = "GenuineIntel",
	.family = 15,
	.model = 6,
	.stepping = 1,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Common KVM processor",
	.features = kvm64_features,
	.versions = kvm64_versions,
	.nversions = sizeof(kvm64_versions) / sizeof(kvm64_versions[0]),
	.default_version = 1,
};

/* Haswell: Intel Core Processor (Haswell) */
static const char *const haswell_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm",
	/* 0DH.1:EAX */
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm",
	NULL,
};

static const struct model_version haswell_versions[] = {
	{
		.version = 1,
	},
	{
		.version = 2,
		.alias = "Haswell-noTSX",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Core Processor (Haswell, no TSX)" },
			{ "rtm", "off" },
			{ "stepping", "1" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.alias = "Haswell-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "on" },
			{ "model-id", "Intel Core Processor (Haswell, IBRS)" },
			{ "rtm", "on" },
			{ "spec-ctrl", "on" },
			{ "stepping", "4" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.alias = "Haswell-noTSX-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Core Processor (Haswell, no TSX, IBRS)" },
			{ "rtm", "off" },
			{ "stepping", "1" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_haswell = {
	.name = "Haswell",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 60,
	.stepping = 4,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Core Processor (Haswell)",
	.features = haswell_features,
	.versions = haswell_versions,
	.nversions = sizeof(haswell_versions) / sizeof(haswell_versions[0]),
	.default_version = 1,
};

/* Skylake-Client: Intel Core Processor (Skylake) */
static const char *const skylake_client_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm", "rdseed",
	"adx", "smap",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	NULL,
};

static const struct model_version skylake_client_versions[] = {
	{
		.version = 1,
	},
	{
		.version = 2,
		.alias = "Skylake-Client-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Core Processor (Skylake, IBRS)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.alias = "Skylake-Client-noTSX-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Core Processor (Skylake, IBRS, no TSX)" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.note = "IBRS, XSAVES, no TSX",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_skylake_client = {
	.name = "Skylake-Client",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 94,
	.stepping = 3,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Core Processor (Skylake)",
	.features = skylake_client_features,
	.versions = skylake_client_versions,
	.nversions = sizeof(skylake_client_versions) / sizeof(skylake_client_versions[0]),
	.default_version = 1,
};

/* Skylake-Server: Intel Xeon Processor (Skylake) */
static const char *const skylake_server_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm", "avx512f",
	"avx512dq", "rdseed", "adx", "smap", "clflushopt", "clwb", "avx512cd", "avx512bw",
	"avx512vl",
	/* 07H.0:ECX */
	"pku",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	NULL,
};

static const struct model_version skylake_server_versions[] = {
	{
		.version = 1,
	},
	{
		.version = 2,
		.alias = "Skylake-Server-IBRS",
		.props = (const struct model_prop[]) {
			{ "clflushopt", "off" },
			{ "model-id", "Intel Xeon Processor (Skylake, IBRS)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.alias = "Skylake-Server-noTSX-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Xeon Processor (Skylake, IBRS, no TSX)" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.note = "IBRS, EPT switching, no TSX",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
	{
		.version = 5,
		.note = "IBRS, XSAVES, EPT switching, no TSX",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_skylake_server = {
	.name = "Skylake-Server",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 85,
	.stepping = 4,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (Skylake)",
	.features = skylake_server_features,
	.versions = skylake_server_versions,
	.nversions = sizeof(skylake_server_versions) / sizeof(skylake_server_versions[0]),
	.default_version = 1,
};

/* Cascadelake-Server: Intel Xeon Processor (Cascadelake) */
static const char *const cascadelake_server_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm", "avx512f",
	"avx512dq", "rdseed", "adx", "smap", "clflushopt", "clwb", "avx512cd", "avx512bw",
	"avx512vl",
	/* 07H.0:ECX */
	"pku", "avx512vnni",
	/* 07H.0:EDX */
	"spec-ctrl", "ssbd",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	NULL,
};

static const struct model_version cascadelake_server_versions[] = {
	{
		.version = 1,
	},
	{
		.version = 2,
		.note = "ARCH_CAPABILITIES",
		/*
		 * QEMU also turns on ARCH_CAPABILITIES MSR bits skyvm does not model: ibrs-all,
		 * mds-no, rdctl-no, skip-l1dfl-vmentry.
		 */
		.props = (const struct model_prop[]) {
			{ "arch-capabilities", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.alias = "Cascadelake-Server-noTSX",
		.note = "ARCH_CAPABILITIES, no TSX",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.note = "ARCH_CAPABILITIES, EPT switching, no TSX",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
	{
		.version = 5,
		.note = "ARCH_CAPABILITIES, EPT switching, XSAVES, no TSX",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_cascadelake_server = {
	.name = "Cascadelake-Server",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 85,
	.stepping = 6,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (Cascadelake)",
	.features = cascadelake_server_features,
	.versions = cascadelake_server_versions,
	.nversions = sizeof(cascadelake_server_versions) / sizeof(cascadelake_server_versions[0]),
	.default_version = 1,
};

/* Icelake-Server: Intel Xeon Processor (Icelake) */
static const char *const icelake_server_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm", "avx512f",
	"avx512dq", "rdseed", "adx", "smap", "clflushopt", "clwb", "avx512cd", "avx512bw",
	"avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512vnni",
	"avx512bitalg", "avx512-vpopcntdq", "la57",
	/* 07H.0:EDX */
	"spec-ctrl", "ssbd",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	NULL,
};

static const struct model_version icelake_server_versions[] = {
	{
		.version = 1,
	},
	{
		.version = 2,
		.alias = "Icelake-Server-noTSX",
		.note = "no TSX",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		/*
		 * QEMU also turns on ARCH_CAPABILITIES MSR bits skyvm does not model: ibrs-all,
		 * mds-no, pschange-mc-no, rdctl-no, skip-l1dfl-vmentry, taa-no.
		 */
		.props = (const struct model_prop[]) {
			{ "arch-capabilities", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.props = (const struct model_prop[]) {
			{ "avx512ifma", "on" },
			{ "fsrm", "on" },
			{ "model", "106" },
			{ "rdpid", "on" },
			{ "sha-ni", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 5,
		.note = "XSAVES",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 6,
		.note = "5-level EPT",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
};

const struct model_family model_icelake_server = {
	.name = "Icelake-Server",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 134,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (Icelake)",
	.features = icelake_server_features,
	.versions = icelake_server_versions,
	.nversions = sizeof(icelake_server_versions) / sizeof(icelake_server_versions[0]),
	.default_version = 1,
};

/*
 * SapphireRapids: not in QEMU 7.2 (Debian's qemu-system-x86 lists none).
 * Version 1 as QEMU 8.0 added it; tests/e2e/test_qemu_models.py reports it
 * as not comparable with the installed QEMU.  The ARCH_CAPABILITIES MSR
 * bits and VMX capabilities QEMU also sets are MSRs skyvm does not model.
 */
static const char *const sapphirerapids_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX (hypervisor: QEMU sets it on every named model) */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm", "avx512f",
	"avx512dq", "rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb", "avx512cd",
	"sha-ni", "avx512bw", "avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512vnni",
	"avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "bus-lock-detect",
	/* 07H.0:EDX */
	"fsrm", "serialize", "tsx-ldtrk", "amx-bf16", "avx512-fp16", "amx-tile", "amx-int8",
	"spec-ctrl", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"avx-vnni", "avx512-bf16", "fzrm", "fsrs", "fsrc",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	NULL,
};

static const struct model_version sapphirerapids_versions[] = {
	{
		.version = 1,
		.note = "QEMU 8.0 definition",
	},
};

const struct model_family model_sapphirerapids = {
	.name = "SapphireRapids",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 143,
	.stepping = 4,
	.level = 0x20,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (SapphireRapids)",
	.features = sapphirerapids_features,
	.versions = sapphirerapids_versions,
	.nversions = sizeof(sapphirerapids_versions) / sizeof(sapphirerapids_versions[0]),
	.default_version = 1,
};
