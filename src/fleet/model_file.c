/* SPDX-License-Identifier: MIT */
/*
 * A baseline as a custom model file: base model plus "+" and "-" features.
 */
#include "fleet/model_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/compare.h"
#include "util/err.h"

/* The names of the bits of `set`, each once ("kvmclock" names two bits). */
static int names_json(const struct cpu_featureset *set, json_t *out)
{
	for (unsigned w = 0; w < FW_COUNT; w++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			const struct cpu_feature *f;
			bool seen = false;
			size_t i;
			json_t *v;

			if (!((set->w[w] >> bit) & 1u))
				continue;
			f = cpu_feature_at((enum feature_word)w, bit);
			if (!f) {
				char label[96];

				return err_set("%s has no name: a model file cannot list it",
					       fleet_feature_label((enum feature_word)w, bit, label,
								   sizeof(label)));
			}
			json_array_foreach(out, i, v)
				seen |= !strcmp(json_string_value(v), f->name);
			if (!seen && json_array_append_new(out, json_string(f->name)) < 0)
				return err_set("out of memory");
		}
	}
	return 0;
}

char *fleet_model_file_text(const char *base, const struct cpu_featureset *add,
			    const struct cpu_featureset *remove, const char *description)
{
	json_t *plus = json_array(), *minus = json_array();
	json_t *doc = NULL;
	char *text = NULL;

	if (!plus || !minus) {
		err_set("out of memory");
		goto out;
	}
	if (names_json(add, plus) < 0 || names_json(remove, minus) < 0)
		goto out;
	doc = json_pack("{s:s, s:s, s:{s:O, s:O}}", "description", description, "base", base,
			"features", "+", plus, "-", minus);
	if (!doc) {
		/* json_pack refuses strings that are not UTF-8; nothing else fails here */
		err_set("the base model name or description is not UTF-8 (or out of memory)");
		goto out;
	}
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		err_set("out of memory");
out:
	json_decref(doc);
	json_decref(plus);
	json_decref(minus);
	return text;
}

int fleet_model_file_write(const char *path, const char *base, const struct cpu_featureset *add,
			   const struct cpu_featureset *remove, const char *description)
{
	char *text = fleet_model_file_text(base, add, remove, description);
	FILE *f;
	int rc = -1;

	if (!text)
		return err_wrap("%s", path);
	f = fopen(path, "we");
	if (!f) {
		err_errno("%s", path);
		goto out;
	}
	if (fputs(text, f) == EOF || fputc('\n', f) == EOF) {
		err_errno("%s: write", path);
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		err_errno("%s: write", path);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}
