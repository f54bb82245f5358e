# tagshake: `make` builds everything into build/, `make test` installs what is
# missing, builds and runs every suite. Each component adds its targets in
# mk/<component>.mk so the parts stay independent.

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -Iinclude -Ibpf -I$(BUILD) -D_GNU_SOURCE
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf -I$(BUILD)

# Filled in by mk/*.mk
PROGRAMS  :=
TEST_BINS :=

.PHONY: all test clean deps
# Keep BPF objects: the skeleton embeds them, tests load them too.
.SECONDARY:
all: programs tests-build

include $(sort $(wildcard mk/*.mk))

.PHONY: programs tests-build
programs: $(PROGRAMS)
tests-build: $(TEST_BINS)

$(BUILD):
	mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h include/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	llvm-strip -g $@ -o /dev/null >/dev/null 2>&1 || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

deps:
	scripts/deps.sh

test:
	scripts/deps.sh
	$(MAKE) all
	scripts/run-tests.sh

clean:
	rm -rf $(BUILD)
