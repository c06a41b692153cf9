/* SPDX-License-Identifier: MIT */
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/event_loop.h"

#define STDIN_SLURP_MAX (1u << 20) /* stdin that epoll cannot watch (a file): read at start */

int console_open(struct console *c, const char *spec, uint64_t max_output)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = -1;
	c->max = max_output;
	pthread_mutex_init(&c->lock, NULL);
	if (!spec || !strcmp(spec, "stdio")) {
		c->out_fd = STDOUT_FILENO;
		c->input = true;
		return 0;
	}
	if (!strcmp(spec, "none"))
		return 0;
	if (!strncmp(spec, "file:", 5) && spec[5]) {
		c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0)
			return err_errno("--console %s: cannot open", spec);
		c->owns_fd = true;
		return 0;
	}
	return err_set("--console '%s': expected stdio, file:PATH or none", spec);
}

static void restore(struct console *c)
{
	if (c->raw_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_termios);
	c->raw_tty = false;
	if (c->out_async && c->out_fd >= 0)
		fcntl(c->out_fd, F_SETFL, c->out_flags);
	c->out_async = false;
}

void console_close(struct console *c)
{
	restore(c);
	if (c->owns_fd && c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	free(c->buf);
	c->buf = NULL;
	pthread_mutex_destroy(&c->lock);
}

/* A blocking descriptor (regular file): everything, unless it fails. */
static void write_all(struct console *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(c->out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->out_gone = true; /* a closed pipe must not stop the guest */
			c->dropped += len;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Non-blocking write of up to len bytes: how many went, 0 on EAGAIN. */
static size_t try_write(struct console *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	do
		n = write(c->out_fd, p, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (size_t)n;
	if (errno != EAGAIN) /* EWOULDBLOCK is EAGAIN on Linux */
		c->out_gone = true; /* EPIPE and friends: the reader is gone */
	return 0;
}

/* Write from the ring while the descriptor takes it.  Lock held. */
static void flush_ring(struct console *c)
{
	while (c->len && !c->out_gone) {
		size_t chunk = CONSOLE_BUFFER - c->head;
		size_t n;

		if (chunk > c->len)
			chunk = c->len;
		n = try_write(c, c->buf + c->head, chunk);
		if (!n)
			break;
		c->head = (c->head + n) % CONSOLE_BUFFER;
		c->len -= n;
	}
	if (c->out_gone) {
		c->dropped += c->len;
		c->len = 0;
	}
}

static void arm(struct console *c, bool on)
{
	if (!c->loop || c->out_armed == on || c->out_gone)
		return;
	if (event_loop_modify(c->loop, c->out_fd, on ? EPOLLOUT : 0) == 0)
		c->out_armed = on;
}

static void write_async(struct console *c, const uint8_t *p, size_t len)
{
	if (!c->len) {
		size_t n = try_write(c, p, len);

		p += n;
		len -= n;
	}
	if (c->out_gone) {
		c->dropped += len;
		return;
	}
	if (len > CONSOLE_BUFFER - c->len) {
		c->dropped += len - (CONSOLE_BUFFER - c->len);
		len = CONSOLE_BUFFER - c->len;
	}
	for (size_t done = 0; done < len;) {
		size_t tail = (c->head + c->len) % CONSOLE_BUFFER;
		size_t chunk = CONSOLE_BUFFER - tail;

		if (chunk > len - done)
			chunk = len - done;
		memcpy(c->buf + tail, p + done, chunk);
		c->len += chunk;
		done += chunk;
	}
	if (c->len)
		arm(c, true);
}

bool console_write(struct console *c, const void *buf, size_t len)
{
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	if (c->max && c->written + len > c->max) {
		len = c->written < c->max ? (size_t)(c->max - c->written) : 0;
		c->over_limit = true;
		ok = false;
	}
	c->written += len;
	if (c->out_fd < 0 || !len) {
		/* discarded by choice: --console none */
	} else if (c->out_gone || c->finished) {
		c->dropped += len;
	} else if (c->out_async) {
		write_async(c, buf, len);
	} else {
		write_all(c, buf, len);
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void console_set_input(struct console *c, console_input_fn fn, void *opaque, bool exclusive)
{
	pthread_mutex_lock(&c->lock);
	if (!c->in_fn || exclusive || !c->in_exclusive) {
		c->in_fn = fn;
		c->in_opaque = opaque;
		c->in_exclusive = exclusive;
	}
	pthread_mutex_unlock(&c->lock);
}

void console_clear_input(struct console *c, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	if (c->in_opaque == opaque) {
		c->in_fn = NULL;
		c->in_opaque = NULL;
		c->in_exclusive = false;
	}
	pthread_mutex_unlock(&c->lock);
}

static void deliver(struct console *c, const uint8_t *buf, size_t len)
{
	console_input_fn fn;
	void *opaque;

	if (!len)
		return;
	pthread_mutex_lock(&c->lock);
	fn = c->in_fn;
	opaque = c->in_opaque;
	pthread_mutex_unlock(&c->lock);
	if (fn)
		fn(opaque, buf, len);
}

void console_input(struct console *c, const uint8_t *buf, size_t len)
{
	size_t start = 0;

	if (!c->escapes) {
		deliver(c, buf, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (!c->escape) {
			if (buf[i] == CONSOLE_ESCAPE) {
				deliver(c, buf + start, i - start);
				c->escape = true;
				start = i + 1;
			}
			continue;
		}
		c->escape = false;
		start = i + 1;
		if (buf[i] == 'x' || buf[i] == 'X') {
			if (c->quit)
				c->quit(c->quit_ctx);
			return; /* the rest is for a VM that is ending */
		}
		if (buf[i] == CONSOLE_ESCAPE) {
			deliver(c, buf + i, 1);
		} else {
			/* Not a command: both bytes go to the guest. */
			static const uint8_t esc = CONSOLE_ESCAPE;

			deliver(c, &esc, 1);
			deliver(c, buf + i, 1);
		}
	}
	deliver(c, buf + start, len - start);
}

static void on_stdin(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n > 0) {
		console_input(c, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_loop_remove(c->loop, STDIN_FILENO); /* EOF: the guest keeps running */
}

static void on_output(void *opaque, uint32_t events)
{
	struct console *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (events & (EPOLLERR | EPOLLHUP))
		c->out_gone = true;
	flush_ring(c);
	if (c->out_gone) {
		/* epoll reports ERR/HUP whatever it is asked for: stop watching. */
		event_loop_remove(c->loop, c->out_fd);
		c->out_armed = false;
	} else if (!c->len) {
		arm(c, false);
	}
	pthread_mutex_unlock(&c->lock);
}

static void enter_raw_mode(struct console *c)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &c->saved_termios) < 0)
		return;
	t = c->saved_termios;
	cfmakeraw(&t);
	t.c_oflag |= OPOST; /* keep "\n" -> "\r\n" for the host terminal */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
		c->raw_tty = true;
		c->escapes = true;
	}
}

static void slurp_stdin(struct console *c)
{
	uint8_t buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < STDIN_SLURP_MAX && (n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		console_input(c, buf, (size_t)n);
		total += (size_t)n;
	}
}

int console_attach(struct console *c, struct event_loop *loop, void (*quit)(void *ctx),
		   void *ctx)
{
	struct stat st;

	c->loop = loop;
	c->quit = quit;
	c->quit_ctx = ctx;
	if (c->out_fd >= 0 && fstat(c->out_fd, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode)) {
		c->buf = malloc(CONSOLE_BUFFER);
		c->out_flags = fcntl(c->out_fd, F_GETFL);
		if (c->buf && c->out_flags >= 0 &&
		    event_loop_add(loop, c->out_fd, 0, on_output, c) == 0) {
			if (fcntl(c->out_fd, F_SETFL, c->out_flags | O_NONBLOCK) == 0)
				c->out_async = true;
			else
				event_loop_remove(loop, c->out_fd);
		}
		/* Otherwise blocking writes, as before: still correct, not bounded. */
	}
	if (c->input) {
		enter_raw_mode(c);
		if (event_loop_add(loop, STDIN_FILENO, EPOLLIN, on_stdin, c) < 0) {
			if (errno == EPERM)
				slurp_stdin(c); /* a regular file: no readiness to wait for */
			/* EBADF: no stdin at all; nothing to read */
		}
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void console_finish(struct console *c, int stall_ms)
{
	pthread_mutex_lock(&c->lock);
	if (c->out_async) {
		long last = now_ms();

		flush_ring(c);
		while (c->len && !c->out_gone) {
			struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
			long left = last + stall_ms - now_ms();
			size_t before = c->len;

			if (left <= 0)
				break;
			if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
				break;
			flush_ring(c);
			if (c->len < before)
				last = now_ms();
		}
		c->dropped += c->len;
		c->len = 0;
		/* Blocking again from here: later output (devices' last flush) is dropped
		 * rather than allowed to wait for a reader that stalled. */
		c->finished = true;
	}
	restore(c);
	c->loop = NULL;
	pthread_mutex_unlock(&c->lock);
}

void console_report(const struct console *c, FILE *f)
{
	if (c->dropped)
		fprintf(f, "skyvm: %llu bytes of console output dropped: %s\n",
			(unsigned long long)c->dropped,
			c->out_gone ? "the reader closed the console"
				    : "the reader did not keep up");
}
