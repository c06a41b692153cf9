/* SPDX-License-Identifier: MIT */
/*
 * The bench's stopwatch: runs a command and measures it from fork+exec to its
 * end, in C so that the timing loop costs the same wherever it runs (on a host,
 * or inside the nested-KVM guest where a Python loop would run under TCG).
 *
 *   timeit [--runs N] [--guest-mib M] -- CMD1... [::: CMD2...]...
 *       N rounds one after another; a round runs CMD1, CMD2, ... once each, so
 *       peers are interleaved and share whatever else the machine is doing.
 *       One JSON line per run (cmd = the command's index, from 0):
 *       {"cmd":..,"wall_ns":..,"maxrss_kib":..,"status":..,"user_us":..,"sys_us":..[,"guest_kib":..,
 *       "anon_kib":..,"file_kib":..,"hwm_kib":..]}
 *       maxrss_kib is the child's peak RSS (wait4's ru_maxrss).  With --guest-mib,
 *       the guest-memory meter: the child runs under a seccomp filter that stops
 *       it, just before it unmaps a mapping of exactly M MiB (its guest RAM) or
 *       before exit_group, for this process to read /proc/PID/smaps and status:
 *       guest_kib, the RSS of the guest-RAM mapping (an anonymous mapping of
 *       exactly M MiB: skyvm, bare_kvm and QEMU each map their RAM in one piece),
 *       with the process's RssAnon and RssFile + RssShmem at that moment and its
 *       VmHWM (peak RSS since exec; maxrss_kib also counts the forked stopwatch
 *       before exec).  It works for static and dynamic programs alike (no
 *       LD_PRELOAD); guest pages are only ever added, so the first stop sees the
 *       most guest memory the process held.
 *   timeit --parallel P --count N [--ok CODE] -- CMD...
 *       N runs, P at a time (a new one starts as soon as one ends); one line:
 *       {"wall_ns":..,"completed":..,"failed":..}: completed counts the runs that
 *       ended with an ok status, wall_ns spans the first fork to the last end.
 *   timeit --until TEXT [--fail TEXT2] [--runs N] [--timeout S] -- CMD...
 *       time from exec until TEXT appears in the child's stdout+stderr; the
 *       child's process group is then killed.  {"wall_ns":..} per run, or
 *       {"error":"..","status":..,"tail":".."} when it ended, printed TEXT2
 *       (QEMU's "KVM internal error": it then waits for its monitor), or S
 *       seconds passed first.
 * --timeout S (default 300) also bounds each run of the other modes: a run still
 * going after S seconds is killed (status 137; --parallel counts it as killed).
 * Exits 0 when every run succeeded (--parallel: status CODE, default 0; --until:
 * TEXT seen), else 1; repeat mode leaves judging each status to the caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* ---- the guest-memory meter (--guest-mib) */

/*
 * The child's filter: munmap(addr, bytes) and exit_group stop for the meter
 * (SECCOMP_RET_USER_NOTIF); everything else runs as it would.
 */
static int meter_filter(unsigned long long bytes)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)bytes, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(bytes >> 32), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static int pass_fd(int sock, int fd)
{
	char data = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;

	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int take_fd(int sock)
{
	char data, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	int fd;

	memset(ctl, 0, sizeof(ctl));
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* RSS (KiB) of pid's mapping starting at addr, or of the first rw one of `bytes` when addr is 0. */
static long mapping_rss_kib(pid_t pid, uint64_t addr, unsigned long long bytes)
{
	char path[64], line[512];
	int match = 0;
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;

		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 && strchr(line, '-') &&
		    line[strlen(line) - 1] == '\n' && strstr(line, " rw")) {
			match = addr ? start == addr : end - start == bytes;
			continue;
		}
		if (match && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static long status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), " %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct meter {
	unsigned long long bytes;
	bool done;
	long guest, anon, file, hwm;
};

/* One stop of the child: read what it holds (the first time), then let the call go on. */
static void meter_serve(int listener, struct meter *m)
{
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		die("SECCOMP_GET_NOTIF_SIZES");
	req = calloc(1, sizes.seccomp_notif);
	resp = calloc(1, sizes.seccomp_notif_resp);
	if (!req || !resp)
		die("calloc");
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
		pid_t pid = (pid_t)req->pid;

		if (!m->done) {
			bool unmap = req->data.nr == __NR_munmap;
			long g = mapping_rss_kib(pid, unmap ? req->data.args[0] : 0, m->bytes);

			if (g >= 0) {
				/* Files on tmpfs (the bench's root in the nested guest) count as RssShmem. */
				m->guest = g;
				m->anon = status_kib(pid, "RssAnon:");
				m->file = status_kib(pid, "RssFile:") + status_kib(pid, "RssShmem:");
				m->hwm = status_kib(pid, "VmHWM:");
				m->done = true;
			}
		}
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: it was killed */
	}
	free(req);
	free(resp);
}

static pid_t spawn(char **argv, int out_fd, int meter_sock, unsigned long long meter_bytes)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL); /* main() blocked SIGCHLD */
		if (null < 0)
			_exit(127);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(out_fd >= 0 ? out_fd : null, 2);
		if (out_fd >= 0)
			setsid();
		if (meter_sock >= 0) {
			int listener = meter_filter(meter_bytes);

			if (listener < 0 || pass_fd(meter_sock, listener) < 0)
				_exit(126);
			close(listener);
			close(meter_sock);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * wait4() for pid, killing it (SIGKILL, status 137) once deadline_ns passes: a VM
 * stuck under nested KVM must not stall the whole bench.  0 = no deadline.
 */
static pid_t wait_deadline(pid_t pid, int *st, struct rusage *ru, uint64_t deadline_ns)
{
	sigset_t chld;
	bool killed = false;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t r = wait4(pid, st, deadline_ns ? WNOHANG : 0, ru);
		struct timespec tick = { 0, 20 * 1000 * 1000 };

		if (r != 0)
			return r;
		if (!killed && now_ns() >= deadline_ns) {
			kill(pid, SIGKILL);
			killed = true;
		}
		sigtimedwait(&chld, NULL, &tick);
	}
}

/* wait_deadline() while serving the meter's stops of the child. */
static pid_t wait_metered(pid_t pid, int listener, struct meter *m, int *st, struct rusage *ru,
			  uint64_t deadline_ns)
{
	bool killed = false;

	for (;;) {
		struct pollfd p = { listener, POLLIN, 0 };
		pid_t r = wait4(pid, st, WNOHANG, ru);

		if (r != 0)
			return r;
		if (!killed && now_ns() >= deadline_ns) {
			kill(pid, SIGKILL);
			killed = true;
		}
		if (poll(&p, 1, 20) > 0 && (p.revents & POLLIN))
			meter_serve(listener, m);
		else if (p.revents & (POLLHUP | POLLERR))
			usleep(1000); /* the child is ending: wait4 will see it */
	}
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define MAX_CMDS 8

static int run_repeat(char **argv, int runs, unsigned long guest_mib, double timeout_s)
{
	char **cmds[MAX_CMDS];
	int ncmds = 0;

	cmds[ncmds++] = argv;
	for (char **a = argv; *a; a++) {
		if (strcmp(*a, ":::"))
			continue;
		*a = NULL;
		if (ncmds == MAX_CMDS || !a[1]) {
			fprintf(stderr, "timeit: at most %d commands, none empty\n", MAX_CMDS);
			return 2;
		}
		cmds[ncmds++] = a + 1;
	}
	for (int i = 0; i < runs; i++) {
		for (int c = 0; c < ncmds; c++) {
			struct meter m = { .bytes = (unsigned long long)guest_mib << 20 };
			int sv[2] = { -1, -1 }, listener = -1, st;
			struct rusage ru;
			uint64_t t0, wall, deadline;
			pid_t pid, r;

			if (guest_mib && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
				die("socketpair");
			t0 = now_ns();
			deadline = t0 + (uint64_t)(timeout_s * 1e9);
			pid = spawn(cmds[c], -1, sv[1], m.bytes);
			if (guest_mib) {
				close(sv[1]);
				listener = take_fd(sv[0]);
				close(sv[0]);
			}
			if (listener >= 0)
				r = wait_metered(pid, listener, &m, &st, &ru, deadline);
			else
				r = wait_deadline(pid, &st, &ru, deadline);
			if (r < 0)
				die("wait4");
			wall = now_ns() - t0;
			printf("{\"cmd\":%d,\"wall_ns\":%llu,\"maxrss_kib\":%ld,\"status\":%d,"
			       "\"user_us\":%ld,\"sys_us\":%ld", c, (unsigned long long)wall,
			       ru.ru_maxrss, status_code(st),
			       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
			       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
			if (listener >= 0) {
				if (m.done)
					printf(",\"guest_kib\":%ld,\"anon_kib\":%ld,"
					       "\"file_kib\":%ld,\"hwm_kib\":%ld", m.guest, m.anon,
					       m.file, m.hwm);
				close(listener);
			}
			printf("}\n");
			fflush(stdout);
		}
	}
	return 0;
}

static int run_parallel(char **argv, int parallel, int count, int ok, double timeout_s)
{
	int started = 0, running = 0, completed = 0, failed = 0, killed = 0;
	pid_t pids[64];
	uint64_t ends[64];
	uint64_t t0 = now_ns();
	sigset_t chld;

	if (parallel > 64)
		parallel = 64;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (started < count || running) {
		struct timespec tick = { 0, 5 * 1000 * 1000 };
		int st;
		pid_t pid;

		while (started < count && running < parallel) {
			pids[running] = spawn(argv, -1, -1, 0);
			ends[running++] = now_ns() + (uint64_t)(timeout_s * 1e9);
			started++;
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0)
			die("waitpid");
		if (pid == 0) {
			uint64_t now = now_ns();

			for (int i = 0; i < running; i++)
				if (ends[i] && now >= ends[i]) {
					kill(pids[i], SIGKILL);
					ends[i] = 0;
					killed++;
				}
			sigtimedwait(&chld, NULL, &tick);
			continue;
		}
		for (int i = 0; i < running; i++)
			if (pids[i] == pid) {
				pids[i] = pids[running - 1];
				ends[i] = ends[running - 1];
				break;
			}
		running--;
		if (status_code(st) == ok)
			completed++;
		else
			failed++;
	}
	printf("{\"wall_ns\":%llu,\"completed\":%d,\"failed\":%d,\"killed\":%d}\n",
	       (unsigned long long)(now_ns() - t0), completed, failed, killed);
	return failed ? 1 : 0;
}

static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#define OUT_MAX (1 << 20)

static int run_until(char **argv, int runs, const char *text, const char *fail,
		     double timeout_s)
{
	static char out[OUT_MAX + 1];
	int bad = 0;

	for (int i = 0; i < runs; i++) {
		int p[2], st = 0;
		size_t len = 0;
		uint64_t t0, seen = 0, deadline;
		bool ended = false, failed = false;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		t0 = now_ns();
		deadline = t0 + (uint64_t)(timeout_s * 1e9);
		pid = spawn(argv, p[1], -1, 0);
		close(p[1]);
		while (!seen && !failed) {
			struct pollfd pf = { .fd = p[0], .events = POLLIN };
			uint64_t now = now_ns();
			ssize_t n;

			if (now >= deadline)
				break;
			if (poll(&pf, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
				continue;
			if (len == OUT_MAX) { /* keep the last half: TEXT is near the end */
				memmove(out, out + OUT_MAX / 2, OUT_MAX / 2);
				len = OUT_MAX / 2;
			}
			n = read(p[0], out + len, OUT_MAX - len);
			if (n <= 0) {
				ended = true;
				break;
			}
			len += (size_t)n;
			out[len] = 0;
			if (memmem(out, len, text, strlen(text)))
				seen = now_ns() - t0;
			else if (fail && memmem(out, len, fail, strlen(fail)))
				failed = true;
		}
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(p[0]);
		if (seen) {
			printf("{\"wall_ns\":%llu}\n", (unsigned long long)seen);
		} else {
			size_t from = len > 1500 ? len - 1500 : 0;

			printf("{\"error\":\"%s\",\"status\":%d,\"tail\":",
			       failed ? "printed the failure text" :
			       ended ? "ended before the text" : "timeout", status_code(st));
			json_str(out + from, len - from);
			printf("}\n");
			bad++;
		}
		fflush(stdout);
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int runs = 1, ok = 0, parallel = 0, count = 0, i;
	unsigned long guest_mib = 0;
	const char *until = NULL, *fail = NULL;
	double timeout_s = 300;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			break;
		if (!strcmp(a, "--runs"))
			runs = atoi(v);
		else if (!strcmp(a, "--ok"))
			ok = atoi(v);
		else if (!strcmp(a, "--parallel"))
			parallel = atoi(v);
		else if (!strcmp(a, "--count"))
			count = atoi(v);
		else if (!strcmp(a, "--guest-mib"))
			guest_mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--until"))
			until = v;
		else if (!strcmp(a, "--fail"))
			fail = v;
		else if (!strcmp(a, "--timeout"))
			timeout_s = atof(v);
		else
			break;
		i++;
	}
	if (i + 1 >= argc || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: timeit [--runs N] [--guest-mib M] [--timeout S] -- CMD... "
				"[::: CMD...]\n       timeit --parallel P --count N [--ok CODE] [--timeout S] -- "
				"CMD...\n       timeit --until TEXT [--fail TEXT2] [--runs N] [--timeout S] -- "
				"CMD...\n");
		return 2;
	}
	argv += i + 1;
	/* Blocked, so that sigtimedwait() wakes the moment a child ends. */
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (until)
		return run_until(argv, runs, until, fail, timeout_s);
	if (parallel)
		return run_parallel(argv, parallel, count, ok, timeout_s);
	return run_repeat(argv, runs, guest_mib, timeout_s);
}
