# The Linux test kernel (guests/linux/, docs/linux-guest.md).
#
#   make linux        bzImage, vmlinux (PVH) and the busybox initramfs in
#                     build/linux/; the scripts install their Debian packages
#                     and rebuild only when an input changes, so this is
#                     cheap when nothing did
#   make check        builds them first (check-prereqs), then the tests boot them
#                     (the kernel comes from ${XDG_CACHE_HOME:-~/.cache}/skyvm/linux/
#                     when its inputs are unchanged: guests/linux/build-kernel.sh)
#   make check-slow   also installs Debian's cloud kernel and boots it
#
# SKYVM_TEST_KERNEL_DIR=DIR (on make's command line or in the environment)
# builds into DIR instead, and the tests (test_linux.py, test_boot_qemu)
# boot the kernel from there.
LINUX_OUT := $(or $(SKYVM_TEST_KERNEL_DIR),build/linux)

.PHONY: linux check-slow-linux
linux:
	@guests/linux/build-kernel.sh $(LINUX_OUT)
	@guests/linux/build-initramfs.sh $(LINUX_OUT)

check-prereqs: linux

check-slow: check-slow-linux
check-slow-linux: deps linux
	@$(MAKE) --no-print-directory $(BUILD)/skyvm
	@guests/linux/install-packages.sh linux-image-cloud-amd64
	SKYVM=$(BUILD)/skyvm SKYVM_SLOW=1 /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider \
		-k cloud tests/e2e/test_linux.py
