/* SPDX-License-Identifier: MIT */
/*
 * Subcommands register themselves in the file that defines them:
 *
 *     static int cmd_cpu_list(int argc, char **argv) { ... }
 *     CLI_COMMAND("cpu list", cmd_cpu_list, "list CPU models and versions");
 *
 * main() matches the longest registered name against argv ("cpu list"
 * consumes two words), passes the remaining arguments (argv[0] = the
 * command name) and exits with the returned code (src/exitcodes.h).
 * A command prints its own errors as "skyvm: <message>" via cli_error().
 */
#ifndef SKYVM_CLI_CLI_H
#define SKYVM_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

typedef int (*cli_fn)(int argc, char **argv);

struct cli_command {
	const char *name;    /* "run", "cpu list" */
	cli_fn fn;
	const char *summary; /* one line for `skyvm --help` */
	struct cli_command *next;
};

void cli_register(struct cli_command *c);
const struct cli_command *cli_commands(void); /* sorted by name */

#define CLI_COMMAND(name_, fn_, summary_)                                       \
	static struct cli_command cli_cmd_##fn_ = { name_, fn_, summary_, NULL }; \
	__attribute__((constructor)) static void cli_register_##fn_(void)      \
	{                                                                       \
		cli_register(&cli_cmd_##fn_);                                   \
	}

/* "skyvm: <fmt>\n" on stderr. Returns EXIT_ERROR for `return cli_error(...)`. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "skyvm <cmd>: <fmt>\nTry 'skyvm <cmd> --help'.\n". Returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
struct cpu_topology;
/*
 * "--smp sockets=S,cores=C,threads=T" (any subset, any order), each 1..max;
 * fills the fields named.  Returns 0, or -1 on any malformed part.
 */
int cli_parse_smp(const char *text, unsigned long long max, struct cpu_topology *t);
/*
 * Parse a --cpu string and resolve its model before KVM is touched, so a
 * misspelt model or feature is reported (with suggestions) on any machine;
 * filtering against the host comes later, in the pipeline.  On error prints
 * "skyvm: <label><text>: <why>" and returns -1.
 */
int cli_check_cpu_spec(const char *label, const char *text);
/* Parse an unsigned decimal; false on junk, overflow or > max. */
bool cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

#endif
