# The CLI (build/tagshake): load, unload, status, policy, stats, parse, top,
# metrics, check. cli/ over libtagshake.a; it embeds the tagger's skeleton.

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(CLI_SRCS))

$(OBJ)/cli/%.o: CPPFLAGS += -Icli
# generated before the first compile; afterwards the .d files name it
$(OBJ)/cli/%.o: cli/%.c | $(BUILD)/tagger.skel.h
	$(compile)

PROGRAMS += $(BUILD)/tagshake

$(BUILD)/tagshake: LDLIBS = $(LIBBPF_LIBS) -lyaml -lncursesw -lpthread
$(BUILD)/tagshake: $(CLI_OBJS) $(LIB_A)
	$(link)
