/* SPDX-License-Identifier: MIT */
/*
 * An i8042 keyboard controller with no keyboard: enough for Linux's probe
 * (self-test, configuration byte, interface tests) and for reset.  Pulsing
 * the reset line (command 0xFE, or output-port bit 0 cleared via 0xD1) ends
 * the VM with status 0, as Firecracker does for `reboot=k`.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "exitcodes.h"
#include "util/err.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_IRQ 1

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_CMD 0x08 /* last write was a command */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited (Linux warns "Keylock active" otherwise) */

enum pending { PEND_NONE, PEND_CTR, PEND_OUTPORT, PEND_AUX_OBUF, PEND_KBD_OBUF };

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status, ctr, obuf, outport;
	enum pending pending;
};

static void put(struct i8042 *k, uint8_t v)
{
	k->obuf = v;
	k->status |= STATUS_OBF;
}

static void i8042_in(struct device *d, unsigned cpu, uint64_t port, uint8_t *data, unsigned size)
{
	struct i8042 *k = d->state;

	pthread_mutex_lock(&k->lock);
	if (port == I8042_CMD) {
		data[0] = k->status;
	} else {
		data[0] = k->obuf;
		k->status &= (uint8_t)~STATUS_OBF;
	}
	pthread_mutex_unlock(&k->lock);
	for (unsigned i = 1; i < size; i++)
		data[i] = 0;
}

static void command(struct device *d, struct i8042 *k, uint8_t c)
{
	switch (c) {
	case 0x20: /* read configuration byte */
		put(k, k->ctr);
		break;
	case 0x60: /* write configuration byte: next data byte */
		k->pending = PEND_CTR;
		break;
	case 0xa7: /* disable aux */
		k->ctr |= 0x20;
		break;
	case 0xa8: /* enable aux */
		k->ctr &= (uint8_t)~0x20;
		break;
	case 0xa9: /* aux interface test: 0 = ok */
	case 0xab: /* keyboard interface test */
		put(k, 0x00);
		break;
	case 0xaa: /* controller self-test */
		put(k, 0x55);
		break;
	case 0xad: /* disable keyboard */
		k->ctr |= 0x10;
		break;
	case 0xae: /* enable keyboard */
		k->ctr &= (uint8_t)~0x10;
		break;
	case 0xd0: /* read output port */
		put(k, k->outport);
		break;
	case 0xd1: /* write output port: next data byte */
		k->pending = PEND_OUTPORT;
		break;
	case 0xd2: /* write keyboard output buffer */
		k->pending = PEND_KBD_OBUF;
		break;
	case 0xd3: /* write aux output buffer (Linux's aux loopback probe) */
		k->pending = PEND_AUX_OBUF;
		break;
	case 0xfe: /* pulse reset */
		dev_stop(d, EXIT_OK, "guest reset through the i8042 (0xFE)");
		break;
	default:
		break;
	}
}

static void i8042_out(struct device *d, unsigned cpu, uint64_t port, const uint8_t *data,
		      unsigned size)
{
	struct i8042 *k = d->state;
	uint8_t v = data[0];

	pthread_mutex_lock(&k->lock);
	if (port == I8042_CMD) {
		k->status |= STATUS_CMD;
		command(d, k, v);
	} else {
		k->status &= (uint8_t)~STATUS_CMD;
		switch (k->pending) {
		case PEND_CTR:
			k->ctr = v;
			break;
		case PEND_OUTPORT:
			k->outport = v;
			if (!(v & 1))
				dev_stop(d, EXIT_OK, "guest reset through the i8042 output port");
			break;
		case PEND_KBD_OBUF:
		case PEND_AUX_OBUF:
			put(k, v);
			break;
		case PEND_NONE:
			/* A byte for a keyboard that is not there: no answer (Linux times out). */
			break;
		}
		k->pending = PEND_NONE;
	}
	pthread_mutex_unlock(&k->lock);
}

static int i8042_create(struct device *d, const char *opts)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	struct dev_region r = {
		.name = "i8042", .space = IO_PIO, .len = 1, .read = i8042_in, .write = i8042_out,
	};

	if (!k)
		return err_set("out of memory");
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS | STATUS_UNLOCKED;
	k->ctr = 0x30 | STATUS_SYS; /* kbd and aux disabled, system flag */
	k->outport = 0x01;          /* reset line not asserted */
	d->state = k;
	d->acpi_hid = "PNP0303";
	memcpy(d->acpi_name, "KBD_", 5);
	d->irq_want = DEV_IRQ_FIXED; /* described for the probe; no keyboard raises it */
	d->gsi = I8042_IRQ;
	d->irq_optional = true;
	r.base = I8042_DATA;
	if (!device_add_region(d, &r))
		return -1;
	r.base = I8042_CMD;
	return device_add_region(d, &r) ? 0 : -1;
}

static void i8042_destroy(struct device *d)
{
	struct i8042 *k = d->state;

	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
	d->state = NULL;
}

static struct device_class i8042_class = {
	.name = "i8042",
	.create = i8042_create,
	.destroy = i8042_destroy,
};
DEVICE_CLASS(i8042_class)
