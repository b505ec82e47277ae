"""Lint-time stand-in for dbt's ``exceptions`` namespace (``exceptions.raise_compiler_error``).

sqlfluff renders templates without dbt's vars (``var()`` gives a placeholder), so a
compile-time check on a var cannot be evaluated while linting: the stand-in does nothing.
"""

from __future__ import annotations


def raise_compiler_error(message: str) -> str:  # noqa: ARG001 - mirrors dbt's signature
    return ""
