/*
 * journal.c - journal.h on a POSIX file: header "MEESHYJ1", the layout's
 * length (u16) and the layout; then records, each: its length (u32, what
 * follows up to and with the checksum), kind (u8), body length (u32) and
 * body, two strings each as a length (u32, UINT32_MAX: none) and bytes,
 * and an FNV-1a checksum (u32) of everything after the record's length.
 * Numbers in the host's order: a journal is read back where it was
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "port.h"
#include "journal.h"

static const char MAGIC[8] = {'M', 'E', 'E', 'S', 'H', 'Y', 'J', '1'};
enum { NO_STRING = 0xffffffffu, JOURNAL_READ_MAX = 1024 * 1024 * 1024 };

struct journal {
	int fd, new_fd; /* new_fd: the rewrite under way, or -1 */
	char *path, *new_path, *layout;
	size_t header, bytes, new_bytes;
	bool dirty;
};

static void journal_destructor(void *arg)
{
	struct journal *j = arg;
	if (j->fd >= 0)
		(void)close(j->fd);
	if (j->new_fd >= 0) {
		(void)close(j->new_fd);
		(void)unlink(j->new_path);
	}
	mem_deref(j->path);
	mem_deref(j->new_path);
	mem_deref(j->layout);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The folder's entry of a file made or renamed, made durable. */
static void sync_dir(const char *path)
{
	char dir[512];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		str_ncpy(dir, ".", sizeof(dir));
	else
		str_ncpy(dir, path,
			 (size_t)(slash - path) + 1 < sizeof(dir)
				 ? (size_t)(slash - path) + 1
				 : sizeof(dir));
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		(void)close(fd);
	}
}

/* One process a journal: a second one on the same file (two servers
 * given the same folder and node id) is refused, EBUSY. */
static int lock(int fd)
{
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	return errno == EWOULDBLOCK ? EBUSY : errno;
}

/* A new file at path holding the header alone, synced and locked; *fdp
 * its fd. */
static int file_begin(const struct journal *j, const char *path, int *fdp)
{
	uint16_t len = (uint16_t)strlen(j->layout);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int err;

	if (fd < 0)
		return errno;
	err = lock(fd);
	if (!err && ftruncate(fd, 0))
		err = errno;
	if (!err)
		err = write_all(fd, (const uint8_t *)MAGIC, sizeof(MAGIC));
	if (!err)
		err = write_all(fd, (const uint8_t *)&len, sizeof(len));
	if (!err)
		err = write_all(fd, (const uint8_t *)j->layout, len);
	if (!err && fsync(fd))
		err = errno;
	if (err) {
		(void)close(fd);
		return err;
	}
	sync_dir(path);
	*fdp = fd;
	return 0;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A string field at *p (within end): *s NULL for none, else a copy. */
static int take_string(const uint8_t **p, const uint8_t *end, char **s)
{
	uint32_t n;
	*s = NULL;
	if (end - *p < 4)
		return EBADMSG;
	n = get_u32(*p);
	*p += 4;
	if (n == NO_STRING)
		return 0;
	if ((size_t)(end - *p) < n)
		return EBADMSG;
	*s = mem_alloc(n + 1, NULL);
	if (!*s)
		return ENOMEM;
	memcpy(*s, *p, n);
	(*s)[n] = '\0';
	*p += n;
	return 0;
}

/* One record of rec (its length field read already) to h. */
static int record_read(const uint8_t *rec, size_t len, journal_rec_h *h,
		       void *arg)
{
	const uint8_t *p = rec, *end = rec + len - 4;
	char *text = NULL, *text2 = NULL;
	const uint8_t *body;
	uint32_t blen;
	uint8_t kind;
	int err;

	if (len < 4 + 1 + 4 + 8 || fnv1a(rec, len - 4) != get_u32(end))
		return EBADMSG;
	kind = *p++;
	blen = get_u32(p);
	p += 4;
	if ((size_t)(end - p) < blen)
		return EBADMSG;
	body = p;
	p += blen;
	err = take_string(&p, end, &text);
	if (!err)
		err = take_string(&p, end, &text2);
	if (!err && p != end)
		err = EBADMSG;
	if (!err && h(kind, body, blen, text, text2, arg))
		err = ECANCELED;
	mem_deref(text);
	mem_deref(text2);
	return err;
}

/* The records of buf after the header to h; *good: where the last whole
 * one ends. An error other than damage stops it with nothing cut. */
static int records_read(const uint8_t *buf, size_t size, size_t header,
			journal_rec_h *h, void *arg, size_t *n, size_t *good)
{
	size_t at = header;
	*good = header;
	while (size - at >= 4) {
		uint32_t len = get_u32(buf + at);
		int err = size - at - 4 < len
				  ? EBADMSG
				  : record_read(buf + at + 4, len, h, arg);
		if (err && err != EBADMSG)
			return err; /* h stopped it, or no memory */
		if (err) /* cut short or damaged: what came before stays */
			break;
		at += 4 + len;
		*good = at;
		(*n)++;
	}
	return 0;
}

/* The file at path read whole (ENOENT when there is none). */
static int file_read(const char *path, uint8_t **bufp, size_t *sizep)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t got = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) || st.st_size > JOURNAL_READ_MAX) {
		(void)close(fd);
		return EFBIG;
	}
	*bufp = mem_alloc((size_t)st.st_size + 1, NULL);
	while (*bufp && got < (size_t)st.st_size) {
		ssize_t r = read(fd, *bufp + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		got += (size_t)r;
	}
	(void)close(fd);
	if (!*bufp)
		return ENOMEM;
	*sizep = got;
	return err;
}

/* The existing file's records to h, and the file kept for appends after
 * the last whole one; EPROTO: another layout (or not a journal). */
static int journal_load(struct journal *j, journal_rec_h *h, void *arg,
			size_t *n)
{
	uint8_t *buf = NULL;
	size_t size = 0, good = 0;
	uint16_t llen;
	int err;

	j->fd = open(j->path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0)
		return errno; /* ENOENT: none yet */
	err = lock(j->fd);
	if (!err)
		err = file_read(j->path, &buf, &size);
	if (!err && !size) { /* made, then a crash before its header */
		(void)close(j->fd);
		j->fd = -1;
		err = ENOENT;
	}
	if (err) {
		mem_deref(buf);
		return err;
	}
	llen = (uint16_t)strlen(j->layout);
	if (size < j->header || memcmp(buf, MAGIC, sizeof(MAGIC)) ||
	    memcmp(buf + sizeof(MAGIC), &llen, sizeof(llen)) ||
	    memcmp(buf + sizeof(MAGIC) + sizeof(llen), j->layout, llen)) {
		mem_deref(buf);
		return EPROTO;
	}
	err = records_read(buf, size, j->header, h, arg, n, &good);
	mem_deref(buf);
	if (err)
		return err;
	if (good < size && ftruncate(j->fd, (off_t)good))
		return errno;
	if (lseek(j->fd, (off_t)good, SEEK_SET) < 0)
		return errno;
	j->bytes = good - j->header;
	return 0;
}

/* The file of another layout, moved aside with its time in its name. */
static int set_aside(const struct journal *j)
{
	char aside[600];
	(void)re_snprintf(aside, sizeof(aside), "%s.refused-%llu", j->path,
			  (unsigned long long)port_wallclock_ms());
	return rename(j->path, aside) ? errno : 0;
}

int journal_open(struct journal **jp, const char *path, const char *layout,
		 journal_rec_h *h, void *arg, size_t *n, int *refused)
{
	struct journal *j;
	int err;

	if (!jp || !path || !layout || !h || !n || strlen(layout) > 1024)
		return EINVAL;
	*n = 0;
	if (refused)
		*refused = 0;
	j = mem_zalloc(sizeof(*j), journal_destructor);
	if (!j)
		return ENOMEM;
	j->fd = j->new_fd = -1;
	err = str_dup(&j->path, path);
	err |= str_dup(&j->layout, layout);
	err |= re_sdprintf(&j->new_path, "%s.new", path);
	j->header = sizeof(MAGIC) + sizeof(uint16_t) + strlen(layout);
	if (!err)
		err = journal_load(j, h, arg, n);
	if (err == EPROTO && refused) {
		*refused = 1;
		/* its lock goes with it: the file is moved */
		(void)close(j->fd);
		j->fd = -1;
		err = set_aside(j);
		err = err ? err : ENOENT;
	}
	if (err == ENOENT) /* none yet: a new one */
		err = file_begin(j, j->path, &j->fd);
	if (err)
		mem_deref(j);
	else
		*jp = j;
	return err;
}

static int put_string(struct mbuf *mb, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint32_t len = s ? (uint32_t)n : NO_STRING;
	int err = mbuf_write_mem(mb, (const uint8_t *)&len, sizeof(len));
	if (!err && s)
		err = mbuf_write_mem(mb, (const uint8_t *)s, n);
	return err;
}

int journal_append(struct journal *j, uint8_t kind, const void *body,
		   size_t len, const char *text, const char *text2)
{
	struct mbuf *mb;
	uint32_t blen = (uint32_t)len, total, sum;
	int err;

	if (!j || (!body && len) || len > UINT32_MAX / 2)
		return EINVAL;
	mb = mbuf_alloc(len + 64);
	if (!mb)
		return ENOMEM;
	mb->pos = mb->end = 4; /* the length, once known */
	err = mbuf_write_u8(mb, kind);
	err |= mbuf_write_mem(mb, (const uint8_t *)&blen, sizeof(blen));
	err |= mbuf_write_mem(mb, body, len);
	err |= put_string(mb, text);
	err |= put_string(mb, text2);
	sum = fnv1a(mb->buf + 4, mb->end - 4);
	err |= mbuf_write_mem(mb, (const uint8_t *)&sum, sizeof(sum));
	total = (uint32_t)(mb->end - 4);
	memcpy(mb->buf, &total, sizeof(total));
	if (!err)
		err = write_all(j->new_fd >= 0 ? j->new_fd : j->fd, mb->buf,
				mb->end);
	if (!err) {
		*(j->new_fd >= 0 ? &j->new_bytes : &j->bytes) += mb->end;
		j->dirty = true;
	}
	mem_deref(mb);
	return err;
}

int journal_sync(struct journal *j)
{
	if (!j || !j->dirty)
		return 0;
	if (fsync(j->new_fd >= 0 ? j->new_fd : j->fd))
		return errno;
	j->dirty = false;
	return 0;
}

int journal_reset(struct journal *j)
{
	if (!j)
		return EINVAL;
	if (!j->bytes)
		return 0;
	if (ftruncate(j->fd, (off_t)j->header) ||
	    lseek(j->fd, (off_t)j->header, SEEK_SET) < 0 || fsync(j->fd))
		return errno;
	j->bytes = 0;
	j->dirty = false;
	return 0;
}

int journal_restart(struct journal *j)
{
	if (!j || j->new_fd >= 0)
		return EINVAL;
	j->new_bytes = 0;
	return file_begin(j, j->new_path, &j->new_fd);
}

int journal_commit(struct journal *j)
{
	if (!j || j->new_fd < 0)
		return EINVAL;
	/* new_fd is locked (file_begin): the path is never unlocked */
	if (fsync(j->new_fd) || rename(j->new_path, j->path)) {
		int err = errno;
		/* the rewrite is dropped: appends go on in the old file */
		(void)close(j->new_fd);
		(void)unlink(j->new_path);
		j->new_fd = -1;
		return err;
	}
	sync_dir(j->path);
	(void)close(j->fd);
	j->fd = j->new_fd;
	j->new_fd = -1;
	j->bytes = j->new_bytes;
	j->dirty = false;
	return 0;
}

size_t journal_bytes(const struct journal *j)
{
	return j ? j->bytes : 0;
}

const char *journal_path(const struct journal *j)
{
	return j ? j->path : NULL;
}
