/* SPDX-License-Identifier: MIT */
#include "util/editdist.h"

#include <ctype.h>
#include <string.h>

static char fold(char c)
{
	if (c == '_')
		return '-';
	return (char)tolower((unsigned char)c);
}

unsigned name_edit_distance(const char *a, const char *b)
{
	unsigned row[64];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 63 || lb >= 63)
		return 1000;
	/* One row of the dynamic-programming matrix, updated in place. */
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (fold(a[i - 1]) != fold(b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}
