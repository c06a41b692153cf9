/* SPDX-License-Identifier: MIT */
/*
 * host-check's rules, apart from the VMs that measure: which instructions
 * are checked and which feature gates each, how a hostcheck VM's end is
 * classified, and what a guest needs given the results.  Pure, so the rules
 * are unit-tested on the measurements HOST-KVM.md records
 * (tests/unit/test_host_needs.c); src/cli/host_check.c runs the VMs.
 */
#ifndef SKYVM_VERIFY_HOST_NEEDS_H
#define SKYVM_VERIFY_HOST_NEEDS_H

#include <stdbool.h>
#include <stddef.h>

#include "cpu/features.h"

#define HOST_NEEDS_LIST_MAX 2048
#define HOST_INSN_COUNT 19 /* entries of host_insn_checks[] */

enum insn_expect { EXPECT_COMPLETION, EXPECT_UD };

/*
 * One instruction the hostcheck guest executes: `feature` is skyvm's name
 * of the CPUID bit that gates it (a model option), `linux_name` the name
 * Linux's clearcpuid= takes; `noxsave` stands for the whole xsave family.
 */
struct insn_check {
	const char *name;
	const char *feature;
	const char *linux_name;
	bool noxsave;
	enum insn_expect expect;
	bool may_hang; /* vmcall: a short timeout */
};

extern const struct insn_check host_insn_checks[];
extern const size_t host_insn_count;

enum insn_status {
	INSN_OK,
	INSN_COMPLETED_BY_SKYVM,
	INSN_KVM_INTERNAL_ERROR,
	INSN_UD,
	INSN_EXCEPTION,
	INSN_HANG,
	INSN_NOT_OFFERED,
	INSN_CANNOT_ENABLE, /* enabling what it needs faulted (KVM refused CR4.OSXSAVE) */
	INSN_ERROR,
};

/*
 * How a hostcheck VM ended, from its exit code (the guest's status,
 * guest/hostcheck/protocol.h, or skyvm's, exitcodes.h) and whether skyvm
 * completed any instruction for KVM.
 */
enum insn_status host_insn_classify(const struct insn_check *c, int exit_code, bool emulated);
/* "ok", "completed-by-skyvm", ..., or the exception's mnemonic ("#GP") for INSN_EXCEPTION. */
void host_insn_status_text(enum insn_status s, int exit_code, char *buf, size_t size);
/* "#UD" for vector 6 ... */
const char *host_vector_name(unsigned vector);

/*
 * A guest must keep away from an instruction that did not run natively
 * although CPUID offers it; #UD where CPUID does not offer it is right.
 */
bool host_insn_needs_action(enum insn_status s, bool offered);

struct host_needs {
	char kernel_cmdline[HOST_NEEDS_LIST_MAX]; /* "noxsave clearcpuid=a,b" or "" */
	char model_options[HOST_NEEDS_LIST_MAX];  /* "-cx16,-rdtscp" or "" */
	char unfixable[HOST_NEEDS_LIST_MAX];      /* "fldz,ldmxcsr" or "" */
};

/*
 * From the per-instruction statuses and needs (indexed as host_insn_checks)
 * and the features the host forces (which a model option cannot hide).
 */
void host_needs_derive(const enum insn_status *status, const bool *needs_action,
		       const struct cpu_feature *const *forced, size_t nforced,
		       struct host_needs *out);

/* Append `item` to a `sep`-separated list unless it is there already. */
void host_list_add(char *list, size_t size, const char *sep, const char *item);

#endif
