/* SPDX-License-Identifier: MIT */
#include "lib/console.h"

#include "lib/format.h"
#include "lib/io.h"
#include "lib/smp.h"

/*
 * 2 KiB per CPU, aligned to its size so a buffer never crosses a page: KVM
 * splits a string I/O instruction at a page boundary of its source.
 */
#define OUT_BUF_SIZE 2048
#define LINE_MAX 512

static char out_buf[GUEST_MAX_CPUS][OUT_BUF_SIZE] __attribute__((aligned(OUT_BUF_SIZE)));
static unsigned out_len[GUEST_MAX_CPUS];
static struct spinlock console_lock = SPINLOCK_INIT;

void out_flush(void)
{
	unsigned cpu = this_cpu();
	bool took;

	if (!out_len[cpu])
		return;
	/* An exception while this CPU prints must still get its report out. */
	took = spin_lock_unless_mine(&console_lock);
	outsb(GUEST_PORT_COM1, out_buf[cpu], out_len[cpu]);
	out_len[cpu] = 0;
	if (took)
		spin_unlock(&console_lock);
}

void out_printf(const char *fmt, ...)
{
	char line[LINE_MAX];
	struct strbuf sb;
	unsigned cpu = this_cpu();
	va_list ap;

	sb_init(&sb, line, sizeof(line));
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (out_len[cpu] + sb.len > OUT_BUF_SIZE)
		out_flush();
	for (size_t i = 0; i < sb.len; i++)
		out_buf[cpu][out_len[cpu]++] = line[i];
}

void out_now(const char *fmt, ...)
{
	char line[LINE_MAX];
	struct strbuf sb;
	va_list ap;
	bool took;

	sb_init(&sb, line, sizeof(line));
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	took = spin_lock_unless_mine(&console_lock);
	outsb(GUEST_PORT_COM1, line, sb.len);
	if (took)
		spin_unlock(&console_lock);
}
