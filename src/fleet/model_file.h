/* SPDX-License-Identifier: MIT */
/*
 * A baseline written as a custom model file (docs/cpu-model-file.md), so
 * `skyvm run --cpu file:PATH` gives the guest exactly the baseline:
 *
 *   { "description": "skyvm cpu baseline of 3 hosts: a, b, c",
 *     "base": "Skylake-Server-v4",
 *     "features": { "+": ["avx512vnni"], "-": ["hle", "rtm"] } }
 *
 * The model's name is the file's stem, as for any model file.
 */
#ifndef SKYVM_FLEET_MODEL_FILE_H
#define SKYVM_FLEET_MODEL_FILE_H

#include "cpu/features.h"

/*
 * Write the file at `path` (replacing it).  Returns 0, or -1 with err_msg()
 * naming the path and the problem (a nameless bit, an unwritable file).
 */
int fleet_model_file_write(const char *path, const char *base, const struct cpu_featureset *add,
			   const struct cpu_featureset *remove, const char *description);
/* The file's text without the final newline (free() it), or NULL with err_msg(). */
char *fleet_model_file_text(const char *base, const struct cpu_featureset *add,
			    const struct cpu_featureset *remove, const char *description);

#endif
