# The two set-up commands of the README: `make run` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test lint bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/sentinai dev $(ARGS)

test: $(STAMP_TEST)
	$(BIN)/ruff check sentinai tests migrations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The console's screenshots in docs/console/, taken by its browser test against the real stack.
screenshots: $(STAMP_TEST)
	SENTINAI_CONSOLE_SCREENSHOTS=docs/console $(BIN)/python -m pytest tests/integration/test_console_live.py -q -p no:cacheprovider

lint: $(STAMP_TEST)
	$(BIN)/ruff check sentinai tests migrations

clean:
	rm -rf $(VENV) .sentinai
