/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Readiness for service managers: the sd_notify datagram protocol
 * (systemd's $NOTIFY_SOCKET, see sd_notify(3)), without libsystemd. Lets
 * the units be Type=notify: READY=1 once the daemon accepts work,
 * RELOADING=1 / READY=1 around a reload, STOPPING=1 when it drains.
 */
#ifndef TS_NOTIFY_H
#define TS_NOTIFY_H

/* Sends STATE (e.g. "READY=1") to $NOTIFY_SOCKET. Returns 0 when sent,
 * 0 as well when no manager listens ($NOTIFY_SOCKET unset), -errno on
 * failure (callers ignore it: readiness is advisory). */
int ts_notify(const char *state);

#endif /* TS_NOTIFY_H */
