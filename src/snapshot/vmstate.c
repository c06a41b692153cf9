/* SPDX-License-Identifier: MIT */
/* Saving a paused VM and restoring it (snapshot/snapshot.h). */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/msrs.h"
#include "kvm/kvm.h"
#include "util/err.h"
#include "vmm/kvmclock.h"
#include "vmm/runstate.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_IA32_XSS 0xda0
#define PAGE 4096u
#define MAX_MSRS 4096u

/* ---- saving */

static int add_ioctl(struct snap_file *f, int fd, unsigned long req, const char *reqname,
		     void *buf, size_t len, const char *name)
{
	if (ioctl(fd, req, buf) < 0)
		return err_errno("%s for '%s'", reqname, name);
	return snap_add(f, name, buf, len);
}

#define ADD(f, fd, req, obj, name) add_ioctl(f, fd, req, #req, obj, sizeof(*(obj)), name)

/* The MSRs KVM lists, plus the CPUID-dependent ones it may leave out. */
static int msr_list(int kvm_fd, uint32_t **out, unsigned *n)
{
	struct kvm_msr_list probe = { 0 }, *l;
	static const uint32_t extra[] = { MSR_IA32_TSC_DEADLINE, MSR_IA32_XSS };

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_errno("KVM_GET_MSR_INDEX_LIST");
	if (probe.nmsrs > MAX_MSRS)
		return err_set("KVM lists %u MSRs, more than %u", probe.nmsrs, MAX_MSRS);
	l = calloc(1, sizeof(*l) + (probe.nmsrs + 2) * sizeof(uint32_t));
	if (!l)
		return err_set("out of memory");
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return err_errno("KVM_GET_MSR_INDEX_LIST");
	}
	for (unsigned e = 0; e < 2; e++) {
		bool have = false;

		for (unsigned i = 0; i < l->nmsrs; i++)
			have |= l->indices[i] == extra[e];
		if (!have)
			l->indices[l->nmsrs++] = extra[e];
	}
	*n = l->nmsrs;
	*out = malloc(l->nmsrs * sizeof(uint32_t));
	if (!*out) {
		free(l);
		return err_set("out of memory");
	}
	memcpy(*out, l->indices, l->nmsrs * sizeof(uint32_t));
	free(l);
	return 0;
}

/* Every listed MSR this vCPU can read (KVM_GET_MSRS stops at the first it cannot). */
static int save_msrs(struct snap_file *f, struct vcpu *v, const uint32_t *idx, unsigned n,
		     const char *name)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	struct kvm_msr_entry *keep = calloc(n ? n : 1, sizeof(*keep));
	unsigned kept = 0, start = 0;
	int r;

	if (!m || !keep) {
		free(m);
		free(keep);
		return err_set("out of memory");
	}
	while (start < n) {
		m->nmsrs = n - start;
		for (unsigned i = 0; i < m->nmsrs; i++)
			m->entries[i] = (struct kvm_msr_entry){ .index = idx[start + i] };
		r = ioctl(v->fd, KVM_GET_MSRS, m);
		if (r < 0) {
			free(m);
			free(keep);
			return err_errno("vCPU %u: KVM_GET_MSRS", v->index);
		}
		memcpy(keep + kept, m->entries, (size_t)r * sizeof(*keep));
		kept += (unsigned)r;
		start += (unsigned)r + 1; /* skip the one KVM cannot read for this vCPU */
	}
	r = snap_add(f, name, keep, kept * sizeof(*keep));
	free(m);
	free(keep);
	return r;
}

/*
 * vcpuN.feature_msrs: the feature MSRs (cpu/msrs.h) the guest's CPUID lets
 * it read, with the value the vCPU holds, as struct kvm_msr_entry records;
 * the CPU check of a restore or migration holds them against the
 * destination (snapshot/cpucheck.h).  Left out when the vCPU's table has
 * not recorded them, and the check then says it cannot check them.
 */
static int add_feature_msrs(struct snap_file *f, const struct vcpu *v, const char *name)
{
	struct kvm_msr_entry e[CPU_FEATURE_MSRS_MAX];
	const struct cpuid_table *t = &v->cpuid;
	uint32_t n = t->nmsrs < CPU_FEATURE_MSRS_MAX ? t->nmsrs : CPU_FEATURE_MSRS_MAX;

	if (!t->msrs_known)
		return 0;
	memset(e, 0, sizeof(e));
	for (uint32_t i = 0; i < n; i++) {
		e[i].index = t->msrs[i].index;
		e[i].data = t->msrs[i].value;
	}
	return snap_add(f, name, e, n * sizeof(e[0]));
}

static int save_vcpu(struct snap_file *f, struct vcpu *v, const uint32_t *msrs, unsigned nmsrs,
		     int xsave_size)
{
	struct vm *vm = v->vm;
	char name[SNAP_NAME_MAX + 1];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dbg;
	int r = 0;

#define NAME(what) (snprintf(name, sizeof(name), "vcpu%u.%s", v->index, what), name)
	if (snap_add(f, NAME("cpuid"), v->cpuid.ent, v->cpuid.nent * sizeof(v->cpuid.ent[0])) < 0 ||
	    add_feature_msrs(f, v, NAME("feature_msrs")) < 0 ||
	    ADD(f, v->fd, KVM_GET_REGS, &regs, NAME("regs")) < 0 ||
	    ADD(f, v->fd, KVM_GET_SREGS, &sregs, NAME("sregs")) < 0)
		return -1;
	if (xsave_size > 0) {
		void *x = calloc(1, (size_t)xsave_size);

		if (!x)
			return err_set("out of memory");
		r = add_ioctl(f, v->fd, xsave_size > 4096 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
			      "KVM_GET_XSAVE2", x, (size_t)xsave_size, NAME("xsave"));
		free(x);
	} else {
		struct kvm_fpu fpu;

		r = ADD(f, v->fd, KVM_GET_FPU, &fpu, NAME("fpu"));
	}
	if (r < 0)
		return -1;
	if (kvm_cap(vm->kvm.fd, KVM_CAP_XCRS) > 0) {
		struct kvm_xcrs xcrs;

		memset(&xcrs, 0, sizeof(xcrs));
		if (ADD(f, v->fd, KVM_GET_XCRS, &xcrs, NAME("xcrs")) < 0)
			return -1;
	}
	if (vm->has_irqchip) {
		struct kvm_lapic_state lapic;
		struct kvm_mp_state mp;

		if (ADD(f, v->fd, KVM_GET_LAPIC, &lapic, NAME("lapic")) < 0 ||
		    ADD(f, v->fd, KVM_GET_MP_STATE, &mp, NAME("mp_state")) < 0)
			return -1;
	}
	memset(&ev, 0, sizeof(ev));
	memset(&dbg, 0, sizeof(dbg));
	if (ADD(f, v->fd, KVM_GET_VCPU_EVENTS, &ev, NAME("events")) < 0 ||
	    ADD(f, v->fd, KVM_GET_DEBUGREGS, &dbg, NAME("debugregs")) < 0 ||
	    save_msrs(f, v, msrs, nmsrs, NAME("msrs")) < 0)
		return -1;
#undef NAME
	return 0;
}

static int save_vm_state(struct snap_file *f, struct vm *vm)
{
	struct kvm_clock_data clock;
	uint64_t ns;

	if (vm->has_irqchip) {
		static const char *const chips[] = { "vm.pic_master", "vm.pic_slave", "vm.ioapic" };

		for (unsigned i = 0; i < 3; i++) {
			struct kvm_irqchip c;

			memset(&c, 0, sizeof(c));
			c.chip_id = i;
			if (ADD(f, vm->fd, KVM_GET_IRQCHIP, &c, chips[i]) < 0)
				return -1;
		}
	}
	if (vm->has_pit) {
		struct kvm_pit_state2 pit;

		memset(&pit, 0, sizeof(pit));
		if (ADD(f, vm->fd, KVM_GET_PIT2, &pit, "vm.pit2") < 0)
			return -1;
	}
	/* What the guest may already have read, not only KVM's view (vmm/kvmclock.h). */
	memset(&clock, 0, sizeof(clock));
	if (vm_guest_clock_ns(vm, &ns) < 0)
		return -1;
	clock.clock = ns;
	return snap_add(f, "vm.clock", &clock, sizeof(clock));
}

static int save_devices(struct snap_file *f, struct vm *vm, json_t *stateless)
{
	size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return err_set("out of memory");
	for (unsigned i = 0; i < vm->machine.n; i++) {
		struct device *d = vm->machine.dev[i];
		char name[SNAP_NAME_MAX + 1];
		size_t len = 0;

		if (!d->cls->ops.save) {
			json_array_append_new(stateless, json_string(d->id));
			continue;
		}
		snprintf(name, sizeof(name), "dev.%s", d->id);
		if (d->cls->ops.save(d, buf, cap, &len) < 0 || snap_add(f, name, buf, len) < 0) {
			free(buf);
			return err_wrap("device %s", d->id);
		}
	}
	free(buf);
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

/* Guest RAM into DIR/memory.raw; pages of zeros stay holes. */
static int save_memory(struct vm *vm, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t size = vm->mem.size, off = 0;

	if (fd < 0)
		return err_errno("%s", path);
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	while (off < size) {
		uint64_t end;

		if (page_is_zero(vm->mem.host + off)) {
			off += PAGE;
			continue;
		}
		for (end = off + PAGE; end < size && !page_is_zero(vm->mem.host + end); end += PAGE)
			;
		for (uint64_t p = off; p < end;) {
			ssize_t w = pwrite(fd, vm->mem.host + p, (size_t)(end - p), (off_t)p);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			p += (uint64_t)w;
		}
		off = end;
	}
	if (fsync(fd) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	err_errno("%s", path);
	close(fd);
	return -1;
}

static json_t *config_json(struct vm *vm, int tsc_khz, int xsave_size)
{
	const struct vm_config *c = vm->cfg;
	json_t *devs = json_array(), *apic = json_array(), *m;

	for (unsigned i = 0; i < c->ndevices; i++)
		json_array_append_new(devs, json_pack("{s:s,s:o,s:o}", "class", c->devices[i].cls,
						      "id", c->devices[i].id ? json_string(c->devices[i].id)
									     : json_null(),
						      "opts", c->devices[i].opts
								? json_string(c->devices[i].opts)
								: json_null()));
	for (unsigned i = 0; i < vm->ncpus; i++)
		json_array_append_new(apic, json_integer(vm->vcpus[i].apic_id));
	m = json_pack("{s:s,s:i,s:i,s:I,s:I,s:s,s:s,s:s,s:b,s:b,s:i,s:i,s:o,s:o,s:{s:i,s:i,s:i}}",
		      "format", "skyvm-snapshot", "version", SNAP_VERSION, "cpus", (int)vm->ncpus,
		      "memory_mib", (json_int_t)c->memory_mib, "memory_bytes",
		      (json_int_t)vm->mem.size, "cpu_spec", c->cpu_spec ? c->cpu_spec : "host",
		      "cpu_model", vm->cpu.def.name, "vendor", vm->cpu.def.vendor, "irqchip",
		      vm->has_irqchip, "pit", vm->has_pit, "tsc_khz", tsc_khz, "xsave_size",
		      xsave_size, "devices", devs, "apic_ids", apic, "topology", "sockets",
		      (int)c->topo.sockets, "cores", (int)c->topo.cores, "threads",
		      (int)c->topo.threads);
	json_object_set_new(m, "kernel", c->kernel_path ? json_string(c->kernel_path) : json_null());
	json_object_set_new(m, "guest", json_string(c->guest_name ? c->guest_name : "default"));
	json_object_set_new(m, "debug_exit", json_boolean(c->debug_exit));
	json_object_set_new(m, "cmdline", c->cmdline ? json_string(c->cmdline) : json_null());
	/* The --irqchip choice: with the same config it decides irqchip and PIT alike. */
	json_object_set_new(m, "irqchip_mode", json_string(c->irqchip == IRQCHIP_KERNEL ? "kernel"
							   : c->irqchip == IRQCHIP_NONE ? "none"
											: "auto"));
	return m;
}

static int xsave_size_of(struct vm *vm)
{
	int n = kvm_cap(vm->kvm.fd, KVM_CAP_XSAVE2);

	if (n > 0)
		return n < 4096 ? 4096 : n;
	return kvm_cap(vm->kvm.fd, KVM_CAP_XSAVE) > 0 ? 4096 : 0;
}

int snapshot_collect(struct vm *vm, struct snap_file *f)
{
	uint32_t *msrs = NULL;
	unsigned nmsrs = 0;
	int xsave_size = xsave_size_of(vm), tsc_khz, r = -1;
	json_t *meta = NULL, *stateless = json_array();
	char *text = NULL;

	tsc_khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz <= 0) {
		err_errno("KVM_GET_TSC_KHZ");
		goto out;
	}
	if (msr_list(vm->kvm.fd, &msrs, &nmsrs) < 0)
		goto out;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (save_vcpu(f, &vm->vcpus[i], msrs, nmsrs, xsave_size) < 0)
			goto out;
	if (save_vm_state(f, vm) < 0 || save_devices(f, vm, stateless) < 0)
		goto out;
	meta = config_json(vm, tsc_khz, xsave_size);
	json_object_set(meta, "stateless_devices", stateless);
	text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		err_set("out of memory");
		goto out;
	}
	r = snap_add(f, "meta", text, strlen(text));
out:
	free(text);
	json_decref(meta);
	json_decref(stateless);
	free(msrs);
	return r;
}

int snapshot_cpu_sections(struct vm *vm, struct snap_file *f)
{
	json_t *meta = config_json(vm, 0, xsave_size_of(vm));
	char *text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	int r = -1;

	json_decref(meta);
	if (!text)
		return err_set("out of memory");
	if (snap_add(f, "meta", text, strlen(text)) < 0)
		goto out;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		char name[32];
		const struct cpuid_table *t = &vm->vcpus[i].cpuid;

		snprintf(name, sizeof(name), "vcpu%u.cpuid", i);
		if (snap_add(f, name, t->ent, t->nent * sizeof(t->ent[0])) < 0)
			goto out;
		snprintf(name, sizeof(name), "vcpu%u.feature_msrs", i);
		if (add_feature_msrs(f, &vm->vcpus[i], name) < 0)
			goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

int snapshot_save(struct vm *vm, const char *dir)
{
	struct snap_file f;
	char path[4096];
	int r = -1;

	snap_init(&f);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_errno("snapshot directory %s", dir);
	if (snapshot_collect(vm, &f) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MEMORY_FILE);
	if (save_memory(vm, path) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_STATE_FILE);
	r = snap_write_file(&f, path);
out:
	snap_free(&f);
	return r;
}

int snapshot_save_live(struct vm *vm, const char *dir)
{
	bool was_running = vm_run_state(vm) == VM_RUNNING;
	int r;

	if (was_running && vm_pause(vm) < 0)
		return -1;
	r = snapshot_save(vm, dir);
	/* The guest's clock did not run while it was being saved. */
	if (was_running && vm_resume(vm, true) < 0 && r == 0)
		r = -1;
	return r;
}

/* ---- loading */

void snapshot_free(struct snapshot *s)
{
	snap_free(&s->f);
	json_decref(s->meta);
	free(s->cpuid);
	memset(s, 0, sizeof(*s));
}

static bool feature_msr_modelled(uint32_t index)
{
	uint32_t idx[CPU_FEATURE_MSRS_MAX];
	size_t n = cpu_feature_msr_indices(idx, CPU_FEATURE_MSRS_MAX);

	for (size_t i = 0; i < n; i++)
		if (idx[i] == index)
			return true;
	return false;
}

/*
 * vCPU i's feature MSRs into its table (msrs_known when recorded): from
 * 'vcpuN.feature_msrs', or, in a snapshot older than that section, the
 * gated feature MSRs among 'vcpuN.msrs' (every MSR KVM lists, saved from
 * the vCPU).  Neither (a migration's CPU frame from an older skyvm): not
 * recorded.
 */
static int parse_feature_msrs(struct snapshot *s, unsigned i, const char *what)
{
	struct cpuid_table *t = &s->cpuid[i];
	const struct snap_section *c;
	struct kvm_msr_entry e;
	char name[32];
	uint64_t n, seen;

	t->nmsrs = 0;
	t->msrs_known = false;
	snprintf(name, sizeof(name), "vcpu%u.feature_msrs", i);
	c = snap_get(&s->f, name);
	if (c) {
		if (c->len % sizeof(e) || c->len / sizeof(e) > CPU_FEATURE_MSRS_MAX)
			return err_set("%s: section '%s' is malformed", what, name);
		n = c->len / sizeof(e);
		for (uint64_t k = 0; k < n; k++) {
			memcpy(&e, c->data + k * sizeof(e), sizeof(e));
			if (!feature_msr_modelled(e.index))
				return err_set("%s: section '%s': MSR 0x%x is not a feature MSR "
					       "this skyvm models", what, name, e.index);
			if (cpu_msr_get(t, e.index, &seen))
				return err_set("%s: section '%s': MSR 0x%x twice", what, name,
					       e.index);
			if (cpu_msr_put(t, e.index, e.data) < 0)
				return err_wrap("%s: section '%s'", what, name);
		}
		t->msrs_known = true;
		return 0;
	}
	snprintf(name, sizeof(name), "vcpu%u.msrs", i);
	c = snap_get(&s->f, name);
	if (!c || c->len % sizeof(e))
		return 0;
	n = c->len / sizeof(e);
	for (uint64_t k = 0; k < n; k++) {
		memcpy(&e, c->data + k * sizeof(e), sizeof(e));
		if (feature_msr_modelled(e.index) && cpu_msr_gated(t, e.index) &&
		    cpu_msr_put(t, e.index, e.data) < 0)
			return err_wrap("%s: section '%s'", what, name);
	}
	t->msrs_known = true;
	return 0;
}

int snapshot_parse(struct snapshot *s, const char *what)
{
	const struct snap_section *m;
	json_error_t je;
	json_int_t ncpus;

	m = snap_get(&s->f, "meta");
	if (!m)
		return err_set("%s: no 'meta' section", what);
	s->meta = json_loadb((const char *)m->data, (size_t)m->len, 0, &je);
	if (!s->meta || !json_is_object(s->meta))
		return err_set("%s: section 'meta' is not valid JSON: %s", what, je.text);
	ncpus = json_integer_value(json_object_get(s->meta, "cpus"));
	if (ncpus < 1 || ncpus > 4096)
		return err_set("%s: section 'meta': bad vCPU count", what);
	s->ncpus = (unsigned)ncpus;
	snprintf(s->model, sizeof(s->model), "%s",
		 json_string_value(json_object_get(s->meta, "cpu_model")) ?: "?");
	s->cpuid = calloc(s->ncpus, sizeof(*s->cpuid));
	if (!s->cpuid)
		return err_set("out of memory");
	for (unsigned i = 0; i < s->ncpus; i++) {
		char name[32];
		const struct snap_section *c;

		snprintf(name, sizeof(name), "vcpu%u.cpuid", i);
		c = snap_get(&s->f, name);
		if (!c || c->len % sizeof(struct kvm_cpuid_entry2) ||
		    c->len / sizeof(struct kvm_cpuid_entry2) > CPUID_MAX_ENTRIES)
			return err_set("%s: section '%s' is missing or malformed", what, name);
		s->cpuid[i].nent = (uint32_t)(c->len / sizeof(struct kvm_cpuid_entry2));
		memcpy(s->cpuid[i].ent, c->data, (size_t)c->len);
		if (parse_feature_msrs(s, i, what) < 0)
			return -1;
	}
	return 0;
}

int snapshot_load(const char *dir, struct snapshot *s)
{
	char path[4200];

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_STATE_FILE);
	if (snap_read_file(path, &s->f) < 0)
		return -1;
	return snapshot_parse(s, path);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int snapshot_config(const struct snapshot *s, struct vm_config *cfg)
{
	const json_t *m = s->meta, *devs = json_object_get(m, "devices"), *topo;
	size_t i;
	json_t *d;

	cfg->kernel_path = jstr(m, "kernel");
	cfg->guest_name = jstr(m, "guest");
	/* Absent in older snapshots: a kernel VM then gets no debug-exit port. */
	cfg->debug_exit = json_is_true(json_object_get(m, "debug_exit"));
	cfg->cmdline = jstr(m, "cmdline");
	cfg->ncpus = s->ncpus;
	cfg->memory_mib = (uint64_t)json_integer_value(json_object_get(m, "memory_mib"));
	cfg->cpu_spec = jstr(m, "cpu_spec");
	{
		const char *mode = jstr(m, "irqchip_mode");

		cfg->irqchip = !mode || !strcmp(mode, "auto") ? IRQCHIP_AUTO
			       : !strcmp(mode, "kernel")      ? IRQCHIP_KERNEL
							      : IRQCHIP_NONE;
	}
	topo = json_object_get(m, "topology");
	cfg->topo.sockets = (unsigned)json_integer_value(json_object_get(topo, "sockets"));
	cfg->topo.cores = (unsigned)json_integer_value(json_object_get(topo, "cores"));
	cfg->topo.threads = (unsigned)json_integer_value(json_object_get(topo, "threads"));
	cfg->ndevices = 0;
	json_array_foreach(devs, i, d) {
		if (i >= VM_MAX_DEVICE_SPECS || !jstr(d, "class"))
			return err_set("snapshot 'meta': bad device list");
		cfg->devices[cfg->ndevices++] = (struct vm_device_spec){ jstr(d, "class"),
									 jstr(d, "id"), jstr(d, "opts") };
	}
	cfg->restore_cpuid = s->cpuid;
	cfg->restore_model_name = s->model;
	if (!cfg->cpu_spec || !cfg->memory_mib)
		return err_set("snapshot 'meta': config incomplete");
	return 0;
}

static const struct snap_section *need(const struct snapshot *s, const char *name, size_t len)
{
	const struct snap_section *c = snap_get(&s->f, name);

	if (!c) {
		err_set("snapshot: section '%s' is missing", name);
		return NULL;
	}
	if (len && c->len != len) {
		err_set("snapshot: section '%s' has %llu bytes, this skyvm expects %zu", name,
			(unsigned long long)c->len, len);
		return NULL;
	}
	return c;
}

static int set_from(const struct snapshot *s, int fd, unsigned long req, const char *reqname,
		    const char *name, size_t len)
{
	const struct snap_section *c = need(s, name, len);
	void *copy;
	int r;

	if (!c)
		return -1;
	copy = malloc(c->len ? (size_t)c->len : 1);
	if (!copy)
		return err_set("out of memory");
	memcpy(copy, c->data, (size_t)c->len);
	r = ioctl(fd, req, copy);
	free(copy);
	if (r < 0)
		return err_errno("%s from '%s'", reqname, name);
	return 0;
}

#define SET(s, fd, req, type, name) set_from(s, fd, req, #req, name, sizeof(type))

/* Does this vCPU already hold `e`'s value (a write KVM refuses changes nothing)? */
static bool msr_already(struct vcpu *v, const struct kvm_msr_entry *e)
{
	uint64_t now;

	return kvm_get_msr(v->fd, e->index, &now) == 0 && now == e->data;
}

/*
 * Set every saved MSR.  KVM_SET_MSRS stops at the first it refuses: one that
 * already holds the saved value (an MSR this host's KVM lists but will not
 * write, such as IA32_XSS without XSAVES) is skipped; any other stops the
 * restore naming it.
 */
static int restore_msrs(const struct snapshot *s, struct vcpu *v, const char *name)
{
	const struct snap_section *c = need(s, name, 0);
	struct kvm_msrs *m;
	const struct kvm_msr_entry *all;
	unsigned n, start = 0;

	if (!c)
		return -1;
	if (c->len % sizeof(struct kvm_msr_entry))
		return err_set("snapshot: section '%s' is malformed", name);
	n = (unsigned)(c->len / sizeof(struct kvm_msr_entry));
	all = (const struct kvm_msr_entry *)(const void *)c->data;
	m = calloc(1, sizeof(*m) + c->len);
	if (!m)
		return err_set("out of memory");
	while (start < n) {
		int r;

		m->nmsrs = n - start;
		memcpy(m->entries, all + start, m->nmsrs * sizeof(*all));
		r = ioctl(v->fd, KVM_SET_MSRS, m);
		if (r < 0) {
			free(m);
			return err_errno("vCPU %u: KVM_SET_MSRS", v->index);
		}
		start += (unsigned)r;
		if (start < n) {
			if (!msr_already(v, &all[start])) {
				err_set("vCPU %u: this host cannot set MSR 0x%x to 0x%llx "
					"(KVM_SET_MSRS)", v->index, all[start].index,
					(unsigned long long)all[start].data);
				free(m);
				return -1;
			}
			start++;
		}
	}
	free(m);
	return 0;
}

/*
 * A TSC frequency KVM cannot set (no TSC scaling) is accepted within 250 ppm
 * of the saved one: NTP's limit is 500 ppm, and two hosts of one model differ
 * by less (QEMU refuses any difference unless told otherwise).
 */
#define TSC_TOLERANCE_PPM 250

static bool tsc_close_enough(int saved, int here)
{
	long long diff = (long long)saved - here;

	if (here <= 0)
		return false;
	if (diff < 0)
		diff = -diff;
	return diff * 1000000LL <= (long long)TSC_TOLERANCE_PPM * saved;
}

static int restore_vcpu(const struct snapshot *s, struct vcpu *v, int tsc_khz)
{
	struct vm *vm = v->vm;
	char name[SNAP_NAME_MAX + 1];
	const struct snap_section *x;

#define NAME(what) (snprintf(name, sizeof(name), "vcpu%u.%s", v->index, what), name)
	if (tsc_khz > 0) {
		int here = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

		if (here != tsc_khz && ioctl(v->fd, KVM_SET_TSC_KHZ, tsc_khz) < 0 &&
		    !tsc_close_enough(tsc_khz, here))
			return err_errno("vCPU %u: the guest's TSC ran at %d kHz, this host's at %d "
					 "kHz (more than %d ppm apart), and KVM_SET_TSC_KHZ failed",
					 v->index, tsc_khz, here, TSC_TOLERANCE_PPM);
	}
	if (SET(s, v->fd, KVM_SET_SREGS, struct kvm_sregs, NAME("sregs")) < 0 ||
	    SET(s, v->fd, KVM_SET_REGS, struct kvm_regs, NAME("regs")) < 0)
		return -1;
	x = snap_get(&s->f, NAME("xsave"));
	if (x) {
		int host = xsave_size_of(vm);
		void *buf;
		int r;

		if (x->len < 4096 || (host > 0 && x->len > (uint64_t)host) || host <= 0)
			return err_set("vCPU %u: the saved XSAVE area has %llu bytes, this host's "
				       "KVM takes %d", v->index, (unsigned long long)x->len, host);
		buf = calloc(1, (size_t)host);
		if (!buf)
			return err_set("out of memory");
		memcpy(buf, x->data, (size_t)x->len);
		r = ioctl(v->fd, KVM_SET_XSAVE, buf);
		free(buf);
		if (r < 0)
			return err_errno("vCPU %u: KVM_SET_XSAVE", v->index);
	} else if (SET(s, v->fd, KVM_SET_FPU, struct kvm_fpu, NAME("fpu")) < 0) {
		return -1;
	}
	if (snap_get(&s->f, NAME("xcrs")) &&
	    SET(s, v->fd, KVM_SET_XCRS, struct kvm_xcrs, NAME("xcrs")) < 0)
		return -1;
	if (vm->has_irqchip &&
	    SET(s, v->fd, KVM_SET_LAPIC, struct kvm_lapic_state, NAME("lapic")) < 0)
		return -1;
	if (restore_msrs(s, v, NAME("msrs")) < 0 ||
	    SET(s, v->fd, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events, NAME("events")) < 0 ||
	    SET(s, v->fd, KVM_SET_DEBUGREGS, struct kvm_debugregs, NAME("debugregs")) < 0)
		return -1;
	if (vm->has_irqchip &&
	    SET(s, v->fd, KVM_SET_MP_STATE, struct kvm_mp_state, NAME("mp_state")) < 0)
		return -1;
#undef NAME
	return 0;
}

static int restore_memory(const struct snapshot *s, struct vm *vm)
{
	char path[4200];
	struct stat st;
	off_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->dir, SNAP_MEMORY_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno("%s", path);
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != vm->mem.size) {
		close(fd);
		return err_set("%s: %lld bytes, the snapshot's guest has %llu", path,
			       (long long)st.st_size, (unsigned long long)vm->mem.size);
	}
	/* Back to all zeros (vm_create may have written), then only the data regions. */
	madvise(vm->mem.host, vm->mem.size, MADV_DONTNEED);
	for (;;) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: no more data */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		while (data < hole) {
			ssize_t r = pread(fd, vm->mem.host + data, (size_t)(hole - data), data);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				err_errno("%s: read at %lld", path, (long long)data);
				close(fd);
				return -1;
			}
			data += r;
		}
		off = hole;
	}
	close(fd);
	return 0;
}

int snapshot_restore_state(const struct snapshot *s, struct vm *vm)
{
	if (restore_memory(s, vm) < 0)
		return -1;
	return snapshot_restore_cpu_state(s, vm);
}

int snapshot_restore_cpu_state(const struct snapshot *s, struct vm *vm)
{
	int tsc_khz = (int)json_integer_value(json_object_get(s->meta, "tsc_khz"));

	for (unsigned i = 0; i < vm->ncpus; i++)
		if (restore_vcpu(s, &vm->vcpus[i], tsc_khz) < 0)
			return -1;
	if (vm->has_irqchip) {
		static const char *const chips[] = { "vm.pic_master", "vm.pic_slave", "vm.ioapic" };

		for (unsigned i = 0; i < 3; i++)
			if (SET(s, vm->fd, KVM_SET_IRQCHIP, struct kvm_irqchip, chips[i]) < 0)
				return -1;
	}
	if (vm->has_pit && SET(s, vm->fd, KVM_SET_PIT2, struct kvm_pit_state2, "vm.pit2") < 0)
		return -1;
	for (unsigned i = 0; i < vm->machine.n; i++) {
		struct device *d = vm->machine.dev[i];
		const struct snap_section *c;
		char name[SNAP_NAME_MAX + 1];

		if (!d->cls->ops.load)
			continue;
		snprintf(name, sizeof(name), "dev.%s", d->id);
		c = snap_get(&s->f, name);
		if (!c)
			return err_set("snapshot: no state for device %s", d->id);
		if (d->cls->ops.load(d, c->data, (size_t)c->len) < 0)
			return err_wrap("snapshot: device %s", d->id);
	}
	/*
	 * Last: the clock the guest reads continues from the saved value.  Only
	 * the value: KVM_CLOCK_REALTIME in the flags would add the wall time
	 * since the save, a jump the guest never saw pass.
	 */
	{
		const struct snap_section *c = need(s, "vm.clock", sizeof(struct kvm_clock_data));
		struct kvm_clock_data clock;

		if (!c)
			return -1;
		memcpy(&clock, c->data, sizeof(clock));
		clock.flags = 0;
		memset(clock.pad, 0, sizeof(clock.pad));
		if (ioctl(vm->fd, KVM_SET_CLOCK, &clock) < 0)
			return err_errno("KVM_SET_CLOCK from 'vm.clock'");
	}
	return 0;
}
