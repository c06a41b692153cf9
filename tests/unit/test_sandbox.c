/* SPDX-License-Identifier: MIT */
/*
 * The sandbox (vmm/sandbox.h), without KVM: each case forks a child that
 * enters the real filter and then makes allowed and forbidden calls; the
 * parent reads the child's stderr and exit status.  A forbidden call must end
 * the child with EXIT_SANDBOX and a report naming the call and the thread,
 * on whichever thread makes it (threads started before the filter too).
 * Also: --user parsing and the drop (as root), the test hook, and that the
 * descriptors skyvm's set-up helpers open are all close-on-exec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/http.h"
#include "exitcodes.h"
#include "util/err.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* What a child said on stderr and how it ended. */
struct outcome {
	char err[4096];
	int status;
};

/* Run fn in a child with stderr on a pipe; fn's return is the exit status. */
static void in_child(int (*fn)(void *), void *arg, struct outcome *o)
{
	int p[2];
	pid_t pid;
	size_t n = 0;
	ssize_t got;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		_exit(fn(arg));
	}
	close(p[1]);
	while (n + 1 < sizeof(o->err) && (got = read(p[0], o->err + n, sizeof(o->err) - 1 - n)) > 0)
		n += (size_t)got;
	close(p[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static void expect_exit(const struct outcome *o, int code)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != code)
		fail_msg("child: status 0x%x, expected exit %d; stderr:\n%s", o->status, code,
			 o->err);
}

static void expect_report(const struct outcome *o, const char *what)
{
	expect_exit(o, EXIT_SANDBOX);
	if (!strstr(o->err, "skyvm: sandbox: forbidden system call ") || !strstr(o->err, what))
		fail_msg("expected a report with '%s'; stderr:\n%s", what, o->err);
}

static int enter_default(void)
{
	struct sandbox_config c = { 0 };

	if (sandbox_enter(&c) < 0) {
		fprintf(stderr, "sandbox_enter: %s\n", err_msg());
		return 50;
	}
	return 0;
}

/* ---- allowed calls work, a forbidden one ends the process with the report */

static int child_mount(void *arg)
{
	char buf[8];
	/* opened at set-up, used after: what running a VM does with its files */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), r = enter_default();

	if (r)
		return r;
	if (!sandbox_active() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 51;
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 0 || close(fd) < 0 || getpid() <= 0)
		return 52;
	free(malloc(1 << 20));
	if (write(STDERR_FILENO, "allowed calls ok\n", 17) != 17)
		return 53;
	syscall(SYS_mount, 0, 0, 0, 0, 0);
	return 54; /* not reached: killed */
}

static void test_forbidden_call_is_reported(void **state)
{
	struct outcome o;

	in_child(child_mount, NULL, &o);
	expect_report(&o, "mount (165) in thread ");
	assert_non_null(strstr(o.err, "allowed calls ok\n"));
	assert_non_null(strstr(o.err, "skyvm ends (exit 200)\n"));
}

static int child_sigsys_from_outside(void *arg)
{
	int r = enter_default();

	if (r)
		return r;
	raise(SIGSYS); /* not the filter's: no report, SIGSYS's default action */
	return 78;
}

static void test_sigsys_not_from_the_filter(void **state)
{
	struct outcome o;

	in_child(child_sigsys_from_outside, NULL, &o);
	if (!WIFSIGNALED(o.status) || WTERMSIG(o.status) != SIGSYS)
		fail_msg("child: status 0x%x, expected killed by SIGSYS; stderr:\n%s", o.status,
			 o.err);
	assert_null(strstr(o.err, "forbidden system call"));
}

/* ---- ioctl: by request */

static int child_ioctl_only(void *arg)
{
	int fd, on = 1, r = enter_default();

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, FIONBIO, &on) < 0)
		return 56;
	ioctl(STDIN_FILENO, TIOCSTI, "x");
	return 57;
}

static void test_forbidden_ioctl_names_request(void **state)
{
	struct outcome o;

	in_child(child_ioctl_only, NULL, &o);
	expect_report(&o, "ioctl (16) request 0x5412 in thread ");
}

/* ---- socket families */

static int child_packet_socket(void *arg)
{
	int r = enter_default();

	if (r)
		return r;
	if (socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
		return 58;
	socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	return 59;
}

static void test_socket_by_family(void **state)
{
	struct outcome o;

	in_child(child_packet_socket, NULL, &o);
	expect_report(&o, "socket (41)");
}

/* ---- threads: made after the filter work; one made before is covered (TSYNC) */

static void *worker(void *arg)
{
	return arg;
}

static atomic_int go;

static void *early_thread(void *arg)
{
	pthread_setname_np(pthread_self(), "early-thread");
	while (!atomic_load(&go))
		usleep(1000);
	syscall(SYS_reboot, 0, 0, 0, 0);
	return NULL;
}

static int child_threads(void *arg)
{
	pthread_t early, t;
	void *ret = NULL;
	int r;

	if (pthread_create(&early, NULL, early_thread, NULL))
		return 60;
	r = enter_default();
	if (r)
		return r;
	/* a thread born under the filter (clone3 -> ENOSYS -> clone(CLONE_THREAD)) */
	if (pthread_create(&t, NULL, worker, (void *)&go) || pthread_join(t, &ret) ||
	    ret != (void *)&go)
		return 61;
	if (write(STDERR_FILENO, "new thread ok\n", 14) != 14)
		return 62;
	atomic_store(&go, 1);
	pthread_join(early, NULL);
	return 63;
}

static void test_threads_before_and_after(void **state)
{
	struct outcome o;

	in_child(child_threads, NULL, &o);
	expect_report(&o, "reboot (169) in thread early-thread (tid ");
	assert_non_null(strstr(o.err, "new thread ok\n"));
}

static int child_fork(void *arg)
{
	int r = enter_default();
	pid_t pid;

	if (r)
		return r;
	pid = fork();
	if (pid == 0)
		_exit(0);
	return 64;
}

static void test_no_new_processes(void **state)
{
	struct outcome o;

	if (SANITIZED)
		skip(); /* sanitizer builds allow clone() for LeakSanitizer (docs/sandbox.md) */
	in_child(child_fork, NULL, &o);
	expect_report(&o, "clone (56)");
}

/* ---- the test hook */

static int child_hook(void *arg)
{
	const char *thread = arg;
	int r;

	setenv("SKYVM_SANDBOX_TEST_SYSCALL", "mount", 1);
	if (thread)
		setenv("SKYVM_SANDBOX_TEST_THREAD", thread, 1);
	r = enter_default();
	if (r)
		return r;
	sandbox_thread_start("vcpu1"); /* not the hook's thread: nothing happens */
	if (write(STDERR_FILENO, "vcpu1 ok\n", 9) != 9)
		return 65;
	sandbox_thread_start(thread ? thread : "vcpu0");
	return 66;
}

static void test_hook(void **state)
{
	struct outcome o;

	in_child(child_hook, NULL, &o);
	expect_report(&o, "mount (165) in thread vcpu0 (tid ");
	assert_non_null(strstr(o.err, "vcpu1 ok\n"));
	in_child(child_hook, (void *)"event-loop", &o);
	expect_report(&o, "mount (165) in thread event-loop (tid ");
}

static int child_hook_refused(void *arg)
{
	struct sandbox_config c = { 0 };

	setenv("SKYVM_SANDBOX_TEST_SYSCALL", arg, 1);
	if (sandbox_enter(&c) == 0)
		return 67;
	fprintf(stderr, "%s\n", err_msg());
	return sandbox_active() ? 68 : 0;
}

static void test_hook_makes_only_forbidden_calls(void **state)
{
	struct outcome o;

	in_child(child_hook_refused, (void *)"read", &o);
	expect_exit(&o, 0);
	assert_non_null(strstr(o.err, "SKYVM_SANDBOX_TEST_SYSCALL=read: the filter allows it"));
	in_child(child_hook_refused, (void *)"ioctl:0x5401", &o); /* TCGETS */
	expect_exit(&o, 0);
	assert_non_null(strstr(o.err, "the filter allows this request"));
	in_child(child_hook_refused, (void *)"no_such_call", &o);
	expect_exit(&o, 0);
	assert_non_null(strstr(o.err, "no system call of that name"));
}

static int child_disabled(void *arg)
{
	struct sandbox_config c = { .disabled = true };

	setenv("SKYVM_SANDBOX_TEST_SYSCALL", "mount", 1);
	if (sandbox_enter(&c) < 0 || sandbox_active())
		return 69;
	sandbox_thread_start("vcpu0"); /* no filter: the hook calls nothing */
	return 0;
}

static void test_disabled(void **state)
{
	struct outcome o;

	in_child(child_disabled, NULL, &o);
	expect_exit(&o, 0);
}

/* ---- --user */

static void test_parse_user(void **state)
{
	static const char *const bad[] = {
		"", "1000", "1000:", ":1000", "a:b", "-1:0", "1:-1", "+1:1", " 1:1", "1:1 ",
		"1:1:1", "4294967295:0", "0:4294967295", "99999999999999999999:0", "1;1",
	};
	struct sandbox_config c = { 0 };

	assert_int_equal(sandbox_parse_user("1000:100", &c), 0);
	assert_true(c.drop_user);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 100);
	assert_int_equal(sandbox_parse_user("0:0", &c), 0);
	assert_int_equal(sandbox_parse_user("4294967294:65534", &c), 0);
	assert_int_equal(c.uid, 4294967294U);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct sandbox_config){ 0 };
		if (sandbox_parse_user(bad[i], &c) == 0)
			fail_msg("--user '%s' accepted", bad[i]);
		assert_false(c.drop_user);
		assert_non_null(strstr(err_msg(), "expected UID:GID"));
	}
}

static int child_not_root(void *arg)
{
	struct sandbox_config c = { .drop_user = true, .uid = 1, .gid = 1 };

	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return 70;
	if (sandbox_check_user(&c) == 0 || sandbox_enter(&c) == 0)
		return 71;
	fprintf(stderr, "%s\n", err_msg());
	return 0;
}

static void test_user_needs_root(void **state)
{
	struct outcome o;

	in_child(child_not_root, NULL, &o);
	expect_exit(&o, 0);
	assert_non_null(strstr(o.err, "--user 1:1: dropping to another user needs root"));
}

static int child_drop(void *arg)
{
	struct sandbox_config c = { .drop_user = true, .uid = 65534, .gid = 65533 };
	char status[4096], *groups;
	ssize_t n;
	/* Opened before (the sandbox confines paths), read after: /proc
	 * generates the text at the read. */
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (sandbox_enter(&c) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return 72;
	}
	/* under the filter now: getgroups() is not allowed, /proc is read */
	n = fd >= 0 ? read(fd, status, sizeof(status) - 1) : -1;
	if (n <= 0)
		return 76;
	status[n] = '\0';
	close(fd);
	groups = strstr(status, "\nGroups:");
	if (!groups || strncmp(groups, "\nGroups:\t65533 \n", strlen("\nGroups:\t65533 \n"))) {
		fprintf(stderr, "%s\n", status);
		return 73;
	}
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65533 || getegid() != 65533)
		return 73;
	/* the filter came after the drop: it is in place, and no one changes
	 * user under it (not even back to root, which would fail anyway) */
	if (!sandbox_active() || write(STDERR_FILENO, "ids ok\n", 7) != 7)
		return 75;
	if (setuid(0) == 0)
		return 74;
	return 77;
}

static void test_user_drop(void **state)
{
	struct outcome o;

	if (geteuid() != 0)
		skip(); /* the drop needs root; test_user_needs_root covers the refusal */
	in_child(child_drop, NULL, &o);
	expect_report(&o, "setuid (105)");
	assert_non_null(strstr(o.err, "ids ok\n"));
}

/* ---- path confinement (Landlock) */

static bool has_landlock(void)
{
	return syscall(444 /* landlock_create_ruleset */, NULL, 0, 1 /* VERSION */) >= 1;
}

static const struct sandbox_fs_rule *find_rule(const struct sandbox_fs_rule *r, int n,
					       const char *path)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(r[i].path, path))
			return &r[i];
	return NULL;
}

/* The rule for path, which must be there. */
static const struct sandbox_fs_rule *rule(const struct sandbox_fs_rule *r, int n, const char *path)
{
	static const struct sandbox_fs_rule none;
	const struct sandbox_fs_rule *x = find_rule(r, n, path);

	if (!x)
		fail_msg("no rule for %s", path);
	return x ? x : &none;
}

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_REFER (1ULL << 13)
#define LL_TRUNCATE (1ULL << 14)

static void test_fs_rules(void **state)
{
	static struct sandbox_fs_rule r[SANDBOX_MAX_FS_RULES];
	struct sandbox_config c = { 0 };
	const struct sandbox_fs_rule *x;
	int n;

	/* what each ABI lets skyvm restrict */
	assert_int_equal(sandbox_fs_handled(0), 0);
	assert_int_equal(sandbox_fs_handled(1), (1ULL << 13) - 1);
	assert_int_equal(sandbox_fs_handled(2), ((1ULL << 13) - 1) | LL_REFER);
	assert_int_equal(sandbox_fs_handled(7), ((1ULL << 13) - 1) | LL_REFER | LL_TRUNCATE);

	/* no sockets, no API: nothing (sanitizer builds: reading and executing) */
	sandbox_forget_sockets();
	n = sandbox_fs_rules(&c, 3, r, SANDBOX_MAX_FS_RULES);
	assert_int_equal(n, SANITIZED ? 1 : 0);

	/* a vsock socket: its directory, removing only */
	assert_int_equal(sandbox_note_socket("/run/vm/vsock.sock", false), 0);
	n = sandbox_fs_rules(&c, 3, r, SANDBOX_MAX_FS_RULES);
	assert_int_equal(n, SANITIZED ? 2 : 1);
	x = rule(r, n, "/run/vm");
	assert_int_equal(x->access, LL_REMOVE_FILE);
	assert_null(find_rule(r, n, "/etc/hosts"));

	/* the API (a relative path: "."), with --snapshot-dir: snapshots there only,
	 * the resolver's files readable (optional) */
	assert_int_equal(sandbox_note_socket("api.sock", true), 0);
	c.snapshot_dir = "/srv/snaps";
	n = sandbox_fs_rules(&c, 3, r, SANDBOX_MAX_FS_RULES);
	x = rule(r, n, ".");
	assert_int_equal(x->access, LL_REMOVE_FILE);
	x = rule(r, n, "/srv/snaps");
	assert_true((x->access & (LL_WRITE_FILE | LL_MAKE_REG | LL_TRUNCATE)) ==
		    (LL_WRITE_FILE | LL_MAKE_REG | LL_TRUNCATE));
	assert_false(x->access & (LL_EXECUTE | LL_MAKE_SOCK));
	assert_false(x->optional);
	x = rule(r, n, "/etc/hosts");
	assert_true(x->optional);
	assert_int_equal(x->access, LL_READ_FILE);
	if (!SANITIZED)
		assert_null(find_rule(r, n, "/"));
	/* ABI 1 (no TRUNCATE): masked away */
	n = sandbox_fs_rules(&c, 1, r, SANDBOX_MAX_FS_RULES);
	x = rule(r, n, "/srv/snaps");
	assert_false(x->access & LL_TRUNCATE);
	/* without --snapshot-dir: anywhere */
	c.snapshot_dir = NULL;
	n = sandbox_fs_rules(&c, 3, r, SANDBOX_MAX_FS_RULES);
	x = rule(r, n, "/");
	assert_true(x->access & LL_MAKE_REG);
	/* too little room: an error, not a cut list */
	assert_int_equal(sandbox_fs_rules(&c, 3, r, 2), -1);
	assert_non_null(strstr(err_msg(), "room for 2"));
	sandbox_forget_sockets();
}

struct confine_paths {
	char dir[64], file[96], snaps[96], snap_file[128], api[96];
};

/* Under the sandbox: what the rules name is reachable, nothing else. */
static int child_confined(void *arg)
{
	const struct confine_paths *p = arg;
	struct sandbox_config c = { .snapshot_dir = p->snaps };
	int fd;

	sandbox_forget_sockets();
	if (sandbox_note_socket(p->api, true) < 0 || sandbox_enter(&c) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return 60;
	}
	/* a file skyvm did not open at set-up (sanitizer builds may read) */
	fd = open(p->file, O_RDONLY | O_CLOEXEC);
	if (!SANITIZED && (fd >= 0 || errno != EACCES))
		return 61;
	if (fd >= 0)
		close(fd);
	/* beneath --snapshot-dir: created, written, truncated */
	fd = open(p->snap_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
		return 62;
	/* beside the API socket: no new file; removing one: yes */
	{
		char beside[160];

		snprintf(beside, sizeof(beside), "%s/new", p->dir);
		fd = open(beside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EACCES)
			return 63;
	}
	if (unlink(p->file) < 0)
		return 64;
	return 0;
}

static void test_paths_confined(void **state)
{
	struct confine_paths p;
	struct outcome o;
	int fd;

	if (!has_landlock())
		skip(); /* test_fs_rules covers the rules; the kernel here cannot apply them */
	snprintf(p.dir, sizeof(p.dir), "/tmp/skyvm-landlock-XXXXXX");
	assert_non_null(mkdtemp(p.dir));
	snprintf(p.file, sizeof(p.file), "%s/secret", p.dir);
	snprintf(p.snaps, sizeof(p.snaps), "%s/snaps", p.dir);
	snprintf(p.snap_file, sizeof(p.snap_file), "%s/snaps/state", p.dir);
	snprintf(p.api, sizeof(p.api), "%s/api.sock", p.dir);
	fd = open(p.file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mkdir(p.snaps, 0700), 0);
	in_child(child_confined, &p, &o);
	expect_exit(&o, 0);
	assert_int_equal(access(p.file, F_OK), -1); /* removed from inside */
	assert_int_equal(unlink(p.snap_file), 0);  /* written from inside */
	assert_int_equal(rmdir(p.snaps), 0);
	assert_int_equal(rmdir(p.dir), 0);
}

/* ---- close-on-exec: every descriptor the set-up helpers open */

static void fd_set_of_self(bool open_fds[1024])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	assert_non_null(d);
	memset(open_fds, 0, 1024);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd >= 0 && fd < 1024 && fd != dirfd(d))
			open_fds[fd] = true;
	}
	closedir(d);
}

static void nothing(void *opaque, uint32_t events)
{
}

static void test_set_up_descriptors_are_cloexec(void **state)
{
	static bool before[1024], after[1024];
	char dir[] = "/tmp/skyvm-sandbox-XXXXXX", path[256], spec[300];
	struct event_loop loop;
	struct console con;
	int api, checked = 0;

	assert_non_null(mkdtemp(dir));
	fd_set_of_self(before);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(event_loop_timer(&loop, 100.0, nothing, NULL), 0);
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	api = api_socket_create(path);
	assert_true(api >= 0);
	snprintf(spec, sizeof(spec), "file:%s/console.txt", dir);
	memset(&con, 0, sizeof(con));
	assert_int_equal(console_open(&con, spec, 0), 0);
	fd_set_of_self(after);
	for (int fd = 0; fd < 1024; fd++) {
		int flags;

		if (!after[fd] || before[fd])
			continue;
		flags = fcntl(fd, F_GETFD);
		assert_true(flags >= 0);
		if (!(flags & FD_CLOEXEC)) {
			char link[64], target[256] = "?";

			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			if (readlink(link, target, sizeof(target) - 1) < 0)
				strcpy(target, "?");
			fail_msg("fd %d (%s) is not close-on-exec", fd, target);
		}
		checked++;
	}
	/* epoll, wake eventfd, timerfd, the API socket, the console file */
	assert_true(checked >= 5);
	console_close(&con);
	close(api);
	event_loop_destroy(&loop);
	unlink(path);
	snprintf(path, sizeof(path), "%s/console.txt", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_call_is_reported),
		cmocka_unit_test(test_sigsys_not_from_the_filter),
		cmocka_unit_test(test_forbidden_ioctl_names_request),
		cmocka_unit_test(test_socket_by_family),
		cmocka_unit_test(test_threads_before_and_after),
		cmocka_unit_test(test_no_new_processes),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_hook_makes_only_forbidden_calls),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_user_needs_root),
		cmocka_unit_test(test_user_drop),
		cmocka_unit_test(test_set_up_descriptors_are_cloexec),
		cmocka_unit_test(test_fs_rules),
		cmocka_unit_test(test_paths_confined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
