# The proxy (build/tagshake-proxy): receives handed-off connections and
# forwards their plaintext with TLS metadata. Objects live under
# $(BUILD)/proxy/ so they do not clash with other components' rules.

PX_OBJDIR := $(BUILD)/proxy
PX_HDRS   := $(wildcard include/*.h user/*.h)

$(PX_OBJDIR)/%.o: user/%.c $(PX_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -c $< -o $@

TEST_BINS += $(BUILD)/tests/test_pp2

$(BUILD)/tests/test_pp2: tests/test_pp2.c $(PX_OBJDIR)/pp2.o $(PX_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(PX_OBJDIR)/pp2.o -o $@ -lcmocka

TEST_BINS += $(BUILD)/tests/test_http_inject

$(BUILD)/tests/test_http_inject: tests/test_http_inject.c $(PX_OBJDIR)/http_inject.o $(PX_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(PX_OBJDIR)/http_inject.o -o $@ -lcmocka -lhttp_parser

PX_OBJS := $(patsubst %,$(PX_OBJDIR)/%.o,proxy_main proxy_worker proxy_conn proxy_mode \
	proxy_relay proxy_upstream proxy_stats proxy_gen status_file pp2 http_inject cert_headers \
	handoff config name notify)
PROGRAMS += $(BUILD)/tagshake-proxy

$(BUILD)/tagshake-proxy: $(PX_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread -lhttp_parser -lssl -lcrypto -lyaml

# A stand-in handshaker (real OpenSSL, relay mode) for the proxy's tests.
PX_FEEDER_OBJS := $(patsubst %,$(PX_OBJDIR)/%.o,handoff config name)
TEST_BINS += $(BUILD)/tests/proxy_feeder

$(BUILD)/tests/proxy_feeder: tests/proxy_feeder.c $(PX_FEEDER_OBJS) $(PX_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(PX_FEEDER_OBJS) -o $@ -lssl -lcrypto -lyaml

# The proxy benchmark's client and upstream (bench/proxy_bench.sh), built
# with the tests because the kernel-matrix suite tests/proxy_vm_ktls.sh uses it.
TEST_BINS += $(BUILD)/bench/proxy_load

$(BUILD)/bench/proxy_load: bench/proxy_load.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto

TEST_BINS += $(BUILD)/tests/test_cert_headers

$(BUILD)/tests/test_cert_headers: tests/test_cert_headers.c $(PX_OBJDIR)/cert_headers.o $(PX_OBJDIR)/handoff.o $(PX_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(PX_OBJDIR)/cert_headers.o $(PX_OBJDIR)/handoff.o -o $@ -lcmocka -lssl -lcrypto
