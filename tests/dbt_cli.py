"""Run the dbt CLI from tests: the venv's dbt, the warehouse settings, a private target folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def dbt_test_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra`` (e.g. ``settings.dbt_env(dsn)``), the venv first on PATH."""
    env = dict(os.environ)
    env.update(extra)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    return env


def run_dbt(args: list[str], env: dict[str, str], work: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run dbt with its own target/log folders under ``work``, so parallel runs don't collide."""
    command = ["dbt", *args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
