/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The hand-off metadata of a finished handshake (metadata.c), built from
 * the SSL, the decision and the addresses only, so that a stand-in
 * handshaker (tests/proxy_feeder.c) links the same builder. */
#ifndef TS_METADATA_H
#define TS_METADATA_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "ts_handoff.h"

struct ts_cfg_route;
struct ts_decision;

/* Builds the hand-off TLVs into a malloc'd block (*out). route is the
 * decision's route (NULL: none), peer and local the connection's addresses
 * (family 0: unknown, left out), records the record layer's state of a
 * TS_MODE_RECORDS hand-off (NULL otherwise: then the block holds no
 * secret; with it, the caller wipes the block before freeing it). Returns
 * the length or a negative errno. */
long ts_metadata_build(SSL *ssl, const struct ts_decision *d, const struct ts_cfg_route *route,
		       const struct ts_addr *peer, const struct ts_addr *local,
		       enum ts_handoff_mode mode, const struct ts_rec_params *records,
		       uint8_t **out);

/* The client's (peer) and our (local) address of a TCP socket; family 0
 * when unknown. */
/* The local address of fd, and its peer's when *peer is still unset. */
void ts_metadata_addrs(int fd, struct ts_addr *peer, struct ts_addr *local);
struct sockaddr_storage;
void ts_metadata_addr_of(const struct sockaddr_storage *ss, struct ts_addr *a);

/* Builds an early-connect message (TS_MODE_EARLY or TS_MODE_EARLY_CANCEL)
 * for a decided ClientHello into buf; its length or a negative errno. */
long ts_metadata_early(const struct ts_decision *d, const struct ts_addr *peer,
		       const struct ts_addr *local, enum ts_handoff_mode mode, uint8_t *buf, size_t cap);

#endif /* TS_METADATA_H */
