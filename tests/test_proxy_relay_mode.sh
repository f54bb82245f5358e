#!/bin/bash
# tests/test_proxy_relay.sh again with tagshaked in relay mode
# (handoff.records: false). Every proxy suite runs the default, records
# mode; this keeps the relay's path through tagshake-proxy (half-closes
# both ways, bulk data, timeouts) checked as well.
TS_HANDOFF_RECORDS=0 exec "$(dirname "$0")/test_proxy_relay.sh"
