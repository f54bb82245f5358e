#!/bin/bash
# tests/test_handshaker_flight.sh again with tagshaked in relay mode
# (handoff.records: false): data behind the client's Finished and KeyUpdates
# followed by OpenSSL in userspace, every byte echoed through the relay.
TS_HANDOFF_RECORDS=0 exec "$(dirname "$0")/test_handshaker_flight.sh"
