// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* PROXY protocol v2 header encoder (haproxy.org proxy-protocol.txt, section 2.2). */
#include "pp2.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

static const uint8_t pp2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

#define PP2_VERSION_PROXY 0x21 /* version 2, command PROXY */
#define PP2_FAM_UNSPEC 0x00
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21
#define PP2_FAM_UNIX_STREAM 0x31
#define PP2_TLV_HDR_LEN 3 /* type, length high byte, length low byte */

#define PP2_ADDR4_LEN 12
#define PP2_ADDR6_LEN 36
#define PP2_UNIX_PATH_LEN 108

int ts_pp2_tlvs_valid(const uint8_t *tlv, size_t len)
{
	size_t off = 0;

	while (off < len) {
		if (len - off < PP2_TLV_HDR_LEN)
			return -EINVAL;
		size_t vlen = ((size_t)tlv[off + 1] << 8) | tlv[off + 2];
		if (len - off - PP2_TLV_HDR_LEN < vlen)
			return -EINVAL;
		off += PP2_TLV_HDR_LEN + vlen;
	}
	return 0;
}

/* Fills the address block; returns its length and sets *fam. */
static size_t pp2_addresses(uint8_t *a, const struct sockaddr *src,
			    const struct sockaddr *dst, uint8_t *fam)
{
	*fam = PP2_FAM_UNSPEC;
	if (!src || !dst || src->sa_family != dst->sa_family)
		return 0;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;
		memcpy(a, &s->sin_addr, 4);
		memcpy(a + 4, &d->sin_addr, 4);
		memcpy(a + 8, &s->sin_port, 2); /* already network order */
		memcpy(a + 10, &d->sin_port, 2);
		*fam = PP2_FAM_TCP4;
		return PP2_ADDR4_LEN;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;
		memcpy(a, &s->sin6_addr, 16);
		memcpy(a + 16, &d->sin6_addr, 16);
		memcpy(a + 32, &s->sin6_port, 2);
		memcpy(a + 34, &d->sin6_port, 2);
		*fam = PP2_FAM_TCP6;
		return PP2_ADDR6_LEN;
	}
	if (src->sa_family == AF_UNIX) {
		const struct sockaddr_un *s = (const void *)src, *d = (const void *)dst;
		memset(a, 0, 2 * PP2_UNIX_PATH_LEN);
		memcpy(a, s->sun_path, PP2_UNIX_PATH_LEN);
		memcpy(a + PP2_UNIX_PATH_LEN, d->sun_path, PP2_UNIX_PATH_LEN);
		*fam = PP2_FAM_UNIX_STREAM;
		return 2 * PP2_UNIX_PATH_LEN;
	}
	return 0;
}

ssize_t ts_pp2_encode(uint8_t *out, size_t cap, const struct sockaddr *src,
		      const struct sockaddr *dst, const uint8_t *tlv, size_t tlv_len)
{
	uint8_t addr[TS_PP2_ADDR_MAX];
	uint8_t fam;
	size_t alen = pp2_addresses(addr, src, dst, &fam);
	size_t payload = alen + tlv_len;

	if (tlv_len && ts_pp2_tlvs_valid(tlv, tlv_len) < 0)
		return -EINVAL;
	if (payload > TS_PP2_PAYLOAD_MAX || cap < TS_PP2_FIXED_LEN + payload)
		return -ENOSPC;
	memcpy(out, pp2_signature, sizeof(pp2_signature));
	out[12] = PP2_VERSION_PROXY;
	out[13] = fam;
	out[14] = (uint8_t)(payload >> 8);
	out[15] = (uint8_t)payload;
	memcpy(out + TS_PP2_FIXED_LEN, addr, alen);
	if (tlv_len)
		memcpy(out + TS_PP2_FIXED_LEN + alen, tlv, tlv_len);
	return (ssize_t)(TS_PP2_FIXED_LEN + payload);
}
