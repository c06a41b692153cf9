/* SPDX-License-Identifier: MIT */
#include "devices/bus.h"

#include <string.h>

#include "util/err.h"

int pio_register(struct pio_bus *bus, const struct pio_region *region)
{
	if (bus->n >= PIO_MAX_REGIONS)
		return err_set("%s: too many port regions", region->name);
	for (unsigned i = 0; i < bus->n; i++) {
		const struct pio_region *o = &bus->r[i];

		if (region->base < o->base + o->len && o->base < region->base + region->len)
			return err_set("%s: ports 0x%x-0x%x overlap %s", region->name, region->base,
				       region->base + region->len - 1, o->name);
	}
	bus->r[bus->n++] = *region;
	return 0;
}

const struct pio_region *pio_find(const struct pio_bus *bus, uint16_t port)
{
	for (unsigned i = 0; i < bus->n; i++)
		if (port >= bus->r[i].base && port - bus->r[i].base < bus->r[i].len)
			return &bus->r[i];
	return NULL;
}

static struct device_type *types;
static unsigned ntypes;

void device_type_register(struct device_type *t)
{
	struct device_type **p = &types;

	t->slot = ntypes++; /* DEVICE_MAX_TYPES is checked at VM creation */

	while (*p && ((*p)->level < t->level ||
		      ((*p)->level == t->level && strcmp((*p)->name, t->name) < 0)))
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

struct device_type *device_types(void)
{
	return types;
}
