# Set-up and entry points. `make run` and `make test` are the README's two
# commands: each creates the virtual environment on first use.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test dry-run clean-results

$(STAMP): requirements/cpu.txt requirements/no-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/cpu.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" snakemake --cores all

dry-run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" snakemake -n --cores all

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" python -m pytest

clean-results:
	rm -rf results resources logs benchmarks
