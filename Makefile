# Outage Desk: `make run` sets up and serves the app; `make test` sets up and runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup messages lint bench guide clean

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

.env:
	printf 'DEBUG=true\nSECRET_KEY=dev-%s\n' "$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')" > .env

MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

locale/%.mo: locale/%.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

setup: $(STAMP) .env $(MO_FILES)

# Refresh the .po files from the code and fill them from the reviewed glossaries.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench -v0
	$(BIN)/python tools/translate_po.py locale/zh_Hans/LC_MESSAGES/django.po locale/zh_Hans/glossary

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Starting the worker (with beat) and the web server at http://127.0.0.1:8000/"
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A outage_desk worker --beat --loglevel=INFO --concurrency=2 \
	      --schedule var/celerybeat-schedule & \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP) $(MO_FILES)
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Re-take the screenshots of docs/guide/ from the browser journeys.
guide: $(STAMP) $(MO_FILES)
	UPDATE_GUIDE=1 $(BIN)/pytest -q tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Every benchmark at its issue's size, against PostgreSQL and Redis (see bench/README.md).
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/outage_desk_bench
BENCH_REDIS ?= redis://127.0.0.1:6379/12
bench: $(STAMP)
	DATABASE_URL=$(BENCH_DB) $(BIN)/python bench/deposits_capture.py --duration 20 --concurrency 16
	DATABASE_URL=$(BENCH_DB) CELERY_BROKER_URL=$(BENCH_REDIS) $(BIN)/python bench/notifications_send.py --notices 10000 --workers 2
	DATABASE_URL=$(BENCH_DB) $(BIN)/python -m bench.reconciliation_generate --deposits 100000 --records 1000000
	DATABASE_URL=$(BENCH_DB) $(BIN)/python -m bench.reconciliation_speed --deposits 100000 --records 1000000
	DATABASE_URL=$(BENCH_DB) $(BIN)/python bench/incidents_status.py
	DATABASE_URL=$(BENCH_DB) $(BIN)/python bench/impact_figures.py

clean:
	rm -rf $(VENV) node_modules var
