# `make serve` and `make test` work from a clean clone: they create .venv and install first.
PYTHON ?= python3
NPM ?= npm
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# GraphiQL (/graphql) and Swagger UI (/docs) are served by agentdeck itself, from browser builds
# copied out of the npm packages pinned in package-lock.json into agentdeck/static/vendor/ (package
# data: a wheel built after `make assets` carries them). Each is a UMD/IIFE build that runs as it
# is, so there is no bundler step. `--ignore-scripts`: no package's install script runs (one of
# swagger-ui-dist's dependencies would report the install to an analytics service).
VENDOR = agentdeck/static/vendor
VENDOR_FILES = \
	react/LICENSE react/umd/react.production.min.js \
	react-dom/LICENSE react-dom/umd/react-dom.production.min.js \
	graphiql/LICENSE graphiql/graphiql.min.js graphiql/graphiql.min.css \
	@graphiql/plugin-explorer/package.json @graphiql/plugin-explorer/dist/index.umd.js \
	@graphiql/plugin-explorer/dist/style.css \
	graphql-ws/LICENSE.md graphql-ws/umd/graphql-ws.min.js \
	swagger-ui-dist/LICENSE swagger-ui-dist/NOTICE swagger-ui-dist/swagger-ui-bundle.js \
	swagger-ui-dist/swagger-ui.css

# The browser tests drive Debian's Chromium (never a browser Playwright downloads).
CHROMIUM = /usr/bin/chromium

.PHONY: install assets serve migrate test bench artifacts lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(VENDOR)/.copied: package.json package-lock.json Makefile
	@command -v $(NPM) >/dev/null || { echo "GraphiQL and Swagger UI need npm (Node.js): apt-get install npm"; exit 1; }
	$(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cd node_modules && cp --parents $(VENDOR_FILES) $(CURDIR)/$(VENDOR)/
	touch $@

$(CHROMIUM):
	@test "$$(id -u)" = 0 || { echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; }
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

assets: $(VENDOR)/.copied

install: $(STAMP) assets

serve: install
	$(BIN)/agentdeck migrate
	$(BIN)/agentdeck serve

migrate: install
	$(BIN)/agentdeck migrate

# In-process tests first (seconds; a broken build fails here), then the end-to-end tests against
# real servers, spread over TEST_JOBS workers a file at a time (they mostly wait on their servers).
TEST_JOBS ?= 3

test: lint $(CHROMIUM)
	$(BIN)/pytest -m "not e2e"
	$(BIN)/pytest -m e2e -n $(TEST_JOBS) --dist loadfile

bench: install
	$(BIN)/python -m bench

artifacts: install
	$(BIN)/agentdeck export-schema
	$(BIN)/agentdeck export-openapi

# Run first by `make test` (so by CI): lint, the one code format, types. The layering contracts
# and the absence of import circles are tests (tests/platform/test_layers.py).
lint: install
	$(BIN)/ruff check agentdeck tests bench
	$(BIN)/ruff format --check agentdeck tests bench
	$(BIN)/mypy agentdeck

clean:
	rm -rf $(VENV) var node_modules $(VENDOR)
