# `make serve` and `make test` work from a clean clone: they create .venv and install first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install serve migrate test bench artifacts lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/agentdeck migrate
	$(BIN)/agentdeck serve

migrate: install
	$(BIN)/agentdeck migrate

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

artifacts: install
	$(BIN)/agentdeck export-schema
	$(BIN)/agentdeck export-openapi

lint: install
	$(BIN)/ruff check agentdeck tests bench

clean:
	rm -rf $(VENV) var
