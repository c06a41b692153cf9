/* SPDX-License-Identifier: MIT */
/*
 * Intel (and QEMU's generic 64-bit) named models: QEMU 7.2's definitions
 * (target/i386/cpu.c, builtin_x86_defs[]), version 1 plus each version's
 * property changes.  The CPUID words and the feature MSRs skyvm models
 * (IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITY: cpu/msrs.h) are written
 * down; versions that change only VMX capability MSRs in QEMU (EPT
 * switching, 5-level EPT) keep their number, note and features unchanged.
 *
 * tests/e2e/test_qemu_models.py compares every version below with the
 * installed qemu-system-x86_64's query-cpu-model-expansion (SapphireRapids,
 * which QEMU 7.2 lacks, is QEMU 8.0's version 1). *
 * .qemu, each version's origin (`skyvm cpu list`), is the QEMU release that
 * first offered that definition, under any name: v1, the release that
 * introduced the model (QEMU's "-vN" names themselves date from 4.1); a
 * later version QEMU had named before 4.1 (its .alias, e.g. Haswell-noTSX),
 * the release that introduced that name; any other version, the release that
 * added it.  Feature releases only ("2.12", "0.9.1" for the first -cpu
 * models), not stable point releases; docs/cpu-models.md says how they were
 * found, tests/unit/test_models.c pins some and checks every version has one.
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
		.qemu = "0.9.1",
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
		.qemu = "0.12",
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
		.qemu = "1.3",
	},
	{
		.version = 2,
		.qemu = "2.3",
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
		.qemu = "2.12",
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
		.qemu = "2.12",
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
		.qemu = "2.7",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "Skylake-Client-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Core Processor (Skylake, IBRS)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "4.2",
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
		.qemu = "6.1",
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
		.qemu = "2.10",
	},
	{
		.version = 2,
		.qemu = "2.12",
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
		.qemu = "4.2",
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
		.qemu = "5.1",
		.note = "IBRS, EPT switching, no TSX",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
	{
		.version = 5,
		.qemu = "6.1",
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
		.qemu = "3.1",
	},
	{
		.version = 2,
		.qemu = "4.1",
		.note = "ARCH_CAPABILITIES",
		.props = (const struct model_prop[]) {
			{ "arch-capabilities", "on" },
			/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU's v2 */
			{ "rdctl-no", "on" },
			{ "ibrs-all", "on" },
			{ "skip-l1dfl-vmentry", "on" },
			{ "mds-no", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "4.2",
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
		.qemu = "5.1",
		.note = "ARCH_CAPABILITIES, EPT switching, no TSX",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
	{
		.version = 5,
		.qemu = "6.1",
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
		.qemu = "3.1",
	},
	{
		.version = 2,
		.qemu = "4.2",
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
		.qemu = "5.0",
		.props = (const struct model_prop[]) {
			{ "arch-capabilities", "on" },
			/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU's v3 */
			{ "rdctl-no", "on" },
			{ "ibrs-all", "on" },
			{ "skip-l1dfl-vmentry", "on" },
			{ "mds-no", "on" },
			{ "pschange-mc-no", "on" },
			{ "taa-no", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.qemu = "5.1",
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
		.qemu = "6.1",
		.note = "XSAVES",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 6,
		.qemu = "7.0",
		.note = "5-level EPT",
		/* QEMU changes only VMX capability MSRs here: same CPUID as before */
	},
	{
		/*
		 * QEMU 9.0: TSX back (taa-no, set since v3, is an ARCH_CAPABILITIES
		 * MSR bit and claims TSX is safe, so TSX should be there)
		 */
		.version = 7,
		.qemu = "9.0",
		.note = "TSX, taa-no",
		.props = (const struct model_prop[]) {
			{ "hle", "on" },
			{ "rtm", "on" },
			{ NULL, NULL },
		},
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
 * as not comparable with the installed QEMU.  The VMX capabilities QEMU
 * also sets are MSRs skyvm does not model.
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
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 8.0's SapphireRapids */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "taa-no",
	NULL,
};

static const struct model_version sapphirerapids_versions[] = {
	{
		.version = 1, /* QEMU 8.0 */
		.qemu = "8.0",
		.note = "QEMU 8.0 definition",
	},
	{
		/*
		 * QEMU 8.1: sbdr-ssdp-no, fbsdp-no, psdp-no, bits of the
		 * ARCH_CAPABILITIES MSR (cpu/msrs.h): the CPUID is v1's.
		 */
		.version = 2,
		.qemu = "8.1",
		.note = "ARCH_CAPABILITIES: sbdr-ssdp-no fbsdp-no psdp-no",
		.props = (const struct model_prop[]) {
			{ "sbdr-ssdp-no", "on" },
			{ "fbsdp-no", "on" },
			{ "psdp-no", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3, /* QEMU 9.2 */
		.qemu = "9.2",
		.props = (const struct model_prop[]) {
			{ "ss", "on" },
			{ "tsc-adjust", "on" },
			{ "cldemote", "on" },
			{ "movdiri", "on" },
			{ "movdir64b", "on" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 10.1: its own caches (leaf 4) and leaf 0x1F on any topology */
		.version = 4,
		.qemu = "10.1",
		.note = "with spr-sp cache model and 0x1f leaf",
		.cache = &cpu_cache_xeon_spr,
		.props = (const struct model_prop[]) {
			{ "x-force-cpuid-0x1f", "on" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 11.0: CET (the VMX CET entry/exit controls QEMU adds are MSRs) */
		.version = 5,
		.qemu = "11.0",
		.note = "with cet-ss and cet-ibt",
		.props = (const struct model_prop[]) {
			{ "cet-ss", "on" },
			{ "cet-ibt", "on" },
			{ NULL, NULL },
		},
	},
	{
		/*
		 * QEMU 11.0: its-no, a bit of the ARCH_CAPABILITIES MSR (cpu/msrs.h):
		 * the CPUID is the predecessor's.
		 */
		.version = 6,
		.qemu = "11.0",
		.note = "with its-no",
		.props = (const struct model_prop[]) {
			{ "its-no", "on" },
			{ NULL, NULL },
		},
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

/* GraniteRapids-v1: QEMU 8.1 (family 6 model 173). */
static const char *const graniterapids_features[] = {
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
	"avx512dq", "rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb", "avx512cd",
	"sha-ni", "avx512bw", "avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512vnni",
	"avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "bus-lock-detect",
	/* 07H.0:EDX */
	"fsrm", "serialize", "tsx-ldtrk", "amx-bf16", "avx512-fp16", "amx-tile", "amx-int8",
	"spec-ctrl", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"avx-vnni", "avx512-bf16", "fzrm", "fsrs", "fsrc", "amx-fp16",
	/* 07H.1:EDX */
	"prefetchiti",
	/* 07H.2:EDX */
	"mcdt-no",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 8.1's GraniteRapids */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "taa-no",
	"sbdr-ssdp-no", "fbsdp-no", "psdp-no", "pbrsb-no",
	NULL,
};

static const struct model_version graniterapids_versions[] = {
	{
		.version = 1, /* QEMU 8.1 */
		.qemu = "8.1",
	},
	{
		.version = 2, /* QEMU 9.2: AVX10.1 (leaf 0x24) */
		.qemu = "9.2",
		.props = (const struct model_prop[]) {
			{ "ss", "on" },
			{ "tsc-adjust", "on" },
			{ "cldemote", "on" },
			{ "movdiri", "on" },
			{ "movdir64b", "on" },
			{ "avx10", "on" },
			{ "avx10-128", "on" },
			{ "avx10-256", "on" },
			{ "avx10-512", "on" },
			{ "avx10-version", "1" },
			{ "stepping", "1" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 10.1: its own caches (leaf 4) and leaf 0x1F on any topology */
		.version = 3,
		.qemu = "10.1",
		.note = "with gnr-sp cache model and 0x1f leaf",
		.cache = &cpu_cache_xeon_gnr,
		.props = (const struct model_prop[]) {
			{ "x-force-cpuid-0x1f", "on" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 11.0: CET (the VMX CET entry/exit controls QEMU adds are MSRs) */
		.version = 4,
		.qemu = "11.0",
		.note = "with cet-ss and cet-ibt",
		.props = (const struct model_prop[]) {
			{ "cet-ss", "on" },
			{ "cet-ibt", "on" },
			{ NULL, NULL },
		},
	},
	{
		/*
		 * QEMU 11.0: its-no, a bit of the ARCH_CAPABILITIES MSR (cpu/msrs.h):
		 * the CPUID is the predecessor's.
		 */
		.version = 5,
		.qemu = "11.0",
		.note = "with its-no",
		.props = (const struct model_prop[]) {
			{ "its-no", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_graniterapids = {
	.name = "GraniteRapids",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 173,
	.stepping = 0,
	.level = 0x20,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (GraniteRapids)",
	.features = graniterapids_features,
	.versions = graniterapids_versions,
	.nversions = sizeof(graniterapids_versions) / sizeof(graniterapids_versions[0]),
	.default_version = 1,
};

/* SierraForest-v1: QEMU 9.0 (family 6 model 175); E-cores, no AVX-512. */
static const char *const sierraforest_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "rdseed", "adx", "smap",
	"clflushopt", "clwb", "sha-ni",
	/* 07H.0:ECX */
	"umip", "pku", "gfni", "vaes", "vpclmulqdq", "rdpid", "bus-lock-detect",
	/* 07H.0:EDX */
	"fsrm", "serialize", "spec-ctrl", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"avx-vnni", "cmpccxadd", "fsrs", "avx-ifma",
	/* 07H.1:EDX */
	"avx-vnni-int8", "avx-ne-convert",
	/* 07H.2:EDX */
	"mcdt-no",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 9.0's SierraForest (no taa-no: no TSX) */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "sbdr-ssdp-no",
	"fbsdp-no", "psdp-no", "pbrsb-no",
	NULL,
};

static const struct model_version sierraforest_versions[] = {
	{
		.version = 1, /* QEMU 9.0 */
		.qemu = "9.0",
	},
	{
		/* QEMU 9.2; gds-no, rfds-no are ARCH_CAPABILITIES MSR bits (cpu/msrs.h) */
		.version = 2,
		.qemu = "9.2",
		.props = (const struct model_prop[]) {
			{ "ss", "on" },
			{ "tsc-adjust", "on" },
			{ "cldemote", "on" },
			{ "movdiri", "on" },
			{ "movdir64b", "on" },
			{ "gds-no", "on" },
			{ "rfds-no", "on" },
			{ "lam", "on" },
			{ "intel-psfd", "on" },
			{ "ipred-ctrl", "on" },
			{ "rrsba-ctrl", "on" },
			{ "bhi-ctrl", "on" },
			{ "stepping", "3" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 10.1: its own caches (leaf 4) and leaf 0x1F on any topology */
		.version = 3,
		.qemu = "10.1",
		.note = "with srf-sp cache model and 0x1f leaf",
		.cache = &cpu_cache_xeon_srf,
		.props = (const struct model_prop[]) {
			{ "x-force-cpuid-0x1f", "on" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 11.0: CET (the VMX CET entry/exit controls QEMU adds are MSRs) */
		.version = 4,
		.qemu = "11.0",
		.note = "with cet-ss and cet-ibt",
		.props = (const struct model_prop[]) {
			{ "cet-ss", "on" },
			{ "cet-ibt", "on" },
			{ NULL, NULL },
		},
	},
	{
		/*
		 * QEMU 11.0: its-no, a bit of the ARCH_CAPABILITIES MSR (cpu/msrs.h):
		 * the CPUID is the predecessor's.
		 */
		.version = 5,
		.qemu = "11.0",
		.note = "with its-no",
		.props = (const struct model_prop[]) {
			{ "its-no", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_sierraforest = {
	.name = "SierraForest",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 175,
	.stepping = 0,
	.level = 0x23,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (SierraForest)",
	.features = sierraforest_features,
	.versions = sierraforest_versions,
	.nversions = sizeof(sierraforest_versions) / sizeof(sierraforest_versions[0]),
	.default_version = 1,
};

/* ClearwaterForest-v1: QEMU 10.1 (family 6 model 221). */
static const char *const clearwaterforest_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ss",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "tsc-adjust", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "rdseed",
	"adx", "smap", "clflushopt", "clwb", "sha-ni",
	/* 07H.0:ECX */
	"umip", "pku", "gfni", "vaes", "vpclmulqdq", "rdpid", "bus-lock-detect", "cldemote",
	"movdiri", "movdir64b",
	/* 07H.0:EDX */
	"fsrm", "serialize", "spec-ctrl", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"sha512", "sm3", "sm4", "avx-vnni", "cmpccxadd", "fsrs", "avx-ifma", "lam",
	/* 07H.1:EDX */
	"avx-vnni-int8", "avx-ne-convert", "avx-vnni-int16", "prefetchiti",
	/* 07H.2:EDX */
	"intel-psfd", "ipred-ctrl", "rrsba-ctrl", "ddpd-u", "bhi-ctrl", "mcdt-no",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 10.1's ClearwaterForest */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "sbdr-ssdp-no",
	"fbsdp-no", "psdp-no", "bhi-no", "pbrsb-no", "gds-no", "rfds-no",
	NULL,
};

static const struct model_version clearwaterforest_versions[] = {
	{
		.version = 1, /* QEMU 10.1 */
		.qemu = "10.1",
	},
	{
		/* QEMU 11.0: CET (the VMX CET entry/exit controls QEMU adds are MSRs) */
		.version = 2,
		.qemu = "11.0",
		.note = "with cet-ss and cet-ibt",
		.props = (const struct model_prop[]) {
			{ "cet-ss", "on" },
			{ "cet-ibt", "on" },
			{ NULL, NULL },
		},
	},
	{
		/*
		 * QEMU 11.0: its-no, a bit of the ARCH_CAPABILITIES MSR (cpu/msrs.h):
		 * the CPUID is the predecessor's.
		 */
		.version = 3,
		.qemu = "11.0",
		.note = "with its-no",
		.props = (const struct model_prop[]) {
			{ "its-no", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_clearwaterforest = {
	.name = "ClearwaterForest",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 221,
	.stepping = 0,
	.level = 0x23,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (ClearwaterForest)",
	.features = clearwaterforest_features,
	.versions = clearwaterforest_versions,
	.nversions = sizeof(clearwaterforest_versions) / sizeof(clearwaterforest_versions[0]),
	.default_version = 1,
};

/*
 * DiamondRapids-v1: QEMU 11.0 (family 19 = 0xf + extended 4, model 1):
 * AVX10.2, APX, AMX-FP8/TF32/AVX512/MOVRS, MOVRS, FRED/LKGS, CET; leaf 0x1F
 * forced on.  QEMU gives it no cache description (the legacy caches).
 */
static const char *const diamondrapids_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ss",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "tsc-adjust", "bmi1", "hle", "avx2", "fdp-excptn-only", "smep", "bmi2",
	"erms", "invpcid", "rtm", "zero-fcs-fds", "avx512f", "avx512dq", "rdseed", "adx", "smap",
	"avx512ifma", "clflushopt", "clwb", "avx512cd", "sha-ni", "avx512bw", "avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "cet-ss", "gfni", "vaes", "vpclmulqdq",
	"avx512vnni", "avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "bus-lock-detect",
	"cldemote", "movdiri", "movdir64b",
	/* 07H.0:EDX */
	"fsrm", "md-clear", "serialize", "tsx-ldtrk", "cet-ibt", "amx-bf16", "avx512-fp16",
	"amx-tile", "amx-int8", "spec-ctrl", "stibp", "flush-l1d", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"avx-vnni", "avx512-bf16", "cmpccxadd", "fzrm", "fsrs", "fsrc", "fred", "lkgs", "wrmsrns",
	"amx-fp16", "avx-ifma", "lam", "movrs",
	/* 07H.1:EDX */
	"avx-vnni-int8", "avx-ne-convert", "amx-complex", "prefetchiti", "avx10", "apxf",
	/* 07H.2:EDX */
	"intel-psfd", "ipred-ctrl", "rrsba-ctrl", "ddpd-u", "bhi-ctrl", "mcdt-no",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd",
	/* 1EH.1:EAX */
	"amx-int8-alias", "amx-bf16-alias", "amx-complex-alias", "amx-fp16-alias", "amx-fp8",
	"amx-tf32", "amx-avx512", "amx-movrs",
	/* 24H.0:EBX: QEMU's avx10-version 2 brings AVX10.1's vector lengths ... */
	"avx10-128", "avx10-256", "avx10-512",
	/* 24H.1:ECX: ... and AVX10.2's subleaf-1 feature, which QEMU also lists */
	"avx10-vnni-int",
	/* 29H.0:EBX */
	"apx-nci-ndd-nf",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000008H:EBX */
	"wbnoinvd",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 11.0's DiamondRapids */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "taa-no",
	"sbdr-ssdp-no", "fbsdp-no", "psdp-no", "bhi-no", "pbrsb-no", "gds-no", "rfds-no",
	NULL,
};

static const struct model_version diamondrapids_versions[] = {
	{
		.version = 1, /* QEMU 11.0 */
		.qemu = "11.0",
		.props = (const struct model_prop[]) {
			{ "avx10-version", "2" },
			{ "x-force-cpuid-0x1f", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_diamondrapids = {
	.name = "DiamondRapids",
	.vendor = "GenuineIntel",
	.family = 19,
	.model = 1,
	.stepping = 0,
	.level = 0x29,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (DiamondRapids)",
	.features = diamondrapids_features,
	.versions = diamondrapids_versions,
	.nversions = sizeof(diamondrapids_versions) / sizeof(diamondrapids_versions[0]),
	.default_version = 1,
};

/*
 * YongFeng-v1: QEMU 10.0 (Zhaoxin, family 7 model 11 stepping 3; the
 * review of v2 says v1 "will be released in v10.0").
 */
static const char *const yongfeng_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "acpi", "mmx", "fxsr", "sse", "sse2",
	"ss",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2",
	"x2apic", "movbe", "popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand",
	"hypervisor",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "invpcid", "rdseed", "adx", "smap", "sha-ni",
	/* 07H.0:ECX */
	"umip", "pku", "rdpid",
	/* 07H.0:EDX */
	"spec-ctrl", "arch-capabilities",
	/* 0DH.1:EAX */
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* 80000007H:EDX (unmigratable: dropped while migratable=on, as in QEMU) */
	"invtsc",
	/* C0000001H:EDX: the PadLock units */
	"xstore", "xstore-en", "xcrypt", "xcrypt-en", "ace2", "phe", "phe-en", "pmm", "pmm-en",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 10.0's YongFeng */
	"rdctl-no", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "ssb-no",
	NULL,
};

static const struct model_version yongfeng_versions[] = {
	{
		.version = 1, /* QEMU 10.0 */
		.qemu = "10.0",
	},
	{
		/* QEMU 10.1: v1's model number 11 left out the extended model bits */
		.version = 2,
		.qemu = "10.1",
		.note = "with the correct model number",
		.props = (const struct model_prop[]) {
			{ "model", "0x5b" },
			{ NULL, NULL },
		},
	},
	{
		/* QEMU 10.1: its own caches (leaf 4) and leaf 0x1F on any topology */
		.version = 3,
		.qemu = "10.1",
		.note = "with the cache model and 0x1f leaf",
		.cache = &cpu_cache_yongfeng,
		.props = (const struct model_prop[]) {
			{ "x-force-cpuid-0x1f", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_yongfeng = {
	.name = "YongFeng",
	.vendor = "CentaurHauls",
	.family = 7,
	.model = 11,
	.stepping = 3,
	.level = 0x1f,
	.xlevel = 0x80000008,
	.model_id = "Zhaoxin YongFeng Processor",
	.features = yongfeng_features,
	.versions = yongfeng_versions,
	.nversions = sizeof(yongfeng_versions) / sizeof(yongfeng_versions[0]),
	.default_version = 1,
};

/* QEMU 7.2's other Intel and generic models, older and smaller parts. */

/* qemu32: QEMU Virtual CPU version 2.5+ */
static const char *const qemu32_features[] = {
	/* 01H:EDX */
	"fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "pge", "cmov",
	"pat", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "hypervisor",
	NULL,
};

static const struct model_version qemu32_versions[] = {
	{
		.version = 1,
		.qemu = "0.9.1",
	},
};

const struct model_family model_qemu32 = {
	.name = "qemu32",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 6,
	.stepping = 3,
	.level = 0x4,
	.xlevel = 0x80000004,
	.model_id = "QEMU Virtual CPU version 2.5+",
	.features = qemu32_features,
	.versions = qemu32_versions,
	.nversions = sizeof(qemu32_versions) / sizeof(qemu32_versions[0]),
	.default_version = 1,
};

/* kvm32: Common 32-bit KVM processor */
static const char *const kvm32_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "hypervisor",
	NULL,
};

static const struct model_version kvm32_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_kvm32 = {
	.name = "kvm32",
	.vendor = "GenuineIntel",
	.family = 15,
	.model = 6,
	.stepping = 1,
	.level = 0x5,
	.xlevel = 0x80000008,
	.model_id = "Common 32-bit KVM processor",
	.features = kvm32_features,
	.versions = kvm32_versions,
	.nversions = sizeof(kvm32_versions) / sizeof(kvm32_versions[0]),
	.default_version = 1,
};

/* 486:  */
static const char *const i486_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "pse",
	/* 01H:ECX */
	"hypervisor",
	NULL,
};

static const struct model_version i486_versions[] = {
	{
		.version = 1,
		.qemu = "0.9.1",
	},
};

const struct model_family model_i486 = {
	.name = "486",
	.vendor = "GenuineIntel",
	.family = 4,
	.model = 8,
	.stepping = 0,
	.level = 0x1,
	.xlevel = 0x0,
	.model_id = "",
	.features = i486_features,
	.versions = i486_versions,
	.nversions = sizeof(i486_versions) / sizeof(i486_versions[0]),
	.default_version = 1,
};

/* pentium:  */
static const char *const pentium_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "mce", "cx8", "apic", "mmx",
	/* 01H:ECX */
	"hypervisor",
	NULL,
};

static const struct model_version pentium_versions[] = {
	{
		.version = 1,
		.qemu = "0.9.1",
	},
};

const struct model_family model_pentium = {
	.name = "pentium",
	.vendor = "GenuineIntel",
	.family = 5,
	.model = 4,
	.stepping = 3,
	.level = 0x1,
	.xlevel = 0x0,
	.model_id = "",
	.features = pentium_features,
	.versions = pentium_versions,
	.nversions = sizeof(pentium_versions) / sizeof(pentium_versions[0]),
	.default_version = 1,
};

/* pentium2:  */
static const char *const pentium2_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "mmx", "fxsr",
	/* 01H:ECX */
	"hypervisor",
	NULL,
};

static const struct model_version pentium2_versions[] = {
	{
		.version = 1,
		.qemu = "0.9.1",
	},
};

const struct model_family model_pentium2 = {
	.name = "pentium2",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 5,
	.stepping = 2,
	.level = 0x2,
	.xlevel = 0x0,
	.model_id = "",
	.features = pentium2_features,
	.versions = pentium2_versions,
	.nversions = sizeof(pentium2_versions) / sizeof(pentium2_versions[0]),
	.default_version = 1,
};

/* pentium3:  */
static const char *const pentium3_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "mmx", "fxsr", "sse",
	/* 01H:ECX */
	"hypervisor",
	NULL,
};

static const struct model_version pentium3_versions[] = {
	{
		.version = 1,
		.qemu = "0.9.1",
	},
};

const struct model_family model_pentium3 = {
	.name = "pentium3",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 7,
	.stepping = 3,
	.level = 0x3,
	.xlevel = 0x0,
	.model_id = "",
	.features = pentium3_features,
	.versions = pentium3_versions,
	.nversions = sizeof(pentium3_versions) / sizeof(pentium3_versions[0]),
	.default_version = 1,
};

/* coreduo: Genuine Intel(R) CPU           T2600  @ 2.16GHz */
static const char *const coreduo_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "clflush", "acpi", "mmx", "fxsr", "sse", "sse2", "ss",
	/* 01H:ECX */
	"pni", "monitor", "hypervisor",
	/* 80000001H:EDX */
	"nx",
	NULL,
};

static const struct model_version coreduo_versions[] = {
	{
		.version = 1,
		.qemu = "0.10",
	},
};

const struct model_family model_coreduo = {
	.name = "coreduo",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 14,
	.stepping = 8,
	.level = 0xa,
	.xlevel = 0x80000008,
	.model_id = "Genuine Intel(R) CPU           T2600  @ 2.16GHz",
	.features = coreduo_features,
	.versions = coreduo_versions,
	.nversions = sizeof(coreduo_versions) / sizeof(coreduo_versions[0]),
	.default_version = 1,
};

/* core2duo: Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz */
static const char *const core2duo_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "acpi", "mmx", "fxsr", "sse", "sse2",
	"ss",
	/* 01H:ECX */
	"pni", "monitor", "ssse3", "cx16", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version core2duo_versions[] = {
	{
		.version = 1,
		.qemu = "0.10",
	},
};

const struct model_family model_core2duo = {
	.name = "core2duo",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 15,
	.stepping = 11,
	.level = 0xa,
	.xlevel = 0x80000008,
	.model_id = "Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz",
	.features = core2duo_features,
	.versions = core2duo_versions,
	.nversions = sizeof(core2duo_versions) / sizeof(core2duo_versions[0]),
	.default_version = 1,
};

/* n270: Intel(R) Atom(TM) CPU N270   @ 1.60GHz */
static const char *const n270_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "clflush", "acpi", "mmx", "fxsr", "sse", "sse2", "ss",
	/* 01H:ECX */
	"pni", "monitor", "ssse3", "movbe", "hypervisor",
	/* 80000001H:EDX */
	"nx",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version n270_versions[] = {
	{
		.version = 1,
		.qemu = "0.10",
	},
};

const struct model_family model_n270 = {
	.name = "n270",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 28,
	.stepping = 2,
	.level = 0xa,
	.xlevel = 0x80000008,
	.model_id = "Intel(R) Atom(TM) CPU N270   @ 1.60GHz",
	.features = n270_features,
	.versions = n270_versions,
	.nversions = sizeof(n270_versions) / sizeof(n270_versions[0]),
	.default_version = 1,
};

/* Conroe: Intel Celeron_4x0 (Conroe/Merom Class Core 2) */
static const char *const conroe_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "ssse3", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version conroe_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_conroe = {
	.name = "Conroe",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 15,
	.stepping = 3,
	.level = 0xa,
	.xlevel = 0x80000008,
	.model_id = "Intel Celeron_4x0 (Conroe/Merom Class Core 2)",
	.features = conroe_features,
	.versions = conroe_versions,
	.nversions = sizeof(conroe_versions) / sizeof(conroe_versions[0]),
	.default_version = 1,
};

/* Penryn: Intel Core 2 Duo P9xxx (Penryn Class Core 2) */
static const char *const penryn_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "ssse3", "cx16", "sse4.1", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version penryn_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_penryn = {
	.name = "Penryn",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 23,
	.stepping = 3,
	.level = 0xa,
	.xlevel = 0x80000008,
	.model_id = "Intel Core 2 Duo P9xxx (Penryn Class Core 2)",
	.features = penryn_features,
	.versions = penryn_versions,
	.nversions = sizeof(penryn_versions) / sizeof(penryn_versions[0]),
	.default_version = 1,
};

/* Nehalem: Intel Core i7 9xx (Nehalem Class Core i7) */
static const char *const nehalem_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "ssse3", "cx16", "sse4.1", "sse4.2", "popcnt", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version nehalem_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "Nehalem-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Core i7 9xx (Nehalem Core i7, IBRS update)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_nehalem = {
	.name = "Nehalem",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 26,
	.stepping = 3,
	.level = 0xb,
	.xlevel = 0x80000008,
	.model_id = "Intel Core i7 9xx (Nehalem Class Core i7)",
	.features = nehalem_features,
	.versions = nehalem_versions,
	.nversions = sizeof(nehalem_versions) / sizeof(nehalem_versions[0]),
	.default_version = 1,
};

/* Westmere: Westmere E56xx/L56xx/X56xx (Nehalem-C) */
static const char *const westmere_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "cx16", "sse4.1", "sse4.2", "popcnt", "aes", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version westmere_versions[] = {
	{
		.version = 1,
		.qemu = "1.1",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "Westmere-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Westmere E56xx/L56xx/X56xx (IBRS update)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_westmere = {
	.name = "Westmere",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 44,
	.stepping = 1,
	.level = 0xb,
	.xlevel = 0x80000008,
	.model_id = "Westmere E56xx/L56xx/X56xx (Nehalem-C)",
	.features = westmere_features,
	.versions = westmere_versions,
	.nversions = sizeof(westmere_versions) / sizeof(westmere_versions[0]),
	.default_version = 1,
};

/* SandyBridge: Intel Xeon E312xx (Sandy Bridge) */
static const char *const sandybridge_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "cx16", "sse4.1", "sse4.2", "x2apic", "popcnt",
	"tsc-deadline", "aes", "xsave", "avx", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 0DH.1:EAX */
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version sandybridge_versions[] = {
	{
		.version = 1,
		.qemu = "1.1",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "SandyBridge-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Xeon E312xx (Sandy Bridge, IBRS update)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_sandybridge = {
	.name = "SandyBridge",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 42,
	.stepping = 1,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon E312xx (Sandy Bridge)",
	.features = sandybridge_features,
	.versions = sandybridge_versions,
	.nversions = sizeof(sandybridge_versions) / sizeof(sandybridge_versions[0]),
	.default_version = 1,
};

/* IvyBridge: Intel Xeon E3-12xx v2 (Ivy Bridge) */
static const char *const ivybridge_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "cx16", "sse4.1", "sse4.2", "x2apic", "popcnt",
	"tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "smep", "erms",
	/* 0DH.1:EAX */
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm",
	NULL,
};

static const struct model_version ivybridge_versions[] = {
	{
		.version = 1,
		.qemu = "2.3",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "IvyBridge-IBRS",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Xeon E3-12xx v2 (Ivy Bridge, IBRS)" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_ivybridge = {
	.name = "IvyBridge",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 58,
	.stepping = 9,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon E3-12xx v2 (Ivy Bridge)",
	.features = ivybridge_features,
	.versions = ivybridge_versions,
	.nversions = sizeof(ivybridge_versions) / sizeof(ivybridge_versions[0]),
	.default_version = 1,
};

/* Broadwell: Intel Core Processor (Broadwell) */
static const char *const broadwell_features[] = {
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
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	NULL,
};

static const struct model_version broadwell_versions[] = {
	{
		.version = 1,
		.qemu = "2.1",
	},
	{
		.version = 2,
		.qemu = "2.3",
		.alias = "Broadwell-noTSX",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Core Processor (Broadwell, no TSX)" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "2.12",
		.alias = "Broadwell-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "on" },
			{ "model-id", "Intel Core Processor (Broadwell, IBRS)" },
			{ "rtm", "on" },
			{ "spec-ctrl", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.qemu = "2.12",
		.alias = "Broadwell-noTSX-IBRS",
		.props = (const struct model_prop[]) {
			{ "hle", "off" },
			{ "model-id", "Intel Core Processor (Broadwell, no TSX, IBRS)" },
			{ "rtm", "off" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_broadwell = {
	.name = "Broadwell",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 61,
	.stepping = 2,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Core Processor (Broadwell)",
	.features = broadwell_features,
	.versions = broadwell_versions,
	.nversions = sizeof(broadwell_versions) / sizeof(broadwell_versions[0]),
	.default_version = 1,
};

/* Cooperlake: Intel Xeon Processor (Cooperlake) */
static const char *const cooperlake_features[] = {
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
	"spec-ctrl", "stibp", "arch-capabilities", "ssbd",
	/* 07H.1:EAX */
	"avx512-bf16",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 7.2's Cooperlake */
	"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "taa-no",
	NULL,
};

static const struct model_version cooperlake_versions[] = {
	{
		.version = 1,
		.qemu = "5.0",
	},
	{
		.version = 2,
		.qemu = "6.1",
		.note = "XSAVES",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_cooperlake = {
	.name = "Cooperlake",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 85,
	.stepping = 10,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Processor (Cooperlake)",
	.features = cooperlake_features,
	.versions = cooperlake_versions,
	.nversions = sizeof(cooperlake_versions) / sizeof(cooperlake_versions[0]),
	.default_version = 1,
};

/* Denverton: Intel Atom Processor (Denverton) */
static const char *const denverton_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "cx16", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "smep", "erms", "mpx", "rdseed", "smap", "clflushopt", "sha-ni",
	/* 07H.0:EDX */
	"spec-ctrl", "arch-capabilities", "ssbd",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "3dnowprefetch",
	/* IA32_ARCH_CAPABILITIES bits (cpu/msrs.h), as QEMU 7.2's Denverton */
	"rdctl-no", "skip-l1dfl-vmentry",
	NULL,
};

static const struct model_version denverton_versions[] = {
	{
		.version = 1,
		.qemu = "4.2",
	},
	{
		.version = 2,
		.qemu = "5.0",
		.note = "no MPX, no MONITOR",
		.props = (const struct model_prop[]) {
			{ "monitor", "off" },
			{ "mpx", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "6.1",
		.note = "XSAVES, no MPX, no MONITOR",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_denverton = {
	.name = "Denverton",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 95,
	.stepping = 1,
	.level = 0x15,
	.xlevel = 0x80000008,
	.model_id = "Intel Atom Processor (Denverton)",
	.features = denverton_features,
	.versions = denverton_versions,
	.nversions = sizeof(denverton_versions) / sizeof(denverton_versions[0]),
	.default_version = 1,
};

/* Snowridge: Intel Atom Processor (SnowRidge) */
static const char *const snowridge_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "cx16", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "smep", "erms", "mpx", "rdseed", "smap", "clflushopt", "clwb", "sha-ni",
	/* 07H.0:ECX */
	"umip", "gfni", "cldemote", "movdiri", "movdir64b",
	/* 07H.0:EDX */
	"spec-ctrl", "arch-capabilities", "core-capability", "ssbd",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "3dnowprefetch",
	/* IA32_CORE_CAPABILITY (cpu/msrs.h), as QEMU 7.2's Snowridge */
	"split-lock-detect",
	NULL,
};

static const struct model_version snowridge_versions[] = {
	{
		.version = 1,
		.qemu = "4.1",
	},
	{
		.version = 2,
		.qemu = "4.2",
		.props = (const struct model_prop[]) {
			{ "model-id", "Intel Atom Processor (Snowridge, no MPX)" },
			{ "mpx", "off" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "6.1",
		.note = "XSAVES, no MPX",
		.props = (const struct model_prop[]) {
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4,
		.qemu = "6.2",
		.note = "no split lock detect, no core-capability",
		.props = (const struct model_prop[]) {
			{ "split-lock-detect", "off" },
			{ "core-capability", "off" },
			{ NULL, NULL },
		},
	},
};

const struct model_family model_snowridge = {
	.name = "Snowridge",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 134,
	.stepping = 1,
	.level = 0x1b,
	.xlevel = 0x80000008,
	.model_id = "Intel Atom Processor (SnowRidge)",
	.features = snowridge_features,
	.versions = snowridge_versions,
	.nversions = sizeof(snowridge_versions) / sizeof(snowridge_versions[0]),
	.default_version = 1,
};

/* KnightsMill: Intel Xeon Phi Processor (Knights Mill) */
static const char *const knightsmill_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ss",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "sse4.1", "sse4.2", "x2apic", "movbe",
	"popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "avx512f", "rdseed", "adx",
	"avx512pf", "avx512er", "avx512cd",
	/* 07H.0:ECX */
	"avx512-vpopcntdq",
	/* 07H.0:EDX */
	"avx512-4vnniw", "avx512-4fmaps",
	/* 0DH.1:EAX */
	"xsaveopt",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "abm", "3dnowprefetch",
	NULL,
};

static const struct model_version knightsmill_versions[] = {
	{
		.version = 1,
		.qemu = "3.0",
	},
};

const struct model_family model_knightsmill = {
	.name = "KnightsMill",
	.vendor = "GenuineIntel",
	.family = 6,
	.model = 133,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x80000008,
	.model_id = "Intel Xeon Phi Processor (Knights Mill)",
	.features = knightsmill_features,
	.versions = knightsmill_versions,
	.nversions = sizeof(knightsmill_versions) / sizeof(knightsmill_versions[0]),
	.default_version = 1,
};
