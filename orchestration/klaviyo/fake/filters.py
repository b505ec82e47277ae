"""Klaviyo's JSON:API filter syntax: parse, validate against an endpoint's allowed filters, evaluate.

Grammar (what the real API accepts in ``?filter=``)::

    filter     := condition ("," condition)*          # top-level commas mean AND
    condition  := "and(" filter ")" | "or(" filter ")" | "not(" condition ")"
                | op "(" field ["," value] ")"
    value      := 'string' | "string" | [value, ...] | true | false | null | number | datetime

Operators: equals, less-than, less-or-equal, greater-than, greater-or-equal, contains,
contains-any, contains-all, ends-with, starts-with, any, has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

COMPARISON_OPS = {"equals", "less-than", "less-or-equal", "greater-than", "greater-or-equal", "contains",
                  "contains-any", "contains-all", "ends-with", "starts-with", "any", "has"}
BOOLEAN_OPS = {"and", "or", "not"}


class FilterError(ValueError):
    """A filter that does not parse or is not allowed; the message is Klaviyo-style detail."""


@dataclass(frozen=True)
class Cond:
    op: str
    field: str
    value: Any = None


@dataclass(frozen=True)
class Bool:
    op: str  # and | or | not
    args: tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> FilterError:
        return FilterError(f"Invalid filter provided: {what} at position {self.pos} of '{self.text}'")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise self.error(f"expected '{ch}'")
        self.pos += 1

    def skip_ws(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def name(self) -> str:
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "-_.$"):
            self.pos += 1
        if start == self.pos:
            raise self.error("expected a name")
        return self.text[start:self.pos]

    def conditions(self) -> list[Any]:
        items = [self.condition()]
        self.skip_ws()
        while self.peek() == ",":
            self.pos += 1
            self.skip_ws()
            items.append(self.condition())
            self.skip_ws()
        return items

    def condition(self) -> Any:
        self.skip_ws()
        op = self.name()
        self.expect("(")
        if op in BOOLEAN_OPS:
            args = self.conditions()
            self.expect(")")
            if op == "not" and len(args) != 1:
                raise self.error("not() takes one condition")
            return Bool(op, tuple(args))
        if op not in COMPARISON_OPS:
            raise self.error(f"unknown operator '{op}'")
        self.skip_ws()
        fld = self.name()
        self.skip_ws()
        value = None
        if op != "has":
            self.expect(",")
            self.skip_ws()
            value = self.value()
            self.skip_ws()
        self.expect(")")
        return Cond(op, fld, value)

    def value(self) -> Any:
        ch = self.peek()
        if ch in ("'", '"'):
            return self.string(ch)
        if ch == "[":
            self.pos += 1
            items = []
            self.skip_ws()
            while self.peek() != "]":
                items.append(self.value())
                self.skip_ws()
                if self.peek() == ",":
                    self.pos += 1
                    self.skip_ws()
                elif self.peek() != "]":
                    raise self.error("expected ',' or ']'")
            self.pos += 1
            return items
        start = self.pos
        while self.peek() and self.peek() not in ",)]":
            self.pos += 1
        raw = self.text[start:self.pos].strip()
        if not raw:
            raise self.error("expected a value")
        if raw in ("true", "false"):
            return raw == "true"
        if raw == "null":
            return None
        try:
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            pass
        parsed = parse_datetime(raw)
        if parsed is None:
            raise self.error(f"cannot parse value '{raw}'")
        return parsed

    def string(self, quote: str) -> str:
        self.pos += 1
        out = []
        while True:
            ch = self.peek()
            if not ch:
                raise self.error("unterminated string")
            self.pos += 1
            if ch == "\\":
                out.append(self.peek())
                self.pos += 1
            elif ch == quote:
                return "".join(out)
            else:
                out.append(ch)


def parse_datetime(text: str) -> datetime | None:
    """ISO 8601 (``Z``, offsets, fractions; a space where a URL turned '+' into one)."""
    t = text.strip().replace(" ", "+")
    if len(t) >= 10 and t[4:5] == "-" and t[7:8] == "-":
        try:
            value = datetime.fromisoformat(t)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def parse(text: str) -> Any:
    """The filter as a tree (a single condition, or ``Bool('and', …)`` for top-level commas)."""
    p = _Parser(text)
    items = p.conditions()
    p.skip_ws()
    if p.pos != len(text):
        raise p.error("unexpected text")
    return items[0] if len(items) == 1 else Bool("and", tuple(items))


def conditions(node: Any) -> list[Cond]:
    """Every comparison in the tree."""
    if isinstance(node, Cond):
        return [node]
    return [c for arg in node.args for c in conditions(arg)]


def validate(node: Any, allowed: dict[str, set[str]], datetime_fields: set[str]) -> None:
    """Raise :class:`FilterError` for a field or operator the endpoint does not allow."""
    for cond in conditions(node):
        if cond.field not in allowed:
            raise FilterError(f"'{cond.field}' is not a valid field for the resource")
        if cond.op not in allowed[cond.field]:
            raise FilterError(f"'{cond.op}' operation is not allowed for field '{cond.field}'")
        if cond.field in datetime_fields and cond.op != "has" and not isinstance(cond.value, datetime):
            raise FilterError(f"'{cond.value}' is not a valid date-time for field '{cond.field}'")


def _cmp_value(v: Any) -> Any:
    return v.timestamp() if isinstance(v, datetime) else v


def evaluate(node: Any, get: Any) -> bool:
    """Whether a resource matches; ``get(field)`` returns its value (datetimes as epoch seconds)."""
    if isinstance(node, Bool):
        if node.op == "and":
            return all(evaluate(a, get) for a in node.args)
        if node.op == "or":
            return any(evaluate(a, get) for a in node.args)
        return not evaluate(node.args[0], get)
    actual = get(node.field)
    want = _cmp_value(node.value)
    op = node.op
    if op == "has":
        return actual is not None
    if op == "any":
        return actual in [_cmp_value(v) for v in (want if isinstance(want, list) else [want])]
    if op == "equals":
        if isinstance(want, list):
            return actual in [_cmp_value(v) for v in want]
        return actual == want
    if actual is None:
        return False
    if op == "contains":
        return isinstance(actual, str) and str(want) in actual
    if op == "starts-with":
        return isinstance(actual, str) and actual.startswith(str(want))
    if op == "ends-with":
        return isinstance(actual, str) and actual.endswith(str(want))
    try:
        if op == "greater-than":
            return actual > want
        if op == "greater-or-equal":
            return actual >= want
        if op == "less-than":
            return actual < want
        if op == "less-or-equal":
            return actual <= want
    except TypeError:
        return False
    return False


def time_bounds(node: Any, fields: set[str]) -> tuple[float | None, float | None]:
    """[lo, hi] epoch bounds implied by top-level AND comparisons on ``fields`` (for bisecting)."""
    if isinstance(node, Cond):
        conds = [node]
    else:
        conds = list(node.args) if isinstance(node, Bool) and node.op == "and" else []
    lo = hi = None
    for c in conds:
        if not isinstance(c, Cond) or c.field not in fields:
            continue
        v = _cmp_value(c.value)
        if not isinstance(v, (int, float)):
            continue
        if c.op in ("greater-than", "greater-or-equal"):
            lo = v if lo is None else max(lo, v)
        elif c.op in ("less-than", "less-or-equal"):
            hi = v if hi is None else min(hi, v)
    return lo, hi
