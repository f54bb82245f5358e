/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One direction of a proxied connection: bytes from one socket to the
 * other, through a pipe with splice(2) where the kernel allows it, else
 * through a bounded buffer; optionally through a filter (http mode). Every
 * buffer is bounded: a full buffer or pipe stops reading (backpressure).
 * The client's end is read and written through its transport (client_io.h):
 * what waits inside it counts as pending output and as input to read.
 */
#ifndef TS_PROXY_RELAY_H
#define TS_PROXY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client_io.h"

/* Rewrites input into output, as ts_http_inject_feed(): returns 0 or a
 * status that stops the direction. */
typedef int (*px_filter_fn)(void *ctx, const char *in, size_t in_len, char *out,
			    size_t *out_len, size_t out_cap, size_t *consumed);

struct px_stats;

/* Bytes one copied direction reads per recv (the worker's scratch buffer)
 * and at most holds when the destination is blocked: the default pipe
 * size, so copy and splice hold the same bytes in flight. */
#define PX_RELAY_BUF 65536
/* A read at least this large marks a direction as a bulk transfer: its next
 * reads splice through a pipe. Smaller transfers (request heads, greetings,
 * small responses) are copied: two syscalls, no pipe held. */
#define PX_SPLICE_MIN 16384
/* Empty pipes kept for the next transfer: creating a pipe pair costs more
 * than the rest of a hand-off (HAProxy keeps a pool for the same reason). */
#define PX_PIPE_POOL_MAX 64
/* Pipes in use at once per worker, HAProxy's `maxpipes` (its default is
 * maxconn / 4): a direction that finds none copies. A pipe is held only
 * while its direction has bytes in flight, so idle connections hold none. */
#define PX_PIPES_MAX 1024

/* One per worker, no locking. */
struct px_pipe_pool {
	int rd[PX_PIPE_POOL_MAX], wr[PX_PIPE_POOL_MAX];
	size_t cap[PX_PIPE_POOL_MAX];
	int n;               /* empty pipes in the pool */
	int in_use;          /* pipes held by directions */
	char *scratch;       /* PX_RELAY_BUF, for copied reads */
	struct px_stats *stats; /* pipes_* counters, when set */
};

/* Closes the pool's pipes and frees its scratch buffer. */
void px_pipe_pool_drain(struct px_pipe_pool *pool);

struct px_dir {
	int from, to;
	/* the client's end, through its transport: the one of from_io and
	 * to_io that is set (the other end is the upstream's plain socket) */
	struct px_client_io *from_io, *to_io;
	struct px_pipe_pool *pool;
	bool splice;   /* the kernel may splice this direction */
	bool bulk;     /* the last read was large: splice the next ones */
	int pipe_rd, pipe_wr; /* -1 while no pipe is held */
	size_t pipe_len, pipe_cap;
	/* splice into the pipe said EAGAIN with bytes in it: the pipe may be
	 * out of slots (one per skb) well below pipe_cap; read again only after
	 * the pipe drained some, or a readable source would spin epoll */
	bool pipe_stalled;
	bool src_dry;  /* a short read in this pump: the source was emptied */
	/* bytes for `to`, written before any pipe data: what a copied read
	 * could not send at once, a queued header or the filter's output;
	 * NULL when empty (outside http mode) */
	char *buf;
	size_t off, len, cap;
	char *raw; /* filter input not consumed yet */
	size_t raw_len, raw_cap;
	px_filter_fn filter;
	void *filter_ctx;
	int status;    /* the filter's stop status, 0 while it goes on */
	bool read_eof; /* no more input: EOF read, or stopped */
	bool shut;     /* shutdown(to, SHUT_WR) done */
	int err;       /* negative errno of the failing side */
	bool err_to;   /* the error was writing to `to` (else reading `from`) */
	uint64_t moved; /* bytes written to `to` */
};

/* No pipe and no buffer yet: both are taken when bytes arrive. splice:
 * use pipes from the pool for bulk transfers (where the client's transport
 * allows it). up: client → upstream; down: upstream → client. */
void px_dir_init_up(struct px_dir *d, struct px_client_io *client, int upstream,
		    struct px_pipe_pool *pool, bool splice);
void px_dir_init_down(struct px_dir *d, int upstream, struct px_client_io *client,
		      struct px_pipe_pool *pool, bool splice);
/* Adds a filter; its output buffer gets out_cap bytes, its input in_cap. */
int px_dir_set_filter(struct px_dir *d, px_filter_fn fn, void *ctx, size_t in_cap,
		      size_t out_cap);
/* Frees buffers; an empty pipe goes back to the pool. */
void px_dir_free(struct px_dir *d);
/* Queues bytes to write to `to` ahead of everything not yet written. */
int px_dir_queue(struct px_dir *d, const void *p, size_t n);
/* Moves what it can without blocking; writes only when can_write. Returns
 * the number of bytes written to `to`, or d->err once an error happened. */
ssize_t px_dir_pump(struct px_dir *d, bool can_write);
/* bytes wait for `to` (in the direction or inside the client's transport) */
bool px_dir_pending(const struct px_dir *d);
bool px_dir_wants_read(const struct px_dir *d);
/* Input ended and everything was written: time for shutdown(to). */
bool px_dir_drained(const struct px_dir *d);
/* The direction splices its bulk transfers (else it always copies). */
bool px_dir_spliced(const struct px_dir *d);

#endif /* TS_PROXY_RELAY_H */
