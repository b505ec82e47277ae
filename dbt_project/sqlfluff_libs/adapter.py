"""Lint-time stand-in for ``adapter.dispatch``: sqlfluff's jinja templater has no adapter, so a
dispatched macro renders as a plain function call of its name (the linter sees a valid
expression of the same shape; the macro's own SQL is linted where it is written). An argument
that is a column reference (``unpacked.document``) is passed as is, anything else (a JSON path,
an SQL expression) as a string literal."""

from __future__ import annotations

import re
from collections.abc import Callable

_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _argument(value: object) -> str:
    text = str(value)
    return text if _REFERENCE.fullmatch(text) else "'" + text.replace("'", "''") + "'"


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    """``adapter.dispatch('name', 'package')(args...)`` -> ``name(args...)``."""

    def render(*args: object) -> str:
        return f"{macro_name}({', '.join(_argument(a) for a in args if a is not None)})"

    return render


class _Column:
    def __init__(self, name: str) -> None:
        self.name = name


def get_columns_in_relation(relation: object) -> list[_Column]:
    """The linter has no table: the run-time columns incremental models test for, so the
    incremental branch is linted."""
    return [_Column("_resolved_at"), _Column("_loaded_at")]
