# The proxy (build/tagshake-proxy): receives handed-off connections and
# forwards their plaintext with TLS metadata. proxy/ over libtagshake.a.

PX_SRCS := $(sort $(wildcard proxy/*.c))
PX_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(PX_SRCS))

$(OBJ)/proxy/%.o: CPPFLAGS += -Iproxy
$(OBJ)/proxy/%.o: proxy/%.c
	$(compile)

# llhttp's header for the HTTP module (mk/ext_llhttp.mk); its objects link in.
$(OBJ)/proxy/http_inject.o: CPPFLAGS += -I$(LLHTTP_INC)
# HTTP/2 (h2_conn.c): Debian's libnghttp2; upstream responses through llhttp
$(OBJ)/proxy/h2_conn.o: CPPFLAGS += -I$(LLHTTP_INC)

PROGRAMS += $(BUILD)/tagshake-proxy

$(BUILD)/tagshake-proxy: LDLIBS = -lssl -lcrypto -lnghttp2 $(LIB_LIBS)
$(BUILD)/tagshake-proxy: $(PX_OBJS) $(LLHTTP_OBJS) $(LIB_A)
	$(link)
