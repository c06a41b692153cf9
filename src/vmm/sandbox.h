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
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

struct sandbox_config {
	bool disabled;            /* --no-sandbox: no filter (a warning says so) */
	bool drop_user;           /* --user given */
	uid_t uid;
	gid_t gid;
	/* --snapshot-dir: where PUT /vm/snapshot may write under Landlock; NULL:
	 * anywhere (when there is an API), as without Landlock. */
	const char *snapshot_dir;
	bool verbose;             /* say when this kernel has no Landlock */
};

/*
 * Path confinement (Landlock, docs/sandbox.md).  Once set up, skyvm needs of
 * the filesystem only what the rules below name; everything else (reading,
 * writing, creating, removing, executing any file not already open) is
 * refused by the kernel from sandbox_enter() on:
 *   - the directory of each unix socket skyvm created (the API's, vsock's):
 *     removing the socket at the end;
 *   - with an API: PUT /vm/snapshot's files (beneath --snapshot-dir, or
 *     anywhere without it), and reading the resolver's files in /etc
 *     (PUT /vm/migrate to tcp:HOST:PORT);
 *   - sanitizer builds: reading and executing anywhere (the runtime's
 *     /proc reads and symbolizer).
 */
#define SANDBOX_MAX_SOCKETS 16
#define SANDBOX_MAX_FS_RULES (SANDBOX_MAX_SOCKETS + 12)

struct sandbox_fs_rule {
	char path[4096];
	uint64_t access;   /* LANDLOCK_ACCESS_FS_* */
	bool optional;     /* a file that may be missing: no rule then */
};

/*
 * A unix socket skyvm created at path (and removes at the end); api: the
 * control API's.  Copied.  -1 with err_msg() when too many.
 */
int sandbox_note_socket(const char *path, bool api);
/* Forget the noted sockets (tests). */
void sandbox_forget_sockets(void);
/* The file-system rights a Landlock ABI version lets skyvm restrict. */
uint64_t sandbox_fs_handled(int abi);
/*
 * The rules for c, the noted sockets and Landlock ABI abi (access masked to
 * what it handles).  Returns how many (at most max), -1 with err_msg() when
 * a path is too long.  Pure but for the noted sockets; unit-tested.
 */
int sandbox_fs_rules(const struct sandbox_config *c, int abi, struct sandbox_fs_rule *out,
		     size_t max);
/*
 * A thread that was running before sandbox_enter() (the API server's) calls
 * this before it touches the filesystem: it joins the Landlock domain (once).
 * 0 when done or nothing to do; -1 with err_msg().
 */
int sandbox_confine_thread(void);
/* The --snapshot-dir Landlock enforces; NULL when none is (or no Landlock). */
const char *sandbox_snapshot_dir(void);

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
