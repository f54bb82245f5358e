// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The hand-off: PROXY v2 TLV build/parse and fd passing over SOCK_SEQPACKET. */
#include "ts_handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The listening socket's file: the proxy's user and group may connect. */
#define TS_HANDOFF_SOCKET_MODE 0660
/* Largest value one TLV can carry: its length field is 16 bits. */
#define TLV_VALUE_MAX 0xffff

void ts_tlv_init(struct ts_tlv_buf *b, uint8_t *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->err = 0;
}

static int tlv_room(struct ts_tlv_buf *b, size_t len)
{
	if (b->err)
		return 0;
	if (len > TLV_VALUE_MAX || b->cap - b->len < TS_TLV_HDR + len) {
		b->err = -EMSGSIZE;
		return 0;
	}
	return 1;
}

static void put_hdr(uint8_t *p, uint8_t type, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
}

void ts_tlv_add(struct ts_tlv_buf *b, uint8_t type, const void *val, size_t len)
{
	if (!tlv_room(b, len))
		return;
	put_hdr(b->p + b->len, type, len);
	if (len)
		memcpy(b->p + b->len + TS_TLV_HDR, val, len);
	b->len += TS_TLV_HDR + len;
}

void ts_tlv_add_str(struct ts_tlv_buf *b, uint8_t type, const char *s)
{
	ts_tlv_add(b, type, s, strlen(s));
}

void ts_tlv_add_u8(struct ts_tlv_buf *b, uint8_t type, uint8_t v)
{
	ts_tlv_add(b, type, &v, 1);
}

void ts_tlv_add_u16(struct ts_tlv_buf *b, uint8_t type, uint16_t v)
{
	uint8_t be[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	ts_tlv_add(b, type, be, sizeof(be));
}

void ts_tlv_add_addr(struct ts_tlv_buf *b, uint8_t type, const struct ts_addr *a)
{
	uint8_t v[1 + 16 + 2];
	size_t alen = a->family == 6 ? 16 : 4;

	if (a->family != 4 && a->family != 6) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	v[0] = a->family;
	memcpy(v + 1, a->addr, alen);
	v[1 + alen] = (uint8_t)(a->port >> 8);
	v[2 + alen] = (uint8_t)a->port;
	ts_tlv_add(b, type, v, 3 + alen);
}

size_t ts_tlv_open(struct ts_tlv_buf *b, uint8_t type)
{
	size_t mark = b->len;

	if (tlv_room(b, 0)) {
		put_hdr(b->p + b->len, type, 0);
		b->len += TS_TLV_HDR;
	}
	return mark;
}

static void put64(uint8_t *p, uint64_t v);

void ts_tlv_add_u64(struct ts_tlv_buf *b, uint8_t type, uint64_t v)
{
	uint8_t be[8];

	put64(be, v);
	ts_tlv_add(b, type, be, sizeof(be));
}

size_t ts_tlv_open_mode(struct ts_tlv_buf *b, uint8_t mode)
{
	size_t mark = ts_tlv_open(b, TS_PP2_TYPE_MODE);

	if (!b->err && b->cap - b->len >= 1)
		b->p[b->len++] = mode;
	else if (!b->err)
		b->err = -EMSGSIZE;
	return mark;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void ts_tlv_add_records(struct ts_tlv_buf *b, const struct ts_rec_params *p)
{
	uint8_t v[TS_RECORDS_FIXED_LEN + 2 * TS_REC_SECRET_MAX];
	size_t slen = p->rx.secret_len;

	if (slen == 0 || slen > TS_REC_SECRET_MAX || p->tx.secret_len != slen) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	v[0] = (uint8_t)(p->suite >> 8);
	v[1] = (uint8_t)p->suite;
	put64(v + 2, p->rx.seq);
	put64(v + 10, p->tx.seq);
	v[18] = (uint8_t)slen;
	memcpy(v + TS_RECORDS_FIXED_LEN, p->rx.secret, slen);
	memcpy(v + TS_RECORDS_FIXED_LEN + slen, p->tx.secret, slen);
	ts_tlv_add(b, TS_PP2_SUBTYPE_RECORDS, v, TS_RECORDS_FIXED_LEN + 2 * slen);
	explicit_bzero(v, sizeof(v));
}

size_t ts_tlv_open_ssl(struct ts_tlv_buf *b, uint8_t client, uint32_t verify)
{
	size_t mark = ts_tlv_open(b, PP2_TYPE_SSL);
	uint8_t head[5] = { client, (uint8_t)(verify >> 24), (uint8_t)(verify >> 16),
			    (uint8_t)(verify >> 8), (uint8_t)verify };

	/* the SSL value starts with fixed fields before its sub-TLVs */
	if (!b->err && b->cap - b->len >= sizeof(head)) {
		memcpy(b->p + b->len, head, sizeof(head));
		b->len += sizeof(head);
	} else if (!b->err) {
		b->err = -EMSGSIZE;
	}
	return mark;
}

void ts_tlv_close(struct ts_tlv_buf *b, size_t mark)
{
	size_t inner;

	if (b->err)
		return;
	inner = b->len - mark - TS_TLV_HDR;
	if (inner > TLV_VALUE_MAX) {
		b->err = -EMSGSIZE;
		return;
	}
	put_hdr(b->p + mark, b->p[mark], inner);
}

long ts_tlv_finish(const struct ts_tlv_buf *b)
{
	return b->err ? b->err : (long)b->len;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set_bytes(struct ts_bytes *dst, const uint8_t *v, uint16_t len)
{
	dst->p = v;
	dst->len = len;
}

static int parse_addr(struct ts_addr *a, const uint8_t *v, uint16_t len)
{
	size_t alen;

	if (len < 1 || (v[0] != 4 && v[0] != 6))
		return -EBADMSG;
	alen = v[0] == 6 ? 16 : 4;
	if (len != 3 + alen)
		return -EBADMSG;
	memset(a, 0, sizeof(*a));
	a->family = v[0];
	memcpy(a->addr, v + 1, alen);
	a->port = get16(v + 1 + alen);
	return 0;
}

/* Walks a TLV sequence calling fn for each entry; rejects truncation. */
static int tlv_walk(const uint8_t *p, size_t len,
		    int (*fn)(uint8_t type, const uint8_t *v, uint16_t l, struct ts_handoff_meta *m),
		    struct ts_handoff_meta *m)
{
	size_t off = 0;

	while (off < len) {
		uint16_t l;
		int err;

		if (len - off < TS_TLV_HDR)
			return -EBADMSG;
		l = get16(p + off + 1);
		if (len - off - TS_TLV_HDR < l)
			return -EBADMSG;
		err = fn(p[off], p + off + TS_TLV_HDR, l, m);
		if (err)
			return err;
		off += TS_TLV_HDR + l;
	}
	return 0;
}

static int ssl_sub(uint8_t type, const uint8_t *v, uint16_t l, struct ts_handoff_meta *m)
{
	switch (type) {
	case PP2_SUBTYPE_SSL_VERSION: set_bytes(&m->version, v, l); break;
	case PP2_SUBTYPE_SSL_CN: set_bytes(&m->cn, v, l); break;
	case PP2_SUBTYPE_SSL_CIPHER: set_bytes(&m->cipher, v, l); break;
	case PP2_SUBTYPE_SSL_SIG_ALG: set_bytes(&m->sig_alg, v, l); break;
	case PP2_SUBTYPE_SSL_KEY_ALG: set_bytes(&m->key_alg, v, l); break;
	default: break;
	}
	return 0;
}

static int parse_ssl(const uint8_t *v, uint16_t l, struct ts_handoff_meta *m)
{
	/* client flags (1) + verify (4) precede the sub-TLVs */
	if (l < 5)
		return -EBADMSG;
	m->has_ssl = 1;
	m->ssl_client = v[0];
	m->ssl_verify = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 8 | v[4];
	return tlv_walk(v + 5, l - 5, ssl_sub, m);
}

static int mode_sub(uint8_t type, const uint8_t *v, uint16_t l, struct ts_handoff_meta *m)
{
	if (type != TS_PP2_SUBTYPE_GENERATION)
		return 0; /* unknown: skipped */
	if (l != TS_GENERATION_LEN)
		return -EBADMSG;
	m->generation = 0;
	for (int i = 0; i < TS_GENERATION_LEN; i++)
		m->generation = m->generation << 8 | v[i];
	return 0;
}

/* The mode byte, then sub-TLVs (a sender before them sent the byte alone). */
static int parse_mode(const uint8_t *v, uint16_t l, struct ts_handoff_meta *m)
{
	if (l < 1)
		return -EBADMSG;
	m->mode = v[0];
	return tlv_walk(v + 1, l - 1, mode_sub, m);
}

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* The chain must be whole: non-empty certificates whose lengths add up
 * exactly, no more than the sender may send. */
static int parse_chain(struct ts_bytes *dst, const uint8_t *v, uint16_t l)
{
	size_t off = 0;
	int n = 0;

	while (off < l) {
		uint32_t cl;

		if (l - off < TS_CHAIN_LEN_BYTES)
			return -EBADMSG;
		cl = get24(v + off);
		off += TS_CHAIN_LEN_BYTES;
		if (cl == 0 || cl > l - off || ++n > TS_CHAIN_MAX_CERTS)
			return -EBADMSG;
		off += cl;
	}
	if (n == 0 || l > TS_CHAIN_MAX)
		return -EBADMSG;
	set_bytes(dst, v, l);
	return 0;
}

int ts_handoff_chain_next(const struct ts_bytes *chain, size_t *off, struct ts_bytes *cert)
{
	uint32_t cl;

	if (*off + TS_CHAIN_LEN_BYTES > chain->len)
		return 0;
	cl = get24(chain->p + *off);
	if (cl > chain->len - *off - TS_CHAIN_LEN_BYTES)
		return 0; /* not from ts_handoff_parse(): stop rather than overrun */
	cert->p = chain->p + *off + TS_CHAIN_LEN_BYTES;
	cert->len = (uint16_t)cl;
	*off += TS_CHAIN_LEN_BYTES + cl;
	return 1;
}

static int want_len(uint16_t l, uint16_t n)
{
	return l == n ? 0 : -EBADMSG;
}

static int top_tlv(uint8_t type, const uint8_t *v, uint16_t l, struct ts_handoff_meta *m)
{
	switch (type) {
	case PP2_TYPE_ALPN: set_bytes(&m->alpn, v, l); return 0;
	case PP2_TYPE_AUTHORITY: set_bytes(&m->authority, v, l); return 0;
	case PP2_TYPE_SSL: return parse_ssl(v, l, m);
	case TS_PP2_TYPE_POLICY: set_bytes(&m->policy, v, l); return 0;
	case TS_PP2_TYPE_CERT: set_bytes(&m->cert, v, l); return 0;
	case TS_PP2_TYPE_SUBJECT: set_bytes(&m->subject, v, l); return 0;
	case TS_PP2_TYPE_ISSUER: set_bytes(&m->issuer, v, l); return 0;
	case TS_PP2_TYPE_SERIAL: set_bytes(&m->serial, v, l); return 0;
	case TS_PP2_TYPE_PEER: return parse_addr(&m->peer, v, l);
	case TS_PP2_TYPE_LOCAL: return parse_addr(&m->local, v, l);
	case TS_PP2_TYPE_CHAIN: return parse_chain(&m->chain, v, l);
	default: break;
	}
	switch (type) {
	case TS_PP2_TYPE_FINGERPRINT:
		m->fingerprint = v;
		return want_len(l, TS_FINGERPRINT_LEN);
	case TS_PP2_TYPE_ROUTE: m->route_id = l == 2 ? get16(v) : 0; return want_len(l, 2);
	case TS_PP2_TYPE_CERT_ID: m->cert_id = l == 2 ? get16(v) : 0; return want_len(l, 2);
	case TS_PP2_TYPE_CA_ID: m->ca_id = l == 2 ? get16(v) : 0; return want_len(l, 2);
	case TS_PP2_TYPE_ACTION: m->action = l ? v[0] : 0; return want_len(l, 1);
	case TS_PP2_TYPE_MODE: return parse_mode(v, l, m);
	case TS_PP2_TYPE_MATCH: m->match = l ? v[0] : 0; return want_len(l, 1);
	case TS_PP2_TYPE_RESUMED: m->resumed = l ? v[0] : 0; return want_len(l, 1);
	default: return 0; /* unknown: skipped, so newer senders stay readable */
	}
}

int ts_handoff_parse(const uint8_t *tlv, size_t len, struct ts_handoff_meta *m)
{
	memset(m, 0, sizeof(*m));
	return tlv_walk(tlv, len, top_tlv, m);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int parse_records(const uint8_t *v, uint16_t l, struct ts_rec_params *p)
{
	size_t slen;

	if (l < TS_RECORDS_FIXED_LEN)
		return -EBADMSG;
	slen = v[18];
	if (slen == 0 || slen > TS_REC_SECRET_MAX || l != TS_RECORDS_FIXED_LEN + 2 * slen)
		return -EBADMSG;
	p->suite = get16(v);
	p->rx.seq = get64(v + 2);
	p->tx.seq = get64(v + 10);
	p->rx.secret_len = p->tx.secret_len = (uint8_t)slen;
	memcpy(p->rx.secret, v + TS_RECORDS_FIXED_LEN, slen);
	memcpy(p->tx.secret, v + TS_RECORDS_FIXED_LEN + slen, slen);
	return 0;
}

/* Removes n bytes at off from a block of *len bytes, wiping the tail the
 * move leaves behind. */
static void cut(uint8_t *p, size_t *len, size_t off, size_t n)
{
	memmove(p + off, p + off + n, *len - off - n);
	*len -= n;
	explicit_bzero(p + *len, n);
}

/* Moves the RECORDS sub-TLVs of the MODE TLV at mode_off into h->records,
 * patching that TLV's length. */
static int take_mode_records(uint8_t *p, size_t *len, size_t mode_off, struct ts_handoff *h)
{
	size_t mode_len = get16(p + mode_off + 1), off = mode_off + TS_TLV_HDR + 1;

	if (mode_len < 1)
		return -EBADMSG;
	while (off < mode_off + TS_TLV_HDR + mode_len) {
		size_t end = mode_off + TS_TLV_HDR + mode_len;
		uint16_t l;

		if (end - off < TS_TLV_HDR || end - off - TS_TLV_HDR < (l = get16(p + off + 1)))
			return -EBADMSG;
		if (p[off] != TS_PP2_SUBTYPE_RECORDS) {
			off += TS_TLV_HDR + l;
			continue;
		}
		if (h->has_records || parse_records(p + off + TS_TLV_HDR, l, &h->records))
			return -EBADMSG;
		h->has_records = 1;
		cut(p, len, off, TS_TLV_HDR + l);
		mode_len -= TS_TLV_HDR + l;
		put_hdr(p + mode_off, TS_PP2_TYPE_MODE, mode_len);
	}
	return 0;
}

/* The secrets never stay in the forwardable block: every RECORDS sub-TLV
 * moves to h->records (at most one is valid). */
static int take_records(uint8_t *p, size_t *len, struct ts_handoff *h)
{
	size_t off = 0;

	while (off < *len) {
		int err;

		if (*len - off < TS_TLV_HDR || *len - off - TS_TLV_HDR < get16(p + off + 1))
			return -EBADMSG;
		if (p[off] == TS_PP2_TYPE_MODE && (err = take_mode_records(p, len, off, h)))
			return err;
		off += TS_TLV_HDR + get16(p + off + 1);
	}
	return 0;
}

int ts_handoff_send(int unix_fd, int conn_fd, const uint8_t *tlv, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)tlv, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	/* SCM_RIGHTS needs at least one data byte; the MODE TLV guarantees it */
	if (len == 0 || len > TS_HANDOFF_MAX)
		return -EINVAL;
	memset(u.buf, 0, sizeof(u.buf));
	if (conn_fd < 0) {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	} else {
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &conn_fd, sizeof(int));
	}
	do
		n = sendmsg(unix_fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Closes every fd in the control data; returns the single fd if there was
 * exactly one (kept open), else -1. */
static int take_fd(struct msghdr *msg)
{
	struct cmsghdr *c;
	int fd = -1, count = 0;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count++ == 0)
				fd = f;
			else
				close(f);
		}
	}
	if (count != 1 && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int ts_handoff_recv(int unix_fd, struct ts_handoff *out)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t *buf = malloc(TS_HANDOFF_MAX);
	struct iovec iov = { .iov_base = buf, .iov_len = TS_HANDOFF_MAX };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t n;
	size_t len;
	int fd, err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!buf)
		return -ENOMEM;
	do
		n = recvmsg(unix_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0 && msg.msg_controllen > 0) {
		/* an empty message can still carry fds: a bad message, not the
		 * sender's EOF, and its fds must be closed here or they leak */
		fd = take_fd(&msg);
		if (fd >= 0)
			close(fd);
		free(buf);
		return -EBADMSG;
	}
	if (n <= 0) {
		err = n == 0 ? -EPIPE : (errno == EWOULDBLOCK ? -EAGAIN : -errno);
		free(buf);
		return err;
	}
	fd = take_fd(&msg);
	len = (size_t)n;
	err = msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? -EBADMSG : 0;
	if (!err)
		err = take_records(buf, &len, out);
	if (!err)
		err = ts_handoff_parse(buf, len, &out->meta);
	/* a connection comes with exactly one fd, an early-connect message
	 * with none; the secrets come with records mode, and only there */
	if (!err && (ts_handoff_mode_early(out->meta.mode) ? fd >= 0 || msg.msg_controllen > 0 : fd < 0))
		err = -EBADMSG;
	if (!err && out->has_records != (out->meta.mode == TS_MODE_RECORDS))
		err = -EBADMSG;
	if (err) {
		if (fd >= 0)
			close(fd);
		explicit_bzero(buf, TS_HANDOFF_MAX);
		free(buf);
		explicit_bzero(out, sizeof(*out));
		out->fd = -1;
		return err;
	}
	out->fd = fd;
	out->tlv = buf;
	out->tlv_len = len;
	return 0;
}

void ts_handoff_release(struct ts_handoff *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->tlv);
	h->tlv = NULL;
	h->tlv_len = 0;
	explicit_bzero(&h->records, sizeof(h->records));
	h->has_records = 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len);
	return 0;
}

/* A hand-off socket (SOCK_SEQPACKET) and the address of path; fd or -errno. */
static int handoff_socket(const char *path, struct sockaddr_un *sa)
{
	int fd, err = unix_addr(path, sa);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* Closes fd after a failed call; that call's -errno. */
static int close_errno(int fd)
{
	int err = -errno;

	close(fd);
	return err;
}

int ts_handoff_listen(const char *path, int backlog)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = handoff_socket(path, &sa);

	if (fd < 0)
		return fd;
	/* a stale socket from a previous run; never remove anything else */
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	/* Whoever can connect can inject a connection with forged metadata:
	 * owner and group only. bind() creates the file with the umask applied
	 * (a mode set on the socket before it does not carry over), so the
	 * mode is set on the file after bind() and before listen(): until
	 * then a connect is refused whatever the mode. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, TS_HANDOFF_SOCKET_MODE) < 0 || listen(fd, backlog) < 0)
		return close_errno(fd);
	return fd;
}

int ts_handoff_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = handoff_socket(path, &sa);

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return close_errno(fd);
	return fd;
}
