/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Userspace access to the pinned policy: the same lookup as the BPF program
 * (bpf/policy_lookup.h), single-entry changes, and atomic replacement of the set.
 */
#ifndef TS_USER_POLICY_H
#define TS_USER_POLICY_H

#include <stddef.h>

#include "tagshake.h"

/* One entry, for ts_policy_replace(). */
struct ts_policy_entry {
	struct ts_policy_key key;
	struct ts_policy_value value;
};

/*
 * Opens the active policy set (the map the program reads through the
 * policy_slot). Returns an fd or a negative errno. Reopen after an import
 * to see the new set.
 */
int ts_policy_open_active(const char *pin_dir);

/*
 * Decides for a normalised name (len 0: no SNI) exactly as the BPF program
 * does. Returns the enum ts_match (>= 0) or a negative errno.
 */
int ts_policy_decide(int set_fd, const char *sni, size_t len, struct ts_policy_value *out);

/*
 * Replaces the whole set atomically: builds a new map, fills it (failing on
 * -ENOTUNIQ like ts_policy_put), swaps it
 * into the slot with one update and re-pins DIR/policy. The program sees the
 * old set or the new one, never a mix. Returns 0 or a negative errno.
 */
int ts_policy_replace(const char *pin_dir, const struct ts_policy_entry *entries, size_t n);

/* The key of a name of at most TS_SNI_MAX bytes. */
void ts_policy_key_set(struct ts_policy_key *key, const char *name);
/* An entry for a name with the action and ids of *ids. */
void ts_policy_entry_set(struct ts_policy_entry *e, const char *name,
			 const struct ts_policy_value *ids);
/* Adds or replaces one entry; -ENOTUNIQ when another name has its hash. */
int ts_policy_put(int set_fd, const struct ts_policy_entry *e);

#endif /* TS_USER_POLICY_H */
