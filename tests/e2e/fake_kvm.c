/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for /dev/kvm, for the tests of `skyvm cpu host` and `cpu show` on
 * the live path where no KVM exists.  It works for a static skyvm as well as a
 * dynamic one: no LD_PRELOAD, but a seccomp user-notification filter.
 *
 *   fake_kvm DEVICE CPUID.bin -- COMMAND [ARG...]
 *
 * runs COMMAND (normally skyvm, with SKYVM_KVM_DEVICE=DEVICE; DEVICE is any
 * existing file) with a filter that hands every KVM ioctl (type 0xAE) to this
 * process.  On a descriptor of DEVICE it answers as the kernel does:
 * KVM_GET_API_VERSION, KVM_CHECK_EXTENSION (every capability present),
 * KVM_GET_VCPU_MMAP_SIZE, and KVM_GET_SUPPORTED_CPUID from the struct
 * kvm_cpuid_entry2 records in CPUID.bin (E2BIG while the caller's buffer is too
 * small); any other KVM ioctl there fails with ENOTTY.  KVM ioctls on other
 * descriptors (a real /dev/kvm) run as they would have.  Exits with COMMAND's
 * status (128 + signal when killed), 125 when it cannot start it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char device[PATH_MAX];
static struct kvm_cpuid_entry2 *entries;
static size_t nentries;

static void die(const char *what)
{
	fprintf(stderr, "fake_kvm: %s: %s\n", what, strerror(errno));
	exit(125);
}

static void load_cpuid(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct kvm_cpuid_entry2 e;

	if (!f)
		die(path);
	while (fread(&e, sizeof(e), 1, f) == 1) {
		entries = realloc(entries, (nentries + 1) * sizeof(e));
		if (!entries)
			die("realloc");
		entries[nentries++] = e;
	}
	fclose(f);
}

/* Whether descriptor fd of (thread) tid is DEVICE. */
static int is_device(pid_t tid, int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = 0;
	return !strcmp(target, device);
}

static int mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, int write)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	fd = open(path, write ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -1;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The kernel's answer to KVM ioctl cmd(arg) on the fake device: >= 0, or -errno. */
static long emulate(pid_t tid, unsigned long cmd, uint64_t arg)
{
	struct kvm_cpuid2 hdr;

	switch (cmd) {
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return 1;
	case KVM_GET_VCPU_MMAP_SIZE:
		return 3 * 4096; /* kvm_run plus the pio and coalesced pages */
	case KVM_GET_SUPPORTED_CPUID:
		if (mem_io(tid, arg, &hdr, sizeof(hdr), 0) < 0)
			return -EFAULT;
		if (nentries > hdr.nent)
			return -E2BIG;
		hdr.nent = (uint32_t)nentries;
		if (mem_io(tid, arg + offsetof(struct kvm_cpuid2, entries), entries,
			   nentries * sizeof(*entries), 1) < 0 ||
		    mem_io(tid, arg, &hdr, sizeof(hdr), 1) < 0)
			return -EFAULT;
		return 0;
	}
	return -ENOTTY;
}

static int install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the low 32 bits of the request (little-endian): its type byte */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff00),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, KVMIO << 8, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static void send_fd(int sock, int fd)
{
	char data = 0, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &m, 0) != 1)
		_exit(125);
}

static int recv_fd(int sock)
{
	char data, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void serve(int listener)
{
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		die("SECCOMP_GET_NOTIF_SIZES");
	req = malloc(sizes.seccomp_notif);
	resp = malloc(sizes.seccomp_notif_resp);
	if (!req || !resp)
		die("malloc");
	memset(req, 0, sizes.seccomp_notif);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return; /* ENOENT: the caller went away; EINTR */
	memset(resp, 0, sizes.seccomp_notif_resp);
	resp->id = req->id;
	if (is_device((pid_t)req->pid, (int)req->data.args[0])) {
		long r = emulate((pid_t)req->pid, (unsigned long)(uint32_t)req->data.args[1],
				 req->data.args[2]);

		if (r < 0)
			resp->error = (int)r;
		else
			resp->val = r;
	} else {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: it was killed meanwhile */
	free(req);
	free(resp);
}

int main(int argc, char **argv)
{
	int sv[2], listener, pidfd, st;
	pid_t child;

	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: fake_kvm DEVICE CPUID.bin -- COMMAND [ARG...]\n");
		return 125;
	}
	if (!realpath(argv[1], device))
		die(argv[1]);
	load_cpuid(argv[2]);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int fd = install_filter();

		if (fd < 0) {
			perror("fake_kvm: seccomp user notification");
			_exit(125);
		}
		send_fd(sv[1], fd);
		close(fd);
		execvp(argv[4], argv + 4);
		perror(argv[4]);
		_exit(125);
	}
	close(sv[1]);
	listener = recv_fd(sv[0]);
	if (listener < 0) {
		waitpid(child, &st, 0);
		return 125;
	}
	pidfd = (int)syscall(SYS_pidfd_open, child, 0); /* readable when the child ends */
	for (;;) {
		struct pollfd p[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		pid_t w;

		if (poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 50) > 0 &&
		    (p[0].revents & POLLIN))
			serve(listener);
		w = waitpid(child, &st, WNOHANG);
		if (w == child)
			break;
		if (w < 0 && errno != EINTR)
			die("waitpid");
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
