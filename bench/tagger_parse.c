// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-kernel ClientHello parse cost of the tagger, through BPF_PROG_TEST_RUN
 * with `repeat` (the kernel times the loop and reports the mean per run),
 * side by side with the userspace build of the same parser on the same
 * bytes. Each figure is the median, and the least, of several rounds; the
 * rounds alternate between the measurements so that drift hits them alike.
 *
 * usage: tagger_parse [-n REPEAT] [-r ROUNDS] FILE...
 * Prints a markdown table. Needs root (BPF).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hello.h"
#include "names.h"
#include "policy.h"
#include "reasm.h"
#include "segment_packet.h"
#include "tagger_bench.h"
#include "tagger_bench.skel.h"

/* BPF_PROG_TEST_RUN takes somewhat less than a page of packet. */
#define BENCH_PAYLOAD_MAX TS_SEGMENT_PAYLOAD_MAX
/* Segment sizes: one segment for the whole hello, Ethernet MSS, MTU 576. */
#define MSS_WHOLE BENCH_PAYLOAD_MAX
#define MSS_ETHERNET 1460
#define MSS_576 536
#define ROUNDS_MAX 64
/* The SNI the bench's policy set answers with a wildcard entry. */
#define BENCH_WILDCARD "*.example.com"

struct hello {
	const char *file;
	__u8 bytes[BENCH_PAYLOAD_MAX];
	size_t len;
	struct ts_tag expect; /* from the userspace build */
};

struct bench {
	struct tagger_bench_bpf *skel;
	long repeat;
	int rounds;
	long run_repeat; /* repeat of the measurement running now */
};

/*
 * Storage deleted inside a test run is freed after an RCU grace period,
 * which the run's loop mostly holds off: over many repetitions freed memory
 * piles up (17 KiB a run) and the allocator slows down in a way live
 * traffic does not see. Runs that create storage repeat at most this often.
 */
#define STORAGE_REPEAT_MAX 1000

/* One measurement: fills ns_per_run for one round; negative errno on failure. */
typedef int (*measure_fn)(struct bench *b, const struct hello *h, long mss, double *ns);


static int reset_test_state(struct tagger_bench_bpf *skel)
{
	return ts_parse_test_reset(bpf_map__fd(skel->maps.test_reasm),
				   bpf_map__fd(skel->maps.test_tag));
}

/* Runs prog `repeat` times on the packet; *ns = the kernel's mean per run. */
static int test_run(struct bpf_program *prog, const struct ts_segment_packet *p, size_t size,
		    long repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p, .data_size_in = size,
		    .repeat = (int)repeat);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		return -errno;
	if (opts.retval != 1)
		return -EPROTO; /* the tagger always passes */
	*ns = opts.duration;
	return 0;
}

static int run_entry(struct bench *b, struct bpf_program *prog, const struct hello *h, long mss,
		     double *ns)
{
	static struct ts_segment_packet p;
	size_t size = ts_segment_packet_build(&p, h ? h->bytes : NULL, h ? h->len : 0, 0, 0);

	b->skel->data->bench_mss = (__u32)mss;
	b->skel->bss->bench_status = TS_STATUS_PENDING;
	return test_run(prog, &p, size, b->run_repeat, ns);
}

static int measure_parse(struct bench *b, const struct hello *h, long mss, double *ns)
{
	return run_entry(b, b->skel->progs.bench_parse, h, mss, ns);
}

static int run_stages(struct bench *b, const struct hello *h, long mss, double *ns, __u32 stages)
{
	int err;

	b->skel->bss->bench_stages = stages;
	err = run_entry(b, b->skel->progs.bench_parse, h, mss, ns);
	b->skel->bss->bench_stages = BENCH_ALL;
	return err;
}

static int measure_store(struct bench *b, const struct hello *h, long mss, double *ns)
{
	return run_stages(b, h, mss, ns, BENCH_STORE);
}

static int measure_records(struct bench *b, const struct hello *h, long mss, double *ns)
{
	int err = run_stages(b, h, mss, ns, BENCH_RECORDS);

	/* The record layer alone ends with the hello gathered: status ok. */
	return !err && b->skel->bss->bench_status != TS_STATUS_OK ? -EPROTO : err;
}

static int measure_no_decision(struct bench *b, const struct hello *h, long mss, double *ns)
{
	return run_stages(b, h, mss, ns, BENCH_PARSE);
}

static int measure_storage(struct bench *b, const struct hello *h, long mss, double *ns)
{
	int err = run_entry(b, b->skel->progs.bench_storage, h, mss, ns);

	return !err && b->skel->bss->bench_status != TS_STATUS_OK ? -ENOMEM : err;
}

static int measure_storage_tag(struct bench *b, const struct hello *h, long mss, double *ns)
{
	int err = run_entry(b, b->skel->progs.bench_storage_tag, h, mss, ns);

	return !err && b->skel->bss->bench_status != TS_STATUS_OK ? -ENOMEM : err;
}

static int run_sized(struct bench *b, double *ns, __u32 kib)
{
	int err;

	b->skel->bss->bench_storage_kib = kib;
	err = run_entry(b, b->skel->progs.bench_storage_sized, NULL, 0, ns);
	return !err && b->skel->bss->bench_status != TS_STATUS_OK ? -ENOMEM : err;
}

static int measure_storage_1k(struct bench *b, const struct hello *h, long mss, double *ns)
{
	(void)h, (void)mss;
	return run_sized(b, ns, 1);
}

static int measure_storage_4k(struct bench *b, const struct hello *h, long mss, double *ns)
{
	(void)h, (void)mss;
	return run_sized(b, ns, 4);
}

static int measure_storage_8k(struct bench *b, const struct hello *h, long mss, double *ns)
{
	(void)h, (void)mss;
	return run_sized(b, ns, 8);
}

static int measure_parse_storage(struct bench *b, const struct hello *h, long mss, double *ns)
{
	return run_entry(b, b->skel->progs.bench_parse_storage, h, mss, ns);
}


/* Hellos fed to the unmodified test entry in one test run per segment. */
#define PER_SEGMENT_HELLOS 500

/*
 * Cross-check with the unmodified ts_parse_test entry (what `tagshake
 * parse` runs): one BPF_PROG_TEST_RUN per segment, repeat 1, the state
 * reset by userspace between hellos outside the timed part. Sums the
 * kernel's per-run times of a hello's segments, averaged over the hellos.
 * Each run's time includes the kernel's clock reads, so it is an upper bound.
 */
static int measure_test_entry(struct bench *b, const struct hello *h, long mss, double *ns)
{
	static struct ts_segment_packet p;
	double total = 0;
	int err = 0;

	for (int i = 0; i < PER_SEGMENT_HELLOS && !err; i++) {
		err = reset_test_state(b->skel);
		for (size_t off = 0; off < h->len && !err; off += (size_t)mss) {
			size_t n = h->len - off < (size_t)mss ? h->len - off : (size_t)mss;
			size_t size = ts_segment_packet_build(&p, h->bytes + off, n, (__u32)off,
							     off + n == h->len);
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &p, .data_size_in = size,
				    .repeat = 1);

			if (bpf_prog_test_run_opts(bpf_program__fd(b->skel->progs.ts_parse_test),
						   &opts))
				err = -errno;
			total += opts.duration;
		}
	}
	*ns = total / PER_SEGMENT_HELLOS;
	return err;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The userspace build: ts_hello_parse_bytes, as `tagshake parse --userspace`. */
static int measure_userspace(struct bench *b, const struct hello *h, long mss, double *ns)
{
	struct ts_tag tag;
	double start = now_ns();
	int st = 0;

	(void)mss;
	for (long i = 0; i < b->run_repeat; i++)
		st |= ts_hello_parse_bytes(h->bytes, h->len, &tag);
	*ns = (now_ns() - start) / b->run_repeat;
	return st == TS_STATUS_OK ? 0 : -EPROTO;
}

/* Fast path: the unmodified test entry on a stream whose tag is final. */
static int measure_final_test_entry(struct bench *b, const struct hello *h, long mss, double *ns)
{
	static struct ts_segment_packet p;
	size_t size = ts_segment_packet_build(&p, h->bytes, h->len, 0, 0);
	struct ts_tag tag;
	__u32 zero = 0;
	int err;

	(void)mss;
	err = reset_test_state(b->skel);
	if (!err)
		err = test_run(b->skel->progs.ts_parse_test, &p, size, 1, ns);
	if (!err && bpf_map__lookup_elem(b->skel->maps.test_tag, &zero, sizeof(zero), &tag,
					 sizeof(tag), 0))
		err = -errno;
	if (!err && tag.status != TS_STATUS_OK)
		err = -EPROTO;
	if (!err)
		err = test_run(b->skel->progs.ts_parse_test, &p, size, b->run_repeat, ns);
	return err;
}

static int measure_fast_path(struct bench *b, const struct hello *h, long mss, double *ns)
{
	int err = run_entry(b, b->skel->progs.bench_fast_path, h, mss, ns);

	return !err && b->skel->bss->bench_status != TS_STATUS_OK ? -EPROTO : err;
}

static int measure_empty(struct bench *b, const struct hello *h, long mss, double *ns)
{
	return run_entry(b, b->skel->progs.bench_empty, h, mss, ns);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct row {
	const char *what;
	measure_fn fn;
	long mss;
	const struct hello *h;
	double ns[ROUNDS_MAX];
	double median;
	double best; /* the least of the rounds: other load only ever adds time */
	int storage; /* creates socket storage: repeat at most STORAGE_REPEAT_MAX */
	int (*check)(struct bench *b, const struct hello *h); /* after a parse entry ran */
};

/* The test tag must hold the status and SNI the userspace build found. */
static int check_test_tag(struct bench *b, const struct hello *h)
{
	struct ts_tag tag;
	__u32 zero = 0;

	if (bpf_map__lookup_elem(b->skel->maps.test_tag, &zero, sizeof(zero), &tag, sizeof(tag), 0))
		return -errno;
	if (tag.status != h->expect.status || tag.sni_len != h->expect.sni_len ||
	    memcmp(tag.sni, h->expect.sni, tag.sni_len))
		return -EPROTO;
	return 0;
}

/* And the bench entries must have returned that status. */
static int check_parse(struct bench *b, const struct hello *h)
{
	if (b->skel->bss->bench_status != h->expect.status)
		return -EPROTO;
	return check_test_tag(b, h);
}

static int check_status(struct bench *b, const struct hello *h)
{
	return b->skel->bss->bench_status == h->expect.status ? 0 : -EPROTO;
}

static int run_rows(struct bench *b, struct row *rows, int n)
{
	for (int r = 0; r < b->rounds; r++) {
		for (int i = 0; i < n; i++) {
			struct row *row = &rows[i];
			int err;

			b->run_repeat = row->storage && b->repeat > STORAGE_REPEAT_MAX ?
						STORAGE_REPEAT_MAX : b->repeat;
			err = row->fn(b, row->h, row->mss, &row->ns[r]);

			if (!err && row->check)
				err = row->check(b, row->h);
			if (err) {
				fprintf(stderr, "tagger_parse: %s (%s): %s\n", row->what,
					row->h ? row->h->file : "-", strerror(-err));
				return err;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		qsort(rows[i].ns, (size_t)b->rounds, sizeof(double), cmp_double);
		rows[i].median = rows[i].ns[b->rounds / 2];
		rows[i].best = rows[i].ns[0];
	}
	return 0;
}

static int load_hello(const char *file, struct hello *h)
{
	FILE *f = fopen(file, "rb");

	if (!f)
		return -errno;
	h->file = file;
	h->len = fread(h->bytes, 1, sizeof(h->bytes), f);
	if (!feof(f) || ferror(f)) {
		fclose(f);
		return -EFBIG;
	}
	fclose(f);
	if (ts_hello_parse_bytes(h->bytes, h->len, &h->expect) != TS_STATUS_OK)
		return -EPROTO; /* a benchmark of a failing parse measures nothing */
	return 0;
}

static int policy_add(struct tagger_bench_bpf *skel, const char *name, __u8 action)
{
	struct ts_policy_value ids = { .action = action, .cert_id = 1, .ca_id = 1, .route_id = 1 };
	struct ts_policy_entry e;

	ts_policy_entry_set(&e, name, &ids);
	return ts_policy_put(bpf_map__fd(skel->maps.policy), &e);
}

/*
 * A policy set like a small deployment's, so the decision does real
 * lookups: a wildcard the generated hellos match and a default. The test
 * run's socket has local port 0, which the fast path entry looks up.
 */
static int bench_setup(struct tagger_bench_bpf *skel)
{
	__u16 port = 0;
	__u8 one = 1;
	int err = policy_add(skel, BENCH_WILDCARD, TS_ACTION_OPTIONAL);

	if (!err)
		err = policy_add(skel, TS_POLICY_DEFAULT, TS_ACTION_NONE);
	if (!err && bpf_map__update_elem(skel->maps.ports, &port, sizeof(port), &one, sizeof(one),
					 BPF_ANY))
		err = -errno;
	return err;
}

static struct tagger_bench_bpf *bench_open(void)
{
	struct tagger_bench_bpf *skel = tagger_bench_bpf__open();

	if (!skel)
		return NULL;
	/* The live entry cannot run under BPF_PROG_TEST_RUN; skip its verification. */
	bpf_program__set_autoload(skel->progs.ts_tagger, false);
	if (tagger_bench_bpf__load(skel) || bench_setup(skel)) {
		tagger_bench_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static void print_row(const struct row *row, const struct row *user, const struct row *floor)
{
	const struct hello *h = row->h;
	const char *name = strrchr(h->file, '/') ? strrchr(h->file, '/') + 1 : h->file;
	char mss[16] = "-";

	if (row->mss == MSS_WHOLE)
		snprintf(mss, sizeof(mss), "1 (whole)");
	else if (row->mss)
		snprintf(mss, sizeof(mss), "%zu of %ld", (h->len + (size_t)row->mss - 1) / (size_t)row->mss,
			 row->mss);
	if (row->fn == measure_userspace || row->mss)
		printf("| %s | %s | %zu | %s | %.0f | %.0f |", row->what, name, h->len, mss,
		       row->median, row->best);
	else
		printf("| %s | - | - | - | %.0f | %.0f |", row->what, row->median, row->best);
	if (user)
		printf(" %.2f |", row->median / user->median);
	else
		printf(" |");
	if (floor)
		printf(" %.0f |\n", row->median - floor->median);
	else
		printf(" |\n");
}

/* Rows per hello: userspace first, it is the peer of every kernel row. */
enum {
	ROW_USER,
	ROW_PARSE_WHOLE,
	ROW_PARSE_1460,
	ROW_PARSE_536,
	ROW_STORE_WHOLE,
	ROW_RECORDS_WHOLE,
	ROW_NO_DECISION_WHOLE,
	ROW_STORAGE_WHOLE,
	ROW_STORAGE_536,
	ROW_TEST_ENTRY_1460,
	ROWS_PER_HELLO,
};

static int fill_rows(struct row *rows, const struct hello *h)
{
	struct row r[ROWS_PER_HELLO] = {
		[ROW_USER] = { "userspace build (ts_hello_parse_bytes)", measure_userspace, 0 },
		[ROW_PARSE_WHOLE] = { "BPF parse", measure_parse, MSS_WHOLE, .check = check_parse },
		[ROW_PARSE_1460] = { "BPF parse", measure_parse, MSS_ETHERNET, .check = check_parse },
		[ROW_PARSE_536] = { "BPF parse", measure_parse, MSS_576, .check = check_parse },
		[ROW_STORE_WHOLE] = { "BPF copy into the buffer only", measure_store, MSS_WHOLE },
		[ROW_RECORDS_WHOLE] = { "BPF copy + TLS record layer only", measure_records,
					MSS_WHOLE },
		[ROW_NO_DECISION_WHOLE] = { "BPF copy + parse, no policy decision",
					    measure_no_decision, MSS_WHOLE, .check = check_parse },
		[ROW_STORAGE_WHOLE] = { "BPF parse + socket storage create/delete",
					measure_parse_storage, MSS_WHOLE, .storage = 1,
					.check = check_status },
		[ROW_STORAGE_536] = { "BPF parse + socket storage create/delete",
				      measure_parse_storage, MSS_576, .storage = 1,
				      .check = check_status },
		[ROW_TEST_ENTRY_1460] = { "ts_parse_test, 1 test run per segment (upper bound)",
					  measure_test_entry, MSS_ETHERNET, .check = check_test_tag },
	};

	for (int i = 0; i < ROWS_PER_HELLO; i++) {
		rows[i] = r[i];
		rows[i].h = h;
	}
	return ROWS_PER_HELLO;
}

#define FILES_MAX 8
#define GLOBAL_ROWS 8
#define ROWS_MAX (FILES_MAX * ROWS_PER_HELLO + GLOBAL_ROWS)

static int run(struct bench *b, struct hello *hellos, int nh)
{
	static struct row rows[ROWS_MAX];
	int n = 0, err;

	for (int i = 0; i < nh; i++)
		n += fill_rows(&rows[n], &hellos[i]);
	rows[n++] = (struct row){ "fast path: ts_parse_test, tag final", measure_final_test_entry, 0,
				  .h = &hellos[0] };
	rows[n++] = (struct row){ "fast path: ts_tagger's lookups on the test socket",
				  measure_fast_path, 0, .h = &hellos[0] };
	rows[n++] = (struct row){ "socket storage create + delete, tag and a 2 KiB hold, no parse",
				  measure_storage, 0, .h = &hellos[0], .storage = 1 };
	rows[n++] = (struct row){ "socket storage create + delete, tag only", measure_storage_tag,
				  0, .h = &hellos[0], .storage = 1 };
	rows[n++] = (struct row){ "socket storage create + delete, 1 KiB value", measure_storage_1k,
				  0, .h = &hellos[0], .storage = 1 };
	rows[n++] = (struct row){ "socket storage create + delete, 4 KiB value", measure_storage_4k,
				  0, .h = &hellos[0], .storage = 1 };
	rows[n++] = (struct row){ "socket storage create + delete, 8 KiB value", measure_storage_8k,
				  0, .h = &hellos[0], .storage = 1 };
	rows[n++] = (struct row){ "empty program (test-run floor)", measure_empty, 0, .h = &hellos[0] };
	err = run_rows(b, rows, n);
	if (err)
		return err;
	printf("BPF_PROG_TEST_RUN, repeat %ld (%d for rows that create socket storage: its "
	       "RCU-deferred frees pile up over long runs); ns per hello, the median and the "
	       "least of %d rounds (per packet for the fast path and the floor). The userspace "
	       "build runs as many times in a loop. Ratios and \"above floor\" use the "
	       "medians.\n\n",
	       b->repeat, b->repeat < STORAGE_REPEAT_MAX ? (int)b->repeat : STORAGE_REPEAT_MAX,
	       b->rounds);
	printf("| what | hello | bytes | segments | ns (median) | ns (best) | ratio to userspace "
	       "| ns above floor |\n");
	printf("|---|---|---:|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < nh; i++) {
		struct row *hr = &rows[i * ROWS_PER_HELLO];

		for (int k = 0; k < ROWS_PER_HELLO; k++)
			print_row(&hr[k], k == ROW_USER ? NULL : &hr[ROW_USER],
				  k == ROW_USER ? NULL : &rows[n - 1]);
	}
	for (int i = n - GLOBAL_ROWS; i < n; i++)
		print_row(&rows[i], NULL, i == n - 1 ? NULL : &rows[n - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	static struct hello hellos[FILES_MAX];
	struct bench b = { .repeat = 20000, .rounds = 7 };
	int c, nh = 0, err;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			b.repeat = strtol(optarg, NULL, 10);
		else if (c == 'r')
			b.rounds = (int)strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind >= argc || b.repeat < 1 || b.rounds < 1 || b.rounds > ROUNDS_MAX ||
	    argc - optind > FILES_MAX) {
		fprintf(stderr, "usage: tagger_parse [-n REPEAT] [-r ROUNDS(1-%d)] FILE... (at most "
			"%d)\n", ROUNDS_MAX, FILES_MAX);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		err = load_hello(argv[i], &hellos[nh]);
		if (err) {
			fprintf(stderr, "tagger_parse: %s: %s (a ClientHello of at most %d bytes "
				"that parses ok is needed)\n", argv[i], strerror(-err),
				BENCH_PAYLOAD_MAX);
			return 1;
		}
		nh++;
	}
	libbpf_set_print(NULL);
	b.skel = bench_open();
	if (!b.skel) {
		fprintf(stderr, "tagger_parse: cannot load the bench BPF object: %s (needs root)\n",
			strerror(errno));
		return 1;
	}
	err = run(&b, hellos, nh);
	tagger_bench_bpf__destroy(b.skel);
	return err ? 1 : 0;
}
