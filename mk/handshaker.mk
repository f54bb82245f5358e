# The handshaker daemon (build/tagshaked), its configuration parser and the
# hand-off library. Objects live under $(BUILD)/hs/ so other components can
# compile the same sources their own way.

HS_OBJDIR := $(BUILD)/hs
HS_LIBS   := -lssl -lcrypto -lbpf -lyaml
HS_HDRS   := $(wildcard include/*.h user/*.h bpf/*.h)

# the hand-off and configuration: shared with `tagshake policy import` and proxies
HS_COMMON := handoff config name
# the daemon proper
HS_DAEMON :=

HS_COMMON_OBJS := $(patsubst %,$(HS_OBJDIR)/%.o,$(HS_COMMON))
HS_DAEMON_OBJS := $(patsubst %,$(HS_OBJDIR)/%.o,$(HS_DAEMON))

$(HS_OBJDIR)/%.o: user/%.c $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -c $< -o $@


TEST_BINS += $(BUILD)/tests/test_handoff $(BUILD)/tests/test_config

$(BUILD)/tests/test_handoff: tests/test_handoff.c $(HS_OBJDIR)/handoff.o $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(HS_OBJDIR)/handoff.o -o $@ -lcmocka

$(BUILD)/tests/test_config: tests/test_config.c $(HS_COMMON_OBJS) $(HS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(HS_COMMON_OBJS) -o $@ -lcmocka $(HS_LIBS)
