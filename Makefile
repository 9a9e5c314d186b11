# PeerHost developer commands. `make dev` and `make test` are all a new user needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FORGE  := $(CURDIR)/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
PY_STAMP   := $(VENV)/.peerhost-installed
NODE_STAMP := node_modules/.peerhost-installed

.PHONY: help install bubblewrap test test-contracts test-python dev bench contracts gas-report clean

help:
	@echo "make install         install Python (.venv), Node tools (node_modules) and bubblewrap"
	@echo "make dev             start a local PeerHost network (Ctrl-C stops it)"
	@echo "make test            run every test: Foundry (contracts) and pytest"
	@echo "make bench           run the benchmarks (JSON under bench/)"
	@echo "make contracts       compile the contracts and refresh the Python artifacts"
	@echo "make gas-report      forge test --gas-report"

install: $(PY_STAMP) $(NODE_STAMP) bubblewrap

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The sandbox needs bubblewrap; install it from Debian when missing and running as root.
bubblewrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "bubblewrap is missing: install it with 'sudo apt-get install bubblewrap'" >&2; exit 1; \
	  fi; }

test: install test-contracts test-python

test-contracts: install
	cd contracts && $(FORGE) test

test-python: install
	$(BIN)/pytest

dev: install
	$(BIN)/peerhost dev

bench: install
	$(BIN)/python bench/run.py

contracts: install
	cd contracts && $(FORGE) build
	$(BIN)/python -m peerhost.chain.compile

gas-report: install
	cd contracts && $(FORGE) test --gas-report

clean:
	rm -rf contracts/out contracts/cache .pytest_cache
