# The differential CPUID test against QEMU under KVM (tests/e2e/test_cpu_qemu_diff.py,
# docs/cpu-models.md): `make check` compares host, max and a rotating subset of named
# model versions; `make check-slow` compares every version.
.PHONY: check-slow-cpuid
check-slow: check-slow-cpuid
check-slow-cpuid: deps
	@$(MAKE) --no-print-directory $(BUILD)/skyvm
	SKYVM=$(BUILD)/skyvm SKYVM_CPUID_DIFF=all /usr/bin/python3 -m pytest -q -rs \
		-p no:cacheprovider tests/e2e/test_cpu_qemu_diff.py
