# Two commands on a fresh clone: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/comfy-audit run manifests/sample-snapshot.json \
		--registry manifests/sample-registry.jsonl \
		--os linux --accelerator cuda \
		--frontend-version 1.20.5 \
		--target-comfyui 0.4.0 --output outputs; \
	status=$$?; echo "exit code: $$status"; test $$status -le 1

lint: $(STAMP)
	$(BIN)/ruff check audit tests benchmarks scripts
	$(BIN)/ruff format --check audit tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts
	$(BIN)/lint-imports

# Every test and every module's doctests, with coverage of audit/ (pyproject: fail_under).
test: lint
	$(BIN)/pytest -q --doctest-modules --cov --cov-report=term:skip-covered audit tests

# Performance claims: ratios against baselines measured in the same run (benchmarks/README.md).
# NOTE: byte-compiled first, as an installed package is: with PYTHONDONTWRITEBYTECODE set, every
# timed process would otherwise compile audit/ from source again (about 0.1 s each).
bench: $(STAMP)
	$(BIN)/python -m compileall -q audit
	$(BIN)/python -m benchmarks.bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
