/* SPDX-License-Identifier: MIT */
#ifndef SKYVM_UTIL_FILE_H
#define SKYVM_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read a whole regular file into a malloc'ed buffer (*buf, *len); `what`
 * names it in errors ("kernel", "initrd").  Files larger than `max` bytes
 * are refused.  Returns 0 or -1 (err_msg).
 */
int file_read_all(const char *path, const char *what, size_t max, uint8_t **buf, size_t *len);

#endif
