# The proxy (build/tagshake-proxy): receives handed-off connections and
# forwards their plaintext with TLS metadata. proxy/ over libtagshake.a.

PX_SRCS := $(sort $(wildcard proxy/*.c))
PX_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(PX_SRCS))

$(OBJ)/proxy/%.o: CPPFLAGS += -Iproxy
$(OBJ)/proxy/%.o: proxy/%.c
	$(compile)

PROGRAMS += $(BUILD)/tagshake-proxy

$(BUILD)/tagshake-proxy: LDLIBS = -lhttp_parser -lssl -lcrypto $(LIB_LIBS)
$(BUILD)/tagshake-proxy: $(PX_OBJS) $(LIB_A)
	$(link)
