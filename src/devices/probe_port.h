/* SPDX-License-Identifier: MIT */
#ifndef SKYVM_DEVICES_PROBE_PORT_H
#define SKYVM_DEVICES_PROBE_PORT_H

#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* Append `nwords` little-endian 32-bit words from `data` to the vCPU's probe stream. */
void probe_append(struct vcpu *v, const uint8_t *data, size_t nwords);

#endif
