# The real-distro test (tests/e2e/test_distro.py, docs/linux-guest.md): Debian's cloud
# kernel powers off from a busybox /init, and boots a debootstrap Debian 12 image on
# virtio-blk to systemd's multi-user.target, where `systemctl poweroff` ends skyvm with 0.
#   make check-slow   builds (or takes from ${XDG_CACHE_HOME:-~/.cache}/skyvm/distro/)
#                     the image with scripts/build-distro-image.sh, then boots it
.PHONY: check-slow-distro
check-slow: check-slow-distro
check-slow-distro: deps
	@$(MAKE) --no-print-directory $(BUILD)/skyvm
	@guests/linux/install-packages.sh linux-image-cloud-amd64 busybox-static kmod \
		debootstrap e2fsprogs
	@scripts/build-distro-image.sh >/dev/null
	SKYVM=$(BUILD)/skyvm SKYVM_SLOW=1 SKYVM_DISTRO=1 /usr/bin/python3 -m pytest -q -rs \
		-p no:cacheprovider tests/e2e/test_distro.py
