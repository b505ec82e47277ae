"""Source specs: one YAML file per source, loaded into typed, validated dataclasses.

A spec declares where a source's files are (globs relative to the landing dir), which raw
table they fill, the canonical columns (type, required, format, min, header aliases), the
natural key and row rules.  Nothing about a source is hard-coded in the loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from orchestration.ingest.errors import SpecError
from orchestration.ingest.layouts import Layout, LayoutError, parse_layout

SPEC_DIR = Path(__file__).resolve().parent / "specs"
TYPES = ("text", "int", "bigint", "numeric", "date", "timestamp")
NUMBER_TYPES = ("int", "bigint", "numeric")
DEFAULT_FORMATS = {
    "date": ("%Y-%m-%d",),
    "timestamp": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"),
}
RULE_OPS = ("<=", ">=", "!=", "<", ">", "=")
IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
REASON = re.compile(r"^[a-z][a-z0-9_]*$")
_SPEC_KEYS = {"name", "target", "description", "files", "exclude", "encoding", "columns", "natural_key", "rules"}
_COLUMN_KEYS = {"name", "type", "required", "format", "min", "aliases", "precision", "scale", "description"}
_RULE_KEYS = {"check", "reason", "description"}


def normalize_header(name: str) -> str:
    """Header matching key: case-insensitive, ignoring spaces, underscores and punctuation."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@dataclass(frozen=True)
class Column:
    """One canonical column of a source."""

    name: str
    type: str
    required: bool = False
    formats: tuple[str, ...] = ()
    min: Decimal | None = None
    aliases: tuple[str, ...] = ()
    precision: int | None = None
    scale: int | None = None
    layouts: tuple[Layout, ...] = field(default=(), compare=False, repr=False)

    @property
    def match_keys(self) -> tuple[str, ...]:
        """Normalized header names that map to this column (its own name first)."""
        keys: list[str] = []
        for raw in (self.name, *self.aliases):
            key = normalize_header(raw)
            if key not in keys:
                keys.append(key)
        return tuple(keys)

    @property
    def sql_type(self) -> str:
        if self.type == "int":
            return "integer"
        if self.type == "numeric" and self.precision is not None:
            return f"numeric({self.precision},{self.scale or 0})"
        if self.type == "timestamp":
            return "timestamp without time zone"
        return self.type


@dataclass(frozen=True)
class RowRule:
    """A comparison between two columns (or a column and a number) every row must satisfy."""

    check: str
    left: str
    op: str
    right: str | Decimal  # column name or a literal number
    reason: str


@dataclass(frozen=True)
class SourceSpec:
    """Everything the loader knows about one source."""

    name: str
    target: str
    files: tuple[str, ...]
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = ()
    exclude: tuple[str, ...] = ()
    encoding: str = "utf-8"
    description: str = ""
    path: Path | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def rejected_table(self) -> str:
        return f"{self.target}_rejected"

    @property
    def spec_file(self) -> str:
        """The spec's path as shown in messages (relative to the repo when possible)."""
        if self.path is None:
            return f"{self.name}.yml"
        try:
            return str(self.path.relative_to(SPEC_DIR.parent.parent.parent))
        except ValueError:
            return str(self.path)


# --------------------------------------------------------------------------- parsing


class _Ctx:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, what: str) -> SpecError:
        return SpecError(f"{self.where}: {what}.")


def _as_list(ctx: _Ctx, value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [value]
    if not isinstance(value, list):
        raise ctx.fail(f"'{key}' must be a list")
    return value


def _decimal(ctx: _Ctx, value: Any, key: str) -> Decimal:
    if isinstance(value, bool):
        raise ctx.fail(f"'{key}' must be a number, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ctx.fail(f"'{key}' must be a number, not {value!r}") from None
    if not number.is_finite():
        raise ctx.fail(f"'{key}' must be a finite number")
    return number


def _parse_column(ctx: _Ctx, raw: Any, index: int) -> Column:
    if not isinstance(raw, dict):
        raise ctx.fail(f"columns[{index}] must be a mapping with at least 'name' and 'type'")
    unknown = set(raw) - _COLUMN_KEYS
    name = raw.get("name")
    if not isinstance(name, str) or not IDENT.match(name):
        raise ctx.fail(f"columns[{index}] needs a 'name' in lower_snake_case, got {name!r}")
    if name.startswith("_"):
        raise ctx.fail(f"column '{name}': names starting with '_' are reserved for loader columns")
    cctx = _Ctx(f"{ctx.where}: column '{name}'")
    if unknown:
        raise cctx.fail(f"unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_COLUMN_KEYS))})")
    ctype = raw.get("type")
    if ctype not in TYPES:
        raise cctx.fail(f"unknown type {ctype!r} (use one of {', '.join(TYPES)})")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise cctx.fail("'required' must be true or false")
    formats: tuple[str, ...] = ()
    layouts: tuple[Layout, ...] = ()
    if "format" in raw:
        if ctype not in ("date", "timestamp"):
            raise cctx.fail("'format' is only allowed for date and timestamp columns")
        formats = tuple(str(f) for f in _as_list(cctx, raw["format"], "format"))
        if not formats:
            raise cctx.fail("'format' is empty")
    elif ctype in DEFAULT_FORMATS:
        formats = DEFAULT_FORMATS[ctype]
    if formats:
        try:
            layouts = tuple(parse_layout(f, ctype) for f in formats)
        except LayoutError as exc:
            raise cctx.fail(str(exc)) from None
        shapes = [(lay.length, lay.literals) for lay in layouts]
        if len(set(shapes)) != len(shapes):
            raise cctx.fail(f"formats {list(formats)} include two of the same shape, so a value could not tell them apart")
    minimum = None
    if raw.get("min") is not None:
        if ctype not in NUMBER_TYPES:
            raise cctx.fail("'min' is only allowed for int, bigint and numeric columns")
        minimum = _decimal(cctx, raw["min"], "min")
    precision = raw.get("precision")
    scale = raw.get("scale")
    if precision is not None or scale is not None:
        if ctype != "numeric":
            raise cctx.fail("'precision'/'scale' are only allowed for numeric columns")
        if not isinstance(precision, int) or not 1 <= precision <= 38:
            raise cctx.fail("'precision' must be an integer from 1 to 38")
        scale = 0 if scale is None else scale
        if not isinstance(scale, int) or not 0 <= scale <= precision:
            raise cctx.fail("'scale' must be an integer from 0 to precision")
    aliases = tuple(str(a) for a in _as_list(cctx, raw.get("aliases"), "aliases"))
    for alias in aliases:
        if not normalize_header(alias):
            raise cctx.fail(f"alias {alias!r} has no letters or digits")
    return Column(name, ctype, required, formats, minimum, aliases, precision, scale, layouts)


def _parse_rule(ctx: _Ctx, raw: Any, index: int, columns: dict[str, Column]) -> RowRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("check"), str):
        raise ctx.fail(f"rules[{index}] must be a mapping with 'check' (e.g. 'clicks <= impressions') and 'reason'")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ctx.fail(f"rules[{index}]: unknown key(s) {', '.join(sorted(unknown))}")
    check = raw["check"].strip()
    match = re.fullmatch(r"([a-z_][a-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(\S+)", check)
    if not match:
        raise ctx.fail(f"rules[{index}]: cannot read check {check!r} (write '<column> <op> <column or number>')")
    left, op, right_raw = match.groups()
    right: str | Decimal
    if right_raw in columns:
        right = right_raw
    elif IDENT.match(right_raw):
        raise ctx.fail(f"rules[{index}]: {check!r} names unknown column '{right_raw}'")
    else:
        right = _decimal(ctx, right_raw, f"rules[{index}].check")
    for name in (left, right):
        if isinstance(name, str):
            if name not in columns:
                raise ctx.fail(f"rules[{index}]: {check!r} names unknown column '{name}'")
            if columns[name].type not in NUMBER_TYPES:
                raise ctx.fail(f"rules[{index}]: column '{name}' in {check!r} is not a number column")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not REASON.match(reason):
        raise ctx.fail(f"rules[{index}]: 'reason' must be a short lower_snake_case code like 'clicks_exceed_impressions'")
    return RowRule(check, left, op, right, reason)


def parse_spec(data: Any, path: Path | None = None) -> SourceSpec:
    """Validate a spec mapping (as read from YAML) and build a :class:`SourceSpec`."""
    where = str(path) if path else "spec"
    ctx = _Ctx(where)
    if not isinstance(data, dict):
        raise ctx.fail("the file must be a YAML mapping with name, target, files and columns")
    unknown = set(data) - _SPEC_KEYS
    if unknown:
        raise ctx.fail(f"unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_SPEC_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not IDENT.match(name):
        raise ctx.fail(f"'name' must be lower_snake_case, got {name!r}")
    if path is not None and path.stem != name:
        raise ctx.fail(f"'name' is {name!r} but the file is called {path.name} (they must match)")
    target = data.get("target", name)
    if not isinstance(target, str) or not IDENT.match(target) or target.endswith("_rejected") or target == "load_registry":
        raise ctx.fail(f"'target' must be a lower_snake_case raw table name, got {target!r}")
    files = tuple(str(f) for f in _as_list(ctx, data.get("files"), "files"))
    exclude = tuple(str(f) for f in _as_list(ctx, data.get("exclude"), "exclude"))
    if not files:
        raise ctx.fail("'files' needs at least one glob relative to the landing dir, e.g. 'orders/*.csv'")
    for pattern in files + exclude:
        if pattern.startswith("/") or ".." in Path(pattern).parts:
            raise ctx.fail(f"glob {pattern!r} must be relative to the landing dir")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise ctx.fail("'columns' must be a non-empty list")
    columns = [_parse_column(ctx, raw, i) for i, raw in enumerate(raw_columns)]
    by_name: dict[str, Column] = {}
    owner: dict[str, str] = {}
    for col in columns:
        if col.name in by_name:
            raise ctx.fail(f"column '{col.name}' is declared twice")
        by_name[col.name] = col
        for key in col.match_keys:
            if key in owner and owner[key] != col.name:
                raise ctx.fail(f"header name {key!r} would match both '{owner[key]}' and '{col.name}'")
            owner[key] = col.name
    natural_key = tuple(str(k) for k in _as_list(ctx, data.get("natural_key"), "natural_key"))
    for key in natural_key:
        if key not in by_name:
            raise ctx.fail(f"natural_key names unknown column '{key}'")
        if not by_name[key].required:
            raise ctx.fail(f"natural_key column '{key}' must be required")
        if by_name[key].type == "numeric":
            raise ctx.fail(f"natural_key column '{key}' is numeric; use text, int, bigint, date or timestamp")
    if len(set(natural_key)) != len(natural_key):
        raise ctx.fail("natural_key repeats a column")
    rules = tuple(_parse_rule(ctx, raw, i, by_name) for i, raw in enumerate(_as_list(ctx, data.get("rules"), "rules")))
    encoding = data.get("encoding", "utf-8")
    try:
        "x".encode(encoding)
    except (LookupError, TypeError):
        raise ctx.fail(f"unknown encoding {encoding!r}") from None
    return SourceSpec(
        name=name, target=target, files=files, columns=tuple(columns), natural_key=natural_key,
        rules=rules, exclude=exclude, encoding=encoding, description=str(data.get("description", "")), path=path,
    )


def load_spec(path: Path) -> SourceSpec:
    """Read and validate one spec file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}: invalid YAML{where} ({getattr(exc, 'problem', exc)}).") from None
    return parse_spec(data, path)


def load_specs(spec_dir: Path | None = None) -> dict[str, SourceSpec]:
    """All specs in ``spec_dir`` (default: the packaged specs), by name, checked for consistency."""
    spec_dir = Path(spec_dir) if spec_dir else SPEC_DIR
    specs = {}
    for path in sorted(spec_dir.glob("*.yml")):
        spec = load_spec(path)
        specs[spec.name] = spec
    if not specs:
        raise SpecError(f"{spec_dir}: no *.yml source specs found.")
    check_shared_targets(specs.values())
    return specs


def check_shared_targets(specs: Any) -> None:
    """Specs filling the same raw table must declare the same columns with the same types."""
    first: dict[str, SourceSpec] = {}
    for spec in specs:
        other = first.setdefault(spec.target, spec)
        if other is spec:
            continue
        mine = [(c.name, c.sql_type) for c in spec.columns]
        theirs = [(c.name, c.sql_type) for c in other.columns]
        if mine != theirs:
            raise SpecError(
                f"{spec.spec_file}: target raw.{spec.target} is also filled by {other.spec_file}, "
                "so both must declare the same columns in the same order with the same types."
            )
