/* SPDX-License-Identifier: MIT */
/*
 * `skyvm restore DIR`: check this host against the snapshot's CPU (refuse
 * naming every missing feature), rebuild the VM with the saved CPUID tables,
 * load memory, vCPU, VM and device state, and run it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/vmapi.h"
#include "cli/cli.h"
#include "cpu/dump.h"
#include "cpu/host.h"
#include "exitcodes.h"
#include "snapshot/cpucheck.h"
#include "snapshot/snapshot.h"
#include "util/err.h"
#include "vmm/vm.h"

static const char restore_help[] =
	"Usage: skyvm restore DIR [OPTIONS]\n"
	"\n"
	"Restore a snapshot taken with PUT /vm/snapshot (skyvm ctl SOCKET snapshot DIR):\n"
	"the VM is rebuilt with the exact CPUID tables its vCPUs had (the CPU model is\n"
	"not chosen again for this host) and continues where it was.  First this host\n"
	"is checked: every CPUID feature the guest saw must be one this host's KVM\n"
	"supports, and its XSAVE area must fit; otherwise nothing is started.\n"
	"\n"
	"  --api PATH            serve the control API on a unix socket (as skyvm run)\n"
	"  --console WHERE       stdio (default), file:PATH, none\n"
	"  --timeout SECONDS     stop the guest after this long\n"
	"  --max-output BYTES    as skyvm run (default 64 MiB)\n"
	"  --supported DUMP      also check against a recorded host (skyvm cpu host --json,\n"
	"                        or a Firecracker fingerprint): rehearse a weaker host\n"
	"  --check-only          check, print the verdict, start nothing\n"
	"  --json                the check's verdict as JSON on stdout\n"
	"  --user UID:GID        as root: become this user once the VM is set up (as run)\n"
	"  --snapshot-dir DIR    with --api: snapshots only beneath DIR (as run)\n"
	"  --no-sandbox          no seccomp filter (debugging only; warns; as run)\n"
	"  -v, --verbose         say how the VM ended even when it ended well\n"
	"\n"
	"Exit status: as skyvm run once the guest runs; before that 1 (unreadable,\n"
	"corrupt or newer-format snapshot: the message names the bad section), 2 (bad\n"
	"command line), 4 (this host cannot take the guest's CPU: one line per missing\n"
	"feature, in QEMU's words).\n";

enum { OPT_API = 256, OPT_CONSOLE, OPT_TIMEOUT, OPT_MAX_OUTPUT, OPT_SUPPORTED, OPT_JSON,
       OPT_CHECK_ONLY, OPT_USER, OPT_NO_SANDBOX, OPT_SNAPSHOT_DIR };

static const struct option restore_options[] = {
	{ "api", required_argument, NULL, OPT_API },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
	{ "supported", required_argument, NULL, OPT_SUPPORTED },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "check-only", no_argument, NULL, OPT_CHECK_ONLY },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Check against `host`; print the refusal.  1: refused, 0: fine. */
static int check_against(const struct snapshot *s, const struct cpuid_table *host,
			 const struct cpu_host_facts *facts, const char *hostname, bool json,
			 bool print_ok)
{
	static struct snap_cpu_verdict v;

	snapshot_cpu_check(s->cpuid, s->ncpus, host, facts, &v);
	if (json && (v.nproblems || print_ok)) {
		json_t *j = snapshot_cpu_verdict_json(&v);

		json_object_set_new(j, "host", json_string(hostname));
		json_object_set_new(j, "snapshot", json_string(s->dir));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(j);
	}
	if (!v.nproblems)
		return 0;
	if (!json) {
		fprintf(stderr, "skyvm: restore %s: %s cannot take this guest's CPU (%s):\n", s->dir,
			hostname, s->model);
		for (char *l = v.text; *l;) {
			char *nl = strchr(l, '\n');

			fprintf(stderr, "skyvm: %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
			l = nl ? nl + 1 : l + strlen(l);
		}
	}
	return 1;
}

static int restore(int argc, char **argv)
{
	const char *api_path = NULL, *supported = NULL, *console = "stdio", *dir;
	bool json = false, check_only = false, verbose = false;
	double timeout = 0;
	unsigned long long max_output = 64ULL << 20;
	static struct cpuid_table host;
	struct cpu_host_facts facts;
	struct snapshot s;
	struct vm_config cfg;
	struct sandbox_config sandbox = { 0 };
	struct vm_api *api = NULL;
	struct vm vm;
	int opt, code;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hv", restore_options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'h':
			fputs(restore_help, stdout);
			return EXIT_OK;
		case 'v':
			verbose = true;
			break;
		case OPT_API:
			api_path = optarg;
			break;
		case OPT_CONSOLE:
			console = optarg;
			break;
		case OPT_TIMEOUT:
			timeout = strtod(optarg, &end);
			if (end == optarg || *end || !(timeout > 0) || timeout > 1e7)
				return cli_usage_error("restore", "--timeout '%s': expected seconds > 0",
						       optarg);
			break;
		case OPT_MAX_OUTPUT:
			if (!cli_parse_uint(optarg, ~0ULL, &max_output))
				return cli_usage_error("restore", "--max-output '%s': expected bytes",
						       optarg);
			break;
		case OPT_SUPPORTED:
			supported = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_CHECK_ONLY:
			check_only = true;
			break;
		case OPT_USER:
			if (sandbox_parse_user(optarg, &sandbox) < 0)
				return cli_usage_error("restore", "%s", err_msg());
			break;
		case OPT_NO_SANDBOX:
			sandbox.disabled = true;
			break;
		case OPT_SNAPSHOT_DIR:
			sandbox.snapshot_dir = optarg;
			break;
		case ':':
			return cli_usage_error("restore", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("restore", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("restore", "expected one snapshot directory");
	dir = argv[optind];
	if (sandbox.snapshot_dir && !api_path)
		return cli_usage_error("restore", "--snapshot-dir needs --api (snapshots are "
				       "taken through it)");
	if (sandbox_check_user(&sandbox) < 0)
		return cli_error("restore: %s", err_msg());
	if (sandbox.disabled && !check_only)
		fprintf(stderr, "%s\n", sandbox_disabled_warning);
	if (snapshot_load(dir, &s) < 0) {
		code = cli_error("restore: %s", err_msg());
		snapshot_free(&s);
		return code;
	}
	code = EXIT_OK;
	if (supported) {
		static struct cpuid_table rec;
		struct cpuid_dump_meta meta;

		if (cpuid_dump_load(supported, &rec, &meta) < 0) {
			code = cli_error("restore --supported: %s", err_msg());
			goto out;
		}
		cpu_host_facts_default(&facts);
		if (check_against(&s, &rec, &facts, supported, json, check_only)) {
			code = EXIT_CPU_INCOMPATIBLE;
			goto out;
		}
	}
	if (cpu_host_supported(&host) < 0) {
		code = cli_error("restore: %s", err_msg());
		goto out;
	}
	cpu_host_facts_probe(&facts);
	if (check_against(&s, &host, &facts, "this host", json, check_only && !supported)) {
		code = EXIT_CPU_INCOMPATIBLE;
		goto out;
	}
	if (check_only)
		goto out;

	memset(&cfg, 0, sizeof(cfg));
	cfg.console = console;
	cfg.timeout_s = timeout;
	cfg.max_output = max_output;
	cfg.verbose = verbose;
	sandbox.verbose = verbose;
	cfg.warn = stderr;
	cfg.sandbox = &sandbox;
	if (snapshot_config(&s, &cfg) < 0) {
		code = cli_error("restore %s: %s", dir, err_msg());
		goto out;
	}
	if (vm_create(&vm, &cfg) < 0 || snapshot_restore_state(&s, &vm) < 0 ||
	    (api_path && !(api = vm_api_start(&vm, api_path)))) {
		code = cli_error("restore %s: %s", dir, err_msg());
		vm_destroy(&vm);
		goto out;
	}
	code = vm_run(&vm);
	vm_api_stop(api);
	if (code != EXIT_OK || verbose)
		fprintf(stderr, "skyvm: %s (exit %d)\n", vm.stop_reason, code);
	console_report(&vm.console, stderr);
	vm_destroy(&vm);
out:
	snapshot_free(&s);
	return code;
}

CLI_COMMAND("restore", restore, "restore a VM from a snapshot directory (after a CPU check)")
