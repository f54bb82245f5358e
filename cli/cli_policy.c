// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake policy add|del|list|import`: the pinned policy set. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "config.h"
#include "json.h"
#include "name.h"
#include "policy.h"

static const char policy_help[] =
	"usage: tagshake policy add NAME ACTION [--cert ID] [--ca ID] [--route ID]\n"
	"       tagshake policy del NAME\n"
	"       tagshake policy list [--json]\n"
	"       tagshake policy import FILE\n"
	"       (each also takes --pin-dir DIR)\n"
	"\n"
	"NAME is an SNI (example.com), a wildcard (*.example.com, one level), or\n"
	"@default (no entry matched) or @no-sni (the ClientHello had no SNI).\n"
	"ACTION is none, request, optional, require or reject. IDs (0-65535) name the\n"
	"server certificate, client-CA set and upstream route in the configuration.\n"
	"import replaces the whole set atomically from a tagshake configuration file,\n"
	"each entry marked with the file's policy generation (`tagshake check\n"
	"--generation`); add marks its entry with the generation of the set it joins.\n"
	"tagshaked uses an entry's ids only when its generation is the one it runs;\n"
	"otherwise its configuration decides (a reject still stands) and\n"
	"policy_stale is counted. Changes apply to the next ClientHello.\n";

struct policy_opts {
	const char *pin_dir;
	int json;
	long ids[3]; /* cert, ca, route */
	int argc;    /* positional arguments after the subcommand */
	char **argv;
};

static int parse_policy_opts(int argc, char **argv, struct policy_opts *o)
{
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'c' },   { "ca", required_argument, NULL, 'a' },
		{ "route", required_argument, NULL, 'r' },  { "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, slot;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'a':
		case 'r':
			slot = c == 'c' ? 0 : c == 'a' ? 1 : 2;
			o->ids[slot] = ts_cli_number(optarg, 0, 65535);
			if (o->ids[slot] < 0)
				return ts_usage_error("invalid id '%s' (0-65535)", optarg);
			break;
		case 'j':
			o->json = 1;
			break;
		case 'd':
			o->pin_dir = optarg;
			break;
		case 'h':
			fputs(policy_help, stdout);
			return -1;
		default:
			return TS_EXIT_USAGE;
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	o->pin_dir = ts_cli_pin_dir(o->pin_dir);
	return 0;
}

/* A policy name as the map stores it, into name[TS_NAME_SIZE]; 0 or a usage status. */
static int policy_name_from_arg(const char *arg, char *name)
{
	if (!strcmp(arg, TS_POLICY_DEFAULT) || !strcmp(arg, TS_POLICY_NO_SNI)) {
		snprintf(name, TS_NAME_SIZE, "%s", arg);
		return 0;
	}
	if (ts_name_normalise_key(arg, strlen(arg), name) < 0)
		return ts_usage_error("invalid policy name '%s': not a host name, *.parent, "
				      "@default or @no-sni", arg);
	return 0;
}

static int open_active(const char *dir)
{
	int fd = ts_policy_open_active(dir);

	if (fd < 0)
		ts_fail("cannot open the policy at %s: %s (is the tagger loaded?)", dir,
			strerror(-fd));
	return fd;
}

/* The generation the active set was imported with (any entry holds it), 0
 * for an empty set: a hand-added entry's ids are positions in that file. */
static __u64 set_generation(int fd)
{
	struct ts_policy_key key;
	struct ts_policy_value v;

	if (bpf_map_get_next_key(fd, NULL, &key) != 0 || bpf_map_lookup_elem(fd, &key, &v) != 0)
		return 0;
	return v.generation;
}

static int policy_add(struct policy_opts *o)
{
	struct ts_policy_value ids = {};
	struct ts_policy_entry e;
	char name[TS_NAME_SIZE];
	int action, fd, err;

	if (o->argc != 2)
		return ts_usage_error("policy add takes NAME and ACTION");
	err = policy_name_from_arg(o->argv[0], name);
	if (err)
		return err;
	action = ts_action_parse(o->argv[1]);
	if (action < 0)
		return ts_usage_error("invalid action '%s' (none, request, optional, require, reject)",
				      o->argv[1]);
	ids.action = (__u8)action;
	ids.cert_id = (__u16)o->ids[0];
	ids.ca_id = (__u16)o->ids[1];
	ids.route_id = (__u16)o->ids[2];
	fd = open_active(o->pin_dir);
	if (fd < 0)
		return TS_EXIT_FAIL;
	ids.generation = set_generation(fd);
	ts_policy_entry_set(&e, name, &ids);
	err = ts_policy_put(fd, &e);
	close(fd);
	if (err == -ENOTUNIQ)
		return ts_fail("cannot add %s: another entry has the same hash", name);
	return err ? ts_fail("cannot add %s: %s", name, strerror(-err)) : 0;
}

static int policy_del(struct policy_opts *o)
{
	struct ts_policy_value stored;
	struct ts_policy_key key;
	char name[TS_NAME_SIZE];
	int fd, err;

	if (o->argc != 1)
		return ts_usage_error("policy del takes NAME");
	err = policy_name_from_arg(o->argv[0], name);
	if (err)
		return err;
	ts_policy_key_set(&key, name);
	fd = open_active(o->pin_dir);
	if (fd < 0)
		return TS_EXIT_FAIL;
	err = bpf_map_lookup_elem(fd, &key, &stored) ? -errno : 0;
	if (!err && strncmp(stored.name, name, sizeof(stored.name)))
		err = -ENOENT; /* another name with the same hash */
	if (!err)
		err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	if (err == -ENOENT)
		return ts_fail("no policy named %s", name);
	return err ? ts_fail("cannot delete %s: %s", name, strerror(-err)) : 0;
}

static int key_compare(const void *a, const void *b)
{
	return strcmp(((const struct ts_policy_entry *)a)->value.name,
		      ((const struct ts_policy_entry *)b)->value.name);
}

static void print_entry(const struct ts_policy_entry *e, int json, int first)
{
	const struct ts_policy_value *v = &e->value;

	if (!json) {
		printf("%-40s %-8s cert=%u ca=%u route=%u\n", v->name,
		       ts_action_name(v->action), v->cert_id, v->ca_id, v->route_id);
		return;
	}
	printf("%s{\"name\":", first ? "" : ",");
	ts_json_string(stdout, v->name, strnlen(v->name, sizeof(v->name)));
	printf(",\"action\":\"%s\",\"cert\":%u,\"ca\":%u,\"route\":%u}",
	       ts_action_name(v->action), v->cert_id, v->ca_id, v->route_id);
}

/* Reads the whole set, sorted by name. Returns the count or a negative errno. */
static int read_set(int fd, struct ts_policy_entry **out)
{
	struct ts_policy_entry *all = NULL;
	struct ts_policy_key key, last;
	size_t n = 0, cap = 0;
	int started = 0;

	while (bpf_map_get_next_key(fd, started ? &last : NULL, &key) == 0) {
		last = key;
		started = 1;
		if (n == cap) {
			void *grown = realloc(all, (cap = cap ? cap * 2 : 64) * sizeof(*all));

			if (!grown) {
				free(all);
				return -ENOMEM;
			}
			all = grown;
		}
		all[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &all[n].value) == 0)
			n++; /* else deleted meanwhile */
	}
	qsort(all, n, sizeof(*all), key_compare);
	*out = all;
	return (int)n;
}

static int policy_list(struct policy_opts *o)
{
	struct ts_policy_entry *all;
	int fd, n;

	if (o->argc != 0)
		return ts_usage_error("policy list takes no arguments");
	fd = open_active(o->pin_dir);
	if (fd < 0)
		return TS_EXIT_FAIL;
	n = read_set(fd, &all);
	close(fd);
	if (n < 0)
		return ts_fail("cannot read the policy: %s", strerror(-n));
	if (o->json)
		putchar('[');
	for (int i = 0; i < n; i++)
		print_entry(&all[i], o->json, i == 0);
	if (o->json)
		puts("]");
	free(all);
	return 0;
}

static int policy_import(struct policy_opts *o)
{
	struct ts_policy_entry *entries;
	struct ts_config *cfg;
	char err[512];
	size_t n;
	int rc;

	if (o->argc != 1)
		return ts_usage_error("policy import takes FILE");
	if (ts_config_load(o->argv[0], &cfg, err, sizeof(err)) < 0)
		return ts_fail("%s", err);
	n = ts_config_policy_count(cfg);
	entries = calloc(n ? n : 1, sizeof(*entries));
	if (!entries) {
		ts_config_free(cfg);
		return ts_fail("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct ts_policy_value ids;
		const char *name = ts_config_policy_at(cfg, i, &ids);

		ts_policy_entry_set(&entries[i], name, &ids);
	}
	rc = ts_policy_replace(o->pin_dir, entries, n);
	free(entries);
	ts_config_free(cfg);
	if (rc == -ENOTUNIQ)
		return ts_fail("import failed, the old policy stays: two names share a hash");
	if (rc < 0)
		return ts_fail("import failed, the old policy stays: %s", strerror(-rc));
	printf("tagshake: imported %zu policies from %s\n", n, o->argv[0]);
	return 0;
}

int ts_cmd_policy(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct policy_opts *o);
	} subs[] = {
		{ "add", policy_add }, { "del", policy_del },
		{ "list", policy_list }, { "import", policy_import },
	};
	struct policy_opts o = {};
	int err;

	if (argc < 2 || argv[1][0] == '-') {
		err = parse_policy_opts(argc, argv, &o);
		if (err)
			return err < 0 ? 0 : err;
		return ts_usage_error("policy needs add, del, list or import");
	}
	err = parse_policy_opts(argc - 1, argv + 1, &o);
	if (err)
		return err < 0 ? 0 : err;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(&o);
	return ts_usage_error("unknown policy command '%s'", argv[1]);
}
