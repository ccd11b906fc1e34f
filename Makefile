# Roost — the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint typecheck unit venv test-venv system-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/activate
	$(BIN)/pip install --quiet -e .

test-venv: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test]'

serve: venv
	$(BIN)/roost serve --demo

# Debian tools the end-to-end tests drive (mbsync from isync, swaks, fetchmail, mutt), and Debian's
# PostgreSQL, which the store tests start in a temporary directory (tests/pgserver.py);
# installed when missing.
SYSTEM_DEPS := isync swaks fetchmail mutt
system-deps:
	@command -v mbsync >/dev/null 2>&1 && command -v swaks >/dev/null 2>&1 && command -v fetchmail >/dev/null 2>&1 && command -v mutt >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_DEPS) >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_DEPS) >/dev/null; fi; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

lint: test-venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: test-venv
	$(BIN)/mypy

unit: test-venv
	$(BIN)/pytest -q

test: test-venv system-deps lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# Long reliability runs (not part of `make test`; see RELIABILITY.md): the kill -9 harness
# for SOAK_KILLS rounds (make test runs 5) and the socket fuzzer for SOAK_FUZZ_SECONDS
# (make test runs 10). They print what they survived and checked.
.PHONY: soak
SOAK_KILLS ?= 50
SOAK_FUZZ_SECONDS ?= 600

soak: test-venv
	ROOST_KILLS=$(SOAK_KILLS) ROOST_FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS) $(BIN)/pytest -q -s \
	  -o faulthandler_timeout=0 --timeout=0 tests/e2e/test_kill9.py tests/e2e/test_socket_fuzz.py

# Benchmarks, Roost and Dovecot side by side (not part of `make test`; see BENCHMARKS.md).
# BENCH_SCALE=small cuts corpora and connection counts by 10; BENCH_SERVERS picks the servers
# (roost-pg: Roost on PostgreSQL, roost-pg2: two Roost nodes on one PostgreSQL; these two run
# the device mix and push); BENCH_ARGS passes more options. IMAPTEST names Dovecot's imaptest
# binary for the stress scenario (as for `make conformance`); without it that scenario says
# so and is skipped.
.PHONY: bench bench-deps
BENCH_SCALE ?= full
BENCH_SERVERS ?= dovecot,roost,roost-pg,roost-pg2
IMAPTEST ?= imaptest

# Debian's Dovecot (imapd + lmtpd), the server Roost is measured against, and Debian's
# PostgreSQL, which the bench starts in its work directory for roost-pg and roost-pg2;
# installed when missing.
bench-deps:
	@command -v dovecot >/dev/null 2>&1 && test -x /usr/lib/dovecot/imap && test -x /usr/lib/dovecot/lmtp || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null; fi; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

bench: venv bench-deps
	BENCH_SCALE=$(BENCH_SCALE) IMAPTEST=$(IMAPTEST) $(BIN)/python -m bench compare --scale $(BENCH_SCALE) --servers $(BENCH_SERVERS) --output BENCHMARKS.md $(BENCH_ARGS)

# Dovecot's imaptest against Roost and Dovecot (not part of `make test`; see CONFORMANCE.md).
# imaptest is not part of this repository: build it yourself (dovecot/imaptest, branch
# release-2.3) and name the binary and its src/tests directory.
.PHONY: conformance
IMAPTEST_TESTS ?=
CONFORMANCE_ARGS ?=

conformance: venv bench-deps
	@command -v $(IMAPTEST) >/dev/null 2>&1 || { echo "make conformance: no imaptest binary (set IMAPTEST=/path/to/imaptest)"; exit 2; }
	@test -n "$(IMAPTEST_TESTS)" && test -d "$(IMAPTEST_TESTS)" || { echo "make conformance: no imaptest tests directory (set IMAPTEST_TESTS=/path/to/imaptest/src/tests)"; exit 2; }
	$(BIN)/python -m bench.conformance --imaptest "$$(command -v $(IMAPTEST))" --tests "$(IMAPTEST_TESTS)" --output CONFORMANCE.md $(CONFORMANCE_ARGS)
