"""Lint-time stand-in for ``adapter.dispatch``: sqlfluff's jinja templater has no adapter, so a
dispatched macro renders as a plain function call of its name (the linter sees a valid
expression of the same shape; the macro's own SQL is linted where it is written)."""

from __future__ import annotations

from collections.abc import Callable


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    """``adapter.dispatch('name', 'package')(args...)`` -> ``name(args...)``."""

    def render(*args: object) -> str:
        return f"{macro_name}({', '.join(str(a) for a in args if a is not None)})"

    return render
