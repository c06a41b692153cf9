/* SPDX-License-Identifier: MIT */
/* The seccomp sandbox and the user drop (vmm/sandbox.h, docs/sandbox.md). */
#include "vmm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/landlock.h>
#include <linux/vhost.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util/err.h"

/*
 * Sanitizer builds (make SANITIZE=1) run the sanitizers' own machinery under
 * the filter too: LeakSanitizer's check at exit stops the world with a clone()d
 * tracer and ptrace, reports read /proc/self/maps and may start a symbolizer.
 * Those builds allow the extra calls listed in san_extra[] (docs/sandbox.md).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS from a filter (linux/signal.h) */
#endif

const char sandbox_disabled_warning[] =
	"skyvm: warning: --no-sandbox: the VM runs without the seccomp filter (for "
	"debugging only; see docs/sandbox.md)";

/*
 * Allowed without conditions, by name (libseccomp's names; one this
 * libseccomp does not know is skipped).  Each group says who needs it after
 * set-up; a family is allowed whole where splitting it would only invite a
 * sporadic kill (glibc picks among variants).
 */
static const char *const allowed[] = {
	/* memory: malloc, thread stacks, guest memory (MADV_DONTNEED), vCPU unmaps */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* threads and locks: pthread_create (clone3 -> ENOSYS -> clone, below), joins */
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"gettid", "getpid", "getuid", "geteuid", "getgid", "getegid",
	/* signals: the vCPU kick (SIGUSR1), handlers' returns, abort() */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
	/* time: --timeout, the event loop's timers, pause/resume, the console's stall */
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep", "clock_nanosleep",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* the event loop, irqfd/ioeventfd eventfds, the API server (libmicrohttpd) */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6", "eventfd2",
	/* device and console I/O: disks (virtio-blk), taps (virtio-net), stdio */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "close", "fcntl", "dup", "dup3",
	"fsync", "fdatasync", "fallocate", "ftruncate",
	"fstat", "newfstatat", "statx", "stat", "lstat", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getcwd", "umask", "uname",
	/* snapshots (PUT /vm/snapshot): the directory, its files written and renamed;
	 * the API and vsock sockets removed at the end */
	"open", "openat", "mkdir", "mkdirat", "rename", "renameat", "renameat2",
	"unlink", "unlinkat",
	/* sockets (socket() itself below, by family): vsock's unix sockets, the API,
	 * live migration (connect, and getaddrinfo for tcp:HOST:PORT) */
	"connect", "accept", "accept4", "bind", "shutdown", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "setsockopt", "getsockopt",
	"getsockname", "getpeername",
	/* virtio-rng */
	"getrandom",
	/* the API server's thread, already running, joins the Landlock domain on its
	 * first request (sandbox_confine_thread()): it can only restrict itself */
	"landlock_restrict_self",
	/* the end */
	"exit", "exit_group",
};

/* Sanitizer builds only (see SANDBOX_SANITIZER). */
static const char *const san_extra[] = {
	/* LeakSanitizer's stop-the-world: a clone()d tracer lists /proc/PID/task
	 * (getdents on x86-64) and ptraces every thread */
	"clone", "ptrace", "wait4", "waitid", "getppid", "prctl", "getdents", "getdents64",
	"process_vm_readv", "kill", "tkill", "tgkill",
	/* a report's symbolizer process, and the runtime's own bookkeeping */
	"fork", "vfork", "execve", "pipe", "pipe2", "dup2", "prlimit64", "getrlimit",
	"setrlimit", "sysinfo", "mincore", "sched_setaffinity", "getrusage", "personality",
	"arch_prctl", "setpgid", "getpgid", "setsid", "chdir", "fchdir", "getresuid",
	"getresgid",
};

/* Allowed with conditions on their arguments (install_filter()). */
static const char *const conditional[] = {
	"ioctl", "clone", "clone3", "socket", "prctl", "tgkill", "prlimit64",
};

/*
 * ioctl requests allowed after set-up.  KVM: running vCPUs, the state that
 * exits, pause/resume, snapshots and migration read and write, interrupts,
 * irqfd/ioeventfd (assigned when a guest driver starts a virtio device),
 * dirty logging.  Not here: what only set-up does (KVM_CREATE_*,
 * KVM_SET_CPUID2, KVM_ENABLE_CAP, KVM_SET_GSI_ROUTING, TSS and identity map,
 * TUNSETIFF).
 */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_CHECK_EXTENSION, KVM_GET_MSR_INDEX_LIST, KVM_GET_SUPPORTED_CPUID,
	KVM_GET_MSR_FEATURE_INDEX_LIST, /* with the supported CPUID (cpu/msrs.h) */
	KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU,
	KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_SET_XCRS,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
	KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	KVM_GET_TSC_KHZ, KVM_SET_TSC_KHZ, KVM_TRANSLATE, KVM_KVMCLOCK_CTRL,
	KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_GET_PIT2, KVM_SET_PIT2,
	KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD,
	KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG,
	/* virtio-net: the offloads the guest negotiated, set at DRIVER_OK */
	TUNSETOFFLOAD, TUNSETVNETHDRSZ,
	/* vhost-net (--net ...,vhost=on): started at DRIVER_OK, stopped at reset;
	 * VHOST_SET_OWNER and VHOST_GET_FEATURES are set-up only */
	VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM, VHOST_SET_VRING_ADDR,
	VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
	VHOST_NET_SET_BACKEND,
	/* the terminal (raw mode restored at the end, isatty() in stdio),
	 * non-blocking sockets, glibc's resolver */
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONBIO, FIONREAD, FIOCLEX, FIONCLEX,
};

static const int socket_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

static const int prctl_ops[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_NO_NEW_PRIVS };

/* ---- the report */

/* The report's names, generated at build time from the kernel's <asm/unistd.h>
 * (build/gen/syscall_names.h): resolving ~450 numbers through libseccomp at every start
 * cost 1.6 M instructions, more than the rest of a `skyvm run`'s start-up. */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};

#define NAME_TABLE ((int)(sizeof(syscall_names) / sizeof(syscall_names[0])))
static atomic_bool active;
static unsigned native_arch;
static int tty_fd = -1;
static struct termios tty_saved;

static size_t put_str(char *buf, size_t n, size_t size, const char *s)
{
	while (*s && n + 1 < size)
		buf[n++] = *s++;
	return n;
}

static size_t put_num(char *buf, size_t n, size_t size, unsigned long long v, unsigned base)
{
	char tmp[24];
	int k = 0;

	do {
		tmp[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && k < (int)sizeof(tmp));
	while (k && n + 1 < size)
		buf[n++] = tmp[--k];
	return n;
}

/*
 * SIGSYS from the filter: name the call and the thread, put the terminal back,
 * end.  Only async-signal-safe calls, all of them allowed by the filter.
 * The project's rule is that only main() exits; a signal handler that must
 * not return (the forbidden call would be retried or skipped) is the accepted
 * exception, and _exit() is the only way out it has.
 */
static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	char line[320], comm[17] = { 0 };
	size_t n = 0;
	int nr = si->si_syscall;

	if (si->si_code != SYS_SECCOMP) {
		/* Not the filter's (kill -SYS from outside): what SIGSYS does by default. */
		signal(SIGSYS, SIG_DFL);
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
		return;
	}
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	n = put_str(line, n, sizeof(line), "skyvm: sandbox: forbidden system call ");
	n = put_str(line, n, sizeof(line),
		    nr >= 0 && nr < NAME_TABLE && syscall_names[nr] ? syscall_names[nr] : "?");
	n = put_str(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), (unsigned long long)(unsigned)nr, 10);
	n = put_str(line, n, sizeof(line), ")");
#if defined(__x86_64__)
	if (nr == SYS_ioctl && ucv) {
		const ucontext_t *uc = ucv;

		n = put_str(line, n, sizeof(line), " request 0x");
		n = put_num(line, n, sizeof(line),
			    (unsigned long long)uc->uc_mcontext.gregs[REG_RSI] & 0xffffffffULL, 16);
	}
#endif
	if (si->si_arch != native_arch) {
		n = put_str(line, n, sizeof(line), " of another ABI (audit arch 0x");
		n = put_num(line, n, sizeof(line), si->si_arch, 16);
		n = put_str(line, n, sizeof(line), ")");
	}
	n = put_str(line, n, sizeof(line), " in thread ");
	n = put_str(line, n, sizeof(line), comm[0] ? comm : "?");
	n = put_str(line, n, sizeof(line), " (tid ");
	n = put_num(line, n, sizeof(line), (unsigned long long)syscall(SYS_gettid), 10);
	n = put_str(line, n, sizeof(line), "); skyvm ends (exit ");
	n = put_num(line, n, sizeof(line), EXIT_SANDBOX, 10);
	n = put_str(line, n, sizeof(line), ")\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr gone: the exit status still says it */
	}
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSANOW, &tty_saved);
	_exit(EXIT_SANDBOX);
}

/* ---- the filter */

static bool in_list(const char *const *list, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_syscall_resolve_name(list[i]) == nr)
			return true;
	return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool sandbox_allows(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr < 0)
		return false;
	return in_list(allowed, COUNT(allowed), nr) ||
	       (SANDBOX_SANITIZER && in_list(san_extra, COUNT(san_extra), nr));
}

bool sandbox_allows_ioctl(unsigned long req)
{
	for (size_t i = 0; i < COUNT(allowed_ioctls); i++)
		if ((allowed_ioctls[i] & 0xffffffffUL) == (req & 0xffffffffUL))
			return true;
	return false;
}

static int add_list(scmp_filter_ctx ctx, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(list[i]);
		int r;

		if (nr < 0)
			continue; /* not on this architecture or unknown to this libseccomp */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0) {
			errno = -r;
			return err_errno("sandbox: allowing %s", list[i]);
		}
	}
	return 0;
}

#define RULE(ctx, what, ...)                                                  \
	do {                                                                  \
		int r_ = seccomp_rule_add(ctx, __VA_ARGS__);                   \
		if (r_ < 0) {                                                 \
			errno = -r_;                                          \
			return err_errno("sandbox: rule for %s", what);       \
		}                                                             \
	} while (0)

static int add_conditional(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < COUNT(allowed_ioctls); i++)
		RULE(ctx, "ioctl", SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, allowed_ioctls[i] & 0xffffffffUL));
	for (size_t i = 0; i < COUNT(socket_families); i++)
		RULE(ctx, "socket", SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_families[i]));
	if (!SANDBOX_SANITIZER) {
		/* Threads, never processes: pthread_create's clone3 answers ENOSYS
		 * (its flags are behind a pointer the filter cannot read) and glibc
		 * falls back to clone(), whose flags must include CLONE_THREAD. */
		RULE(ctx, "clone", SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		for (size_t i = 0; i < COUNT(prctl_ops); i++)
			RULE(ctx, "prctl", SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ops[i]));
		/* Signals to this process's own threads only (the vCPU kick, abort). */
		RULE(ctx, "tgkill", SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
		/* Reading limits, never setting them. */
		RULE(ctx, "prlimit64", SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
		     SCMP_A2(SCMP_CMP_EQ, 0));
	}
	RULE(ctx, "clone3", SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return 0;
}

static int install_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx)
		return err_set("sandbox: seccomp_init failed");
	/* Every thread, including those already running (the API server's). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r < 0) {
		seccomp_release(ctx);
		errno = -r;
		return err_errno("sandbox: seccomp attributes");
	}
	if (add_list(ctx, allowed, COUNT(allowed)) < 0 ||
	    (SANDBOX_SANITIZER && add_list(ctx, san_extra, COUNT(san_extra)) < 0) ||
	    add_conditional(ctx) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		errno = -r;
		return err_errno("sandbox: loading the seccomp filter");
	}
	return 0;
}


/* ---- the test hook */

static struct {
	bool armed;
	bool is_ioctl;
	int nr;
	unsigned long req;
	char name[64];
	char thread[16];
} hook;

static int arm_test_hook(void)
{
	const char *want = getenv("SKYVM_SANDBOX_TEST_SYSCALL");
	const char *thread = getenv("SKYVM_SANDBOX_TEST_THREAD");

	if (!want || !*want)
		return 0;
	memset(&hook, 0, sizeof(hook));
	snprintf(hook.name, sizeof(hook.name), "%s", want);
	snprintf(hook.thread, sizeof(hook.thread), "%s", thread && *thread ? thread : "vcpu0");
	if (!strncmp(want, "ioctl:", 6)) {
		char *end;

		errno = 0;
		hook.req = strtoul(want + 6, &end, 0);
		if (errno || end == want + 6 || *end)
			return err_set("SKYVM_SANDBOX_TEST_SYSCALL=%s: expected ioctl:REQUEST", want);
		if (sandbox_allows_ioctl(hook.req))
			return err_set("SKYVM_SANDBOX_TEST_SYSCALL=%s: the filter allows this "
				       "request; the test hook makes only forbidden calls", want);
		hook.is_ioctl = true;
		hook.nr = SYS_ioctl;
	} else {
		hook.nr = seccomp_syscall_resolve_name(want);
		if (hook.nr < 0)
			return err_set("SKYVM_SANDBOX_TEST_SYSCALL=%s: no system call of that name",
				       want);
		for (size_t i = 0; i < COUNT(conditional); i++)
			if (!strcmp(want, conditional[i]))
				return err_set("SKYVM_SANDBOX_TEST_SYSCALL=%s: allowed with conditions "
					       "on its arguments; the test hook makes only "
					       "forbidden calls", want);
		if (sandbox_allows(want))
			return err_set("SKYVM_SANDBOX_TEST_SYSCALL=%s: the filter allows it; the "
				       "test hook makes only forbidden calls", want);
	}
	hook.armed = true;
	return 0;
}

void sandbox_thread_start(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	if (!hook.armed || !atomic_load(&active) || strcmp(name, hook.thread))
		return;
	/* Forbidden by construction (arm_test_hook): the kernel traps it before
	 * it runs, whatever its (zero) arguments would have done. */
	if (hook.is_ioctl)
		syscall(SYS_ioctl, -1, hook.req, 0);
	else
		syscall(hook.nr, 0, 0, 0, 0, 0, 0);
}

/* ---- Landlock: the paths run time still needs */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3; older uapi headers lack it */
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

static struct {
	char path[4096];
	bool api;
} sockets[SANDBOX_MAX_SOCKETS];
static unsigned nsockets;
/* The domain, for a thread that joins late (the API server's, which reads it) */
static atomic_int ruleset_fd = -1;
static __thread bool thread_confined;
static _Atomic(const char *) confined_snapshot_dir;

int sandbox_note_socket(const char *path, bool api)
{
	if (nsockets >= SANDBOX_MAX_SOCKETS)
		return err_set("sandbox: more than %d unix sockets", SANDBOX_MAX_SOCKETS);
	if (strlen(path) >= sizeof(sockets[0].path))
		return err_set("sandbox: socket path too long");
	snprintf(sockets[nsockets].path, sizeof(sockets[0].path), "%s", path);
	sockets[nsockets].api = api;
	nsockets++;
	return 0;
}

void sandbox_forget_sockets(void)
{
	nsockets = 0;
}

#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */

uint64_t sandbox_fs_handled(int abi)
{
	uint64_t h = 0;

	if (abi >= 1)
		h = FS_ABI1;
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	/* Not LANDLOCK_ACCESS_FS_IOCTL_DEV (ABI 5): the filter already names the
	 * ioctl requests allowed. */
	return h;
}

/* PUT /vm/snapshot: the directory, its files written to a temporary name,
 * renamed, the directory opened for fsync. */
#define FS_SNAPSHOT                                                                    \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                    \
	 LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |                   \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                  \
	 LANDLOCK_ACCESS_FS_TRUNCATE)

/* What getaddrinfo() reads for PUT /vm/migrate to tcp:HOST:PORT. */
static const char *const resolver_files[] = {
	"/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf",
	"/etc/gai.conf", "/etc/services",
};

static int add_fs_rule(struct sandbox_fs_rule *out, size_t max, int *n, const char *path,
		       uint64_t access, bool optional, uint64_t handled)
{
	if (!(access & handled))
		return 0;
	for (int i = 0; i < *n && (size_t)i < max; i++)
		if (!strcmp(out[i].path, path)) {
			out[i].access |= access & handled;
			out[i].optional = out[i].optional && optional;
			return 0;
		}
	if ((size_t)*n < max) {
		if (strlen(path) >= sizeof(out[0].path))
			return err_set("sandbox: path too long: %.64s...", path);
		snprintf(out[*n].path, sizeof(out[0].path), "%s", path);
		out[*n].access = access & handled;
		out[*n].optional = optional;
	}
	(*n)++;
	return 0;
}

int sandbox_fs_rules(const struct sandbox_config *c, int abi, struct sandbox_fs_rule *out,
		     size_t max)
{
	uint64_t handled = sandbox_fs_handled(abi);
	bool api = false;
	int n = 0;

	for (unsigned i = 0; i < nsockets; i++) {
		char copy[sizeof(sockets[0].path)];

		snprintf(copy, sizeof(copy), "%s", sockets[i].path);
		if (add_fs_rule(out, max, &n, dirname(copy), LANDLOCK_ACCESS_FS_REMOVE_FILE, false,
				handled) < 0)
			return -1;
		api = api || sockets[i].api;
	}
	if (api) {
		if (add_fs_rule(out, max, &n, c->snapshot_dir ? c->snapshot_dir : "/", FS_SNAPSHOT,
				false, handled) < 0)
			return -1;
		for (size_t i = 0; i < COUNT(resolver_files); i++)
			if (add_fs_rule(out, max, &n, resolver_files[i],
					LANDLOCK_ACCESS_FS_READ_FILE, true, handled) < 0)
				return -1;
	}
	if (SANDBOX_SANITIZER &&
	    add_fs_rule(out, max, &n, "/",
			LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
				LANDLOCK_ACCESS_FS_EXECUTE, false, handled) < 0)
		return -1;
	if ((size_t)n > max)
		return err_set("sandbox: %d path rules, room for %zu", n, max);
	return n;
}

/* A file's rule may carry only a file's rights. */
#define FS_FILE_RIGHTS                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                    \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

/*
 * Build the Landlock ruleset (before the --user drop: the paths are opened as
 * the user that named them).  0 with ruleset_fd set, or left at -1 where the
 * kernel has no Landlock (said once with --verbose); -1 with err_msg().
 */
static int landlock_prepare(const struct sandbox_config *c)
{
	struct landlock_ruleset_attr attr;
	static struct sandbox_fs_rule rules[SANDBOX_MAX_FS_RULES];
	int abi, n, fd;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno != ENOSYS && errno != EOPNOTSUPP)
			return err_errno("sandbox: Landlock's version");
		if (c->verbose || c->snapshot_dir)
			fprintf(stderr, "skyvm: note: this kernel has no Landlock (%s): the sandbox "
				"does not confine paths%s\n",
				errno == ENOSYS ? "not built in" : "not enabled",
				c->snapshot_dir ? "; --snapshot-dir is not enforced" : "");
		return 0;
	}
	n = sandbox_fs_rules(c, abi, rules, SANDBOX_MAX_FS_RULES);
	if (n < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = sandbox_fs_handled(abi);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return err_errno("sandbox: landlock_create_ruleset");
	for (int i = 0; i < n; i++) {
		struct landlock_path_beneath_attr pb = { .allowed_access = rules[i].access };
		struct stat st;

		pb.parent_fd = open(rules[i].path, O_PATH | O_CLOEXEC);
		if (pb.parent_fd < 0) {
			if (rules[i].optional && errno == ENOENT)
				continue;
			err_errno("sandbox: %s%s", rules[i].path,
				  c->snapshot_dir && !strcmp(rules[i].path, c->snapshot_dir)
					  ? " (--snapshot-dir)" : "");
			close(fd);
			return -1;
		}
		if (fstat(pb.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
			pb.allowed_access &= FS_FILE_RIGHTS;
		if (pb.allowed_access &&
		    syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			err_errno("sandbox: Landlock rule for %s", rules[i].path);
			close(pb.parent_fd);
			close(fd);
			return -1;
		}
		close(pb.parent_fd);
	}
	atomic_store(&confined_snapshot_dir, c->snapshot_dir);
	atomic_store(&ruleset_fd, fd);
	return 0;
}

const char *sandbox_snapshot_dir(void)
{
	return atomic_load(&confined_snapshot_dir);
}

int sandbox_confine_thread(void)
{
	int fd = atomic_load(&ruleset_fd);

	if (thread_confined || fd < 0)
		return 0;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		return err_errno("sandbox: landlock_restrict_self in a running thread");
	thread_confined = true;
	return 0;
}

/* ---- --user and entering */

int sandbox_parse_user(const char *arg, struct sandbox_config *c)
{
	unsigned long long v[2];
	const char *p = arg;

	for (int i = 0; i < 2; i++) {
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno || v[i] >= 0xffffffffULL)
			goto bad;
		if (i == 0 && *end != ':')
			goto bad;
		if (i == 1 && *end)
			goto bad;
		p = end + 1;
	}
	c->drop_user = true;
	c->uid = (uid_t)v[0];
	c->gid = (gid_t)v[1];
	return 0;
bad:
	return err_set("--user '%s': expected UID:GID, two decimal numbers below 4294967295",
		       arg);
}

int sandbox_check_user(const struct sandbox_config *c)
{
	if (c->drop_user && geteuid() != 0)
		return err_set("--user %u:%u: dropping to another user needs root (skyvm runs "
			       "as uid %u)", (unsigned)c->uid, (unsigned)c->gid,
			       (unsigned)geteuid());
	return 0;
}

static int drop_user(const struct sandbox_config *c)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	if (sandbox_check_user(c) < 0)
		return -1;
	/* Groups first, while still root; glibc applies each to every thread. */
	if (setgroups(1, &c->gid) < 0)
		return err_errno("--user: setgroups(%u)", (unsigned)c->gid);
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return err_errno("--user: setresgid(%u)", (unsigned)c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return err_errno("--user: setresuid(%u)", (unsigned)c->uid);
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0 || r != c->uid ||
	    e != c->uid || s != c->uid || gr != c->gid || ge != c->gid || gs != c->gid)
		return err_set("--user %u:%u: the user or group did not change",
			       (unsigned)c->uid, (unsigned)c->gid);
	if (c->uid != 0 && setresuid(0, 0, 0) == 0)
		return err_set("--user %u:%u: root could be regained after the drop",
			       (unsigned)c->uid, (unsigned)c->gid);
	return 0;
}

void sandbox_restore_tty(int fd, const struct termios *t)
{
	tty_saved = *t;
	tty_fd = fd;
}

bool sandbox_active(void)
{
	return atomic_load(&active);
}

int sandbox_enter(const struct sandbox_config *c)
{
	struct sigaction sa;
	sigset_t set;

	/* Once per process: a later VM of the same command (host-check runs
	 * several) runs under the filter the first one installed. */
	if (atomic_load(&active))
		return 0;
	if (!c->disabled && landlock_prepare(c) < 0)
		return -1;
	if (c->drop_user && drop_user(c) < 0)
		return -1;
	if (c->disabled)
		return 0;
	if (arm_test_hook() < 0)
		return -1;
	native_arch = seccomp_arch_native();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_errno("sandbox: sigaction(SIGSYS)");
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* Explicitly, though libseccomp sets it too: no exec could gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno("sandbox: PR_SET_NO_NEW_PRIVS");
	/* This thread's domain; the threads it starts inherit it, one already
	 * running joins with sandbox_confine_thread(). */
	if (sandbox_confine_thread() < 0)
		return -1;
	if (install_filter() < 0)
		return -1;
	atomic_store(&active, true);
	return 0;
}
