# Salesline — set-up, tests, demo and benchmarks. Every target installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Salesline needs Python >= 3.13 (Django 6). Look on PATH, then under pyenv's versions.
PYTHON ?= $(shell for c in python3.14 python3.13 python3; do \
	  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; \
	root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
	for p in $$(ls -d $$root/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null && { echo $$p; exit 0; }; \
	done)

.PHONY: help install browser pdf-libraries imap-server redis-server demo test lint typecheck bench screenshots clean

help:
	@echo "make demo   - install, create var/salesline.sqlite3 with demo data, serve on http://$(HOST):$(PORT) with a background worker"
	@echo "make test   - install and run the whole suite (DATABASE_URL selects the database)"
	@echo "make lint   - ruff (lint and format check), import-linter, Django's checks, migrations check, mypy"
	@echo "make typecheck - mypy with django-stubs on the domain apps"
	@echo "make bench  - benchmarks (not part of the tests)"
	@echo "make screenshots - refresh docs/screenshots/ (desktop and phone) in Chromium"

$(BIN)/uv:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Salesline needs Python 3.13 or newer and none was found on PATH or under pyenv." >&2; \
	  echo "Install one (e.g. 'pyenv install 3.13' or your distribution's python3.13) or run 'make PYTHON=/path/to/python3.13 ...'." >&2; \
	  exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"

# The lock file makes a fresh install reproducible; --inexact keeps uv itself in the venv.
$(VENV)/.installed: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --locked --inexact --python $(BIN)/python -q
	@touch $@

install: $(VENV)/.installed

# The browser tests drive Debian's Chromium (browsers cannot be downloaded here); install the
# package when it is missing. axe-core comes from npm, pinned by package-lock.json.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; \
	fi

# WeasyPrint (PDF documents) needs Pango and a font from Debian; install them when missing.
pdf-libraries:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || ! fc-list 2>/dev/null | grep -qi dejavu; then \
	  echo "Installing Pango and fonts for PDF documents (WeasyPrint)"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core; \
	fi

# The mail intake tests and benchmark fetch from a real IMAP server on loopback: Debian's Dovecot,
# started by the tests with a throwaway config (tests/enquiries/dovecot.py); install it when missing.
DOVECOT ?= /usr/sbin/dovecot

imap-server:
	@if [ ! -x "$(DOVECOT)" ]; then \
	  echo "Installing Debian's dovecot-imapd for the mail intake tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q dovecot-imapd; \
	fi

# The shared-cache tests count against a real Redis (database 15): Debian's, started here when
# nothing answers on 127.0.0.1:6379.
redis-server:
	@if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  if ! command -v redis-server >/dev/null; then \
	    echo "Installing Debian's redis-server for the shared-cache tests"; \
	    $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q redis-server; \
	  fi; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	  for _ in $$(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 1; done; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: install pdf-libraries node_modules/.installed
	$(BIN)/salesline init --demo
	$(BIN)/salesline serve --host $(HOST) --port $(PORT) --with-worker

test: install browser pdf-libraries imap-server redis-server node_modules/.installed
	$(BIN)/python -m pytest -p no:cacheprovider -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python -m django check
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python -m django makemigrations --check --dry-run
	$(MAKE) --no-print-directory typecheck

# The files and settings are in pyproject.toml's [tool.mypy].
typecheck: install
	$(BIN)/mypy

# The list benchmark's load comes from wrk (Debian's package): a Python client would take a
# core from the server it measures.
bench: install pdf-libraries imap-server
	@if ! command -v wrk >/dev/null; then \
	  echo "Installing Debian's wrk for the list benchmark"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk; \
	fi
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: install browser
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser/screenshots.py -q

clean:
	rm -rf $(VENV) var/*.sqlite3*
