// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The policy generation: a digest of whatever gives the policy entries'
 * ids their meaning, shared by the processes that read the same file. */
#include <stdint.h>
#include <string.h>

#include "config.h"

/* FNV-1a 64 (as ts_name_hash()): a drift detector between processes that
 * read the same file, not a defence against a chosen configuration. */
#define GEN_FNV_OFFSET 0xcbf29ce484222325ULL
#define GEN_FNV_PRIME 0x100000001b3ULL

static void gen_bytes(uint64_t *h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		*h ^= b[i];
		*h *= GEN_FNV_PRIME;
	}
}

/* Length first, so that "ab","c" and "a","bc" differ. */
static void gen_str(uint64_t *h, const char *s)
{
	uint32_t len = s ? (uint32_t)strlen(s) : 0xffffffffu;

	gen_bytes(h, &len, sizeof(len));
	if (s)
		gen_bytes(h, s, len);
}

static void gen_num(uint64_t *h, uint64_t v)
{
	gen_bytes(h, &v, sizeof(v));
}

/* Whatever gives a policy value its meaning: each entry with its ids, and
 * behind each id the name and the settings of what it points at. File
 * contents (certificates, CA PEMs) are not read: they are the handshaker's
 * to load on SIGHUP, and the ids name them, not their bytes. */
uint64_t ts_config_generation(const struct ts_config *c)
{
	uint64_t h = GEN_FNV_OFFSET;
	int i, k;

	gen_str(&h, "tagshake-policy-1");
	for (i = 0; i < c->npolicies; i++) {
		const struct ts_cfg_policy *pol = &c->policies[i];

		gen_str(&h, pol->name);
		gen_num(&h, pol->value.action);
		gen_num(&h, pol->value.cert_id);
		gen_num(&h, pol->value.ca_id);
		gen_num(&h, pol->value.route_id);
	}
	gen_num(&h, (uint64_t)c->ncerts);
	for (i = 0; i < c->ncerts; i++) {
		gen_str(&h, c->certs[i].name);
		for (k = 0; k < c->certs[i].npairs; k++)
			gen_str(&h, c->certs[i].pairs[k].chain);
	}
	gen_num(&h, (uint64_t)c->nca_sets);
	for (i = 0; i < c->nca_sets; i++) {
		gen_str(&h, c->ca_sets[i].name);
		gen_num(&h, c->ca_sets[i].send_names);
		for (k = 0; k < c->ca_sets[i].nfiles; k++)
			gen_str(&h, c->ca_sets[i].files[k]);
	}
	gen_num(&h, (uint64_t)c->nroutes);
	for (i = 0; i < c->nroutes; i++) {
		const struct ts_cfg_route *r = &c->routes[i];

		gen_str(&h, r->name);
		gen_str(&h, r->upstream);
		gen_num(&h, r->mode);
		gen_num(&h, r->headers);
		gen_str(&h, r->kong.cert);
		gen_str(&h, r->kong.serial);
		gen_str(&h, r->kong.issuer_dn);
		gen_str(&h, r->kong.subject_dn);
		gen_str(&h, r->kong.fingerprint);
		gen_str(&h, r->verify_header);
		gen_num(&h, r->unverified);
		gen_num(&h, r->no_forwarded);
		gen_num(&h, r->alpn_len);
		gen_bytes(&h, r->alpn, r->alpn_len);
	}
	return h ? h : 1; /* 0 is "hand-made" */
}
