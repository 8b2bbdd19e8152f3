# Set-up needs only python3 and make: every target creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test reproduce reference lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## test: the whole suite (notebooks included). pytest exits 5 when it collects nothing, which fails make.
test: install
	$(BIN)/python -m pytest

## reproduce: the main job; writes reports/
reproduce: install
	mkdir -p reports
	$(BIN)/python -m walkback analyze data/synthetic/example_trial.csv \
		--time-col days --event-col event --arm-col arm \
		--treatment intervention --control control \
		--times 90,180,365 --tau 365 > reports/example_analysis.txt
	$(BIN)/python -m walkback analyze data/synthetic/example_trial.csv \
		--time-col days --event-col event --arm-col arm \
		--treatment intervention --control control \
		--times 90,180,365 --tau 365 --json > reports/example_analysis.json
	@cat reports/example_analysis.txt

## reference: regenerate tests/reference inputs and R survival results (needs Rscript with survival, jsonlite)
reference: install
	$(BIN)/python tests/reference/make_inputs.py
	Rscript tests/reference/reference.R

lint: install
	$(BIN)/python -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
