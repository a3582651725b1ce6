# `make` lists the targets. The two commands a newcomer needs are `make run` and `make test`
# (or, without make: `python3 dev.py run` / `python3 dev.py test`).
.DEFAULT_GOAL := help
PY := .venv/bin/python

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run:  ## set up, migrate, seed demo data, serve API + Celery worker + beat (SQLite, no servers)
	python3 dev.py run

test:  ## set up and run the test suite (SQLite by default)
	python3 dev.py test

test-pg:  ## run the suite on local PostgreSQL + Redis (127.0.0.1)
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/practice_dev REDIS_URL=redis://127.0.0.1:6379/15 python3 dev.py test

ci:  ## what CI runs: lint, migrations check, deploy check, suite on SQLite and on PostgreSQL/Redis
	bash .ci/run

lint:  ## ruff lint + format check
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

fmt:  ## ruff fix + format
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

schema:  ## write and validate the OpenAPI schema to var/openapi.yml
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py spectacular --validate --file var/openapi.yml

generate:  ## build the large benchmark practice on PostgreSQL (DATABASE_URL, default .../practice_bench; RESET=1 to rebuild)
	python3 dev.py setup
	$(PY) -m bench.run --generate-only $(if $(RESET),--reset,) $(BENCH_ARGS)

bench:  ## benchmark the API under gunicorn (wrk when installed) + growth from scale 1 to 5 + batch figures (PostgreSQL and Redis on 127.0.0.1; docs/performance.md)
	python3 dev.py setup
	$(PY) -m bench.run --growth 1,5 $(BENCH_ARGS)

bench-batch:  ## only the batch figures (reminders through Celery + Redis, shipment updates)
	python3 dev.py setup
	$(PY) -m bench.run --skip-http $(BENCH_ARGS)

lock:  ## re-pin requirements.lock, the chart and runtime locks with hashes (deploy/lock.py; UPGRADE="--upgrade-package NAME")
	python3 dev.py setup && $(PY) deploy/lock.py $(UPGRADE)

chart:  ## lint, render and schema-check the Helm chart (deploy/helm/, docs/deploying.md#cluster)
	$(PY) -m pip install -q -r deploy/helm/requirements-chart.lock && $(PY) deploy/helm/check_chart.py

.PHONY: help run test test-pg ci lint fmt schema lock chart generate bench bench-batch
