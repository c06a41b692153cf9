/* SPDX-License-Identifier: MIT */
/* The snapshot state file (snapshot/format.h). */
#include "snapshot/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/file.h"

#define HEADER_LEN 32

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static int ready;
	const uint8_t *p = data;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void snap_init(struct snap_file *f)
{
	memset(f, 0, sizeof(*f));
	f->version = SNAP_VERSION;
}

void snap_free(struct snap_file *f)
{
	for (unsigned i = 0; i < f->n; i++)
		free(f->s[i].data);
	free(f->s);
	memset(f, 0, sizeof(*f));
}

int snap_add(struct snap_file *f, const char *name, const void *data, size_t len)
{
	struct snap_section *s;

	if (!*name || strlen(name) > SNAP_NAME_MAX)
		return err_set("snapshot section name '%s': 1 to %d bytes", name, SNAP_NAME_MAX);
	if (snap_get(f, name))
		return err_set("snapshot section '%s' twice", name);
	if (f->n == SNAP_MAX_SECTIONS)
		return err_set("more than %d snapshot sections", SNAP_MAX_SECTIONS);
	if (f->n == f->cap) {
		unsigned cap = f->cap ? f->cap * 2 : 32;
		struct snap_section *n = realloc(f->s, cap * sizeof(*n));

		if (!n)
			return err_set("out of memory");
		f->s = n;
		f->cap = cap;
	}
	s = &f->s[f->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->data = malloc(len ? len : 1);
	if (!s->data)
		return err_set("out of memory");
	if (len)
		memcpy(s->data, data, len);
	s->len = len;
	f->n++;
	return 0;
}

const struct snap_section *snap_get(const struct snap_file *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (!strcmp(f->s[i].name, name))
			return &f->s[i];
	return NULL;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t section_crc(const char *name, size_t nlen, const uint8_t *data, uint64_t len)
{
	return snap_crc32(snap_crc32(0, name, nlen), data, (size_t)len);
}

int snap_encode(const struct snap_file *f, uint8_t **out, size_t *outlen)
{
	uint64_t total = HEADER_LEN;
	uint8_t *buf, *p;

	for (unsigned i = 0; i < f->n; i++)
		total += 2 + strlen(f->s[i].name) + 8 + 4 + f->s[i].len;
	if (total > SNAP_MAX_FILE)
		return err_set("snapshot state of %llu bytes is over the %llu-byte limit",
			       (unsigned long long)total, SNAP_MAX_FILE);
	buf = malloc((size_t)total);
	if (!buf)
		return err_set("out of memory");
	memcpy(buf, SNAP_MAGIC, 8);
	put32(buf + 8, f->version);
	put32(buf + 12, f->n);
	put64(buf + 16, total);
	put32(buf + 24, 0);
	put32(buf + 28, snap_crc32(0, buf, 28));
	p = buf + HEADER_LEN;
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *s = &f->s[i];
		size_t nlen = strlen(s->name);

		put16(p, (uint16_t)nlen);
		memcpy(p + 2, s->name, nlen);
		put64(p + 2 + nlen, s->len);
		put32(p + 10 + nlen, section_crc(s->name, nlen, s->data, s->len));
		memcpy(p + 14 + nlen, s->data, (size_t)s->len);
		p += 14 + nlen + s->len;
	}
	*out = buf;
	*outlen = (size_t)total;
	return 0;
}

int snap_decode(const uint8_t *buf, size_t len, const char *what, struct snap_file *f)
{
	uint64_t off = HEADER_LEN, total;
	uint32_t n;

	snap_init(f);
	if (len < HEADER_LEN || memcmp(buf, SNAP_MAGIC, 8))
		return err_set("%s: not a skyvm snapshot state file", what);
	if (get32(buf + 28) != snap_crc32(0, buf, 28))
		return err_set("%s: the header is corrupt (checksum mismatch)", what);
	f->version = get32(buf + 8);
	if (f->version > SNAP_VERSION)
		return err_set("%s: snapshot format version %u is newer than this skyvm reads "
			       "(%u); use a newer skyvm", what, f->version, SNAP_VERSION);
	if (f->version == 0)
		return err_set("%s: snapshot format version 0 is not valid", what);
	n = get32(buf + 12);
	total = get64(buf + 16);
	if (total != len)
		return err_set("%s: the file has %zu bytes, its header says %llu (truncated?)", what,
			       len, (unsigned long long)total);
	if (n > SNAP_MAX_SECTIONS)
		return err_set("%s: %u sections, at most %d", what, n, SNAP_MAX_SECTIONS);
	for (uint32_t i = 0; i < n; i++) {
		char name[SNAP_NAME_MAX + 1];
		uint64_t nlen, plen;
		const uint8_t *p = buf + off;

		if (off + 2 > len)
			goto trunc;
		nlen = get16(p);
		if (nlen == 0 || nlen > SNAP_NAME_MAX)
			return err_set("%s: section %u has a bad name length %llu (corrupt)", what, i,
				       (unsigned long long)nlen);
		if (off + 14 + nlen > len)
			goto trunc;
		memcpy(name, p + 2, (size_t)nlen);
		name[nlen] = '\0';
		for (uint64_t k = 0; k < nlen; k++)
			if (name[k] < 0x21 || name[k] > 0x7e)
				return err_set("%s: section %u has a bad name (corrupt)", what, i);
		plen = get64(p + 2 + nlen);
		if (plen > len || off + 14 + nlen + plen > len)
			return err_set("%s: section '%s' is longer than the file (corrupt or "
				       "truncated)", what, name);
		if (get32(p + 10 + nlen) != section_crc(name, (size_t)nlen, p + 14 + nlen, plen))
			return err_set("%s: section '%s' is corrupt (checksum mismatch)", what, name);
		if (snap_add(f, name, p + 14 + nlen, (size_t)plen) < 0)
			return err_wrap("%s", what);
		off += 14 + nlen + plen;
	}
	if (off != len)
		return err_set("%s: %llu bytes after the last section (corrupt)", what,
			       (unsigned long long)(len - off));
	return 0;
trunc:
	return err_set("%s: truncated after %u sections", what, f->n);
}

/* Write path.tmp, fsync, rename: a crash leaves the old file or the new one. */
static int write_atomic(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[4096];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set("%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno("%s", tmp);
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_errno("%s: write", tmp);
			close(fd);
			unlink(tmp);
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		err_errno("%s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		err_errno("%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int snap_write_file(const struct snap_file *f, const char *path)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (snap_encode(f, &buf, &len) < 0)
		return -1;
	r = write_atomic(path, buf, len);
	free(buf);
	return r;
}

int snap_read_file(const char *path, struct snap_file *f)
{
	uint8_t *buf;
	size_t len;
	int r;

	snap_init(f);
	if (file_read_all(path, "snapshot state", SNAP_MAX_FILE, &buf, &len) < 0)
		return -1;
	r = snap_decode(buf, len, path, f);
	free(buf);
	if (r < 0)
		snap_free(f);
	return r;
}
