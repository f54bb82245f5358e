# lib/: the code two or more programs share (hand-off, configuration, host
# names, logging, logfmt, sd_notify, pins, policy map, the ClientHello parser,
# JSON output, segment reassembly, monotonic clock, fd limit, the event
# core), compiled once
# into $(BUILD)/libtagshake.a.
# Programs, tests and benchmarks link the archive; the linker takes only the
# members each one uses, so a program lists only its own system libraries.

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS))
LIB_A    := $(BUILD)/libtagshake.a
# what the members call: libyaml (config), libbpf (pins, policy), pthreads (log)
LIB_LIBS := -lyaml -lbpf -lpthread

$(OBJ)/lib/%.o: lib/%.c
	$(compile)

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
