# The nested-KVM test guest (tests/nested/, docs/nested-testing.md): on a machine with no
# usable /dev/kvm, the e2e tests that take the `kvm` fixture run skyvm inside a QEMU TCG
# guest that emulates AMD SVM and loads kvm_amd.
#
#   make nested   build/nested/initramfs.cpio.gz (installs busybox-static, Debian's
#                 cloud kernel and QEMU when missing; rebuilt only when an input changes)
#   make check    builds it first (check-prereqs); where it cannot be built (no root for
#                 virtiofsd, no packages) the reason is printed, the build goes on and the
#                 kvm tests skip with that reason
NESTED_OUT := build/nested

.PHONY: nested
nested:
	@if [ -c /dev/kvm ] && [ -w /dev/kvm ] && (exec 3</dev/kvm) 2>/dev/null; then \
		echo "nested: /dev/kvm is usable here; the nested guest is not needed"; \
	else \
		tests/nested/build-initramfs.sh $(NESTED_OUT) || \
			echo "nested: kvm tests will skip (see $(NESTED_OUT)/unavailable)"; \
	fi

check-prereqs: nested
