/* SPDX-License-Identifier: MIT */
/*
 * The control API of a running VM (docs/api.md, docs/openapi.yaml):
 *
 *   GET /vm            state, config, devices, CPU model, per-vCPU CPUID digest
 *   PUT /vm/pause      pause every vCPU (vmm/runstate.h)
 *   PUT /vm/resume     {"clock": "stopped"|"running"} (default stopped)
 *   PUT /vm/shutdown   press the ACPI power button (202; the guest decides)
 *   PUT /vm/stop       hard stop: the VM ends, skyvm exits 0
 *   PUT /vm/snapshot   {"path": DIR}: pause, save (snapshot/snapshot.h), resume
 *   PUT /vm/migrate    {"to": "unix:PATH"|"tcp:HOST:PORT"} (501 until built)
 */
#ifndef SKYVM_API_VMAPI_H
#define SKYVM_API_VMAPI_H

#include <jansson.h>

#include "api/http.h"
#include "vmm/vm.h"

struct vm_api;

/* Serve the VM's API on `path`; NULL (err_set) when the socket cannot be made. */
struct vm_api *vm_api_start(struct vm *vm, const char *path);
void vm_api_stop(struct vm_api *a);

/* GET /vm's answer (also for tests and `skyvm ctl`'s describe). */
/*
 * One request to vm's routes without a server (api_handle()): for tests and
 * the api_request fuzz target.  PUT /vm/snapshot and /vm/migrate act on the
 * outside world (files, sockets) as they do when served.
 */
void vm_api_request(struct vm *vm, const char *method, const char *url, const char *body,
		    size_t len, struct api_reply *rp, char *allow, size_t allow_size);

json_t *vm_api_describe(struct vm *vm);
/* "fnv1a64:<16 hex>" of a CPUID table as KVM_SET_CPUID2 got it (sorted entries). */
void cpuid_table_digest(const struct cpuid_table *t, char out[32]);

#endif
