# llhttp (an external source tree, hence ext_: included before fuzz.mk,
# which uses it), Node.js's HTTP/1 parser, compiled into the proxy from the C
# sources Debian's node-llhttp ships (nothing of it is copied into this
# repository). LLHTTP_STRICT_MODE=1 turns on the checks the generated code
# leaves out by default (CRLF after chunk data and chunk sizes, header name
# tokens, bytes in chunk extensions); no lenient flag is ever set at run time.

LLHTTP_DIR    ?= /usr/share/llhttp
LLHTTP_INC    ?= /usr/share/include/llhttp
LLHTTP_OBJDIR := $(BUILD)/llhttp
LLHTTP_OBJS   := $(patsubst %,$(LLHTTP_OBJDIR)/%.o,llhttp api http)
LLHTTP_SRCS   := $(patsubst %,$(LLHTTP_DIR)/%.c,llhttp api http)

# Generated code: its own warnings are not this project's to fix (-w).
$(LLHTTP_OBJDIR)/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -w -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -c $< -o $@

# The same sources for the libFuzzer harnesses (mk/fuzz.mk): instrumented.
LLHTTP_FUZZ_OBJS := $(patsubst %,$(BUILD)/fuzz/llhttp/%.o,llhttp api http)

$(BUILD)/fuzz/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -w -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
		-DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -c $< -o $@
