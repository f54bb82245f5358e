/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by bpf/tagger_bench.bpf.c and bench/tagger_parse.c. */
#ifndef TS_TAGGER_BENCH_H
#define TS_TAGGER_BENCH_H

/* How much of a segment's work the parse entries do, for a breakdown. */
enum bench_stages {
	BENCH_ALL = 0, /* ts_stream_step: store, parse, policy decision, counters */
	BENCH_STORE,   /* ts_segment_store only: the copy into the buffer */
	BENCH_RECORDS, /* store and ts_records_advance: the record layer, no hello parse */
	BENCH_PARSE,   /* store and ts_hello_advance: no decision, no counters */
};

#endif /* TS_TAGGER_BENCH_H */
