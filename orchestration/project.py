"""The dbt project as Dagster sees it: one ``DbtProject`` for the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import REPO_ROOT, dbt_env

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
#: dbt selector of the models fed by the ML assets' tables (models/staging/ml, models/marts/ml):
#: a second dbt asset, so Dagster orders the run raw → marts → ML (Python) → ML marts.
ML_FED = "source:ml+"

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
dbt_project.prepare_if_dev()


def _sources_newer_than(path: Path) -> bool:
    """True when a model, macro, test, seed or project file changed after ``path`` was written."""
    built = path.stat().st_mtime
    roots = [REPO_ROOT / "dbt_project", REPO_ROOT / "seeds"]
    files = [REPO_ROOT / "dbt_project.yml", REPO_ROOT / "profiles.yml"]
    files += [f for root in roots for f in root.rglob("*") if f.suffix in {".sql", ".yml", ".yaml", ".csv"}]
    return any(f.stat().st_mtime > built for f in files if f.exists())


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than its files
    (``dbt parse`` needs no database, ~5 s)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or _sources_newer_than(manifest):
        env = {**os.environ, **_parse_env()}
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet"], cwd=REPO_ROOT, env=env, check=True
        )
    return manifest


def _parse_env() -> dict[str, str]:
    # Parsing resolves env_var() in profiles.yml but never connects; any DSN will do.
    try:
        return dbt_env()
    except Exception:  # no warehouse configured yet: parse with profile defaults
        return {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
