# deskflow — `make run` starts everything; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export PSYCOPG_WAIT_FUNC := wait_select

.PHONY: run test install broker postgres migrate seed bench rebuild-reports clean-test-leftovers \
	backup restore soak

run: install broker  ## install, migrate, start the services and the gateway on :8000
	$(PY) scripts/run.py

test: install  ## install, start RabbitMQ and PostgreSQL if needed, run the whole suite
	bash scripts/ensure-broker.sh --management
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-prometheus.sh
	bash scripts/ensure-report-tools.sh
	$(PY) -m pytest

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip check
	@touch $@

broker:
	bash scripts/ensure-broker.sh

postgres:
	bash scripts/ensure-postgres.sh

migrate: install
	$(PY) -m services.common.migrate upgrade

seed: install  ## load demo data through the running gateway
	$(PY) scripts/seed.py

bench: install postgres  ## every benchmark, each against a baseline measured in the same run
	bash scripts/ensure-broker.sh --management
	$(PY) bench/tickets.py
	$(PY) bench/customers.py
	$(PY) bench/sla_sweep.py
	$(PY) bench/report_summary.py
	$(PY) bench/report_exports.py
	$(PY) bench/reminder_sweep.py
	$(PY) bench/rule_engine.py

soak: install postgres  ## a mixed workload at a fixed rate, per-minute figures and RSS (SOAK_MINUTES, default 10)
	bash scripts/ensure-broker.sh --management
	$(PY) bench/soak.py

backup: install  ## every database and the stored files to BACKUP_DIR/<UTC timestamp>/ with a manifest
	$(PY) scripts/backup.py backup

restore: install  ## make restore BACKUP=<dir> [FORCE=1]: into empty databases (FORCE=1 overwrites)
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=<backup dir> [FORCE=1]" >&2; exit 2; }
	$(PY) scripts/backup.py restore "$(BACKUP)" $(if $(FORCE),--force)

rebuild-reports: migrate  ## replay the reporting event log into empty aggregates
	$(PY) -m services.reporting.rebuild

clean-test-leftovers: install  ## drop vhosts and databases left by killed test runs
	$(PY) -m tests.support.cleanup
