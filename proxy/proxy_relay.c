// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One relay direction: splice through a pipe, or copy through a bounded
 * buffer, or filter (http mode). */
#include "proxy_relay.h"
#include "proxy_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void count(struct px_pipe_pool *pool, enum px_counter c)
{
	if (pool->stats)
		px_count(pool->stats, c, 1);
}

/* A pipe for a bulk transfer: from the pool, else a new one while fewer
 * than PX_PIPES_MAX are in use. False: copy instead. */
static bool take_pipe(struct px_dir *d)
{
	struct px_pipe_pool *pool = d->pool;
	int p[2];

	if (pool->n > 0) {
		pool->n--;
		d->pipe_rd = pool->rd[pool->n];
		d->pipe_wr = pool->wr[pool->n];
		d->pipe_cap = pool->cap[pool->n];
	} else {
		if (pool->in_use >= PX_PIPES_MAX || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			return false;
		count(pool, PX_PIPES_OPENED);
		int sz = fcntl(p[0], F_GETPIPE_SZ);
		d->pipe_rd = p[0];
		d->pipe_wr = p[1];
		d->pipe_cap = sz > 0 ? (size_t)sz : PX_RELAY_BUF;
	}
	pool->in_use++;
	count(pool, PX_PIPES_TAKEN);
	d->pipe_len = 0;
	d->pipe_stalled = false;
	return true;
}

static void close_pair(struct px_pipe_pool *pool, int rd, int wr)
{
	close(rd);
	close(wr);
	count(pool, PX_PIPES_CLOSED);
}

/* Gives the pipe back: to the pool when it is empty (only an empty pipe can
 * serve another transfer) and the pool has room, else closed. */
static void return_pipe(struct px_dir *d)
{
	struct px_pipe_pool *pool = d->pool;

	if (d->pipe_rd < 0)
		return;
	if (d->pipe_len == 0 && pool->n < PX_PIPE_POOL_MAX) {
		pool->rd[pool->n] = d->pipe_rd;
		pool->wr[pool->n] = d->pipe_wr;
		pool->cap[pool->n] = d->pipe_cap;
		pool->n++;
	} else {
		close_pair(pool, d->pipe_rd, d->pipe_wr);
	}
	pool->in_use--;
	count(pool, PX_PIPES_RETURNED);
	d->pipe_rd = d->pipe_wr = -1;
	d->pipe_len = 0;
	d->pipe_stalled = false;
}

static void dir_init(struct px_dir *d, int from, int to, struct px_pipe_pool *pool, bool splice)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->pool = pool;
	d->splice = splice;
	d->pipe_rd = d->pipe_wr = -1;
}

void px_dir_init_up(struct px_dir *d, struct px_client_io *client, int upstream,
		    struct px_pipe_pool *pool, bool splice)
{
	dir_init(d, client->fd, upstream, pool, splice && px_cio_can_splice(client));
	d->from_io = client;
}

void px_dir_init_down(struct px_dir *d, int upstream, struct px_client_io *client,
		      struct px_pipe_pool *pool, bool splice)
{
	dir_init(d, upstream, client->fd, pool, splice && px_cio_can_splice(client));
	d->to_io = client;
}

/* Reads the source: the client through its transport, else the upstream. */
static ssize_t src_recv(struct px_dir *d, void *buf, size_t len)
{
	if (d->from_io)
		return px_cio_recv(d->from_io, buf, len);
	return recv(d->from, buf, len, MSG_DONTWAIT);
}

static ssize_t dst_send(struct px_dir *d, const void *buf, size_t len)
{
	if (d->to_io)
		return px_cio_send(d->to_io, buf, len);
	return send(d->to, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A read of n bytes where room were asked emptied the source, unless the
 * client's transport still holds input that epoll does not report. */
static bool src_emptied(const struct px_dir *d, size_t n, size_t room)
{
	return n < room && !(d->from_io && px_cio_has_input(d->from_io));
}

void px_pipe_pool_drain(struct px_pipe_pool *pool)
{
	while (pool->n > 0) {
		pool->n--;
		close_pair(pool, pool->rd[pool->n], pool->wr[pool->n]);
	}
	free(pool->scratch);
	pool->scratch = NULL;
}

int px_dir_set_filter(struct px_dir *d, px_filter_fn fn, void *ctx, size_t in_cap,
		      size_t out_cap)
{
	return_pipe(d);
	d->splice = false;
	free(d->buf);
	d->buf = malloc(out_cap);
	d->cap = out_cap;
	d->raw = malloc(in_cap);
	d->raw_cap = in_cap;
	d->filter = fn;
	d->filter_ctx = ctx;
	return d->buf && d->raw ? 0 : -ENOMEM;
}

void px_dir_free(struct px_dir *d)
{
	return_pipe(d);
	free(d->buf);
	free(d->raw);
	d->buf = d->raw = NULL;
	d->off = d->len = d->cap = 0;
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

/* Writes what waits inside the client's transport, then buffered bytes,
 * then pipe bytes. Returns bytes written, -1 on error. */
static ssize_t write_some(struct px_dir *d)
{
	ssize_t n;

	if (d->to_io && px_cio_flush(d->to_io) < 0)
		return errno == EAGAIN ? 0 : fail(d, errno, true);
	if (d->len > d->off) {
		n = dst_send(d, d->buf + d->off, d->len - d->off);
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
 * empty, so no byte is left behind. */
static int fall_back_to_copy(struct px_dir *d)
{
	return_pipe(d);
	d->splice = false;
	return 0;
}

static ssize_t read_splice(struct px_dir *d)
{
	if (d->pipe_len == d->pipe_cap || d->pipe_stalled)
		return 0; /* a zero-length splice would read as EOF */
	ssize_t n = splice(d->from, NULL, d->pipe_wr, NULL, d->pipe_cap - d->pipe_len,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n < 0 && errno == EINVAL && d->pipe_len == 0)
		return fall_back_to_copy(d) ? -1 : 1; /* 1: try again */
	if (n < 0 && errno == EAGAIN) {
		d->pipe_stalled = d->pipe_len > 0;
		return 0;
	}
	if (n < 0)
		return fail(d, errno, false);
	if (n == 0)
		d->read_eof = true;
	d->src_dry = (size_t)n < d->pipe_cap - d->pipe_len;
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

/* http mode's client input: into the filter's raw buffer. */
static ssize_t read_filter_input(struct px_dir *d)
{
	size_t room = d->raw_cap - d->raw_len;
	ssize_t n;

	if (room == 0)
		return 0;
	n = src_recv(d, d->raw + d->raw_len, room);
	if (n < 0)
		return errno == EAGAIN ? 0 : fail(d, errno, false);
	if (n == 0)
		d->read_eof = true;
	d->src_dry = src_emptied(d, (size_t)n, room);
	d->raw_len += (size_t)n;
	return n;
}

/* Keeps what a copied read could not send in d->buf (allocated only then). */
static int keep_rest(struct px_dir *d, const char *p, size_t n)
{
	compact(d);
	if (d->cap - d->len < n) {
		size_t cap = d->len + n > PX_RELAY_BUF ? d->len + n : PX_RELAY_BUF;
		char *b = realloc(d->buf, cap);
		if (!b)
			return fail(d, ENOMEM, false);
		d->buf = b;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

/* A copied read: recv into the worker's scratch buffer and send at once;
 * only a blocked destination makes the direction hold a buffer. Reads only
 * when nothing waits in d->buf, so at most PX_RELAY_BUF is held. */
static ssize_t read_copy(struct px_dir *d, bool can_write, ssize_t *written)
{
	struct px_pipe_pool *pool = d->pool;
	ssize_t n, w = 0;

	if (px_dir_pending(d))
		return 0;
	if (!pool->scratch && !(pool->scratch = malloc(PX_RELAY_BUF)))
		return fail(d, ENOMEM, false);
	n = src_recv(d, pool->scratch, PX_RELAY_BUF);
	if (n < 0)
		return errno == EAGAIN ? 0 : fail(d, errno, false);
	if (n == 0) {
		d->read_eof = true;
		return 0;
	}
	if (n >= PX_SPLICE_MIN)
		d->bulk = true;
	d->src_dry = src_emptied(d, (size_t)n, PX_RELAY_BUF);
	if (can_write) {
		w = dst_send(d, pool->scratch, (size_t)n);
		if (w < 0 && errno != EAGAIN)
			return fail(d, errno, true);
		if (w < 0)
			w = 0;
		*written += w;
	}
	if (w < n && keep_rest(d, pool->scratch + w, (size_t)(n - w)))
		return -1;
	return n;
}

static ssize_t read_some(struct px_dir *d, bool can_write, ssize_t *written)
{
	if (d->filter)
		return read_filter_input(d);
	if (d->pipe_rd < 0 && d->splice && d->bulk)
		take_pipe(d); /* none left: copy */
	if (d->pipe_rd >= 0)
		return read_splice(d);
	return read_copy(d, can_write, written);
}

/* After a pump: a direction with nothing in flight holds no pipe and no
 * buffer; a small read ends the bulk transfer (the next one copies). */
static void settle(struct px_dir *d, size_t got)
{
	if (d->pipe_rd >= 0 && d->pipe_len == 0)
		return_pipe(d);
	if (!d->filter && d->buf && !px_dir_pending(d)) {
		free(d->buf);
		d->buf = NULL;
		d->off = d->len = d->cap = 0;
	}
	if (got > 0 && got < PX_SPLICE_MIN)
		d->bulk = false;
}

ssize_t px_dir_pump(struct px_dir *d, bool can_write)
{
	ssize_t total = 0, w, r;
	size_t got = 0;

	/* a short read emptied the source: it is not read again in this pump
	 * (epoll is level-triggered and reports it again when more arrives),
	 * which saves a read that would say EAGAIN */
	d->src_dry = false;
	do {
		w = can_write ? write_some(d) : 0;
		if (w < 0)
			return d->err;
		total += w;
		r = 0;
		if (!d->read_eof && !d->src_dry)
			r = read_some(d, can_write, &total);
		if (r < 0)
			return d->err;
		got += (size_t)r;
		if (d->filter && run_filter(d) > 0)
			r = 1;
	} while (w > 0 || r > 0);
	settle(d, got);
	d->moved += (uint64_t)total;
	return total;
}

bool px_dir_pending(const struct px_dir *d)
{
	return d->len > d->off || d->pipe_len > 0 || (d->to_io && px_cio_want_write(d->to_io));
}

bool px_dir_wants_read(const struct px_dir *d)
{
	if (d->read_eof)
		return false;
	if (d->pipe_rd >= 0)
		return !d->pipe_stalled && d->pipe_len < d->pipe_cap;
	if (d->filter)
		return d->raw_len < d->raw_cap;
	return !px_dir_pending(d); /* a copied read needs d->buf empty */
}

bool px_dir_drained(const struct px_dir *d)
{
	return d->read_eof && !px_dir_pending(d) && (!d->filter || d->raw_len == 0 || d->status);
}

bool px_dir_spliced(const struct px_dir *d)
{
	return d->splice;
}
