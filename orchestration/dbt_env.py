"""Print ``export`` lines that point a hand-run ``dbt`` at the warehouse.

    eval "$(.venv/bin/python -m orchestration.dbt_env)" && .venv/bin/dbt build
"""

from __future__ import annotations

import shlex
import sys

from orchestration.errors import UserFacingError
from orchestration.settings import dbt_env


def main() -> int:
    try:
        env = dbt_env()
    except UserFacingError as exc:
        print(f"echo {shlex.quote('error: ' + str(exc))} >&2; false")
        return 1
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
