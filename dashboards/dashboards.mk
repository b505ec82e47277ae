# Dashboards (Evidence) and dbt docs; included by the top-level Makefile, after the
# definitions of BIN, STAMP and PYTHON:
#
#   include dashboards/dashboards.mk
#
#   make bi-credentials    create/refresh the read-only role bi_reader, print its connection string
#   make dashboards        build the Evidence site (dashboards/build) from the marts, as bi_reader
#   make dashboards-serve  serve dashboards/build on http://127.0.0.1:$(DASHBOARDS_PORT)
#   make docs              dbt docs generate, then serve them on http://127.0.0.1:$(DOCS_PORT)

DASHBOARDS_PORT ?= 3001
DOCS_PORT ?= 8081

.PHONY: bi-credentials dashboards dashboards-serve docs

bi-credentials: install db-start
	@$(BIN)/python -m orchestration.bi_access grant

# `credentials --format evidence` prints export lines (or `echo error; false`), so a
# missing grant or an unreachable warehouse stops here with one sentence.
dashboards: install db-start
	@$(BIN)/python -m orchestration.bi_access grant >/dev/null
	@eval "$$($(BIN)/python -m orchestration.bi_access credentials --format evidence)" && scripts/build-dashboards.sh
	@echo "Open them with: make dashboards-serve  (http://127.0.0.1:$(DASHBOARDS_PORT))"

dashboards-serve:
	@test -f dashboards/build/index.html || { echo "error: no dashboards/build yet; run make dashboards" >&2; exit 1; }
	@echo "Dashboards on http://127.0.0.1:$(DASHBOARDS_PORT) (Ctrl-C stops)"
	( trap - INT TERM; exec $(PYTHON) -m http.server $(DASHBOARDS_PORT) --bind 127.0.0.1 --directory dashboards/build )

docs: install db-start
	@eval "$$($(BIN)/python -m orchestration.dbt_env)" && $(BIN)/dbt docs generate --quiet
	@echo "dbt docs on http://127.0.0.1:$(DOCS_PORT) (Ctrl-C stops)"
	@eval "$$($(BIN)/python -m orchestration.dbt_env)" && \
	  ( trap - INT TERM; exec $(BIN)/dbt docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser )
