/* SPDX-License-Identifier: MIT */
/*
 * `skyvm ctl PATH VERB [ARGS]`: a client of the control API (docs/api.md).
 * One HTTP/1.1 request per call on the unix socket, "Connection: close", the
 * answer read to its end (bounded) and its JSON body printed.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exitcodes.h"

#define CTL_MAX_ANSWER (4u << 20)
#define CTL_TIMEOUT_S 300 /* a snapshot of a large guest takes a while */

static const char ctl_help[] =
	"Usage: skyvm ctl SOCKET VERB [ARGS]\n"
	"\n"
	"Talk to a VM started with 'skyvm run --api SOCKET'.  Prints the answer's JSON.\n"
	"\n"
	"Verbs:\n"
	"  info                  GET /vm: state, config, devices, CPU model, CPUID digests\n"
	"  pause                 PUT /vm/pause\n"
	"  resume [--clock running|stopped]\n"
	"                        PUT /vm/resume (default: stopped, the guest's clock did not\n"
	"                        run while paused)\n"
	"  shutdown              PUT /vm/shutdown (ACPI power button)\n"
	"  stop                  PUT /vm/stop (hard stop)\n"
	"  snapshot DIR          PUT /vm/snapshot {\"path\": DIR}\n"
	"  migrate TO            PUT /vm/migrate {\"to\": TO} (unix:PATH or tcp:HOST:PORT)\n"
	"\n"
	"Exit status: 0 the VM answered 2xx; 1 it answered an error (printed on stderr)\n"
	"or could not be reached; 2 bad command line.\n";

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		cli_error("ctl %s: socket path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cli_error("ctl: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		cli_error("ctl %s: cannot connect: %s (is 'skyvm run --api %s' running?)", path,
			  strerror(errno), path);
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int request(const char *sock, const char *method, const char *path, const char *body)
{
	size_t blen = body ? strlen(body) : 0, len = 0;
	char head[512], *ans = malloc(CTL_MAX_ANSWER + 1);
	const char *text;
	unsigned status = 0;
	int fd, code;
	json_t *j;

	if (!ans)
		return cli_error("out of memory");
	fd = connect_to(sock);
	if (fd < 0) {
		free(ans);
		return EXIT_ERROR;
	}
	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 method, path, blen);
	if (write_all(fd, head, strlen(head)) < 0 || (blen && write_all(fd, body, blen) < 0)) {
		code = cli_error("ctl %s: sending the request: %s", sock, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, ans + len, CTL_MAX_ANSWER - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			code = cli_error("ctl %s: reading the answer: %s", sock, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == CTL_MAX_ANSWER) {
			code = cli_error("ctl %s: answer over %u bytes", sock, CTL_MAX_ANSWER);
			goto out;
		}
	}
	ans[len] = '\0';
	if (sscanf(ans, "HTTP/1.%*u %u", &status) != 1 || !(text = strstr(ans, "\r\n\r\n"))) {
		code = cli_error("ctl %s: not an HTTP answer", sock);
		goto out;
	}
	text += 4;
	j = json_loads(text, 0, NULL);
	if (status >= 200 && status < 300) {
		if (j)
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		else
			fputs(text, stdout);
		fputc('\n', stdout);
		code = EXIT_OK;
	} else {
		const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;

		code = cli_error("%s %s: %u: %s", method, path, status, e ? e : text);
	}
	json_decref(j);
out:
	close(fd);
	free(ans);
	return code;
}

static int cmd_ctl(int argc, char **argv)
{
	const char *sock, *verb;
	char *body = NULL;
	int code;

	if (cli_wants_help(argc, argv)) {
		fputs(ctl_help, stdout);
		return EXIT_OK;
	}
	if (argc < 3)
		return cli_usage_error("ctl", "expected SOCKET VERB");
	sock = argv[1];
	verb = argv[2];
	if (!strcmp(verb, "info") && argc == 3)
		return request(sock, "GET", "/vm", NULL);
	if (!strcmp(verb, "pause") && argc == 3)
		return request(sock, "PUT", "/vm/pause", NULL);
	if (!strcmp(verb, "shutdown") && argc == 3)
		return request(sock, "PUT", "/vm/shutdown", NULL);
	if (!strcmp(verb, "stop") && argc == 3)
		return request(sock, "PUT", "/vm/stop", NULL);
	if (!strcmp(verb, "resume") && argc == 3)
		return request(sock, "PUT", "/vm/resume", NULL);
	if (!strcmp(verb, "resume") && argc == 5 && !strcmp(argv[3], "--clock")) {
		if (strcmp(argv[4], "running") && strcmp(argv[4], "stopped"))
			return cli_usage_error("ctl", "--clock: expected running or stopped");
		json_t *j = json_pack("{s:s}", "clock", argv[4]);

		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	} else if ((!strcmp(verb, "snapshot") || !strcmp(verb, "migrate")) && argc == 4) {
		json_t *j = json_pack("{s:s}", verb[0] == 's' ? "path" : "to", argv[3]);

		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	} else {
		return cli_usage_error("ctl", "unknown verb or wrong arguments: '%s'", verb);
	}
	if (!body)
		return cli_error("out of memory");
	code = request(sock, "PUT", !strcmp(verb, "resume") ? "/vm/resume"
				    : !strcmp(verb, "snapshot") ? "/vm/snapshot" : "/vm/migrate", body);
	free(body);
	return code;
}

CLI_COMMAND("ctl", cmd_ctl, "talk to a running VM's control API (skyvm run --api)")
