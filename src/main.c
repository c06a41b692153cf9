/* SPDX-License-Identifier: MIT */
/*
 * skyvm: a KVM virtual machine monitor that owns its vCPUs' CPU model.
 * main() only dispatches; every subcommand lives in src/cli/ and registers
 * itself with CLI_COMMAND().  Only main() exits the process.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exitcodes.h"
#include "vmm/vm.h"

#define SKYVM_VERSION "0.1.0"

static void print_help(FILE *f)
{
	fprintf(f, "Usage: skyvm COMMAND [ARGS...]\n"
		   "\n"
		   "A KVM virtual machine monitor that owns exactly which CPU its guests see.\n"
		   "\n"
		   "Commands:\n");
	for (const struct cli_command *c = cli_commands(); c; c = c->next)
		fprintf(f, "  %-16s %s\n", c->name, c->summary);
	fprintf(f, "\n"
		   "Run 'skyvm COMMAND --help' for a command's options.\n"
		   "Options: -h, --help (this text), --version.\n"
		   "Exit codes: 0 success, 1 error, 2 usage error; see 'skyvm run --help'\n"
		   "for the codes a guest run ends with.\n");
}

/* Number of argv words a command name spans ("cpu list" = 2). */
static int name_words(const char *name)
{
	int n = 1;

	for (; *name; name++)
		n += *name == ' ';
	return n;
}

static int name_matches(const char *name, int argc, char **argv)
{
	int words = name_words(name);
	const char *p = name;

	if (argc < words)
		return 0;
	for (int i = 0; i < words; i++) {
		size_t len = strcspn(p, " ");

		if (strlen(argv[i]) != len || strncmp(argv[i], p, len))
			return 0;
		p += len + (p[len] == ' ');
	}
	return words;
}

int main(int argc, char **argv)
{
	const struct cli_command *best = NULL;
	int best_words = 0, code;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("skyvm %s\n", SKYVM_VERSION);
		return EXIT_OK;
	}
	for (const struct cli_command *c = cli_commands(); c; c = c->next) {
		int w = name_matches(c->name, argc - 1, argv + 1);

		if (w > best_words) {
			best = c;
			best_words = w;
		}
	}
	if (!best) {
		fprintf(stderr, "skyvm: unknown command '%s'\nTry 'skyvm --help'.\n", argv[1]);
		return EXIT_USAGE;
	}
	/* argv[0] of the command is its last name word. */
	code = best->fn(argc - best_words, argv + best_words);
	/* A VM whose threads did not stop (vm_run() reported them): end now,
	 * without exit()'s flushing, which could wait on a lock one of them holds. */
	if (vm_wedged())
		_exit(code);
	return code;
}
