# collabscope: two commands on a fresh machine -> `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= collabscope.db

.PHONY: demo test install install-test browser bench lint clean help

help:
	@echo "make demo   - create .venv, install, run collabscope on data/samples, print the summary"
	@echo "make test   - install test dependencies (and Debian chromium for browser tests), run the suite"
	@echo "make lint   - ruff, the import-linter floors and mypy on the typed core (make test runs it too)"
	@echo "make bench  - run the benchmarks and write docs/BENCHMARKS.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,scale]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/collabscope run data/samples --db $(DB)

# Browser tests drive Debian's chromium through Playwright; install it when missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  echo "installing Debian chromium + chromium-driver for browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	fi

# mypy runs on the modules that type-check cleanly; add a module here once it does.
MYPY_TARGETS := extractor/schemas.py extractor/errors.py extractor/config.py extractor/prompts.py extractor/locks.py \
                extractor/store extractor/resolve extractor/collect

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy $(MYPY_TARGETS)

test: install-test browser lint
	$(BIN)/python -m pytest -q

bench: install-test
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts bench-out
