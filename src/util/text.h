/* SPDX-License-Identifier: MIT */
/*
 * Text from files (host names, brand strings, model names, the values an
 * error message quotes) on its way to a terminal: a control character in it
 * could move the cursor, retitle the window or hide what came before it.
 * text_escape() writes such bytes as "\xNN" and leaves everything else,
 * UTF-8 included, as it is.
 */
#ifndef SKYVM_UTIL_TEXT_H
#define SKYVM_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy `src` to dst[size] (always terminated, cut at a character boundary
 * when it does not fit), with C0 controls, DEL, the C1 controls
 * (U+0080-U+009F) and bytes that are not UTF-8 written as "\xNN", one per
 * byte.  Returns the length written.
 */
size_t text_escape(char *dst, size_t size, const char *src);

/* Escape a string in place (in a buffer of `size` bytes). */
void text_escape_inplace(char *s, size_t size);

/* True when text_escape() would change `s`. */
bool text_needs_escape(const char *s);

/* Escape the current error message (err_msg()) in place; returns -1. */
int err_escape(void);

#endif
