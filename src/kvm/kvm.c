/* SPDX-License-Identifier: MIT */
#include "kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/err.h"

int kvm_ioctl_checked(int fd, unsigned long req, const char *name, void *arg)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		return err_errno("%s", name);
	return r;
}

int kvm_ioctl_checked_val(int fd, unsigned long req, const char *name, unsigned long arg)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		return err_errno("%s", name);
	return r;
}

const char *kvm_device_path(void)
{
	const char *p = getenv("SKYVM_KVM_DEVICE");

	return p && *p ? p : KVM_DEVICE_PATH;
}

int kvm_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* Capabilities without which skyvm cannot run a guest at all. */
static const struct {
	long cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

int kvm_open(struct kvm *k, const char *path)
{
	int r;

	memset(k, 0, sizeof(*k));
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return err_set("%s does not exist: this machine offers no KVM (load kvm_intel or "
				       "kvm_amd, or run on a host with virtualisation enabled)", path);
		if (e == EACCES || e == EPERM)
			return err_set("no permission to open %s: add yourself to the 'kvm' group or "
				       "run as root", path);
		errno = e;
		return err_errno("cannot open %s (KVM present but unusable here)", path);
	}
	k->api_version = ioctl(k->fd, KVM_GET_API_VERSION, 0);
	if (k->api_version != KVM_API_VERSION) {
		err_set("%s: KVM API version %d, skyvm needs %d", path, k->api_version,
			KVM_API_VERSION);
		goto err_close;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (kvm_cap(k->fd, required_caps[i].cap) <= 0) {
			err_set("%s: required capability %s is missing", path, required_caps[i].name);
			goto err_close;
		}
	}
	r = ioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		err_errno("KVM_GET_VCPU_MMAP_SIZE");
		goto err_close;
	}
	k->run_size = (size_t)r;
	k->max_vcpus = kvm_cap(k->fd, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = kvm_cap(k->fd, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4; /* the API's documented floor */
	k->coalesced_mmio_page = kvm_cap(k->fd, KVM_CAP_COALESCED_MMIO);
	k->has_coalesced_pio = kvm_cap(k->fd, KVM_CAP_COALESCED_PIO) > 0;
	k->has_enforce_pv_cpuid = kvm_cap(k->fd, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) > 0;
	k->has_exit_on_emulation_failure = kvm_cap(k->fd, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0;
	k->has_immediate_exit = true;
	return 0;

err_close:
	close(k->fd);
	k->fd = -1;
	return -1;
}

void kvm_close(struct kvm *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

const char *kvm_exit_name(unsigned reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
		[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
		[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_OSI] = "KVM_EXIT_OSI",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
		[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unknown";
}

int kvm_get_msr(int fd, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e[0].index = index;
	if (ioctl(fd, KVM_GET_MSRS, &m) != 1) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	*value = m.e[0].data;
	return 0;
}
