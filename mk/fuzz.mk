# Fuzzing (fuzz/): libFuzzer harnesses built with clang, ASan and UBSan.
# They are built with the tests (tests/test_fuzz.sh runs each briefly and
# replays fuzz/regressions/); `make fuzz` runs each for FUZZ_SECONDS.

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
# -O1: the sanitizers' usual trade between speed and readable reports.
FUZZ_CFLAGS  := -g -O1 -Wall -Wextra -Werror -std=gnu11 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude -Ibpf -Iuser -I$(BUILD) -D_GNU_SOURCE
FUZZ_HDRS    := fuzz/check.h $(wildcard include/*.h user/*.h bpf/*.h)

FUZZ_BINS := $(FUZZ_DIR)/fuzz_hello $(FUZZ_DIR)/fuzz_config $(FUZZ_DIR)/fuzz_handoff \
	     $(FUZZ_DIR)/fuzz_http $(FUZZ_DIR)/fuzz_differential
TEST_BINS += $(FUZZ_BINS) $(FUZZ_DIR)/handoff_seeds

$(FUZZ_DIR):
	mkdir -p $@

$(FUZZ_DIR)/fuzz_hello: fuzz/fuzz_hello.c user/hello.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@

$(FUZZ_DIR)/fuzz_config: fuzz/fuzz_config.c user/config.c user/name.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ -lyaml

$(FUZZ_DIR)/fuzz_handoff: fuzz/fuzz_handoff.c user/handoff.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@

$(FUZZ_DIR)/fuzz_http: fuzz/fuzz_http.c user/http_inject.c $(LLHTTP_FUZZ_OBJS) $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(LLHTTP_INC) $(filter %.c %.o,$^) -o $@

$(FUZZ_DIR)/fuzz_differential: fuzz/fuzz_differential.c user/hello.c $(FUZZ_HDRS) \
			       $(BUILD)/tagger.skel.h | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ $(LIBBPF_LIBS)

# Seed hand-off blocks, written with the same builder the handshaker uses.
$(FUZZ_DIR)/handoff_seeds: fuzz/handoff_seeds.c user/handoff.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(CC) $(CFLAGS) -Iuser $(filter %.c,$^) -o $@

.PHONY: fuzz
fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/handoff_seeds
	fuzz/run.sh $(FUZZ_SECONDS)
