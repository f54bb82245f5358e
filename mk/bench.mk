# Benchmarks (bench/): built with everything so they keep compiling, run
# only by `make bench`, never by `make test`. `make bench` (bench/all.sh)
# runs the tagger, handshaker and proxy benchmarks with their peers and
# writes bench/results.md (summary on top), bench/handshaker_results.md,
# bench/proxy_results.md and bench/*.png; `make bench BENCH_QUICK=1` is a
# few-minute smoke run into build/bench/quick/.

BENCH_DIR := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/tagger_parse $(BENCH_DIR)/conn_server $(BENCH_DIR)/conn_load

PROGRAMS += $(BENCH_BINS)

# The bench object includes the whole tagger.
$(BUILD)/tagger_bench.bpf.o: bpf/tagger.bpf.c bench/tagger_bench.h

$(BENCH_DIR):
	mkdir -p $@

$(BENCH_DIR)/tagger_parse: bench/tagger_parse.c bench/tagger_bench.h user/hello.c user/names.c user/segment_packet.c user/policy.c user/pins.c $(wildcard user/*.h include/*.h bpf/*.h) $(BUILD)/tagger_bench.skel.h | $(BENCH_DIR)
	$(CC) $(CFLAGS) -Iuser -Ibench bench/tagger_parse.c user/hello.c user/names.c user/segment_packet.c user/policy.c user/pins.c -o $@ $(LIBBPF_LIBS)

$(BENCH_DIR)/conn_server: bench/conn_server.c include/tagshake.h | $(BENCH_DIR)
	$(CC) $(CFLAGS) $< -o $@ $(LIBBPF_LIBS)

$(BENCH_DIR)/conn_load: bench/conn_load.c | $(BENCH_DIR)
	$(CC) $(CFLAGS) $< -o $@

.PHONY: bench
bench: $(BENCH_BINS) $(BUILD)/tagshake $(BUILD)/tagger_bench.bpf.o \
		$(BUILD)/tagshaked $(BUILD)/tagshake-proxy $(BUILD)/bench/proxy_load \
		$(BUILD)/tests/handshaker_load $(BUILD)/tests/handoff_sink
	BENCH_QUICK=$(BENCH_QUICK) bench/all.sh
