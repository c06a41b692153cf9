/* SPDX-License-Identifier: MIT */
/*
 * Thin, checked access to /dev/kvm.
 *
 * Every ioctl wrapper exists twice, as in the Linux KVM selftests: the raw
 * form returns the ioctl's result with errno untouched (negative tests and
 * callers that expect EINTR/EAGAIN use it); the checked form records an
 * error that names the ioctl and returns -1:
 *
 *     if (KVM_CHECKED(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
 *             return -1;   // err_msg(): "KVM_CREATE_IRQCHIP: Invalid argument"
 */
#ifndef SKYVM_KVM_KVM_H
#define SKYVM_KVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_DEVICE_PATH "/dev/kvm"

/* $SKYVM_KVM_DEVICE when set (tests point it elsewhere), else /dev/kvm. */
const char *kvm_device_path(void);

struct kvm {
	int fd;
	int api_version;
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	int max_vcpus;   /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
	int coalesced_mmio_page; /* KVM_CAP_COALESCED_MMIO: page offset in kvm_run, 0 = none */
	bool has_coalesced_pio;
	bool has_enforce_pv_cpuid;
	bool has_exit_on_emulation_failure;
	bool has_immediate_exit;
};

/*
 * Open the device, check the API version and the capabilities skyvm
 * cannot work without.  Errors say what is missing and what to do.
 */
int kvm_open(struct kvm *k, const char *path);
void kvm_close(struct kvm *k);
/* KVM_CHECK_EXTENSION on fd (the system fd or a VM fd); <= 0 means absent. */
int kvm_cap(int fd, long cap);

/*
 * One MSR by KVM_GET_MSRS: on a vCPU fd its value; on the system fd a feature MSR's
 * value the host supports.  0, or -1 when KVM did not read it (errno set, no message).
 */
int kvm_get_msr(int fd, uint32_t index, uint64_t *value);

int kvm_ioctl_checked(int fd, unsigned long req, const char *name, void *arg);
int kvm_ioctl_checked_val(int fd, unsigned long req, const char *name, unsigned long arg);
#define KVM_CHECKED(fd, req, arg) kvm_ioctl_checked(fd, req, #req, (void *)(arg))
#define KVM_CHECKED_VAL(fd, req, arg) kvm_ioctl_checked_val(fd, req, #req, (unsigned long)(arg))

/* Human name of a KVM_EXIT_* reason ("KVM_EXIT_IO"), or "unknown". */
const char *kvm_exit_name(unsigned reason);

#endif
