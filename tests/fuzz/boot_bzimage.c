/* SPDX-License-Identifier: MIT */
/* Fuzz target: boot_load() of a bzImage (boot/bzimage.c), with an initrd; see boot_fuzz.h. */
#include "boot_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return boot_fuzz_one(data, size, boot_is_bzimage);
}
