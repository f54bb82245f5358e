# Test clients for the handshaker's hand-off edge cases (data behind the
# client's Finished, KeyUpdate after hand-off): tests/handshaker_peer.c.
PROGRAMS += $(BUILD)/tests/handshaker_peer

$(BUILD)/tests/handshaker_peer: tests/handshaker_peer.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto
