// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pins.h"

typedef int ts_policy_map_t;

static const struct ts_policy_value *ts_policy_find(int fd, __u64 hash, struct ts_policy_value *buf)
{
	struct ts_policy_key key = { .hash = hash };

	return bpf_map_lookup_elem(fd, &key, buf) == 0 ? buf : NULL;
}

/* The lookup shared with the BPF program. */
#include "policy_lookup.h"

void ts_policy_key_set(struct ts_policy_key *key, const char *name)
{
	key->hash = ts_name_hash(name);
}

void ts_policy_entry_set(struct ts_policy_entry *e, const char *name,
			 const struct ts_policy_value *ids)
{
	e->value = *ids;
	memset(e->value.name, 0, sizeof(e->value.name));
	strncpy(e->value.name, name, TS_SNI_MAX);
	ts_policy_key_set(&e->key, e->value.name);
}

int ts_policy_put(int set_fd, const struct ts_policy_entry *e)
{
	struct ts_policy_value old;

	if (bpf_map_lookup_elem(set_fd, &e->key, &old) == 0 &&
	    strncmp(old.name, e->value.name, sizeof(old.name)) != 0)
		return -ENOTUNIQ; /* two names, one hash: refuse rather than replace */
	return bpf_map_update_elem(set_fd, &e->key, &e->value, BPF_ANY) ? -errno : 0;
}

int ts_policy_open_active(const char *pin_dir)
{
	__u32 zero = 0, id = 0;
	int slot = ts_pin_open(pin_dir, TS_PIN_POLICY_SLOT);
	int fd;

	if (slot < 0)
		return slot;
	if (bpf_map_lookup_elem(slot, &zero, &id) != 0) {
		int err = -errno;

		close(slot);
		return err;
	}
	close(slot);
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

int ts_policy_decide(int set_fd, const char *sni, size_t len, struct ts_policy_value *out)
{
	struct ts_policy_value buf;
	struct ts_name_scan scan;
	char name[TS_NAME_SIZE] = { 0 };

	if (len > TS_SNI_MAX)
		return -EINVAL;
	memcpy(name, sni, len);
	memset(out, 0, sizeof(*out));
	return ts_policy_resolve(set_fd, name, (__u32)len, &scan, &buf, out);
}

/* A new, empty set with the active one's shape and BTF (so bpftool shows fields). */
static int policy_set_create(int like_fd)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int btf_fd = -1, fd;

	if (bpf_obj_get_info_by_fd(like_fd, &info, &info_len) != 0)
		return -errno;
	if (info.btf_id) {
		btf_fd = bpf_btf_get_fd_by_id(info.btf_id);
		if (btf_fd >= 0) {
			opts.btf_fd = btf_fd;
			opts.btf_key_type_id = info.btf_key_type_id;
			opts.btf_value_type_id = info.btf_value_type_id;
		}
	}
	opts.map_flags = info.map_flags;
	fd = bpf_map_create(info.type, "policy", info.key_size, info.value_size, info.max_entries,
			    &opts);
	if (fd < 0)
		fd = -errno;
	if (btf_fd >= 0)
		close(btf_fd);
	return fd;
}

static int policy_set_fill(int fd, const struct ts_policy_entry *entries, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = ts_policy_put(fd, &entries[i]);
	return err;
}

/* Pins the new set beside the old pin, then renames it over: one step. */
static int policy_set_repin(const char *pin_dir, int fd)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int err = ts_pin_path(pin_dir, TS_PIN_POLICY_NEXT, tmp, sizeof(tmp));

	if (!err)
		err = ts_pin_path(pin_dir, TS_PIN_POLICY, path, sizeof(path));
	if (err)
		return err;
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) != 0)
		return -errno;
	if (rename(tmp, path) != 0) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int ts_policy_replace(const char *pin_dir, const struct ts_policy_entry *entries, size_t n)
{
	__u32 zero = 0;
	int active = -1, fresh = -1, slot, err;

	slot = ts_pin_open(pin_dir, TS_PIN_POLICY_SLOT);
	if (slot < 0)
		return slot;
	active = ts_policy_open_active(pin_dir);
	err = active;
	if (active < 0)
		goto out;
	fresh = policy_set_create(active);
	err = fresh;
	if (fresh < 0)
		goto out;
	err = policy_set_fill(fresh, entries, n);
	if (err)
		goto out;
	if (bpf_map_update_elem(slot, &zero, &fresh, BPF_ANY) != 0) {
		err = -errno;
		goto out;
	}
	err = policy_set_repin(pin_dir, fresh);
out:
	if (fresh >= 0)
		close(fresh);
	if (active >= 0)
		close(active);
	close(slot);
	return err;
}
