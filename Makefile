# `make demo` and `make test` do all set-up on a fresh machine themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest system-deps bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@# Byte-compile once: with PYTHONDONTWRITEBYTECODE set, every CLI call would recompile.
	$(BIN)/python -m compileall -q runbook
	touch $(STAMP)

# Test-only system packages: a real OpenSSH server for the SSH tests, Chromium for the
# html report screenshot test, nftables for the blackhole fault, PostgreSQL's binaries for the
# team-mode tests' private cluster. Installed only when missing.
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check runbook tests bench
	$(BIN)/ruff format --check runbook tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Most tests wait on processes (sshd, PostgreSQL, the CLI), so two workers (pytest-xdist)
# nearly halve the wall time even on two cores; each worker starts its own servers.
TEST_WORKERS ?= 2
pytest: $(STAMP) system-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/plan_scale.py
	$(BIN)/python bench/engine_overhead.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
