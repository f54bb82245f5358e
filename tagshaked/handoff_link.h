/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Each worker's link to the proxy (handoff_link.c). It sends what the
 * connection state machine gives it and says what happened; the queue of
 * waiting connections and what follows a hand-off are conn.c's. */
#ifndef TS_HANDOFF_LINK_H
#define TS_HANDOFF_LINK_H

#include <stdint.h>

#include "ts_handoff.h"

struct ev_entry;
struct ts_conn;
struct ts_worker;

enum ts_link_send_result {
	TS_LINK_SENT, /* the proxy has the connection */
	TS_LINK_WAIT, /* link down or full: try again on EPOLLOUT or link_timer */
};

/* Sends c's socket (or its socketpair end) and metadata, connecting the
 * link when it is down and a retry is due. */
enum ts_link_send_result ts_link_send(struct ts_worker *w, const struct ts_conn *c);
/* Nothing waits to be sent: watch the link only for its close. */
void ts_link_idle(struct ts_worker *w);

enum ts_link_event_result {
	TS_LINK_QUIET,    /* nothing for the state machine (or the link closed) */
	TS_LINK_WRITABLE, /* room again: flush the waiting connections */
};

enum ts_link_event_result ts_link_event(struct ts_worker *w, uint32_t events);
void ts_link_close(struct ts_worker *w);
/* Early connect (handoff.early_connect): tells the proxy that the
 * decided connection c will follow (TS_MODE_EARLY), or that it will not
 * (TS_MODE_EARLY_CANCEL, only after an EARLY). Best effort. */
void ts_link_early(struct ts_worker *w, struct ts_conn *c, enum ts_handoff_mode mode);

#endif /* TS_HANDOFF_LINK_H */
