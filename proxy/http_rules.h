/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The request rules both HTTP front ends apply (HTTP/1.x in http_inject.c,
 * HTTP/2 in h2_conn.c): canonical field names, the fields a client never
 * sets for the upstream, the authority's syntax, and the proxy's own
 * forwarding fields. Pure functions, no state.
 */
#ifndef TS_HTTP_RULES_H
#define TS_HTTP_RULES_H

#include <stddef.h>
#include <sys/types.h>

/* Whether name (len bytes) equals ref (NUL terminated) canonically: ASCII
 * case-folded, '_' equal to '-' (CGI and WSGI servers, and nginx with
 * underscores_in_headers, read both alike). */
int ts_http_name_eq(const char *name, size_t len, const char *ref);

/* Whether name is canonically in the NULL-terminated list (NULL: empty). */
int ts_http_name_in(const char *const *list, const char *name, size_t len);

/* Whether name is a forwarding field the proxy sets itself or removes
 * (Forwarded, X-Forwarded-For/-Proto/-Host, X-Real-IP). */
int ts_http_forwarding_name(const char *name, size_t len);

/*
 * An authority (RFC 3986, 3.2): host [":" port], no userinfo. The host is a
 * reg-name of letters, digits and "-._~", or an IP literal; the port, when
 * present, 1 to 65535. Sets *host_len to the host part. Returns 0 or 400.
 */
int ts_http_parse_authority(const char *a, size_t len, size_t *host_len);

/*
 * Writes the proxy's forwarding field lines for a client's numeric address
 * ("X-Forwarded-For", "X-Forwarded-Proto: https", "Forwarded"), each
 * "Name: value\r\n", NUL terminated. Returns the length, or -EINVAL when
 * they do not fit in cap.
 */
ssize_t ts_http_forwarding_lines(const char *client_addr, char *out, size_t cap);

/* Room ts_http_forwarding_lines() needs for an address of len bytes. */
#define TS_HTTP_FORWARDING_MAX(len) (3 * (len) + 128)

#endif /* TS_HTTP_RULES_H */
