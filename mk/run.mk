# The operator's side: `make run` (the demo edge, scripts/run.sh) and
# `make install PREFIX=...` (binaries, systemd units, example configuration).

.PHONY: run
# RUN_ARGS passes options to scripts/run.sh, e.g. make run RUN_ARGS="--port 9443"
run:
	scripts/run.sh $(RUN_ARGS)

# `make reload`: the demo's edited configuration applied to the running demo
# (proxy, tagshaked, then the kernel: `tagshake reload`, docs/tagshake.md).
# RUN_STATE is the demo's --state directory.
RUN_STATE ?= $(or $(TAGSHAKE_STATE),/var/lib/tagshake-demo)
.PHONY: reload
reload: $(BUILD)/tagshake
	$(BUILD)/tagshake reload --config $(RUN_STATE)/tagshake.yaml \
		--proxy-status $(RUN_STATE)/run/proxy.status \
		--handshaker-status $(RUN_STATE)/run/tagshaked.status

# `make install PREFIX=/usr/local DESTDIR=`: the three binaries, the systemd
# units (paths filled in), the demo's upstream and the docs with the example
# configuration. The configuration itself goes in $(CONFDIR)/tagshake.yaml.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DOCDIR  ?= $(PREFIX)/share/doc/tagshake
UNITDIR ?= $(PREFIX)/lib/systemd/system
CONFDIR ?= /etc/tagshake
UNITS   := $(patsubst dist/systemd/%.in,%,$(wildcard dist/systemd/*.service.in))
INSTALL_DOCS := docs/tagshake.example.yaml $(wildcard docs/tagshake.md docs/tagshaked.md docs/tagger.md \
		docs/tagshake-proxy.md docs/operations.md)

.PHONY: install
install: $(BUILD)/tagshake $(BUILD)/tagshaked $(BUILD)/tagshake-proxy
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BUILD)/tagshake $(BUILD)/tagshaked $(BUILD)/tagshake-proxy $(DESTDIR)$(BINDIR)
	install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)
	install -m 0755 dist/demo/echo-upstream.py $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
			dist/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
