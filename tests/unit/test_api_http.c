/* SPDX-License-Identifier: MIT */
/*
 * api/http.c: the control API's HTTP server on a unix socket, driven with raw
 * requests: routing, the 4xx answers for bad input, the body bound, the
 * socket's mode and what an existing path does to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"
#include "util/err.h"

static int calls;
static char last_body[256];

static void r_get(void *ctx, json_t *body, struct api_reply *rp)
{
	calls++;
	rp->body = json_pack("{s:s}", "state", "running");
}

static void r_put(void *ctx, json_t *body, struct api_reply *rp)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	calls++;
	snprintf(last_body, sizeof(last_body), "%s", s ? s : "(none)");
	free(s);
	if (body && json_object_get(body, "fail")) {
		api_error(rp, 409, "asked to fail");
		return;
	}
	rp->body = json_pack("{s:b}", "ok", 1);
}

static const struct api_route routes[] = {
	{ "GET", "/vm", r_get },
	{ "PUT", "/vm/thing", r_put },
};

static char sock_path[108];

static void make_path(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/skyvm-api-test-%d.sock", (int)getpid());
	unlink(sock_path);
}

static int connect_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, sock_path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send `head` then `blen` bytes of `body` (NULL: 'x'); the status and the answer's body. */
static unsigned exchange(const char *head, const char *body, size_t blen, char *out,
			 size_t outsize)
{
	static char ans[65536];
	size_t len = 0;
	unsigned status = 0;
	int fd = connect_sock();
	char *b = NULL;

	assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
	if (blen) {
		b = malloc(blen);
		assert_non_null(b);
		if (body)
			memcpy(b, body, blen);
		else
			memset(b, 'x', blen);
		/* The server may answer and close before all of it is read. */
		for (size_t off = 0; off < blen;) {
			ssize_t w = send(fd, b + off, blen - off, MSG_NOSIGNAL);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(b);
	}
	for (;;) {
		ssize_t r = read(fd, ans + len, sizeof(ans) - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	ans[len] = '\0';
	close(fd);
	assert_int_equal(sscanf(ans, "HTTP/1.1 %u", &status), 1);
	if (out) {
		const char *t = strstr(ans, "\r\n\r\n");

		snprintf(out, outsize, "%s", t ? t + 4 : "");
	}
	return status;
}

static unsigned req(const char *method, const char *path, const char *body, char *out,
		    size_t outsize)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0;

	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
		 method, path, blen);
	return exchange(head, body, blen, out, outsize);
}

static int setup(void **state)
{
	struct api_server *s;

	make_path();
	s = api_server_start(sock_path, routes, 2, NULL);
	if (!s)
		fprintf(stderr, "%s\n", err_msg());
	assert_non_null(s);
	*state = s;
	calls = 0;
	return 0;
}

static int teardown(void **state)
{
	api_server_stop(*state);
	assert_int_equal(access(sock_path, F_OK), -1); /* removed */
	return 0;
}

static void test_routes(void **state)
{
	char out[1024];

	assert_int_equal(req("GET", "/vm", NULL, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\"state\":\"running\""));
	assert_int_equal(req("PUT", "/vm/thing", "{\"a\": 1}", out, sizeof(out)), 200);
	assert_string_equal(last_body, "{\"a\":1}");
	assert_int_equal(req("PUT", "/vm/thing", NULL, out, sizeof(out)), 200);
	assert_string_equal(last_body, "(none)");
	assert_int_equal(req("PUT", "/vm/thing", "{\"fail\": true}", out, sizeof(out)), 409);
	assert_non_null(strstr(out, "asked to fail"));
	assert_int_equal(calls, 4);
}

static void test_bad_requests(void **state)
{
	char out[1024];

	assert_int_equal(req("GET", "/nope", NULL, out, sizeof(out)), 404);
	assert_non_null(strstr(out, "no such path: /nope"));
	assert_int_equal(req("PUT", "/vm", NULL, out, sizeof(out)), 405);
	assert_non_null(strstr(out, "allowed: GET"));
	assert_int_equal(req("DELETE", "/vm/thing", NULL, out, sizeof(out)), 405);
	assert_int_equal(req("PUT", "/vm/thing", "{\"a\": ", out, sizeof(out)), 400);
	assert_non_null(strstr(out, "malformed JSON"));
	assert_int_equal(req("PUT", "/vm/thing", "[1,2]", out, sizeof(out)), 400);
	assert_int_equal(req("PUT", "/vm/thing", "\"x\"", out, sizeof(out)), 400);
	assert_int_equal(calls, 0); /* no handler saw any of them */
	/* and the server still answers */
	assert_int_equal(req("GET", "/vm", NULL, out, sizeof(out)), 200);
}

static void test_body_bound(void **state)
{
	char out[1024], head[256];

	/* Declared 10 MiB: refused from the header. */
	snprintf(head, sizeof(head), "PUT /vm/thing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Length: %u\r\n\r\n", 10u << 20);
	assert_int_equal(exchange(head, NULL, 10u << 20, out, sizeof(out)), 413);
	/* Chunked, with no length: refused once the bound is passed. */
	{
		size_t n = API_MAX_BODY + 4096, hl;
		char *b = malloc(n + 64);

		assert_non_null(b);
		hl = (size_t)sprintf(b, "%zx\r\n", n);
		memset(b + hl, 'x', n);
		memcpy(b + hl + n, "\r\n0\r\n\r\n", 7);
		assert_int_equal(exchange("PUT /vm/thing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
					  "Transfer-Encoding: chunked\r\n\r\n",
					  b, hl + n + 7, out, sizeof(out)), 413);
		free(b);
	}
	assert_int_equal(calls, 0);
	assert_int_equal(req("GET", "/vm", NULL, out, sizeof(out)), 200);
}

static void test_socket_mode(void **state)
{
	struct stat st;

	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_existing_paths(void **state)
{
	struct api_server *s;
	FILE *f;

	make_path();
	/* A regular file is never replaced. */
	f = fopen(sock_path, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	assert_null(api_server_start(sock_path, routes, 2, NULL));
	assert_non_null(strstr(err_msg(), "not a socket"));
	{
		char buf[16] = "";

		f = fopen(sock_path, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "keep me\n");
	}
	unlink(sock_path);
	/* A live server's socket is refused; a stale one is replaced. */
	s = api_server_start(sock_path, routes, 2, NULL);
	assert_non_null(s);
	assert_null(api_server_start(sock_path, routes, 2, NULL));
	assert_non_null(strstr(err_msg(), "another process"));
	api_server_stop(s);
	{
		int fd = api_socket_create(sock_path);

		assert_true(fd >= 0);
		close(fd); /* left behind: stale */
	}
	s = api_server_start(sock_path, routes, 2, NULL);
	assert_non_null(s);
	api_server_stop(s);
}

/* api_handle(): the same path without a socket. */
static void test_handle_in_memory(void **state)
{
	static char big[API_MAX_BODY + 1];
	struct api_reply rp;
	char allow[64];

	calls = 0;
	api_handle(routes, 2, NULL, "GET", "/vm", NULL, 0, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 200);
	assert_string_equal(json_string_value(json_object_get(rp.body, "state")), "running");
	assert_string_equal(allow, "");
	json_decref(rp.body);

	api_handle(routes, 2, NULL, "PUT", "/vm", NULL, 0, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 405);
	assert_string_equal(allow, "GET");
	assert_non_null(json_string_value(json_object_get(rp.body, "error")));
	json_decref(rp.body);

	api_handle(routes, 2, NULL, "GET", "/nope", NULL, 0, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 404);
	json_decref(rp.body);
	/* a URL that is not UTF-8 (%ff) still gets its error message */
	api_handle(routes, 2, NULL, "GET", "/vm\xff", NULL, 0, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 404);
	assert_string_equal(json_string_value(json_object_get(rp.body, "error")),
			    "no such path: /vm?");
	json_decref(rp.body);

	api_handle(routes, 2, NULL, "PUT", "/vm/thing", "[1]", 3, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 400);
	json_decref(rp.body);
	api_handle(routes, 2, NULL, "PUT", "/vm/thing", "{\"a\":", 5, &rp, allow, sizeof(allow));
	assert_int_equal(rp.status, 400);
	json_decref(rp.body);

	memset(big, ' ', sizeof(big));
	api_handle(routes, 2, NULL, "PUT", "/vm/thing", big, sizeof(big), &rp, allow,
		   sizeof(allow));
	assert_int_equal(rp.status, 413);
	json_decref(rp.body);
	assert_int_equal(calls, 1);

	api_handle(routes, 2, NULL, "PUT", "/vm/thing", "{\"fail\":1}", 10, &rp, allow,
		   sizeof(allow));
	assert_int_equal(rp.status, 409);
	assert_string_equal(last_body, "{\"fail\":1}");
	json_decref(rp.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test(test_existing_paths),
		cmocka_unit_test(test_handle_in_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
