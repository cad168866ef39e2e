# Two commands: `make lab` opens the tutorial, `make test` runs every test.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
LAB_PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv notebooks bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

lab: venv
	@echo "Opening the tutorial on the embedded RingCentral platform: notebooks/01_token_setup.ipynb"
	$(BIN)/jupyter lab --no-browser --port $(LAB_PORT) $(ROOT_FLAG) --notebook-dir=notebooks

test: venv
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-current-env

notebooks: venv
	$(BIN)/python scripts/refresh_notebooks.py

bench: venv
	$(BIN)/python -m benchmarks.receiver
	$(BIN)/python -m benchmarks.delivery

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
