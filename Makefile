# The two commands a newcomer needs:
#   make dev    set up what is missing, then run the app with live reload at http://localhost:3000
#   make test   set up what is missing, build the release binary, then run every test (cargo
#               tests, which also run that binary alone and sign in on the example app; then
#               Playwright against the release binary, which it starts without rebuilding)
# `make setup` installs only what is missing, so it takes seconds once everything is there.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := dev

# wasm-opt comes from the npm package `binaryen` (Debian's older build breaks hydration),
# so end2end's node_modules/.bin goes first on PATH for every recipe.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
# The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The release build: the wasm split so the login page loads only its own islands, the other
# pages' islands each in a chunk of its own (see the `split` feature in Cargo.toml).
RELEASE := cargo leptos build --release --split --lib-features hydrate,split

.PHONY: dev test setup lint example bench load chaos fuzz

dev: setup
	cargo leptos watch

test: setup
	$(RELEASE)
	cargo test --workspace --features ssr
	rm -rf target/e2e.db* target/e2e-outbox
	cd end2end && playwright test

lint: setup
	cargo fmt --all -- --check
	cargo fmt --manifest-path examples/minimal/Cargo.toml -- --check
	cargo clippy --workspace --all-targets --features ssr -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
	cargo clippy -p front --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --manifest-path examples/minimal/Cargo.toml --all-targets --features ssr \
	  --target-dir target -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc -p magic-link-types -p magic-link-core -p leptos-magic-link \
	  --features leptos-magic-link/ssr,leptos-magic-link/passkeys --no-deps
	@# The wasm must build with the patched tachys (patches/README.md): once leptos asks for a
	@# newer tachys, cargo only warns that the patch is unused and the bundle grows again.
	cargo tree -p front --target wasm32-unknown-unknown -i tachys -e normal | sed -n 1p \
	  | grep 'patches/tachys' >/dev/null || { echo "patches/tachys is no longer used"; exit 1; }

# The example app built as its user builds it, server and wasm, from its own folder and lock
# file (the tests sign in on its server code; this builds its main.rs and its wasm half too).
example: setup
	cd examples/minimal && CARGO_TARGET_DIR=$(CURDIR)/target/example cargo leptos build

setup:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -qF "$(CARGO_LEPTOS_VERSION)" \
	  || cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads
	@wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force
	@test -x /usr/bin/chromium \
	  || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }
	@[ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ] \
	  || (cd end2end && npm ci --no-audit --no-fund)

# Two benchmarks, each printing a markdown table:
# - the release binary against its budgets (benches/release.py): size, idle RSS, start-up,
#   login page weight, request and redeem latency, and req/s against a bare axum route built
#   into the same binary by the `bench` feature. Needs wrk, installed here if missing.
# - the auth store's issue and redeem, p50 and p99, on SQLite (and PostgreSQL when
#   TEST_DATABASE_URL is set), plus the argon2id hash time.
bench: setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends wrk; }
	$(RELEASE) --bin-features ssr,bench
	python3 benches/release.py
	cargo bench -p magic-link-core --bench auth_store

# The release server under 64 connections for 30 s each: the session check and the
# signed-in home page. Needs wrk (apt-get install wrk); prints requests/s and p99.
load: setup
	$(RELEASE)
	benches/load.sh

# The fault run (benches/chaos.py): two release instances on a PostgreSQL of its own under a
# steady load of sign-ins, while one instance is killed with SIGKILL, PostgreSQL restarts and
# the mail provider refuses for 30 s. About three minutes; prints every request's fate and how
# long each fault took to heal. Needs PostgreSQL's server programs and the postgres user.
chaos: setup
	$(RELEASE)
	python3 benches/chaos.py

# libFuzzer over the two parsers that take raw input from the internet, FUZZ_RUNS executions
# each (default 1,000,000). Needs the nightly toolchain; installs cargo-fuzz if it is missing.
FUZZ_RUNS ?= 1000000
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd fuzz && mkdir -p target && for target in email redirect; do \
	  cargo +nightly fuzz run $$target -- -runs=$(FUZZ_RUNS) -max_len=512 -print_final_stats=1 \
	    > target/fuzz-$$target.log 2>&1 || { tail -40 target/fuzz-$$target.log; exit 1; }; \
	  echo "$$target: $$(grep -h -m1 -E 'stat::number_of_executed_units' target/fuzz-$$target.log), no crash"; \
	done
