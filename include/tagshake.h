/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The contract between tagshake's BPF programs and its userspace: tag,
 * policy key and value, counter indices, limits and pin names. One
 * definition each; BPF includes it after vmlinux.h, userspace after
 * <linux/types.h>.
 */
#ifndef TAGSHAKE_H
#define TAGSHAKE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Largest ClientHello we reassemble: the bound BoringSSL and Envoy accept. */
#define TS_HELLO_MAX 16384
/* DNS limit for a name in presentation form without the trailing dot. */
#define TS_SNI_MAX 253
/* Key and SNI buffers: TS_SNI_MAX plus NUL, rounded to a power of two. */
#define TS_NAME_SIZE 256
/* Raw ALPN protocol_name_list bytes kept in the tag (enough for h2+http/1.1). */
#define TS_ALPN_SIZE 64
/* Most ports the tagger watches. */
#define TS_PORTS_MAX 64
/* Most policy entries in one policy set. */
#define TS_POLICY_MAX 65536

/* Reserved policy names: '@' never appears in a valid DNS name. */
#define TS_POLICY_DEFAULT "@default"
#define TS_POLICY_NO_SNI "@no-sni"

/* Pin names under the pin directory (default /sys/fs/bpf/tagshake). */
#define TS_PIN_DIR_DEFAULT "/sys/fs/bpf/tagshake"
#define TS_PIN_POLICY "policy"           /* the active policy set (hash) */
#define TS_PIN_POLICY_SLOT "policy_slot" /* array-of-maps the program reads */
#define TS_PIN_POLICY_NEXT "policy_next" /* an import pins here, then renames (bpffs names have no dots) */
#define TS_PIN_TAGS "tags"
#define TS_PIN_PORTS "ports"
#define TS_PIN_COUNTERS "counters"
#define TS_PIN_LINK "link"

enum ts_status {
	TS_STATUS_PENDING = 0,
	TS_STATUS_OK,
	TS_STATUS_NO_SNI,
	TS_STATUS_BAD_SNI,
	TS_STATUS_NOT_TLS,
	TS_STATUS_MALFORMED,
	TS_STATUS_TOO_BIG,
	TS_STATUS_INCOMPLETE,
	TS_STATUS_MISSED,
	TS_STATUS_COUNT,
};

enum ts_action {
	TS_ACTION_NONE = 0,
	TS_ACTION_OPTIONAL,
	TS_ACTION_REQUIRE,
	TS_ACTION_REJECT,
	/* send a CertificateRequest, accept any certificate or none: the chain
	 * is verified (against the CA set, if any) and reported, never refused */
	TS_ACTION_REQUEST,
	TS_ACTION_COUNT,
};

/* Which policy entry decided. */
enum ts_match {
	TS_MATCH_NOTHING = 0, /* no entry at all: action none, ids 0 */
	TS_MATCH_EXACT,
	TS_MATCH_WILDCARD,
	TS_MATCH_DEFAULT,
	TS_MATCH_NO_SNI,
	TS_MATCH_COUNT,
};

/*
 * A policy entry is keyed by the 64-bit FNV-1a hash of its name
 * (ts_name_hash() in bpf/name_hash.h): the map hashes 8 bytes per lookup
 * instead of 256. The value carries the name, compared on every hit.
 *
 * `generation` is the digest of the configuration the entry was imported
 * from (ts_config.generation): the ids are positions in that file's lists,
 * so they mean something only to a process holding the same generation.
 * 0 = hand-made (`tagshake policy add`): never trusted for its ids.
 */
struct ts_policy_key {
	__u64 hash;
};

struct ts_policy_value {
	__u8 action; /* enum ts_action */
	__u8 pad;
	__u16 cert_id;
	__u16 ca_id;
	__u16 route_id;
	__u64 generation; /* configuration digest the ids belong to; 0 = none */
	char name[TS_NAME_SIZE]; /* normalised SNI, "*.parent", or a reserved name; NUL padded */
};

struct ts_tag {
	__u8 status; /* enum ts_status */
	__u8 action; /* enum ts_action, valid when the status is final */
	__u8 match;  /* enum ts_match */
	__u8 records; /* TLS records the ClientHello spanned */
	__u16 cert_id;
	__u16 ca_id;
	__u16 route_id;
	__u16 sni_len;
	__u16 alpn_len; /* bytes of the wire protocol_name_list, may exceed TS_ALPN_SIZE */
	__u16 segments; /* data segments seen before the tag became final */
	__u32 bytes;    /* stream bytes of the ClientHello, record headers included */
	__u32 pad;
	__u64 generation; /* of the policy entry that decided (ts_policy_value) */
	char sni[TS_NAME_SIZE];
	__u8 alpn[TS_ALPN_SIZE]; /* first TS_ALPN_SIZE bytes of protocol_name_list */
};

enum ts_counter {
	TS_CTR_STATUS = 0, /* TS_CTR_STATUS + enum ts_status: final tags by status */
	TS_CTR_ACTION = TS_CTR_STATUS + TS_STATUS_COUNT, /* + enum ts_action */
	TS_CTR_SEGMENTS = TS_CTR_ACTION + TS_ACTION_COUNT, /* data segments inspected */
	TS_CTR_OUT_OF_ORDER, /* segments that arrived ahead of a gap */
	TS_CTR_NO_STORAGE,   /* socket storage could not be allocated */
	TS_CTR_LISTENER_DATA, /* data segments that reached a listener: their child is untagged */
	TS_CTR_COUNT,
};

#endif /* TAGSHAKE_H */
