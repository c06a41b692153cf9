/* SPDX-License-Identifier: MIT */
/*
 * The control API's transport: HTTP/1.1 with JSON bodies on a unix socket,
 * served by libmicrohttpd (Debian's libmicrohttpd) on a listening socket skyvm
 * creates itself (MHD_OPTION_LISTEN_SOCKET), since MHD binds only TCP on its own.
 *
 * The socket: created mode 0600 (umask during bind, then chmod); an existing
 * socket nobody answers on (a stale one) is replaced, one a server answers on
 * is refused, and any other existing file is never replaced.
 *
 * Requests: a route table (method, path) -> handler.  Bodies are bounded
 * (API_MAX_BODY: 413 beyond it, read no further); a body a route does not take
 * must be empty or JSON; unknown paths are 404, a known path with another
 * method 405 (with Allow).  Handlers run one at a time on MHD's thread.
 * Every answer is JSON; an error is {"error": "<message>"}.
 */
#ifndef SKYVM_API_HTTP_H
#define SKYVM_API_HTTP_H

#include <jansson.h>
#include <stddef.h>

#define API_MAX_BODY (64u * 1024)

struct api_reply {
	unsigned status;          /* 200, 4xx, 5xx */
	json_t *body;             /* owned by the reply; NULL: {} */
};

/* body: the parsed JSON object (NULL for an empty body). */
typedef void (*api_fn)(void *ctx, json_t *body, struct api_reply *rp);

struct api_route {
	const char *method;       /* "GET", "PUT" */
	const char *path;         /* "/vm/pause" */
	api_fn fn;
};

struct api_server;

/* Listen on `path` (rules above); the fd, or -1 (err_set). */
int api_socket_create(const char *path);
/*
 * Serve `routes` (n of them) on a new socket at `path` from MHD's thread.
 * Returns the server or NULL (err_set).
 */
struct api_server *api_server_start(const char *path, const struct api_route *routes,
				    size_t n, void *ctx);
/* Stop serving (waits for a request in flight), remove the socket. */
void api_server_stop(struct api_server *s);

/* Helpers for handlers: an error answer {"error": msg}. */
/*
 * The request path without a socket: route `method url` to its handler in
 * routes[0..n) with ctx, parsing `len` bytes of body (at most API_MAX_BODY,
 * a JSON object).  Fills rp (the caller json_decref()s rp->body) and, for a
 * 405, the Allow header's value into allow (allow_size > 0; "" otherwise).  The server's
 * dispatch, and what tests and the api_request fuzz target call.
 */
void api_handle(const struct api_route *routes, size_t n, void *ctx, const char *method,
		const char *url, const char *body, size_t len, struct api_reply *rp, char *allow,
		size_t allow_size);

void api_error(struct api_reply *rp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
