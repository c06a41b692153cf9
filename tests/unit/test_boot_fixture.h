/* SPDX-License-Identifier: MIT */
/*
 * The cmocka fixture the loader tests share: guest memory, a boot_config
 * over an image built in the test (test_boot_images.h), the entry the
 * loader returns, and a check that loading fails with a given message.
 * Include after <cmocka.h>.
 */
#ifndef SKYVM_TEST_BOOT_FIXTURE_H
#define SKYVM_TEST_BOOT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/loader.h"
#include "util/err.h"

struct fixture {
	struct guest_mem m;
	struct boot_config c;
	struct boot_entry e;
	uint8_t *img;
	size_t len;
};

/* Takes ownership of img (from bz_build()/elf_build()); *state is freed by teardown(). */
static inline struct fixture *fixture_new(void **state, uint64_t mem, uint8_t *img, size_t len,
					  const char *name, unsigned ncpus)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_mem_init(&f->m, mem), 0);
	f->img = img;
	f->len = len;
	f->c = (struct boot_config){ .kernel = img, .kernel_len = len, .kernel_name = name,
				     .ncpus = ncpus };
	*state = f;
	return f;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		guest_mem_free(&f->m);
		free(f->img);
		free(f);
	}
	return 0;
}

/* boot_load() must fail with a message containing what; returns the message. */
static inline const char *load_error(struct fixture *f, const char *what)
{
	int r = boot_load(&f->m, &f->c, &f->e);

	if (r == 0 || !strstr(err_msg(), what))
		fail_msg("expected an error containing \"%s\", got %d \"%s\"", what, r, err_msg());
	return err_msg();
}

#endif
