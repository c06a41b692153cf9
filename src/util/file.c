/* SPDX-License-Identifier: MIT */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

int file_read_all(const char *path, const char *what, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno("%s %s", what, path);
	if (fstat(fd, &st) < 0) {
		err_errno("%s %s: stat", what, path);
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("%s %s: not a regular file", what, path);
		goto err_close;
	}
	if ((uint64_t)st.st_size > max) {
		err_set("%s %s: %lld bytes is larger than the %zu allowed", what, path,
			(long long)st.st_size, max);
		goto err_close;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		err_set("%s %s: out of memory", what, path);
		goto err_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_errno("%s %s: read", what, path);
			free(p);
			goto err_close;
		}
		got += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = got;
	return 0;

err_close:
	close(fd);
	return -1;
}
