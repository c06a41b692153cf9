/* SPDX-License-Identifier: MIT */
/*
 * Live migration (docs/snapshot.md, "Live migration"): a stream of framed,
 * checksummed messages over a unix or TCP socket.
 *
 *   source -> HELLO, CPU (meta + every vCPU's CPUID table)
 *   dest   -> ACK, or REFUSE with one line per missing feature (QEMU's words):
 *             the destination checks its host before any memory moves
 *   source -> PAGES ... (pre-copy rounds, dirty logging), pause, the last
 *             dirty pages, STATE (the snapshot sections)
 *   dest   -> RUNNING once the guest runs there (or ERROR)
 *
 * Each frame: u32 type, u32 CRC-32 (of type, length and payload), u64
 * length, payload.  A corrupt or truncated stream is refused.  Until the
 * destination says RUNNING the source's guest is only paused, never lost:
 * any failure before the state was sent resumes it there.
 */
#ifndef SKYVM_SNAPSHOT_MIGRATE_H
#define SKYVM_SNAPSHOT_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"

struct migrate_stats {
	unsigned rounds;          /* pre-copy rounds, the final one included */
	uint64_t pages;           /* pages sent, all rounds */
	uint64_t last_dirty;      /* pages sent while paused */
	double total_ms, downtime_ms;
	bool refused;             /* the destination's CPU check said no */
	bool source_paused;       /* failed after the state was sent: left paused */
};

/*
 * Send `vm` to "unix:PATH" or "tcp:HOST:PORT"; `mib_s` > 0 limits the rate.
 * 0: the guest runs on the destination and this VM was stopped.  -1
 * (err_set): the VM keeps running here (unless st->source_paused).
 */
int migrate_send(struct vm *vm, const char *to, double mib_s, struct migrate_stats *st);

struct incoming_opts {
	const char *from;         /* "unix:PATH" or "tcp:HOST:PORT" */
	const char *console;
	const char *api_path;
	const char *supported;    /* also check against this recorded host */
	double timeout_s;
	uint64_t max_output;
	bool verbose;
	const struct sandbox_config *sandbox; /* vm_config's: entered before it runs */
};

/* Wait for one VM, check, receive and run it; the process's exit code. */
int migrate_incoming(const struct incoming_opts *o);

#endif
