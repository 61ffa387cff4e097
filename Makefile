# atelier: `make run` and `make test` do all setup first, idempotently.
#
# libtorch comes from the PyPI wheel torch==$(TORCH_VERSION) in a project-local
# venv (.venv), found by tch through LIBTORCH_USE_PYTORCH=1. Users with their
# own libtorch set LIBTORCH=/path/to/libtorch and the venv is skipped.

TORCH_VERSION := 2.13.0
VENV := .venv
PYTHON ?= python3
BIN := target/release/atelier
CARGO ?= cargo

ifdef LIBTORCH
TORCH_READY :=
export LIBTORCH
else
TORCH_READY := $(VENV)/.torch-$(TORCH_VERSION)
# torch-sys asks the `python3` on PATH where torch lives: the venv's must come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1
endif

.PHONY: setup build run test bench lint fmt data clean readme-images

setup: $(TORCH_READY)

$(VENV)/.torch-$(TORCH_VERSION):
	@echo "== installing libtorch (PyPI torch==$(TORCH_VERSION), ~4.7 GB) into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet torch==$(TORCH_VERSION)
	@touch $@

build: setup
	$(CARGO) build --release

# Finds the dataset, or downloads it when it is nowhere on this machine.
data: build
	@$(BIN) data where >/dev/null 2>&1 || $(BIN) data fetch

run: data
	$(BIN) $(ARGS)

test: setup
	$(CARGO) test --release

# atelier beside PyTorch eager (this venv's torch 2.13, the libtorch atelier
# links) and Keras 3 on TensorFlow CPU (a bench-only venv), alternating,
# several repeats; then loading. About ten minutes on 2 cores.
#   make bench [MODELS="M1 M4"] [REPEATS=3] [THREADS=2]
TENSORFLOW_VERSION := 2.21.0
KERAS_VENV := .venv-keras
REPEATS ?= 3
THREADS ?= 2
MODELS ?=

$(KERAS_VENV)/.tensorflow-$(TENSORFLOW_VERSION):
	@echo "== installing tensorflow-cpu==$(TENSORFLOW_VERSION) into $(KERAS_VENV) (bench only)"
	$(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet tensorflow-cpu==$(TENSORFLOW_VERSION)
	@touch $@

bench: build $(KERAS_VENV)/.tensorflow-$(TENSORFLOW_VERSION)
	$(VENV)/bin/python3 bench/peers/compare.py --repeats $(REPEATS) --threads $(THREADS) $(MODELS)
	$(CARGO) bench --bench load
	$(CARGO) bench --bench ui

# The README's screenshots and figures, drawn by atelier itself from a runs
# folder (the live-view capture is taken by hand while a run trains):
#   make readme-images RUNS=~/.local/share/atelier/runs
RUNS ?= $(HOME)/.local/share/atelier/runs
readme-images: build
	$(BIN) --runs-dir $(RUNS) screenshot --view runs --size 140x24 -o assets/readme/runs.png
	$(BIN) --runs-dir $(RUNS) screenshot --view confusion --run MLP --size 120x40 -o assets/readme/confusion.png
	$(BIN) --runs-dir $(RUNS) screenshot --view compare --size 160x48 -o assets/readme/compare.png
	$(BIN) --runs-dir $(RUNS) screenshot --view gallery --run M1 --cell Shirt:T-shirt/top --size 120x40 -o assets/readme/gallery.png
	$(BIN) --runs-dir $(RUNS) screenshot --view diff --run M1 --base MLP --cell Shirt:T-shirt/top --size 100x24 -o assets/readme/diff.png
	$(BIN) --runs-dir $(RUNS) report --runs M1,M2,M3,M4,M5,MLP -o assets/report

lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
