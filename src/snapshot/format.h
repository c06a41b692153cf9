/* SPDX-License-Identifier: MIT */
/*
 * The snapshot state file (docs/snapshot.md): named sections, each with its
 * own CRC-32, so a corrupt file is refused naming the section that is bad.
 *
 *   header   "SKYVMSNP", u32 version, u32 sections, u64 file length,
 *            u32 reserved (0), u32 CRC-32 of the 28 bytes before it
 *   section  u16 name length (1..63), name, u64 payload length,
 *            u32 CRC-32 of name and payload, payload
 *
 * All little endian.  A file of a newer version is refused before anything
 * else of it is believed.  Lengths are checked in 64 bits against the file.
 */
#ifndef SKYVM_SNAPSHOT_FORMAT_H
#define SKYVM_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "SKYVMSNP"
#define SNAP_VERSION 1
#define SNAP_NAME_MAX 63
#define SNAP_MAX_SECTIONS 4096
#define SNAP_MAX_FILE (256ULL << 20)

struct snap_section {
	char name[SNAP_NAME_MAX + 1];
	uint8_t *data;
	uint64_t len;
};

struct snap_file {
	uint32_t version;
	struct snap_section *s;
	unsigned n, cap;
};

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len);

void snap_init(struct snap_file *f);
void snap_free(struct snap_file *f);
/* Append a copy of data as section `name`; 0 or -1 (err_set). */
int snap_add(struct snap_file *f, const char *name, const void *data, size_t len);
const struct snap_section *snap_get(const struct snap_file *f, const char *name);
/* Serialise into a malloc'ed buffer. */
int snap_encode(const struct snap_file *f, uint8_t **out, size_t *len);
/* Parse and verify a buffer; `what` names it in errors ("DIR/state.skyvm"). */
int snap_decode(const uint8_t *buf, size_t len, const char *what, struct snap_file *f);
int snap_write_file(const struct snap_file *f, const char *path);
int snap_read_file(const char *path, struct snap_file *f);

#endif
