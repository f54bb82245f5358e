/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client-certificate request headers an HTTP upstream reads, rendered
 * from hand-off metadata in one of three styles: Kong's TLS Metadata
 * Headers plugin, Envoy's x-forwarded-client-cert, RFC 9440.
 */
#ifndef TS_CERT_HEADERS_H
#define TS_CERT_HEADERS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "ts_handoff.h"

/* Kong's header names (its plugin makes each configurable). */
struct ts_kong_names {
	const char *cert;        /* URL-encoded PEM */
	const char *serial;      /* uppercase hex */
	const char *issuer_dn;   /* RFC 2253 */
	const char *subject_dn;  /* RFC 2253 */
	const char *fingerprint; /* SHA-1 of the DER, lowercase hex */
};

extern const struct ts_kong_names ts_kong_default_names;

/* A route's Kong names (its kong_headers:), Kong's default for each one it
 * does not set. The strings point into the route. */
void ts_kong_names_of(const struct ts_cfg_route *r, struct ts_kong_names *out);

/*
 * Renders the style's header lines ("Name: value\r\n" each) for the client
 * certificate in `m` into a malloc'd buffer *out (NUL terminated). No
 * verified certificate: *out is "" and the length 0. `kong` may be NULL for
 * the default names. Returns the length or a negative errno (-EBADMSG when the
 * certificate or a value from the metadata cannot go into a header).
 */
ssize_t ts_cert_headers(enum ts_header_style style, const struct ts_kong_names *kong,
			const struct ts_handoff_meta *m, char **out);

/*
 * Calls fn for each header name (lowercase) that any style may set, with the
 * Kong names given: the names whose client-supplied copies the proxy strips.
 */
void ts_cert_header_names(const struct ts_kong_names *kong,
			  void (*fn)(void *ctx, const char *name), void *ctx);

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns
 * the encoded length (out needs 3 * len + 1 bytes). */
size_t ts_url_encode(const char *in, size_t len, char *out);

#endif /* TS_CERT_HEADERS_H */
