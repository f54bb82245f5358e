# The handshaker daemon (build/tagshaked): tagshaked/ over libtagshake.a.

TSD_SRCS := $(sort $(wildcard tagshaked/*.c))
TSD_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(TSD_SRCS))

$(OBJ)/tagshaked/%.o: CPPFLAGS += -Itagshaked
$(OBJ)/tagshaked/%.o: tagshaked/%.c
	$(compile)

PROGRAMS += $(BUILD)/tagshaked

$(BUILD)/tagshaked: LDLIBS = -lssl -lcrypto $(LIB_LIBS)
$(BUILD)/tagshaked: $(TSD_OBJS) $(LIB_A)
	$(link)
