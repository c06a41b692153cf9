/* SPDX-License-Identifier: MIT */
/* Device classes, the machine's device list, the resource allocator, the buses. */
#include "devices/machine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "util/err.h"

/* ---- device classes (registered by their own files) */

static struct device_class *classes;

void device_class_register(struct device_class *c)
{
	c->next = classes;
	classes = c;
}

const struct device_class *device_class_find(const char *name)
{
	for (const struct device_class *c = classes; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

struct dev_region *device_add_region(struct device *d, const struct dev_region *r)
{
	if (d->nregion >= DEV_MAX_REGIONS) {
		err_set("%s: more than %d regions", d->id, DEV_MAX_REGIONS);
		return NULL;
	}
	d->region[d->nregion] = *r;
	return &d->region[d->nregion++];
}

void dev_stop(const struct device *d, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->host && d->host->stop)
		d->host->stop(d->host->ctx, code, msg);
}

/* ---- the allocator */

void resource_alloc_init(struct resource_alloc *a, uint64_t mmio_base, uint64_t mmio_end,
			 uint64_t align, unsigned gsi_first, unsigned gsi_last)
{
	memset(a, 0, sizeof(*a));
	a->mmio_next = mmio_base;
	a->mmio_end = mmio_end;
	a->mmio_align = align ? align : 1;
	a->gsi_first = gsi_first;
	a->gsi_last = gsi_last < 63 ? gsi_last : 63;
}

int resource_take_gsi(struct resource_alloc *a, unsigned gsi, const char *who)
{
	if (gsi > 63)
		return err_set("%s: GSI %u is out of range", who, gsi);
	if (a->gsi_used & (1ULL << gsi))
		return err_set("%s: GSI %u is already taken", who, gsi);
	a->gsi_used |= 1ULL << gsi;
	return 0;
}

int resource_alloc_gsi(struct resource_alloc *a, const char *who)
{
	for (unsigned g = a->gsi_first; g <= a->gsi_last; g++) {
		if (!(a->gsi_used & (1ULL << g))) {
			a->gsi_used |= 1ULL << g;
			return (int)g;
		}
	}
	return err_set("%s: no interrupt line left (GSIs %u-%u are all taken)", who,
		       a->gsi_first, a->gsi_last);
}

int resource_alloc_gsi_high(struct resource_alloc *a, const char *who)
{
	for (unsigned g = a->gsi_last + 1; g-- > a->gsi_first;) {
		if (!(a->gsi_used & (1ULL << g))) {
			a->gsi_used |= 1ULL << g;
			return (int)g;
		}
	}
	return err_set("%s: no interrupt line left (GSIs %u-%u are all taken)", who,
		       a->gsi_first, a->gsi_last);
}

int resource_alloc_mmio(struct resource_alloc *a, uint64_t len, const char *who, uint64_t *gpa)
{
	uint64_t base = (a->mmio_next + a->mmio_align - 1) / a->mmio_align * a->mmio_align;

	if (len == 0 || base < a->mmio_next || base > a->mmio_end || len > a->mmio_end - base)
		return err_set("%s: no room for a %llu-byte MMIO window", who,
			       (unsigned long long)len);
	*gpa = base;
	a->mmio_next = base + len;
	return 0;
}

/* ---- the machine */

void machine_init(struct machine *m)
{
	memset(m, 0, sizeof(*m));
}

struct device *machine_device(const struct machine *m, const char *id)
{
	for (unsigned i = 0; i < m->n; i++)
		if (!strcmp(m->dev[i]->id, id))
			return m->dev[i];
	return NULL;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= DEV_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_' ||
		      id[i] == '.'))
			return false;
	return true;
}

/*
 * The devices machine_init_pc() adds, in this order: the PC devices Linux
 * and the embedded guests expect at fixed ports (COM1, i8042, CMOS RTC),
 * ACPI power-off, skyvm's own ports for the guests that speak their
 * protocols (`ports`, enum machine_ports: 0 = every VM has it), and the
 * ACPI power button (a Generic Event Device: PUT /vm/shutdown).
 */
static const struct {
	const char *cls;
	unsigned ports;
} standard_devices[] = {
	{ "uart", 0 },
	{ "i8042", 0 },
	{ "rtc", 0 },
	{ "acpi-pm", 0 },
	{ "debug-exit", MACHINE_PORT_DEBUG_EXIT },
	{ "probe-port", MACHINE_PORTS_REPORT },
	{ "bulk-port", MACHINE_PORTS_REPORT },
	{ "power-button", 0 },
};

unsigned machine_guest_ports(bool embedded_guest, bool debug_exit)
{
	if (embedded_guest)
		return MACHINE_PORTS_EMBEDDED;
	return debug_exit ? MACHINE_PORT_DEBUG_EXIT : 0;
}

/* GSIs the allocator never hands out: the PIT (0 -> 2), the cascade, the SCI. */
#define GSI_FIRST_FREE 5
#define GSI_LAST 23 /* the IOAPIC's 24 pins */
static const unsigned reserved_gsis[] = { 0, 2, 9 };

int machine_init_pc(struct machine *m, unsigned ports)
{
	machine_init(m);
	resource_alloc_init(&m->alloc, LAYOUT_MMIO_START, LAYOUT_MMIO_END, LAYOUT_MMIO_WINDOW,
			    GSI_FIRST_FREE, GSI_LAST);
	for (size_t i = 0; i < sizeof(reserved_gsis) / sizeof(reserved_gsis[0]); i++)
		resource_take_gsi(&m->alloc, reserved_gsis[i], "the PC platform");
	for (size_t i = 0; i < sizeof(standard_devices) / sizeof(standard_devices[0]); i++) {
		if (standard_devices[i].ports && !(standard_devices[i].ports & ports))
			continue;
		if (!machine_add(m, standard_devices[i].cls, NULL, NULL))
			return -1;
	}
	return 0;
}

struct device *machine_add(struct machine *m, const char *cls, const char *id, const char *opts)
{
	const struct device_class *c = device_class_find(cls);
	struct device *d;

	if (!c) {
		err_set("no device class '%s'", cls);
		return NULL;
	}
	if (m->allocated) {
		err_set("%s: the machine's resources are already allocated", cls);
		return NULL;
	}
	if (m->n >= MACHINE_MAX_DEVICES) {
		err_set("%s: more than %d devices", cls, MACHINE_MAX_DEVICES);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		err_set("out of memory");
		return NULL;
	}
	d->cls = c;
	d->gsi = DEV_NO_IRQ;
	if (id) {
		if (!valid_id(id)) {
			err_set("device id '%s': use 1 to %d of A-Z a-z 0-9 - _ .", id,
				DEV_ID_MAX - 1);
			free(d);
			return NULL;
		}
		snprintf(d->id, sizeof(d->id), "%s", id);
	} else {
		for (unsigned n = 0;; n++) {
			snprintf(d->id, sizeof(d->id), "%s%u", cls, n);
			if (!machine_device(m, d->id))
				break;
		}
	}
	if (machine_device(m, d->id)) {
		err_set("device id '%s' is used twice", d->id);
		free(d);
		return NULL;
	}
	if (c->create && c->create(d, opts) < 0) {
		err_wrap("%s", d->id);
		if (c->destroy)
			c->destroy(d);
		free(d);
		return NULL;
	}
	m->dev[m->n++] = d;
	return d;
}

/* Against the regions placed before r (earlier devices, earlier regions of d). */
static int check_overlap(const struct machine *m, const struct device *d, const struct dev_region *r)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct device *o = m->dev[i];

		for (unsigned j = 0; j < o->nregion; j++) {
			const struct dev_region *q = &o->region[j];

			if (q == r)
				return 0;
			if (q->space != r->space)
				continue;
			if (r->base < q->base + q->len && q->base < r->base + r->len)
				return err_set("%s: %s 0x%llx-0x%llx overlaps %s (%s)", d->id,
					       r->space == IO_PIO ? "ports" : "MMIO",
					       (unsigned long long)r->base,
					       (unsigned long long)(r->base + r->len - 1), o->id,
					       q->name);
		}
	}
	return 0;
}

/*
 * Fixed resources first (checked against each other), then the windows and
 * lines handed out, in the order the devices were added, so a command line
 * always gives the same addresses.
 */
int machine_allocate(struct machine *m)
{
	unsigned acpi_n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		struct device *d = m->dev[i];

		if (d->irq_want == DEV_IRQ_FIXED && resource_take_gsi(&m->alloc, (unsigned)d->gsi,
								       d->id) < 0)
			return -1;
	}
	for (unsigned i = 0; i < m->n; i++) {
		struct device *d = m->dev[i];

		for (unsigned j = 0; j < d->nregion; j++) {
			struct dev_region *r = &d->region[j];

			if (r->len == 0)
				return err_set("%s: region %s has no length", d->id, r->name);
			if (r->space == IO_MMIO && r->base == 0 &&
			    resource_alloc_mmio(&m->alloc, r->len, d->id, &r->base) < 0)
				return -1;
			if (r->space == IO_PIO && (r->base > 0xFFFF || r->len > 0x10000 - r->base))
				return err_set("%s: ports 0x%llx+%llu are out of range", d->id,
					       (unsigned long long)r->base,
					       (unsigned long long)r->len);
			if (check_overlap(m, d, r) < 0)
				return -1;
		}
		if (d->irq_want == DEV_IRQ_ANY) {
			int g = d->irq_high ? resource_alloc_gsi_high(&m->alloc, d->id)
					    : resource_alloc_gsi(&m->alloc, d->id);

			if (g < 0)
				return -1;
			d->gsi = g;
		}
		if (d->acpi_hid) {
			/* "D000".."DFFF" would do; keep the PC names where a class set one. */
			if (!d->acpi_name[0])
				snprintf(d->acpi_name, sizeof(d->acpi_name), "D%03X", acpi_n & 0xFFF);
			acpi_n++;
		}
	}
	m->allocated = true;
	return 0;
}

bool machine_needs_irqchip(const struct machine *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->dev[i]->irq_want != DEV_IRQ_NONE && !m->dev[i]->irq_optional)
			return true;
	return false;
}

/* acpi_device.aml: the device's own AML hook, from the device. */
static void device_aml(const void *ctx, struct aml *body, struct aml *scope)
{
	const struct device *d = ctx;

	d->acpi_aml(d, body, scope);
}

void machine_acpi_devices(const struct machine *m, struct acpi_device *devs,
			  struct acpi_config *cfg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct device *d = m->dev[i];
		struct acpi_device *a;

		if (d->acpi_sleep && d->nregion && d->region[0].space == IO_PIO &&
		    d->region[0].len >= 2) {
			cfg->sleep_control_port = (uint16_t)d->region[0].base;
			cfg->sleep_status_port = (uint16_t)(d->region[0].base + 1);
		}
		if (!d->acpi_hid)
			continue;
		a = &devs[n++];
		memset(a, 0, sizeof(*a));
		memcpy(a->name, d->acpi_name, sizeof(a->name));
		a->hid = d->acpi_hid;
		a->uid = d->acpi_uid;
		for (unsigned j = 0; j < d->nregion && a->nres < ACPI_DEV_MAX_RES; j++) {
			if (d->region[j].acpi_private)
				continue;
			a->res[a->nres].mmio = d->region[j].space == IO_MMIO;
			a->res[a->nres].base = d->region[j].base;
			a->res[a->nres].len = d->region[j].len;
			a->nres++;
		}
		a->irq = d->gsi;
		a->irq_edge_high = d->irq_edge;
		a->irq_level_high = d->irq_level && !d->irq_edge;
		if (d->acpi_aml) {
			a->aml = device_aml;
			a->aml_ctx = d;
		}
	}
	cfg->devs = devs;
	cfg->ndevs = n;
}

bool linux_cmdline_acpi_off(const char *cmdline)
{
	bool off = false;
	const char *p = cmdline;

	while (p && *p) {
		char word[16];
		size_t n = 0;
		bool quoted = false, fits = true;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* one word as Linux's next_arg() splits them: spaces inside quotes stay */
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (n + 1 < sizeof(word))
				word[n++] = *p;
			else
				fits = false;
		}
		word[n] = '\0';
		if (!fits)
			continue;
		if (!strcmp(word, "--"))
			break;
		if (!strcmp(word, "acpi=off"))
			off = true;
		else if (!strcmp(word, "acpi=force"))
			off = false;
	}
	return off;
}

int machine_cmdline(const struct machine *m, char *buf, size_t size)
{
	size_t len = strnlen(buf, size);

	if (!linux_cmdline_acpi_off(buf))
		return 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct device *d = m->dev[i];
		char part[256];

		if (!d->cmdline)
			continue;
		if (d->cmdline(d, part, sizeof(part)) < 0)
			return -1;
		if (!part[0])
			continue;
		if (len + 1 + strlen(part) + 1 > size)
			return err_set("kernel command line: no room for %s's '%s'", d->id, part);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", part);
	}
	return 0;
}

static int bus_add(struct bus *b, struct device *d, const struct dev_region *r)
{
	if (b->n >= sizeof(b->e) / sizeof(b->e[0]))
		return err_set("%s: the bus is full", d->id);
	b->e[b->n++] = (struct bus_entry){ r->base, r->len, d, r };
	return 0;
}

int machine_realize(struct machine *m, const struct device_host *h)
{
	if (!m->allocated && machine_allocate(m) < 0)
		return -1;
	for (unsigned i = 0; i < m->n; i++) {
		struct device *d = m->dev[i];

		d->host = h;
		for (unsigned j = 0; j < d->nregion; j++)
			if (bus_add(d->region[j].space == IO_PIO ? &m->pio : &m->mmio, d,
				    &d->region[j]) < 0)
				return -1;
		if (d->cls->ops.realize && d->cls->ops.realize(d) < 0) {
			err_wrap("%s", d->id);
			if (d->cls->ops.unrealize)
				d->cls->ops.unrealize(d);
			return -1;
		}
		d->realized = true;
	}
	return 0;
}

int machine_power_button(struct machine *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct device *d = m->dev[i];

		if (d->cls->ops.power_button) {
			if (!d->realized)
				return err_set("%s: not realized", d->id);
			if (d->cls->ops.power_button(d) < 0)
				return err_wrap("%s", d->id);
			return 0;
		}
	}
	return err_set("this machine has no power button");
}

void machine_reset(struct machine *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->dev[i]->realized && m->dev[i]->cls->ops.reset)
			m->dev[i]->cls->ops.reset(m->dev[i]);
}

void machine_free(struct machine *m)
{
	for (unsigned i = m->n; i-- > 0;) {
		struct device *d = m->dev[i];

		if (d->realized && d->cls->ops.unrealize)
			d->cls->ops.unrealize(d);
		d->realized = false;
		if (d->cls->destroy)
			d->cls->destroy(d);
		free(d);
	}
	m->n = 0;
	m->pio.n = m->mmio.n = 0;
}

const struct dev_region *machine_find(const struct bus *b, uint64_t addr, unsigned size,
				      struct device **dev)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct bus_entry *e = &b->e[i];

		if (addr >= e->base && addr - e->base < e->len &&
		    (uint64_t)size <= e->len - (addr - e->base)) {
			*dev = e->dev;
			return e->r;
		}
	}
	return NULL;
}

void bus_unclaimed(struct bus *b, uint64_t addr, bool write)
{
	if (!__atomic_exchange_n(&b->unclaimed_seen, 1, __ATOMIC_ACQ_REL))
		__atomic_store_n(&b->unclaimed_first, addr, __ATOMIC_RELEASE);
	__atomic_fetch_add(write ? &b->unclaimed_write : &b->unclaimed_read, 1, __ATOMIC_RELAXED);
}

/*
 * At the end of a run, once: a guest that probes for hardware (Linux) or a
 * hostile one (docs/hostile-guests.md) may touch thousands of addresses, and a
 * line per access would be a flood of our own.
 */
int machine_unclaimed_summary(const struct machine *m, char *buf, size_t size)
{
	const struct bus *bus[2] = { &m->pio, &m->mmio };
	const char *what[2] = { "port", "MMIO" };
	int n = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < 2; i++) {
		uint64_t r = __atomic_load_n(&bus[i]->unclaimed_read, __ATOMIC_RELAXED);
		uint64_t w = __atomic_load_n(&bus[i]->unclaimed_write, __ATOMIC_RELAXED);
		int k;

		if (!r && !w)
			continue;
		k = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
			     "%s%s %llu reads, %llu writes (first at 0x%llx)",
			     n ? "; " : "unclaimed accesses (reads gave all ones, writes were dropped): ",
			     what[i], (unsigned long long)r, (unsigned long long)w,
			     (unsigned long long)__atomic_load_n(&bus[i]->unclaimed_first,
								 __ATOMIC_ACQUIRE));
		if (k < 0)
			return k;
		n += k;
	}
	return n;
}
