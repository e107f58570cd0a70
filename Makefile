# Two commands do all set-up on a fresh machine:
#   make app    install into .venv, build the demo snapshot, open the app on http://localhost:8501
#   make test   install into .venv (and Chromium for the browser tests), run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.needmap-installed
PYTHON ?= python3

.PHONY: app test fast install browser bench lint

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

app: $(STAMP)
	test -f output/snapshots/LATEST || $(VENV)/bin/needmap refresh --config needmap.toml --quiet
	$(VENV)/bin/streamlit run app.py

# Browser tests drive Debian's Chromium; install it when missing and we may (root, apt).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium not installed: browser tests will be skipped (apt-get install chromium chromium-driver)"; fi; \
	fi

test: $(STAMP) browser
	$(PY) -m pytest

# The fast suite for development (about a minute on two cores): no browser, corpus, kill,
# notebook, red team or extra processes; two workers (pytest-xdist).
fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser" -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/refresh.py
