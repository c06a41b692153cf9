/* SPDX-License-Identifier: MIT */
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

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

void console_close(struct console *c)
{
	if (c->raw_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_termios);
	c->raw_tty = false;
	if (c->owns_fd && c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	pthread_mutex_destroy(&c->lock);
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a closed pipe must not stop the guest */
		p += n;
		len -= (size_t)n;
	}
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
	if (c->out_fd >= 0 && len)
		write_all(c->out_fd, buf, len);
	c->written += len;
	pthread_mutex_unlock(&c->lock);
	return ok;
}
