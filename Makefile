# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PORT ?= 8000
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test lint check test-unit test-browser seed clean

# A stamp per extra keeps a second `make run` fast: pip runs again only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || { py=$$(scripts/find-python) || exit 1; echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(PIP) install -qq --upgrade pip
	$(PIP) install -qq -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -qq -e '.[dev]'
	@touch $@

# One ASGI server (HTTP + websockets) and the periodic-task scheduler (horizon roll, nightly
# adherence, reports); tasks themselves run in-process. Ctrl-C stops both.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py show_demo_accounts --url http://127.0.0.1:$(PORT)/
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py crontask --verbosity 0 > var/crontask.log 2>&1 & \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

seed: $(VENV)/.installed
	$(PY) manage.py seed_demo

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: $(VENV)/.installed-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Browser tests run in a second pytest process: Playwright's sync API and pytest-asyncio
# cannot share one event loop (STACK.md).
test-unit: $(VENV)/.installed-dev
	$(VENV)/bin/pytest -m "not browser"

test-browser: $(VENV)/.installed-dev
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest -m browser tests/e2e

test: lint check test-unit test-browser

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
