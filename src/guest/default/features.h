/* SPDX-License-Identifier: MIT */
/* Names of the CPUID feature bits the default guest summarises (QEMU's spelling). */
#ifndef SKYVM_GUEST_DEFAULT_FEATURES_H
#define SKYVM_GUEST_DEFAULT_FEATURES_H

#include <stdint.h>

/* The words of the "features" line, in its order. */
enum feature_word { FW_1_ECX, FW_1_EDX, FW_7_EBX, FW_7_ECX, FW_7_EDX, FW_KVM, FW_COUNT };

struct feature_name {
	uint8_t word; /* enum feature_word */
	uint8_t bit;
	const char *name;
};

extern const char *const feature_word_names[FW_COUNT]; /* "1.ecx" ... */
extern const struct feature_name feature_names[];
extern const unsigned feature_names_count;

/* The name of (word, bit), or NULL when the bit has none. */
const char *feature_name(unsigned word, unsigned bit);

#endif
