/* SPDX-License-Identifier: MIT */
/*
 * The I/O port protocol between skyvm's embedded guests and the VMM.
 *
 * Included by the guests (freestanding) and by the VMM (hosted), so it holds
 * plain constants only.  docs/guests.md describes the same protocol in prose.
 *
 * Ports:
 *   0x3f8  COM1 (16550).  Guests write text with `rep outsb` when the bulk
 *          port below is absent.
 *   0x501  debug exit: `outb status` ends the VM; skyvm exits with `status`,
 *          or with 119 where `status` is one of skyvm's own exit codes (1-4,
 *          119-125, 128-255: src/exitcodes.h).  (QEMU's isa-debug-exit at the
 *          same port exits with (status<<1)|1.)
 *   0x510  probe data: the probe guest sends 32-bit words (`rep outsl`), a
 *          stream of records per vCPU (format below), when the bulk port
 *          is absent.
 *   0x512  bulk port (optional, skyvm): whole buffers in one exit.
 *
 * Why the bulk port: KVM's instruction emulator completes `rep outs` one
 * element per exit to userspace (em_out() passes a count of 1), so a 400-byte
 * report through COM1 costs 400 exits (~7 us each on a restricted host).
 * Protocol:
 *   `inl 0x512` returns GUEST_BULK_MAGIC when the VMM implements it (QEMU
 *   and other VMMs return something else, usually all ones); guests read it
 *   once at start and fall back to the ports above otherwise.
 *   `outl 0x512, paddr` hands the VMM a descriptor at guest-physical paddr
 *   (4-byte aligned, below 4 GiB): u32 channel, u32 length in bytes, then
 *   `length` bytes of data.  The VMM consumes it during the exit, so the
 *   guest may reuse the buffer as soon as the instruction completes.  A
 *   descriptor the VMM cannot read (outside RAM, length > GUEST_BULK_MAX,
 *   unknown channel) is ignored and counted like an unclaimed port.
 *   Channels: CONSOLE = the bytes the guest would have written to COM1;
 *   PROBE = the words it would have written to the probe port (length a
 *   multiple of 4, little endian), same stream, same decoder.
 */
#ifndef SKYVM_GUEST_PORTS_H
#define SKYVM_GUEST_PORTS_H

#define GUEST_PORT_COM1 0x3f8
#define GUEST_PORT_DEBUG_EXIT 0x501
#define GUEST_PORT_PROBE_DATA 0x510
#define GUEST_PORT_BULK 0x512

#define GUEST_BULK_MAGIC 0x4b4c4253u /* "SBLK" as a little-endian word (the value predates the name) */
#define GUEST_BULK_CONSOLE 1
#define GUEST_BULK_PROBE 2
#define GUEST_BULK_HEADER 8          /* channel, length */
#define GUEST_BULK_MAX 65536         /* data bytes in one descriptor */

/*
 * Debug-exit statuses the embedded guests use.  Small numbers (0-63) belong
 * to the guest's own purposes (`exit=N` passes any N through); the ones below
 * sit apart from those and from skyvm's own codes (1-4, 119-125, 128-255,
 * src/exitcodes.h), so skyvm passes them through unchanged.
 */
#define GUEST_STATUS_OK 0x00
#define GUEST_STATUS_SMP_FAILED 0x70   /* an AP listed in the MADT never reported */
#define GUEST_STATUS_BAD_BOOT 0x71     /* no/invalid hvm_start_info */
#define GUEST_STATUS_TEST_FAILED 0x7e  /* a `test=` self-check did not hold */
#define GUEST_STATUS_EXCEPTION 0x7f    /* unexpected CPU exception */

/* Where the guests put the AP start-up code (SIPI vector 0x08). */
#define GUEST_AP_TRAMPOLINE 0x8000

/*
 * Probe data stream.  Every record is a header word followed by `len`
 * payload words:
 *
 *   header = PROBE_MAGIC << 24 | type << 16 | len
 *
 * A vCPU's stream starts with PROBE_REC_BEGIN and ends with PROBE_REC_END;
 * the VMM knows which vCPU sent a word from the vCPU thread that took the
 * exit, so records carry no vCPU number of their own.  64-bit values travel
 * as two words, low word first.  Unknown record types with a valid header
 * can be skipped by their length; a decoder must reject a bad magic.
 */
#define PROBE_MAGIC 0xb5u
#define PROBE_VERSION 1u
#define PROBE_HEADER(type, len) ((PROBE_MAGIC << 24) | ((unsigned)(type) << 16) | (unsigned)(len))
#define PROBE_HEADER_MAGIC(h) (((h) >> 24) & 0xffu)
#define PROBE_HEADER_TYPE(h) (((h) >> 16) & 0xffu)
#define PROBE_HEADER_LEN(h) ((h) & 0xffffu)

/* BEGIN: version, cpu index (0 = boot CPU), initial APIC id, cpus in the MADT */
#define PROBE_REC_BEGIN 1
#define PROBE_LEN_BEGIN 4
/* CPUID: leaf, subleaf, eax, ebx, ecx, edx (subleaf 0 for leaves without one) */
#define PROBE_REC_CPUID 2
#define PROBE_LEN_CPUID 6
/*
 * KVMCLOCK (MSR_KVM_SYSTEM_TIME_NEW): status, pvclock version,
 * tsc_to_system_mul, tsc_shift (sign-extended), pvclock flags,
 * t0 lo, t0 hi, t1 lo, t1 hi (ns; t1 read after t0)
 */
#define PROBE_REC_KVMCLOCK 3
#define PROBE_LEN_KVMCLOCK 9
/* WALLCLOCK (MSR_KVM_WALL_CLOCK_NEW): status, version, sec, nsec */
#define PROBE_REC_WALLCLOCK 4
#define PROBE_LEN_WALLCLOCK 4
/*
 * STEAL (MSR_KVM_STEAL_TIME): status, version, steal-at-start lo, hi,
 * steal-at-end lo, hi, busy time asked for (microseconds), preempted byte
 */
#define PROBE_REC_STEAL 5
#define PROBE_LEN_STEAL 8
/* PV_EOI (MSR_KVM_PV_EOI_EN): status, value read back lo, hi */
#define PROBE_REC_PV_EOI 6
#define PROBE_LEN_PV_EOI 3
/*
 * MSR_CHECK: a PV MSR whose 0x40000001.EAX feature bit is clear was
 * written: msr index, feature bit, result (PROBE_MSR_ACCEPTED/PROBE_MSR_GP)
 */
#define PROBE_REC_MSR_CHECK 7
#define PROBE_LEN_MSR_CHECK 3
/* ERROR: code (PROBE_ERR_*), argument */
#define PROBE_REC_ERROR 8
#define PROBE_LEN_ERROR 2
/* END: number of records sent before this one (BEGIN included) */
#define PROBE_REC_END 9
#define PROBE_LEN_END 1
/*
 * FEATURE_MSR: a feature MSR the VMM asked for (cmdline `feature-msrs=`)
 * read with RDMSR: msr index, result (PROBE_MSR_READ/PROBE_MSR_READ_GP),
 * value lo, hi (0 after #GP)
 */
#define PROBE_REC_FEATURE_MSR 10
#define PROBE_LEN_FEATURE_MSR 4
/* The most feature MSRs the probe reads. */
#define PROBE_MAX_FEATURE_MSRS 8

/* Status of a PV check (first payload word of KVMCLOCK..PV_EOI). */
#define PROBE_ST_OK 0          /* registered and the checks held */
#define PROBE_ST_NOT_OFFERED 1 /* CPUID does not advertise it: not attempted */
#define PROBE_ST_GP 2          /* advertised, but the MSR write raised #GP */
#define PROBE_ST_BAD 3         /* registered, but the data failed a check */
#define PROBE_ST_NO_KVM 4      /* no KVM signature at 0x40000000: PV skipped */

/* MSR_CHECK results. */
#define PROBE_MSR_ACCEPTED 0
#define PROBE_MSR_GP 1
/* FEATURE_MSR results. */
#define PROBE_MSR_READ 0
#define PROBE_MSR_READ_GP 1

/* ERROR codes. */
#define PROBE_ERR_CPUID_OVERFLOW 1 /* more CPUID records than the probe sends; arg = leaf */
#define PROBE_ERR_CLOCK_BACKWARDS 2 /* kvmclock went backwards; arg = cpu */
#define PROBE_ERR_EXCEPTION 3      /* unexpected exception; arg = vector */

/* KVM paravirtual MSRs and 0x40000001.EAX feature bits the probe uses. */
#define KVM_MSR_WALL_CLOCK 0x11
#define KVM_MSR_SYSTEM_TIME 0x12
#define KVM_MSR_WALL_CLOCK_NEW 0x4b564d00
#define KVM_MSR_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_MSR_ASYNC_PF_EN 0x4b564d02
#define KVM_MSR_STEAL_TIME 0x4b564d03
#define KVM_MSR_PV_EOI_EN 0x4b564d04
#define KVM_MSR_POLL_CONTROL 0x4b564d05
#define KVM_MSR_ASYNC_PF_INT 0x4b564d06

#define KVM_PV_CLOCKSOURCE 0
#define KVM_PV_CLOCKSOURCE2 3
#define KVM_PV_ASYNC_PF 4
#define KVM_PV_STEAL_TIME 5
#define KVM_PV_PV_EOI 6
#define KVM_PV_POLL_CONTROL 12
#define KVM_PV_ASYNC_PF_INT 14
#define KVM_PV_CLOCKSOURCE_STABLE 24

#endif
