# Setup and everyday commands. Each target creates .venv when missing and
# installs the project into it, so they work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo docs docs-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# torch/torchvision are pinned to the releases that pip on this platform
# installs from the local disk; setup.py itself only asks for ranges.
$(STAMP): setup.py | $(BIN)/python
	$(BIN)/pip install "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install -e ".[test,bench,docs]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/aalu-sk demo

docs: $(STAMP)
	$(MAKE) -C docs html SPHINXBUILD=$(abspath $(BIN))/sphinx-build

# Opens the built site in headless Chromium (installed from Debian's
# packages when missing): broken links, missing images, screenshots.
docs-check: docs
	bash docs/install_chromium.sh
	$(BIN)/python docs/check_site.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_query_speed.py
	$(BIN)/python benchmarks/bench_label_efficiency.py

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/auto_examples \
		docs/gen_modules docs/sg_execution_times.rst
