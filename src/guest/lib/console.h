/* SPDX-License-Identifier: MIT */
/*
 * Console output.  Each CPU collects its lines in a buffer of its own and
 * out_flush() hands the buffer over under the console lock, so blocks of
 * different CPUs never interleave: through the bulk port in one exit when
 * the VMM has it (lib/bulk.h), else to COM1 with one `rep outsb` (no LSR
 * polling: virtual UARTs take bytes as fast as they come).
 *
 * Two ways to fill the buffer: out_printf() for convenience, and the ob_*
 * builders for hot paths.  On a KVM that interprets CPL0 code every
 * instruction costs ~250 ns, and printf spends several per character of the
 * format; a literal through ob_lit() is one `rep movsb`.
 */
#ifndef SKYVM_GUEST_LIB_CONSOLE_H
#define SKYVM_GUEST_LIB_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct outbuf {
	char *buf;
	unsigned len;
};

#define OUT_BUF_SIZE 2048

/* This CPU's buffer. */
struct outbuf *out_cpu_buf(void);
/* Write the buffer to COM1 and empty it. */
void ob_flush(struct outbuf *o);
void ob_bytes_slow(struct outbuf *o, const char *s, size_t n);

/* Inline because it is the hot path: a bounds check and one `rep movsb`. */
static inline void ob_bytes(struct outbuf *o, const char *s, size_t n)
{
	char *d = o->buf + o->len;

	if (__builtin_expect(o->len + n > OUT_BUF_SIZE, 0)) {
		ob_bytes_slow(o, s, n);
		return;
	}
	o->len += (unsigned)n;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

#define ob_lit(o, s) ob_bytes((o), (s), sizeof(s) - 1)
void ob_str(struct outbuf *o, const char *s);
void ob_dec(struct outbuf *o, uint64_t v);
/* `digits` hex digits, zero-padded (0: as many as needed). */
void ob_hex(struct outbuf *o, uint64_t v, unsigned digits);

/* Append to this CPU's buffer (flushing first when it would not fit). */
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write this CPU's buffer to COM1 and empty it. */
void out_flush(void);
/* Format and write at once, for exception reports and other last words. */
void out_now(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
