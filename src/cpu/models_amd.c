/* SPDX-License-Identifier: MIT */
/*
 * AMD named models: QEMU 7.2's definitions (target/i386/cpu.c,
 * builtin_x86_defs[]), version 1 plus each version's property changes.
 * tests/e2e/test_qemu_models.py compares every version with the installed
 * qemu-system-x86_64's query-cpu-model-expansion.
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
	},
	{
		.version = 2,
		.alias = "EPYC-IBPB",
		.props = (const struct model_prop[]) {
			{ "ibpb", "on" },
			{ "model-id", "AMD EPYC Processor (with IBPB)" },
			{ NULL, NULL },
		},
	},
	{
		.version = 3,
		.props = (const struct model_prop[]) {
			{ "clzero", "on" },
			{ "model-id", "AMD EPYC Processor" },
			{ "perfctr-core", "on" },
			{ "xsaveerptr", "on" },
			{ "xsaves", "on" },
			{ NULL, NULL },
		},
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
	},
	{
		.version = 2,
		.props = (const struct model_prop[]) {
			{ "amd-ssbd", "on" },
			{ "ibrs", "on" },
			{ NULL, NULL },
		},
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
		.version = 1,
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
	.features = epyc_milan_features,
	.versions = epyc_milan_versions,
	.nversions = sizeof(epyc_milan_versions) / sizeof(epyc_milan_versions[0]),
	.default_version = 1,
};
