/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a baseline written as a model file (fleet/model_file.c) and
 * read back by the loader `--cpu file:` uses (cpu/custom.c).  The input is
 * the "+" and "-" feature sets (FW_COUNT little-endian words each, zero
 * filled when short), then the base model name, a NUL, the description.
 * Whatever the writer accepts with a plausible base name, the reader must
 * read back as that base and those features.
 */
#include "cpu/custom.h"
#include "fleet/model_file.h"
#include "fuzz.h"
#include "util/text.h"

/* The bits `set` names, each name expanded to all its bits (as the reader does). */
static void expand(const struct cpu_featureset *set, struct cpu_featureset *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < FW_COUNT; w++)
		for (unsigned bit = 0; bit < 32; bit++) {
			const struct cpu_feature *f = cpu_feature_at((enum feature_word)w, bit);

			if (((set->w[w] >> bit) & 1) && f)
				FUZZ_CHECK(cpu_feature_name_apply(f->name, true, out) == 0);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_custom_model m;
	struct cpu_featureset sets[2], want;
	size_t n = size < sizeof(sets) ? size : sizeof(sets);
	char *rest, *base, *description, *text;
	size_t base_len;
	int rc;

	memset(sets, 0, sizeof(sets));
	memcpy(sets, data, n);
	rest = fuzz_cstring(data + n, size - n);
	if (!rest)
		return 0;
	base = rest;
	base_len = strlen(base);
	description = n + base_len + 1 <= size ? rest + base_len + 1 : rest + base_len;
	text = fleet_model_file_text(base, &sets[0], &sets[1], description);
	fuzz_report(text ? 0 : -1);
	if (text && base_len > 0 && base_len < sizeof(m.base) && !text_needs_escape(base) &&
	    strncmp(base, "file:", 5)) {
		rc = cpu_custom_parse(text, strlen(text), "fuzz.json", &m);
		if (rc < 0)
			fprintf(stderr, "written but not read back: %s\n%s\n", err_msg(), text);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(!strcmp(m.base, base) && !strcmp(m.name, "fuzz"));
		expand(&sets[0], &want);
		FUZZ_CHECK(!memcmp(&m.props.plus, &want, sizeof(want)));
		expand(&sets[1], &want);
		FUZZ_CHECK(!memcmp(&m.props.minus, &want, sizeof(want)));
		FUZZ_CHECK(m.nmods == 0);
	}
	free(text);
	free(rest);
	return 0;
}
