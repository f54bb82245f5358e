# llhttp, Node.js's HTTP/1 parser (an external source tree, hence ext_;
# included before fuzz.mk and proxy.mk, which name its objects), compiled
# into the proxy from the C sources Debian's node-llhttp ships (nothing of
# it is copied into this repository). LLHTTP_STRICT_MODE=1 turns on the
# checks the generated code leaves out by default (CRLF after chunk data
# and chunk sizes, header name tokens, bytes in chunk extensions); no
# lenient flag is ever set at run time (proxy/http_inject.c).

LLHTTP_DIR    ?= /usr/share/llhttp
LLHTTP_INC    ?= /usr/share/include/llhttp
LLHTTP_NAMES  := llhttp api http
LLHTTP_OBJS   := $(patsubst %,$(OBJ)/llhttp/%.o,$(LLHTTP_NAMES))
# The same sources instrumented for the libFuzzer harnesses (mk/fuzz.mk).
LLHTTP_FUZZ_OBJS := $(patsubst %,$(BUILD)/fuzz/obj/llhttp/%.o,$(LLHTTP_NAMES))

# Generated code: its own warnings are not this project's to fix (-w).
$(OBJ)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -w -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -c $< -o $@

$(BUILD)/fuzz/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -w -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -c $< -o $@
