#!/usr/bin/env bash
# docs/lineage.png: the Dagster UI's global asset lineage, screenshotted in headless Chromium.
#
#   scripts/screenshot-lineage.sh [OUT.png]      (make lineage-png)
#
# Starts dagster-webserver for orchestration.definitions on a free 127.0.0.1 port with a
# temporary DAGSTER_HOME (no database needed), opens /asset-groups with the small groups
# expanded, crops the screenshot to the graph, and kills the webserver's whole process group
# with SIGKILL (it ignores SIGTERM when started from a script). See orchestration/lineage_ui.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$HERE/.venv/bin/python"
if [ ! -x "$PY" ]; then
  echo "error: $PY is missing; run \`make install\` first" >&2
  exit 1
fi
bash "$HERE/scripts/install-chromium.sh"
cd "$HERE"
exec "$PY" -m orchestration.lineage_ui --out "${1:-$HERE/docs/lineage.png}"
