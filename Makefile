# The two entry points (README): `make demo` runs the system, `make test` runs what CI runs.
.PHONY: setup demo test schemas

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/musechat demo

schemas: setup
	.venv/bin/musechat schemas export

test: setup
	bash scripts/test.sh
