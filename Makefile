# atelier: `make run` and `make test` do all setup first, idempotently.
#
# libtorch $(TORCH_VERSION) comes from PyPI. PyPI's Linux torch wheel is built
# with CUDA and pulls ~3.5 GB of NVIDIA libraries, which only a GPU uses, so:
#   TORCH_FLAVOR=cuda  the whole wheel in a project-local venv (.venv, ~4.7 GB),
#                      found by tch through LIBTORCH_USE_PYTORCH=1;
#   TORCH_FLAVOR=cpu   only the wheel's headers and CPU libraries, unpacked into
#                      .libtorch-$(TORCH_VERSION)-cpu (~0.5 GB) and used as LIBTORCH;
#   TORCH_FLAVOR=auto  (default) cuda where an NVIDIA driver answers, cpu elsewhere.
# Users with their own libtorch set LIBTORCH=/path/to/libtorch and both are skipped.

TORCH_VERSION := 2.13.0
# The CUDA libraries libtorch_cpu.so itself links (torch's cuda-toolkit 13.0.3).
CPU_RUNTIME_WHEELS := nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
VENV := .venv
LIBTORCH_CPU := .libtorch-$(TORCH_VERSION)-cpu
PYTHON ?= python3
BIN := target/release/atelier
CARGO ?= cargo
TORCH_FLAVOR ?= auto

ifeq ($(TORCH_FLAVOR),auto)
override TORCH_FLAVOR := $(shell { nvidia-smi -L || cat /proc/driver/nvidia/version; } >/dev/null 2>&1 && echo cuda || echo cpu)
endif
ifeq ($(filter cpu cuda,$(TORCH_FLAVOR)),)
$(error TORCH_FLAVOR must be auto, cpu or cuda; got "$(TORCH_FLAVOR)")
endif

ifdef LIBTORCH
TORCH_READY :=
export LIBTORCH
else ifeq ($(TORCH_FLAVOR),cuda)
TORCH_READY := $(VENV)/.torch-$(TORCH_VERSION)
# torch-sys asks the `python3` on PATH where torch lives: the venv's must come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1
else
TORCH_READY := $(LIBTORCH_CPU)/build-version
export LIBTORCH := $(CURDIR)/$(LIBTORCH_CPU)
unexport LIBTORCH_USE_PYTORCH
endif

.PHONY: book setup build install interop-venv run test bench bench-jobs lint fmt data clean readme-images readme-seeds

setup: $(TORCH_READY)

# --no-cache-dir: pip's cache would keep a second copy of every wheel on disk.
$(VENV)/.torch-$(TORCH_VERSION):
	@echo "== installing libtorch (PyPI torch==$(TORCH_VERSION) with CUDA, ~4.7 GB) into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet --no-cache-dir torch==$(TORCH_VERSION)
	@touch $@

$(LIBTORCH_CPU)/build-version:
	@echo "== unpacking a CPU-only libtorch $(TORCH_VERSION) from PyPI wheels into $(LIBTORCH_CPU) (~0.5 GB)"
	rm -rf $(LIBTORCH_CPU).wheels
	$(PYTHON) -m pip download --disable-pip-version-check --quiet --no-cache-dir --no-deps \
		--only-binary=:all: --dest $(LIBTORCH_CPU).wheels torch==$(TORCH_VERSION) $(CPU_RUNTIME_WHEELS)
	$(PYTHON) .ci/libtorch-cpu.py $(LIBTORCH_CPU).wheels $(LIBTORCH_CPU) $(TORCH_VERSION)
	rm -rf $(LIBTORCH_CPU).wheels

build: setup
	$(CARGO) build --release

# Real clients for the interop tests (ONNX Runtime, TensorBoard's reader) and the
# independent statistics the sweep tests check against (scipy, statsmodels), in a
# venv of their own; tests/it/interop_*.rs and sweeps.rs use it, and fail under CI
# without it. The marker names the package list, so a changed list installs again.
INTEROP_VENV := .venv-interop
INTEROP_PACKAGES := onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 tensorboard==2.21.0 safetensors==0.8.0 \
	scipy==1.17.1 statsmodels==0.15.0 pandas==3.1.1
INTEROP_READY := $(INTEROP_VENV)/.ready-$(shell echo '$(INTEROP_PACKAGES)' | md5sum | cut -c1-8)
interop-venv: $(INTEROP_READY)
$(INTEROP_READY):
	@echo "== installing $(INTEROP_PACKAGES) into $(INTEROP_VENV)"
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet --no-cache-dir $(INTEROP_PACKAGES)
	@touch $@

# Installs the binary, its man pages and bash/zsh/fish completions under PREFIX.
# The binary keeps loading libtorch from this checkout (its rpath): keep it.
#   make install [PREFIX=~/.local]
PREFIX ?= $(HOME)/.local
install: build
	install -d $(PREFIX)/bin $(PREFIX)/share/man/man1 $(PREFIX)/share/bash-completion/completions \
		$(PREFIX)/share/zsh/site-functions $(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BIN) $(PREFIX)/bin/atelier
	$(BIN) manpage --dir $(PREFIX)/share/man/man1
	$(BIN) completions bash > $(PREFIX)/share/bash-completion/completions/atelier
	$(BIN) completions zsh > $(PREFIX)/share/zsh/site-functions/_atelier
	$(BIN) completions fish > $(PREFIX)/share/fish/vendor_completions.d/atelier.fish
	@echo "== installed $(PREFIX)/bin/atelier; man atelier and completions need $(PREFIX)/bin on PATH and a new shell"

# Finds the dataset, or gets it when it is nowhere on this machine (the official
# mirror, else Debian's package via apt-get download: no root needed).
data: build
	@$(BIN) data where >/dev/null 2>&1 || $(BIN) data fetch

run: data
	$(BIN) $(ARGS)

test: setup
	$(CARGO) test --release

# atelier beside PyTorch eager (torch 2.13 in .venv, the libtorch
# version atelier links) and Keras 3 on TensorFlow CPU (a bench-only venv), alternating,
# several repeats; then loading. About ten minutes on 2 cores.
# atelier trains on the threads a run chooses; the peers on THREADS (every
# core, their default); FIXED=N also times atelier with --threads N beside it.
#   make bench [MODELS="M1 M4"] [REPEATS=3] [THREADS=$(nproc)] [FIXED=2]
TENSORFLOW_VERSION := 2.21.0
KERAS_VENV := .venv-keras
REPEATS ?= 3
THREADS ?= $(shell nproc)
FIXED ?=
MODELS ?=

$(KERAS_VENV)/.tensorflow-$(TENSORFLOW_VERSION):
	@echo "== installing tensorflow-cpu==$(TENSORFLOW_VERSION) into $(KERAS_VENV) (bench only)"
	$(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet tensorflow-cpu==$(TENSORFLOW_VERSION)
	@touch $@

# A short sweep by default beside `--jobs 1` and `--jobs 1 --threads $(nproc)` (wall times, ratios).
bench-jobs: build
	bash bench/jobs.sh $(REPEATS)

# The peers' data loader (bench/peers/models.py) reads the dataset with numpy,
# which torch's wheel does not bring.
$(VENV)/.numpy: $(VENV)/.torch-$(TORCH_VERSION)
	$(VENV)/bin/python3 -m pip install --disable-pip-version-check --quiet --no-cache-dir numpy==2.4.6
	@touch $@

bench: build $(VENV)/.numpy $(KERAS_VENV)/.tensorflow-$(TENSORFLOW_VERSION)
	$(VENV)/bin/python3 bench/peers/compare.py --repeats $(REPEATS) --threads $(THREADS) $(if $(FIXED),--also-fixed $(FIXED)) $(MODELS)
	$(CARGO) bench --bench load
	$(CARGO) bench --bench ui

# Every picture the README and the book show, drawn by atelier itself from
# real runs folders (none is committed; point each at your own):
#   RUNS:          the seed plan's six 15-epoch runs (M1…M5, MLP)
#   SEED_RUNS:     assets/plans/original-5-seeds.toml, trained
#   ABLATION_RUNS: assets/plans/ablation.toml, trained
#   make readme-images RUNS=… SEED_RUNS=… ABLATION_RUNS=…
# Two pictures need a live session and are taken with `s` in the app:
# live.png (M2 mid-training, 130x40) and watch-remote.png (`atelier watch
# HOST:PATH` beside a local run).
RUNS ?= $(HOME)/.local/share/atelier/runs
SEED_RUNS ?= $(RUNS)
ABLATION_RUNS ?= $(RUNS)
readme-images: build
	$(BIN) --runs-dir $(RUNS) screenshot --view confusion --run MLP --size 120x40 -o assets/readme/confusion.png
	$(BIN) --runs-dir $(RUNS) screenshot --view gallery --run M1 --cell Shirt:T-shirt/top --size 120x40 -o assets/readme/gallery.png
	$(BIN) --runs-dir $(RUNS) screenshot --view diff --run M1 --base MLP --cell Shirt:T-shirt/top --size 100x24 -o assets/readme/diff.png
	$(BIN) --runs-dir $(RUNS) report --run M1,M2,M3,M4,M5,MLP -o assets/report
	$(MAKE) readme-seeds SEED_RUNS=$(SEED_RUNS)
	$(BIN) --runs-dir $(ABLATION_RUNS) screenshot --view sweep --size 150x44 -o assets/readme/sweep.png
	rm -rf target/report-ablation
	$(BIN) --runs-dir $(ABLATION_RUNS) report -o target/report-ablation
	cp target/report-ablation/sweep-effects.png assets/readme/ablation-effects.png

# The seeds study alone: SEED_RUNS holds the runs of assets/plans/original-5-seeds.toml.
readme-seeds: build
	$(BIN) --runs-dir $(SEED_RUNS) screenshot --view runs --size 140x24 -o assets/readme/runs.png
	$(BIN) --runs-dir $(SEED_RUNS) screenshot --view compare --size 160x48 -o assets/readme/compare.png
	rm -rf target/report-seeds
	$(BIN) --runs-dir $(SEED_RUNS) report -o target/report-seeds
	cp target/report-seeds/test-accuracy.png target/report-seeds/test-loss.png target/report-seeds/validation-groups.png target/report-seeds/groups.csv target/report-seeds/verdicts.csv assets/report-seeds/

# The book (docs/): mdBook and its link checker, pinned, installed into .tools/
# the first time; fails on a broken internal link. Opens as docs/book/html/index.html.
MDBOOK_VERSION := 0.5.4
LINKCHECK_VERSION := 0.13.0
TOOLS := $(CURDIR)/.tools
MDBOOK := $(TOOLS)/bin/mdbook
$(TOOLS)/.mdbook-$(MDBOOK_VERSION):
	cargo install --locked --quiet --root $(TOOLS) mdbook --version $(MDBOOK_VERSION) --no-default-features --features search
	@touch $@
$(TOOLS)/.linkcheck-$(LINKCHECK_VERSION):
	cargo install --locked --quiet --root $(TOOLS) mdbook-linkcheck2 --version $(LINKCHECK_VERSION)
	@touch $@
book: $(TOOLS)/.mdbook-$(MDBOOK_VERSION) $(TOOLS)/.linkcheck-$(LINKCHECK_VERSION)
	PATH="$(TOOLS)/bin:$$PATH" $(MDBOOK) build docs

lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
