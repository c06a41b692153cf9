/* SPDX-License-Identifier: MIT */
/*
 * `skyvm cpu list` and `skyvm cpu features`: what skyvm knows of CPU models
 * and feature names, printed from the tables (cpu/models.c, cpu/features.c)
 * as text or JSON.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "cpu/features.h"
#include "cpu/host.h"
#include "cpu/models.h"
#include "exitcodes.h"
#include "util/err.h"

#define MAX_MODEL_VERSIONS 256

static const char cpu_list_help[] =
	"Usage: skyvm cpu list [--json] [--supported DUMP]\n"
	"\n"
	"List the CPU models skyvm can give a guest: every version of every named\n"
	"model (QEMU's definitions), its aliases, its origin (the QEMU release that\n"
	"introduced it), and whether a host runs it without dropping any of its\n"
	"features.  The unversioned name of a model\n"
	"(e.g. Skylake-Server) is an alias of the version marked as its default.\n"
	"Named models carry QEMU's KVM defaults (kvmclock, kvm-nopiodelay,\n"
	"kvm-asyncpf, kvm-steal-time, kvm-pv-eoi, kvmclock-stable-bit, x2apic on;\n"
	"kvm-msi-ext-dest-id, acpi, monitor, svm off).\n"
	"\n"
	"Options:\n"
	"  --json            one JSON document: per version its aliases, vendor,\n"
	"                    family/model/stepping, level, xlevel, model-id, every\n"
	"                    enabled feature, and the runs-here answer with the\n"
	"                    features the host lacks\n"
	"  --supported DUMP  answer 'runs here' for the host recorded in DUMP (a\n"
	"                    'skyvm cpu host --json' file or a Firecracker fingerprint)\n"
	"                    instead of this machine's /dev/kvm\n"
	"  -h, --help        this text\n"
	"\n"
	"RUNS HERE is yes, no (with the number of features the host lacks), or\n"
	"unknown when there is no usable /dev/kvm and no --supported DUMP.\n"
	"\n"
	"Exit status: 0 listed; 1 DUMP unreadable; 2 bad command line.\n";

static const char cpu_features_help[] =
	"Usage: skyvm cpu features [--json]\n"
	"\n"
	"List every CPUID feature name skyvm accepts (in --cpu MODEL,+f,-f,f=on|off),\n"
	"spelled as QEMU spells it, with its CPUID leaf, subleaf, register and bit\n"
	"(or, for a feature MSR such as IA32_ARCH_CAPABILITIES, MSR(10A) and the\n"
	"bit in the MSR), its flags and the other spellings accepted for it.  Names\n"
	"are matched ignoring case, with '_' and '-' equivalent.\n"
	"\n"
	"Flags:\n"
	"  unmigratable     blocks migration; dropped when migratable=on (invtsc)\n"
	"  kvm-pv           a KVM paravirtual feature (CPUID 0x40000001)\n"
	"  needs-hypercall  its guest side issues vmcall (kvm-pv-unhalt, kvm-pv-ipi,\n"
	"                   kvm-pv-sched-yield, kvm-pv-tlb-flush)\n"
	"\n"
	"Options:\n"
	"  --json      one JSON document: {\"features\": [{name, leaf, subleaf, register,\n"
	"              bit, label, flags, aliases}]}; leaf and subleaf are hex strings,\n"
	"              subleaf null when the leaf has none\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 listed; 2 bad command line.\n";

/* Where the runs-here answer comes from. */
struct host_view {
	bool known;
	char why_unknown[160];
	struct cpuid_table supported;
};

/* The runs-here answer for one model version. */
struct runs_here {
	enum { RUNS_UNKNOWN, RUNS_YES, RUNS_NO } state;
	struct cpu_featureset missing;
	char error[256]; /* the pipeline refused the model: why */
};

static void load_host_view(struct host_view *h, const char *dump_path, int *rc)
{
	struct cpuid_dump_meta meta;

	memset(h, 0, sizeof(*h));
	if (dump_path) {
		if (cpuid_dump_load(dump_path, &h->supported, &meta) < 0) {
			*rc = cli_error("%s", err_msg());
			return;
		}
		h->known = true;
		return;
	}
	if (cpu_host_supported(&h->supported) < 0) {
		snprintf(h->why_unknown, sizeof(h->why_unknown), "%s", err_msg());
		return;
	}
	h->known = true;
}

/*
 * Whether the host runs `name` without dropping features: the model goes
 * through the same pipeline `skyvm run --cpu` uses, and any feature the
 * filter stage drops is a "no".
 */
static void check_runs_here(const struct host_view *h, const char *name, struct runs_here *out)
{
	static struct cpu_result result; /* large: keep it off the stack */
	struct cpu_topology topo = { .cpus = 1 };

	memset(out, 0, sizeof(*out));
	if (!h->known)
		return;
	if (cpu_configure(name, &h->supported, &topo, &result, NULL) < 0) {
		out->state = RUNS_NO;
		snprintf(out->error, sizeof(out->error), "%s", err_msg());
		return;
	}
	out->missing = result.filtered;
	out->state = RUNS_YES;
	for (int w = 0; w < FW_COUNT; w++)
		if (result.filtered.w[w])
			out->state = RUNS_NO;
}

static size_t featureset_count(const struct cpu_featureset *s)
{
	size_t n = 0;

	for (int w = 0; w < FW_COUNT; w++)
		n += (size_t)__builtin_popcount(s->w[w]);
	return n;
}

/* Whether an earlier table entry of the same name is set in `s` (and so already listed). */
static bool listed_before(const struct cpu_featureset *s, size_t index)
{
	for (size_t i = 0; i < index; i++)
		if (!strcmp(cpu_features[i].name, cpu_features[index].name) &&
		    featureset_has(s, &cpu_features[i]))
			return true;
	return false;
}

/*
 * Every named bit of `s` as a JSON array of names.  QEMU's "kvmclock" names
 * two bits; it is listed once when either is set.
 */
static json_t *featureset_names_json(const struct cpu_featureset *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		if (!featureset_has(s, f) || listed_before(s, i))
			continue;
		json_array_append_new(a, json_string(f->name));
	}
	return a;
}

/* Nameless bits have no name to print: list them as "CPUID.07H:EBX[12]". */
static void featureset_nameless_json(json_t *a, const struct cpu_featureset *s)
{
	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			char buf[64];

			if (!((s->w[w] >> bit) & 1u) || cpu_feature_at((enum feature_word)w, bit))
				continue;
			snprintf(buf, sizeof(buf), "%s[%u]", feature_words[w].label,
				 bit + feature_words[w].msr_shift);
			json_array_append_new(a, json_string(buf));
		}
	}
}

static json_t *aliases_json(const struct cpu_model_info *m)
{
	json_t *a = json_array();

	if (m->is_default && strcmp(m->base_name, m->name))
		json_array_append_new(a, json_string(m->base_name));
	if (m->alias)
		json_array_append_new(a, json_string(m->alias));
	return a;
}

static json_t *runs_here_json(const struct host_view *h, const struct runs_here *r)
{
	json_t *o = json_object();
	json_t *missing;

	switch (r->state) {
	case RUNS_UNKNOWN:
		json_object_set_new(o, "answer", json_string("unknown"));
		json_object_set_new(o, "reason", json_string(h->why_unknown));
		return o;
	case RUNS_YES:
		json_object_set_new(o, "answer", json_string("yes"));
		break;
	case RUNS_NO:
		json_object_set_new(o, "answer", json_string("no"));
		break;
	}
	missing = featureset_names_json(&r->missing);
	featureset_nameless_json(missing, &r->missing);
	json_object_set_new(o, "missing", missing);
	if (r->error[0])
		json_object_set_new(o, "error", json_string(r->error));
	return o;
}

static int model_json(json_t *models, const struct cpu_model_info *m, const struct host_view *h)
{
	struct cpu_def def;
	struct runs_here r;
	json_t *o;

	if (cpu_model_resolve(m->name, &def) < 0)
		return -1;
	check_runs_here(h, m->name, &r);
	o = json_object();
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "base", json_string(m->base_name));
	json_object_set_new(o, "version", json_integer(m->version));
	json_object_set_new(o, "kind", json_string(cpu_def_kind_name(def.kind)));
	json_object_set_new(o, "default", json_boolean(m->is_default));
	json_object_set_new(o, "aliases", aliases_json(m));
	json_object_set_new(o, "note", m->note ? json_string(m->note) : json_null());
	json_object_set_new(o, "origin", json_string(m->origin));
	if (def.kind == CPU_DEF_NAMED) {
		json_object_set_new(o, "vendor", json_string(def.vendor));
		json_object_set_new(o, "family", json_integer(def.family));
		json_object_set_new(o, "model", json_integer(def.model));
		json_object_set_new(o, "stepping", json_integer(def.stepping));
		json_object_set_new(o, "level", json_integer(def.level));
		json_object_set_new(o, "xlevel", json_integer(def.xlevel));
		json_object_set_new(o, "model_id", json_string(def.model_id));
		json_object_set_new(o, "features", featureset_names_json(&def.features));
	}
	json_object_set_new(o, "runs_here", runs_here_json(h, &r));
	json_array_append_new(models, o);
	return 0;
}

static void runs_here_text(const struct runs_here *r, char *buf, size_t size)
{
	switch (r->state) {
	case RUNS_UNKNOWN:
		snprintf(buf, size, "unknown");
		break;
	case RUNS_YES:
		snprintf(buf, size, "yes");
		break;
	case RUNS_NO:
		if (r->error[0])
			snprintf(buf, size, "no (refused)");
		else
			snprintf(buf, size, "no (%zu missing)", featureset_count(&r->missing));
		break;
	}
}

static int list_text(const struct cpu_model_info *models, size_t n, const struct host_view *h)
{
	printf("%-28s %-28s %-16s %-12s %s\n", "MODEL", "ALIASES", "RUNS HERE", "ORIGIN",
	       "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		const struct cpu_model_info *m = &models[i];
		char aliases[128] = "";
		struct cpu_def def;
		struct runs_here r;
		char runs[32];

		if (cpu_model_resolve(m->name, &def) < 0)
			return cli_error("%s", err_msg());
		if (m->is_default && strcmp(m->base_name, m->name))
			snprintf(aliases, sizeof(aliases), "%s%s%s", m->base_name,
				 m->alias ? ", " : "", m->alias ? m->alias : "");
		else if (m->alias)
			snprintf(aliases, sizeof(aliases), "%s", m->alias);
		check_runs_here(h, m->name, &r);
		runs_here_text(&r, runs, sizeof(runs));
		printf("%-28s %-28s %-16s %-12s ", m->name, aliases, runs, m->origin);
		if (def.kind == CPU_DEF_NAMED)
			printf("%s%s%s%s\n", def.model_id, m->note ? " [" : "",
			       m->note ? m->note : "", m->note ? "]" : "");
		else
			printf("%s\n", m->note ? m->note : "");
	}
	if (!h->known)
		printf("\nruns here: unknown (%s); give --supported DUMP to answer for a "
		       "recorded host\n", h->why_unknown);
	return EXIT_OK;
}

static int cmd_cpu_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "supported", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cpu_model_info models[MAX_MODEL_VERSIONS];
	static struct host_view host;
	const char *dump = NULL;
	bool json = false;
	int c, rc = EXIT_OK;
	size_t n;

	if (cli_wants_help(argc, argv)) {
		fputs(cpu_list_help, stdout);
		return EXIT_OK;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			dump = optarg;
			break;
		default:
			return cli_usage_error("cpu list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("cpu list", "unexpected argument '%s'", argv[optind]);

	load_host_view(&host, dump, &rc);
	if (rc != EXIT_OK)
		return rc;
	n = cpu_model_list(models, MAX_MODEL_VERSIONS);
	if (!json)
		return list_text(models, n, &host);

	json_t *doc = json_object(), *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		if (model_json(arr, &models[i], &host) < 0) {
			json_decref(arr);
			json_decref(doc);
			return cli_error("%s", err_msg());
		}
	}
	json_object_set_new(doc, "source", json_string(dump ? dump : host.known ? "/dev/kvm" : ""));
	json_object_set_new(doc, "models", arr);
	json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
	return EXIT_OK;
}
CLI_COMMAND("cpu list", cmd_cpu_list, "list CPU models, versions, aliases and what runs here");

static void flags_text(uint32_t flags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", flags & FEAT_UNMIGRATABLE ? "unmigratable " : "",
		 flags & FEAT_KVM_PV ? "kvm-pv " : "",
		 flags & FEAT_NEEDS_HYPERCALL ? "needs-hypercall " : "", flags ? "" : "-");
	if (flags && buf[strlen(buf) - 1] == ' ')
		buf[strlen(buf) - 1] = '\0';
}

static json_t *feature_json(const struct cpu_feature *f)
{
	const struct feature_word_info *w = &feature_words[f->word];
	json_t *o = json_object(), *flags = json_array(), *aliases = json_array();
	char hex[16];

	json_object_set_new(o, "name", json_string(f->name));
	if (w->msr) {
		/* a feature MSR's bit (cpu/msrs.h): no leaf; the bit in the 64-bit MSR */
		json_object_set_new(o, "leaf", json_null());
		json_object_set_new(o, "subleaf", json_null());
		json_object_set_new(o, "register", json_null());
		snprintf(hex, sizeof(hex), "0x%08x", w->msr);
		json_object_set_new(o, "msr", json_string(hex));
		json_object_set_new(o, "bit", json_integer(f->bit + w->msr_shift));
	} else {
		snprintf(hex, sizeof(hex), "0x%08x", w->leaf);
		json_object_set_new(o, "leaf", json_string(hex));
		snprintf(hex, sizeof(hex), "0x%x", w->subleaf);
		json_object_set_new(o, "subleaf", w->indexed ? json_string(hex) : json_null());
		json_object_set_new(o, "register", json_string(cpuid_reg_name(w->reg)));
		json_object_set_new(o, "bit", json_integer(f->bit));
	}
	json_object_set_new(o, "label", json_string(w->label));
	if (f->flags & FEAT_UNMIGRATABLE)
		json_array_append_new(flags, json_string("unmigratable"));
	if (f->flags & FEAT_KVM_PV)
		json_array_append_new(flags, json_string("kvm-pv"));
	if (f->flags & FEAT_NEEDS_HYPERCALL)
		json_array_append_new(flags, json_string("needs-hypercall"));
	json_object_set_new(o, "flags", flags);
	for (size_t i = 0; i < sizeof(f->aliases) / sizeof(f->aliases[0]) && f->aliases[i]; i++)
		json_array_append_new(aliases, json_string(f->aliases[i]));
	json_object_set_new(o, "aliases", aliases);
	return o;
}

static int cmd_cpu_features(int argc, char **argv)
{
	bool json = false;

	if (cli_wants_help(argc, argv)) {
		fputs(cpu_features_help, stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return cli_usage_error("cpu features", "unexpected argument '%s'", argv[i]);
	}
	if (json) {
		json_t *doc = json_object(), *arr = json_array();

		for (size_t i = 0; i < cpu_features_count; i++)
			json_array_append_new(arr, feature_json(&cpu_features[i]));
		json_object_set_new(doc, "features", arr);
		json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
		return EXIT_OK;
	}
	printf("%-26s %-10s %-7s %-3s %-3s %-28s %s\n", "NAME", "LEAF", "SUBLEAF", "REG", "BIT",
	       "FLAGS", "ALIASES");
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		const struct feature_word_info *w = &feature_words[f->word];
		char flags[64], sub[16] = "-";

		flags_text(f->flags, flags, sizeof(flags));
		if (w->indexed)
			snprintf(sub, sizeof(sub), "%u", w->subleaf);
		if (w->msr) { /* LEAF column: the MSR; BIT: the bit in the 64-bit MSR */
			char msr[16];

			snprintf(msr, sizeof(msr), "MSR(%XH)", w->msr);
			printf("%-26s %-10s %-7s %-3s %-3u %-*s", f->name, msr, "-", "-",
			       f->bit + w->msr_shift, f->aliases[0] ? 28 : 0, flags);
		} else {
			printf("%-26s 0x%08x %-7s %-3s %-3u %-*s", f->name, w->leaf, sub,
			       cpuid_reg_name(w->reg), f->bit, f->aliases[0] ? 28 : 0, flags);
		}
		for (size_t k = 0; k < sizeof(f->aliases) / sizeof(f->aliases[0]) && f->aliases[k];
		     k++)
			printf(" %s", f->aliases[k]);
		putchar('\n');
	}
	return EXIT_OK;
}
CLI_COMMAND("cpu features", cmd_cpu_features, "list every CPUID feature name with its bit");
