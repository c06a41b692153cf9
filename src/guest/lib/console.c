/* SPDX-License-Identifier: MIT */
#include "lib/console.h"

#include "lib/bulk.h"
#include "lib/format.h"
#include "lib/io.h"
#include "lib/smp.h"
#include "lib/string.h"

#define LINE_MAX 512

/* Each CPU's buffer sits behind a bulk header, ready for the bulk port. */
struct console_bulk {
	struct guest_bulk header;
	char data[OUT_BUF_SIZE];
};

struct console_line {
	struct guest_bulk header;
	char data[LINE_MAX];
};

static struct console_bulk out_mem[GUEST_MAX_CPUS] __attribute__((aligned(16)));
static struct outbuf outs[GUEST_MAX_CPUS];
static struct spinlock console_lock = SPINLOCK_INIT;

struct outbuf *out_cpu_buf(void)
{
	unsigned cpu = this_cpu();
	struct outbuf *o = &outs[cpu];

	o->buf = out_mem[cpu].data;
	return o;
}

void ob_flush(struct outbuf *o)
{
	bool took;

	if (!o->len)
		return;
	/* An exception while this CPU prints must still get its report out. */
	took = spin_lock_unless_mine(&console_lock);
	if (bulk_port)
		bulk_send(&out_mem[this_cpu()].header, GUEST_BULK_CONSOLE, o->len);
	else
		outsb(GUEST_PORT_COM1, o->buf, o->len);
	o->len = 0;
	if (took)
		spin_unlock(&console_lock);
}

void out_flush(void)
{
	ob_flush(out_cpu_buf());
}

void ob_bytes_slow(struct outbuf *o, const char *s, size_t n)
{
	ob_flush(o);
	if (n > OUT_BUF_SIZE)
		n = OUT_BUF_SIZE;
	memcpy(o->buf, s, n);
	o->len = (unsigned)n;
}

void ob_str(struct outbuf *o, const char *s)
{
	ob_bytes(o, s, strlen(s));
}

void ob_dec(struct outbuf *o, uint64_t v)
{
	char tmp[20];
	unsigned i = sizeof(tmp);

	if (v < 10) { /* most numbers printed are small: skip the division */
		tmp[0] = (char)('0' + v);
		ob_bytes(o, tmp, 1);
		return;
	}
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ob_bytes(o, tmp + i, sizeof(tmp) - i);
}

void ob_hex(struct outbuf *o, uint64_t v, unsigned digits)
{
	static const char hex[16] = "0123456789abcdef";
	char tmp[16];
	unsigned i = sizeof(tmp);

	if (digits > sizeof(tmp))
		digits = sizeof(tmp);
	if (digits == 8) { /* the feature words: unrolled, no loop test per digit */
		uint32_t x = (uint32_t)v;

		tmp[8] = hex[x >> 28];
		tmp[9] = hex[x >> 24 & 0xf];
		tmp[10] = hex[x >> 20 & 0xf];
		tmp[11] = hex[x >> 16 & 0xf];
		tmp[12] = hex[x >> 12 & 0xf];
		tmp[13] = hex[x >> 8 & 0xf];
		tmp[14] = hex[x >> 4 & 0xf];
		tmp[15] = hex[x & 0xf];
		if (!(v >> 32)) {
			ob_bytes(o, tmp + 8, 8);
			return;
		}
	}
	do {
		tmp[--i] = hex[v & 0xf];
		v >>= 4;
	} while (v || sizeof(tmp) - i < digits);
	ob_bytes(o, tmp + i, sizeof(tmp) - i);
}

void out_printf(const char *fmt, ...)
{
	char line[LINE_MAX];
	struct strbuf sb;
	va_list ap;

	sb_init(&sb, line, sizeof(line));
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	ob_bytes(out_cpu_buf(), line, sb.len);
}

void out_now(const char *fmt, ...)
{
	struct console_line line;
	struct strbuf sb;
	va_list ap;
	bool took;

	sb_init(&sb, line.data, sizeof(line.data));
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	took = spin_lock_unless_mine(&console_lock);
	if (bulk_port)
		bulk_send(&line.header, GUEST_BULK_CONSOLE, (uint32_t)sb.len);
	else
		outsb(GUEST_PORT_COM1, line.data, sb.len);
	if (took)
		spin_unlock(&console_lock);
}
