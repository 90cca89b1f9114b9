# Setup and everyday commands. Each target creates .venv when missing and
# installs the project into it, so they work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make demo` needs: torch and the project without extras.
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: install test lint demo label-demo docs docs-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# torch/torchvision are pinned to the releases that pip on this platform
# installs from the local disk; setup.py itself only asks for ranges.
$(DEMO_STAMP): setup.py pyproject.toml | $(BIN)/python
	$(BIN)/pip install "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install -e .
	touch $(DEMO_STAMP)

# Everything else (tests, docs, benchmarks, the labeling app, Ray), on top.
$(STAMP): $(DEMO_STAMP) setup.py pyproject.toml
	$(BIN)/pip install -e ".[test,bench,docs,label,ray]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# About 2 minutes of CPU time (see README); installs no extras.
# ruff (pyflakes, pycodestyle errors, bugbear) and the import-linter
# contract that keeps the layers pointing one way (pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check aalu_sk tests benchmarks examples docs conftest.py
	$(BIN)/lint-imports

demo: $(DEMO_STAMP)
	$(BIN)/aalu-sk demo

# The labeling app on scikit-learn's digits written as PNG files.
label-demo: $(STAMP)
	$(BIN)/aalu-sk label --demo

docs: $(STAMP)
	$(MAKE) -C docs html SPHINXBUILD=$(abspath $(BIN))/sphinx-build

# Opens the built site in headless Chromium (installed from Debian's
# packages when missing): broken links, missing images, screenshots.
docs-check: docs
	bash docs/install_chromium.sh
	$(BIN)/python docs/check_site.py

# The commands behind benchmarks/results/*.md (many hours on 2 CPU
# cores; the label-efficiency benchmark is most of it); each table
# states its own command, date and machine.
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_query_speed.py \
		--sizes 1000 5000 --selector-epochs 1 --epochs 10
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_query_speed.py \
		--sizes 1000 5000 20000 50000 --selector-epochs 1 --epochs 20 \
		--vaal-channels 32,64 --out benchmarks/results/query_speed_to_50k.md
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_query_speed.py \
		--sizes 3000 --epochs 20 --selector-epochs 100 \
		--vaal-channels 32,64 --strategies aalu,aalu_paper,vaal,entropy \
		--out benchmarks/results/query_speed_mnist5k_pool.md
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_large_pool.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_scaling.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_scaling.py --ray
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_label_efficiency.py \
		--jobs 2
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/head_recipes.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/diagnose_aalu.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/score_quality.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_stopping.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_labeling_coldstart.py

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/auto_examples \
		docs/gen_modules docs/sg_execution_times.rst
