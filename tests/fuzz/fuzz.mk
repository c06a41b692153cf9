# Fuzzing (docs/fuzzing.md).  Included by the top-level Makefile.
#
#   make fuzz                      build every target (clang, libFuzzer, ASan+UBSan)
#                                  into build/fuzz/ and run each for FUZZ_TIME seconds
#   make fuzz FUZZ_TARGETS="a b"   only these targets
#   make fuzz FUZZ_RUNS=1000000    stop each after this many executions
#   make fuzz-build                build only
#
# Convention: every tests/fuzz/NAME.c is one target (NAME: [a-z0-9_], a
# LLVMFuzzerTestOneInput and nothing else global), its seeds live in
# tests/fuzz/corpus/NAME/, an optional libFuzzer dictionary in
# tests/fuzz/NAME.dict.  Shared helpers are static inline in tests/fuzz/*.h.
# `make check` compiles every target a second time with $(CC) and the
# project's flags and replays its corpus (tests/unit/test_fuzz_corpus.c),
# so a target or a seed cannot rot unnoticed.

FUZZ_CC ?= clang
FUZZ_TIME ?= 30
FUZZ_RUNS ?= -1
FUZZ_BUILD := build/fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_NAMES := $(basename $(notdir $(FUZZ_SRC)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/%,$(FUZZ_NAMES))

# clang does not know two of gcc's warnings, and its -Wformat-nonliteral also
# fires in va_list wrappers gcc accepts (gcc checks the formats); the rest applies.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -Isrc -I$(BUILD)/gen -Itests/fuzz \
	$(filter-out -Wduplicated-cond -Wlogical-op,$(WARNINGS)) -Wno-format-nonliteral \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_LIB_OBJ := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out src/main.c,$(SRC)))

.PHONY: fuzz fuzz-build fuzz-cc
fuzz-build: $(FUZZ_BINS)

# A clear word instead of a compiler error when clang or libFuzzer is missing.
fuzz-cc:
	@echo 'int LLVMFuzzerTestOneInput(const char *d, long n); int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
		$(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null || \
		{ echo "make fuzz: $(FUZZ_CC) cannot build libFuzzer targets (Debian: apt-get install clang libclang-rt-dev)" >&2; exit 1; }

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) \
		tests/fuzz/run.sh $(FUZZ_TARGETS)

# skyvm's own sources: -Werror is the gcc build's job; clang's extra opinions
# are printed here but must not stop a fuzzing run.
$(FUZZ_BUILD)/obj/%.o: src/%.c | fuzz-cc
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -Werror,$(FUZZ_CFLAGS)) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

# Generated headers, as in the gcc build.
$(FUZZ_BUILD)/obj/vmm/sandbox.o: $(BUILD)/gen/syscall_names.h
$(FUZZ_BUILD)/obj/cpu/features.o $(FUZZ_BUILD)/obj/cpu/deps.o: $(BUILD)/gen/cpu_index.h

# An archive: each target links only the objects it uses.
$(FUZZ_BUILD)/libskyvm.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_BUILD)/libskyvm.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d -o $@ $< $(FUZZ_OBJ) \
		$(FUZZ_BUILD)/libskyvm.a $(LDLIBS)

# A device class registers itself from a constructor, which nothing pulls out
# of an archive: a target that builds devices by class name (machine_add)
# links their objects whole.
FUZZ_DEVICE_OBJ := $(filter $(FUZZ_BUILD)/obj/devices/%,$(FUZZ_LIB_OBJ))
$(FUZZ_BUILD)/port_devices: FUZZ_OBJ = $(FUZZ_DEVICE_OBJ)
$(FUZZ_BUILD)/port_devices: $(FUZZ_DEVICE_OBJ)
# vmapi.c pulls in vm.c, which names the embedded guests (built without sanitizers).
$(FUZZ_BUILD)/api_request: FUZZ_OBJ = $(BUILD)/obj/gen/guests.o
$(FUZZ_BUILD)/api_request: $(BUILD)/obj/gen/guests.o

# ---- the replay build for `make check`: plain $(CC), each entry point renamed
FUZZ_REPLAY_OBJ := $(patsubst %,$(BUILD)/obj/fuzz/%.o,$(FUZZ_NAMES))

$(BUILD)/obj/fuzz/%.o: tests/fuzz/%.c $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -DLLVMFuzzerTestOneInput=fuzz_target_$* -MMD -MP -c -o $@ $<

$(BUILD)/gen/fuzz_targets.c: tests/fuzz/gen-table.sh FORCE_FUZZ_TABLE
	@mkdir -p $(dir $@)
	@tests/fuzz/gen-table.sh $@ $(FUZZ_NAMES)

$(BUILD)/obj/gen/fuzz_targets.o: $(BUILD)/gen/fuzz_targets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -c -o $@ $<

$(BUILD)/tests/test_fuzz_corpus: tests/unit/test_fuzz_corpus.c $(FUZZ_REPLAY_OBJ) \
		$(BUILD)/obj/gen/fuzz_targets.o $(LIB_OBJ) $(BUILD)/obj/gen/guests.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/fuzz -o $@ $< $(FUZZ_REPLAY_OBJ) \
		$(BUILD)/obj/gen/fuzz_targets.o $(LIB_OBJ) $(BUILD)/obj/gen/guests.o \
		$(LDFLAGS) $(LDLIBS) -lcmocka

.PHONY: FORCE_FUZZ_TABLE
FORCE_FUZZ_TABLE:

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BINS:=.d) $(FUZZ_REPLAY_OBJ:.o=.d)
