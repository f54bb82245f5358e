// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake load`, `unload` and `status`: the tagger's life cycle. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "pins.h"
#include "policy.h"
#include "tagger.skel.h"

#define TS_DEFAULT_PORT 443
#define TS_BTF_PATH "/sys/kernel/btf/vmlinux"

static const char load_help[] =
	"usage: tagshake load [--cgroup PATH] [--port N]... [--pin-dir DIR]\n"
	"\n"
	"Loads the ClientHello tagger, attaches it to the cgroup v2 directory PATH\n"
	"(default: the root of the cgroup v2 hierarchy) for TCP sockets whose local\n"
	"port is one of the --port values (default 443), and pins its maps and link\n"
	"in DIR (default " TS_PIN_DIR_DEFAULT ", bpffs is mounted if needed).\n"
	"On any failure nothing is left pinned or attached. Needs root.\n";

static const char unload_help[] = "usage: tagshake unload [--pin-dir DIR]\n"
				  "\n"
				  "Detaches the tagger and removes everything pinned in DIR.\n";

static const char status_help[] = "usage: tagshake status [--pin-dir DIR]\n"
				  "\n"
				  "Shows whether the tagger is loaded, its program, cgroup and ports.\n";

/* Everything load pins, in pin order; unload removes them in reverse. */
static const char *const pin_names[] = {
	TS_PIN_TAGS, TS_PIN_PORTS, TS_PIN_COUNTERS, TS_PIN_POLICY, TS_PIN_POLICY_SLOT, TS_PIN_LINK,
};
#define PIN_COUNT (sizeof(pin_names) / sizeof(pin_names[0]))

struct load_opts {
	const char *cgroup;
	const char *pin_dir;
	__u16 ports[TS_PORTS_MAX];
	int nports;
};

static int cgroup2_root(char *out, size_t len)
{
	char dev[64], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fscanf(f, "%63s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		found = !strcmp(type, "cgroup2") && strlen(dir) < len;
	fclose(f);
	if (!found)
		return -ENOENT;
	strcpy(out, dir);
	return 0;
}

static int open_cgroup(const char *path)
{
	struct statfs st;
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &st) != 0 || st.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return -ENOTDIR;
	}
	return fd;
}

static int parse_load_opts(int argc, char **argv, struct load_opts *o)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' }, { "port", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	long port;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->cgroup = optarg;
			break;
		case 'p':
			port = ts_cli_number(optarg, 1, 65535);
			if (port < 0)
				return ts_usage_error("invalid port '%s'", optarg);
			if (o->nports == TS_PORTS_MAX)
				return ts_usage_error("at most %d ports", TS_PORTS_MAX);
			o->ports[o->nports++] = (__u16)port;
			break;
		case 'd':
			o->pin_dir = optarg;
			break;
		case 'h':
			fputs(load_help, stdout);
			return -1;
		default:
			return TS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ts_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->nports == 0)
		o->ports[o->nports++] = TS_DEFAULT_PORT;
	return 0;
}

/* Removes the first n pins of pin_names, newest first, and DIR if empty. */
static void unpin_first(const char *dir, size_t n)
{
	while (n-- > 0)
		ts_pin_remove(dir, pin_names[n]);
	rmdir(dir); /* fails, as it should, when anything else is in it */
}

static void unpin_all(const char *dir)
{
	ts_pin_remove(dir, TS_PIN_POLICY_NEXT);
	unpin_first(dir, PIN_COUNT);
}

static int pin_one(int fd, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = ts_pin_path(dir, name, path, sizeof(path));

	if (!err && bpf_obj_pin(fd, path) != 0)
		err = -errno;
	return err;
}

/*
 * Pins the maps and the link in pin_names order. On failure removes only
 * what it pinned itself, so a foreign pin in DIR is never touched.
 */
static int pin_all(struct tagger_bpf *skel, struct bpf_link *link, const char *dir)
{
	const int fds[PIN_COUNT] = {
		bpf_map__fd(skel->maps.tags),	   bpf_map__fd(skel->maps.ports),
		bpf_map__fd(skel->maps.counters), bpf_map__fd(skel->maps.policy),
		bpf_map__fd(skel->maps.policy_slot), bpf_link__fd(link),
	};
	size_t i;
	int err = 0;

	for (i = 0; i < PIN_COUNT && !err; i++)
		err = pin_one(fds[i], dir, pin_names[i]);
	if (err)
		unpin_first(dir, i - 1);
	return err;
}

static int fill_ports(struct tagger_bpf *skel, const struct load_opts *o)
{
	__u8 on = 1;

	for (int i = 0; i < o->nports; i++)
		if (bpf_map__update_elem(skel->maps.ports, &o->ports[i], sizeof(o->ports[i]), &on,
					 sizeof(on), BPF_ANY) != 0)
			return -errno;
	return 0;
}

/* Loads, fills, attaches and pins; on failure undoes every step. */
static int load_and_pin(const struct load_opts *o, int cgroup_fd)
{
	struct bpf_link *link = NULL;
	struct tagger_bpf *skel;
	int err;

	skel = tagger_bpf__open();
	if (!skel)
		return ts_fail("cannot open the BPF object: %s", strerror(errno));
	bpf_program__set_autoload(skel->progs.ts_parse_test, false);
	err = tagger_bpf__load(skel);
	if (err) {
		ts_fail("the kernel refused the BPF program: %s", strerror(-err));
		goto out;
	}
	err = fill_ports(skel, o);
	if (!err) {
		link = bpf_program__attach_cgroup(skel->progs.ts_tagger, cgroup_fd);
		err = link ? 0 : -errno;
	}
	if (!err)
		err = pin_all(skel, link, o->pin_dir);
	if (err)
		ts_fail("load failed: %s; nothing left attached or pinned", strerror(-err));
out:
	bpf_link__destroy(link); /* the pin, if any, keeps the attachment */
	tagger_bpf__destroy(skel);
	return err ? TS_EXIT_FAIL : 0;
}

int ts_cmd_load(int argc, char **argv)
{
	struct load_opts o = {};
	char root[PATH_MAX];
	int err, cgroup_fd, rc;

	err = parse_load_opts(argc, argv, &o);
	if (err)
		return err < 0 ? 0 : err;
	o.pin_dir = ts_cli_pin_dir(o.pin_dir);
	if (geteuid() != 0)
		return ts_fail("load needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)");
	if (access(TS_BTF_PATH, R_OK) != 0)
		return ts_fail("the kernel has no BTF (%s is missing)", TS_BTF_PATH);
	if (!o.cgroup) {
		if (cgroup2_root(root, sizeof(root)) != 0)
			return ts_fail("no cgroup v2 hierarchy is mounted; pass --cgroup PATH");
		o.cgroup = root;
	}
	cgroup_fd = open_cgroup(o.cgroup);
	if (cgroup_fd < 0)
		return ts_fail("%s is not a cgroup v2 directory: %s", o.cgroup,
			       strerror(-cgroup_fd));
	err = ts_pin_dir_prepare(o.pin_dir);
	if (err) {
		close(cgroup_fd);
		return ts_fail("cannot use pin directory %s (must be on bpffs): %s", o.pin_dir,
			       strerror(-err));
	}
	err = ts_pin_open(o.pin_dir, TS_PIN_LINK);
	if (err >= 0) {
		close(err);
		close(cgroup_fd);
		return ts_fail("already loaded at %s (run 'tagshake unload' first)", o.pin_dir);
	}
	libbpf_set_print(NULL);
	rc = load_and_pin(&o, cgroup_fd);
	close(cgroup_fd);
	if (rc == 0)
		printf("tagshake: loaded, attached to %s, pinned in %s\n", o.cgroup, o.pin_dir);
	return rc;
}

/* Shared by unload and status: only --pin-dir and --help. */
static int parse_pin_dir_only(int argc, char **argv, const char *help, const char **pin_dir)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else if (c == 'h') {
			fputs(help, stdout);
			return -1;
		} else {
			return TS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ts_usage_error("unexpected argument '%s'", argv[optind]);
	*pin_dir = ts_cli_pin_dir(dir);
	return 0;
}

int ts_cmd_unload(int argc, char **argv)
{
	const char *dir;
	int err = parse_pin_dir_only(argc, argv, unload_help, &dir);
	int link;

	if (err)
		return err < 0 ? 0 : err;
	if (geteuid() != 0)
		return ts_fail("unload needs root");
	link = ts_pin_open(dir, TS_PIN_LINK);
	if (link < 0 && access(dir, F_OK) != 0) {
		printf("tagshake: nothing loaded at %s\n", dir);
		return 0;
	}
	if (link >= 0)
		close(link);
	unpin_all(dir);
	if (access(dir, F_OK) == 0)
		return ts_fail("%s still holds files not made by tagshake; left in place", dir);
	printf("tagshake: unloaded from %s\n", dir);
	return 0;
}

static void print_ports(const char *dir)
{
	__u16 key, next, *prev = NULL;
	int fd = ts_pin_open(dir, TS_PIN_PORTS);

	printf("ports:");
	while (fd >= 0 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		printf(" %u", next);
		key = next;
		prev = &key;
	}
	printf("\n");
	if (fd >= 0)
		close(fd);
}

static int count_policy(const char *dir)
{
	struct ts_policy_key key, next;
	int fd = ts_policy_open_active(dir), n = 0;
	void *prev = NULL;

	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	close(fd);
	return n;
}

int ts_cmd_status(int argc, char **argv)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	const char *dir;
	int err = parse_pin_dir_only(argc, argv, status_help, &dir);
	int link;

	if (err)
		return err < 0 ? 0 : err;
	link = ts_pin_open(dir, TS_PIN_LINK);
	if (link < 0) {
		printf("tagger: not loaded (no link pinned at %s)\n", dir);
		return TS_EXIT_FAIL;
	}
	if (bpf_obj_get_info_by_fd(link, &info, &len) != 0) {
		close(link);
		return ts_fail("cannot read the pinned link: %s", strerror(errno));
	}
	close(link);
	printf("tagger: loaded\npin dir: %s\nprogram id: %u\ncgroup id: %llu\n", dir,
	       info.prog_id, (unsigned long long)info.cgroup.cgroup_id);
	print_ports(dir);
	printf("policy entries: %d\n", count_policy(dir));
	return 0;
}
