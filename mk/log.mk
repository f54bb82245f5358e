# user/log.[ch]: levelled, rate-limited diagnostics shared by tagshaked and
# tagshake-proxy. Linked in as extra prerequisites of their link rules
# (both link "$^"); the objects come from each component's own pattern rule.

$(BUILD)/tagshaked: $(BUILD)/hs/log.o
$(BUILD)/tagshake-proxy: $(BUILD)/proxy/log.o

TEST_BINS += $(BUILD)/tests/test_log

$(BUILD)/tests/test_log: tests/test_log.c user/log.c user/log.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser tests/test_log.c user/log.c -o $@ -lcmocka -lpthread

# the configuration's logging: section
TEST_BINS += $(BUILD)/tests/test_config_logging

$(BUILD)/tests/test_config_logging: tests/test_config_logging.c $(BUILD)/hs/config.o $(BUILD)/hs/name.o \
				    user/config.h user/log.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(BUILD)/hs/config.o $(BUILD)/hs/name.o -o $@ -lcmocka -lyaml -lbpf

# logfmt connection lines (user/logfmt.c): tagshaked's connlog, the proxy's
$(BUILD)/tagshaked: $(BUILD)/hs/logfmt.o
$(BUILD)/tagshake-proxy: $(BUILD)/proxy/logfmt.o $(BUILD)/proxy/proxy_connlog.o
