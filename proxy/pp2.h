/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * PROXY protocol v2 header encoder: the fixed header, the address block for
 * the client's original addresses, and an already encoded TLV block
 * (the hand-off's metadata) appended unchanged.
 */
#ifndef TS_PP2_H
#define TS_PP2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Signature (12) + version/command (1) + family (1) + length (2). */
#define TS_PP2_FIXED_LEN 16
/* Largest address block: two sun_path[108] for AF_UNIX. */
#define TS_PP2_ADDR_MAX 216
/* The length field is 16 bits and counts addresses and TLVs. */
#define TS_PP2_PAYLOAD_MAX 65535
#define TS_PP2_HEADER_MAX (TS_PP2_FIXED_LEN + TS_PP2_PAYLOAD_MAX)

/* 0 when tlv[0..len) is a sequence of complete TLVs, -EINVAL otherwise. */
int ts_pp2_tlvs_valid(const uint8_t *tlv, size_t len);

/*
 * Writes a PROXY command header into out. src/dst are the client's and the
 * listener's addresses; when they are absent or not of one family that
 * PROXY v2 can carry with TCP, the family is UNSPEC (receivers then use the
 * connection's own addresses, as the spec says). Returns the header length,
 * -ENOSPC when cap is too small or the payload exceeds 16 bits, -EINVAL for a
 * malformed TLV block.
 */
ssize_t ts_pp2_encode(uint8_t *out, size_t cap, const struct sockaddr *src,
		      const struct sockaddr *dst, const uint8_t *tlv, size_t tlv_len);

#endif /* TS_PP2_H */
