#!/usr/bin/env bash
# Build the Evidence site in dashboards/build from the warehouse's marts.
#
#   EVIDENCE_SOURCE__warehouse__{host,port,database,user,password} must be set
#   (`make dashboards` sets them from `python -m orchestration.bi_access credentials --format evidence`).
#
# Steps: npm ci (only when package-lock.json changed since the last one; install scripts off,
# so nothing is downloaded besides the locked packages), `evidence sources` (runs every
# dashboards/sources/**/*.sql as the read-only role), `evidence build` (`build:strict` when
# EVIDENCE_STRICT=1, as in the tests: an empty chart or a wrong column fails it; real data
# may legitimately leave a chart empty, e.g. less than one complete week). Fails when a page
# query errors during the build ("Error in Query!"), which Evidence itself only logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$HERE/dashboards"
# DASHBOARDS_BUILD_DIR: build a copy of the project there (sharing dashboards/node_modules),
# leaving dashboards/build alone; the tests use it.
OUT="${DASHBOARDS_BUILD_DIR:-$PROJECT}"
cd "$PROJECT"

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is not installed; install Node.js >= 18 (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
for option in host port database user password; do
  var="EVIDENCE_SOURCE__warehouse__${option}"
  if [ -z "${!var:-}" ]; then
    echo "error: $var is not set; run \`make dashboards\` (it sets them for the bi_reader role)" >&2
    exit 1
  fi
done

export SEND_ANONYMOUS_USAGE_STATS=no  # Evidence telemetry off
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

started=$SECONDS
stamp=node_modules/.npm-ci.stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "npm ci (dashboards/) ..." >&2
  if ! npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error; then
    echo "error: npm ci failed in dashboards/ (is the npm registry reachable?)" >&2
    exit 1
  fi
  touch "$stamp"
  echo "npm ci: $((SECONDS - started)) s" >&2
fi

if [ "$OUT" != "$PROJECT" ]; then
  mkdir -p "$OUT"
  rm -rf "$OUT/pages" "$OUT/sources"
  cp -r pages sources package.json evidence.plugins.yaml "$OUT/"
  ln -sfn "$PROJECT/node_modules" "$OUT/node_modules"
  cd "$OUT"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "evidence sources ..." >&2
step=$SECONDS
# A failing source query makes `evidence sources` print "✖ Error: ..." and then hang on an
# open connection pool (@evidence-dev/postgres 1.0.6), so watch its log instead of waiting.
setsid ./node_modules/.bin/evidence sources >"$log" 2>&1 &
pid=$!
deadline=$((SECONDS + ${EVIDENCE_SOURCES_TIMEOUT:-600}))
while kill -0 "$pid" 2>/dev/null; do
  if { grep -q "✖" "$log" && grep -q "Evaluated sources" "$log"; } || [ "$SECONDS" -ge "$deadline" ]; then
    sleep 2
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.5
done
wait "$pid" 2>/dev/null || true
if grep -q "✖" "$log" || ! grep -q "Evaluated sources" "$log"; then
  cat "$log" >&2
  echo "error: evidence sources failed (see above): a query in dashboards/sources/ is broken or the" \
    "warehouse is unreachable; \`.venv/bin/pytest tests/test_dashboards.py -k source_queries\` shows" \
    "the Postgres error of each query" >&2
  exit 1
fi
echo "evidence sources: $((SECONDS - step)) s" >&2
build_command=build
if [ "${EVIDENCE_STRICT:-0}" = 1 ]; then build_command=build:strict; fi
echo "evidence $build_command ..." >&2
step=$SECONDS
rm -rf build  # Evidence copies its output over the old one: pages since removed would stay
if ! ./node_modules/.bin/evidence "$build_command" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "error: evidence build failed (see above)" >&2
  exit 1
fi
echo "evidence build: $((SECONDS - step)) s" >&2
if grep -q "Error in Query" "$log"; then
  grep "Error in Query" "$log" | sort -u >&2
  echo "error: a page query failed during the build (see above)" >&2
  exit 1
fi
echo "Dashboards built in $OUT/build ($(du -sh build | cut -f1)) in $((SECONDS - started)) s." >&2
