/* SPDX-License-Identifier: MIT */
/*
 * `skyvm host-check`: what this host's KVM does to a guest, found by
 * booting small embedded guests, and what a guest therefore needs here.
 *
 *   (a) forced CPUID bits: the probe guest with `host` minus every bit of
 *       leaf 1, leaf 7 and 0xD.1 the model may hide (the x86-64 baseline
 *       and the hypervisor bit stay: every 64-bit kernel and the probe's
 *       own KVM detection need them); whatever the guest still sees, the
 *       host forces (cpu verify's comparison, verify/verify.h).
 *   (b) instructions at CPL0: the hostcheck guest, one short VM per
 *       instruction, classified by how the VM ended.
 *   (c) system calls: the hostcheck guest's SYSCALL from CPL3.
 * From these: a kernel command line and CPU model options that keep a
 * Linux guest away from what fails (docs/verify.md, "host-check").
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cpu/cpu.h"
#include "cpu/host.h"
#include "exitcodes.h"
#include "guest/hostcheck/protocol.h"
#include "kvm/kvm.h"
#include "util/err.h"
#include "verify/guest_run.h"
#include "verify/host_needs.h"
#include "verify/verify.h"

#define PROBE_TIMEOUT_S 120.0
#define INSN_TIMEOUT_S 20.0
#define HANG_TIMEOUT_S 3.0 /* vmcall never returns on a PVM host: keep the wait short */
#define SYSCALL_TIMEOUT_S 20.0
#define MAX_FORCED 256
#define LIST_MAX 2048

static const char host_check_help[] =
	"Usage: skyvm host-check [--json] [--no-sandbox]\n"
	"\n"
	"Probe this host's KVM with small embedded guests and print what a guest needs\n"
	"here:\n"
	"  - which CPUID bits the host forces (the probe guest with every bit of leaves\n"
	"    1, 7 and 0xD.1 hidden that a model may hide, save the x86-64 baseline and\n"
	"    the hypervisor bit: what the guest still sees, the host forces);\n"
	"  - which instructions KVM cannot execute in guest kernel mode (one short VM\n"
	"    per instruction: ok, completed by skyvm, KVM internal error, #UD, hang);\n"
	"  - whether guest system calls work (SYSCALL from CPL3 reaching CPL0).\n"
	"From these it derives a Linux command line (e.g. 'noxsave clearcpuid=popcnt')\n"
	"and CPU model options (e.g. '-cx16') that keep a guest away from what fails.\n"
	"\n"
	"Options:\n"
	"  --json        one JSON document (docs/schemas/host-check.schema.json)\n"
	"  --no-sandbox  run the VMs without the seccomp filter that otherwise\n"
	"                confines skyvm once they are created, as 'skyvm run' does\n"
	"                (debugging only; warns; see docs/sandbox.md)\n"
	"  -h, --help    this text\n"
	"\n"
	"Environment: SKYVM_KVM_DEVICE overrides the KVM device path (default /dev/kvm).\n"
	"\n"
	"Exit status: 0 checked (whatever was found); 1 no usable /dev/kvm or a check\n"
	"could not be set up; 2 bad command line; 200 the sandbox stopped a forbidden\n"
	"system call (the report on stderr names it).\n";

/* ---- what is checked */

/* The feature words whose bits (a) hides, and the bits it keeps. */
static const enum feature_word hideable_words[] = {
	FW_1_EDX, FW_1_ECX, FW_7_0_EBX, FW_7_0_ECX, FW_7_0_EDX,
	FW_7_1_EAX, FW_7_1_EDX, FW_7_2_EDX, FW_D_1_EAX,
};

/* x86-64's baseline (what every 64-bit kernel assumes), and KVM detection. */
static const char *const kept_features[] = {
	"fpu", "tsc", "msr", "pae", "cx8", "apic", "pge", "cmov", "pat", "pse",
	"fxsr", "mmx", "sse", "sse2", "hypervisor",
};

struct insn_result {
	enum insn_status status;
	char status_name[32];  /* "ok", "#UD", "#GP", ... */
	int exit_code;
	char reason[512];
	double seconds;
	char emulated[128];    /* "int3 x1" */
	bool offered;          /* the guest's CPUID shows the gating feature */
	bool needs_action;     /* a guest must avoid it (options below) */
};

struct host_report {
	struct kvm kvm;
	const char *device;
	bool hypercalls_hang;
	unsigned supported_entries;
	/* (a) */
	char *hide_spec;
	char hidden[LIST_MAX];         /* the features (a) hid, comma-separated */
	bool forced_ran;
	char forced_error[1024];
	size_t nforced;
	const struct cpu_feature *forced[MAX_FORCED];
	json_t *forced_registers;      /* descriptions of non-feature differences */
	json_t *cleared;               /* features the host hides although the model sets them */
	struct cpuid_table host_table; /* the `host` model's vCPU 0 table */
	/* (b) */
	struct insn_result insn[HOST_INSN_COUNT];
	/* (c) */
	bool syscalls_work;
	char syscall_detail[1024];
	struct host_needs needs; /* derived */
};

static bool is_forced(const struct host_report *h, const struct cpu_feature *f)
{
	for (size_t i = 0; i < h->nforced; i++)
		if (!strcmp(h->forced[i]->name, f->name))
			return true;
	return false;
}

/* ---- (a) forced CPUID bits */

static bool kept(const struct cpu_feature *f)
{
	for (size_t i = 0; i < sizeof(kept_features) / sizeof(kept_features[0]); i++)
		if (!strcmp(f->name, kept_features[i]))
			return true;
	return false;
}

static bool hideable(const struct cpu_feature *f)
{
	for (size_t i = 0; i < sizeof(hideable_words) / sizeof(hideable_words[0]); i++)
		if (f->word == hideable_words[i])
			return !kept(f);
	return false;
}

/* "host,-a,-b,...": every hideable feature the `host` model enables. */
static int build_hide_spec(struct host_report *h, const struct cpu_result *host)
{
	size_t cap = 16 + cpu_features_count * 24, len;

	h->hide_spec = malloc(cap);
	if (!h->hide_spec)
		return err_set("out of memory");
	len = (size_t)snprintf(h->hide_spec, cap, "host");
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		if (!hideable(f) || !featureset_has(&host->enabled, f) ||
		    cpu_feature_find(f->name) != f)
			continue;
		len += (size_t)snprintf(h->hide_spec + len, cap - len, ",-%s", f->name);
		host_list_add(h->hidden, sizeof(h->hidden), ",", f->name);
	}
	return 0;
}

/* The probe VM of (a), created (every VM is, before the first runs: the
 * sandbox forbids creating one). */
static int create_forced_bits(struct host_report *h, const struct sandbox_config *sandbox,
			      struct guest_run_vm **g)
{
	struct cpu_topology topo = { .cpus = 1 };
	struct guest_run_config cfg = {
		.guest_name = "probe",
		.cmdline = "steal-us=1000",
		.ncpus = 1,
		.timeout_s = PROBE_TIMEOUT_S,
		.console = "none",
		.sandbox = sandbox,
	};
	struct cpuid_table *supported = calloc(1, sizeof(*supported));
	struct cpu_result *host = calloc(1, sizeof(*host));
	int r = -1;

	if (!supported || !host) {
		err_set("out of memory");
		goto out;
	}
	if (cpu_host_supported(supported) < 0)
		goto out;
	h->supported_entries = supported->nent;
	if (cpu_configure("host", supported, &topo, host, NULL) < 0 ||
	    cpu_vcpu_cpuid(host, 0, &h->host_table) < 0 || build_hide_spec(h, host) < 0)
		goto out;
	cfg.cpu_spec = h->hide_spec;
	if (guest_run_create(&cfg, g) < 0) {
		err_wrap("the probe guest with every hideable bit hidden");
		goto out;
	}
	r = 0;
out:
	free(supported);
	free(host);
	return r;
}

static int check_forced_bits(struct host_report *h, struct guest_run_vm *g)
{
	struct guest_run_result run;
	struct verify_result vr;
	struct verify_vcpu_input in;
	int r = -1;

	if (guest_run_finish(g, &run) < 0) {
		err_wrap("the probe guest with every hideable bit hidden");
		guest_run_free(&run);
		return -1;
	}
	r = 0;
	if (run.exit_code != EXIT_OK || !run.vcpu[0].report_complete) {
		snprintf(h->forced_error, sizeof(h->forced_error),
			 "the probe guest did not finish: %.*s (exit %d)%s%s",
			 (int)strcspn(run.reason, "\n"), run.reason, run.exit_code,
			 run.vcpu[0].decode_error[0] ? "; " : "",
			 run.vcpu[0].decode_error);
		guest_run_free(&run);
		goto out;
	}
	in = (struct verify_vcpu_input){ .table = &run.vcpu[0].table,
					.report = &run.vcpu[0].report,
					.report_complete = true };
	if (verify_compare(&in, 1, &vr) < 0) {
		snprintf(h->forced_error, sizeof(h->forced_error), "%s", err_msg());
		guest_run_free(&run);
		goto out;
	}
	h->forced_ran = true;
	h->nforced = verify_forced_features(&vr, h->forced, MAX_FORCED);
	for (size_t k = 0; k < vr.ndiffs; k++) {
		const struct verify_diff *d = &vr.diffs[k];
		char line[256];

		verify_diff_describe(d, line, sizeof(line));
		if (d->kind == VERIFY_DIFF_REGISTER)
			json_array_append_new(h->forced_registers, json_string(line));
		else if (d->kind == VERIFY_DIFF_HIDDEN)
			json_array_append_new(h->cleared, json_string(line));
	}
	verify_result_free(&vr);
	guest_run_free(&run);
out:
	return r;
}

/* ---- (b) instructions */

/* Does the guest see the feature gating `c` (the `host` table, or forced)? */
static bool feature_offered(const struct host_report *h, const struct insn_check *c)
{
	const struct cpu_feature *f;
	const struct feature_word_info *w;

	if (!c->feature)
		return true;
	f = cpu_feature_find(c->feature);
	if (!f)
		return false;
	if (is_forced(h, f))
		return true;
	w = &feature_words[f->word];
	return cpuid_value(&h->host_table, w->leaf, w->subleaf, w->reg) >> f->bit & 1;
}

static void classify(struct insn_result *res, const struct insn_check *c,
		     const struct guest_run_result *run)
{
	bool emulated = false;

	for (int k = 0; k < EMU_KIND_COUNT; k++) {
		char one[32];

		if (!run->emulated[k])
			continue;
		emulated = true;
		snprintf(one, sizeof(one), "%s x%lu", emulate_kind_name((enum emulate_kind)k),
			 run->emulated[k]);
		host_list_add(res->emulated, sizeof(res->emulated), ",", one);
	}
	res->status = host_insn_classify(c, run->exit_code, emulated);
	host_insn_status_text(res->status, run->exit_code, res->status_name,
			      sizeof(res->status_name));
}

static int create_instruction(size_t i, const struct sandbox_config *sandbox,
			      struct guest_run_vm **g)
{
	const struct insn_check *c = &host_insn_checks[i];
	char cmdline[64];
	struct guest_run_config cfg = {
		.guest_name = "hostcheck",
		.cpu_spec = "host",
		.cmdline = cmdline,
		.ncpus = 1,
		.timeout_s = c->may_hang ? HANG_TIMEOUT_S : INSN_TIMEOUT_S,
		.console = "none",
		.sandbox = sandbox,
	};

	snprintf(cmdline, sizeof(cmdline), "insn=%s", c->name);
	if (guest_run_create(&cfg, g) < 0)
		return err_wrap("instruction check %s", c->name);
	return 0;
}

static int check_instruction(struct host_report *h, size_t i, struct guest_run_vm *g)
{
	const struct insn_check *c = &host_insn_checks[i];
	struct insn_result *res = &h->insn[i];
	struct guest_run_result run;

	if (guest_run_finish(g, &run) < 0) {
		guest_run_free(&run);
		return err_wrap("instruction check %s", c->name);
	}
	res->exit_code = run.exit_code;
	res->seconds = run.seconds;
	/* The first line: a register dump may follow it. */
	snprintf(res->reason, sizeof(res->reason), "%.*s", (int)strcspn(run.reason, "\n"),
		 run.reason);
	classify(res, c, &run);
	res->offered = feature_offered(h, c);
	/*
	 * A guest must stay away from an instruction that fails although its
	 * CPUID offers it, and from one skyvm completes (each use is an exit to
	 * userspace).  #UD where CPUID does not offer the instruction is right.
	 */
	res->needs_action = host_insn_needs_action(res->status, res->offered);
	guest_run_free(&run);
	return 0;
}

/* ---- (c) system calls */

static int create_syscalls(const struct sandbox_config *sandbox, struct guest_run_vm **g)
{
	struct guest_run_config cfg = {
		.guest_name = "hostcheck",
		.cpu_spec = "host",
		.cmdline = "insn=syscall",
		.ncpus = 1,
		.timeout_s = SYSCALL_TIMEOUT_S,
		.console = "none",
		.sandbox = sandbox,
	};

	if (guest_run_create(&cfg, g) < 0)
		return err_wrap("system call check");
	return 0;
}

static int check_syscalls(struct host_report *h, struct guest_run_vm *g)
{
	struct guest_run_result run;
	int code;

	if (guest_run_finish(g, &run) < 0) {
		guest_run_free(&run);
		return err_wrap("system call check");
	}
	code = run.exit_code;
	h->syscalls_work = code == HOSTCHECK_SYSCALL_OK;
	if (code == HOSTCHECK_SYSCALL_OK)
		snprintf(h->syscall_detail, sizeof(h->syscall_detail),
			 "SYSCALL from CPL3 reached its handler at CPL0");
	else if (code == HOSTCHECK_SYSCALL_CPL3)
		snprintf(h->syscall_detail, sizeof(h->syscall_detail),
			 "SYSCALL reached its handler still at CPL3 (a supervisor page faulted)");
	else if (HOSTCHECK_IS_EXCEPTION(code))
		snprintf(h->syscall_detail, sizeof(h->syscall_detail),
			 "exception %s before the handler ran",
			 host_vector_name((unsigned)(code - HOSTCHECK_EXCEPTION)));
	else
		snprintf(h->syscall_detail, sizeof(h->syscall_detail), "%.*s (exit %d)",
			 (int)strcspn(run.reason, "\n"), run.reason, code);
	guest_run_free(&run);
	return 0;
}

/* ---- what a guest needs */

static void derive(struct host_report *h)
{
	enum insn_status status[HOST_INSN_COUNT];
	bool needs_action[HOST_INSN_COUNT];

	for (size_t i = 0; i < host_insn_count; i++) {
		status[i] = h->insn[i].status;
		needs_action[i] = h->insn[i].needs_action;
	}
	host_needs_derive(status, needs_action, h->forced, h->nforced, &h->needs);
}

/* ---- output */

static json_t *csv_array(const char *csv)
{
	json_t *a = json_array();

	while (csv && *csv) {
		size_t n = strcspn(csv, ",");

		json_array_append_new(a, json_stringn(csv, n));
		csv += n + (csv[n] == ',');
	}
	return a;
}

static int print_json(struct host_report *h)
{
	json_t *forced = json_array(), *insns = json_object(), *details = json_object();
	json_t *doc;

	for (size_t i = 0; i < h->nforced; i++)
		json_array_append_new(forced, json_string(h->forced[i]->name));
	for (size_t i = 0; i < host_insn_count; i++) {
		const struct insn_result *r = &h->insn[i];
		const struct insn_check *c = &host_insn_checks[i];
		json_t *feature = c->feature ? json_string(c->feature) : json_null();

		json_object_set_new(insns, c->name, json_string(r->status_name));
		json_object_set_new(details, c->name,
				    json_pack("{s:s, s:i, s:s, s:f, s:o, s:o, s:b, s:b}", "status",
					      r->status_name, "exit_code", r->exit_code, "reason",
					      r->reason, "seconds", r->seconds, "emulated",
					      csv_array(r->emulated), "feature", feature, "offered",
					      r->offered, "needs_action", r->needs_action));
	}
	doc = json_pack("{s:{s:s, s:i, s:i, s:b, s:b, s:b, s:i}, s:o, s:o, s:o, s:{s:s, s:o, "
			"s:b, s:o}, s:o, s:o, s:b, s:s, s:s, s:s, s:o}",
			"kvm", "device", h->device, "api_version", h->kvm.api_version,
			"max_vcpus", h->kvm.max_vcpus, "enforce_pv_feature_cpuid",
			h->kvm.has_enforce_pv_cpuid, "exit_on_emulation_failure",
			h->kvm.has_exit_on_emulation_failure, "hypercalls_hang",
			h->hypercalls_hang, "supported_cpuid_entries", (int)h->supported_entries,
			"forced_cpuid_bits", forced, "forced_cpuid_registers",
			json_incref(h->forced_registers), "cleared_cpuid_bits",
			json_incref(h->cleared), "cpuid_probe", "spec",
			h->hide_spec ? h->hide_spec : "", "hidden", csv_array(h->hidden), "ran",
			h->forced_ran, "error",
			h->forced_error[0] ? json_string(h->forced_error) : json_null(),
			"instructions", insns, "instruction_details", details,
			"guest_syscalls_work", h->syscalls_work, "syscall_detail",
			h->syscall_detail, "kernel_cmdline", h->needs.kernel_cmdline,
			"cpu_model_options", h->needs.model_options, "unfixable",
			csv_array(h->needs.unfixable));
	if (!doc)
		return cli_error("cannot build the JSON document");
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
	return EXIT_OK;
}

static void print_text(const struct host_report *h)
{
	size_t i;
	json_t *v;

	printf("KVM: %s, API %d, up to %d vCPUs, %u supported CPUID entries%s%s\n", h->device,
	       h->kvm.api_version, h->kvm.max_vcpus, h->supported_entries,
	       h->hypercalls_hang ? ", PVM (vmcall never returns)" : "",
	       h->kvm.has_enforce_pv_cpuid ? ", PV CPUID enforced" : "");
	printf("\nCPUID bits the host forces (hidden by the model, seen by the guest):\n  ");
	if (!h->forced_ran)
		printf("unknown: %s\n", h->forced_error);
	else if (!h->nforced)
		printf("none\n");
	else
		for (i = 0; i < h->nforced; i++)
			printf("%s%s", h->forced[i]->name, i + 1 < h->nforced ? " " : "\n");
	json_array_foreach(h->forced_registers, i, v)
		printf("  %s\n", json_string_value(v));
	json_array_foreach(h->cleared, i, v)
		printf("  %s\n", json_string_value(v));
	printf("\nInstructions in guest kernel mode (CPL0):\n");
	for (i = 0; i < host_insn_count; i++) {
		const struct insn_result *r = &h->insn[i];

		printf("  %-11s %-19s%s%s%s\n", host_insn_checks[i].name, r->status_name,
		       r->emulated[0] ? " " : "", r->emulated,
		       r->needs_action ? "  <- avoid" : "");
	}
	printf("\nGuest system calls: %s (%s)\n", h->syscalls_work ? "work" : "DO NOT WORK",
	       h->syscall_detail);
	printf("\nWhat a Linux guest needs here:\n");
	printf("  kernel command line: %s\n",
	       h->needs.kernel_cmdline[0] ? h->needs.kernel_cmdline : "(nothing)");
	printf("  CPU model options:   %s\n",
	       h->needs.model_options[0] ? h->needs.model_options : "(none)");
	if (h->needs.unfixable[0])
		printf("  no option avoids:    %s (the guest must not use them)\n",
		       h->needs.unfixable);
}

static int cmd_host_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct host_report *h;
	bool json = false;
	int opt, code = EXIT_ERROR;
	struct cpu_host_facts facts;
	static struct sandbox_config sandbox;
	/* (a), (c), then one VM per instruction of (b): all created first. */
	struct guest_run_vm *vms[2 + HOST_INSN_COUNT] = { 0 };
	size_t nvms = 0, next = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(host_check_help, stdout);
			return EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'n':
			sandbox.disabled = true;
			break;
		default:
			return cli_usage_error("host-check", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("host-check", "unexpected argument '%s'", argv[optind]);
	h = calloc(1, sizeof(*h));
	if (!h)
		return cli_error("out of memory");
	h->kvm.fd = -1;
	h->device = kvm_device_path();
	h->forced_registers = json_array();
	h->cleared = json_array();
	if (kvm_open(&h->kvm, h->device) < 0) {
		cli_error("%s", err_msg());
		goto out;
	}
	cpu_host_facts_probe(&facts);
	h->hypercalls_hang = facts.hypercalls_hang;
	if (sandbox.disabled)
		fprintf(stderr, "%s\n", sandbox_disabled_warning);
	if (host_insn_count > HOST_INSN_COUNT) {
		cli_error("host-check: %zu instruction checks, room for %d", host_insn_count,
			  HOST_INSN_COUNT);
		goto out;
	}
	/*
	 * Every VM is created before the first runs: the first run enters the
	 * sandbox (as `skyvm run` does once its VM is set up), whose filter
	 * forbids creating another.
	 */
	if (create_forced_bits(h, &sandbox, &vms[nvms++]) < 0 ||
	    create_syscalls(&sandbox, &vms[nvms++]) < 0) {
		cli_error("%s", err_msg());
		goto out;
	}
	for (size_t i = 0; i < host_insn_count; i++)
		if (create_instruction(i, &sandbox, &vms[nvms++]) < 0) {
			cli_error("%s", err_msg());
			goto out;
		}
	/* Each check frees its VM, whatever it returns. */
	if (check_forced_bits(h, vms[next++]) < 0 || check_syscalls(h, vms[next++]) < 0) {
		cli_error("%s", err_msg());
		goto out;
	}
	for (size_t i = 0; i < host_insn_count; i++)
		if (check_instruction(h, i, vms[next++]) < 0) {
			cli_error("%s", err_msg());
			goto out;
		}
	derive(h);
	if (json) {
		code = print_json(h);
	} else {
		print_text(h);
		code = EXIT_OK;
	}
out:
	for (size_t i = next; i < nvms; i++)
		guest_run_discard(vms[i]);
	kvm_close(&h->kvm);
	json_decref(h->forced_registers);
	json_decref(h->cleared);
	free(h->hide_spec);
	free(h);
	return code;
}

CLI_COMMAND("host-check", cmd_host_check,
	    "what this host's KVM forces or cannot run, and what a guest needs here");
