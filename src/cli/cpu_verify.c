/* SPDX-License-Identifier: MIT */
/*
 * `skyvm cpu verify`: boot the probe guest with a CPU model, decode what
 * each vCPU saw, compare it with the table skyvm set (verify/verify.h) and
 * print the differences and the PV checks.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cpu/msrs.h"
#include "cpu/spec.h"
#include "exitcodes.h"
#include "util/err.h"
#include "verify/guest_run.h"
#include "verify/verify.h"

#define VERIFY_MAX_CPUS 288
#define VERIFY_DEFAULT_TIMEOUT_S 120.0
#define VERIFY_DEFAULT_STEAL_US 20000
#define VERIFY_MAX_STEAL_US 60000000ULL

static const char cpu_verify_help[] =
	"Usage: skyvm cpu verify MODEL[,OPTION...] [--cpus N] [--smp TOPOLOGY] [--json]\n"
	"                        [--steal-us N] [--timeout SECONDS] [--no-sandbox]\n"
	"\n"
	"Boot the embedded probe guest with this CPU model and check, from inside the\n"
	"guest, that each vCPU sees exactly the CPUID table skyvm set: leaf by leaf,\n"
	"vCPU by vCPU.  Every difference is named, e.g.\n"
	"  guest sees avx2 although the model disables it (the host forces it)\n"
	"Fields that change at run time by definition (OSXSAVE, OSPKE, APIC ids, xsave\n"
	"sizes) are ignored and listed.  The KVM PV features are checked too: kvmclock\n"
	"(version even, multiplier set, time advancing, stable flag when advertised),\n"
	"the wall clock, steal time (read before and after a busy loop), PV EOI, and\n"
	"that writing the MSR of a PV feature the model hides raises #GP.  The feature\n"
	"MSRs (ARCH_CAPABILITIES, CORE_CAPABILITY) are read with RDMSR in the guest:\n"
	"where its CPUID has the MSR's bit and skyvm wrote it, the guest must read\n"
	"exactly that, e.g. a difference\n"
	"  guest lacks MSR(10AH).mds-no although the model enables it\n"
	"\n"
	"MODEL and OPTIONs are those of 'skyvm run --cpu' (see 'skyvm cpu show --help').\n"
	"\n"
	"Options:\n"
	"  --cpus N              vCPUs (default 1)\n"
	"  --smp sockets=S,cores=C,threads=T\n"
	"                        topology (any subset; missing ones are derived)\n"
	"  --json                one JSON document (docs/schemas/cpu-verify.schema.json)\n"
	"  --steal-us N          busy time between the two steal-time readings, in\n"
	"                        microseconds (default 20000)\n"
	"  --timeout SECONDS     give up on a probe that has not finished (default 120)\n"
	"  --no-sandbox          run the probe VM without the seccomp filter that\n"
	"                        otherwise confines skyvm once the VM is set up, as\n"
	"                        'skyvm run' does (debugging only; warns; see\n"
	"                        docs/sandbox.md)\n"
	"  -h, --help            this text\n"
	"\n"
	"Environment: SKYVM_KVM_DEVICE overrides the KVM device path (default /dev/kvm).\n"
	"\n"
	"Exit status: 0 the guest saw exactly its table and feature MSRs and every PV\n"
	"check offered passed; 3 a difference or a failed PV check; 1 set-up failed (no usable\n"
	"/dev/kvm, unknown model or feature, the probe did not finish); 2 bad command\n"
	"line; 200 the sandbox stopped a forbidden system call (the report on stderr\n"
	"names it).  docs/verify.md describes the rules.\n";

enum { OPT_CPUS = 256, OPT_SMP, OPT_JSON, OPT_STEAL_US, OPT_TIMEOUT, OPT_NO_SANDBOX };

static const struct option verify_options[] = {
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "smp", required_argument, NULL, OPT_SMP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "steal-us", required_argument, NULL, OPT_STEAL_US },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void print_text(const char *spec, const struct verify_result *vr,
		       const struct guest_run_result *run)
{
	printf("skyvm cpu verify: %s on %u vCPU%s (probe ran %.2f s)\n", spec, vr->nvcpus,
	       vr->nvcpus == 1 ? "" : "s", run->seconds);
	printf("ignored, dynamic by definition:");
	for (size_t i = 0; i < verify_ignored_count; i++)
		printf("%s %s (leaf 0x%x)", i ? "," : "", verify_ignored[i].name,
		       verify_ignored[i].leaf);
	printf("\n");
	for (unsigned i = 0; i < vr->nvcpus; i++) {
		const struct verify_vcpu *v = &vr->vcpu[i];
		const struct guest_run_vcpu *g = &run->vcpu[i];
		unsigned unprobed = 0;

		printf("\nvCPU %u: %u CPUID records compared, %zu difference%s%s\n", i, v->records,
		       v->ndiffs, v->ndiffs == 1 ? "" : "s",
		       v->complete ? "" : " (the probe's stream is incomplete)");
		if (!v->complete && g->decode_error[0])
			printf("  probe stream: %s\n", g->decode_error);
		for (size_t k = 0; k < vr->ndiffs; k++) {
			char line[256];

			if (vr->diffs[k].vcpu != i)
				continue;
			verify_diff_describe(&vr->diffs[k], line, sizeof(line));
			printf("  %s\n", line);
		}
		for (size_t k = 0; k < vr->nunprobed; k++) {
			if (vr->unprobed[k].vcpu != i)
				continue;
			printf("%s 0x%x.%u", unprobed++ ? "," : "  not read by the guest:",
			       vr->unprobed[k].leaf, vr->unprobed[k].subleaf);
		}
		if (unprobed)
			printf("\n");
		for (size_t k = 0; k < v->nmsrs; k++) {
			char text[1024];

			verify_msr_describe(&v->msrs[k], text, sizeof(text));
			for (char *l = text, *nl; *l; l = nl ? nl + 1 : l + strlen(l)) {
				nl = strchr(l, '\n');
				printf("  %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
				if (!nl)
					break;
			}
		}
		for (int c = 0; c < VERIFY_PV_COUNT; c++)
			printf("  %-21s %-12s %s\n", verify_pv_check_name((enum verify_pv_check)c),
			       verify_pv_status_name(v->pv[c].status), v->pv[c].detail);
		for (size_t k = 0; k < v->nerrors; k++)
			printf("  probe error: %s (0x%x)\n", probe_error_name(v->errors[k].code),
			       v->errors[k].arg);
		if (v->steal_valid)
			printf("  steal time: +%llu ns over %u us busy in the guest",
			       (unsigned long long)(v->steal_end_ns >= v->steal_start_ns
							    ? v->steal_end_ns - v->steal_start_ns
							    : 0),
			       v->steal_busy_us);
		else
			printf("  steal time: not registered");
		if (g->vmm_steal_valid)
			printf("; %llu us in all when the VM ended\n",
			       (unsigned long long)(g->vmm_steal_ns / 1000));
		else
			printf("\n");
	}
	printf("\nverdict: %s (%zu CPUID difference%s, %zu feature MSR%s differ%s; PV checks "
	       "%s)\n", vr->identical && vr->pv_ok ? "identical" : "different", vr->ndiffs,
	       vr->ndiffs == 1 ? "" : "s", vr->nmsr_diffs, vr->nmsr_diffs == 1 ? "" : "s",
	       vr->nmsr_diffs == 1 ? "s" : "", vr->pv_ok ? "passed" : "FAILED");
}

static int print_json(const char *spec, const struct verify_result *vr,
		      const struct guest_run_result *run)
{
	json_t *doc = verify_result_json(vr, spec);

	if (!doc)
		return cli_error("cannot build the JSON document");
	json_object_set_new(doc, "run", json_pack("{s:i, s:s, s:f}", "exit_code", run->exit_code,
						  "reason", run->reason, "seconds", run->seconds));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
	return 0;
}

static int verify(const char *spec, const struct guest_run_config *cfg, bool json)
{
	struct guest_run_result run;
	struct verify_vcpu_input *in = NULL;
	struct verify_result vr;
	int code = EXIT_ERROR;

	if (guest_run(cfg, &run) < 0) {
		code = cli_error("%s", err_msg());
		guest_run_free(&run);
		return code;
	}
	if (run.exit_code != EXIT_OK) {
		/* The probe ends with status 0 once every vCPU has reported. */
		code = cli_error("the probe guest did not finish: %s (exit %d)", run.reason,
				 run.exit_code);
		goto out;
	}
	in = calloc(run.ncpus, sizeof(*in));
	if (!in) {
		code = cli_error("out of memory");
		goto out;
	}
	for (unsigned i = 0; i < run.ncpus; i++)
		in[i] = (struct verify_vcpu_input){
			.table = &run.vcpu[i].table,
			.written = run.written,
			.report = &run.vcpu[i].report,
			.report_complete = run.vcpu[i].report_complete,
			.host_no_master_clock = run.clock_flags_valid && !run.master_clock,
		};
	if (verify_compare(in, run.ncpus, &vr) < 0) {
		code = cli_error("%s", err_msg());
		goto out;
	}
	if (json) {
		if (print_json(spec, &vr, &run) < 0)
			code = EXIT_ERROR;
		else
			code = vr.identical && vr.pv_ok ? EXIT_OK : EXIT_CPU_MISMATCH;
	} else {
		print_text(spec, &vr, &run);
		code = vr.identical && vr.pv_ok ? EXIT_OK : EXIT_CPU_MISMATCH;
	}
	verify_result_free(&vr);
out:
	free(in);
	guest_run_free(&run);
	return code;
}

static int cmd_cpu_verify(int argc, char **argv)
{
	struct guest_run_config cfg = {
		.guest_name = "probe",
		.ncpus = 1,
		.timeout_s = VERIFY_DEFAULT_TIMEOUT_S,
		.console = "none",
		.warn = stderr,
	};
	static struct sandbox_config sandbox;
	unsigned long long steal_us = VERIFY_DEFAULT_STEAL_US;
	char cmdline[160];
	bool json = false;
	const char *spec;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", verify_options, NULL)) != -1) {
		unsigned long long v;
		char *end;

		switch (opt) {
		case 'h':
			fputs(cpu_verify_help, stdout);
			return EXIT_OK;
		case OPT_CPUS:
			if (!cli_parse_uint(optarg, VERIFY_MAX_CPUS, &v) || v == 0)
				return cli_usage_error("cpu verify",
						       "--cpus '%s': expected 1 to %d", optarg,
						       VERIFY_MAX_CPUS);
			cfg.ncpus = (unsigned)v;
			break;
		case OPT_SMP:
			if (cli_parse_smp(optarg, VERIFY_MAX_CPUS, &cfg.topo) < 0)
				return cli_usage_error("cpu verify", "--smp '%s': expected "
						       "sockets=S,cores=C,threads=T with positive "
						       "numbers", optarg);
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_STEAL_US:
			if (!cli_parse_uint(optarg, VERIFY_MAX_STEAL_US, &v))
				return cli_usage_error("cpu verify",
						       "--steal-us '%s': expected 0 to %llu",
						       optarg, VERIFY_MAX_STEAL_US);
			steal_us = v;
			break;
		case OPT_TIMEOUT:
			cfg.timeout_s = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg.timeout_s > 0) || cfg.timeout_s > 1e7)
				return cli_usage_error("cpu verify", "--timeout '%s': expected "
						       "seconds > 0", optarg);
			break;
		case OPT_NO_SANDBOX:
			sandbox.disabled = true;
			break;
		case ':':
			return cli_usage_error("cpu verify", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("cpu verify", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("cpu verify", "a CPU model is required (e.g. host, "
				       "Skylake-Server,-avx512f)");
	if (optind + 1 < argc)
		return cli_usage_error("cpu verify", "unexpected argument '%s'", argv[optind + 1]);
	spec = argv[optind];
	{
		const struct cpu_topology *t = &cfg.topo;

		if (t->sockets && t->cores && t->threads &&
		    (unsigned long long)t->sockets * t->cores * t->threads < cfg.ncpus)
			return cli_usage_error("cpu verify", "--smp gives fewer CPU slots than "
					       "--cpus %u", cfg.ncpus);
	}
	if (cli_check_cpu_spec("", spec) < 0)
		return EXIT_ERROR;
	if (sandbox.disabled)
		fprintf(stderr, "%s\n", sandbox_disabled_warning);
	{
		/* The feature MSRs the feature table models: the probe reads each (cpu/msrs.h) */
		uint32_t msrs[CPU_FEATURE_MSRS_MAX];
		size_t n = cpu_feature_msr_indices(msrs, CPU_FEATURE_MSRS_MAX);
		size_t len = (size_t)snprintf(cmdline, sizeof(cmdline), "steal-us=%llu", steal_us);

		for (size_t k = 0; k < n && len < sizeof(cmdline); k++)
			len += (size_t)snprintf(cmdline + len, sizeof(cmdline) - len, "%s0x%x",
						k ? "," : " feature-msrs=", msrs[k]);
		if (len >= sizeof(cmdline))
			return cli_error("the probe's command line is too long");
	}
	cfg.sandbox = &sandbox;
	cfg.cpu_spec = spec;
	cfg.cmdline = cmdline;
	return verify(spec, &cfg, json);
}

CLI_COMMAND("cpu verify", cmd_cpu_verify,
	    "boot the probe guest: does each vCPU see exactly its CPU model?");
