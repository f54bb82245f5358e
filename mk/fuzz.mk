# Fuzzing (fuzz/): libFuzzer harnesses built with clang, ASan and UBSan over
# their own instrumented build of libtagshake.a ($(FUZZ_DIR)/libtagshake.a),
# so coverage and the sanitizers reach the library code under test.
# `make fuzz-build` builds them (`make test` does, before the suites;
# tests/test_fuzz.sh runs each briefly and replays fuzz/regressions/);
# `make fuzz` runs each for FUZZ_SECONDS. Not part of `all`: there every
# shared source compiles once, here the library compiles a second time with
# the instrumentation.

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_OBJ     := $(FUZZ_DIR)/obj
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
# -O1: the sanitizers' usual trade between speed and readable reports.
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -Wall -Wextra -Werror -std=gnu11 -fno-omit-frame-pointer $(FUZZ_SAN) \
		$(INCLUDES) -Iproxy -D_GNU_SOURCE

FUZZ_BINS := $(FUZZ_DIR)/fuzz_hello $(FUZZ_DIR)/fuzz_config $(FUZZ_DIR)/fuzz_handoff \
	     $(FUZZ_DIR)/fuzz_http $(FUZZ_DIR)/fuzz_differential
FUZZ_LIB  := $(FUZZ_DIR)/libtagshake.a

# every object instrumented for coverage; only the link adds libFuzzer's main
$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@
# generated before the first compile; afterwards the .d file names it
$(FUZZ_OBJ)/fuzz/fuzz_differential.o: | $(BUILD)/tagger.skel.h

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(LIB_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(filter %.o %.a,$^) -o $@ $(LDLIBS)

$(FUZZ_DIR)/fuzz_config: LDLIBS = -lyaml
# the proxy's HTTP path: its object and llhttp, instrumented
$(FUZZ_OBJ)/proxy/http_inject.o: FUZZ_CFLAGS += -I$(LLHTTP_INC)
$(FUZZ_DIR)/fuzz_http: $(FUZZ_OBJ)/proxy/http_inject.o $(FUZZ_OBJ)/proxy/http_rules.o $(LLHTTP_FUZZ_OBJS)
$(FUZZ_DIR)/fuzz_differential: LDLIBS = $(LIBBPF_LIBS)

# Seed hand-off blocks, written with the same builder the handshaker uses.
$(OBJ)/fuzz/%.o: fuzz/%.c
	$(compile)

$(FUZZ_DIR)/handoff_seeds: $(OBJ)/fuzz/handoff_seeds.o $(LIB_A)
	$(link)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS) $(FUZZ_DIR)/handoff_seeds

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_SECONDS)
