// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Each worker's link to the proxy: one SOCK_SEQPACKET connection carrying
 * one message per handed-off connection. Finished handshakes queue here in
 * order; when the proxy is unreachable they wait at most handoff_timeout
 * (the queue is in deadline order), then close and count. The link is
 * reconnected on demand, at most every LINK_RETRY_MS: link_timer tries
 * again while hand-offs wait. The queue is the state machine's (conn.c):
 * the link sends what it is given and says whether it went.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "connlog.h"
#include "generation.h"
#include "handoff_link.h"
#include "log.h"
#include "metadata.h"
#include "stats.h"
#include "worker.h"

#define LINK_RETRY_MS 100

/* The connections go to whoever listens on the path: SO_PEERCRED must name
 * root, our own user or handoff.proxy_user. */
static bool proxy_allowed(struct ts_worker *w, int fd)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    ts_config_peer_allowed(w->gen->cfg->handoff_proxy_uid, cred.uid))
		return true;
	ts_count(&w->stats, TS_HC_LINK_REFUSED);
	ts_log(TS_LOG_WARN, "hand-off link to %s refused: proxy uid %ld pid %ld is not allowed",
	       w->gen->cfg->handoff_path, (long)(int)cred.uid, (long)cred.pid);
	return false;
}

static int link_connect(struct ts_worker *w, uint64_t now)
{
	const char *path = w->gen->cfg->handoff_path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (w->link.fd >= 0)
		return 0;
	if (now < w->link_retry_ms)
		return -EAGAIN;
	w->link_retry_ms = now + LINK_RETRY_MS;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a full backlog answers EAGAIN here: retried like a refusal */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!proxy_allowed(w, fd)) {
		close(fd);
		return -EPERM;
	}
	w->link.fd = fd;
	w->link.events = 0;
	ts_worker_set_events(w, &w->link, EPOLLIN);
	return 0;
}

/* Bytes of an early-connect message: mode and generation, policy name,
 * route, action, two addresses. */
#define EARLY_MSG_MAX 512

void ts_link_early(struct ts_worker *w, struct ts_conn *c, enum ts_handoff_mode mode)
{
	uint8_t buf[EARLY_MSG_MAX];
	long len;

	if (mode == TS_MODE_EARLY_CANCEL && !c->early)
		return;
	c->early = false;
	/* a link that is down or full: the proxy opens nothing (EARLY) or
	 * drops it on its own timeout or with the old link (CANCEL) */
	if (link_connect(w, ts_now_ms()) ||
	    (len = ts_metadata_early(&c->d, &c->peer, &c->local, mode, buf, sizeof(buf))) < 0 ||
	    ts_handoff_send(w->link.fd, -1, buf, (size_t)len))
		return;
	c->early = mode == TS_MODE_EARLY;
	ts_count(&w->stats, mode == TS_MODE_EARLY ? TS_HC_EARLY_SENT : TS_HC_EARLY_CANCELLED);
}

void ts_link_close(struct ts_worker *w)
{
	if (w->link.fd < 0)
		return;
	ts_worker_set_events(w, &w->link, 0);
	close(w->link.fd);
	w->link.fd = -1;
	if (!ev_list_empty(&w->handoffs))
		ev_timer_at(&w->loop, &w->link_timer, w->link_retry_ms);
}

enum ts_link_send_result ts_link_send(struct ts_worker *w, const struct ts_conn *c)
{
	int fd = c->proxy_fd >= 0 ? c->proxy_fd : c->ep.fd;

	for (;;) {
		int err;

		if (link_connect(w, ts_now_ms())) {
			ev_timer_at(&w->loop, &w->link_timer, w->link_retry_ms);
			return TS_LINK_WAIT;
		}
		err = ts_handoff_send(w->link.fd, fd, c->tlv, (size_t)c->tlv_len);
		if (err == -EAGAIN) {
			ts_worker_set_events(w, &w->link, EPOLLIN | EPOLLOUT);
			return TS_LINK_WAIT;
		}
		if (!err)
			return TS_LINK_SENT;
		/* proxy gone: the connection waits for the next link */
		ts_link_close(w);
	}
}

void ts_link_idle(struct ts_worker *w)
{
	if (w->link.fd >= 0)
		ts_worker_set_events(w, &w->link, EPOLLIN);
}

enum ts_link_event_result ts_link_event(struct ts_worker *w, uint32_t events)
{
	char b;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* the proxy never writes: readable means closed */
		ssize_t n = recv(w->link.fd, &b, 1, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN) || (events & (EPOLLHUP | EPOLLERR))) {
			ts_link_close(w);
			return TS_LINK_QUIET;
		}
	}
	return (events & EPOLLOUT) ? TS_LINK_WRITABLE : TS_LINK_QUIET;
}
