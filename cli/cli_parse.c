// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tagshake parse`: runs ClientHello files through the tagger's own parse
 * code, in the kernel (BPF_PROG_TEST_RUN of the ts_parse_test entry, fed as
 * TCP segments) or through the userspace build with --userspace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "hello.h"
#include "json.h"
#include "names.h"
#include "opts.h"
#include "segment_packet.h"
#include "tagger.skel.h"

/* Files larger than this cannot be a ClientHello we accept; read no more. */
#define PARSE_FILE_MAX (4 * TS_HELLO_MAX)
/* Default segment size: a typical Ethernet MSS. */
#define PARSE_SEGMENT_DEFAULT 1460
#define PARSE_SEGMENT_MAX TS_SEGMENT_PAYLOAD_MAX

static const char parse_help[] =
	"usage: tagshake parse [--json] [--userspace] [--segment N] FILE...\n"
	"\n"
	"Parses each file's bytes as a client's first TCP bytes with the tagger's\n"
	"parse code: inside the kernel through BPF_PROG_TEST_RUN (default, needs\n"
	"root; the bytes go in as TCP segments of N bytes, default 1460), or in\n"
	"userspace with --userspace. Prints one line per file; with --json one\n"
	"object with file, status, sni, alpn, records and bytes. Exits 0 whatever\n"
	"the statuses; non-zero only for usage or system errors.\n";

struct parse_opts {
	bool json;
	bool userspace;
	long segment;
	int first; /* argv index of the first FILE */
};

/* One TCP segment carrying bytes at stream offset `off` (the sequence number). */
static int run_segment(int prog_fd, const __u8 *data, size_t off, size_t len, int fin)
{
	static struct ts_segment_packet pkt;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	opts.data_in = &pkt;
	opts.data_size_in = ts_segment_packet_build(&pkt, data + off, len, (__u32)off, fin);
	return bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
}

static int parse_in_kernel(struct tagger_bpf *skel, const __u8 *data, size_t len, size_t seg,
			   struct ts_tag *tag)
{
	int prog_fd = bpf_program__fd(skel->progs.ts_parse_test), err;
	__u32 zero = 0;
	size_t off = 0;

	err = ts_parse_test_reset(bpf_map__fd(skel->maps.test_reasm),
				  bpf_map__fd(skel->maps.test_tag));
	do {
		size_t n = len - off < seg ? len - off : seg;

		if (!err)
			err = run_segment(prog_fd, data, off, n, off + n == len);
		if (!err)
			err = bpf_map__lookup_elem(skel->maps.test_tag, &zero, sizeof(zero), tag,
						   sizeof(*tag), 0) ? -errno : 0;
		off += n;
	} while (!err && off < len && tag->status == TS_STATUS_PENDING);
	return err;
}

static void print_alpn_name(const uint8_t *name, size_t len, void *arg)
{
	int *first = arg;

	if (!*first)
		putchar(',');
	*first = 0;
	ts_json_string(stdout, name, len);
}

static void print_tag(const char *file, const struct ts_tag *t, int json)
{
	int first = 1;

	if (!json) {
		printf("%s: %s sni=%s records=%u bytes=%u alpn=[", file, ts_status_name(t->status),
		       t->sni_len ? t->sni : "-", t->records, t->bytes);
		ts_alpn_each(t, print_alpn_name, &first);
		puts("]");
		return;
	}
	printf("{\"file\":");
	ts_json_string(stdout, file, strlen(file));
	printf(",\"status\":\"%s\",\"sni\":", ts_status_name(t->status));
	if (t->sni_len)
		ts_json_string(stdout, t->sni, t->sni_len);
	else
		printf("null");
	printf(",\"alpn\":[");
	ts_alpn_each(t, print_alpn_name, &first);
	printf("],\"records\":%u,\"bytes\":%u}\n", t->records, t->bytes);
}

static int read_file(const char *path, __u8 *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	*len = fread(buf, 1, cap, f);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return 0;
}

static int parse_opts(int argc, char **argv, struct parse_opts *o)
{
	bool help = false;
	const struct ts_opt opts[] = {
		TS_OPT_F("json", 0, &o->json),
		TS_OPT_F("userspace", 0, &o->userspace),
		TS_OPT_N("segment", 0, &o->segment, 1, PARSE_SEGMENT_MAX),
		TS_OPT_F("help", 0, &help),
		TS_OPT_END,
	};
	char err[128];
	int first;

	o->segment = PARSE_SEGMENT_DEFAULT;
	first = ts_opts_parse(argc, argv, opts, err, sizeof(err));
	if (first < 0)
		return err[0] ? ts_usage_error("%s", err) : TS_EXIT_USAGE;
	if (help) {
		fputs(parse_help, stdout);
		return -1;
	}
	if (first >= argc)
		return ts_usage_error("parse needs at least one FILE");
	o->first = first;
	return 0;
}

static struct tagger_bpf *open_parser(void)
{
	struct tagger_bpf *skel = tagger_bpf__open();

	if (!skel)
		return NULL;
	bpf_program__set_autoload(skel->progs.ts_tagger, false);
	if (tagger_bpf__load(skel)) {
		tagger_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int ts_cmd_parse(int argc, char **argv)
{
	static __u8 data[PARSE_FILE_MAX];
	struct tagger_bpf *skel = NULL;
	struct parse_opts o = {};
	int err = parse_opts(argc, argv, &o), rc = 0;

	if (err)
		return err < 0 ? 0 : err;
	if (!o.userspace) {
		libbpf_set_print(NULL);
		skel = open_parser();
		if (!skel)
			return ts_fail("cannot load the BPF parser: %s (needs root and BTF; "
				       "--userspace works without)", strerror(errno));
	}
	for (int i = o.first; i < argc; i++) {
		struct ts_tag tag = {};
		size_t len = 0;

		err = read_file(argv[i], data, sizeof(data), &len);
		if (err) {
			rc = ts_fail("cannot read %s: %s", argv[i], strerror(-err));
			continue;
		}
		if (o.userspace)
			ts_hello_parse_bytes(data, len, &tag);
		else if ((err = parse_in_kernel(skel, data, len, (size_t)o.segment, &tag))) {
			rc = ts_fail("BPF_PROG_TEST_RUN failed on %s: %s", argv[i], strerror(-err));
			continue;
		}
		print_tag(argv[i], &tag, o.json);
	}
	tagger_bpf__destroy(skel);
	return rc;
}
