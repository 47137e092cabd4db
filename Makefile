# The two commands a newcomer needs: `make run` (install + demo screen) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The md extra (viglas verify) needs torch; pinning it first keeps pip from picking a multi-GB
# CUDA build when a CPU one is at hand (on this project's machines 2.13.0 is a local CPU wheel).
TORCH ?= torch==2.13.0
# Fitted models the quick test loop keeps between runs (keyed by data and code: never stale).
TEST_CACHE ?= .test-cache

.PHONY: run test test-fast install lint bench bench-md bench-report browser

$(BIN)/viglas: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[test,md]'
	touch $(BIN)/viglas

install: $(BIN)/viglas

run: install
	$(BIN)/viglas run runs/viglas.toml
	$(BIN)/viglas query viglas --top 10

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -q

# The report's browser tests drive Debian's Chromium through Playwright (which never downloads a
# browser of its own). Needs root; installs nothing when chromium is already there.
browser:
	command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The quick loop: every test but full screens, the validation report, killed-and-resumed runs and
# MD (markers slow and md). The first run fits the models into $(TEST_CACHE); later runs load them.
test-fast: install
	VIGLAS_CACHE=$(abspath $(TEST_CACHE)) $(BIN)/python -m pytest -q -m "not slow and not md"

bench: install
	$(BIN)/python bench/bench_pipeline.py

bench-md: install
	$(BIN)/python bench/bench_md.py

bench-report: install
	$(BIN)/python bench/bench_report.py --run results/wide
