/* SPDX-License-Identifier: MIT */
/* The control API's HTTP server over a unix socket (api/http.h). */
#include "api/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/sandbox.h"

#define API_MAX_CONNECTIONS 16
#define API_CONNECTION_TIMEOUT_S 10

struct api_server {
	struct MHD_Daemon *d;
	int fd;
	char *path;
	const struct api_route *routes;
	size_t nroutes;
	void *ctx;
};

/* Per request: the body as it arrives. */
struct api_conn {
	char *buf;
	size_t len;
	bool too_big;
};

void api_error(struct api_reply *rp, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp->status = status;
	json_decref(rp->body);
	rp->body = json_pack("{s:s}", "error", msg);
	if (!rp->body) {
		/* Not UTF-8 (a URL's %ff, echoed back): JSON cannot carry it as is. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		rp->body = json_pack("{s:s}", "error", msg);
	}
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return err_set("--api %s: a unix socket path has at most %zu bytes", path,
			       sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

/* Does a server answer on the socket at path? */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

int api_socket_create(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, r;

	if (fill_addr(path, &sa) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set("--api %s: the path exists and is not a socket; it is left "
				       "alone", path);
		if (socket_alive(&sa))
			return err_set("--api %s: another process serves this socket", path);
		if (unlink(path) < 0)
			return err_errno("--api %s: removing the stale socket", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_errno("--api: socket");
	old = umask(0177); /* the socket is born 0600 */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		err_errno("--api %s: bind", path);
		close(fd);
		return -1;
	}
	if (chmod(path, 0600) < 0 || listen(fd, API_MAX_CONNECTIONS) < 0) {
		err_errno("--api %s", path);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body,
				 const char *allow)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *full;

	if (!text)
		text = strdup("{\"error\":\"could not encode the answer\"}");
	if (!text)
		return MHD_NO;
	len = strlen(text);
	full = realloc(text, len + 2);
	if (!full) {
		free(text);
		return MHD_NO;
	}
	full[len] = '\n';
	full[len + 1] = '\0';
	r = MHD_create_response_from_buffer(len + 1, full, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(full);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *allow,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *allow,
				  const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;
	enum MHD_Result r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_pack("{s:s}", "error", msg);
	r = send_json(c, status, j, allow);
	json_decref(j);
	return r;
}

void api_handle(const struct api_route *routes, size_t n, void *ctx, const char *method,
		const char *url, const char *body, size_t len, struct api_reply *rp, char *allow,
		size_t allow_size)
{
	const struct api_route *route = NULL;
	json_t *j = NULL;

	rp->status = 200;
	rp->body = NULL;
	allow[0] = '\0';
	if (len > API_MAX_BODY) {
		api_error(rp, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %u bytes",
			  API_MAX_BODY);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(allow);

		if (strcmp(routes[i].path, url))
			continue;
		if (!strcmp(routes[i].method, method))
			route = &routes[i];
		snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "",
			 routes[i].method);
	}
	if (!route && !allow[0]) {
		api_error(rp, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
		return;
	}
	if (!route) {
		api_error(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "%s does not take %s (allowed: %s)", url,
			  method, allow);
		return;
	}
	allow[0] = '\0';
	if (len) {
		json_error_t e;

		j = json_loadb(body, len, 0, &e);
		if (!j) {
			api_error(rp, MHD_HTTP_BAD_REQUEST,
				  "malformed JSON body: %s (line %d, column %d)", e.text, e.line,
				  e.column);
			return;
		}
		if (!json_is_object(j)) {
			json_decref(j);
			api_error(rp, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
			return;
		}
	}
	route->fn(ctx, j, rp);
	json_decref(j);
}

static enum MHD_Result dispatch(struct api_server *s, struct MHD_Connection *c,
				const char *method, const char *url, struct api_conn *ac)
{
	char allow[64];
	struct api_reply rp;
	enum MHD_Result r;

	api_handle(s->routes, s->nroutes, s->ctx, method, url, ac->buf, ac->len, &rp, allow,
		   sizeof(allow));
	r = send_json(c, rp.status, rp.body, allow[0] ? allow : NULL);
	json_decref(rp.body);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_conn *ac = *con_cls;

	/* This thread started before the sandbox: it joins the path confinement
	 * before a request can make it touch a file (PUT /vm/snapshot). */
	if (sandbox_confine_thread() < 0)
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err_msg());
	if (!ac) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		ac = calloc(1, sizeof(*ac));
		if (!ac)
			return MHD_NO;
		*con_cls = ac;
		/* Refuse a declared oversize body before reading any of it. */
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			ac->too_big = true;
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
					  "request body of %s bytes: at most %u are accepted", cl,
					  API_MAX_BODY);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (ac->too_big || ac->len + n > API_MAX_BODY) {
			ac->too_big = true;
			return MHD_YES; /* discarded */
		}
		char *p = realloc(ac->buf, ac->len + n);

		if (!p)
			return MHD_NO;
		memcpy(p + ac->len, upload_data, n);
		ac->buf = p;
		ac->len += n;
		return MHD_YES;
	}
	if (ac->too_big)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
				  "request body over %u bytes", API_MAX_BODY);
	return dispatch(s, c, method, url, ac);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_conn *ac = *con_cls;

	if (ac) {
		free(ac->buf);
		free(ac);
	}
	*con_cls = NULL;
}

struct api_server *api_server_start(const char *path, const struct api_route *routes,
				    size_t n, void *ctx)
{
	struct api_server *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set("out of memory");
		return NULL;
	}
	s->routes = routes;
	s->nroutes = n;
	s->ctx = ctx;
	s->path = strdup(path);
	s->fd = s->path ? api_socket_create(path) : -1;
	/* Its directory stays writable under the sandbox: the socket is removed
	 * at the end. */
	if (s->fd >= 0 && sandbox_note_socket(path, true) < 0) {
		unlink(path);
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd < 0) {
		if (!s->path)
			err_set("out of memory");
		free(s->path);
		free(s);
		return NULL;
	}
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0,
				NULL, NULL,
				on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
				MHD_OPTION_END);
	if (!s->d) {
		err_set("--api %s: libmicrohttpd could not serve the socket", path);
		unlink(path);
		close(s->fd);
		free(s->path);
		free(s);
		return NULL;
	}
	return s;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/*
	 * Take no new connection, then let the answers in flight go out (the
	 * answer to PUT /vm/stop is sent while the VM ends) for up to 2 s.
	 */
	{
		MHD_socket lfd = MHD_quiesce_daemon(s->d);

		for (int i = 0; i < 200; i++) {
			const union MHD_DaemonInfo *info =
				MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

			if (!info || info->num_connections == 0)
				break;
			usleep(10000);
		}
		MHD_stop_daemon(s->d);
		if (lfd != MHD_INVALID_SOCKET)
			close(lfd); /* quiesced: MHD no longer owns it (else it closed it) */
	}
	unlink(s->path);
	free(s->path);
	free(s);
}
