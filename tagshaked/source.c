// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The per-source bound on handshakes in flight (limits.per_source): one
 * counter table for the whole daemon. */
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "source.h"

/* Counters for the whole daemon: 64 Ki buckets of 4 bytes. Two addresses
 * sharing a bucket share its limit: rare, and never looser. */
#define TS_SOURCE_BUCKETS 65536
static uint32_t source_count[TS_SOURCE_BUCKETS];
static uint64_t source_key;
static pthread_once_t source_once = PTHREAD_ONCE_INIT;

static void source_init(void)
{
	/* unknown to clients, so none can aim many addresses at one bucket */
	if (getrandom(&source_key, sizeof(source_key), 0) != sizeof(source_key))
		source_key = ts_now_us() ^ (uint64_t)getpid() << 32;
}

static uint64_t source_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL; /* the golden-ratio multiplier */
	return h ^ (h >> 29);
}

bool ts_source_take(const struct sockaddr_storage *ss, unsigned limit, uint32_t *bucket)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	uint64_t h, a = 0;

	pthread_once(&source_once, source_init);
	h = source_mix(source_key, ss->ss_family);
	if (ss->ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(&a, &in6->sin6_addr, sizeof(a)); /* the /64: one client's share */
	} else if (ss->ss_family == AF_INET6) {
		memcpy(&a, &in6->sin6_addr.s6_addr[12], 4);
	} else if (ss->ss_family == AF_INET) {
		memcpy(&a, &in4->sin_addr, 4);
	}
	h = source_mix(h, a);
	*bucket = (uint32_t)(h % TS_SOURCE_BUCKETS);
	if (__atomic_add_fetch(&source_count[*bucket], 1, __ATOMIC_RELAXED) > limit) {
		__atomic_sub_fetch(&source_count[*bucket], 1, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

void ts_source_put(uint32_t bucket)
{
	__atomic_sub_fetch(&source_count[bucket], 1, __ATOMIC_RELAXED);
}
