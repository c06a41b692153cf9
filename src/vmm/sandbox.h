/* SPDX-License-Identifier: MIT */
/*
 * The sandbox (docs/sandbox.md): once a VM is set up, skyvm optionally drops
 * to another user (--user UID:GID, as root) and then puts every one of its
 * threads under one seccomp filter (libseccomp, with TSYNC, after
 * PR_SET_NO_NEW_PRIVS) that allows only the system calls, and for ioctl only
 * the requests, that running a VM needs: KVM_RUN and the vCPU/VM state
 * ioctls, device I/O, the event loop, the control API, snapshots and live
 * migration.  Anything else traps (SIGSYS): a handler writes
 *
 *     skyvm: sandbox: forbidden system call NAME (NR) in thread T (tid N)
 *
 * on stderr and ends the process with EXIT_SANDBOX (exitcodes.h).
 * --no-sandbox turns the filter off, for debugging, with a warning.
 *
 * Test hook (documented, for the tests only): with the filter in place,
 * SKYVM_SANDBOX_TEST_SYSCALL=NAME makes a thread perform that system call
 * (with zero arguments), or with NAME "ioctl:0xREQ" the ioctl REQ on fd -1,
 * so that a test sees the kill and the report.  The thread is vCPU 0's
 * ("vcpu0") before its first KVM_RUN, or the one SKYVM_SANDBOX_TEST_THREAD
 * names ("event-loop").  A call the filter allows is never made; without the
 * filter (--no-sandbox) nothing is called either.
 */
#ifndef SKYVM_VMM_SANDBOX_H
#define SKYVM_VMM_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct sandbox_config {
	bool disabled;            /* --no-sandbox: no filter (a warning says so) */
	bool drop_user;           /* --user given */
	uid_t uid;
	gid_t gid;
};

/* The --no-sandbox warning's text (printed by the command line on stderr). */
extern const char sandbox_disabled_warning[];

/*
 * "UID:GID" (decimal, each below 2^32 - 1) into c->uid, c->gid and
 * c->drop_user.  -1 with err_msg() when malformed.
 */
int sandbox_parse_user(const char *arg, struct sandbox_config *c);
/* -1 with err_msg() when c asks for --user and this process cannot setuid
 * (not root). */
int sandbox_check_user(const struct sandbox_config *c);

/*
 * After set-up, before the VM's threads start: drop to c's user (setgroups,
 * setgid, setuid; checked), then, unless disabled, install the SIGSYS
 * handler and the filter on every thread of the process.  -1 with err_msg().
 * Once the filter is in place, later calls do nothing (return 0).
 * A terminal (fd, termios) given first with sandbox_restore_tty() is put
 * back by the handler before it ends the process.
 */
int sandbox_enter(const struct sandbox_config *c);
void sandbox_restore_tty(int fd, const struct termios *t);
/* True once this process runs under the filter. */
bool sandbox_active(void);

/*
 * Is this system call (a name as libseccomp knows it) allowed by the filter
 * without conditions on its arguments?  For the tests and the test hook.
 */
bool sandbox_allows(const char *name);
/* Is ioctl request `req` allowed? */
bool sandbox_allows_ioctl(unsigned long req);

/*
 * A skyvm thread calls this first thing: it names the thread (what the
 * report prints) and, when the test hook targets this thread, performs the
 * hook's system call.
 */
void sandbox_thread_start(const char *name);

#endif
