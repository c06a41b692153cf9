/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a VM (docs/snapshot.md): a directory with
 *   state.skyvm   sections (snapshot/format.h): "meta" (JSON: config, CPU
 *                 model, TSC kHz, XSAVE size, memory size), per vCPU
 *                 "vcpuN.cpuid" (the final table KVM_SET_CPUID2 got),
 *                 "vcpuN.feature_msrs" (the feature MSRs the guest could read,
 *                 as the vCPU held them: the CPU check's input), regs,
 *                 sregs, xsave (or fpu), xcrs, msrs, lapic, events,
 *                 mp_state, debugregs; per VM "vm.pic_master", "vm.pic_slave",
 *                 "vm.ioapic", "vm.pit2", "vm.clock"; "dev.<id>" for each
 *                 device with a save hook
 *   memory.raw    guest RAM, sparse: pages that are all zero are holes
 */
#ifndef SKYVM_SNAPSHOT_SNAPSHOT_H
#define SKYVM_SNAPSHOT_SNAPSHOT_H

#include <jansson.h>

#include "snapshot/format.h"
#include "vmm/vm.h"

#define SNAP_STATE_FILE "state.skyvm"
#define SNAP_MEMORY_FILE "memory.raw"

/* Save a paused VM into `dir` (created if missing, 0700). 0 or -1 (err_set). */
int snapshot_save(struct vm *vm, const char *dir);
/* Pause if running, save, resume as it was: the API's PUT /vm/snapshot. */
int snapshot_save_live(struct vm *vm, const char *dir);

/* A loaded snapshot: the state file and what restore needs from it. */
struct snapshot {
	struct snap_file f;
	json_t *meta;
	unsigned ncpus;
	struct cpuid_table *cpuid; /* ncpus tables */
	char model[64];
	char dir[4096];
};

/* Read and verify DIR/state.skyvm; 0 or -1 (err_set names the section). */
int snapshot_load(const char *dir, struct snapshot *s);
void snapshot_free(struct snapshot *s);
/*
 * A vm_config from the snapshot (the caller sets console, verbose, ...):
 * strings point into s->meta, restore_cpuid into s->cpuid.
 */
int snapshot_config(const struct snapshot *s, struct vm_config *cfg);
/* After vm_create() with that config: memory, vCPU, VM and device state. */
int snapshot_restore_state(const struct snapshot *s, struct vm *vm);
/* The same without memory (a migration sent it already). */
int snapshot_restore_cpu_state(const struct snapshot *s, struct vm *vm);
/* Verify s->f (filled by the caller) and fill the rest of *s; `what` names it. */
int snapshot_parse(struct snapshot *s, const char *what);
/* A paused VM's state, memory aside, as sections (meta included). */
int snapshot_collect(struct vm *vm, struct snap_file *f);
/* What the CPU check needs, from a running VM: meta (no TSC) and vcpuN.cpuid. */
int snapshot_cpu_sections(struct vm *vm, struct snap_file *f);

#endif
