/* SPDX-License-Identifier: MIT */
/* The VM's control API routes (api/vmapi.h). */
#include "api/vmapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "snapshot/migrate.h"
#include "snapshot/snapshot.h"
#include "util/err.h"
#include "vmm/runstate.h"
#include "vmm/sandbox.h"

struct vm_api {
	struct vm *vm;
	struct api_server *srv;
};

void cpuid_table_digest(const struct cpuid_table *t, char out[32])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->ent[i];
		uint32_t w[7] = { e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx };

		for (unsigned k = 0; k < 7; k++)
			for (unsigned b = 0; b < 4; b++) {
				h ^= (w[k] >> (8 * b)) & 0xff;
				h *= 0x100000001b3ULL;
			}
	}
	snprintf(out, 32, "fnv1a64:%016llx", (unsigned long long)h);
}

static json_t *describe_devices(const struct machine *m)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < m->n; i++) {
		const struct device *d = m->dev[i];
		json_t *regions = json_array();

		for (unsigned k = 0; k < d->nregion; k++)
			json_array_append_new(regions,
					      json_pack("{s:s,s:s,s:I,s:I}", "name", d->region[k].name,
							"space", d->region[k].space == IO_PIO ? "pio" : "mmio",
							"base", (json_int_t)d->region[k].base, "len",
							(json_int_t)d->region[k].len));
		json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o,s:b}", "id", d->id, "class",
						    d->cls->name, "gsi",
						    d->gsi >= 0 ? json_integer(d->gsi) : json_null(),
						    "regions", regions, "saves_state",
						    d->cls->ops.save != NULL));
	}
	return a;
}

json_t *vm_api_describe(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;
	enum vm_run_state st = vm_run_state(vm);
	json_t *vcpus = json_array(), *cfg, *j;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		char digest[32];
		enum vcpu_run_state vs;

		pthread_mutex_lock(&vm->lock);
		vs = v->run_state;
		pthread_mutex_unlock(&vm->lock);
		cpuid_table_digest(&v->cpuid, digest);
		json_array_append_new(vcpus, json_pack("{s:i,s:i,s:s,s:I,s:i,s:s}", "index", (int)i,
						       "apic_id", (int)v->apic_id, "state",
						       vcpu_run_state_name(vs), "exits",
						       (json_int_t)v->exits, "cpuid_entries",
						       (int)v->cpuid.nent, "cpuid_digest", digest));
	}
	cfg = json_pack("{s:i,s:I,s:s,s:s,s:b}", "cpus", (int)c->ncpus, "memory_mib",
			(json_int_t)c->memory_mib, "cpu", c->cpu_spec ? c->cpu_spec : "host",
			"console", c->console ? c->console : "stdio", "irqchip", vm->has_irqchip);
	json_object_set_new(cfg, "kernel", c->kernel_path ? json_string(c->kernel_path) : json_null());
	json_object_set_new(cfg, "guest", c->kernel_path ? json_null()
					  : json_string(c->guest_name ? c->guest_name : "default"));
	j = json_pack("{s:s,s:o,s:o,s:{s:s,s:s,s:s},s:o}", "state", vm_run_state_name(st),
		      "config", cfg, "devices", describe_devices(&vm->machine), "cpu_model",
		      "spec", c->cpu_spec ? c->cpu_spec : "host", "name", vm->cpu.def.name,
		      "vendor", vm->cpu.def.vendor, "vcpus", vcpus);
	if (st == VM_STOPPED)
		json_object_set_new(j, "stop_reason", json_string(vm->stop_reason));
	return j;
}

static void r_get_vm(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;

	rp->body = vm_api_describe(a->vm);
}

static void state_reply(struct vm_api *a, struct api_reply *rp)
{
	rp->status = 200;
	rp->body = json_pack("{s:s}", "state", vm_run_state_name(vm_run_state(a->vm)));
}

static void r_pause(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;

	if (vm_pause(a->vm) < 0) {
		api_error(rp, 409, "cannot pause: %s", err_msg());
		return;
	}
	state_reply(a, rp);
}

static void r_resume(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;
	bool stop_clock = true;
	json_t *clock = body ? json_object_get(body, "clock") : NULL;

	if (clock) {
		const char *s = json_string_value(clock);

		if (s && !strcmp(s, "stopped")) {
			stop_clock = true;
		} else if (s && !strcmp(s, "running")) {
			stop_clock = false;
		} else {
			api_error(rp, 400, "\"clock\" must be \"stopped\" or \"running\"");
			return;
		}
	}
	if (vm_resume(a->vm, stop_clock) < 0) {
		api_error(rp, 409, "cannot resume: %s", err_msg());
		return;
	}
	state_reply(a, rp);
}

static void r_stop(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;

	vm_stop(a->vm, EXIT_OK, "stopped through the API (PUT /vm/stop)");
	state_reply(a, rp);
}

/*
 * The ACPI power button (devices/power_button.c): the guest is told and
 * decides.  202: the press was delivered, nothing more is promised; the VM
 * ends (exit 0) when the guest powers off, or keeps running if it ignores
 * the button (PUT /vm/stop then ends it).  A paused VM holds the press
 * until it resumes.
 */
static void r_shutdown(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;
	enum vm_run_state st = vm_run_state(a->vm);

	if (st == VM_STOPPED) {
		api_error(rp, 409, "the VM is stopped");
		return;
	}
	if (machine_power_button(&a->vm->machine) < 0) {
		api_error(rp, 500, "cannot press the power button: %s", err_msg());
		return;
	}
	rp->status = 202;
	rp->body = json_pack("{s:s,s:s}", "state", vm_run_state_name(st), "power_button",
			     "pressed");
}

static void r_snapshot(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;
	const char *path = body ? json_string_value(json_object_get(body, "path")) : NULL;

	if (!path || !*path) {
		api_error(rp, 400, "expected {\"path\": \"DIR\"}");
		return;
	}
	if (snapshot_save_live(a->vm, path) < 0) {
		const char *dir = sandbox_snapshot_dir();

		api_error(rp, 500, "snapshot to %s failed: %s%s%s%s", path, err_msg(),
			  dir ? " (the sandbox lets snapshots be written only beneath "
				"--snapshot-dir " : "", dir ? dir : "", dir ? ")" : "");
		return;
	}
	state_reply(a, rp);
	json_object_set_new(rp->body, "path", json_string(path));
}

static void r_migrate(void *ctx, json_t *body, struct api_reply *rp)
{
	struct vm_api *a = ctx;
	const char *to = body ? json_string_value(json_object_get(body, "to")) : NULL;
	json_t *bw = body ? json_object_get(body, "max_bandwidth_mib_s") : NULL;
	struct migrate_stats st;

	if (!to || (strncmp(to, "unix:", 5) && strncmp(to, "tcp:", 4))) {
		api_error(rp, 400, "expected {\"to\": \"unix:PATH\" or \"tcp:HOST:PORT\"}");
		return;
	}
	if (bw && (!json_is_number(bw) || !(json_number_value(bw) > 0))) {
		api_error(rp, 400, "\"max_bandwidth_mib_s\" must be a number > 0");
		return;
	}
	if (migrate_send(a->vm, to, bw ? json_number_value(bw) : 0, &st) < 0) {
		api_error(rp, st.refused ? 409 : 500, "migration to %s failed: %s", to, err_msg());
		json_object_set_new(rp->body, "source_paused", json_boolean(st.source_paused));
		return;
	}
	rp->status = 200;
	rp->body = json_pack("{s:s,s:i,s:I,s:I,s:f,s:f}", "state", "stopped", "rounds",
			     (int)st.rounds, "pages_sent", (json_int_t)st.pages, "pages_while_paused",
			     (json_int_t)st.last_dirty, "downtime_ms", st.downtime_ms, "total_ms",
			     st.total_ms);
}

static const struct api_route vm_routes[] = {
	{ "GET", "/vm", r_get_vm },
	{ "PUT", "/vm/pause", r_pause },
	{ "PUT", "/vm/resume", r_resume },
	{ "PUT", "/vm/shutdown", r_shutdown },
	{ "PUT", "/vm/stop", r_stop },
	{ "PUT", "/vm/snapshot", r_snapshot },
	{ "PUT", "/vm/migrate", r_migrate },
};

void vm_api_request(struct vm *vm, const char *method, const char *url, const char *body,
		    size_t len, struct api_reply *rp, char *allow, size_t allow_size)
{
	struct vm_api a = { .vm = vm };

	api_handle(vm_routes, sizeof(vm_routes) / sizeof(vm_routes[0]), &a, method, url, body,
		   len, rp, allow, allow_size);
}

struct vm_api *vm_api_start(struct vm *vm, const char *path)
{
	struct vm_api *a = calloc(1, sizeof(*a));

	if (!a) {
		err_set("out of memory");
		return NULL;
	}
	a->vm = vm;
	a->srv = api_server_start(path, vm_routes, sizeof(vm_routes) / sizeof(vm_routes[0]), a);
	if (!a->srv) {
		free(a);
		return NULL;
	}
	return a;
}

void vm_api_stop(struct vm_api *a)
{
	if (!a)
		return;
	api_server_stop(a->srv);
	free(a);
}
