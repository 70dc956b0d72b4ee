# pg_privacy: two commands on a fresh machine, `make demo` and `make test`. Both install what they
# need first (tests/lib/bootstrap.sh skips what is already there).

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
SHELL := /bin/bash

.PHONY: all bootstrap build install unit pgtest e2e test demo demo-stop bench clean

all: build

bootstrap:
	@tests/lib/bootstrap.sh

build: bootstrap
	cargo build --release

# Installs the release build into the system PostgreSQL 15 (root, or sudo when not root).
install: bootstrap
	@if [ "$$(id -u)" -eq 0 ]; then cargo pgrx install --release --pg-config $(PG_CONFIG); \
	 else cargo pgrx install --release --sudo --pg-config $(PG_CONFIG); fi

# Layer 1: pure-Rust unit and property tests, no PostgreSQL involved.
unit:
	cargo test -p privacy_core

# Layer 2: #[pg_test] tests inside a backend (cargo pgrx test, run as the postgres user).
pgtest: bootstrap
	@tests/lib/pgtest.sh

# Layer 3: end-to-end scenarios against a throwaway cluster through real clients.
e2e: install
	tests/run

# Every layer, with a summary line; non-zero exit on any failure.
test: bootstrap
	@tests/lib/test-all.sh

demo: install
	@tests/lib/demo.sh

demo-stop:
	@bash -c '. tests/lib/cluster.sh && cluster_stop demo && echo "demo cluster stopped"'

bench: install
	@benches/run.sh

clean:
	cargo clean
