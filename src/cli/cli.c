/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/models.h"
#include "cpu/spec.h"
#include "exitcodes.h"
#include "util/err.h"

static struct cli_command *commands;

void cli_register(struct cli_command *c)
{
	struct cli_command **p = &commands;

	while (*p && strcmp((*p)->name, c->name) < 0)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

const struct cli_command *cli_commands(void)
{
	return commands;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("skyvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "skyvm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'skyvm %s --help'.\n", cmd);
	return EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

bool cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int cli_parse_smp(const char *text, unsigned long long max, struct cpu_topology *t)
{
	char buf[128];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		unsigned long long v;
		unsigned *dst;

		if (!eq)
			return -1;
		*eq = '\0';
		if (!strcmp(kv, "sockets"))
			dst = &t->sockets;
		else if (!strcmp(kv, "cores"))
			dst = &t->cores;
		else if (!strcmp(kv, "threads"))
			dst = &t->threads;
		else
			return -1;
		if (!cli_parse_uint(eq + 1, max, &v) || v == 0)
			return -1;
		*dst = (unsigned)v;
	}
	return 0;
}

int cli_check_cpu_spec(const char *label, const char *text)
{
	struct cpu_spec *spec = calloc(1, sizeof(*spec));
	struct cpu_def *def = calloc(1, sizeof(*def));
	int r = -1;

	if (!spec || !def) {
		cli_error("out of memory");
		goto out;
	}
	if (cpu_spec_parse(text, spec) < 0 ||
	    (!spec->model_is_file && cpu_model_resolve(spec->model, def) < 0)) {
		cli_error("%s%s: %s", label, text, err_msg());
		goto out;
	}
	r = 0;
out:
	free(spec);
	free(def);
	return r;
}
