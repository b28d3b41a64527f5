# Set-up and entry points. `make run` and `make test` are the README's two
# commands: each creates the virtual environment on first use.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-aider run test dry-run clean-results report test-fast

# The environment installs from requirements/cpu.lock (`make lock` writes it
# from the direct pins in requirements/cpu.txt), whose torch is the CPU build
# (torch==X+cpu) from PyTorch's CPU index. Where that index does not answer
# within 5 s, torch==X comes from the package index instead (on Linux x86_64
# PyPI's torch is the CUDA build, with its nvidia-* packages), and install
# says so in one line.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PROBE := import urllib.request; urllib.request.urlopen("$(TORCH_INDEX)/torch/", timeout=5)

$(STAMP): requirements/cpu.lock requirements/no-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if $(BIN)/python -c '$(TORCH_PROBE)' 2>/dev/null; then \
	  echo "$(BIN)/python -m pip install --quiet --extra-index-url $(TORCH_INDEX) -r requirements/cpu.lock"; \
	  $(BIN)/python -m pip install --quiet --extra-index-url $(TORCH_INDEX) -r requirements/cpu.lock; \
	else \
	  echo "install: $(TORCH_INDEX) cannot be reached, so torch==$$(sed -n 's/^torch==\([^+]*\)+cpu.*/\1/p' requirements/cpu.lock) comes from the package index instead (on Linux x86_64 its CUDA build)"; \
	  sed 's/^\(torch==[^+]*\)+cpu/\1/' requirements/cpu.lock > $(VENV)/cpu-fallback.lock && \
	  $(BIN)/python -m pip install --quiet -r $(VENV)/cpu-fallback.lock; \
	fi
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt
	touch $(STAMP)

install: $(STAMP)

# Aider's Polyglot benchmark runs in an environment of its own (requirements/aider.txt says why):
# .venv-aider, from requirements/aider.lock. `make test` installs it (its tests run Aider's harness);
# a run with evaluation.aider enabled finds it there (or, with --use-conda, in envs/aider.yaml's env).
AIDER_VENV  ?= .venv-aider
AIDER_STAMP := $(AIDER_VENV)/.installed

$(AIDER_STAMP): requirements/aider.lock
	$(PYTHON) -m venv $(AIDER_VENV)
	$(AIDER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIDER_VENV)/bin/python -m pip install --quiet -r requirements/aider.lock
	touch $(AIDER_STAMP)

install-aider: $(AIDER_STAMP)

# `make lock` refreshes the lock files from the direct pins, with uv (pinned
# here, installed beside the environment): requirements/cpu.lock from
# requirements/cpu.txt, resolved for Python 3.11 on Linux x86_64 with torch's
# CPU build, and the locked part of each envs/*.yaml pip section
# (scripts/lock_envs.py). Where PyTorch's CPU index is out of reach, a folder
# holding the same CPU wheel serves: make lock LOCK_TORCH="--find-links DIR".
UV_VERSION := 0.13.9
UV         := $(VENV)/uv-$(UV_VERSION)/bin/uv
LOCK_TORCH ?= --extra-index-url $(TORCH_INDEX) --index-strategy unsafe-best-match

.PHONY: lock
lock: $(UV)
	$(UV) pip compile --quiet requirements/cpu.txt -o requirements/cpu.lock \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 $(LOCK_TORCH) \
	  --custom-compile-command "make lock"
	$(UV) pip compile --quiet requirements/aider.txt -o requirements/aider.lock \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"
	$(PYTHON) scripts/lock_envs.py --uv $(UV)

$(UV):
	$(PYTHON) -m pip install --quiet --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" snakemake --cores all

dry-run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" snakemake -n --cores all

# Both targets run the tests on PYTEST_WORKERS processes (pytest-xdist), a test file per worker at a time,
# so each file's module fixtures (a finished run of the default, a SLURM node) are built once. Two suit a
# 2-core machine: one worker runs the whole default while the other runs the rest (tests/conftest.py starts
# the longest files first). PYTEST_WORKERS=0 runs them in this one process.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(STAMP) $(AIDER_STAMP)
	PATH="$(abspath $(BIN)):$$PATH" python -m pytest $(PYTEST_PARALLEL)

# The tests that run no model and no workflow: the folder tests/unit (dry runs included). tests/model loads
# real small models, tests/workflow runs the workflow for real (tests/conftest.py marks both slow).
test-fast: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" python -m pytest $(PYTEST_PARALLEL) tests/unit

# After a run: report.html with the tables, figures and scores and their captions.
report: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" snakemake --report report.html

clean-results:
	rm -rf results resources logs benchmarks
