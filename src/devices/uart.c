/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART on COM1 (ports 0x3f8-0x3ff, ISA IRQ 4).
 *
 * Output goes to the console immediately (the transmitter is always empty),
 * buffered per exit so a `rep outsb` line is one write(2).  Input from stdin
 * fills a 16-byte receive FIFO (more is kept in a larger buffer and fed in as
 * the guest reads).  Enough of the register set for Linux's 8250 driver:
 * scratch register, DLAB divisor latch, FIFO control (IIR reports FIFOs
 * enabled), loopback (MCR bit 4 reflects outputs into MSR and THR into RBR),
 * and a level interrupt when IER enables a pending condition.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "exitcodes.h"
#include "guest/lib/ports.h"
#include "util/err.h"
#include "vmm/console.h"

#define UART_IRQ 4

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define RX_BUF 4096
#define TX_BUF 4096

struct uart {
	struct device *dev;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending; /* THR-empty interrupt not yet acknowledged by an IIR read */
	bool irq_level;
	uint8_t rx[RX_BUF];
	unsigned rx_head, rx_len;
	uint8_t tx[TX_BUF];
	unsigned tx_len;
};

static void tx_flush(struct uart *u)
{
	if (!u->tx_len)
		return;
	if (!console_write(u->dev->host->console, u->tx, u->tx_len))
		dev_stop(u->dev, EXIT_GUEST_OUTPUT,
			 "the guest wrote more than %llu bytes to the console (--max-output); "
			 "stopped it",
			 (unsigned long long)u->dev->host->console->max);
	u->tx_len = 0;
}

static uint8_t iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0;

	if ((u->ier & IER_RDI) && u->rx_len)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static void update_irq(struct uart *u)
{
	bool level = !(iir(u) & IIR_NO_INT);

	/* OUT2 gates the interrupt on PC serial ports. */
	if (!(u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP))
		level = false;
	if (level != u->irq_level) {
		u->irq_level = level;
		dev_set_irq(u->dev, level);
	}
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_len < RX_BUF) {
		u->rx[(u->rx_head + u->rx_len) % RX_BUF] = c;
		u->rx_len++;
	}
}

static uint8_t msr(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
				 ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
				 ((u->mcr & MCR_OUT1) ? MSR_RI : 0) |
				 ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static void uart_in(struct device *d, unsigned cpu, uint64_t port, uint8_t *data, unsigned size)
{
	struct uart *u = d->state;
	uint8_t v = 0;

	pthread_mutex_lock(&u->lock);
	switch (port - GUEST_PORT_COM1) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
		} else if (u->rx_len) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % RX_BUF;
			u->rx_len--;
		}
		break;
	case IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case IIR_FCR:
		v = iir(u);
		if ((v & 0x0f) == IIR_THRI)
			u->thri_pending = false; /* reading IIR acknowledges THRE */
		break;
	case LCR:
		v = u->lcr;
		break;
	case MCR:
		v = u->mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
		break;
	case MSR:
		v = msr(u);
		break;
	case SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	memset(data, 0, size);
	data[0] = v;
}

static void uart_out(struct device *d, unsigned cpu, uint64_t port, const uint8_t *data,
		     unsigned size)
{
	struct uart *u = d->state;
	uint8_t v = data[0];

	pthread_mutex_lock(&u->lock);
	switch (port - GUEST_PORT_COM1) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
		} else if (u->mcr & MCR_LOOP) {
			rx_push(u, v);
		} else {
			if (u->tx_len == TX_BUF)
				tx_flush(u);
			u->tx[u->tx_len++] = v;
			u->thri_pending = true;
		}
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises the interrupt at once. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thri_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RCVR)
			u->rx_len = 0;
		break;
	case LCR:
		u->lcr = v;
		break;
	case MCR:
		u->mcr = v & 0x1f;
		break;
	case SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_end(struct device *d, unsigned cpu)
{
	struct uart *u = d->state;

	pthread_mutex_lock(&u->lock);
	tx_flush(u);
	pthread_mutex_unlock(&u->lock);
}

/* Bytes typed on the console (the event loop's stdin reader). */
static void uart_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < len; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static int uart_create(struct device *d, const char *opts)
{
	struct uart *u = calloc(1, sizeof(*u));
	struct dev_region r = {
		.name = "uart-com1", .space = IO_PIO, .base = GUEST_PORT_COM1, .len = 8,
		.read = uart_in, .write = uart_out, .end = uart_end,
	};

	if (!u)
		return err_set("out of memory");
	u->dev = d;
	pthread_mutex_init(&u->lock, NULL);
	u->mcr = MCR_OUT2;
	d->state = u;
	d->acpi_hid = "PNP0501";
	memcpy(d->acpi_name, "COM1", 5);
	d->irq_want = DEV_IRQ_FIXED;
	d->gsi = UART_IRQ;
	d->irq_optional = true; /* the embedded guests poll LSR */
	return device_add_region(d, &r) ? 0 : -1;
}

/* The UART takes console input unless another device (virtio-console) has. */
static int uart_realize(struct device *d)
{
	console_set_input(d->host->console, uart_input, d->state, false);
	return 0;
}

static void uart_unrealize(struct device *d)
{
	struct uart *u = d->state;

	pthread_mutex_lock(&u->lock);
	tx_flush(u);
	pthread_mutex_unlock(&u->lock);
	console_clear_input(d->host->console, u);
}

/*
 * Snapshot state: the registers, the pending THR-empty interrupt and the
 * unread input, in order.  Output still buffered is written out first (it
 * was the guest's before the save).
 */
#define UART_SAVE_VERSION 1

struct uart_saved {
	uint8_t version, ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thri_pending, pad[3];
	uint32_t rx_len;
};

static int uart_save(struct device *d, void *buf, size_t size, size_t *len)
{
	struct uart *u = d->state;
	struct uart_saved s;
	uint8_t *out = buf;

	pthread_mutex_lock(&u->lock);
	tx_flush(u);
	s = (struct uart_saved){ UART_SAVE_VERSION, u->ier, u->lcr, u->mcr, u->scr, u->fcr,
				 u->dll, u->dlm, u->thri_pending, { 0 }, u->rx_len };
	if (size < sizeof(s) + u->rx_len) {
		pthread_mutex_unlock(&u->lock);
		return err_set("%s: %zu bytes are too few to save it", d->id, size);
	}
	memcpy(out, &s, sizeof(s));
	for (unsigned i = 0; i < u->rx_len; i++)
		out[sizeof(s) + i] = u->rx[(u->rx_head + i) % RX_BUF];
	*len = sizeof(s) + u->rx_len;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int uart_load(struct device *d, const void *buf, size_t len)
{
	struct uart *u = d->state;
	struct uart_saved s;

	if (len < sizeof(s))
		return err_set("%s: saved state has %zu bytes, too few", d->id, len);
	memcpy(&s, buf, sizeof(s));
	if (s.version != UART_SAVE_VERSION)
		return err_set("%s: saved state version %u, this skyvm reads %u", d->id, s.version,
			       UART_SAVE_VERSION);
	if (s.rx_len > RX_BUF || len != sizeof(s) + s.rx_len)
		return err_set("%s: saved state is malformed", d->id);
	pthread_mutex_lock(&u->lock);
	u->ier = s.ier;
	u->lcr = s.lcr;
	u->mcr = s.mcr;
	u->scr = s.scr;
	u->fcr = s.fcr;
	u->dll = s.dll;
	u->dlm = s.dlm;
	u->thri_pending = s.thri_pending != 0;
	u->rx_head = 0;
	u->rx_len = s.rx_len;
	memcpy(u->rx, (const uint8_t *)buf + sizeof(s), s.rx_len);
	u->tx_len = 0;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static void uart_destroy(struct device *d)
{
	struct uart *u = d->state;

	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
	d->state = NULL;
}

static struct device_class uart_class = {
	.name = "uart",
	.create = uart_create,
	.destroy = uart_destroy,
	.ops = { .realize = uart_realize, .unrealize = uart_unrealize, .save = uart_save,
		 .load = uart_load },
};
DEVICE_CLASS(uart_class)
