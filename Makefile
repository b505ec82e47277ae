# Marketing analytics warehouse — the commands a person runs.
#   make run    install, start the local Postgres, generate demo data, build every asset (dashboards too), print a summary
#   make test   the whole test suite (pytest: loader, dbt build + unit tests, sqlfluff, end to end)
# See README.md for the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DAGSTER_HOME ?= $(CURDIR)/.warehouse/dagster
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Demo size (override: make run CUSTOMERS=20000 ORDERS=200000)
SEED ?= 42
CUSTOMERS ?= 100000
CAMPAIGNS ?= 200
DAYS ?= 730
ORDERS ?= 1000000
LANDING ?= $(CURDIR)/landing
export WAREHOUSE_LANDING_DIR ?= $(LANDING)

.PHONY: help install run test dev db-start db-stop db-status demo-data parse bench bench-scale lint format clean lineage-png

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'
	@echo "  make dev        Dagster UI on http://127.0.0.1:3000 (asset lineage)"
	@echo "  make db-start | db-stop | db-status   manage the local Postgres cluster"
	@echo "  make bench      loader vs pandas, dbt build time, segmentation and Prophet timings"
	@echo "  make bench-scale SCALE=1   whole warehouse at SCALE x the demo: full/incremental build, queries"
	@echo "  make lint       sqlfluff lint of the dbt models"
	@echo "  make dashboards | dashboards-serve   build / serve the Evidence dashboards (127.0.0.1:3001)"
	@echo "  make bi-credentials                  read-only role for BI tools, prints its connection string"
	@echo "  make docs       dbt docs on http://127.0.0.1:8081"
	@echo "  make report     executive report (HTML + PDF) from the current marts; prints the paths"
	@echo "  make lineage-png  docs/lineage.png: screenshot of the Dagster lineage view (headless Chromium)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

db-start:
	@$(PYTHON) -m orchestration.localdb start

db-stop:
	@$(PYTHON) -m orchestration.localdb stop

db-status:
	@$(PYTHON) -m orchestration.localdb status

demo-data: $(STAMP)
	$(BIN)/python -m orchestration.demo --out $(LANDING) --seed $(SEED) \
	  --customers $(CUSTOMERS) --campaigns $(CAMPAIGNS) --days $(DAYS) --orders-target $(ORDERS)

parse: $(STAMP)
	@$(BIN)/dbt parse --quiet

run: install chromium db-start demo-data parse
	$(BIN)/warehouse run $(if $(FULL_REFRESH),--full-refresh)

dev: install db-start parse
	( trap - INT TERM; exec $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000 )

# No database needed: the webserver only loads the definitions.
lineage-png: install chromium
	$(BIN)/python -m orchestration.lineage_ui --out docs/lineage.png

test: install chromium
	@WAREHOUSE_PG_FSYNC=off $(PYTHON) -m orchestration.localdb start
	@$(BIN)/dbt parse --quiet
	$(BIN)/pytest -q

bench: install db-start
	$(BIN)/python -m tests.benchmarks.bench_loader --rows 1000000
	$(BIN)/python -m tests.benchmarks.bench_dbt
	$(BIN)/python -m tests.benchmarks.bench_ml

# Whole-warehouse benchmark at SCALE x the demo (fractions allowed): full and incremental
# dbt build, incremental vs full-refresh marts, BI query timings (tests/benchmarks/bench_scale.py).
SCALE ?= 1
bench-scale: install db-start
	$(BIN)/python -m tests.benchmarks.bench_scale --scale $(SCALE)

lint: install
	$(BIN)/sqlfluff lint dbt_project

format: install
	$(BIN)/sqlfluff fix dbt_project

clean:
	rm -rf target logs .pytest_cache

include dashboards/dashboards.mk

# Executive report (reports/executive_report): HTML + PDF from the marts. Chromium prints the
# PDF, so `make run` and `make test` install it first (as root; otherwise they stop with the
# apt-get command to run). CHROMIUM=/path/to/chromium to use another binary.
.PHONY: report chromium

chromium:
	@bash scripts/install-chromium.sh

report: install db-start chromium
	@$(BIN)/python -m orchestration.reports
