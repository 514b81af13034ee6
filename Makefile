# Two entry points (README Quick start): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= out/demo

.PHONY: demo test lint sample-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.core plugins/napari/setup.cfg
	$(BIN)/python -m pip install -q -e '.[test]' -e plugins/napari PyQt6 pytest-qt
	touch $@

## Set up and run the main job on the bundled sample_dicom/.
demo: $(VENV)/.core
	$(BIN)/mibgkit info sample_dicom
	$(BIN)/mibgkit score sample_dicom/oligo --out $(DEMO_OUT)/oligo
	@$(BIN)/python -c "import json; t = json.load(open('sample_dicom/oligo/truth.json')); \
	print('phantom ground truth: SIOPEN', t['siopen_total'], ' Curie', t['curie_total'], \
	' (the automatic reading is a proposal for a physician to confirm)')"
	@echo "reading and report written to $(DEMO_OUT)/"

lint: $(VENV)/.test
	$(BIN)/ruff check mibgkit plugins/napari tests benchmarks examples
	$(BIN)/mypy mibgkit

## Set up and run the whole test suite (ruff, mypy, pytest; GUI tests under Xvfb).
test: $(VENV)/.test
	bash scripts/install-gui-deps.sh
	$(MAKE) --no-print-directory lint
	xvfb-run -a -s "-screen 0 1600x1200x24" $(BIN)/python -m pytest -p no:cacheprovider

## Regenerate sample_dicom/ (fixed seeds).
sample-data: $(VENV)/.core
	$(BIN)/mibgkit phantom sample_dicom --samples

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
