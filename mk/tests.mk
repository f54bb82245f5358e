# Unit suites (build/tests/test_*, run by scripts/run-tests.sh) and the
# helper programs the shell suites drive. Each links its own objects, any
# program object it tests, and libtagshake.a.

$(OBJ)/tests/%.o: CPPFLAGS += -Itests -Itagshaked -Iproxy -Icli
$(OBJ)/tests/%.o: tests/%.c
	$(compile)


# --- suites ----------------------------------------------------------------
TEST_BINS += $(BUILD)/tests/test_clienthello $(BUILD)/tests/test_reasm \
	     $(BUILD)/tests/test_policy_lookup $(BUILD)/tests/test_policy_differential \
	     $(BUILD)/tests/test_handoff $(BUILD)/tests/test_config \
	     $(BUILD)/tests/test_config_logging $(BUILD)/tests/test_decision \
	     $(BUILD)/tests/test_log $(BUILD)/tests/test_pp2 \
	     $(BUILD)/tests/test_http_inject $(BUILD)/tests/test_cert_headers \
	     $(BUILD)/tests/test_http_rules $(BUILD)/tests/test_opts $(BUILD)/tests/test_ev

$(BUILD)/tests/test_clienthello: LDLIBS = -lcmocka
$(BUILD)/tests/test_clienthello: $(OBJ)/tests/test_clienthello.o $(OBJ)/tests/hello_builder.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_reasm: LDLIBS = -lcmocka
$(BUILD)/tests/test_reasm: $(OBJ)/tests/test_reasm.o
	$(link)

$(BUILD)/tests/test_policy_lookup: LDLIBS = -lcmocka $(LIBBPF_LIBS)
$(BUILD)/tests/test_policy_lookup: $(OBJ)/tests/test_policy_lookup.o $(LIB_A)
	$(link)

# bpf/policy_lookup.h (on a BPF map) against lib/config.c's lookup
$(BUILD)/tests/test_policy_differential: LDLIBS = -lcmocka $(LIBBPF_LIBS) $(LIB_LIBS)
$(BUILD)/tests/test_policy_differential: $(OBJ)/tests/test_policy_differential.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_handoff: LDLIBS = -lcmocka
$(BUILD)/tests/test_handoff: $(OBJ)/tests/test_handoff.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_config: LDLIBS = -lcmocka -lssl -lcrypto $(LIB_LIBS)
$(BUILD)/tests/test_config: $(OBJ)/tests/test_config.o $(LIB_A)
	$(link)

# the configuration's logging: section
$(BUILD)/tests/test_config_logging: LDLIBS = -lcmocka $(LIB_LIBS)
$(BUILD)/tests/test_config_logging: $(OBJ)/tests/test_config_logging.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_decision: LDLIBS = -lcmocka -lssl -lcrypto $(LIB_LIBS)
$(BUILD)/tests/test_decision: $(OBJ)/tests/test_decision.o $(OBJ)/tagshaked/decision.o $(LIB_A)
	$(link)

# lib/tls_record.c against a real OpenSSL client (tests/tls_pair.c)
TEST_BINS += $(BUILD)/tests/test_tls_record
$(BUILD)/tests/test_tls_record: LDLIBS = -lcmocka -lssl -lcrypto -lpthread
$(BUILD)/tests/test_tls_record: $(OBJ)/tests/test_tls_record.o $(OBJ)/tests/tls_pair.o $(LIB_A)
	$(link)

# command-line options from a table (lib/opts.c)
$(BUILD)/tests/test_opts: LDLIBS = -lcmocka
$(BUILD)/tests/test_opts: $(OBJ)/tests/test_opts.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_log: LDLIBS = -lcmocka -lpthread
$(BUILD)/tests/test_log: $(OBJ)/tests/test_log.o $(LIB_A)
	$(link)

# lib/ev.c: deadline lists, timers, wake and stop from another thread
$(BUILD)/tests/test_ev: LDLIBS = -lcmocka -lpthread
$(BUILD)/tests/test_ev: $(OBJ)/tests/test_ev.o $(LIB_A)
	$(link)

$(BUILD)/tests/test_pp2: LDLIBS = -lcmocka
$(BUILD)/tests/test_pp2: $(OBJ)/tests/test_pp2.o $(OBJ)/proxy/pp2.o
	$(link)

$(BUILD)/tests/test_http_inject: LDLIBS = -lcmocka
$(BUILD)/tests/test_http_inject: $(OBJ)/tests/test_http_inject.o $(OBJ)/proxy/http_inject.o $(OBJ)/proxy/http_rules.o $(LLHTTP_OBJS)
	$(link)

$(BUILD)/tests/test_http_rules: LDLIBS = -lcmocka
$(BUILD)/tests/test_http_rules: $(OBJ)/tests/test_http_rules.o $(OBJ)/proxy/http_rules.o
	$(link)

$(BUILD)/tests/test_cert_headers: LDLIBS = -lcmocka -lssl -lcrypto
$(BUILD)/tests/test_cert_headers: $(OBJ)/tests/test_cert_headers.o $(OBJ)/proxy/cert_headers.o $(LIB_A)
	$(link)

# --- helper programs -------------------------------------------------------
# tag_probe: reads tags and policy from the pins for the live suites;
# handoff_sink: a small proxy stand-in receiving hand-offs with the public API;
# handshaker_load: load generator (tests/handshaker_bench.sh);
# handshaker_peer: clients for the hand-off edge cases (data behind Finished,
# KeyUpdate after hand-off).
PROGRAMS += $(BUILD)/tests/tag_probe $(BUILD)/tests/handoff_sink \
	    $(BUILD)/tests/handshaker_load $(BUILD)/tests/handshaker_peer

$(BUILD)/tests/tag_probe: LDLIBS = $(LIBBPF_LIBS) $(LIB_LIBS)
$(BUILD)/tests/tag_probe: $(OBJ)/tests/tag_probe.o $(LIB_A)
	$(link)

$(BUILD)/tests/handoff_sink: LDLIBS = -lcrypto -lpthread
$(BUILD)/tests/handoff_sink: $(OBJ)/tests/handoff_sink.o $(LIB_A)
	$(link)

$(BUILD)/tests/handshaker_load: LDLIBS = -lssl -lcrypto
$(BUILD)/tests/handshaker_load: $(OBJ)/tests/handshaker_load.o
	$(link)

$(BUILD)/tests/handshaker_peer: LDLIBS = -lssl -lcrypto
$(BUILD)/tests/handshaker_peer: $(OBJ)/tests/handshaker_peer.o
	$(link)

# A stand-in handshaker (real OpenSSL, relay mode) for the proxy's tests,
# with tagshaked's own metadata builder and policy entry names.
TEST_BINS += $(BUILD)/tests/proxy_feeder

$(BUILD)/tests/proxy_feeder: LDLIBS = -lssl -lcrypto $(LIB_LIBS)
$(BUILD)/tests/proxy_feeder: $(OBJ)/tests/proxy_feeder.o $(OBJ)/tagshaked/metadata.o \
			     $(OBJ)/tagshaked/decision.o $(LIB_A)
	$(link)
