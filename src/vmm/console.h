/* SPDX-License-Identifier: MIT */
/*
 * Where guest console output goes (--console stdio|file:PATH|none), with the
 * --max-output limit that stops a guest flooding it, and stdin input (raw
 * mode when stdin is a terminal, restored at exit).
 */
#ifndef SKYVM_VMM_CONSOLE_H
#define SKYVM_VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

struct console {
	int out_fd;       /* -1: discard */
	bool owns_fd;
	uint64_t written;
	uint64_t max;     /* 0: unlimited */
	bool over_limit;
	bool input;       /* read stdin */
	bool raw_tty;     /* stdin put in raw mode: restore */
	struct termios saved_termios;
	pthread_mutex_t lock;
};

/* Parse and open "stdio", "file:PATH" or "none". */
int console_open(struct console *c, const char *spec, uint64_t max_output);
void console_close(struct console *c);
/* Write guest output; returns false once the limit has been passed. */
bool console_write(struct console *c, const void *buf, size_t len);

#endif
