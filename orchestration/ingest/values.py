"""The authoritative validation of one record, one value at a time (the exact path).

The fast path (a compiled regex per chunk plus numpy checks) only ever *accepts* rows this
module would accept; anything it is unsure about is handed here, and the reason a row is
rejected always comes from here.  Reasons are ``code: detail``; the first failing check wins,
in this order: missing_required, invalid_number / invalid_date, negative_value / below_min,
row rules (spec order), then duplicate_key (checked by the caller across the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from orchestration.ingest.keys import scalar_combine, scalar_int_hash, scalar_text_hash
from orchestration.ingest.spec import Column, RowRule, SourceSpec

INT_RE = re.compile(r"-?[0-9]+")
NUMERIC_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
INT_LIMITS = {"int": 2**31 - 1, "bigint": 2**63 - 1}
MAX_NUMERIC_CHARS = 1000
_OPS = {
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_NEGATE = {"<=": ">", ">=": "<", "<": ">=", ">": "<=", "=": "!=", "!=": "="}


class Invalid(Exception):
    """One value failed; ``reason`` is the ``code: detail`` stored with the rejected line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    """A valid record: values to COPY (canonical text or None for NULL) and its key fingerprint."""

    values: list[str | None]
    key: tuple[int, int] | None


def shorten(text: str, limit: int = 60) -> str:
    """Quote a value for a reason message, cut when long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def is_missing(text: str) -> bool:
    """Empty or only spaces."""
    return text.strip(" ") == ""


def parse_value(col: Column, text: str) -> tuple[str, Any]:
    """Canonical text and typed value of a present value; raises :class:`Invalid`."""
    if col.type == "text":
        return text, text
    if col.type in ("int", "bigint"):
        if not INT_RE.fullmatch(text):
            raise Invalid(f"invalid_number: {col.name}={shorten(text)}")
        value = int(text)
        if abs(value) > INT_LIMITS[col.type]:
            raise Invalid(f"invalid_number: {col.name}={shorten(text)} (out of range for {col.type})")
        return text, value
    if col.type == "numeric":
        if len(text) > MAX_NUMERIC_CHARS or not NUMERIC_RE.fullmatch(text):
            raise Invalid(f"invalid_number: {col.name}={shorten(text)}")
        value = Decimal(text)
        if col.precision is not None:
            scale = col.scale or 0
            try:
                rounded = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
            except InvalidOperation:
                rounded = None
            if rounded is None or abs(rounded) >= Decimal(10) ** (col.precision - scale):
                raise Invalid(
                    f"invalid_number: {col.name}={shorten(text)} (out of range for numeric({col.precision},{scale}))"
                )
        return text, value
    for layout in col.layouts:
        moment = layout.parse(text)
        if moment is not None:
            return layout.canonical(text), moment
    expected = " or ".join(col.formats)
    raise Invalid(f"invalid_date: {col.name}={shorten(text)} (expected {expected})")


def check_min(col: Column, text: str, value: Any) -> None:
    """Raise when a number is below the column's min."""
    if col.min is not None and value is not None and value < col.min:
        code = "negative_value" if col.min == 0 else "below_min"
        raise Invalid(f"{code}: {col.name}={shorten(text)} (must be >= {col.min})")


def check_rule(rule: RowRule, typed: dict[str, Any]) -> None:
    """Raise when a row rule fails; rules with a missing operand pass."""
    left = typed.get(rule.left)
    right = typed.get(rule.right) if isinstance(rule.right, str) else rule.right
    if left is None or right is None:
        return
    if not _OPS[rule.op](left, right):
        shown = f"{rule.left}={left} {_NEGATE[rule.op]} "
        shown += f"{rule.right}={right}" if isinstance(rule.right, str) else str(right)
        raise Invalid(f"{rule.reason}: {shown}")


def stamp_of(moment: Any) -> int:
    """A date/time as the integer yyyymmddHHMMSS (how keys compare dates)."""
    return (
        ((((moment.year * 100 + moment.month) * 100 + moment.day) * 100 + moment.hour) * 100 + moment.minute) * 100
        + moment.second
    )


def key_fingerprint(spec: SourceSpec, typed: dict[str, Any], texts: dict[str, str]) -> tuple[int, int] | None:
    """The two 64-bit fingerprints of a row's natural key (None when the spec has no key)."""
    if not spec.natural_key:
        return None
    out = []
    for which in (0, 1):
        parts = []
        for name in spec.natural_key:
            col = spec.column(name)
            value = typed[name]
            if col.type == "text":
                parts.append(scalar_text_hash(texts[name].encode("utf-8"), which))
            elif col.type in ("date", "timestamp"):
                parts.append(scalar_int_hash(stamp_of(value), which))
            else:
                parts.append(scalar_int_hash(int(value), which))
        out.append(scalar_combine(parts, which))
    return out[0], out[1]


def validate_record(spec: SourceSpec, mapped: list[Column], fields: list[str]) -> Accepted:
    """Validate the mapped values of one record (in file order); raises :class:`Invalid`."""
    present: dict[str, str] = {}
    for col, text in zip(mapped, fields):
        if not is_missing(text):
            present[col.name] = text
    mapped_names = {c.name for c in mapped}
    for col in spec.columns:
        if col.required and col.name in mapped_names and col.name not in present:
            raise Invalid(f"missing_required: {col.name}")
    canonical: dict[str, str] = {}
    typed: dict[str, Any] = {}
    for col in spec.columns:
        if col.name in present:
            canonical[col.name], typed[col.name] = parse_value(col, present[col.name])
    for col in spec.columns:
        if col.name in typed:
            check_min(col, present[col.name], typed[col.name])
    for rule in spec.rules:
        check_rule(rule, typed)
    values: list[str | None] = []
    for col, text in zip(mapped, fields):
        if col.type == "text":
            values.append(text if text != "" else None)
        else:
            values.append(canonical.get(col.name))
    return Accepted(values, key_fingerprint(spec, typed, canonical))
