# tagshake: `make` builds everything into build/, `make test` installs what is
# missing, builds and runs every suite. Each component adds its targets in
# mk/<component>.mk (docs/architecture.md: lib/, tagshaked/, proxy/, cli/,
# bpf/); no mk file adds inputs to another component's link.

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
AR        ?= ar
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# lib/ holds the headers every program includes; a program's own headers are
# found beside its sources (and by the -I its mk file adds).
INCLUDES  := -Iinclude -Ibpf -Ilib -I$(BUILD)
CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 $(INCLUDES) -D_GNU_SOURCE
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf -I$(BUILD)

# Objects go to $(OBJ)/<source dir>/; each writes its header dependencies
# beside it (-MMD -MP), read back at the end of this file.
OBJ       := $(BUILD)/obj
DEPFLAGS  := -MMD -MP

# Canned recipes. compile: one source into its object, with the target's
# extra CPPFLAGS (a component's own -I); link: every object and archive
# prerequisite, then the target's LDLIBS (set per target in the mk files).
define compile
@mkdir -p $(@D)
$(CC) $(CFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@
endef
define link
@mkdir -p $(@D)
$(CC) $(CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS)
endef

# Filled in by mk/*.mk
PROGRAMS  :=
TEST_BINS :=

.PHONY: all test clean deps
# Keep BPF objects: the skeleton embeds them, tests load them too.
.SECONDARY:
# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:
all: programs tests-build

# The library and the BPF objects first: the other components name them
# (LIB_A, LIB_SRCS, LIBBPF_LIBS) in their rules.
MK_FIRST := mk/lib.mk mk/tagger.mk
include $(MK_FIRST) $(filter-out $(MK_FIRST),$(sort $(wildcard mk/*.mk)))

.PHONY: programs tests-build
programs: $(PROGRAMS)
tests-build: $(TEST_BINS)

$(BUILD):
	mkdir -p $@

deps:
	scripts/deps.sh

test:
	scripts/deps.sh
	$(MAKE) all fuzz-build
	scripts/run-tests.sh

clean:
	rm -rf $(BUILD)

-include $(wildcard $(OBJ)/*/*.d $(BUILD)/fuzz/obj/*/*.d)
