# The operator's side: `make run` (the demo edge, scripts/run.sh) and
# `make install PREFIX=...` (binaries, systemd units, example configuration).

.PHONY: run
# RUN_ARGS passes options to scripts/run.sh, e.g. make run RUN_ARGS="--port 9443"
run:
	scripts/run.sh $(RUN_ARGS)
