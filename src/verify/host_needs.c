/* SPDX-License-Identifier: MIT */
#include "verify/host_needs.h"

#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "guest/hostcheck/protocol.h"

#define TRAP_UD 6

const struct insn_check host_insn_checks[] = {
	{ "cmpxchg16b", "cx16", "cx16", false, EXPECT_COMPLETION, false },
	{ "xsave", "xsave", NULL, true, EXPECT_COMPLETION, false },
	{ "xrstor", "xsave", NULL, true, EXPECT_COMPLETION, false },
	{ "xgetbv", "xsave", NULL, true, EXPECT_COMPLETION, false },
	{ "rdtscp", "rdtscp", "rdtscp", false, EXPECT_COMPLETION, false },
	{ "popcnt", "popcnt", "popcnt", false, EXPECT_COMPLETION, false },
	{ "int3", NULL, NULL, false, EXPECT_COMPLETION, false },
	{ "fwait", NULL, NULL, false, EXPECT_COMPLETION, false },
	{ "stac", "smap", "smap", false, EXPECT_COMPLETION, false },
	{ "clac", "smap", "smap", false, EXPECT_COMPLETION, false },
	{ "ud1", NULL, NULL, false, EXPECT_UD, false },
	{ "fldz", NULL, NULL, false, EXPECT_COMPLETION, false },
	{ "ldmxcsr", NULL, NULL, false, EXPECT_COMPLETION, false },
	{ "pclmulqdq", "pclmulqdq", "pclmulqdq", false, EXPECT_COMPLETION, false },
	{ "aesenc", "aes", "aes", false, EXPECT_COMPLETION, false },
	{ "movbe", "movbe", "movbe", false, EXPECT_COMPLETION, false },
	{ "crc32", "sse4.2", "sse4_2", false, EXPECT_COMPLETION, false },
	{ "rdpid", "rdpid", "rdpid", false, EXPECT_COMPLETION, false },
	{ "vmcall", NULL, NULL, false, EXPECT_COMPLETION, true },
};

const size_t host_insn_count = sizeof(host_insn_checks) / sizeof(host_insn_checks[0]);

_Static_assert(sizeof(host_insn_checks) / sizeof(host_insn_checks[0]) == HOST_INSN_COUNT,
	       "HOST_INSN_COUNT counts the table");

static const char *const guest_insns[] = { HOSTCHECK_INSNS };
_Static_assert(sizeof(guest_insns) / sizeof(guest_insns[0]) ==
		       sizeof(host_insn_checks) / sizeof(host_insn_checks[0]),
	       "every instruction the hostcheck guest knows is checked");

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	"#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static const char *const status_names[] = {
	[INSN_OK] = "ok",
	[INSN_COMPLETED_BY_SKYVM] = "completed-by-skyvm",
	[INSN_KVM_INTERNAL_ERROR] = "kvm-internal-error",
	[INSN_UD] = "#UD",
	[INSN_EXCEPTION] = "exception",
	[INSN_HANG] = "hang",
	[INSN_NOT_OFFERED] = "not-offered",
	[INSN_CANNOT_ENABLE] = "cannot-enable",
	[INSN_ERROR] = "error",
};

const char *host_vector_name(unsigned vector)
{
	return vector_names[vector & 31];
}

enum insn_status host_insn_classify(const struct insn_check *c, int exit_code, bool emulated)
{
	if (exit_code == HOSTCHECK_OK)
		return emulated ? INSN_COMPLETED_BY_SKYVM : INSN_OK;
	if (exit_code == HOSTCHECK_NOT_OFFERED)
		return INSN_NOT_OFFERED;
	if (exit_code == HOSTCHECK_CANNOT_ENABLE)
		return INSN_CANNOT_ENABLE;
	if (exit_code == HOSTCHECK_EXCEPTION + TRAP_UD)
		return c->expect == EXPECT_UD ? INSN_OK : INSN_UD;
	if (HOSTCHECK_IS_EXCEPTION(exit_code))
		return INSN_EXCEPTION;
	if (exit_code == EXIT_GUEST_INTERNAL)
		return INSN_KVM_INTERNAL_ERROR;
	if (exit_code == EXIT_TIMEOUT)
		return INSN_HANG;
	return INSN_ERROR;
}

void host_insn_status_text(enum insn_status s, int exit_code, char *buf, size_t size)
{
	if (s == INSN_EXCEPTION)
		snprintf(buf, size, "%s",
			 host_vector_name((unsigned)(exit_code - HOSTCHECK_EXCEPTION)));
	else
		snprintf(buf, size, "%s", (unsigned)s <= INSN_ERROR ? status_names[s] : "error");
}

bool host_insn_needs_action(enum insn_status s, bool offered)
{
	/* completed-by-skyvm too: each use costs an exit to userspace */
	return s != INSN_OK && s != INSN_NOT_OFFERED && !(s == INSN_UD && !offered);
}

void host_list_add(char *list, size_t size, const char *sep, const char *item)
{
	size_t len = strlen(list), n = strlen(item);

	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-1] == sep[0]) && (p[n] == '\0' || p[n] == sep[0]))
			return;
	snprintf(list + len, size - len, "%s%s", len ? sep : "", item);
}

static bool is_forced(const char *name, const struct cpu_feature *const *forced, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(forced[i]->name, name))
			return true;
	return false;
}

void host_needs_derive(const enum insn_status *status, const bool *needs_action,
		       const struct cpu_feature *const *forced, size_t nforced,
		       struct host_needs *out)
{
	char clear[HOST_NEEDS_LIST_MAX] = "";
	bool noxsave = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < host_insn_count; i++) {
		const struct insn_check *c = &host_insn_checks[i];
		const struct cpu_feature *f = c->feature ? cpu_feature_find(c->feature) : NULL;

		if (!needs_action[i])
			continue;
		if (c->noxsave)
			noxsave = true;
		else if (c->linux_name)
			host_list_add(clear, sizeof(clear), ",", c->linux_name);
		/* A bit the host lets the model hide is best hidden at the source too. */
		if (f && !is_forced(f->name, forced, nforced)) {
			char opt[64];

			snprintf(opt, sizeof(opt), "-%s", f->name);
			host_list_add(out->model_options, sizeof(out->model_options), ",", opt);
		}
		if (!c->feature && status[i] != INSN_COMPLETED_BY_SKYVM && !c->may_hang)
			host_list_add(out->unfixable, sizeof(out->unfixable), ",", c->name);
		/* vmcall does not return: hide every PV feature whose guest code issues it. */
		if (c->may_hang) {
			for (size_t k = 0; k < cpu_features_count; k++) {
				char opt[64];

				if (!(cpu_features[k].flags & FEAT_NEEDS_HYPERCALL))
					continue;
				snprintf(opt, sizeof(opt), "-%s", cpu_features[k].name);
				host_list_add(out->model_options, sizeof(out->model_options), ",",
					      opt);
			}
		}
	}
	if (noxsave)
		host_list_add(out->kernel_cmdline, sizeof(out->kernel_cmdline), " ", "noxsave");
	if (clear[0]) {
		char opt[HOST_NEEDS_LIST_MAX + 16];

		snprintf(opt, sizeof(opt), "clearcpuid=%s", clear);
		host_list_add(out->kernel_cmdline, sizeof(out->kernel_cmdline), " ", opt);
	}
}
