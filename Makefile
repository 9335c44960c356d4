# Two commands on a fresh machine (Debian, Python 3.11):  `make run`  and  `make test`.
PYTHON ?= python3
PORT   ?= $(or $(STREAMLIT_SERVER_PORT),8501)
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench chromium clean

$(BIN)/.installed: requirements.txt requirements-dev.txt requirements-graphon.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-graphon.txt
	touch $@

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

## Set up and run the app (offline brain when no API key is configured) on http://localhost:$(PORT)
## (`make run PORT=8600` for another port). The pattern index is built first, so the first page is
## quick; a pattern file that fails its checks is reported and skipped.
run: $(BIN)/.installed
	-$(BIN)/python -m core patterns init
	$(BIN)/streamlit run app.py --server.port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

## Set up and run the whole test suite (unit, integration, AppTest, headless Chromium).
test: $(BIN)/.installed chromium lint
	$(BIN)/python -m pytest

## Benchmarks: print figures (see benchmarks/README.md).
bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
