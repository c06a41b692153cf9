/* SPDX-License-Identifier: MIT */
#include "probe/records.h"

#include "lib/bulk.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/ports.h"
#include "lib/smp.h"

#define REC_BUF_WORDS 1024
#define DUMP_WORDS_PER_LINE 8

/* Each CPU's words sit behind a bulk header, ready for the bulk port. */
struct rec_bulk {
	struct guest_bulk header;
	uint32_t words[REC_BUF_WORDS];
};

static struct rec_bulk rec_mem[GUEST_MAX_CPUS] __attribute__((aligned(16)));
static unsigned rec_len[GUEST_MAX_CPUS];
static unsigned rec_records[GUEST_MAX_CPUS];
static bool dump;

void rec_set_dump(bool on)
{
	dump = on;
}

unsigned rec_count(unsigned cpu)
{
	return rec_records[cpu];
}

void rec_flush(unsigned cpu)
{
	const uint32_t *w = rec_mem[cpu].words;
	unsigned n = rec_len[cpu];

	if (!n)
		return;
	if (dump) {
		for (unsigned i = 0; i < n; i += DUMP_WORDS_PER_LINE) {
			char line[DUMP_WORDS_PER_LINE * 9 + 1];
			unsigned k = 0;

			for (unsigned j = i; j < n && j < i + DUMP_WORDS_PER_LINE; j++) {
				for (int s = 28; s >= 0; s -= 4)
					line[k++] = "0123456789abcdef"[(w[j] >> s) & 0xf];
				line[k++] = ' ';
			}
			line[k - 1] = 0;
			out_printf("cpu %u: data %s\n", cpu, line);
		}
	}
	if (bulk_port)
		bulk_send(&rec_mem[cpu].header, GUEST_BULK_PROBE, n * 4);
	else
		outsl(GUEST_PORT_PROBE_DATA, w, n);
	rec_len[cpu] = 0;
}

void rec_emit(unsigned cpu, unsigned type, const uint32_t *payload, unsigned len)
{
	uint32_t *w;

	if (rec_len[cpu] + 1 + len > REC_BUF_WORDS)
		rec_flush(cpu);
	w = rec_mem[cpu].words + rec_len[cpu];
	w[0] = PROBE_HEADER(type, len);
	for (unsigned i = 0; i < len; i++)
		w[1 + i] = payload[i];
	rec_len[cpu] += 1 + len;
	rec_records[cpu]++;
}
