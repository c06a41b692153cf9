/* SPDX-License-Identifier: MIT */
/*
 * The guest console's character backend (--console stdio|file:PATH|none):
 * output with the --max-output limit that stops a guest flooding it, and
 * stdin input (raw mode when stdin is a terminal, restored at exit).
 *
 * Output never blocks a vCPU.  A regular file is written directly.  A pipe,
 * socket or terminal is made non-blocking: what the reader does not take at
 * once waits in a bounded buffer (CONSOLE_BUFFER) that the event loop writes
 * out when the descriptor is writable; what does not fit is dropped and
 * counted (console_report()).  A reader that has gone (EPIPE; SIGPIPE is
 * ignored) makes all further output dropped.
 *
 * Input: the event loop reads stdin and hands bytes to the device that took
 * the console input (console_set_input(): the UART, or virtio-console).  On a
 * terminal, Ctrl-A x ends the VM and Ctrl-A Ctrl-A sends one Ctrl-A.
 */
#ifndef SKYVM_VMM_CONSOLE_H
#define SKYVM_VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <termios.h>

struct event_loop;

#define CONSOLE_BUFFER (4u << 20)
#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

typedef void (*console_input_fn)(void *opaque, const uint8_t *buf, size_t len);

struct console {
	int out_fd;       /* -1: discard */
	bool owns_fd;
	bool out_async;   /* pipe/socket/tty: non-blocking, buffered, written by the loop */
	int out_flags;    /* fcntl flags to restore */
	bool out_gone;    /* the reader closed it (EPIPE) or it failed */
	bool out_armed;   /* EPOLLOUT requested */
	bool finished;    /* console_finish() ran on an async descriptor: drop the rest */
	uint8_t *buf;     /* ring of CONSOLE_BUFFER bytes (async only) */
	size_t head, len;
	uint64_t written; /* guest bytes accepted */
	uint64_t dropped; /* guest bytes never written out */
	uint64_t max;     /* 0: unlimited */
	bool over_limit;
	bool input;       /* read stdin */
	bool raw_tty;     /* stdin put in raw mode: restore */
	bool escapes;     /* Ctrl-A commands on (stdin is a terminal) */
	bool escape;      /* Ctrl-A seen */
	struct termios saved_termios;
	console_input_fn in_fn;
	void *in_opaque;
	bool in_exclusive;
	void (*quit)(void *ctx); /* Ctrl-A x */
	void *quit_ctx;
	struct event_loop *loop;
	pthread_mutex_t lock;
};

/* Parse and open "stdio", "file:PATH" or "none". */
int console_open(struct console *c, const char *spec, uint64_t max_output);
void console_close(struct console *c);
/* Write guest output; returns false once the limit has been passed. Never blocks. */
bool console_write(struct console *c, const void *buf, size_t len);
/*
 * Route console input to fn(opaque).  `exclusive`: this device takes it even
 * when another (non-exclusive) one has (virtio-console over the UART).
 */
void console_set_input(struct console *c, console_input_fn fn, void *opaque, bool exclusive);
void console_clear_input(struct console *c, void *opaque);
/*
 * Start serving the console from the loop: raw mode on a terminal, stdin
 * reader, output writer.  quit(ctx) is Ctrl-A x.
 */
int console_attach(struct console *c, struct event_loop *loop, void (*quit)(void *ctx),
		   void *ctx);
/*
 * After the loop has stopped: write out what is buffered while the reader
 * takes it (giving up after `stall_ms` without progress), restore the
 * terminal and the descriptor's flags.
 */
void console_finish(struct console *c, int stall_ms);
/* Feed bytes as if typed (escape handling included); for the loop and tests. */
void console_input(struct console *c, const uint8_t *buf, size_t len);
/* "skyvm: N bytes of console output dropped ..." when any were. */
void console_report(const struct console *c, FILE *f);

#endif
