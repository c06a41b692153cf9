/* SPDX-License-Identifier: MIT */
/*
 * `skyvm cpu` (the cpu commands' help), `skyvm cpu host` (this host's
 * KVM_GET_SUPPORTED_CPUID as a table or a dump) and `skyvm cpu show` (a
 * model through the whole pipeline: the per-vCPU CPUID tables a guest
 * would get, what was enabled, what was dropped and why).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cpu/cpu.h"
#include "cpu/deps.h"
#include "cpu/dump.h"
#include "cpu/filter.h"
#include "cpu/host.h"
#include "cpu/normalise.h"
#include "exitcodes.h"
#include "util/err.h"
#include "util/text.h"

static const char cpu_help[] =
	"Usage: skyvm cpu COMMAND [ARGS...]\n"
	"\n"
	"CPU models: what skyvm can give a guest, what this host supports, and\n"
	"exactly which CPUID each vCPU gets.\n"
	"\n"
	"Commands:\n";

static const char cpu_host_help[] =
	"Usage: skyvm cpu host [--json]\n"
	"\n"
	"Print this host's KVM_GET_SUPPORTED_CPUID: what /dev/kvm offers a guest,\n"
	"before skyvm's host fix-ups, and the values KVM reports for the feature\n"
	"MSRs skyvm models (IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITY).  With\n"
	"--json, print it as a CPUID dump (docs/cpuid-dump.md) that\n"
	"'cpu show --supported', 'cpu compare' and 'cpu baseline' read.\n"
	"\n"
	"Options:\n"
	"  --json      the dump format instead of a table\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 printed; 1 /dev/kvm unusable; 2 bad command line.\n";

static const char cpu_show_help[] =
	"Usage: skyvm cpu show MODEL[,OPTION...] [--cpus N] [--smp TOPOLOGY]\n"
	"                      [--supported DUMP] [--json]\n"
	"\n"
	"Run a CPU model through the pipeline 'skyvm run --cpu' uses and print the\n"
	"result: the model, the features enabled, every feature dropped with the\n"
	"reason (the host lacks it, a prerequisite is off, migratable=on), the\n"
	"warnings, and the final CPUID table of each vCPU.\n"
	"\n"
	"MODEL is a model name ('skyvm cpu list'), host, max, base, or file:PATH\n"
	"(a custom model file, docs/cpu-model-file.md).  OPTIONs:\n"
	"  +f, -f, f=on|off, f   turn feature f on or off ('skyvm cpu features');\n"
	"                        -f wins over +f and f=on, +f over f=off\n"
	"  check / enforce       warn about / fail on features the host lacks\n"
	"  migratable=on|off     drop unmigratable and nameless bits (default on)\n"
	"  vendor=  family=  model=  stepping=  model-id=  level=  xlevel=\n"
	"  vendor=model          keep the named model's vendor (default: the host's,\n"
	"                        as QEMU under KVM)\n"
	"  version=latest        an unversioned name means its newest version, as\n"
	"                        QEMU's -M microvm (default: v1, as pc and q35)\n"
	"\n"
	"Options:\n"
	"  --cpus N              vCPUs (default 1)\n"
	"  --smp sockets=S,cores=C,threads=T\n"
	"                        topology (any subset; missing ones are derived)\n"
	"  --supported DUMP      use the host recorded in DUMP (a 'cpu host --json'\n"
	"                        file or a Firecracker fingerprint) instead of\n"
	"                        /dev/kvm; this host's quirks are then not applied\n"
	"  --json                one JSON document (docs/schemas/cpu-show.schema.json)\n"
	"  -h, --help            this text\n"
	"\n"
	"Warnings go to standard error in QEMU's words, e.g.\n"
	"  skyvm: warning: host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]\n"
	"\n"
	"Exit status: 0 shown; 1 unknown model or feature, bad option value,\n"
	"enforce failed, DUMP unreadable or no usable /dev/kvm; 2 bad command line.\n";

/* ---- skyvm cpu */

static int cmd_cpu(int argc, char **argv)
{
	bool help = cli_wants_help(argc, argv);
	FILE *f = help ? stdout : stderr;

	if (argc > 1 && !help) {
		fprintf(stderr, "skyvm: unknown cpu command '%s'\n", argv[1]);
		f = stderr;
	}
	fputs(cpu_help, f);
	for (const struct cli_command *c = cli_commands(); c; c = c->next)
		if (!strncmp(c->name, "cpu ", 4))
			fprintf(f, "  %-16s %s\n", c->name, c->summary);
	fputs("\nRun 'skyvm cpu COMMAND --help' for a command's options.\n", f);
	return help ? EXIT_OK : EXIT_USAGE;
}
CLI_COMMAND("cpu", cmd_cpu, "CPU model commands (run 'skyvm cpu' for the list)");

/* ---- skyvm cpu host */

static void print_header(FILE *f)
{
	fprintf(f, "  %-10s %-5s %-10s %-10s %-10s %s\n", "leaf", "sub", "eax", "ebx", "ecx",
		"edx");
}

static void print_entry(FILE *f, const struct kvm_cpuid_entry2 *e)
{
	char sub[16] = "-";

	if (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
		snprintf(sub, sizeof(sub), "0x%x", e->index);
	fprintf(f, "  0x%08x %-5s 0x%08x 0x%08x 0x%08x 0x%08x\n", e->function, sub, e->eax,
		e->ebx, e->ecx, e->edx);
}

static void print_table(FILE *f, const struct cpuid_table *t)
{
	print_header(f);
	for (uint32_t i = 0; i < t->nent; i++)
		print_entry(f, &t->ent[i]);
}

static void host_meta(const struct cpuid_table *t, struct cpuid_dump_meta *meta)
{
	struct utsname u;

	memset(meta, 0, sizeof(*meta));
	if (gethostname(meta->name, sizeof(meta->name) - 1) < 0)
		snprintf(meta->name, sizeof(meta->name), "host");
	snprintf(meta->source, sizeof(meta->source), "KVM_GET_SUPPORTED_CPUID");
	cpu_vendor_decode(t, meta->vendor);
	cpu_brand_decode(t, meta->model_id);
	if (uname(&u) == 0)
		snprintf(meta->kernel, sizeof(meta->kernel), "%s", u.release);
}

static int cmd_cpu_host(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cpuid_table t;
	struct cpuid_dump_meta meta;
	bool json = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(cpu_host_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("cpu host", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("cpu host", "unexpected argument '%s'", argv[optind]);
	if (cpu_host_supported(&t) < 0)
		return cli_error("%s", err_msg());
	cpuid_sort(&t);
	host_meta(&t, &meta);
	if (json) {
		if (cpuid_dump_write(stdout, &t, &meta) < 0)
			return cli_error("%s", err_msg());
		return EXIT_OK;
	}
	printf("KVM_GET_SUPPORTED_CPUID on %s: %u entries\nvendor %s, \"%s\", kernel %s\n",
	       meta.name, t.nent, meta.vendor, meta.model_id, meta.kernel);
	{
		struct cpu_host_facts facts;

		/* The table is KVM's; say what skyvm's fix-ups will change on this host. */
		cpu_host_facts_probe(&facts);
		printf("host fix-ups (not applied below): hypervisor bit and KVM hints added; "
		       "TSC-deadline %s", facts.tsc_deadline_timer ? "added" : "removed");
		if (facts.hypercalls_hang) {
			printf("; vmcall never returns here, so hidden:");
			for (size_t i = 0; i < cpu_features_count; i++)
				if (cpu_features[i].flags & FEAT_NEEDS_HYPERCALL)
					printf(" %s", cpu_features[i].name);
		}
		putchar('\n');
	}
	print_table(stdout, &t);
	/* KVM_GET_MSR_FEATURE_INDEX_LIST + KVM_GET_MSRS on /dev/kvm (cpu/msrs.h) */
	printf("\nFeature MSRs KVM reports (the ones skyvm models):\n");
	if (!t.nmsrs)
		printf("  none listed\n");
	for (uint32_t i = 0; i < t.nmsrs && i < CPU_FEATURE_MSRS_MAX; i++)
		printf("  MSR 0x%08x = 0x%016llx\n", t.msrs[i].index,
		       (unsigned long long)t.msrs[i].value);
	return EXIT_OK;
}
CLI_COMMAND("cpu host", cmd_cpu_host, "this host's supported CPUID (a table or a dump)");

/* ---- skyvm cpu show */

/* Why a bit of r->requested is not in r->enabled. */
static const char *drop_reason(const struct cpu_result *r, enum feature_word w, unsigned bit,
			       const char **detail)
{
	uint32_t m = 1u << bit;

	*detail = NULL;
	if (r->dependent.w[w] & m) {
		*detail = cpu_deps_missing(&r->enabled, w, bit);
		return "dependency";
	}
	if (r->filtered.w[w] & m)
		return "unsupported";
	if (r->unmigratable.w[w] & m)
		return "migratable";
	return NULL;
}

static json_t *hex(uint32_t v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%0*x", width, v);
	return json_string(buf);
}

static json_t *table_json(const struct cpuid_table *t)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->ent[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		json_array_append_new(a, json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "leaf",
						   hex(e->function, 8), "subleaf",
						   hex(indexed ? e->index : 0, 1), "indexed",
						   indexed, "eax", hex(e->eax, 8), "ebx",
						   hex(e->ebx, 8), "ecx", hex(e->ecx, 8), "edx",
						   hex(e->edx, 8)));
	}
	return a;
}

/* The feature MSRs KVM_SET_MSRS writes (cpu/msrs.h): [{ "index", "value" }] */
static json_t *msrs_json(const struct cpuid_table *t)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < t->nmsrs && i < CPU_FEATURE_MSRS_MAX; i++) {
		char v[24];

		snprintf(v, sizeof(v), "0x%016llx", (unsigned long long)t->msrs[i].value);
		json_array_append_new(a, json_pack("{s:o, s:s}", "index", hex(t->msrs[i].index, 8),
						   "value", v));
	}
	return a;
}

static void print_msrs(const struct cpuid_table *t)
{
	printf("\nFeature MSRs of vCPU 0 (KVM_SET_MSRS before it runs; others: KVM's):\n");
	if (!t->nmsrs)
		printf("  none\n");
	for (uint32_t i = 0; i < t->nmsrs && i < CPU_FEATURE_MSRS_MAX; i++)
		printf("  MSR 0x%08x = 0x%016llx\n", t->msrs[i].index,
		       (unsigned long long)t->msrs[i].value);
}

static json_t *names_json(const struct cpu_featureset *s, json_t *nameless)
{
	json_t *a = json_array();

	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		/* "kvmclock" names two bits: list it once */
		if (featureset_has(s, f) && cpu_feature_find(f->name) == f)
			json_array_append_new(a, json_string(f->name));
	}
	for (int w = 0; nameless && w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			char buf[64];

			if (!((s->w[w] >> b) & 1u) || cpu_feature_at(w, b))
				continue;
			snprintf(buf, sizeof(buf), "%s[%u]", feature_words[w].label,
				 b + feature_words[w].msr_shift);
			json_array_append_new(nameless, json_string(buf));
		}
	}
	return a;
}

static json_t *dropped_json(const struct cpu_result *r)
{
	json_t *a = json_array();

	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			const struct cpu_feature *f;
			const char *reason, *detail;
			char desc[96];
			json_t *o;

			if (!((r->requested.w[w] >> b) & 1u) || ((r->enabled.w[w] >> b) & 1u))
				continue;
			reason = drop_reason(r, w, b, &detail);
			if (!reason)
				continue;
			f = cpu_feature_at(w, b);
			cpu_bit_describe(w, b, desc, sizeof(desc));
			o = json_pack("{s:o, s:s, s:o, s:o, s:s, s:i, s:s, s:b}", "name",
				      f ? json_string(f->name) : json_null(), "label", desc, "leaf",
				      hex(feature_words[w].leaf, 8), "subleaf",
				      hex(feature_words[w].subleaf, 1), "register",
				      cpuid_reg_name(feature_words[w].reg), "bit", (int)b, "reason",
				      reason, "requested_by_user", (r->user.w[w] >> b) & 1u);
			if (detail)
				json_object_set_new(o, "needs", json_string(detail));
			if (feature_word_is_msr(w)) {
				/* a feature MSR's bit: its index, and the bit in the 64-bit MSR */
				json_object_set_new(o, "msr", hex(feature_words[w].msr, 8));
				json_object_set_new(o, "bit",
						    json_integer(b + feature_words[w].msr_shift));
			}
			json_array_append_new(a, o);
		}
	}
	return a;
}

static json_t *lines_json(const char *text)
{
	json_t *a = json_array();

	while (text && *text) {
		size_t n = strcspn(text, "\n");

		json_array_append_new(a, json_stringn(text, n));
		text += n + (text[n] == '\n');
	}
	return a;
}

static int show_json(const char *spec, const char *source, const struct cpu_result *r,
		     bool msrs_known)
{
	json_t *nameless = json_array();
	json_t *vcpus = json_array();
	json_t *root;
	static struct cpuid_table t;

	for (unsigned i = 0; i < r->topo.cpus; i++) {
		if (cpu_vcpu_cpuid(r, i, &t) < 0) {
			json_decref(nameless);
			json_decref(vcpus);
			return cli_error("%s", err_msg());
		}
		json_array_append_new(vcpus, json_pack("{s:i, s:i, s:o, s:o}", "index", (int)i,
						       "apic_id", (int)cpu_apic_id(&r->topo, i),
						       "cpuid", table_json(&t), "msrs",
						       msrs_json(&t)));
	}
	root = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:o, s:s}, "
			 "s:{s:b, s:b}, s:{s:i, s:i, s:i, s:i}, s:{s:o, s:o, s:o}, s:o, s:o, "
			 "s:o}",
			 "spec", spec, "supported_source", source, "model", "name", r->def.name,
			 "kind", cpu_def_kind_name(r->def.kind), "vendor", r->def.vendor, "family",
			 (int)r->def.family, "model", (int)r->def.model, "stepping",
			 (int)r->def.stepping, "level", hex(r->def.level, 8), "xlevel",
			 hex(r->def.xlevel, 8), "model_id", r->def.model_id, "options", "enforce",
			 r->enforce, "migratable", r->migratable, "topology", "cpus",
			 (int)r->topo.cpus, "sockets", (int)r->topo.sockets, "cores",
			 (int)r->topo.cores, "threads", (int)r->topo.threads, "features",
			 "requested", names_json(&r->requested, NULL), "enabled",
			 names_json(&r->enabled, nameless), "enabled_nameless", nameless, "dropped",
			 dropped_json(r), "warnings", lines_json(r->warnings), "vcpus", vcpus);
	if (!root)
		return cli_error("cannot build the JSON document");
	/* false: a dump without feature MSRs, whose bits were not checked */
	json_object_set_new(root, "supported_msrs_recorded", json_boolean(msrs_known));
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
	return EXIT_OK;
}

static void print_names(const char *title, const struct cpu_featureset *s)
{
	size_t col = 0, n = 0;

	for (int w = 0; w < FW_COUNT; w++)
		n += (size_t)__builtin_popcount(s->w[w]);
	printf("%s (%zu bits):\n", title, n);
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		size_t len = strlen(f->name) + 1;

		if (!featureset_has(s, f) || cpu_feature_find(f->name) != f)
			continue;
		if (col + len > 78) {
			putchar('\n');
			col = 0;
		}
		printf("%s%s", col ? " " : "  ", f->name);
		col += len + (col ? 0 : 1);
	}
	if (col)
		putchar('\n');
}

static int show_text(const struct cpu_result *r, bool msrs_known)
{
	static struct cpuid_table t0, t;
	bool any = false;
	/* vendor and brand can come from a dump's CPUID bytes: escape them */
	char vendor[4 * sizeof(r->def.vendor)], brand[4 * sizeof(r->def.model_id)];

	text_escape(vendor, sizeof(vendor), r->def.vendor);
	text_escape(brand, sizeof(brand), r->def.model_id);
	printf("Model:    %s (%s)\n", r->def.name, cpu_def_kind_name(r->def.kind));
	printf("Vendor:   %s, family %u model %u stepping %u\n", vendor, r->def.family,
	       r->def.model, r->def.stepping);
	printf("Brand:    %s\n", brand);
	printf("Levels:   basic 0x%x, extended 0x%x\n", r->def.level, r->def.xlevel);
	printf("Options:  enforce=%s migratable=%s\n", r->enforce ? "on" : "off",
	       r->migratable ? "on" : "off");
	printf("Topology: %u vCPU%s: %u socket(s) x %u core(s) x %u thread(s); APIC ids",
	       r->topo.cpus, r->topo.cpus == 1 ? "" : "s", r->topo.sockets, r->topo.cores,
	       r->topo.threads);
	for (unsigned i = 0; i < r->topo.cpus && i < 16; i++)
		printf(" %u", cpu_apic_id(&r->topo, i));
	printf("%s\n\n", r->topo.cpus > 16 ? " ..." : "");
	print_names("Enabled features", &r->enabled);
	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			const char *reason, *detail;
			char desc[96];

			if (!((r->requested.w[w] >> b) & 1u) || ((r->enabled.w[w] >> b) & 1u))
				continue;
			reason = drop_reason(r, w, b, &detail);
			if (!reason)
				continue;
			if (!any)
				printf("\nDropped:\n");
			any = true;
			cpu_bit_describe(w, b, desc, sizeof(desc));
			if (!strcmp(reason, "unsupported"))
				printf("  %-48s the host does not support it\n", desc);
			else if (!strcmp(reason, "dependency"))
				printf("  %-48s needs %s, which is off\n", desc,
				       detail ? detail : "a feature");
			else
				printf("  %-48s migratable=on: %s\n", desc,
				       cpu_feature_at(w, b) ? "blocks migration" : "nameless bit");
		}
	}
	if (cpu_vcpu_cpuid(r, 0, &t0) < 0)
		return cli_error("%s", err_msg());
	printf("\nCPUID of vCPU 0 (%u entries):\n", t0.nent);
	print_table(stdout, &t0);
	print_msrs(&t0);
	if (!msrs_known)
		printf("  (the supported dump records no feature MSRs: their bits were not "
		       "checked)\n");
	for (unsigned i = 1; i < r->topo.cpus; i++) {
		if (cpu_vcpu_cpuid(r, i, &t) < 0)
			return cli_error("%s", err_msg());
		printf("\nvCPU %u (APIC id %u) differs from vCPU 0 in:\n", i,
		       cpu_apic_id(&r->topo, i));
		print_header(stdout);
		for (uint32_t k = 0; k < t.nent; k++) {
			const struct kvm_cpuid_entry2 *e = &t.ent[k];
			const struct kvm_cpuid_entry2 *z;

			z = cpuid_find_const(&t0, e->function, e->index);
			if (z && z->eax == e->eax && z->ebx == e->ebx && z->ecx == e->ecx &&
			    z->edx == e->edx)
				continue;
			print_entry(stdout, e);
		}
	}
	return EXIT_OK;
}

static int cmd_cpu_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "smp", required_argument, NULL, 's' },
		{ "supported", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cpuid_table supported;
	static struct cpu_result result;
	struct cpu_topology topo = { 0 };
	struct cpu_host_facts facts;
	struct cpuid_dump_meta meta;
	const char *dump = NULL, *spec;
	bool json = false, have_cpus = false;
	unsigned long long n;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!cli_parse_uint(optarg, 1024, &n) || n == 0)
				return cli_usage_error("cpu show", "--cpus '%s': expected 1 to 1024",
						       optarg);
			topo.cpus = (unsigned)n;
			have_cpus = true;
			break;
		case 's':
			if (cli_parse_smp(optarg, 1024, &topo) < 0)
				return cli_usage_error("cpu show", "--smp '%s': expected "
						       "sockets=S,cores=C,threads=T (each 1-1024)",
						       optarg);
			break;
		case 'S':
			dump = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(cpu_show_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("cpu show", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("cpu show", "which model? (e.g. skyvm cpu show Skylake-Server)");
	if (optind + 1 < argc)
		return cli_usage_error("cpu show", "unexpected argument '%s'", argv[optind + 1]);
	spec = argv[optind];
	if (!have_cpus && !topo.sockets && !topo.cores && !topo.threads)
		topo.cpus = 1;
	if (dump) {
		if (cpuid_dump_load(dump, &supported, &meta) < 0)
			return cli_error("%s", err_msg());
		cpu_host_facts_default(&facts);
	} else {
		if (cpu_host_supported(&supported) < 0)
			return cli_error("%s (use --supported DUMP to show a model for a recorded "
					 "host)", err_msg());
		cpu_host_facts_probe(&facts);
	}
	if (cpu_configure_with(spec, &supported, &facts, &topo, &result, stderr) < 0)
		return cli_error("%s", err_msg());
	if (json)
		return show_json(spec, dump ? dump : "/dev/kvm", &result, supported.msrs_known);
	return show_text(&result, supported.msrs_known);
}
CLI_COMMAND("cpu show", cmd_cpu_show, "a CPU model's final per-vCPU CPUID, features and warnings");
