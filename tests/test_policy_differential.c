// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The two copies of the policy lookup must decide alike: the BPF program's
 * (bpf/policy_lookup.h, here through ts_policy_decide() on a real BPF hash
 * map, as tagshaked's fallback uses it) and the configuration's
 * (ts_config_decide() in lib/config.c, used by the handshaker when it has no
 * map). Generated policy sets (exact names, "*.parent" wildcards, with and
 * without @default and @no-sni) are written as YAML, loaded by the real
 * parser, imported into a map the way `tagshake policy import` does, and
 * queried with names chosen to hit every branch: the exact names, one and
 * two labels under each wildcard's parent, the parent itself, unrelated
 * names, the longest names, and no SNI. Match kind, action and the three
 * ids must be identical. Needs root (it creates maps).
 *
 * TS_DIFF_SEED=N replays one run; the seed is printed on every run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "config.h"
#include "policy.h"

/* Policy sets generated, and queries per set. */
#define SETS 400
#define QUERIES 400
/* Policies per set at most (exact and wildcard together). */
#define POLICIES_MAX 40
/* Certificates, CA sets and routes declared: the ids a policy can carry. */
#define IDS 3

static char dir[64];
static uint64_t rng;

static uint64_t next(void)
{
	/* xorshift64*: reproducible from the printed seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

/* A label from a small alphabet so that names and parents collide often. */
static void label(char *out, size_t size)
{
	static const char alphabet[] = "ab1-";
	size_t len = 1 + pick(3), i;

	for (i = 0; i < len && i + 1 < size; i++)
		out[i] = alphabet[pick(3)]; /* '-' only inside, below */
	if (len >= 3 && pick(4) == 0)
		out[1] = '-';
	out[i] = '\0';
}

/* A normalised name of 1..4 labels, or now and then one of 250-253 bytes. */
static void random_name(char *out, size_t size)
{
	size_t labels = 1 + pick(4), used = 0;

	if (pick(40) == 0) {
		size_t len = 250 + pick(4), i;

		for (i = 0; i < len && i + 1 < size; i++)
			out[i] = (i % 60 == 59) ? '.' : (char)('a' + pick(2));
		out[i] = '\0';
		return;
	}
	out[0] = '\0';
	for (size_t l = 0; l < labels; l++) {
		char lab[8];

		label(lab, sizeof(lab));
		used += (size_t)snprintf(out + used, size - used, "%s%s", l ? "." : "", lab);
	}
}

static int setup(void **state)
{
	const char *seed = getenv("TS_DIFF_SEED");
	char path[128];

	(void)state;
	rng = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!rng)
		rng = 1;
	printf("# TS_DIFF_SEED=%llu\n", (unsigned long long)rng);
	strcpy(dir, "/tmp/ts_policy_diff.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* the parser checks that every named file is readable */
	for (int i = 1; i <= IDS; i++) {
		static const char *const kinds[] = { "crt", "key", "ca" };

		for (size_t k = 0; k < 3; k++) {
			FILE *f;

			snprintf(path, sizeof(path), "%s/%d.%s", dir, i, kinds[k]);
			f = fopen(path, "w");
			if (!f)
				return -1;
			fputs("x\n", f);
			fclose(f);
		}
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

struct set {
	char names[POLICIES_MAX][TS_NAME_SIZE]; /* as written: exact or "*.parent" */
	int n;
	char yaml[64 * 1024];
	size_t len;
};

/* "certificate: cN, ca_set: sN, route: rN" or none of them, at random. */
static void add_ids(struct set *s, int action)
{
	if (pick(3))
		s->len += (size_t)snprintf(s->yaml + s->len, sizeof(s->yaml) - s->len,
					   ", certificate: c%u", 1 + pick(IDS));
	/* a certificate request needs a CA set; the others may have one */
	if (action == TS_ACTION_REQUIRE || action == TS_ACTION_OPTIONAL || pick(2))
		s->len += (size_t)snprintf(s->yaml + s->len, sizeof(s->yaml) - s->len,
					   ", ca_set: s%u", 1 + pick(IDS));
	if (pick(3))
		s->len += (size_t)snprintf(s->yaml + s->len, sizeof(s->yaml) - s->len,
					   ", route: r%u", 1 + pick(IDS));
}

static bool written(const struct set *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

static void append(struct set *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s->len += (size_t)vsnprintf(s->yaml + s->len, sizeof(s->yaml) - s->len, fmt, ap);
	va_end(ap);
	assert_true(s->len < sizeof(s->yaml));
}

/* Upper-cases some letters and, if there is room, adds the trailing dot. */
static void spell(char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'a' && name[i] <= 'z' && pick(2))
			name[i] = (char)(name[i] - 'a' + 'A');
	if (len < TS_SNI_MAX && pick(2))
		strcpy(name + len, ".");
}

/* One generated configuration: the declarations, then the policies. */
static void generate(struct set *s)
{
	static const char *const actions[] = { "none", "optional", "require", "reject" };
	int want = (int)pick(POLICIES_MAX + 1);

	s->n = 0;
	s->len = 0;
	append(s, "listeners:\n  - port: 8443\ncertificates:\n");
	for (int i = 1; i <= IDS; i++)
		append(s, "  - { name: c%d, chain: %s/%d.crt, key: %s/%d.key }\n", i, dir, i, dir, i);
	append(s, "ca_sets:\n");
	for (int i = 1; i <= IDS; i++)
		append(s, "  - { name: s%d, files: %s/%d.ca }\n", i, dir, i);
	append(s, "routes:\n");
	for (int i = 1; i <= IDS; i++)
		append(s, "  - { name: r%d, upstream: '127.0.0.1:%d' }\n", i, 9000 + i);
	append(s, "policies:\n");
	for (int tries = 0; s->n < want && tries < 4 * POLICIES_MAX; tries++) {
		char name[TS_NAME_SIZE];
		int action = (int)pick(4);

		random_name(name, sizeof(name));
		if (pick(3) == 0) {
			/* a wildcard over a parent of at least one label */
			char wild[TS_NAME_SIZE + 2];

			snprintf(wild, sizeof(wild), "*.%s", name);
			if (strlen(wild) > TS_SNI_MAX)
				continue;
			strcpy(name, wild);
		}
		if (written(s, name))
			continue;
		strcpy(s->names[s->n++], name);
		/* written as an operator might: the parser normalises the key */
		if (pick(4) == 0)
			spell(name);
		append(s, "  - { sni: '%s', action: %s", name, actions[action]);
		add_ids(s, action);
		append(s, " }\n");
	}
	if (s->n == 0) {
		s->len--; /* "policies:\n" → "policies: []\n" */
		append(s, " []\n");
	}
	/* each default present three times in four; left out: TS_MATCH_NOTHING */
	bool with[2] = { pick(4) != 0, pick(4) != 0 };

	if (!with[0] && !with[1])
		return;
	append(s, "defaults:\n");
	for (int d = 0; d < 2; d++) {
		int action = (int)pick(4);

		if (!with[d])
			continue;
		append(s, "  %s: { action: %s", d ? "no-sni" : "default", actions[action]);
		add_ids(s, action);
		append(s, " }\n");
	}
}

/* A name likely to reach every branch of the lookup for this set. */
static void query(const struct set *s, char *out, size_t size)
{
	const char *base = s->n ? s->names[pick((unsigned)s->n)] : "";
	char lab[8], lab2[8];

	label(lab, sizeof(lab));
	label(lab2, sizeof(lab2));
	switch (pick(7)) {
	case 0: /* no SNI */
		out[0] = '\0';
		return;
	case 1: /* a random name */
		random_name(out, size);
		return;
	default:
		break;
	}
	if (base[0] == '*') {
		const char *parent = base + 2;

		switch (pick(3)) {
		case 0: /* one label under it: the wildcard's own case */
			snprintf(out, size, "%s.%s", lab, parent);
			break;
		case 1: /* two labels under it: not covered (one level) */
			snprintf(out, size, "%s.%s.%s", lab2, lab, parent);
			break;
		default: /* the parent itself: not covered */
			snprintf(out, size, "%s", parent);
			break;
		}
	} else if (base[0]) {
		if (pick(2))
			snprintf(out, size, "%s", base);
		else
			snprintf(out, size, "%s.%s", lab, base);
	} else {
		random_name(out, size);
	}
	if (strlen(out) > TS_SNI_MAX)
		random_name(out, size);
}

static void test_lookups_agree(void **state)
{
	static struct set s;
	unsigned long kinds[TS_MATCH_COUNT] = { 0 };
	unsigned long total = 0;

	(void)state;
	for (int round = 0; round < SETS; round++) {
		struct ts_config *cfg = NULL;
		char err[TS_CFG_ERR_SIZE];
		int fd, rc;

		generate(&s);
		rc = ts_config_load_string(s.yaml, s.len, "generated.yaml", &cfg, err, sizeof(err));
		if (rc) {
			print_error("set %d: %s\n%s", round, err, s.yaml);
			fail();
		}
		/* the map `tagshake policy import` fills, from the same entries */
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, "policy_diff", sizeof(struct ts_policy_key),
				    sizeof(struct ts_policy_value), POLICIES_MAX + 2, NULL);
		assert_true(fd >= 0);
		for (size_t i = 0; i < ts_config_policy_count(cfg); i++) {
			struct ts_policy_value ids;
			struct ts_policy_entry e;
			const char *name = ts_config_policy_at(cfg, i, &ids);

			ts_policy_entry_set(&e, name, &ids);
			assert_int_equal(ts_policy_put(fd, &e), 0);
		}
		for (int q = 0; q < QUERIES; q++) {
			struct ts_policy_value from_map, from_cfg;
			enum ts_match cfg_match;
			char name[TS_NAME_SIZE + 16];
			int map_match;

			query(&s, name, sizeof(name));
			map_match = ts_policy_decide(fd, name, strlen(name), &from_map);
			ts_config_decide(cfg, name, strlen(name), &from_cfg, &cfg_match);
			if (map_match != (int)cfg_match || from_map.action != from_cfg.action ||
			    from_map.cert_id != from_cfg.cert_id || from_map.ca_id != from_cfg.ca_id ||
			    from_map.route_id != from_cfg.route_id) {
				print_error("set %d, query '%s': map match %d action %u ids %u/%u/%u, "
					    "config match %d action %u ids %u/%u/%u\n%s",
					    round, name, map_match, from_map.action, from_map.cert_id,
					    from_map.ca_id, from_map.route_id, (int)cfg_match,
					    from_cfg.action, from_cfg.cert_id, from_cfg.ca_id,
					    from_cfg.route_id, s.yaml);
				fail();
			}
			assert_true(map_match >= 0 && map_match < TS_MATCH_COUNT);
			kinds[map_match]++;
			total++;
		}
		close(fd);
		ts_config_free(cfg);
	}
	printf("# %lu queries over %d sets: exact %lu, wildcard %lu, default %lu, no-sni %lu, "
	       "nothing %lu\n",
	       total, SETS, kinds[TS_MATCH_EXACT], kinds[TS_MATCH_WILDCARD],
	       kinds[TS_MATCH_DEFAULT], kinds[TS_MATCH_NO_SNI], kinds[TS_MATCH_NOTHING]);
	/* every branch of the lookup was compared, not only the easy ones */
	for (int k = 0; k < TS_MATCH_COUNT; k++)
		assert_true(kinds[k] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups_agree),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
