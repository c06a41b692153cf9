/* SPDX-License-Identifier: MIT */
/*
 * Error reporting without exiting.
 *
 * Library code never exits the process and never prints errors itself: it
 * records one message with err_set() and returns -1 to its caller.  Whoever
 * decides the program's fate (main(), a CLI command, a test) reads it with
 * err_msg().  The buffer is per thread, so vCPU threads do not trample each
 * other.  err_wrap() prefixes context to the current message on the way up:
 *
 *     if (read_file(path, &buf) < 0)
 *             return err_wrap("kernel %s", path);   -> "kernel x: open: ENOENT"
 */
#ifndef SKYVM_UTIL_ERR_H
#define SKYVM_UTIL_ERR_H

#define ERR_MSG_MAX 4096

/* Record a message (printf-style); always returns -1. */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like err_set() and appends ": strerror(errno)". Returns -1. */
int err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix "<context>: " to the current message. Returns -1. */
int err_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The current thread's last message ("" when none). */
const char *err_msg(void);
void err_clear(void);

#endif
