# The handshaker daemon (build/tagshaked), its configuration parser and the
# hand-off library. Objects live under $(BUILD)/hs/ so other components can
# compile the same sources their own way.

HS_OBJDIR := $(BUILD)/hs
HS_LIBS   := -lssl -lcrypto -lbpf -lyaml
HS_HDRS   := $(wildcard include/*.h user/*.h bpf/*.h)

# the hand-off and configuration: shared with `tagshake policy import` and proxies
HS_COMMON := handoff config name
# the daemon proper
HS_DAEMON := tagshaked listener worker conn tls_server decision resume metadata relay \
	     handoff_link stats status_file policy pins ktls notify connlog

HS_COMMON_OBJS := $(patsubst %,$(HS_OBJDIR)/%.o,$(HS_COMMON))
HS_DAEMON_OBJS := $(patsubst %,$(HS_OBJDIR)/%.o,$(HS_DAEMON))

$(HS_OBJDIR)/%.o: user/%.c $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -c $< -o $@


PROGRAMS  += $(BUILD)/tagshaked $(BUILD)/tests/handoff_sink
TEST_BINS += $(BUILD)/tests/test_handoff $(BUILD)/tests/test_config $(BUILD)/tests/test_decision

$(BUILD)/tagshaked: $(HS_DAEMON_OBJS) $(HS_COMMON_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(HS_LIBS) -lpthread

# a small proxy stand-in for the tests: receives hand-offs with the public API
$(BUILD)/tests/handoff_sink: tests/handoff_sink.c $(HS_OBJDIR)/handoff.o $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(HS_OBJDIR)/handoff.o -o $@ -lpthread

$(BUILD)/tests/test_handoff: tests/test_handoff.c $(HS_OBJDIR)/handoff.o $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(HS_OBJDIR)/handoff.o -o $@ -lcmocka

$(BUILD)/tests/test_config: tests/test_config.c $(HS_COMMON_OBJS) $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(HS_COMMON_OBJS) -o $@ -lcmocka $(HS_LIBS)

$(BUILD)/tests/test_decision: tests/test_decision.c $(HS_OBJDIR)/decision.o $(HS_OBJDIR)/policy.o \
			      $(HS_OBJDIR)/pins.o $(HS_COMMON_OBJS) $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(HS_OBJDIR)/decision.o $(HS_OBJDIR)/policy.o $(HS_OBJDIR)/pins.o \
		$(HS_COMMON_OBJS) -o $@ -lcmocka $(HS_LIBS)

# load generator for the handshake measurements (tests/handshaker_bench.sh)
PROGRAMS += $(BUILD)/tests/handshaker_load
$(BUILD)/tests/handshaker_load: tests/handshaker_load.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto
