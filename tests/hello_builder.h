/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Builds ClientHello byte streams for the parser tests: well-formed by
 * default, with knobs for each way a hello can be odd or broken. */
#ifndef TS_HELLO_BUILDER_H
#define TS_HELLO_BUILDER_H

#include <stddef.h>
#include <stdint.h>

struct hb_opts {
	const char *sni;      /* NULL: no server_name extension */
	size_t sni_len;       /* 0: strlen(sni) */
	const char *alpn;     /* comma-separated names; NULL: no ALPN extension */
	int grease;           /* GREASE extensions before and after */
	int sni_last;         /* server_name as the last extension */
	int duplicate_ext;    /* a second supported_groups extension */
	int second_host_name; /* two host_name entries in server_name */
	size_t padding;       /* bytes of a padding extension (RFC 7685), 0: none */
};

/* The handshake message (header + body). Returns its length. */
size_t hb_handshake(const struct hb_opts *o, uint8_t *out, size_t cap);
/* Wraps handshake bytes in records of at most `frag` bytes. Returns length. */
size_t hb_records(const uint8_t *hs, size_t len, size_t frag, uint8_t *out, size_t cap);
/* Both: a ClientHello in one record. */
size_t hb_hello(const struct hb_opts *o, uint8_t *out, size_t cap);
/* Offset in a one-record hello of the server_name extension's type field. */
size_t hb_sni_ext_offset(const uint8_t *hello, size_t len);

#endif /* TS_HELLO_BUILDER_H */
