# Two commands a new user needs: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak lint format venv screenshot package bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/trustpager-desktop

# Strictly typed layers (usecases/ once it exists); the rest is not type-checked yet.
TYPED := trustpager_desktop/core trustpager_desktop/store trustpager_desktop/providers \
	trustpager_desktop/runtime $(wildcard trustpager_desktop/usecases)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	$(BIN)/lint-imports
	$(BIN)/mypy $(TYPED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The reliability suite in its long form: 10,000 interleavings (two desktops on one
# database, SQLite and PostgreSQL) and 400 agent kills (200 of them across two agents
# sharing PostgreSQL); about 1 h 45 min on a 2-core machine. SOAK=0.05 runs a 5 % sample.
SOAK ?= 1
soak: $(STAMP)
	TRUSTPAGER_SOAK=$(SOAK) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest --timeout=0 tests/reliability

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/mypy $(TYPED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The one-folder Linux bundle in dist/trustpager-desktop/, then a smoke test of it.
# Not part of `make test`: it takes minutes. Windows/macOS: see README "Packaging".
PACKAGE_STAMP := $(VENV)/.installed-package

$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[postgres,package]'
	touch $(PACKAGE_STAMP)

package: $(PACKAGE_STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/trustpager.spec
	$(BIN)/python packaging/check_bundle.py dist/trustpager-desktop

# Every speed and memory figure in benchmarks/README.md (minutes; data sets cached in /tmp).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info
