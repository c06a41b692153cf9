/* SPDX-License-Identifier: MIT */
/*
 * `skyvm cpu compare` and `skyvm cpu baseline`: fleet compatibility from
 * host CPUID dumps (skyvm's or Firecracker fingerprints).  The rules live in
 * fleet/compare.c and fleet/baseline.c; this file loads dumps, runs models
 * through the same pipeline `skyvm run --cpu` uses, and prints the answers
 * as text or JSON (docs/fleet.md; docs/schemas/cpu-compare.schema.json and
 * cpu-baseline.schema.json).
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "cpu/fixups.h"
#include "cpu/models.h"
#include "cpu/spec.h"
#include "exitcodes.h"
#include "fleet/baseline.h"
#include "fleet/compare.h"
#include "fleet/model_file.h"
#include "util/err.h"
#include "util/text.h"

#define MAX_MODEL_VERSIONS 256
#define SPEC_MAX 2048

static const char cpu_compare_help[] =
	"Usage: skyvm cpu compare MODEL[,opts] --host DUMP [DUMP...] [--json]\n"
	"\n"
	"Can a CPU model run on each of these hosts?  MODEL[,opts] is what\n"
	"'skyvm run --cpu' takes (a named model, file:PATH, +f, -f, level=, ...); a\n"
	"DUMP is a host's 'skyvm cpu host --json' or a Firecracker\n"
	"'cpu-template-helper fingerprint dump'.  For each host the model goes through\n"
	"the same pipeline as 'skyvm run', and what it asks for (before anything is\n"
	"filtered) is held against what the host's KVM supports:\n"
	"  feature words   every requested bit must be supported\n"
	"  max leaves      CPUID 0, 0x40000000 and 0x80000000 EAX not above the host's\n"
	"  vendor          equal (host, max and file models take the host's)\n"
	"  signature       CPUID 0x40000000 must say KVMKVMKVM\n"
	"Each host is 'identical' (the host offers exactly that), 'runs' (it offers\n"
	"more) or 'incompatible', with every missing feature named as QEMU names it,\n"
	"e.g. CPUID.07H:EBX.avx512f [bit 16], and every leaf or vendor difference.\n"
	"\n"
	"Options:\n"
	"  --host DUMP...  the hosts; repeat --host or list several after one\n"
	"  --json          one JSON document (docs/schemas/cpu-compare.schema.json)\n"
	"  -h, --help      this text\n"
	"\n"
	"Exit status: 0 the model runs on every host; 4 it does not run on at least\n"
	"one; 1 a dump or the model is unusable; 2 bad command line.\n";

static const char cpu_baseline_help[] =
	"Usage: skyvm cpu baseline DUMP... [--migratable] [--json] [--output FILE]\n"
	"\n"
	"The most capable CPU model every given host can run, written as a string\n"
	"'skyvm run --cpu' and 'skyvm cpu compare' take.  A DUMP is a host's\n"
	"'skyvm cpu host --json' or a Firecracker 'cpu-template-helper fingerprint dump'.\n"
	"As libvirt's cpu-baseline:\n"
	"  1. every host must have the same CPU vendor;\n"
	"  2. the hosts' supported CPUID is ANDed feature word by feature word, and\n"
	"     each max leaf is the smallest any host has;\n"
	"  3. the named model of that vendor that needs the fewest changes to become\n"
	"     that set is chosen, preferring models that need no -f, then newer\n"
	"     models; the rest is written as MODEL,+f,...,-f,...\n"
	"The result is checked against every host with the rules of\n"
	"'skyvm cpu compare' before it is printed.\n"
	"\n"
	"Options:\n"
	"  --migratable    leave out features that block live migration (invtsc)\n"
	"  --json          one JSON document instead of the string\n"
	"                  (docs/schemas/cpu-baseline.schema.json)\n"
	"  --output FILE   also write the result as a custom model file, for\n"
	"                  --cpu file:FILE (docs/cpu-model-file.md)\n"
	"  -h, --help      this text\n"
	"\n"
	"Exit status: 0 printed; 1 a dump is unusable, the hosts have different\n"
	"vendors, or FILE cannot be written; 2 bad command line.\n";

/* One host of the fleet, as read from its dump. */
struct fleet_host {
	const char *path;
	struct cpuid_dump_meta meta;
	struct cpuid_table table; /* KVM_GET_SUPPORTED_CPUID as recorded */
	struct fleet_offer offer; /* after the host fix-ups the pipeline applies */
};

static int load_host(struct fleet_host *h, const char *path)
{
	static struct cpuid_table fixed;
	struct cpu_host_facts facts;

	memset(h, 0, sizeof(*h));
	h->path = path;
	if (cpuid_dump_load(path, &h->table, &h->meta) < 0)
		return -1;
	/* A dump describes another host: the facts of hardware KVM, not of this machine. */
	cpu_host_facts_default(&facts);
	fixed = h->table;
	if (cpu_host_fixups(&fixed, &facts) < 0)
		return err_wrap("%s", path);
	fleet_offer_from_cpuid(&h->offer, &fixed, NULL);
	return 0;
}

static int load_hosts(struct fleet_host **out, char *const *paths, size_t n)
{
	struct fleet_host *hosts = calloc(n, sizeof(*hosts));

	if (!hosts)
		return err_errno("host dumps");
	for (size_t i = 0; i < n; i++) {
		if (load_host(&hosts[i], paths[i]) < 0) {
			free(hosts);
			return -1;
		}
	}
	*out = hosts;
	return 0;
}

/* How a host is called in output: the dump's host name, else its path. */
static const char *host_label(const struct fleet_host *h)
{
	return h->meta.name[0] ? h->meta.name : h->path;
}

/* What `spec` asks of a host: the pipeline's model and requested features there. */
static int demand_on(const char *spec, const struct fleet_host *h, struct fleet_demand *d)
{
	static struct cpu_result result; /* large: keep it off the stack */
	struct cpu_topology topo = { .cpus = 1 };
	struct cpu_host_facts facts;

	cpu_host_facts_default(&facts);
	if (cpu_configure_with(spec, &h->table, &facts, &topo, &result, NULL) < 0)
		return -1;
	fleet_demand_from_model(d, &result.def, &result.requested);
	return 0;
}

/* ---- JSON pieces shared by both commands */

static json_t *json_hex(uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
	return json_string(buf);
}

static json_t *feature_json(unsigned w, unsigned bit)
{
	const struct feature_word_info *fw = &feature_words[w];
	const struct cpu_feature *f = cpu_feature_at((enum feature_word)w, bit);
	char label[96], subleaf[16];

	fleet_feature_label((enum feature_word)w, bit, label, sizeof(label));
	if (fw->msr) /* a feature MSR's bit (cpu/msrs.h): the MSR and the bit in it */
		return json_pack("{s:o, s:n, s:n, s:n, s:o, s:i, s:s}",
				 "name", f ? json_string(f->name) : json_null(),
				 "leaf", "subleaf", "register", "msr", json_hex(fw->msr),
				 "bit", (int)(bit + fw->msr_shift), "label", label);
	snprintf(subleaf, sizeof(subleaf), "0x%" PRIx32, fw->subleaf);
	return json_pack("{s:o, s:o, s:s, s:s, s:i, s:s}",
			 "name", f ? json_string(f->name) : json_null(),
			 "leaf", json_hex(fw->leaf),
			 "subleaf", subleaf,
			 "register", cpuid_reg_name(fw->reg),
			 "bit", (int)bit,
			 "label", label);
}

/* Every bit of `set` as feature objects, in word and bit order. */
static json_t *features_json(const struct cpu_featureset *set)
{
	json_t *a = json_array();

	for (unsigned w = 0; w < FW_COUNT; w++)
		for (unsigned bit = 0; bit < 32; bit++)
			if ((set->w[w] >> bit) & 1u)
				json_array_append_new(a, feature_json(w, bit));
	return a;
}

/* Every named bit of `set` as a list of names (each name once). */
static json_t *feature_names_json(const struct cpu_featureset *set)
{
	json_t *a = json_array();

	for (unsigned w = 0; w < FW_COUNT; w++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			const struct cpu_feature *f = cpu_feature_at((enum feature_word)w, bit);
			bool seen = false;
			size_t i;
			json_t *v;

			if (!f || !((set->w[w] >> bit) & 1u))
				continue;
			json_array_foreach(a, i, v)
				seen |= !strcmp(json_string_value(v), f->name);
			if (!seen)
				json_array_append_new(a, json_string(f->name));
		}
	}
	return a;
}

static json_t *host_json(const struct fleet_host *h)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", host_label(h), "file", h->path,
			 "vendor", h->offer.vendor, "model_id", h->meta.model_id,
			 "source", h->meta.source);
}

static int print_json(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (rc < 0)
		return cli_error("writing JSON failed");
	putchar('\n');
	return 0;
}

/* ---- compare */

/* One difference other than a missing feature: field, model's value, host's value. */
struct difference {
	const char *field;
	char model[64], host[64];
	char message[256];
};

static size_t differences_of(const struct fleet_demand *d, const struct fleet_offer *o,
			     const struct fleet_comparison *c, struct difference *out)
{
	size_t n = 0;
	char a[64], b[64];

	if (c->vendor_differs) {
		out[n].field = "vendor";
		/* a dump's leaf 0 bytes: escaped for the terminal */
		text_escape(out[n].model, sizeof(out[n].model), d->vendor);
		text_escape(out[n].host, sizeof(out[n].host), o->vendor);
		snprintf(out[n].message, sizeof(out[n].message),
			 "vendor: the model is %s, the host is %s", out[n].model, out[n].host);
		n++;
	}
	if (c->level_exceeds) {
		out[n].field = "level";
		snprintf(out[n].model, sizeof(out[n].model), "0x%08" PRIx32, d->level);
		snprintf(out[n].host, sizeof(out[n].host), "0x%08" PRIx32, o->level);
		snprintf(out[n].message, sizeof(out[n].message),
			 "max basic leaf (CPUID.00H:EAX): the model needs %s, the host has %s",
			 out[n].model, out[n].host);
		n++;
	}
	if (c->xlevel_exceeds) {
		out[n].field = "xlevel";
		snprintf(out[n].model, sizeof(out[n].model), "0x%08" PRIx32, d->xlevel);
		snprintf(out[n].host, sizeof(out[n].host), "0x%08" PRIx32, o->xlevel);
		snprintf(out[n].message, sizeof(out[n].message),
			 "max extended leaf (CPUID.80000000H:EAX): the model needs %s, "
			 "the host has %s", out[n].model, out[n].host);
		n++;
	}
	if (c->hv_level_exceeds) {
		out[n].field = "hv_level";
		snprintf(out[n].model, sizeof(out[n].model), "0x%08" PRIx32, d->hv_level);
		snprintf(out[n].host, sizeof(out[n].host), "0x%08" PRIx32, o->hv_level);
		snprintf(out[n].message, sizeof(out[n].message),
			 "max hypervisor leaf (CPUID.40000000H:EAX): the model needs %s, "
			 "the host has %s", out[n].model, out[n].host);
		n++;
	}
	if (c->signature_differs) {
		out[n].field = "hv_signature";
		fleet_signature_text(d->hv_signature, a, sizeof(a));
		fleet_signature_text(o->hv_signature, b, sizeof(b));
		snprintf(out[n].model, sizeof(out[n].model), "%s", a);
		snprintf(out[n].host, sizeof(out[n].host), "%s", b);
		snprintf(out[n].message, sizeof(out[n].message),
			 "hypervisor signature (CPUID.40000000H:EBX,ECX,EDX): the model needs "
			 "\"%s\", the host has \"%s\"", a, b);
		n++;
	}
	return n;
}

#define MAX_DIFFERENCES 5

static void print_comparison_text(const struct fleet_host *h, const struct fleet_demand *d,
				  const struct fleet_comparison *c)
{
	struct difference diffs[MAX_DIFFERENCES];
	size_t nd = differences_of(d, &h->offer, c, diffs);
	char label[96];

	printf("%s: %s", host_label(h), fleet_verdict_name(c->verdict));
	if (c->verdict == FLEET_RUNS && c->extra_count)
		printf(" (the host offers %u more feature%s)", c->extra_count,
		       c->extra_count == 1 ? "" : "s");
	if (c->verdict == FLEET_INCOMPATIBLE)
		printf(" (%u missing feature%s, %zu other difference%s)", c->missing_count,
		       c->missing_count == 1 ? "" : "s", nd, nd == 1 ? "" : "s");
	printf("\n");
	for (unsigned w = 0; w < FW_COUNT; w++)
		for (unsigned bit = 0; bit < 32; bit++)
			if ((c->missing.w[w] >> bit) & 1u)
				printf("  host doesn't support requested feature: %s\n",
				       fleet_feature_label((enum feature_word)w, bit, label,
							   sizeof(label)));
	for (size_t i = 0; i < nd; i++)
		printf("  %s\n", diffs[i].message);
}

static json_t *comparison_json(const struct fleet_host *h, const struct fleet_demand *d,
			       const struct fleet_comparison *c)
{
	struct difference diffs[MAX_DIFFERENCES];
	size_t nd = differences_of(d, &h->offer, c, diffs);
	json_t *host = host_json(h);
	json_t *dj = json_array();

	for (size_t i = 0; i < nd; i++)
		json_array_append_new(dj, json_pack("{s:s, s:s, s:s, s:s}", "field",
						    diffs[i].field, "model", diffs[i].model,
						    "host", diffs[i].host, "message",
						    diffs[i].message));
	json_object_set_new(host, "verdict", json_string(fleet_verdict_name(c->verdict)));
	json_object_set_new(host, "missing_features", features_json(&c->missing));
	json_object_set_new(host, "differences", dj);
	json_object_set_new(host, "extra_features", feature_names_json(&c->extra));
	return host;
}

/* `--host A B --host C` and `--host=A`: every path after --host until the next option. */
static int parse_compare_args(int argc, char **argv, const char **spec, char ***paths, size_t *n,
			      bool *json)
{
	char **list = calloc((size_t)argc, sizeof(*list));
	bool in_hosts = false;

	if (!list)
		return cli_error("out of memory");
	*spec = NULL;
	*n = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			*json = true;
			in_hosts = false;
		} else if (!strcmp(a, "--host")) {
			in_hosts = true;
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
				free(list);
				return cli_usage_error("cpu compare", "--host needs a DUMP file");
			}
		} else if (!strncmp(a, "--host=", 7)) {
			list[(*n)++] = argv[i] + 7;
			in_hosts = false;
		} else if (!strncmp(a, "--", 2) || (a[0] == '-' && a[1] && !*spec && !in_hosts)) {
			free(list);
			return cli_usage_error("cpu compare", "unknown option '%s'", a);
		} else if (in_hosts) {
			list[(*n)++] = argv[i];
		} else if (!*spec) {
			*spec = a;
		} else {
			free(list);
			return cli_usage_error("cpu compare",
					       "one MODEL only ('%s' given after '%s'); hosts "
					       "follow --host", a, *spec);
		}
	}
	if (!*spec) {
		free(list);
		return cli_usage_error("cpu compare", "no MODEL given");
	}
	if (*n == 0) {
		free(list);
		return cli_usage_error("cpu compare", "no host given: --host DUMP");
	}
	*paths = list;
	return EXIT_OK;
}

/*
 * enforce makes the pipeline fail on the first host that lacks a feature;
 * compare's job is to list them all, so it is refused instead of ignored.
 */
static int check_spec(const char *spec)
{
	static struct cpu_spec parsed;

	if (cpu_spec_parse(spec, &parsed) < 0)
		return cli_error("cpu compare: %s", err_msg());
	if (parsed.enforce)
		return cli_usage_error("cpu compare", "'enforce' has no meaning here: compare "
				       "always lists every missing feature");
	return EXIT_OK;
}

static int cmd_cpu_compare(int argc, char **argv)
{
	const char *spec = NULL;
	char **paths = NULL;
	size_t n = 0, runs = 0;
	bool json = false;
	struct fleet_host *hosts = NULL;
	json_t *doc = NULL, *jhosts = NULL;
	int rc;

	if (cli_wants_help(argc, argv)) {
		fputs(cpu_compare_help, stdout);
		return EXIT_OK;
	}
	rc = parse_compare_args(argc, argv, &spec, &paths, &n, &json);
	if (rc != EXIT_OK)
		return rc;
	rc = check_spec(spec);
	if (rc != EXIT_OK)
		goto out;
	if (load_hosts(&hosts, paths, n) < 0) {
		rc = cli_error("%s", err_msg());
		goto out;
	}
	if (json) {
		doc = json_pack("{s:s}", "model", spec);
		jhosts = json_array();
	} else {
		printf("%s on %zu host%s:\n", spec, n, n == 1 ? "" : "s");
	}
	for (size_t i = 0; i < n; i++) {
		struct fleet_demand d;
		struct fleet_comparison c;

		if (demand_on(spec, &hosts[i], &d) < 0) {
			rc = cli_error("cpu compare: %s: %s", hosts[i].path, err_msg());
			goto out;
		}
		fleet_compare(&d, &hosts[i].offer, &c);
		runs += c.verdict != FLEET_INCOMPATIBLE;
		if (json)
			json_array_append_new(jhosts, comparison_json(&hosts[i], &d, &c));
		else
			print_comparison_text(&hosts[i], &d, &c);
	}
	rc = runs == n ? EXIT_OK : EXIT_CPU_INCOMPATIBLE;
	if (json) {
		json_object_set_new(doc, "runs_everywhere", json_boolean(runs == n));
		json_object_set_new(doc, "runs_on", json_integer((json_int_t)runs));
		json_object_set(doc, "hosts", jhosts);
		if (print_json(doc) < 0)
			rc = EXIT_ERROR;
		doc = NULL;
	} else {
		printf("%s runs on %zu of %zu host%s\n", spec, runs, n, n == 1 ? "" : "s");
	}
out:
	json_decref(doc);
	json_decref(jhosts);
	free(hosts);
	free(paths);
	return rc;
}

CLI_COMMAND("cpu compare", cmd_cpu_compare, "can a CPU model run on each of these hosts?");

/* ---- baseline */

struct baseline {
	char spec[SPEC_MAX];
	char model[64];                  /* the chosen named model, "" for base */
	struct cpu_featureset target;    /* what every host offers, as named features */
	struct cpu_featureset dropped;   /* unmigratable features --migratable left out */
	struct fleet_choice choice;
	uint32_t level, xlevel;
	char vendor[13];
};

/*
 * Every model version configured against the intersection: its requested
 * features are what the pipeline would really ask (KVM defaults included).
 */
static int collect_candidates(const struct cpuid_table *common, struct fleet_candidate **out,
			      size_t *n)
{
	static struct cpu_model_info info[MAX_MODEL_VERSIONS];
	static struct cpu_result result;
	struct cpu_topology topo = { .cpus = 1 };
	struct cpu_host_facts facts;
	size_t count = cpu_model_list(info, MAX_MODEL_VERSIONS);
	struct fleet_candidate *c = calloc(count ? count : 1, sizeof(*c));

	if (!c)
		return err_errno("model candidates");
	cpu_host_facts_default(&facts);
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		if (cpu_configure_with(info[i].name, common, &facts, &topo, &result, NULL) < 0)
			continue; /* a model the pipeline refuses here is no candidate */
		if (result.def.kind != CPU_DEF_NAMED)
			continue;
		c[*n].name = info[i].name;
		c[*n].version = info[i].version;
		snprintf(c[*n].vendor, sizeof(c[*n].vendor), "%s", result.def.vendor);
		c[*n].level = result.def.level;
		c[*n].xlevel = result.def.xlevel;
		c[*n].features = result.requested;
		(*n)++;
	}
	*out = c;
	return 0;
}

/* The result must pass `cpu compare` on every host; anything else is a bug here. */
static int verify_baseline(const char *spec, const struct fleet_host *hosts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fleet_demand d;
		struct fleet_comparison c;
		char label[96];

		if (demand_on(spec, &hosts[i], &d) < 0)
			return err_wrap("the baseline '%s' is refused on %s", spec, hosts[i].path);
		fleet_compare(&d, &hosts[i].offer, &c);
		if (c.verdict != FLEET_INCOMPATIBLE)
			continue;
		label[0] = '\0';
		for (unsigned w = 0; w < FW_COUNT && !label[0]; w++)
			for (unsigned bit = 0; bit < 32 && !label[0]; bit++)
				if ((c.missing.w[w] >> bit) & 1u)
					fleet_feature_label((enum feature_word)w, bit, label,
							    sizeof(label));
		return err_set("internal error: the baseline '%s' does not run on %s (%s%s)",
			       spec, hosts[i].path, label[0] ? "missing " : "max leaf, vendor or "
			       "signature", label);
	}
	return 0;
}

/*
 * The pipeline's migratable stage (on by default) drops unmigratable
 * features the options do not name.  A baseline that keeps one (no
 * --migratable) names it with +f, so `run` really gives it, from the string
 * and from a model file alike.
 */
static int name_kept_unmigratable(struct baseline *b, const struct cpuid_table *common)
{
	static struct cpu_result result;
	struct cpu_topology topo = { .cpus = 1 };
	struct cpu_host_facts facts;
	bool changed = false;

	cpu_host_facts_default(&facts);
	if (cpu_configure_with(b->spec, common, &facts, &topo, &result, NULL) < 0)
		return err_wrap("the baseline '%s'", b->spec);
	for (unsigned w = 0; w < FW_COUNT; w++) {
		uint32_t lost = result.unmigratable.w[w] & b->target.w[w];

		changed |= lost != 0;
		b->choice.add.w[w] |= lost;
	}
	if (!changed)
		return 0;
	return fleet_spec_format(b->model[0] ? b->model : "base", &b->choice.add,
				 &b->choice.remove, b->spec, sizeof(b->spec));
}

static int compute_baseline(struct baseline *b, const struct fleet_host *hosts, size_t n,
			    bool migratable)
{
	static struct cpuid_table common, fixed;
	const struct cpuid_table **tables = calloc(n, sizeof(*tables));
	const char **names = calloc(n, sizeof(*names));
	struct cpu_featureset named, unmigratable, vmm_owned;
	struct fleet_candidate *cand = NULL;
	struct cpu_host_facts facts;
	struct fleet_offer offer;
	size_t ncand = 0;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (!tables || !names) {
		err_errno("baseline");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		tables[i] = &hosts[i].table;
		names[i] = hosts[i].path;
	}
	if (fleet_intersect(tables, names, n, &common) < 0)
		goto out;

	/* What every host offers after the fix-ups, as +f/-f can write it. */
	cpu_host_facts_default(&facts);
	fixed = common;
	if (cpu_host_fixups(&fixed, &facts) < 0)
		goto out;
	fleet_offer_from_cpuid(&offer, &fixed, NULL);
	fleet_named_features(&named);
	fleet_unmigratable_features(&unmigratable);
	for (unsigned w = 0; w < FW_COUNT; w++) {
		b->target.w[w] = offer.features.w[w] & named.w[w];
		if (migratable) {
			b->dropped.w[w] = b->target.w[w] & unmigratable.w[w];
			b->target.w[w] &= ~unmigratable.w[w];
		}
	}
	b->level = offer.level;
	b->xlevel = offer.xlevel;
	snprintf(b->vendor, sizeof(b->vendor), "%s", offer.vendor);

	if (collect_candidates(&common, &cand, &ncand) < 0)
		goto out;
	fleet_vmm_owned_features(&vmm_owned);
	/* hosts whose dumps record no feature MSRs: those bits are neither added nor removed */
	for (unsigned w = 0; offer.msrs_unknown && w < FW_COUNT; w++)
		if (feature_word_is_msr((int)w))
			vmm_owned.w[w] = ~0u;
	fleet_choose_model(&b->target, &vmm_owned, b->vendor, b->level, b->xlevel, cand, ncand,
			   &b->choice);
	snprintf(b->model, sizeof(b->model), "%s",
		 b->choice.index == FLEET_NO_MODEL ? "" : cand[b->choice.index].name);
	if (fleet_spec_format(b->model[0] ? b->model : "base", &b->choice.add, &b->choice.remove,
			      b->spec, sizeof(b->spec)) < 0)
		goto out;
	if (!migratable && name_kept_unmigratable(b, &common) < 0)
		goto out;
	if (verify_baseline(b->spec, hosts, n) < 0)
		goto out;
	rc = 0;
out:
	free(cand);
	free(tables);
	free(names);
	return rc;
}

static json_t *baseline_json(const struct baseline *b, const struct fleet_host *hosts, size_t n,
			     bool migratable, const char *output)
{
	json_t *jh = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(jh, host_json(&hosts[i]));
	return json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "cpu", b->spec,
			 "model", b->model[0] ? json_string(b->model) : json_null(),
			 "vendor", b->vendor,
			 "level", json_hex(b->level),
			 "xlevel", json_hex(b->xlevel),
			 "migratable", migratable,
			 "add", feature_names_json(&b->choice.add),
			 "remove", feature_names_json(&b->choice.remove),
			 "features", feature_names_json(&b->target),
			 "dropped_unmigratable", feature_names_json(&b->dropped),
			 "output", output ? json_string(output) : json_null(),
			 "hosts", jh);
}

static int write_model_file(const char *path, const struct baseline *b,
			    const struct fleet_host *hosts, size_t n)
{
	char description[1024];
	size_t len;

	len = (size_t)snprintf(description, sizeof(description), "skyvm cpu baseline of %zu host%s:",
			       n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n && len < sizeof(description); i++)
		len += (size_t)snprintf(description + len, sizeof(description) - len, "%s %s",
					i ? "," : "", host_label(&hosts[i]));
	return fleet_model_file_write(path, b->model[0] ? b->model : "base", &b->choice.add,
				      &b->choice.remove, description);
}

static int cmd_cpu_baseline(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "migratable", no_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct baseline b;
	bool migratable = false, json = false;
	const char *output = NULL;
	struct fleet_host *hosts = NULL;
	size_t n;
	int c, rc = EXIT_OK;

	if (cli_wants_help(argc, argv)) {
		fputs(cpu_baseline_help, stdout);
		return EXIT_OK;
	}
	optind = 1;
	opterr = 0;
	/* GNU getopt permutes: options may come before or after the dumps. */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'm': migratable = true; break;
		case 'j': json = true; break;
		case 'o': output = optarg; break;
		case ':':
			return cli_usage_error("cpu baseline", "%s needs a FILE", argv[optind - 1]);
		default:
			return cli_usage_error("cpu baseline", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("cpu baseline", "no host DUMP given");
	n = (size_t)(argc - optind);
	if (load_hosts(&hosts, argv + optind, n) < 0)
		return cli_error("%s", err_msg());
	if (compute_baseline(&b, hosts, n, migratable) < 0) {
		rc = cli_error("cpu baseline: %s", err_msg());
		goto out;
	}
	if (output && write_model_file(output, &b, hosts, n) < 0) {
		rc = cli_error("cpu baseline: %s", err_msg());
		goto out;
	}
	if (json) {
		if (print_json(baseline_json(&b, hosts, n, migratable, output)) < 0)
			rc = EXIT_ERROR;
	} else {
		printf("%s\n", b.spec);
	}
out:
	free(hosts);
	return rc;
}

CLI_COMMAND("cpu baseline", cmd_cpu_baseline, "the best CPU model every given host can run");
