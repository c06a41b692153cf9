/* SPDX-License-Identifier: MIT */
/*
 * The bench's stopwatch: runs a command and measures it from fork+exec to its
 * end, in C so that the timing loop costs the same wherever it runs (on a host,
 * or inside the nested-KVM guest where a Python loop would run under TCG).
 *
 *   timeit [--runs N] [--guest-mib M --preload SO] -- CMD1... [::: CMD2...]...
 *       N rounds one after another; a round runs CMD1, CMD2, ... once each, so
 *       peers are interleaved and share whatever else the machine is doing.
 *       One JSON line per run (cmd = the command's index, from 0):
 *       {"cmd":..,"wall_ns":..,"maxrss_kib":..,"status":..,"user_us":..,"sys_us":..[,"guest_kib":..,
 *       "anon_kib":..,"file_kib":..,"hwm_kib":..]}
 *       maxrss_kib is the child's peak RSS (wait4's ru_maxrss).  With --preload,
 *       SO (bench/guestmem.c) is LD_PRELOADed with BENCH_GUEST_BYTES=M MiB and
 *       reports the RSS of the child's guest-memory mapping (an anonymous mapping
 *       of exactly M MiB) when it is unmapped or at exit: guest_kib, with the
 *       process's RssAnon and RssFile at that moment and its VmHWM (peak RSS
 *       since exec; maxrss_kib also counts the forked stopwatch before exec).
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
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

static pid_t spawn(char **argv, int out_fd, int guest_fd)
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
		if (guest_fd >= 0) {
			char fd[16];

			snprintf(fd, sizeof(fd), "%d", guest_fd);
			setenv("BENCH_GUESTMEM_FD", fd, 1);
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

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define MAX_CMDS 8

static int run_repeat(char **argv, int runs, const char *preload, unsigned long guest_mib,
		      double timeout_s)
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
	if (preload) {
		char bytes[32];

		snprintf(bytes, sizeof(bytes), "%lu", guest_mib << 20);
		setenv("LD_PRELOAD", preload, 1);
		setenv("BENCH_GUEST_BYTES", bytes, 1);
	}
	for (int i = 0; i < runs; i++) {
		for (int c = 0; c < ncmds; c++) {
			int gfd = -1, st;
			struct rusage ru;
			uint64_t t0, wall;
			pid_t pid;

			if (preload) {
				gfd = memfd_create("guestmem", 0);
				if (gfd < 0)
					die("memfd_create");
			}
			t0 = now_ns();
			pid = spawn(cmds[c], -1, gfd);
			if (wait_deadline(pid, &st, &ru, t0 + (uint64_t)(timeout_s * 1e9)) < 0)
				die("wait4");
			wall = now_ns() - t0;
			printf("{\"cmd\":%d,\"wall_ns\":%llu,\"maxrss_kib\":%ld,\"status\":%d,"
			       "\"user_us\":%ld,\"sys_us\":%ld", c, (unsigned long long)wall,
			       ru.ru_maxrss, status_code(st),
			       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
			       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
			if (gfd >= 0) {
				char buf[64] = "";
				ssize_t n = pread(gfd, buf, sizeof(buf) - 1, 0);

				long g, a, f, hwm;

				if (n > 0) {
					buf[n] = 0;
					if (sscanf(buf, "%ld %ld %ld %ld", &g, &a, &f, &hwm) == 4)
						printf(",\"guest_kib\":%ld,\"anon_kib\":%ld,"
						       "\"file_kib\":%ld,\"hwm_kib\":%ld", g, a, f,
						       hwm);
				}
				close(gfd);
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
			pids[running] = spawn(argv, -1, -1);
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
		pid = spawn(argv, p[1], -1);
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
	const char *preload = NULL, *until = NULL, *fail = NULL;
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
		else if (!strcmp(a, "--preload"))
			preload = v;
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
		fprintf(stderr, "usage: timeit [--runs N] [--guest-mib M --preload SO] [--timeout S] -- CMD... "
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
	return run_repeat(argv, runs, preload, guest_mib, timeout_s);
}
