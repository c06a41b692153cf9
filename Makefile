# skyvm: `make` builds build/skyvm; `make run` boots the embedded guest;
# `make check` installs what it needs and runs every test; `make bench`.
# SANITIZE=1 builds and tests under AddressSanitizer + UBSan (in build/san);
# STATIC=0 links build/skyvm dynamically (default: a static PIE).

CC ?= cc
SANITIZE ?= 0
# skyvm is linked as a static PIE by default (docs/bench.md: no dynamic loader, no
# library constructors: a quarter of the start-up instructions of a dynamic build and
# a third of its memory); STATIC=0 links it dynamically.  ASan and UBSan need the
# dynamic runtime, so SANITIZE=1 builds are dynamic.
ifeq ($(SANITIZE),1)
ifeq ($(STATIC),1)
$(error STATIC=1 and SANITIZE=1 do not combine: the sanitizers need a dynamic executable)
endif
STATIC := 0
endif
STATIC ?= 1

ifeq ($(SANITIZE),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD := build
SANFLAGS :=
endif

# Warnings, chosen deliberately: every one of these has caught real bugs in
# code of this kind (ioctls, byte layouts, table parsing).
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wcast-align -Wwrite-strings -Wvla -Wundef \
	-Wimplicit-fallthrough -Wnull-dereference -Wduplicated-cond \
	-Wlogical-op -Wno-unused-parameter

CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -I$(BUILD)/gen $(WARNINGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS := -ljansson -lmicrohttpd -lseccomp -lpthread

SRC := $(sort $(shell find src -name '*.c' -not -path 'src/guest/*'))
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
LIB_OBJ := $(filter-out $(BUILD)/obj/main.o,$(OBJ))

# ---- embedded guests: src/guest/<name>/ + src/guest/lib/ -> a PVH ELF each
GUEST_NAMES := $(sort $(filter-out lib,$(notdir $(patsubst %/,%,$(dir $(wildcard src/guest/*/*.c src/guest/*/*.S))))))
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-builtin -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-avx \
	-fno-asynchronous-unwind-tables -fcf-protection=none -m64 -Isrc/guest \
	-Wall -Wextra -Werror -Wno-unused-parameter
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,-z,max-page-size=0x1000 -T src/guest/lib/guest.ld
GUEST_LIB_SRC := $(wildcard src/guest/lib/*.c src/guest/lib/*.S)
GUEST_ELFS := $(patsubst %,build/guest/%.elf,$(GUEST_NAMES))

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.SECONDEXPANSION:
.PHONY: all run check check-unit check-e2e check-slow bench deps clean guests
all: $(BUILD)/skyvm

ifeq ($(STATIC),1)
# libmicrohttpd.a refers to GnuTLS, which Debian cannot link statically (p11-kit has
# no static archive); skyvm never uses TLS: scripts/gen-tls-stubs.sh says why that holds.
SKYVM_LINK := -static-pie -Wl,-z,pack-relative-relocs
SKYVM_EXTRA_OBJ := $(BUILD)/obj/gen/tls_stubs.o
else
SKYVM_LINK :=
SKYVM_EXTRA_OBJ :=
endif

$(BUILD)/skyvm: $(OBJ) $(BUILD)/obj/gen/guests.o $(SKYVM_EXTRA_OBJ) $(BUILD)/gen/link-mode
	$(CC) $(LDFLAGS) $(SKYVM_LINK) -o $@ $(filter %.o,$^) $(LDLIBS)

# Relinks when STATIC changes (the objects are the same for both).
$(BUILD)/gen/link-mode: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SKYVM_LINK)' | cmp -s - $@ || echo '$(SKYVM_LINK)' >$@
.PHONY: FORCE
FORCE:

$(BUILD)/gen/tls_stubs.c: scripts/gen-tls-stubs.sh
	@mkdir -p $(dir $@)
	scripts/gen-tls-stubs.sh "$$($(CC) -print-file-name=libmicrohttpd.a)" $@
$(BUILD)/obj/gen/tls_stubs.o: $(BUILD)/gen/tls_stubs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The CPU feature table's name hash and resolved dependencies, computed at build time
# (scripts/gen-cpu-index.c) so that a run does not compute them.
CPU_INDEX_GEN_SRC := scripts/gen-cpu-index.c src/cpu/cpuid.c src/util/err.c src/util/editdist.c
$(BUILD)/gen/cpu_index.h: $(CPU_INDEX_GEN_SRC) src/cpu/features.c src/cpu/features.h \
		src/cpu/deps.c src/cpu/deps.h src/cpu/cpuid.h
	@mkdir -p $(BUILD)/gen
	$(CC) $(CFLAGS) -o $(BUILD)/gen/gen-cpu-index $(CPU_INDEX_GEN_SRC) $(LDFLAGS)
	$(BUILD)/gen/gen-cpu-index >$@.tmp
	mv $@.tmp $@
$(BUILD)/obj/cpu/features.o $(BUILD)/obj/cpu/deps.o: $(BUILD)/gen/cpu_index.h

# The sandbox's report names system calls by number: the kernel's own list, at build time.
$(BUILD)/gen/syscall_names.h: Makefile
	@mkdir -p $(dir $@)
	echo '#include <asm/unistd.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/\t[\2] = "\1",/p' | sort -t'[' -k2 -n >$@.tmp
	mv $@.tmp $@
$(BUILD)/obj/vmm/sandbox.o: $(BUILD)/gen/syscall_names.h

# Guest ELFs are built once, without sanitizers, and shared by both builds.
guests: $(GUEST_ELFS)
build/guest/%.elf: $(GUEST_LIB_SRC) $(wildcard src/guest/lib/*.h src/guest/lib/guest.ld) $$(wildcard src/guest/$$*/*)
	@mkdir -p build/guest
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_SRC) $(wildcard src/guest/$*/*.c src/guest/$*/*.S)

$(BUILD)/gen/guests.S $(BUILD)/gen/guests.c: $(GUEST_ELFS) Makefile
	@mkdir -p $(BUILD)/gen
	scripts/gen-guests.sh $(BUILD)/gen $(GUEST_NAMES)
$(BUILD)/obj/gen/guests.o: $(BUILD)/gen/guests.S $(BUILD)/gen/guests.c
	@mkdir -p $(dir $@)
	$(CC) -c -o $(BUILD)/obj/gen/guests_blob.o $(BUILD)/gen/guests.S
	$(CC) $(CFLAGS) -c -o $(BUILD)/obj/gen/guests_table.o $(BUILD)/gen/guests.c
	ld -r -o $@ $(BUILD)/obj/gen/guests_blob.o $(BUILD)/obj/gen/guests_table.o

# ---- tests
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $(BUILD)/obj/gen/guests.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJ) $(BUILD)/obj/gen/guests.o $(LDFLAGS) $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory $(BUILD)/skyvm $(UNIT_BIN) check-prereqs
	@SKYVM=$(BUILD)/skyvm UNIT_DIR=$(BUILD)/tests SANITIZE=$(SANITIZE) tests/run.sh

check-unit: $(UNIT_BIN)
	@SKYVM=$(BUILD)/skyvm UNIT_DIR=$(BUILD)/tests tests/run.sh --unit-only

# Where /dev/kvm does not open, `make run` boots the guest in the nested-KVM guest
# (mk/nested.mk); `skyvm run` itself keeps its error.
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/skyvm
	@if [ "$${SKYVM_NESTED:-}" != always ] && $(KVM_OPENS); then \
		echo "$(BUILD)/skyvm run $(RUN_ARGS)"; exec $(BUILD)/skyvm run $(RUN_ARGS); \
	else exec $(MAKE) --no-print-directory run-nested; fi

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/skyvm
	@SKYVM=$(BUILD)/skyvm bench/run.sh

clean:
	rm -rf build

# Fragments add their own targets (e.g. the Linux test kernel) and may add
# prerequisites to check-prereqs.
.PHONY: check-prereqs
check-prereqs:
-include mk/*.mk
# make fuzz, and the corpus replay test of make check (docs/fuzzing.md)
include tests/fuzz/fuzz.mk
-include $(OBJ:.o=.d)
