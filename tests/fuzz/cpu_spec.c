/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: `--cpu` feature strings (cpu/spec.c), then the spec applied
 * to a feature set and a model definition as the pipeline does.  The model
 * name is not resolved: cpu_model_resolve()'s suggestions (edit distance to
 * every model) cost 10 ms an input and are not the parser under test.
 */
#include "cpu/spec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_spec spec;
	struct cpu_featureset fs, user;
	struct cpu_def def;
	char *text = fuzz_cstring(data, size);
	int rc;

	if (!text)
		return 0;
	rc = cpu_spec_parse(text, &spec);
	fuzz_report(rc);
	if (rc == 0) {
		FUZZ_CHECK(spec.model[0] != '\0');
		FUZZ_CHECK(memchr(spec.warnings, '\0', sizeof(spec.warnings)) != NULL);
		memset(&fs, 0xff, sizeof(fs));
		cpu_spec_apply_features(&spec, &fs);
		cpu_spec_user_bits(&spec, &user);
		memset(&def, 0, sizeof(def));
		cpu_spec_apply_def(&spec, &def);
		FUZZ_CHECK(strlen(def.model_id) <= 48);
		/* -f beats everything: no minus bit survives */
		for (int w = 0; w < FW_COUNT; w++)
			FUZZ_CHECK((fs.w[w] & spec.minus.w[w]) == 0);
	}
	free(text);
	return 0;
}
