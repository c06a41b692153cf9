/* SPDX-License-Identifier: MIT */
/*
 * `skyvm snapshot check DIR [--host DUMP...] [--json]`: which hosts could
 * take this snapshot's guest, answered offline from recorded hosts (skyvm
 * cpuid dumps, Firecracker fingerprints), or for this host without --host.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cpu/dump.h"
#include "cpu/host.h"
#include "exitcodes.h"
#include "snapshot/cpucheck.h"
#include "snapshot/snapshot.h"
#include "util/err.h"

#define MAX_HOSTS 256

static const char check_help[] =
	"Usage: skyvm snapshot check DIR [--host DUMP]... [--json]\n"
	"\n"
	"Check whether hosts can restore (or receive by migration) the snapshot in DIR:\n"
	"every CPUID feature the guest's vCPUs saw must be supported by the host's KVM\n"
	"(after skyvm's host fix-ups), every bit of the feature MSRs the guest could\n"
	"read (ARCH_CAPABILITIES, CORE_CAPABILITY) too, and the XSAVE area must fit.\n"
	"One line per host, 'HOST: yes' or 'HOST: no' followed by one line per missing\n"
	"feature in QEMU's words, e.g. 'MSR(10AH).mds-no [bit 5]'.  A dump that records\n"
	"no feature MSRs cannot vouch for a saved non-zero one: that host is 'no', with\n"
	"'cannot check feature MSR ...'.  Without --host, checks this host (/dev/kvm).\n"
	"\n"
	"  --host DUMP   a recorded host: 'skyvm cpu host --json' output or a Firecracker\n"
	"                CPU fingerprint (repeatable)\n"
	"  --json        an array of verdicts on stdout\n"
	"\n"
	"Exit status: 0 every host can take it; 4 at least one cannot; 1 unreadable or\n"
	"corrupt snapshot or dump; 2 bad command line.\n";

static const struct option check_options[] = {
	{ "host", required_argument, NULL, 'H' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_snapshot_check(int argc, char **argv)
{
	const char *hosts[MAX_HOSTS];
	unsigned nhosts = 0;
	bool json = false, any_bad = false;
	static struct cpuid_table t;
	static struct snap_cpu_verdict v;
	struct cpu_host_facts facts;
	struct snapshot s;
	json_t *all = json_array();
	int opt, code = EXIT_OK;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", check_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(check_help, stdout);
			json_decref(all);
			return EXIT_OK;
		case 'H':
			if (nhosts == MAX_HOSTS) {
				json_decref(all);
				return cli_usage_error("snapshot check", "more than %d hosts", MAX_HOSTS);
			}
			hosts[nhosts++] = optarg;
			break;
		case 'j':
			json = true;
			break;
		case ':':
			json_decref(all);
			return cli_usage_error("snapshot check", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			json_decref(all);
			return cli_usage_error("snapshot check", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1) {
		json_decref(all);
		return cli_usage_error("snapshot check", "expected one snapshot directory");
	}
	if (snapshot_load(argv[optind], &s) < 0) {
		code = cli_error("snapshot check: %s", err_msg());
		goto out;
	}
	for (unsigned i = 0; i < (nhosts ? nhosts : 1); i++) {
		const char *name = nhosts ? hosts[i] : "this host";

		if (nhosts) {
			struct cpuid_dump_meta meta;

			if (cpuid_dump_load(hosts[i], &t, &meta) < 0) {
				code = cli_error("snapshot check: %s", err_msg());
				goto out;
			}
			cpu_host_facts_default(&facts);
		} else {
			if (cpu_host_supported(&t) < 0) {
				code = cli_error("snapshot check: %s", err_msg());
				goto out;
			}
			cpu_host_facts_probe(&facts);
		}
		snapshot_cpu_check(s.cpuid, s.ncpus, &t, &facts, &v);
		any_bad |= v.nproblems != 0;
		if (json) {
			json_t *j = snapshot_cpu_verdict_json(&v);

			json_object_set_new(j, "host", json_string(name));
			json_array_append_new(all, j);
			continue;
		}
		printf("%s: %s\n", name, v.nproblems ? "no" : "yes");
		for (char *l = v.text; *l;) {
			char *nl = strchr(l, '\n');

			printf("  %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
			l = nl ? nl + 1 : l + strlen(l);
		}
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	}
	code = any_bad ? EXIT_CPU_INCOMPATIBLE : EXIT_OK;
out:
	snapshot_free(&s);
	json_decref(all);
	return code;
}

CLI_COMMAND("snapshot check", cmd_snapshot_check,
	    "which hosts can restore a snapshot's guest (CPU check, offline)")
