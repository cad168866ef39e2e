# Two commands: `make lab` opens the tutorial, `make test` runs every test.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
LAB_PORT ?= 8888
# More `jupyter lab` options, e.g. `make lab LAB_OPTIONS=--no-browser` on a machine without a desktop.
LAB_OPTIONS ?=
TUTORIAL := 01_token_setup.ipynb
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv notebooks bench clean

venv: $(STAMP)

# -qq: pip still prints errors, not setuptools' editable-install notice.
$(STAMP): pyproject.toml
	@echo "Installing rchelpers, JupyterLab and the test tools into $(VENV) (once, or when pyproject.toml changes)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e '.[lab,test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# JupyterLab prints (and opens) the URL of the first notebook, not the Launcher's.
lab: venv
	@echo "Opening the tutorial (notebooks/$(TUTORIAL)) on the embedded RingCentral platform; Ctrl-C stops JupyterLab."
	@cd notebooks && ../$(BIN)/jupyter lab --port $(LAB_PORT) $(ROOT_FLAG) --LabApp.default_url=/lab/tree/$(TUTORIAL) $(LAB_OPTIONS)

# The regression run always targets the embedded platform (the stored outputs are its), even where
# a .env or the environment holds real credentials.
HERMETIC := env -u RC_SERVER_URL -u RC_CLIENT_ID -u RC_CLIENT_SECRET -u RC_JWT -u NGROK_AUTHTOKEN RC_ENV_FILE=

test: venv
	$(HERMETIC) $(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-current-env

notebooks: venv
	$(HERMETIC) $(BIN)/python scripts/refresh_notebooks.py

bench: venv
	$(BIN)/python -m benchmarks.receiver
	$(BIN)/python -m benchmarks.delivery

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
