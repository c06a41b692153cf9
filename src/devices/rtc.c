/* SPDX-License-Identifier: MIT */
/*
 * A minimal CMOS RTC (ports 0x70 index, 0x71 data): the host's UTC time in
 * BCD, 24-hour mode, never "update in progress", no alarms or interrupts.
 * The other CMOS bytes are plain storage.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/device.h"
#include "util/err.h"

#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_IRQ 8

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
};

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_read(struct rtc *r, uint8_t idx)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (idx) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd((tm.tm_year + 1900) / 100);
	case 0x0a: return 0x26; /* 32.768 kHz, 1024 Hz rate, UIP clear */
	case 0x0b: return 0x02; /* 24-hour, BCD, no interrupts */
	case 0x0c: return 0x00;
	case 0x0d: return 0x80; /* valid RAM and time */
	default: return r->cmos[idx & 0x7f];
	}
}

static void rtc_in(struct device *d, unsigned cpu, uint64_t port, uint8_t *data, unsigned size)
{
	struct rtc *r = d->state;

	pthread_mutex_lock(&r->lock);
	data[0] = port == RTC_INDEX ? r->index : rtc_read(r, r->index & 0x7f);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 1; i < size; i++)
		data[i] = 0;
}

static void rtc_out(struct device *d, unsigned cpu, uint64_t port, const uint8_t *data,
		    unsigned size)
{
	struct rtc *r = d->state;

	pthread_mutex_lock(&r->lock);
	if (port == RTC_INDEX)
		r->index = data[0] & 0x7f; /* bit 7 is NMI disable */
	else if (r->index > 0x0d)
		r->cmos[r->index] = data[0]; /* time registers are read-only here */
	pthread_mutex_unlock(&r->lock);
}

static int rtc_create(struct device *d, const char *opts)
{
	struct rtc *r = calloc(1, sizeof(*r));
	struct dev_region reg = {
		.name = "cmos-rtc", .space = IO_PIO, .base = RTC_INDEX, .len = 2,
		.read = rtc_in, .write = rtc_out,
	};

	if (!r)
		return err_set("out of memory");
	pthread_mutex_init(&r->lock, NULL);
	d->state = r;
	d->acpi_hid = "PNP0B00";
	memcpy(d->acpi_name, "RTC_", 5);
	d->irq_want = DEV_IRQ_FIXED; /* described, never raised: no alarms */
	d->gsi = RTC_IRQ;
	d->irq_optional = true;
	return device_add_region(d, &reg) ? 0 : -1;
}

static void rtc_destroy(struct device *d)
{
	struct rtc *r = d->state;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
	d->state = NULL;
}

static struct device_class rtc_class = {
	.name = "rtc",
	.create = rtc_create,
	.destroy = rtc_destroy,
};
DEVICE_CLASS(rtc_class)
