// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One relay direction: splice through a pipe, or copy through a bounded
 * buffer, or filter (http mode). */
#include "proxy_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool take_pipe(struct px_dir *d, struct px_pipe_pool *pool)
{
	int p[2];

	if (pool->n > 0) {
		pool->n--;
		d->pipe_rd = pool->rd[pool->n];
		d->pipe_wr = pool->wr[pool->n];
		d->pipe_cap = pool->cap[pool->n];
		return true;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return false;
	int sz = fcntl(p[0], F_GETPIPE_SZ);
	d->pipe_rd = p[0];
	d->pipe_wr = p[1];
	d->pipe_cap = sz > 0 ? (size_t)sz : 65536;
	return true;
}

int px_dir_init(struct px_dir *d, int from, int to, struct px_pipe_pool *pool,
		size_t copy_cap)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->pipe_rd = d->pipe_wr = -1;
	if (pool && take_pipe(d, pool))
		return 0;
	d->buf = malloc(copy_cap);
	d->cap = copy_cap;
	return d->buf ? 0 : -ENOMEM;
}

void px_pipe_pool_drain(struct px_pipe_pool *pool)
{
	while (pool->n > 0) {
		pool->n--;
		close(pool->rd[pool->n]);
		close(pool->wr[pool->n]);
	}
}

static void close_pipe(struct px_dir *d)
{
	if (d->pipe_rd >= 0)
		close(d->pipe_rd);
	if (d->pipe_wr >= 0)
		close(d->pipe_wr);
	d->pipe_rd = d->pipe_wr = -1;
}

int px_dir_set_filter(struct px_dir *d, px_filter_fn fn, void *ctx, size_t in_cap,
		      size_t out_cap)
{
	close_pipe(d);
	free(d->buf);
	d->buf = malloc(out_cap);
	d->cap = out_cap;
	d->raw = malloc(in_cap);
	d->raw_cap = in_cap;
	d->filter = fn;
	d->filter_ctx = ctx;
	return d->buf && d->raw ? 0 : -ENOMEM;
}

void px_dir_free(struct px_dir *d, struct px_pipe_pool *pool)
{
	/* only a pipe known to be empty can serve another connection */
	if (pool && d->pipe_rd >= 0 && d->pipe_len == 0 && pool->n < PX_PIPE_POOL_MAX) {
		pool->rd[pool->n] = d->pipe_rd;
		pool->wr[pool->n] = d->pipe_wr;
		pool->cap[pool->n] = d->pipe_cap;
		pool->n++;
		d->pipe_rd = d->pipe_wr = -1;
	}
	close_pipe(d);
	free(d->buf);
	free(d->raw);
	d->buf = d->raw = NULL;
}

/* Keeps unwritten bytes at the start so the free room is contiguous. */
static void compact(struct px_dir *d)
{
	if (d->off) {
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
}

int px_dir_queue(struct px_dir *d, const void *p, size_t n)
{
	compact(d);
	if (d->cap - d->len < n) {
		char *b = realloc(d->buf, d->len + n);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = d->len + n;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

static int fail(struct px_dir *d, int err, bool to)
{
	d->err = -err;
	d->err_to = to;
	d->read_eof = true;
	return -1;
}

/* Writes buffered bytes, then pipe bytes. Returns bytes written, -1 on error. */
static ssize_t write_some(struct px_dir *d)
{
	ssize_t n;

	if (d->len > d->off) {
		n = send(d->to, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? 0 : fail(d, errno, true);
		d->off += (size_t)n;
		if (d->off == d->len)
			d->off = d->len = 0;
		return n;
	}
	if (d->pipe_len) {
		n = splice(d->pipe_rd, NULL, d->to, NULL, d->pipe_len,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0)
			return errno == EAGAIN ? 0 : fail(d, errno, true);
		d->pipe_len -= (size_t)n;
		if (n > 0)
			d->pipe_stalled = false;
		return n;
	}
	return 0;
}

/* A socket type the kernel cannot splice: copy from now on. The pipe is
 * empty because nothing was ever spliced into it. */
static int fall_back_to_copy(struct px_dir *d)
{
	size_t cap = d->pipe_cap;

	close_pipe(d);
	d->pipe_len = 0;
	compact(d);
	char *b = realloc(d->buf, d->len + cap);
	if (!b)
		return fail(d, ENOMEM, false);
	d->buf = b;
	d->cap = d->len + cap;
	return 0;
}

static ssize_t read_splice(struct px_dir *d)
{
	if (d->pipe_len == d->pipe_cap || d->pipe_stalled)
		return 0; /* a zero-length splice would read as EOF */
	ssize_t n = splice(d->from, NULL, d->pipe_wr, NULL, d->pipe_cap - d->pipe_len,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n < 0 && errno == EINVAL && d->moved == 0 && d->pipe_len == 0)
		return fall_back_to_copy(d) ? -1 : 1; /* 1: try again */
	if (n < 0 && errno == EAGAIN) {
		d->pipe_stalled = d->pipe_len > 0;
		return 0;
	}
	if (n < 0)
		return fail(d, errno, false);
	if (n == 0)
		d->read_eof = true;
	d->pipe_len += (size_t)n;
	return n;
}

/* Runs the filter over pending raw input while its output has room. */
static ssize_t run_filter(struct px_dir *d)
{
	size_t used = 0, before;

	if (d->status || d->raw_len == 0)
		return 0;
	compact(d);
	before = d->len;
	d->status = d->filter(d->filter_ctx, d->raw, d->raw_len, d->buf, &d->len, d->cap, &used);
	memmove(d->raw, d->raw + used, d->raw_len - used);
	d->raw_len -= used;
	if (d->status)
		d->read_eof = true;
	return (ssize_t)(used + d->len - before);
}

static ssize_t read_copy(struct px_dir *d)
{
	char *dst;
	size_t room;
	ssize_t n;

	if (d->filter) {
		dst = d->raw + d->raw_len;
		room = d->raw_cap - d->raw_len;
	} else {
		compact(d);
		dst = d->buf + d->len;
		room = d->cap - d->len;
	}
	if (room == 0)
		return 0;
	n = recv(d->from, dst, room, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : fail(d, errno, false);
	if (n == 0)
		d->read_eof = true;
	if (d->filter)
		d->raw_len += (size_t)n;
	else
		d->len += (size_t)n;
	return n;
}

ssize_t px_dir_pump(struct px_dir *d, bool can_write)
{
	ssize_t total = 0, w, r;

	do {
		w = can_write ? write_some(d) : 0;
		if (w < 0)
			return d->err;
		total += w;
		r = 0;
		if (!d->read_eof && d->pipe_rd >= 0)
			r = read_splice(d);
		else if (!d->read_eof)
			r = read_copy(d);
		if (r < 0)
			return d->err;
		if (d->filter && run_filter(d) > 0)
			r = 1;
	} while (w > 0 || r > 0);
	d->moved += (uint64_t)total;
	return total;
}

bool px_dir_pending(const struct px_dir *d)
{
	return d->len > d->off || d->pipe_len > 0;
}

bool px_dir_wants_read(const struct px_dir *d)
{
	if (d->read_eof)
		return false;
	if (d->pipe_rd >= 0)
		return !d->pipe_stalled && d->pipe_len < d->pipe_cap;
	if (d->filter)
		return d->raw_len < d->raw_cap;
	return d->len - d->off < d->cap && (d->len < d->cap || d->off > 0);
}

bool px_dir_drained(const struct px_dir *d)
{
	return d->read_eof && !px_dir_pending(d) && (!d->filter || d->raw_len == 0 || d->status);
}

bool px_dir_spliced(const struct px_dir *d)
{
	return d->pipe_rd >= 0;
}
