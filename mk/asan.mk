# Sanitizer builds of the two daemons for the load run (bench/load_asan.sh):
# `make asan` builds $(BUILD)/asan/tagshaked and $(BUILD)/asan/tagshake-proxy
# with ASan (LeakSanitizer included) and UBSan. Not part of `all` or `test`.
#
# A sub-make with BUILD pointed at $(BUILD)/asan reuses the components' own
# rules and source lists (mk/lib.mk, mk/tagshaked.mk, mk/proxy.mk), so
# nothing is listed twice; objects and libtagshake.a go under $(BUILD)/asan.
# CFLAGS is given whole: a command-line value replaces the top Makefile's
# additions.

ASAN_DIR    := $(BUILD)/asan
# -O1: the usual trade between speed and readable reports; UBSan aborts
# on its first report so that the run cannot miss it.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined \
	       -Wall -Wextra -Werror -std=gnu11 $(INCLUDES) -D_GNU_SOURCE

.PHONY: asan
asan:
	$(MAKE) BUILD=$(ASAN_DIR) CFLAGS="$(ASAN_CFLAGS)" $(ASAN_DIR)/tagshaked $(ASAN_DIR)/tagshake-proxy
