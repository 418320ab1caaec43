# The two README commands. Both create .venv when missing and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## demo: run the bundled offline demo workflow
demo: $(STAMP)
	@$(BIN)/baton demo

## test: install everything, then lint, type-check and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check engine executors orchestrations cli tests benchmarks
	$(BIN)/ruff format --check engine executors orchestrations cli tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

## bench: print the benchmark table (median/min/max and ratio to the floor)
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
