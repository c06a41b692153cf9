/* SPDX-License-Identifier: MIT */
/*
 * Edit distance between names, for "did you mean" suggestions (unknown
 * features, unknown CPU models).
 */
#ifndef SKYVM_UTIL_EDITDIST_H
#define SKYVM_UTIL_EDITDIST_H

/*
 * Levenshtein distance with case ignored and '_' equal to '-', the way
 * users misspell QEMU names.  Names longer than 62 characters are "far"
 * (1000): nothing skyvm names is that long.
 */
unsigned name_edit_distance(const char *a, const char *b);

#endif
