/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the control API's request path without a socket: route
 * dispatch, the body limit and JSON parsing (api/http.c, api_handle) and the
 * VM's handlers (api/vmapi.c, vm_api_request) on a stub VM that has stopped
 * (no KVM: pause, resume and shutdown refuse it, stop is a no-op, GET /vm
 * describes it).
 *
 * Input: byte 0 picks the method (mod 6: GET, PUT, POST, DELETE, "", get);
 * byte 1's low 4 bits a URL from urls[], its high 4 bits how many of the
 * next bytes are appended to it; the rest is the body.
 *
 * PUT /vm/snapshot with a "path" and PUT /vm/migrate with a unix:/tcp: "to"
 * would write files or connect: those inputs stop before the handler (their
 * refusals of other bodies are fuzzed).  Invariants: a status the API
 * documents; a JSON object answer that encodes (as send_json does), with an
 * "error" string on every error; Allow set exactly on a 405; the stopped VM
 * refuses pause, resume and shutdown with 409 and stays stopped.
 */
#include <pthread.h>

#include "api/vmapi.h"
#include "fuzz.h"
#include "vmm/runstate.h"

static struct vm vm;
static struct vm_config cfg;

static const char *const methods[6] = { "GET", "PUT", "POST", "DELETE", "", "get" };
static const char *const urls[16] = {
	"/vm", "/vm/pause", "/vm/resume", "/vm/shutdown", "/vm/stop", "/vm/snapshot",
	"/vm/migrate", "/", "/vm/", "/vm/pause/", "/VM", "/vm?x=1", "", "/vm/snapshot%00",
	"//vm", "/vm/stop#",
};

static void setup(void)
{
	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.stopped_cond, NULL);
	pthread_cond_init(&vm.state_cond, NULL);
	vm.cfg = &cfg;
	cfg.ncpus = 1;
	cfg.memory_mib = 64;
	machine_init(&vm.machine);
	snprintf(vm.cpu.def.name, sizeof(vm.cpu.def.name), "fuzz");
	vm_stop(&vm, 0, "stopped before the fuzzer started");
}

/* Would the handler act on the outside world? */
static bool external(const char *method, const char *url, const char *body, size_t len)
{
	json_t *j, *v;
	bool ext = false;
	const char *s;

	if (strcmp(method, "PUT") || (strcmp(url, "/vm/snapshot") && strcmp(url, "/vm/migrate")))
		return false;
	j = json_loadb(body, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return false;
	}
	if (!strcmp(url, "/vm/snapshot")) {
		s = json_string_value(json_object_get(j, "path"));
		ext = s && *s;
	} else {
		v = json_object_get(j, "to");
		s = json_string_value(v);
		ext = s && (!strncmp(s, "unix:", 5) || !strncmp(s, "tcp:", 4));
	}
	json_decref(j);
	return ext;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[64], allow[64];
	const char *method, *body, *err;
	struct api_reply rp;
	size_t extra, len;
	char *text;

	if (!vm.cfg)
		setup();
	if (size < 2)
		return 0;
	method = methods[data[0] % 6];
	extra = data[1] >> 4;
	if (extra > size - 2)
		extra = size - 2;
	snprintf(url, sizeof(url), "%s%.*s", urls[data[1] & 15], (int)extra,
		 (const char *)data + 2);
	body = (const char *)data + 2 + extra;
	len = size - 2 - extra;
	if (external(method, url, body, len))
		return 0;

	vm_api_request(&vm, method, url, body, len, &rp, allow, sizeof(allow));

	FUZZ_CHECK(rp.status == 200 || rp.status == 202 || rp.status == 400 ||
		   rp.status == 404 || rp.status == 405 || rp.status == 409 ||
		   rp.status == 413 || rp.status == 500);
	FUZZ_CHECK(json_is_object(rp.body));
	FUZZ_CHECK((rp.status == 405) == (allow[0] != '\0'));
	err = json_string_value(json_object_get(rp.body, "error"));
	FUZZ_CHECK((rp.status >= 400) == (err != NULL));
	if (!strcmp(method, "PUT") && (!strcmp(url, "/vm/pause") || !strcmp(url, "/vm/resume") ||
				       !strcmp(url, "/vm/shutdown")))
		FUZZ_CHECK(rp.status == 409 || rp.status == 400);
	if (!strcmp(method, "GET") && !strcmp(url, "/vm") && rp.status == 200)
		FUZZ_CHECK(!strcmp(json_string_value(json_object_get(rp.body, "state")),
				   "stopped"));
	text = json_dumps(rp.body, JSON_COMPACT | JSON_SORT_KEYS);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(rp.body);
	FUZZ_CHECK(vm_run_state(&vm) == VM_STOPPED);
	return 0;
}
