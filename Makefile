# Set-up needs only python3 and make: every target creates .venv on first use.
# constraints.txt pins every package version (the twin's bytes depend on numpy's generators);
# regenerate it with: .venv/bin/pip freeze --exclude-editable > constraints.txt
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test reproduce reference lint clean calibration

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m walkback.warmup   # compile the numba kernels now, not in the first run
	touch $(STAMP)

install: $(STAMP)

## test: the whole suite (notebooks included). pytest exits 5 when it collects nothing, which fails make.
test: install
	$(BIN)/python -m pytest

## reproduce: the main job. Builds the WalkBack synthetic twin, checks every published figure
## against it (non-zero exit if any is off) and writes reports/: reproduction.md/.json,
## figures (PNG, SVG), the notebooks executed and rendered to HTML, and index.html.
TWIN := data/synthetic/walkback_twin.csv
AL   := --time-col activity_limiting_days --event-col activity_limiting_event --arm-col arm \
        --treatment intervention --control control --times 90,180,365,730 --tau 365
reproduce: install
	mkdir -p reports
	$(BIN)/walkback twin --out $(TWIN) --force
	$(BIN)/walkback analyze $(TWIN) $(AL) > reports/twin_analysis.txt
	$(BIN)/walkback analyze $(TWIN) $(AL) --json > reports/twin_analysis.json
	$(BIN)/walkback reproduce --data $(TWIN) --out-dir reports
	$(BIN)/walkback report --data $(TWIN) --out-dir reports --notebooks notebooks

## reference: regenerate tests/reference inputs and R survival results (needs Rscript with survival, jsonlite)
reference: install
	$(BIN)/python tests/reference/make_inputs.py
	Rscript tests/reference/reference.R
	Rscript tests/reference/anytrial/anytrial.R
	Rscript tests/reference/subgroups/subgroups.R
	Rscript tests/reference/zph/zph.R
	Rscript tests/reference/zph/zph_plot.R
	Rscript tests/reference/adjusted/adjusted.R
	Rscript tests/reference/nonph/nonph.R
	Rscript tests/reference/competing/competing.R
	Rscript tests/reference/counting/counting.R
	$(BIN)/python tests/reference/twin/export_targets.py
	Rscript tests/reference/twin/twin_check.R

## calibration: rewrite the packaged specs' shipped calibration and sampling spread
## (src/walkback/trials/*.json); needed after changing a packaged spec or the code that
## calibrates or simulates (tests/test_cache.py fails while they are stale)
calibration: install
	$(BIN)/python -m walkback.warmup --write-shipped

lint: install
	$(BIN)/python -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
