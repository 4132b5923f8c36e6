# The two commands of the README:  `make up` (run Bearwatch)  and  `make test` (run the tests).
# Each bootstraps what it needs: a .venv with the project installed, the database migration.
PYTHON ?= python3.11
VENV   ?= .venv
STAMP  := $(VENV)/.installed

.PHONY: up test lint lock audit model system-deps clean-venv

# Every dependency at the version in requirements.lock (pip-tools; `make lock` rewrites it).
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements.lock -e '.[dev,cluster]'  # cluster: Ray, for its tests
	touch $(STAMP)

# Re-resolve the lock from pyproject.toml after changing a dependency there (or to take newer
# releases: add --upgrade), then `make test`; commit both files.
lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --extra dev --extra cluster --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

# pip-audit over the lock: fails on a known vulnerability (see .ci/audit.py).
audit: $(STAMP)
	$(VENV)/bin/python .ci/audit.py requirements.lock

# Debian packages the browser tests use (Chromium and its driver); installed once, as root.
# And the RTSP camera tests' (tests/camera_ingest/rtsp.py): ffmpeg with libx264 makes the H.264
# clips, GStreamer's RTSP server (run by the system Python through python3-gi) serves them.
RTSP_DEBS := ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "browser tests need: sudo apt-get install chromium chromium-driver"; fi; \
	fi
	@if ! command -v ffmpeg >/dev/null || ! /usr/bin/python3 tests/camera_ingest/rtsp_server.py --check 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(RTSP_DEBS) >/dev/null; \
	  else echo "RTSP camera tests need: sudo apt-get install --no-install-recommends $(RTSP_DEBS)"; fi; \
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
