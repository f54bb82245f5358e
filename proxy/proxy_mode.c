// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What each route mode adds to the client→upstream direction: a PROXY v2
 * header carrying the hand-off TLVs (proxy-v2), the request rewriting with
 * the client-certificate headers (http), or nothing (raw).
 */
#include "proxy_mode.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cert_headers.h"
#include "http_inject.h"
#include "http_rules.h"
#include "name.h"
#include "pp2.h"

/* The hand-off's address TLV as a socket address; the socket's own address
 * when the TLV is absent (kTLS mode hands over the TCP socket itself). */
static const struct sockaddr *ts_addr_sockaddr(const struct ts_addr *a,
					       struct sockaddr_storage *ss, int fd, int peer)
{
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a->addr, 4);
		s->sin_port = htons(a->port);
		return (struct sockaddr *)ss;
	}
	if (a->family == 6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->addr, 16);
		s->sin6_port = htons(a->port);
		return (struct sockaddr *)ss;
	}
	if ((peer ? getpeername(fd, (struct sockaddr *)ss, &len)
		  : getsockname(fd, (struct sockaddr *)ss, &len)) == 0 &&
	    (ss->ss_family == AF_INET || ss->ss_family == AF_INET6))
		return (struct sockaddr *)ss;
	return NULL;
}

static int setup_proxy_v2(struct px_conn *c, const struct ts_handoff *h)
{
	struct sockaddr_storage src, dst;
	const struct sockaddr *s = ts_addr_sockaddr(&h->meta.peer, &src, c->client.fd, 1);
	const struct sockaddr *d = ts_addr_sockaddr(&h->meta.local, &dst, c->client.fd, 0);
	size_t cap = TS_PP2_FIXED_LEN + TS_PP2_ADDR_MAX + h->tlv_len;
	uint8_t *hdr = malloc(cap);
	ssize_t n;
	int rc;

	if (!hdr)
		return -ENOMEM;
	n = ts_pp2_encode(hdr, cap, s, d, h->tlv, h->tlv_len);
	rc = n < 0 ? (int)n : px_dir_queue(&c->up, hdr, (size_t)n);
	free(hdr);
	return rc;
}

/* Two policy entries are the same policy when they ask the same of the
 * client and send it to the same place: action, client-CA set and route.
 * (The server certificate does not matter here.) Comparing entries by
 * identity alone would, for instance, refuse every request on a connection
 * without SNI, whose entry is @no-sni. */
static bool same_policy(const struct ts_cfg_policy *a, const struct ts_cfg_policy *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	return a->value.action == b->value.action && a->value.ca_id == b->value.ca_id &&
	       a->value.route_id == b->value.route_id;
}

/* Host → policy with the lookup the handshaker used for the SNI; another
 * policy is a misdirected request (RFC 9110, 15.5.20). */
int px_mode_host_check(void *ctx, const char *host, size_t len)
{
	struct px_conn *c = ctx;
	char name[TS_NAME_SIZE];
	struct ts_policy_value v;
	enum ts_match m;
	size_t n = len;

	if (len && host[0] == '[')
		return 400; /* an IPv6 literal is no host name any policy can hold */
	for (size_t i = 0; i < len; i++)
		if (host[i] == ':') {
			n = i;
			break;
		}
	int nl = ts_name_normalise(host, n, name);
	if (nl < 0)
		return 400;
	return same_policy(ts_config_decide(c->gen->cfg, name, (size_t)nl, &v, &m), c->policy)
		       ? 0
		       : 421;
}

/* The client's numeric address for the forwarding fields, or NULL. */
static const char *client_addr(const struct ts_handoff *h, int fd, char *buf)
{
	struct sockaddr_storage ss;
	const struct sockaddr *sa = ts_addr_sockaddr(&h->meta.peer, &ss, fd, 1);

	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
				 INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			 INET6_ADDRSTRLEN);
}

static int http_filter(void *ctx, const char *in, size_t in_len, char *out, size_t *out_len,
		       size_t out_cap, size_t *consumed)
{
	struct ts_http_inject *h = ctx;

	return ts_http_inject_feed(h, in, in_len, out, out_len, out_cap, consumed);
}

static int setup_http(struct px_conn *c, const struct ts_handoff *h)
{
	struct ts_kong_names kong;
	char *headers = NULL, sni[TS_NAME_SIZE] = "", addr[INET6_ADDRSTRLEN];
	ssize_t n;

	/* only HTTP/1.x is parsed: an h2 connection would pass unrewritten */
	if (h->meta.alpn.len && !(h->meta.alpn.len == 8 && !memcmp(h->meta.alpn.p, "http/1.1", 8)) &&
	    !(h->meta.alpn.len == 8 && !memcmp(h->meta.alpn.p, "http/1.0", 8)))
		return -EPROTO;
	ts_kong_names_of(c->route, &kong);
	n = ts_cert_headers(c->route->headers, &kong, &h->meta, &headers);
	if (n < 0)
		return (int)n;
	if (h->meta.authority.len < sizeof(sni)) {
		memcpy(sni, h->meta.authority.p, h->meta.authority.len);
		sni[h->meta.authority.len] = '\0';
	}
	c->http = ts_http_inject_new(&(struct ts_http_opts){
		.inject = headers,
		.inject_len = (size_t)n,
		.strip = (const char *const *)c->gen->strip,
		.check = px_mode_host_check,
		.ctx = c,
		.sni = sni,
		.client_addr = c->route->no_forwarded ? NULL : client_addr(h, c->client.fd, addr),
	});
	free(headers);
	if (!c->http)
		return -ENOMEM;
	return px_dir_set_filter(&c->up, http_filter, c->http, PX_HTTP_IN_BUF,
				 PX_COPY_BUF + ts_http_inject_reserve(c->http));
}

int px_mode_http_lines(struct px_conn *c, const struct ts_handoff *h, char **out, size_t *len)
{
	struct ts_kong_names kong;
	char *headers = NULL, addr[INET6_ADDRSTRLEN];
	const char *a = c->route->no_forwarded ? NULL : client_addr(h, c->client.fd, addr);
	ssize_t n, f = 0;
	size_t cap;

	ts_kong_names_of(c->route, &kong);
	n = ts_cert_headers(c->route->headers, &kong, &h->meta, &headers);
	if (n < 0)
		return (int)n;
	cap = (size_t)n + (a ? TS_HTTP_FORWARDING_MAX(strlen(a)) : 0) + 1;
	*out = realloc(headers, cap);
	if (!*out) {
		free(headers);
		return -ENOMEM;
	}
	if (a)
		f = ts_http_forwarding_lines(a, *out + n, cap - (size_t)n);
	if (f < 0)
		return (int)f;
	*len = (size_t)(n + f);
	return 0;
}

int px_mode_setup(struct px_conn *c, const struct ts_handoff *h)
{
	switch (c->route->mode) {
	case TS_META_PROXY_V2:
		return setup_proxy_v2(c, h);
	case TS_META_HTTP:
		return setup_http(c, h);
	case TS_META_RAW:
		return 0;
	}
	return -EINVAL;
}
