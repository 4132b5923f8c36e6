# The two commands of the README:  `make up` (run Bearwatch)  and  `make test` (run the tests).
# Each bootstraps what it needs: a .venv with the project installed, the database migration.
PYTHON ?= python3.11
VENV   ?= .venv
STAMP  := $(VENV)/.installed

.PHONY: up test lint model system-deps clean-venv

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the browser tests use (Chromium and its driver); installed once, as root.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "browser tests need: sudo apt-get install chromium chromium-driver"; fi; \
	fi

up: $(STAMP)
	@mkdir -p inbox   # the default config's camera-trap folder: drop photos here
	$(VENV)/bin/bearwatch up

test: $(STAMP) system-deps
	$(VENV)/bin/python -m pytest

# The gates CI holds at zero findings (configured in pyproject.toml; see ARCHITECTURE.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

clean-venv:
	rm -rf $(VENV)

# The shipped model (detector/weights/shipped.safetensors), rebuilt from the shared photos
# (bit for bit on the same kind of CPU, within float rounding on another): leave-one-source-out
# figures, the calibrated threshold and the report beside it.
DATA ?= ../shared/data/bears
model: $(STAMP)
	$(VENV)/bin/bearwatch train $(DATA) --recipe default --ship
