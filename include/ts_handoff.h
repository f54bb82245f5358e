/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The hand-off between tagshake's handshaker and a proxy.
 *
 * Transport: a SOCK_SEQPACKET unix socket. The proxy listens on a path
 * (config `handoff.socket`); each handshaker worker keeps one connection to it
 * and sends ONE message per handed-off TCP connection:
 *
 *   - ancillary data: SCM_RIGHTS carrying exactly one fd, the connection. In
 *     kTLS mode it is the TCP socket itself (kTLS TX+RX installed: plain
 *     read/write/sendfile give plaintext). In records mode (no kTLS, TLS
 *     1.3) it is the TCP socket too, with no kernel TLS: the receiver runs
 *     the TLS 1.3 record layer itself (lib/tls_record.h) from the traffic
 *     secrets and sequence numbers of the TS_PP2_SUBTYPE_RECORDS sub-TLV;
 *     the handshaker has closed its copy and forgotten the connection, and
 *     sends no close_notify. In relay mode (no kTLS in the kernel, records
 *     mode off or not possible) it is one end of an AF_UNIX SOCK_STREAM
 *     socketpair whose other end the handshaker relays through userspace
 *     TLS: plaintext both ways, EOF when the client closes. getpeername()
 *     on a relay fd does not give the client address: use the
 *     TS_PP2_TYPE_PEER TLV. In every mode the fd arrives non-blocking
 *     (O_NONBLOCK set).
 *   - an early-connect message instead (TS_MODE_EARLY, TS_MODE_EARLY_CANCEL)
 *     carries no fd: sent only when the handshaker is configured with
 *     `handoff.early_connect: true`, and only for `none` policies, it tells
 *     the proxy, as soon as the ClientHello is decided, which connection
 *     (PEER and LOCAL, the TCP 4-tuple) will follow with which policy and
 *     generation, so that the proxy can open the upstream connection while
 *     the handshake finishes. EARLY_CANCEL (PEER, LOCAL) says that
 *     connection will not be handed off (the handshake failed, timed out or
 *     the hand-off failed): the proxy closes that upstream without sending
 *     a byte. A proxy that does not know these modes must not be sent them
 *     (the setting is off by default); tagshake-proxy also closes an unused
 *     one after timeouts.handshake + timeouts.handoff and when the link
 *     closes (docs/security.md, early connect).
 *   - payload: the metadata, a valid PROXY protocol v2 TLV sequence (the part
 *     of a PROXY v2 header that follows the addresses), at most
 *     TS_HANDOFF_MAX bytes and never empty (the MODE TLV is always present).
 *     A proxy can copy it unchanged behind its own PROXY v2 address block.
 *
 * TLV encoding (PROXY protocol v2, section 2.2.7): type (1 byte), length
 * (2 bytes, big endian), value. Numbers inside values are big endian. Strings
 * are not NUL terminated.
 *
 * Standard TLVs used (values from the PROXY protocol specification):
 *   PP2_TYPE_ALPN       0x01  the negotiated ALPN protocol (absent: none)
 *   PP2_TYPE_AUTHORITY  0x02  the SNI as OpenSSL parsed it, normalised
 *                             (lowercase, no trailing dot); absent: no SNI
 *   PP2_TYPE_SSL        0x20  client (1 byte: PP2_CLIENT_* flags),
 *                             verify (4 bytes: 0 = a client certificate was
 *                             presented and verified; otherwise the X509
 *                             verify result, or 1 when no certificate),
 *                             then sub-TLVs:
 *     PP2_SUBTYPE_SSL_VERSION 0x21  "TLSv1.3", "TLSv1.2"
 *     PP2_SUBTYPE_SSL_CN      0x22  client certificate subject CN (if any)
 *     PP2_SUBTYPE_SSL_CIPHER  0x23  OpenSSL cipher name
 *     PP2_SUBTYPE_SSL_SIG_ALG 0x24  client certificate signature algorithm
 *     PP2_SUBTYPE_SSL_KEY_ALG 0x25  client certificate key algorithm
 *
 * tagshake TLVs (PP2_TYPE_MIN_CUSTOM..PP2_TYPE_MAX_CUSTOM, 0xE0-0xEF):
 *   TS_PP2_TYPE_POLICY      0xE0  policy entry that decided: normalised SNI,
 *                                 "*.parent", "@default" or "@no-sni"
 *   TS_PP2_TYPE_ROUTE       0xE1  route id, 2 bytes (1-based, 0 = none)
 *   TS_PP2_TYPE_ACTION      0xE2  enum ts_action, 1 byte
 *   TS_PP2_TYPE_MODE        0xE3  enum ts_handoff_mode, 1 byte (always sent),
 *                                 then tagshake sub-TLVs (the layout of
 *                                 PP2_TYPE_SSL: fixed field, then sub-TLVs;
 *                                 the custom range has no free type left):
 *     TS_PP2_SUBTYPE_GENERATION 0x01  policy generation the decision was
 *                                 made with (ts_config.generation), 8 bytes
 *                                 big endian; the proxy refuses a hand-off
 *                                 whose generation it does not hold
 *     TS_PP2_SUBTYPE_RECORDS 0x02  TS_MODE_RECORDS only, and there always,
 *                                 exactly once: the record layer's state
 *                                 (include/ts_records.h), big endian:
 *                                 suite (2 bytes, TS_REC_*), rx seq (8),
 *                                 tx seq (8), secret length (1: 32 or 48),
 *                                 rx secret (the client's application
 *                                 traffic secret), tx secret (the
 *                                 server's). Secret: never forwarded.
 *                                 ts_handoff_recv() removes it from `tlv`
 *                                 (patching the MODE TLV's length, wiping
 *                                 the bytes) and hands it over in
 *                                 ts_handoff.records; ts_handoff_release()
 *                                 wipes that too. The sender wipes its
 *                                 copies once sent (docs/security.md).
 *   TS_PP2_TYPE_CERT        0xE4  client leaf certificate, DER
 *   TS_PP2_TYPE_FINGERPRINT 0xE5  SHA-256 of that DER, 32 bytes
 *   TS_PP2_TYPE_SUBJECT     0xE6  subject DN, RFC 2253 string
 *   TS_PP2_TYPE_ISSUER      0xE7  issuer DN, RFC 2253 string
 *   TS_PP2_TYPE_SERIAL      0xE8  serial number, uppercase hex, no separators
 *   TS_PP2_TYPE_CERT_ID     0xE9  certificate id served, 2 bytes
 *   TS_PP2_TYPE_CA_ID       0xEA  client-CA set id, 2 bytes
 *   TS_PP2_TYPE_RESUMED     0xEB  1 byte: 1 when the session was resumed
 *   TS_PP2_TYPE_PEER        0xEC  client address: family (1 byte, 4 or 6),
 *                                 address (4 or 16 bytes), port (2 bytes)
 *   TS_PP2_TYPE_LOCAL       0xED  local address, same layout as PEER
 *   TS_PP2_TYPE_MATCH       0xEE  enum ts_match, 1 byte
 *   TS_PP2_TYPE_CHAIN       0xEF  the certificates the client sent after its
 *                                 leaf, in TLS order: each one a 3-byte big
 *                                 endian length and its DER (the encoding of
 *                                 TLS's certificate_list). Absent when the
 *                                 client sent none; omitted whole, never cut,
 *                                 when it sent more than TS_CHAIN_MAX_CERTS,
 *                                 when they exceed TS_CHAIN_MAX bytes, or when
 *                                 the block has no room left for them.
 * The certificate TLVs are present whenever a client certificate was
 * verified, on full and on resumed handshakes alike (CHAIN only where the
 * session kept the chain: OpenSSL's session cache does, tickets do not).
 * A certificate presented but not verified (action request) sets the
 * PP2_CLIENT_CERT_* bits with a non-zero verify, and its certificate TLVs
 * (and the SSL CN, signature and key algorithm) are present only when the
 * policy's route says `unverified: forward` (docs/security.md).
 */
#ifndef TS_HANDOFF_H
#define TS_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "ts_records.h"

#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define PP2_SUBTYPE_SSL_KEY_ALG 0x25

#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

#define TS_PP2_TYPE_POLICY 0xE0
#define TS_PP2_TYPE_ROUTE 0xE1
#define TS_PP2_TYPE_ACTION 0xE2
#define TS_PP2_TYPE_MODE 0xE3
#define TS_PP2_TYPE_CERT 0xE4
#define TS_PP2_TYPE_FINGERPRINT 0xE5
#define TS_PP2_TYPE_SUBJECT 0xE6
#define TS_PP2_TYPE_ISSUER 0xE7
#define TS_PP2_TYPE_SERIAL 0xE8
#define TS_PP2_TYPE_CERT_ID 0xE9
#define TS_PP2_TYPE_CA_ID 0xEA
#define TS_PP2_TYPE_RESUMED 0xEB
#define TS_PP2_TYPE_PEER 0xEC
#define TS_PP2_TYPE_LOCAL 0xED
#define TS_PP2_TYPE_MATCH 0xEE
#define TS_PP2_TYPE_CHAIN 0xEF
/* Sub-TLVs of TS_PP2_TYPE_MODE. */
#define TS_PP2_SUBTYPE_GENERATION 0x01
#define TS_GENERATION_LEN 8
/* TS_MODE_RECORDS only: the traffic secrets and sequence numbers. Never
 * forwarded: ts_handoff_recv() removes it from the block (`tlv` stays
 * forwardable unchanged) and hands it over in ts_handoff.records. */
#define TS_PP2_SUBTYPE_RECORDS 0x02
/* Its value before the two secrets: suite, rx seq, tx seq, secret length. */
#define TS_RECORDS_FIXED_LEN (2 + 8 + 8 + 1)

/* Largest metadata block: a client certificate DER up to 16 KiB plus the
 * rest; a SOCK_SEQPACKET message this size fits the default socket buffer. */
#define TS_HANDOFF_MAX 32768
/* Size of one TLV header: type + 16-bit length. */
#define TS_TLV_HDR 3
#define TS_FINGERPRINT_LEN 32
/* TS_PP2_TYPE_CHAIN: length prefix of each certificate (as in TLS). */
#define TS_CHAIN_LEN_BYTES 3
/* Intermediates carried: real client chains have one or two; more is
 * unusual enough to leave out rather than let it crowd the block. */
#define TS_CHAIN_MAX_CERTS 4
/* Bytes of the CHAIN value: with a leaf of up to 16 KiB it still fits
 * TS_HANDOFF_MAX. */
#define TS_CHAIN_MAX 16384

enum ts_handoff_mode {
	TS_MODE_KTLS = 0,  /* the fd is the TCP socket with kTLS TX+RX */
	TS_MODE_RELAY = 1, /* the fd is a socketpair end; userspace TLS behind it */
	TS_MODE_EARLY = 2, /* no fd: this connection (PEER, LOCAL) will follow */
	TS_MODE_EARLY_CANCEL = 3, /* no fd: that connection will not follow */
	TS_MODE_RECORDS = 4, /* the fd is the TCP socket, no kTLS: the receiver
			      * runs the TLS 1.3 record layer (lib/tls_record.h)
			      * from the secrets of TS_PP2_SUBTYPE_RECORDS */
};

/* A message without a connection: early connect and its cancel. */
static inline int ts_handoff_mode_early(uint8_t mode)
{
	return mode == TS_MODE_EARLY || mode == TS_MODE_EARLY_CANCEL;
}

/* The mode's name in logs and in the sink's lines: who runs the record
 * layer of a handed-off connection (the kernel, tagshaked or the receiver),
 * or which early-connect message it is. */
static inline const char *ts_handoff_mode_name(uint8_t mode)
{
	switch (mode) {
	case TS_MODE_KTLS:
		return "ktls";
	case TS_MODE_RELAY:
		return "relay";
	case TS_MODE_RECORDS:
		return "records";
	case TS_MODE_EARLY:
		return "early";
	case TS_MODE_EARLY_CANCEL:
		return "early-cancel";
	default:
		return "unknown";
	}
}

/* A byte string inside a received TLV block (not NUL terminated). */
struct ts_bytes {
	const uint8_t *p;
	uint16_t len;
};

/* A socket address carried in TS_PP2_TYPE_PEER / TS_PP2_TYPE_LOCAL. */
struct ts_addr {
	uint8_t family; /* 0 absent, 4 or 6 */
	uint8_t addr[16];
	uint16_t port; /* host order */
};

/* Parsed metadata. Every ts_bytes points into `tlv`; absent fields have
 * len 0 (and numbers their documented "absent" value). */
struct ts_handoff_meta {
	struct ts_bytes authority, alpn;
	int has_ssl;
	uint8_t ssl_client;  /* PP2_CLIENT_* */
	uint32_t ssl_verify; /* 0 = client certificate verified */
	struct ts_bytes version, cn, cipher, sig_alg, key_alg;
	struct ts_bytes policy, cert, subject, issuer, serial;
	struct ts_bytes chain; /* TS_PP2_TYPE_CHAIN, validated; ts_handoff_chain_next() */
	const uint8_t *fingerprint; /* TS_FINGERPRINT_LEN bytes or NULL */
	uint16_t route_id, cert_id, ca_id; /* 0 = none/absent */
	uint8_t action;  /* enum ts_action, TS_ACTION_NONE when absent */
	uint8_t mode;    /* enum ts_handoff_mode */
	uint8_t match;   /* enum ts_match */
	uint8_t resumed; /* 0/1 */
	uint64_t generation; /* TS_PP2_SUBTYPE_GENERATION, 0 when absent */
	struct ts_addr peer, local;
};

/* One received hand-off. `tlv` is heap memory owned by the struct; release
 * with ts_handoff_release(). A proxy taking the fd sets out->fd = -1 first
 * or simply keeps it: release closes whatever fd is still >= 0. */
struct ts_handoff {
	int fd;
	uint8_t *tlv; /* the raw TLV block, forwardable unchanged */
	size_t tlv_len;
	struct ts_handoff_meta meta;
	/* TS_MODE_RECORDS (has_records 1, and only then): the record layer's
	 * state, taken out of `tlv`, for ts_rec_new(); release wipes it. */
	int has_records;
	struct ts_rec_params records;
};

/* TLV builder over caller memory. Errors are sticky: check ts_tlv_error()
 * (or ts_tlv_finish()) once at the end. */
struct ts_tlv_buf {
	uint8_t *p;
	size_t len, cap;
	int err; /* 0 or -EMSGSIZE / -EINVAL */
};

void ts_tlv_init(struct ts_tlv_buf *b, uint8_t *mem, size_t cap);
void ts_tlv_add(struct ts_tlv_buf *b, uint8_t type, const void *val, size_t len);
void ts_tlv_add_str(struct ts_tlv_buf *b, uint8_t type, const char *s);
void ts_tlv_add_u8(struct ts_tlv_buf *b, uint8_t type, uint8_t v);
void ts_tlv_add_u16(struct ts_tlv_buf *b, uint8_t type, uint16_t v);
void ts_tlv_add_addr(struct ts_tlv_buf *b, uint8_t type, const struct ts_addr *a);
/* A container TLV (PP2_TYPE_SSL): open returns a mark, close patches the
 * length once the nested values are added. */
size_t ts_tlv_open(struct ts_tlv_buf *b, uint8_t type);
/* Opens TS_PP2_TYPE_MODE and writes the mode byte; add its sub-TLVs, then
 * ts_tlv_close(). */
size_t ts_tlv_open_mode(struct ts_tlv_buf *b, uint8_t mode);
void ts_tlv_add_u64(struct ts_tlv_buf *b, uint8_t type, uint64_t v);
/* Inside the MODE TLV of a TS_MODE_RECORDS hand-off: the
 * TS_PP2_SUBTYPE_RECORDS sub-TLV (-EINVAL sticky when the secret lengths
 * differ or exceed TS_REC_SECRET_MAX). The builder's memory then holds the
 * secrets: wipe it after sending. */
void ts_tlv_add_records(struct ts_tlv_buf *b, const struct ts_rec_params *p);
/* Opens PP2_TYPE_SSL and writes its client flags and verify result. */
size_t ts_tlv_open_ssl(struct ts_tlv_buf *b, uint8_t client, uint32_t verify);
void ts_tlv_close(struct ts_tlv_buf *b, size_t mark);
/* Returns the block length, or a negative errno if any add failed. */
long ts_tlv_finish(const struct ts_tlv_buf *b);

/* Parses a TLV block (the hand-off payload) into `m`, pointing into `tlv`.
 * Unknown types are skipped (forward compatible). Returns 0 or -EBADMSG. */
int ts_handoff_parse(const uint8_t *tlv, size_t len, struct ts_handoff_meta *m);

/* Iterates over the certificates of a parsed chain: start with *off = 0;
 * returns 1 with *cert set to the next DER, 0 at the end. */
int ts_handoff_chain_next(const struct ts_bytes *chain, size_t *off, struct ts_bytes *cert);

/* Sends one hand-off: conn_fd as SCM_RIGHTS plus the TLV block (conn_fd
 * -1: no fd, for the early-connect modes). Does not
 * close conn_fd (the caller closes its copy after success). Returns 0,
 * -EAGAIN when unix_fd is non-blocking and full, or another negative errno
 * (-EPIPE/-ECONNREFUSED/-ENOTCONN: the proxy is gone). */
int ts_handoff_send(int unix_fd, int conn_fd, const uint8_t *tlv, size_t len);

/* Receives one hand-off. Returns 0 with *out filled; -EPIPE when the sender
 * closed; -EAGAIN on a non-blocking socket with nothing queued; -EBADMSG for
 * a message without exactly one fd (an early-connect mode: with any fd), or
 * with invalid TLVs, or a RECORDS sub-TLV missing from a TS_MODE_RECORDS
 * message, repeated or present in another mode (any received fd is
 * closed). An early-connect message returns 0 with out->fd -1 and
 * meta.mode saying which. */
int ts_handoff_recv(int unix_fd, struct ts_handoff *out);
void ts_handoff_release(struct ts_handoff *h);

/* Proxy side: a listening SOCK_SEQPACKET socket at path (unlinks a stale
 * one). Handshaker side: a connected one. Both return an fd (CLOEXEC) or a
 * negative errno. */
int ts_handoff_listen(const char *path, int backlog);
int ts_handoff_connect(const char *path);

#endif /* TS_HANDOFF_H */
