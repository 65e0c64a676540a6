# The two set-up commands of the README: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi

.PHONY: run test worker serve lint bench clean

$(BIN)/activate:
	@echo "== creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar on --upgrade pip

# `make run` installs only what the app needs; the test tools come with the first `make test`.
$(VENV)/.installed: pyproject.toml $(BIN)/activate
	@echo "== installing the app's dependencies (first run only; pip shows each package)"
	$(BIN)/pip install --progress-bar on -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	@echo "== installing the test tools (first run only)"
	$(BIN)/pip install --progress-bar on -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade heads
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: $(VENV)/.installed
	$(BIN)/flask --app notifications.app worker

serve: $(VENV)/.installed
	$(BIN)/gunicorn -c python:web.gunicorn_conf wsgi:app

bench: $(VENV)/.installed-test
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
