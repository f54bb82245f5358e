# The BPF tagger, its skeleton, the CLI and the parser's unit tests.

LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)

CLI_SRCS := $(wildcard user/cli*.c) user/names.c user/pins.c user/policy.c user/hello.c user/json.c user/name.c user/config.c user/segment_packet.c user/metrics.c
CLI_HDRS := $(wildcard user/*.h) $(wildcard include/*.h) $(wildcard bpf/*.h)

PROGRAMS  += $(BUILD)/tagshake
TEST_BINS += $(BUILD)/tests/test_clienthello $(BUILD)/tests/test_reasm

$(BUILD)/tagshake: $(CLI_SRCS) $(CLI_HDRS) $(BUILD)/tagger.skel.h | $(BUILD)
	$(CC) $(CFLAGS) -Iuser $(CLI_SRCS) -o $@ $(LIBBPF_LIBS) -lyaml -lncursesw

$(BUILD)/tests:
	mkdir -p $@

$(BUILD)/tests/test_clienthello: tests/test_clienthello.c tests/hello_builder.c tests/hello_builder.h user/hello.c $(CLI_HDRS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Iuser -Itests tests/test_clienthello.c tests/hello_builder.c user/hello.c -o $@ -lcmocka

$(BUILD)/tests/test_reasm: tests/test_reasm.c bpf/reasm.h | $(BUILD)/tests
	$(CC) $(CFLAGS) tests/test_reasm.c -o $@ -lcmocka

# Helper programs for the live suites (not suites themselves).
PROGRAMS += $(BUILD)/tests/tag_probe

$(BUILD)/tests/tag_probe: tests/tag_probe.c user/hello.c user/json.c user/names.c user/pins.c user/config.c user/name.c $(CLI_HDRS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Iuser $(filter %.c,$^) -o $@ $(LIBBPF_LIBS) -lyaml

TEST_BINS += $(BUILD)/tests/test_policy_lookup

$(BUILD)/tests/test_policy_lookup: tests/test_policy_lookup.c user/policy.c user/pins.c $(CLI_HDRS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Iuser tests/test_policy_lookup.c user/policy.c user/pins.c -o $@ -lcmocka $(LIBBPF_LIBS)
