"""The dbt project as Dagster sees it: one ``DbtProject`` for the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import REPO_ROOT, dbt_env

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
dbt_project.prepare_if_dev()


def ensure_manifest() -> Path:
    """Parse the dbt project when no manifest exists yet (``dbt parse`` needs no database)."""
    if not dbt_project.manifest_path.exists():
        env = {**os.environ, **_parse_env()}
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet"], cwd=REPO_ROOT, env=env, check=True
        )
    return dbt_project.manifest_path


def _parse_env() -> dict[str, str]:
    # Parsing resolves env_var() in profiles.yml but never connects; any DSN will do.
    try:
        return dbt_env()
    except Exception:  # no warehouse configured yet: parse with profile defaults
        return {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
