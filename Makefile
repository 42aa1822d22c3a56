# newsintel: `make run` (demo app on localhost:8501) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DB := data/newsintel.duckdb
# The demo database is rebuilt when its inputs or the code that builds it (jobs.demo,
# the schema migrations) change, so an old demo database never misses new tables.
DEMO_INPUTS := $(wildcard data/sample/*.xml) data/themes.toml $(wildcard data/series/*) \
	$(wildcard data/history/*) \
	$(wildcard newsintel/jobs/*.py) $(wildcard newsintel/store/migrations/*)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run demo test check lint bench eval browser imap-server screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# pyproject.toml lists every dependency (requirements*.txt point to it). pip resolves
# torch==2.13.0 to the local CPU wheel on CPU machines (never CUDA wheels).
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[dev,scale]"
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DB): $(STAMP) $(DEMO_INPUTS)
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	NEWSINTEL_DB=$(DEMO_DB) $(PY) -m newsintel demo

demo: $(DEMO_DB)

run: $(DEMO_DB)
	$(VENV)/bin/streamlit run app.py --server.address localhost --server.port 8501 \
		--server.headless true --browser.gatherUsageStats false

# Headless Chromium for the browser tests (Debian package; needs root or sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Dovecot for the IMAP tests (Debian dovecot-imapd; the tests configure and run it
# themselves, in the foreground, without systemd) and openssl for their certificate.
imap-server:
	@command -v /usr/sbin/dovecot >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dovecot-imapd openssl >/dev/null; }

test: $(STAMP) browser imap-server
	$(PY) -m pytest

# Refresh the README's pictures (docs/overview.png, docs/digest.png) from the browser tests.
screenshots: $(STAMP) browser
	NEWSINTEL_SAVE_SCREENSHOTS=1 $(PY) -m pytest -m browser

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

check: lint test

bench: $(STAMP)
	$(PY) -m benchmarks

# Peer baselines (BERTopic) are only needed here, so they install only here.
$(VENV)/.installed-eval: $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e ".[dev,scale,eval]"
	touch $@

eval: $(VENV)/.installed-eval
	$(PY) -m benchmarks.eval

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB).wal
