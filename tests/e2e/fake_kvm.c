/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for /dev/kvm where no KVM exists: for the tests of `skyvm cpu host`
 * and `cpu show` on the live path, and for counting the instructions of a whole
 * `skyvm run` without KVM (bench/bench.py).  It works for a static skyvm as well
 * as a dynamic one: no LD_PRELOAD, but a seccomp user-notification filter.
 *
 *   fake_kvm DEVICE CPUID.bin -- COMMAND [ARG...]
 *
 * runs COMMAND (normally skyvm, with SKYVM_KVM_DEVICE=DEVICE; DEVICE is any
 * existing file) with a filter that hands every KVM ioctl (type 0xAE) to this
 * process, which answers as the kernel would:
 *  - on DEVICE: KVM_GET_API_VERSION, KVM_CHECK_EXTENSION (every capability
 *    present, 64 vCPUs, the coalesced-MMIO ring on page 2), KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID from
 *    the struct kvm_cpuid_entry2 records in CPUID.bin (E2BIG while the caller's
 *    buffer is too small), KVM_GET_MSR_INDEX_LIST (none), KVM_CREATE_VM;
 *  - on the VM (a memfd it puts in the caller): KVM_CHECK_EXTENSION as above,
 *    KVM_CREATE_VCPU (another memfd, which the caller maps as its kvm_run);
 *  - on a vCPU: KVM_RUN stops at once as if the guest had written 0 to the
 *    debug-exit port 0x501 (EINTR with immediate_exit set), KVM_SET_MSRS and
 *    KVM_GET_MSRS take every MSR, KVM_GET_TSC_KHZ is 1 GHz;
 *  - any other ioctl of the VM or a vCPU succeeds, a read one with zeroes;
 *    any other one of DEVICE fails with ENOTTY.
 * KVM ioctls on other descriptors (a real /dev/kvm) run as they would have.
 * Exits with COMMAND's status (128 + signal when killed), 125 when it cannot
 * start it.
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
#include <sys/mman.h>
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

#define MAX_VCPUS 64
#define RUN_SIZE (3 * 4096) /* kvm_run plus the pio and coalesced pages */
#define TSC_KHZ 1000000

static struct kvm_run *vcpu_run[MAX_VCPUS];
static int nvcpus;

enum object { OTHER, DEVICE, VM, VCPU };

/* What descriptor fd of (thread) tid is; *index: which vCPU. */
static enum object object_of(pid_t tid, int fd, int *index)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return OTHER;
	target[n] = 0;
	if (!strcmp(target, device))
		return DEVICE;
	if (!strcmp(target, "/memfd:fake-kvm-vm (deleted)"))
		return VM;
	if (sscanf(target, "/memfd:fake-kvm-vcpu%d (deleted)", index) == 1 && *index >= 0 &&
	    *index < nvcpus)
		return VCPU;
	return OTHER;
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

/* A new VM or vCPU: a memfd of `size` bytes named for object_of(). */
static int new_object(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

struct answer {
	long val;  /* >= 0: the ioctl's value; < 0: -errno */
	int fd;    /* >= 0: put this descriptor in the caller; its number is the value */
};

static long check_extension(uint64_t cap)
{
	switch (cap) {
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_NR_VCPUS:
		return MAX_VCPUS;
	case KVM_CAP_COALESCED_MMIO:
		return KVM_COALESCED_MMIO_PAGE_OFFSET; /* the ring's page in kvm_run's mapping */
	}
	return 1;
}

static long msrs_count(pid_t tid, uint64_t arg)
{
	struct kvm_msrs hdr;

	return mem_io(tid, arg, &hdr, sizeof(hdr), 0) < 0 ? -EFAULT : (long)hdr.nmsrs;
}

static struct answer device_ioctl(pid_t tid, unsigned long cmd, uint64_t arg)
{
	struct answer a = { -ENOTTY, -1 };
	struct kvm_cpuid2 hdr;
	struct kvm_msr_list list;

	switch (cmd) {
	case KVM_GET_API_VERSION:
		a.val = KVM_API_VERSION;
		break;
	case KVM_CHECK_EXTENSION:
		a.val = check_extension(arg);
		break;
	case KVM_GET_VCPU_MMAP_SIZE:
		a.val = RUN_SIZE;
		break;
	case KVM_GET_SUPPORTED_CPUID:
		if (mem_io(tid, arg, &hdr, sizeof(hdr), 0) < 0) {
			a.val = -EFAULT;
			break;
		}
		if (nentries > hdr.nent) {
			a.val = -E2BIG;
			break;
		}
		hdr.nent = (uint32_t)nentries;
		a.val = mem_io(tid, arg + offsetof(struct kvm_cpuid2, entries), entries,
			       nentries * sizeof(*entries), 1) < 0 ||
			mem_io(tid, arg, &hdr, sizeof(hdr), 1) < 0 ? -EFAULT : 0;
		break;
	case KVM_GET_MSR_INDEX_LIST:
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		list.nmsrs = 0;
		a.val = mem_io(tid, arg, &list, sizeof(list), 1) < 0 ? -EFAULT : 0;
		break;
	case KVM_CREATE_VM:
		a.fd = new_object("fake-kvm-vm", 4096);
		a.val = a.fd < 0 ? -ENOMEM : 0;
		break;
	}
	return a;
}

/* Any other VM or vCPU ioctl: success, a read one filled with zeroes. */
static struct answer generic_ioctl(pid_t tid, unsigned long cmd, uint64_t arg)
{
	struct answer a = { 0, -1 };

	if ((_IOC_DIR(cmd) & _IOC_READ) && _IOC_SIZE(cmd)) {
		static const char zeroes[1 << 14];

		a.val = mem_io(tid, arg, (void *)zeroes, _IOC_SIZE(cmd), 1) < 0 ? -EFAULT : 0;
	}
	return a;
}

static struct answer vm_ioctl(pid_t tid, unsigned long cmd, uint64_t arg)
{
	struct answer a = { 0, -1 };
	char name[32];

	switch (cmd) {
	case KVM_CHECK_EXTENSION:
		a.val = check_extension(arg);
		return a;
	case KVM_GET_TSC_KHZ:
		a.val = TSC_KHZ;
		return a;
	case KVM_CREATE_VCPU:
		if (nvcpus == MAX_VCPUS) {
			a.val = -EINVAL;
			return a;
		}
		snprintf(name, sizeof(name), "fake-kvm-vcpu%d", nvcpus);
		a.fd = new_object(name, RUN_SIZE);
		vcpu_run[nvcpus] = a.fd < 0 ? MAP_FAILED :
			mmap(NULL, RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (vcpu_run[nvcpus] == MAP_FAILED) {
			if (a.fd >= 0)
				close(a.fd);
			a.fd = -1;
			a.val = -ENOMEM;
			return a;
		}
		nvcpus++;
		return a;
	}
	return generic_ioctl(tid, cmd, arg);
}

static struct answer vcpu_ioctl(pid_t tid, int index, unsigned long cmd, uint64_t arg)
{
	struct kvm_run *run = vcpu_run[index];
	struct answer a = { 0, -1 };

	switch (cmd) {
	case KVM_RUN:
		if (run->immediate_exit) {
			a.val = -EINTR;
			return a;
		}
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = KVM_EXIT_IO_OUT;
		run->io.size = 1;
		run->io.port = 0x501; /* the debug-exit port: status 0 */
		run->io.count = 1;
		run->io.data_offset = 4096;
		((uint8_t *)run)[4096] = 0;
		return a;
	case KVM_SET_MSRS:
	case KVM_GET_MSRS:
		a.val = msrs_count(tid, arg);
		return a;
	case KVM_GET_TSC_KHZ:
		a.val = TSC_KHZ;
		return a;
	}
	return generic_ioctl(tid, cmd, arg);
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
	{
		pid_t tid = (pid_t)req->pid;
		unsigned long cmd = (unsigned long)(uint32_t)req->data.args[1];
		uint64_t arg = req->data.args[2];
		int index = 0;
		struct answer a;

		switch (object_of(tid, (int)req->data.args[0], &index)) {
		case DEVICE:
			a = device_ioctl(tid, cmd, arg);
			break;
		case VM:
			a = vm_ioctl(tid, cmd, arg);
			break;
		case VCPU:
			a = vcpu_ioctl(tid, index, cmd, arg);
			break;
		default:
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
			goto out;
		}
		if (a.fd >= 0) {
			/* The new descriptor's number is the ioctl's value (Linux 5.14). */
			struct seccomp_notif_addfd add = {
				.id = req->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)a.fd,
				.newfd_flags = O_CLOEXEC,
			};

			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
				resp->error = -ENOMEM;
				ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
			}
			close(a.fd);
			goto out;
		}
		if (a.val < 0)
			resp->error = (int)a.val;
		else
			resp->val = a.val;
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: it was killed meanwhile */
out:
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
