/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemons' counters, each defined once: tagshaked and tagshake-proxy
 * generate their enums and status-file names from these lists, `tagshake
 * metrics` its Prometheus families and `tagshake top` its rows. A status
 * file is "name value" per line, in list order; names never change (tests,
 * dashboards and alerts read them).
 *
 * TS_*_FAMILIES(F): F(id, prometheus name, type, help), in output order.
 * TS_*_COUNTERS(X): X(id, status name, family id, labels, top label or NULL).
 *   Family NONE: not exported on its own (a histogram's sum or count).
 *   In a histogram family the labels are the bucket's upper bound in
 *   seconds, "" for the overflow bucket.
 */
#ifndef TS_COUNTERS_H
#define TS_COUNTERS_H

/* ---- tagshaked ---- */

#define TS_HS_FAMILIES(F)                                                                          \
	F(ACCEPTED, "tagshake_connections_accepted_total", "counter",                              \
	  "TCP connections accepted by tagshaked")                                                 \
	F(REJECTS, "tagshake_rejects_total", "counter",                                            \
	  "Connections closed by a reject policy before any TLS byte, by where it was decided")    \
	F(BAD_SNI, "tagshake_bad_sni_total", "counter",                                            \
	  "ClientHellos whose SNI is not a valid host name")                                       \
	F(SNI_CHANGED, "tagshake_sni_changed_total", "counter",                                    \
	  "Second ClientHellos (after a HelloRetryRequest) that changed the SNI")                  \
	F(TAG_CHECKS, "tagshake_tag_checks_total", "counter",                                      \
	  "BPF tags compared with the SNI OpenSSL parsed, by result")                              \
	F(POLICY_STALE, "tagshake_policy_stale_total", "counter",                                  \
	  "Decisions where the BPF policy was less strict than the configuration")                 \
	F(DECISIONS, "tagshake_decisions_total", "counter",                                        \
	  "Policy decisions in the ClientHello callback, by action")                               \
	F(CERT_REQUESTS, "tagshake_certificate_requests_total", "counter",                         \
	  "CertificateRequest messages sent")                                                      \
	F(HANDSHAKES, "tagshake_handshakes_total", "counter",                                      \
	  "TLS handshakes by result")                                                              \
	F(POLICY_HANDSHAKES, "tagshake_policy_handshakes_total", "counter",                        \
	  "Handshakes after the policy decision, by the decided action and result")                \
	F(POLICY_CERT_REQUESTS, "tagshake_policy_certificate_requests_total", "counter",           \
	  "CertificateRequests sent, by the decided action (none must stay 0)")                    \
	F(RESUMED, "tagshake_handshakes_resumed_total", "counter",                                 \
	  "Completed handshakes that resumed a session")                                           \
	F(CLIENT_CERTS, "tagshake_handshakes_client_certificate_total", "counter",                 \
	  "Completed handshakes with a verified client certificate")                               \
	F(OVERLOAD, "tagshake_overload_total", "counter",                                          \
	  "Times accepting paused at the in-flight bound")                                         \
	F(HELLO_TIMEOUTS, "tagshake_hello_timeouts_total", "counter",                              \
	  "Handshake timeouts before a whole ClientHello (timeouts.client_hello)")                 \
	F(FLOOD_CLOSES, "tagshake_flood_closes_total", "counter",                                  \
	  "Connections closed before their ClientHello to keep the bounds, by reason")             \
	F(LINKS_REFUSED, "tagshake_handoff_links_refused_total", "counter",                        \
	  "Hand-off links closed: the proxy is not an allowed user (SO_PEERCRED)")                 \
	F(HANDOFFS, "tagshake_handoffs_total", "counter", "Hand-offs to the proxy by result")      \
	F(EARLY, "tagshake_early_connects_total", "counter",                                       \
	  "Early-connect messages to the proxy (handoff.early_connect), by event")                 \
	F(HANDOFF_MODES, "tagshake_handoff_modes_total", "counter",                                \
	  "Hand-offs by data path (kTLS, records or userspace relay)")                             \
	F(RELAY_CLOSES, "tagshake_relay_closes_total", "counter",                                  \
	  "Relayed connections closed, by reason")                                                 \
	F(INFLIGHT, "tagshake_handshakes_in_flight", "gauge", "Handshakes in progress")            \
	F(HANDOFF_WAITING, "tagshake_handoffs_waiting", "gauge",                                   \
	  "Finished handshakes waiting for the proxy")                                             \
	F(RELAYS_OPEN, "tagshake_relays_open", "gauge", "Connections relayed in userspace now")    \
	F(WORKERS, "tagshake_handshaker_workers", "gauge", "tagshaked worker threads")             \
	F(GENERATION, "tagshake_handshaker_generation", "gauge",                                   \
	  "Configuration generation (reloads + 1)")                                                \
	F(DURATION, "tagshake_handshake_duration_seconds", "histogram",                            \
	  "Time from accept to a finished handshake")

/* The four actions that complete or fail a handshake (reject never does). */
#define TS_HS_BY_ACTION(X, ID, name, fam, result)                                                  \
	X(ID##_NONE, name "_none", fam, "action=\"none\"" result, NULL)                            \
	X(ID##_OPTIONAL, name "_optional", fam, "action=\"optional\"" result, NULL)                \
	X(ID##_REQUIRE, name "_require", fam, "action=\"require\"" result, NULL)                   \
	X(ID##_REQUEST, name "_request", fam, "action=\"request\"" result, NULL)

#define TS_HS_COUNTERS(X)                                                                          \
	X(ACCEPTED, "accepted", ACCEPTED, "", "accepted")                                          \
	/* closed on a final reject tag, before any OpenSSL object */                              \
	X(REJECT_TAG, "reject_tag", REJECTS, "stage=\"tag\"", "rejects on the tag")                \
	/* closed in the ClientHello callback, before any TLS byte */                              \
	X(REJECT_POLICY, "reject_policy", REJECTS, "stage=\"clienthello\"",                       \
	  "rejects in ClientHello")                                                                \
	/* SNI OpenSSL parsed is not a valid host name */                                          \
	X(BAD_SNI, "bad_sni", BAD_SNI, "", NULL)                                                   \
	/* second ClientHello (after HRR) changed the SNI */                                       \
	X(SNI_CHANGED, "sni_changed", SNI_CHANGED, "", NULL)                                       \
	X(TAG_AGREE, "tag_agree", TAG_CHECKS, "result=\"agree\"", "tag agree")                     \
	/* no tag: maps not pinned or no storage for the socket */                                 \
	X(TAG_MISSING, "tag_missing", TAG_CHECKS, "result=\"missing\"", "tag missing")             \
	/* tag not final when OpenSSL had the whole ClientHello */                                 \
	X(TAG_PENDING, "tag_pending", TAG_CHECKS, "result=\"pending\"", "tag pending")             \
	/* final tag whose SNI differs from OpenSSL's */                                           \
	X(TAG_DISAGREE, "tag_disagree", TAG_CHECKS, "result=\"disagree\"", "tag disagree")         \
	/* the BPF policy was less strict than the configuration: config used */                   \
	X(POLICY_STALE, "policy_stale", POLICY_STALE, "", NULL)                                    \
	/* decisions by action: TS_HC_DECIDE_NONE + enum ts_action */                              \
	X(DECIDE_NONE, "decide_none", DECISIONS, "action=\"none\"", NULL)                          \
	X(DECIDE_OPTIONAL, "decide_optional", DECISIONS, "action=\"optional\"", NULL)              \
	X(DECIDE_REQUIRE, "decide_require", DECISIONS, "action=\"require\"", NULL)                 \
	X(DECIDE_REJECT, "decide_reject", DECISIONS, "action=\"reject\"", NULL)                    \
	X(DECIDE_REQUEST, "decide_request", DECISIONS, "action=\"request\"", NULL)                 \
	/* CertificateRequest messages sent */                                                     \
	X(CERT_REQUESTS, "cert_requests", CERT_REQUESTS, "", "CertificateRequests sent")           \
	/* completed; also the duration histogram's count */                                       \
	X(HANDSHAKES, "handshakes", HANDSHAKES, "result=\"ok\"", "handshakes ok")                  \
	/* completed by resumption */                                                              \
	X(RESUMED, "resumed", RESUMED, "", NULL)                                                   \
	/* completed with a verified client certificate */                                         \
	X(CLIENT_CERTS, "client_certs", CLIENT_CERTS, "", "client certificates")                   \
	X(HANDSHAKE_FAILED, "handshake_failed", HANDSHAKES, "result=\"failed\"",                   \
	  "handshakes failed")                                                                     \
	X(HANDSHAKE_TIMEOUT, "handshake_timeout", HANDSHAKES, "result=\"timeout\"",                \
	  "handshakes timed out")                                                                  \
	/* of those: no whole ClientHello within timeouts.client_hello */                          \
	X(HELLO_TIMEOUT, "hello_timeout", HELLO_TIMEOUTS, "", NULL)                                \
	/* closed at the in-flight bound: silent since accept, the oldest */                       \
	X(SHED_IDLE, "shed_idle", FLOOD_CLOSES, "reason=\"shed_idle\"", NULL)                      \
	/* closed at accept: the address has limits.handshakes_per_source */                       \
	X(SOURCE_LIMIT, "source_limit", FLOOD_CLOSES, "reason=\"source_limit\"", NULL)             \
	/* accept paused: handshakes in flight at the bound */                                     \
	X(OVERLOAD, "overload", OVERLOAD, "", NULL)                                                \
	X(HANDOFF_OK, "handoff_ok", HANDOFFS, "result=\"ok\"", "hand-offs ok")                     \
	/* proxy unreachable for handoff_timeout: closed */                                        \
	X(HANDOFF_TIMEOUT, "handoff_timeout", HANDOFFS, "result=\"timeout\"", NULL)                \
	X(HANDOFF_ERROR, "handoff_error", HANDOFFS, "result=\"error\"", "hand-offs failed")        \
	/* early connect: told the proxy at the decided ClientHello; told it to                   \
	 * close that upstream because the connection will not be handed off */                    \
	X(EARLY_SENT, "early_sent", EARLY, "event=\"sent\"", NULL)                                  \
	X(EARLY_CANCELLED, "early_cancelled", EARLY, "event=\"cancelled\"", NULL)                   \
	/* hand-off links closed: the proxy's SO_PEERCRED not allowed */                           \
	X(LINK_REFUSED, "handoff_link_refused", LINKS_REFUSED, "", NULL)                           \
	/* handed off with kTLS installed */                                                       \
	X(KTLS, "ktls", HANDOFF_MODES, "mode=\"ktls\"", NULL)                                      \
	/* handed off through the userspace relay */                                               \
	X(RELAY, "relay", HANDOFF_MODES, "mode=\"relay\"", NULL)                                   \
	/* handed off with the record layer's state (handoff.records) */                           \
	X(RECORDS, "records", HANDOFF_MODES, "mode=\"records\"", NULL)                             \
	X(RELAY_CLOSED, "relay_closed", RELAY_CLOSES, "reason=\"done\"", NULL)                     \
	/* relay closed for idleness */                                                            \
	X(RELAY_IDLE, "relay_idle", RELAY_CLOSES, "reason=\"idle\"", NULL)                         \
	/* TLS error or reset in the relay */                                                      \
	X(RELAY_ERROR, "relay_error", RELAY_CLOSES, "reason=\"error\"", NULL)                      \
	/* accept → Finished of completed handshakes: sum in µs and a histogram                   \
	 * (ts_hs_stats_handshake) */                                                              \
	X(HS_US, "hs_us", NONE, "", NULL)                                                          \
	X(HS_LE_1MS, "hs_le_1ms", DURATION, "0.001", NULL)                                         \
	X(HS_LE_2MS, "hs_le_2ms", DURATION, "0.002", NULL)                                         \
	X(HS_LE_5MS, "hs_le_5ms", DURATION, "0.005", NULL)                                         \
	X(HS_LE_10MS, "hs_le_10ms", DURATION, "0.01", NULL)                                        \
	X(HS_LE_50MS, "hs_le_50ms", DURATION, "0.05", NULL)                                        \
	X(HS_LE_250MS, "hs_le_250ms", DURATION, "0.25", NULL)                                      \
	X(HS_OVER_250MS, "hs_over_250ms", DURATION, "", NULL)                                      \
	/* outcomes once decided, by action (see ts_hs_count_action()) */                          \
	TS_HS_BY_ACTION(X, OK, "ok", POLICY_HANDSHAKES, ",result=\"ok\"")                          \
	TS_HS_BY_ACTION(X, FAILED, "failed", POLICY_HANDSHAKES, ",result=\"failed\"")              \
	/* CertificateRequests by action: none must stay 0 */                                      \
	TS_HS_BY_ACTION(X, CERTREQ, "certreq", POLICY_CERT_REQUESTS, "")

/* Gauges: current values, per worker; same columns. */
#define TS_HS_GAUGES(X)                                                                            \
	X(INFLIGHT, "inflight", INFLIGHT, "", "handshakes in flight")                              \
	X(HANDOFF_WAIT, "handoff_waiting", HANDOFF_WAITING, "", NULL)                              \
	X(RELAYS, "relays_open", RELAYS_OPEN, "", "relays open")

/* ---- tagshake-proxy ---- */

#define TS_PX_FAMILIES(F)                                                                          \
	F(HANDOFFS, "tagshake_proxy_handoffs_total", "counter",                                    \
	  "Connections received from handshakers")                                                 \
	F(HANDOFFS_REJECTED, "tagshake_proxy_handoffs_rejected_total", "counter",                  \
	  "Hand-off messages rejected (no descriptor, bad TLVs)")                                  \
	F(MODES, "tagshake_proxy_handoff_modes_total", "counter",                                  \
	  "Connections served, by hand-off mode (who runs the TLS record layer)")                  \
	F(LINKS, "tagshake_proxy_handshaker_links_total", "counter", "Handshaker links accepted")  \
	F(EARLY, "tagshake_proxy_early_connects_total", "counter",                                 \
	  "Upstream connections opened before the hand-off, by outcome")                           \
	F(LINKS_REFUSED, "tagshake_proxy_handshaker_links_refused_total", "counter",               \
	  "Handshaker links closed: not an allowed user (SO_PEERCRED)")                            \
	F(DIRECTIONS, "tagshake_proxy_relay_directions_total", "counter",                          \
	  "Directions relayed, by method")                                                         \
	F(PIPES, "tagshake_proxy_pipes_total", "counter",                                          \
	  "Relay pipes: opened and closed (held = opened - closed), taken for a bulk transfer "    \
	  "and returned (in use = taken - returned)")                                             \
	F(BYTES, "tagshake_proxy_bytes_total", "counter", "Payload bytes relayed, by direction")   \
	F(HTTP_REQUESTS, "tagshake_proxy_http_requests_total", "counter",                          \
	  "HTTP request heads forwarded")                                                          \
	F(HTTP_LOCAL, "tagshake_proxy_http_local_answers_total", "counter",                        \
	  "HTTP answers the proxy gave itself (4xx, 5xx)")                                         \
	F(CONNECT_FAILURES, "tagshake_proxy_upstream_connect_failures_total", "counter",           \
	  "Upstream connects that failed, by reason")                                              \
	F(CLOSES, "tagshake_proxy_closes_total", "counter",                                        \
	  "Proxied connections closed, exactly one reason each")                                   \
	F(READY, "tagshake_proxy_upstream_ready_seconds", "histogram",                             \
	  "Time from receiving a hand-off to a connected upstream")

/* Close reasons: exactly one per connection. C(X, id, reason). */
#define TS_PX_CLOSES(C, X)                                                                         \
	C(X, DONE, "done")                 /* both directions finished */                          \
	C(X, IDLE, "idle")                 /* idle timeout */                                      \
	C(X, NO_ROUTE, "no_route")         /* no route for the hand-off */                         \
	/* decided under a policy generation the proxy does not hold */                            \
	C(X, STALE, "stale")                                                                       \
	/* connect failed (raw, proxy-v2: clean close) */                                          \
	C(X, UPSTREAM_DOWN, "upstream_down")                                                       \
	C(X, CLIENT_ERROR, "client_error")     /* read/write error on the client side */           \
	C(X, UPSTREAM_ERROR, "upstream_error") /* read/write error on the upstream side */         \
	C(X, HTTP_400, "http_400")                                                                 \
	C(X, HTTP_421, "http_421")                                                                 \
	C(X, HTTP_431, "http_431")                                                                 \
	C(X, HTTP_501, "http_501")                                                                 \
	C(X, HTTP_502, "http_502")         /* connect failed in http mode */                       \
	/* metadata the mode cannot carry (e.g. a CTL in a DN) */                                  \
	C(X, BAD_META, "bad_meta")                                                                 \
	/* a records hand-off without usable secrets (none, or a suite the                         \
	 * record layer does not take) */                                                          \
	C(X, RECORDS_REFUSED, "records_refused")                                                   \
	C(X, NOMEM, "nomem")                                                                       \
	C(X, SHUTDOWN, "shutdown")         /* open when the proxy stopped */

#define TS_PX_CLOSE_COUNTER(X, ID, reason)                                                         \
	X(CLOSE_##ID, "close_" reason, CLOSES, "reason=\"" reason "\"", NULL)

#define TS_PX_COUNTERS(X)                                                                          \
	/* connections received from a handshaker */                                               \
	X(HANDOFFS, "handoffs", HANDOFFS, "", "hand-offs received")                                \
	/* hand-off messages rejected (no fd, bad TLVs) */                                         \
	X(HANDOFF_BAD, "handoff_bad", HANDOFFS_REJECTED, "", NULL)                                 \
	/* connections served, by hand-off mode: kTLS (the kernel), relay                          \
	 * (tagshaked), records (this proxy runs the record layer) */                              \
	X(MODE_KTLS, "mode_ktls", MODES, "mode=\"ktls\"", NULL)                                     \
	X(MODE_RELAY, "mode_relay", MODES, "mode=\"relay\"", NULL)                                  \
	X(MODE_RECORDS, "mode_records", MODES, "mode=\"records\"", NULL)                            \
	/* early connect: opened; taken by the hand-off; closed unused on the                     \
	 * handshaker's cancel, after the timeout, or with the link; not opened                    \
	 * (not a `none` raw/proxy-v2 route, stale generation, at the bound) */                    \
	X(EARLY_OPENED, "early_opened", EARLY, "event=\"opened\"", NULL)                            \
	X(EARLY_USED, "early_used", EARLY, "event=\"used\"", NULL)                                  \
	X(EARLY_CANCELLED, "early_cancelled", EARLY, "event=\"cancelled\"", NULL)                   \
	X(EARLY_EXPIRED, "early_expired", EARLY, "event=\"expired\"", NULL)                         \
	X(EARLY_SKIPPED, "early_skipped", EARLY, "event=\"skipped\"", NULL)                         \
	/* handshaker connections accepted */                                                      \
	X(HANDSHAKERS, "handshakers", LINKS, "", NULL)                                             \
	/* closed at once: SO_PEERCRED not an allowed user */                                      \
	X(HANDSHAKERS_REFUSED, "handshakers_refused", LINKS_REFUSED, "", NULL)                     \
	/* directions relayed with splice, with read/write */                                      \
	X(SPLICE_DIRS, "splice_dirs", DIRECTIONS, "method=\"splice\"", NULL)                       \
	X(COPY_DIRS, "copy_dirs", DIRECTIONS, "method=\"copy\"", NULL)                             \
	/* client → upstream, upstream → client payload bytes */                                   \
	X(BYTES_UP, "bytes_up", BYTES, "direction=\"up\"", "bytes up")                             \
	X(BYTES_DOWN, "bytes_down", BYTES, "direction=\"down\"", "bytes down")                     \
	/* request heads forwarded in http mode */                                                 \
	X(HTTP_REQUESTS, "http_requests", HTTP_REQUESTS, "", "http requests")                      \
	/* local answers (4xx/5xx) in http mode */                                                 \
	X(HTTP_LOCAL, "http_local", HTTP_LOCAL, "", NULL)                                          \
	/* upstream connect failures, by kind */                                                   \
	X(CONNECT_REFUSED, "connect_refused", CONNECT_FAILURES, "reason=\"refused\"", NULL)        \
	X(CONNECT_TIMEOUT, "connect_timeout", CONNECT_FAILURES, "reason=\"timeout\"", NULL)        \
	X(CONNECT_ERROR, "connect_error", CONNECT_FAILURES, "reason=\"error\"", NULL)              \
	/* hand-off received → upstream connected: sum in µs, count, histogram */                  \
	X(UPSTREAM_READY_US, "upstream_ready_us", NONE, "", NULL)                                  \
	X(UPSTREAM_READY_N, "upstream_ready_n", NONE, "", NULL)                                    \
	X(READY_LE_16US, "ready_le_16us", READY, "1.6e-05", NULL)                                  \
	X(READY_LE_32US, "ready_le_32us", READY, "3.2e-05", NULL)                                  \
	X(READY_LE_64US, "ready_le_64us", READY, "6.4e-05", NULL)                                  \
	X(READY_LE_128US, "ready_le_128us", READY, "0.000128", NULL)                               \
	X(READY_LE_256US, "ready_le_256us", READY, "0.000256", NULL)                               \
	X(READY_OVER_256US, "ready_over_256us", READY, "", NULL)                                   \
	/* pipes: made and closed (held = opened - closed, pooled or in use);                 \
	 * taken by a direction for a transfer and given back (in use = taken -               \
	 * returned) */                                                                        \
	X(PIPES_OPENED, "pipes_opened", PIPES, "event=\"opened\"", NULL)                            \
	X(PIPES_CLOSED, "pipes_closed", PIPES, "event=\"closed\"", NULL)                            \
	X(PIPES_TAKEN, "pipes_taken", PIPES, "event=\"taken\"", NULL)                               \
	X(PIPES_RETURNED, "pipes_returned", PIPES, "event=\"returned\"", NULL)                      \
	TS_PX_CLOSES(TS_PX_CLOSE_COUNTER, X)

#endif /* TS_COUNTERS_H */
