/* SPDX-License-Identifier: MIT */
/*
 * AMD (and Hygon) named models: QEMU 7.2's definitions (target/i386/cpu.c,
 * builtin_x86_defs[]), version 1 plus each version's property changes.
 * tests/e2e/test_qemu_models.py compares every version with the installed
 * qemu-system-x86_64's query-cpu-model-expansion. *
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

/* EPYC: AMD EPYC Processor */
static const char *const epyc_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "sse4.1", "sse4.2", "movbe",
	"popcnt", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "rdseed", "adx", "smap", "clflushopt",
	"sha-ni",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext",
	/* 8000000AH:EDX */
	"npt", "nrip-save",
	NULL,
};

static const struct model_version epyc_versions[] = {
	{
		.version = 1,
		.qemu = "2.11",
	},
	{
		.version = 2,
		.qemu = "2.12",
		.alias = "EPYC-IBPB",
		.props = (const struct model_prop[]) {
			{ "ibpb", "on" },
			{ "model-id", "AMD EPYC Processor (with IBPB)" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.qemu = "5.0",
		.props = (const struct model_prop[]) {
			{ "clzero", "on" },
			{ "model-id", "AMD EPYC Processor" },
			{ "perfctr-core", "on" },
			{ "xsaveerptr", "on" },
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 4, /* QEMU 8.1: caches as the hardware's (L3 not complex-indexed) */
		.qemu = "8.1",
		.props = (const struct model_prop[]) {
			{ "model-id", "AMD EPYC-v4 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_v4,
	},
	{
		/*
		 * QEMU 10.1: RAS (overflow-recov, succor) and the SVM bits nested
		 * guests use; caches corrected and with share levels
		 */
		.version = 5,
		.qemu = "10.1",
		.props = (const struct model_prop[]) {
			{ "overflow-recov", "on" },
			{ "succor", "on" },
			{ "lbrv", "on" },
			{ "tsc-scale", "on" },
			{ "vmcb-clean", "on" },
			{ "flushbyasid", "on" },
			{ "pause-filter", "on" },
			{ "pfthreshold", "on" },
			{ "v-vmsave-vmload", "on" },
			{ "vgif", "on" },
			{ "model-id", "AMD EPYC-v5 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_v5,
	},
};

const struct model_family model_epyc = {
	.name = "EPYC",
	.vendor = "AuthenticAMD",
	.family = 23,
	.model = 1,
	.stepping = 2,
	.level = 0xd,
	.xlevel = 0x8000001e,
	.model_id = "AMD EPYC Processor",
	.cache = &cpu_cache_epyc, /* QEMU: .cache_info = &epyc_cache_info */
	.features = epyc_features,
	.versions = epyc_versions,
	.nversions = sizeof(epyc_versions) / sizeof(epyc_versions[0]),
	.default_version = 1,
};

/* EPYC-Rome: AMD EPYC-Rome Processor */
static const char *const epyc_rome_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "sse4.1", "sse4.2", "movbe",
	"popcnt", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "rdseed", "adx", "smap", "clflushopt", "clwb",
	"sha-ni",
	/* 07H.0:ECX */
	"umip", "rdpid",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext", "perfctr-core",
	/* 80000008H:EBX */
	"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "amd-stibp",
	/* 8000000AH:EDX */
	"npt", "nrip-save",
	NULL,
};

static const struct model_version epyc_rome_versions[] = {
	{
		.version = 1,
		.qemu = "5.0",
	},
	{
		.version = 2,
		.qemu = "6.0",
		.props = (const struct model_prop[]) {
			{ "amd-ssbd", "on" },
			{ "ibrs", "on" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3, /* QEMU 8.1: caches as the hardware's (L3 not complex-indexed) */
		.qemu = "8.1",
		.props = (const struct model_prop[]) {
			{ "model-id", "AMD EPYC-Rome-v3 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_rome_v3,
	},
	{
		.version = 4, /* QEMU 9.0: erratum 1386, no XSAVES */
		.qemu = "9.0",
		.props = (const struct model_prop[]) {
			{ "model-id", "AMD EPYC-Rome-v4 Processor (no XSAVES)" },
			{ "xsaves", "off" },
			{ NULL, NULL },
		},
	},
	{
		/*
		 * QEMU 10.1: RAS (overflow-recov, succor) and the SVM bits nested
		 * guests use; caches corrected and with share levels
		 */
		.version = 5,
		.qemu = "10.1",
		.props = (const struct model_prop[]) {
			{ "overflow-recov", "on" },
			{ "succor", "on" },
			{ "lbrv", "on" },
			{ "tsc-scale", "on" },
			{ "vmcb-clean", "on" },
			{ "flushbyasid", "on" },
			{ "pause-filter", "on" },
			{ "pfthreshold", "on" },
			{ "v-vmsave-vmload", "on" },
			{ "vgif", "on" },
			{ "model-id", "AMD EPYC-Rome-v5 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_rome_v5,
	},
};

const struct model_family model_epyc_rome = {
	.name = "EPYC-Rome",
	.vendor = "AuthenticAMD",
	.family = 23,
	.model = 49,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x8000001e,
	.model_id = "AMD EPYC-Rome Processor",
	.cache = &cpu_cache_epyc_rome, /* QEMU: .cache_info = &epyc_rome_cache_info */
	.features = epyc_rome_features,
	.versions = epyc_rome_versions,
	.nversions = sizeof(epyc_rome_versions) / sizeof(epyc_rome_versions[0]),
	.default_version = 1,
};

/* EPYC-Milan: AMD EPYC-Milan Processor */
static const char *const epyc_milan_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2",
	"movbe", "popcnt", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "rdseed", "adx", "smap",
	"clflushopt", "clwb", "sha-ni",
	/* 07H.0:ECX */
	"umip", "pku", "rdpid",
	/* 07H.0:EDX */
	"fsrm",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext", "perfctr-core",
	/* 80000008H:EBX */
	"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs", "amd-stibp", "amd-ssbd",
	/* 8000000AH:EDX */
	"npt", "nrip-save", "svme-addr-chk",
	NULL,
};

static const struct model_version epyc_milan_versions[] = {
	{
		.version = 1, /* QEMU 6.0 */
		.qemu = "6.0",
	},
	{
		.version = 2, /* QEMU 8.1; caches: L3 without complex indexing */
		.qemu = "8.1",
		.props = (const struct model_prop[]) {
			{ "model-id", "AMD EPYC-Milan-v2 Processor" },
			{ "vaes", "on" },
			{ "vpclmulqdq", "on" },
			{ "stibp-always-on", "on" },
			{ "amd-psfd", "on" },
			{ "no-nested-data-bp", "on" },
			{ "lfence-always-serializing", "on" },
			{ "null-sel-clr-base", "on" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_milan_v2,
	},
	{
		/*
		 * QEMU 10.1: RAS (overflow-recov, succor) and the SVM bits nested
		 * guests use; caches corrected and with share levels
		 */
		.version = 3,
		.qemu = "10.1",
		.props = (const struct model_prop[]) {
			{ "overflow-recov", "on" },
			{ "succor", "on" },
			{ "lbrv", "on" },
			{ "tsc-scale", "on" },
			{ "vmcb-clean", "on" },
			{ "flushbyasid", "on" },
			{ "pause-filter", "on" },
			{ "pfthreshold", "on" },
			{ "v-vmsave-vmload", "on" },
			{ "vgif", "on" },
			{ "model-id", "AMD EPYC-Milan-v3 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_milan_v3,
	},
};

const struct model_family model_epyc_milan = {
	.name = "EPYC-Milan",
	.vendor = "AuthenticAMD",
	.family = 25,
	.model = 1,
	.stepping = 1,
	.level = 0xd,
	.xlevel = 0x8000001e,
	.model_id = "AMD EPYC-Milan Processor",
	.cache = &cpu_cache_epyc_milan, /* QEMU: .cache_info = &epyc_milan_cache_info */
	.features = epyc_milan_features,
	.versions = epyc_milan_versions,
	.nversions = sizeof(epyc_milan_versions) / sizeof(epyc_milan_versions[0]),
	.default_version = 1,
};

/* EPYC-Genoa-v1: QEMU 8.1 (Zen 4, family 25 model 17). */
static const char *const epyc_genoa_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "movbe",
	"popcnt", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "avx512f", "avx512dq",
	"rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb", "avx512cd", "sha-ni",
	"avx512bw", "avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512vnni",
	"avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid",
	/* 07H.0:EDX */
	"fsrm",
	/* 07H.1:EAX */
	"avx512-bf16",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext", "perfctr-core",
	/* 80000008H:EBX */
	"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs", "amd-stibp", "stibp-always-on",
	"amd-ssbd", "amd-psfd",
	/* 80000021H:EAX */
	"no-nested-data-bp", "lfence-always-serializing", "null-sel-clr-base", "auto-ibrs",
	/* 8000000AH:EDX */
	"npt", "nrip-save", "vnmi", "svme-addr-chk",
	NULL,
};

static const struct model_version epyc_genoa_versions[] = {
	{
		.version = 1, /* QEMU 8.1 */
		.qemu = "8.1",
	},
	{
		/*
		 * QEMU 10.1: RAS (overflow-recov, succor) and the SVM bits nested
		 * guests use; caches corrected and with share levels
		 */
		.version = 2,
		.qemu = "10.1",
		.props = (const struct model_prop[]) {
			{ "overflow-recov", "on" },
			{ "succor", "on" },
			{ "lbrv", "on" },
			{ "tsc-scale", "on" },
			{ "vmcb-clean", "on" },
			{ "flushbyasid", "on" },
			{ "pause-filter", "on" },
			{ "pfthreshold", "on" },
			{ "v-vmsave-vmload", "on" },
			{ "vgif", "on" },
			{ "fs-gs-base-ns", "on" },
			{ "perfmon-v2", "on" },
			{ "model-id", "AMD EPYC-Genoa-v2 Processor" },
			{ NULL, NULL },
		},
		.cache = &cpu_cache_epyc_genoa_v2,
	},
};

const struct model_family model_epyc_genoa = {
	.name = "EPYC-Genoa",
	.vendor = "AuthenticAMD",
	.family = 25,
	.model = 17,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x80000022,
	.model_id = "AMD EPYC-Genoa Processor",
	.cache = &cpu_cache_epyc_genoa, /* QEMU: .cache_info = &epyc_genoa_cache_info */
	.features = epyc_genoa_features,
	.versions = epyc_genoa_versions,
	.nversions = sizeof(epyc_genoa_versions) / sizeof(epyc_genoa_versions[0]),
	.default_version = 1,
};

/*
 * EPYC-Turin-v1: QEMU 10.1 (Zen 5, family 26 model 0).  Genoa's features
 * plus movdiri, movdir64b, avx512-vp2intersect, avx-vnni, prefetchi, sbpb,
 * ibpb-brtype and srso-user-kernel-no, with Genoa-v2's RAS and SVM bits.
 */
static const char *const epyc_turin_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2", "movbe",
	"popcnt", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "avx512f", "avx512dq",
	"rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb", "avx512cd", "sha-ni",
	"avx512bw", "avx512vl",
	/* 07H.0:ECX */
	"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512vnni",
	"avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "movdiri", "movdir64b",
	/* 07H.0:EDX */
	"fsrm", "avx512-vp2intersect",
	/* 07H.1:EAX */
	"avx-vnni", "avx512-bf16",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1", "xsaves",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext", "perfctr-core",
	/* 80000007H:EBX */
	"overflow-recov", "succor",
	/* 80000008H:EBX */
	"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs", "amd-stibp", "stibp-always-on",
	"amd-ssbd", "amd-psfd",
	/* 80000021H:EAX */
	"no-nested-data-bp", "fs-gs-base-ns", "lfence-always-serializing", "null-sel-clr-base",
	"auto-ibrs", "prefetchi", "sbpb", "ibpb-brtype", "srso-user-kernel-no",
	/* 80000022H:EAX */
	"perfmon-v2",
	/* 8000000AH:EDX */
	"npt", "lbrv", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid", "pause-filter",
	"pfthreshold", "v-vmsave-vmload", "vgif", "vnmi", "svme-addr-chk",
	NULL,
};

static const struct model_version epyc_turin_versions[] = {
	{
		.version = 1, /* QEMU 10.1 */
		.qemu = "10.1",
	},
};

const struct model_family model_epyc_turin = {
	.name = "EPYC-Turin",
	.vendor = "AuthenticAMD",
	.family = 26,
	.model = 0,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x80000022,
	.model_id = "AMD EPYC-Turin Processor",
	.cache = &cpu_cache_epyc_turin, /* QEMU: .cache_info = &epyc_turin_cache_info */
	.features = epyc_turin_features,
	.versions = epyc_turin_versions,
	.nversions = sizeof(epyc_turin_versions) / sizeof(epyc_turin_versions[0]),
	.default_version = 1,
};

/* QEMU 7.2's older AMD models, and Hygon's Zen-based Dhyana. */

/* athlon: QEMU Virtual CPU version 2.5+ */
static const char *const athlon_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"hypervisor",
	/* 80000001H:EDX */
	"mmxext", "3dnowext", "3dnow",
	NULL,
};

static const struct model_version athlon_versions[] = {
	{
		.version = 1,
		.qemu = "0.10",
	},
};

const struct model_family model_athlon = {
	.name = "athlon",
	.vendor = "AuthenticAMD",
	.family = 6,
	.model = 2,
	.stepping = 3,
	.level = 0x2,
	.xlevel = 0x80000008,
	.model_id = "QEMU Virtual CPU version 2.5+",
	.features = athlon_features,
	.versions = athlon_versions,
	.nversions = sizeof(athlon_versions) / sizeof(athlon_versions[0]),
	.default_version = 1,
};

/* phenom: AMD Phenom(tm) 9550 Quad-Core Processor */
static const char *const phenom_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "monitor", "cx16", "popcnt", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm", "3dnowext", "3dnow",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "abm", "sse4a",
	/* 8000000AH:EDX */
	"npt",
	NULL,
};

static const struct model_version phenom_versions[] = {
	{
		.version = 1,
		.qemu = "0.10",
	},
};

const struct model_family model_phenom = {
	.name = "phenom",
	.vendor = "AuthenticAMD",
	.family = 16,
	.model = 2,
	.stepping = 3,
	.level = 0x5,
	.xlevel = 0x8000001a,
	.model_id = "AMD Phenom(tm) 9550 Quad-Core Processor",
	.features = phenom_features,
	.versions = phenom_versions,
	.nversions = sizeof(phenom_versions) / sizeof(phenom_versions[0]),
	.default_version = 1,
};

/* Opteron_G1: AMD Opteron 240 (Gen 1 Class Opteron) */
static const char *const opteron_g1_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	NULL,
};

static const struct model_version opteron_g1_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_opteron_g1 = {
	.name = "Opteron_G1",
	.vendor = "AuthenticAMD",
	.family = 15,
	.model = 6,
	.stepping = 1,
	.level = 0x5,
	.xlevel = 0x80000008,
	.model_id = "AMD Opteron 240 (Gen 1 Class Opteron)",
	.features = opteron_g1_features,
	.versions = opteron_g1_versions,
	.nversions = sizeof(opteron_g1_versions) / sizeof(opteron_g1_versions[0]),
	.default_version = 1,
};

/* Opteron_G2: AMD Opteron 22xx (Gen 2 Class Opteron) */
static const char *const opteron_g2_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "cx16", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm",
	NULL,
};

static const struct model_version opteron_g2_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_opteron_g2 = {
	.name = "Opteron_G2",
	.vendor = "AuthenticAMD",
	.family = 15,
	.model = 6,
	.stepping = 1,
	.level = 0x5,
	.xlevel = 0x80000008,
	.model_id = "AMD Opteron 22xx (Gen 2 Class Opteron)",
	.features = opteron_g2_features,
	.versions = opteron_g2_versions,
	.nversions = sizeof(opteron_g2_versions) / sizeof(opteron_g2_versions[0]),
	.default_version = 1,
};

/* Opteron_G3: AMD Opteron 23xx (Gen 3 Class Opteron) */
static const char *const opteron_g3_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "monitor", "cx16", "popcnt", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "abm", "sse4a", "misalignsse",
	NULL,
};

static const struct model_version opteron_g3_versions[] = {
	{
		.version = 1,
		.qemu = "0.13",
	},
};

const struct model_family model_opteron_g3 = {
	.name = "Opteron_G3",
	.vendor = "AuthenticAMD",
	.family = 16,
	.model = 2,
	.stepping = 3,
	.level = 0x5,
	.xlevel = 0x80000008,
	.model_id = "AMD Opteron 23xx (Gen 3 Class Opteron)",
	.features = opteron_g3_features,
	.versions = opteron_g3_versions,
	.nversions = sizeof(opteron_g3_versions) / sizeof(opteron_g3_versions[0]),
	.default_version = 1,
};

/* Opteron_G4: AMD Opteron 62xx class CPU */
static const char *const opteron_g4_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "cx16", "sse4.1", "sse4.2", "popcnt", "aes", "xsave", "avx",
	"hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "abm", "sse4a", "misalignsse", "3dnowprefetch", "xop", "fma4",
	/* 8000000AH:EDX */
	"npt", "nrip-save",
	NULL,
};

static const struct model_version opteron_g4_versions[] = {
	{
		.version = 1,
		.qemu = "1.1",
	},
};

const struct model_family model_opteron_g4 = {
	.name = "Opteron_G4",
	.vendor = "AuthenticAMD",
	.family = 21,
	.model = 1,
	.stepping = 2,
	.level = 0xd,
	.xlevel = 0x8000001a,
	.model_id = "AMD Opteron 62xx class CPU",
	.features = opteron_g4_features,
	.versions = opteron_g4_versions,
	.nversions = sizeof(opteron_g4_versions) / sizeof(opteron_g4_versions[0]),
	.default_version = 1,
};

/* Opteron_G5: AMD Opteron 63xx class CPU */
static const char *const opteron_g5_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "pclmulqdq", "ssse3", "fma", "cx16", "sse4.1", "sse4.2", "popcnt", "aes", "xsave",
	"avx", "f16c", "hypervisor",
	/* 80000001H:EDX */
	"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "abm", "sse4a", "misalignsse", "3dnowprefetch", "xop", "fma4", "tbm",
	/* 8000000AH:EDX */
	"npt", "nrip-save",
	NULL,
};

static const struct model_version opteron_g5_versions[] = {
	{
		.version = 1,
		.qemu = "1.3",
	},
};

const struct model_family model_opteron_g5 = {
	.name = "Opteron_G5",
	.vendor = "AuthenticAMD",
	.family = 21,
	.model = 2,
	.stepping = 0,
	.level = 0xd,
	.xlevel = 0x8000001a,
	.model_id = "AMD Opteron 63xx class CPU",
	.features = opteron_g5_features,
	.versions = opteron_g5_versions,
	.nversions = sizeof(opteron_g5_versions) / sizeof(opteron_g5_versions[0]),
	.default_version = 1,
};

/* Dhyana: Hygon Dhyana Processor */
static const char *const dhyana_features[] = {
	/* 01H:EDX */
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
	/* 01H:ECX */
	"pni", "monitor", "ssse3", "fma", "cx16", "sse4.1", "sse4.2", "movbe", "popcnt", "xsave",
	"avx", "f16c", "rdrand", "hypervisor",
	/* 06H:EAX */
	"arat",
	/* 07H.0:EBX */
	"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "rdseed", "adx", "smap", "clflushopt",
	/* 0DH.1:EAX */
	"xsaveopt", "xsavec", "xgetbv1",
	/* 80000001H:EDX */
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm",
	/* 80000001H:ECX */
	"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw",
	"topoext",
	/* 80000008H:EBX */
	"ibpb",
	/* 8000000AH:EDX */
	"npt", "nrip-save",
	NULL,
};

static const struct model_version dhyana_versions[] = {
	{
		.version = 1,
		.qemu = "4.1",
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

const struct model_family model_dhyana = {
	.name = "Dhyana",
	.vendor = "HygonGenuine",
	.family = 24,
	.model = 0,
	.stepping = 1,
	.level = 0xd,
	.xlevel = 0x8000001e,
	.model_id = "Hygon Dhyana Processor",
	.cache = &cpu_cache_epyc, /* QEMU: .cache_info = &epyc_cache_info */
	.features = dhyana_features,
	.versions = dhyana_versions,
	.nversions = sizeof(dhyana_versions) / sizeof(dhyana_versions[0]),
	.default_version = 1,
};
