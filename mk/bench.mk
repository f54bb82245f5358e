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

$(OBJ)/bench/%.o: CPPFLAGS += -Ibench
$(OBJ)/bench/%.o: bench/%.c
	$(compile)
# generated before the first compile; afterwards the .d file names it
$(OBJ)/bench/tagger_parse.o: | $(BUILD)/tagger_bench.skel.h

$(BENCH_DIR)/tagger_parse: LDLIBS = $(LIBBPF_LIBS)
$(BENCH_DIR)/tagger_parse: $(OBJ)/bench/tagger_parse.o $(LIB_A)
	$(link)

$(BENCH_DIR)/conn_server: LDLIBS = $(LIBBPF_LIBS)
$(BENCH_DIR)/conn_server: $(OBJ)/bench/conn_server.o
	$(link)

$(BENCH_DIR)/conn_load: $(OBJ)/bench/conn_load.o
	$(link)

# The proxy benchmark's client and upstream (bench/proxy_bench.sh), built
# with the tests because the kernel-matrix suite tests/proxy_vm_ktls.sh uses it.
TEST_BINS += $(BENCH_DIR)/proxy_load

$(BENCH_DIR)/proxy_load: LDLIBS = -lssl -lcrypto
$(BENCH_DIR)/proxy_load: $(OBJ)/bench/proxy_load.o
	$(link)

.PHONY: bench
bench: $(BENCH_BINS) $(BUILD)/tagshake $(BUILD)/tagger_bench.bpf.o \
		$(BUILD)/tagshaked $(BUILD)/tagshake-proxy $(BENCH_DIR)/proxy_load \
		$(BUILD)/tests/handshaker_load $(BUILD)/tests/handoff_sink
	BENCH_QUICK=$(BENCH_QUICK) bench/all.sh
