// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "hello_builder.h"

#include <assert.h>
#include <string.h>

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct out *o, const void *b, size_t n)
{
	assert(o->len + n <= o->cap);
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void put8(struct out *o, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(o, &b, 1);
}

static void put16(struct out *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v);
}

static void put24(struct out *o, unsigned v)
{
	put8(o, v >> 16);
	put16(o, v);
}

/* Writes a 16-bit length at `at` for everything after it. */
static void patch16(struct out *o, size_t at)
{
	size_t n = o->len - at - 2;

	o->p[at] = (uint8_t)(n >> 8);
	o->p[at + 1] = (uint8_t)n;
}

static void ext_sni(struct out *o, const struct hb_opts *h)
{
	size_t n = h->sni_len ? h->sni_len : strlen(h->sni), list;

	put16(o, 0);
	put16(o, 0);
	list = o->len;
	put16(o, 0);
	put8(o, 0);
	put16(o, n);
	put(o, h->sni, n);
	if (h->second_host_name) {
		put8(o, 0);
		put16(o, 5);
		put(o, "other", 5);
	}
	patch16(o, list);
	patch16(o, list - 2);
}

static void ext_alpn(struct out *o, const char *alpn)
{
	size_t list;
	const char *p = alpn;

	put16(o, 16);
	put16(o, 0);
	list = o->len;
	put16(o, 0);
	while (*p) {
		size_t n = strcspn(p, ",");

		put8(o, n);
		put(o, p, n);
		p += n + (p[n] == ',');
	}
	patch16(o, list);
	patch16(o, list - 2);
}

static void ext_plain(struct out *o, unsigned type, const void *body, size_t n)
{
	put16(o, type);
	put16(o, n);
	put(o, body, n);
}

static void extensions(struct out *o, const struct hb_opts *h)
{
	static const uint8_t groups[] = { 0, 4, 0, 0x1d, 0, 0x17 };
	static const uint8_t versions[] = { 4, 0x03, 0x04, 0x03, 0x03 };
	static const uint8_t zeros[16384];

	if (h->grease)
		ext_plain(o, 0x0a0a, NULL, 0);
	if (h->sni && !h->sni_last)
		ext_sni(o, h);
	ext_plain(o, 10, groups, sizeof(groups));
	if (h->alpn)
		ext_alpn(o, h->alpn);
	ext_plain(o, 43, versions, sizeof(versions));
	if (h->duplicate_ext)
		ext_plain(o, 10, groups, sizeof(groups));
	if (h->grease)
		ext_plain(o, 0xdada, "\0", 1);
	if (h->padding) {
		assert(h->padding <= sizeof(zeros));
		ext_plain(o, 21, zeros, h->padding);
	}
	if (h->sni && h->sni_last)
		ext_sni(o, h);
}

size_t hb_handshake(const struct hb_opts *h, uint8_t *buf, size_t cap)
{
	static const uint8_t suites[] = { 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b };
	struct out o = { buf, 0, cap };
	uint8_t random[32];
	size_t body, ext;

	memset(random, 0xab, sizeof(random));
	put8(&o, 1);
	put24(&o, 0);
	body = o.len;
	put16(&o, 0x0303);
	put(&o, random, sizeof(random));
	put8(&o, 32);
	put(&o, random, 32);
	put16(&o, sizeof(suites));
	put(&o, suites, sizeof(suites));
	put8(&o, 1);
	put8(&o, 0);
	ext = o.len;
	put16(&o, 0);
	extensions(&o, h);
	patch16(&o, ext);
	buf[1] = (uint8_t)((o.len - body) >> 16);
	buf[2] = (uint8_t)((o.len - body) >> 8);
	buf[3] = (uint8_t)(o.len - body);
	return o.len;
}

size_t hb_records(const uint8_t *hs, size_t len, size_t frag, uint8_t *buf, size_t cap)
{
	struct out o = { buf, 0, cap };

	for (size_t off = 0; off < len; off += frag) {
		size_t n = len - off < frag ? len - off : frag;

		put8(&o, 22);
		put16(&o, 0x0301);
		put16(&o, n);
		put(&o, hs + off, n);
	}
	return o.len;
}

size_t hb_hello(const struct hb_opts *o, uint8_t *out, size_t cap)
{
	static uint8_t hs[70000];
	size_t n = hb_handshake(o, hs, sizeof(hs));

	return hb_records(hs, n, 16384, out, cap);
}

size_t hb_sni_ext_offset(const uint8_t *hello, size_t len)
{
	/* record 5 + handshake 4 + version 2 + random 32 + sid 33 + suites 8 + comp 2 + ext len 2 */
	size_t off = 5 + 4 + 2 + 32 + 33 + 8 + 2 + 2;

	while (off + 4 <= len) {
		if (hello[off] == 0 && hello[off + 1] == 0)
			return off;
		off += 4 + (hello[off + 2] << 8 | hello[off + 3]);
	}
	return 0;
}
