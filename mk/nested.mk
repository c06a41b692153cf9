# The nested-KVM test guest (tests/nested/, docs/nested-testing.md): on a machine with no
# usable /dev/kvm, the e2e tests that take the `kvm` fixture run skyvm inside a QEMU TCG
# guest that emulates AMD SVM and loads kvm_amd.
#
#   make check    runs the kvm tests on /dev/kvm where it opens, else in the nested guest
#                 (built first, here): every test that boots a guest runs, by default.
#                 SKYVM_NESTED=0 skips them instead (the summary says so), for a machine
#                 that cannot run the nested guest (it needs root); SKYVM_NESTED=always
#                 uses the nested guest even where /dev/kvm opens.
#   make nested   build/nested/initramfs.cpio.gz (installs busybox-static, Debian's
#                 cloud kernel and QEMU when missing; rebuilt only when an input changes)
#   make run      where /dev/kvm does not open: boots the default guest in the nested
#                 guest (run-nested), saying that this is emulation for trying skyvm out
#   make check-nested
#                 the same as `make check` with SKYVM_NESTED=always
NESTED_OUT := build/nested
# True where /dev/kvm is a character device this user can open read-write.
KVM_OPENS := { [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; }
# True where that /dev/kvm is a restricted PVM-style KVM (kvm_pvm): it runs skyvm's
# embedded guests but no stock Linux guest, so the tests use the nested guest there
# (SKYVM_NESTED=never: this /dev/kvm all the same).
KVM_RESTRICTED := { [ -d /sys/module/kvm_pvm ] && [ "$${SKYVM_NESTED:-}" != never ]; }

.PHONY: nested check-nested run-nested
nested:
	@if [ "$${SKYVM_NESTED:-}" = 0 ]; then \
		echo "nested: off (SKYVM_NESTED=0): the tests that need KVM skip"; \
	elif [ "$${SKYVM_NESTED:-}" != always ] && $(KVM_OPENS) && ! $(KVM_RESTRICTED); then \
		echo "nested: /dev/kvm opens here; the nested guest is not needed"; \
	else \
		tests/nested/build-initramfs.sh $(NESTED_OUT) || \
			echo "nested: the tests that need KVM will FAIL (see $(NESTED_OUT)/unavailable; SKYVM_NESTED=0 skips them)"; \
	fi

check-prereqs: nested

check-nested:
	@SKYVM_NESTED=always $(MAKE) --no-print-directory check

run-nested: $(BUILD)/skyvm
	@if $(KVM_OPENS); then echo "make run: SKYVM_NESTED=always: the guest boots inside the nested-KVM guest"; \
	else echo "make run: /dev/kvm does not open here, so the guest boots inside the nested-KVM guest instead"; fi
	@echo "make run: (QEMU TCG emulating AMD SVM, with Linux's KVM inside; about a minute)."
	@echo "make run: This is emulation for trying skyvm out, not how skyvm runs in production (on /dev/kvm)."
	@tests/nested/run.py --skyvm $(BUILD)/skyvm -- run $(RUN_ARGS)
