"""Per-file plan: which file column feeds which canonical column, and the chunk regex.

Built once from the file's header.  A header lacking a required column refuses the file
with one sentence that names the file, the missing columns and the spec file to fix.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from orchestration.ingest.errors import RefusedFileError
from orchestration.ingest.layouts import Layout
from orchestration.ingest.spec import Column, SourceSpec, normalize_header

# Characters a field may hold on the fast path; quotes, CR and NUL send the line to the exact path.
TEXT_CHAR = rb'[^,\n"\r\x00]'
TEXT_ANY = TEXT_CHAR + rb"*+"
TEXT_REQUIRED = rb' *+[^ ,\n"\r\x00]' + TEXT_CHAR + rb"*+"
_PART_PATTERNS = {
    "Y": rb"[0-9]{4}",
    "m": rb"(?:0[1-9]|1[0-2])",
    "d": rb"(?:0[1-9]|[12][0-9]|3[01])",
    "H": rb"(?:[01][0-9]|2[0-3])",
    "M": rb"[0-5][0-9]",
    "S": rb"[0-5][0-9]",
}
INT_FAST_DIGITS = {"int": 9, "bigint": 18}


def layout_pattern(layout: Layout) -> bytes:
    """Regex for one fixed-width layout (month/day/hour ranges; the calendar is checked later)."""
    pieces: list[tuple[int, bytes]] = [(pos, _PART_PATTERNS[name]) for name, pos, _ in layout.parts]
    pieces += [(pos, re.escape(bytes([byte]))) for pos, byte in layout.literals]
    return b"".join(p for _, p in sorted(pieces))


def value_pattern(col: Column) -> bytes:
    """Fast-path regex for a present value of ``col`` (stricter than the exact path is fine)."""
    if col.type == "text":
        return TEXT_REQUIRED
    sign = rb"-?" if col.min is None or col.min < 0 else b""
    if col.type in INT_FAST_DIGITS:
        return sign + rb"[0-9]{1,%d}+" % INT_FAST_DIGITS[col.type]
    if col.type == "numeric":
        if col.precision is not None:
            whole = max(col.precision - (col.scale or 0), 1)
            frac = col.scale or 0
            if frac == 0:
                return sign + rb"[0-9]{1,%d}+" % whole
            return sign + rb"[0-9]{1,%d}+(?:\.[0-9]{1,%d}+)?+" % (whole, frac)
        return sign + rb"[0-9]{1,30}+(?:\.[0-9]{1,30}+)?+"
    alternatives = sorted(col.layouts, key=lambda lay: -lay.length)
    return b"(?:" + b"|".join(layout_pattern(lay) for lay in alternatives) + b")"


def field_pattern(col: Column | None) -> bytes:
    if col is None:
        return TEXT_ANY
    if col.type == "text":
        return TEXT_REQUIRED if col.required else TEXT_ANY
    core = value_pattern(col)
    return core if col.required else b"(?:" + core + b")?+"


@dataclass
class FilePlan:
    """How one file's columns map onto its spec."""

    spec: SourceSpec
    path: str
    header: list[str]
    mapped: list[tuple[int, Column]]  # (file column index, canonical column), in file order
    chunk_regex: re.Pattern[bytes] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_index = dict(self.mapped)
        line = b",".join(field_pattern(by_index.get(j)) for j in range(self.ncols))
        self.chunk_regex = re.compile(b"(?:" + line + b"\n)*+")

    @property
    def ncols(self) -> int:
        return len(self.header)

    @property
    def copy_columns(self) -> list[str]:
        return [col.name for _, col in self.mapped]

    @property
    def mapped_columns(self) -> list[Column]:
        return [col for _, col in self.mapped]

    @property
    def unmapped(self) -> list[int]:
        used = {j for j, _ in self.mapped}
        return [j for j in range(self.ncols) if j not in used]

    def index_of(self, name: str) -> int | None:
        for j, col in self.mapped:
            if col.name == name:
                return j
        return None


def parse_header(line: str) -> list[str]:
    """Split a header line (already decoded, BOM removed) into column names."""
    return next(csv.reader([line]), [])


def plan_for_header(spec: SourceSpec, header: list[str], path: str) -> FilePlan:
    """Map a file's header onto ``spec``; refuse the file when required columns are missing."""
    lookup = {key: col for col in spec.columns for key in col.match_keys}
    mapped: list[tuple[int, Column]] = []
    seen: dict[str, str] = {}
    for j, name in enumerate(header):
        col = lookup.get(normalize_header(name))
        if col is None:
            continue
        if col.name in seen:
            raise RefusedFileError(
                f"File {path} was refused: its header has both {seen[col.name]!r} and {name!r} for column "
                f"{col.name}; remove one from the file or from the aliases in {spec.spec_file}."
            )
        seen[col.name] = name
        mapped.append((j, col))
    missing = [col.name for col in spec.columns if col.required and col.name not in seen]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise RefusedFileError(
            f"File {path} was refused: its header lacks the required column{plural} {', '.join(missing)}; "
            f"add {'them' if plural else 'it'} to the file or add the file's header name as an alias in {spec.spec_file}."
        )
    return FilePlan(spec, path, header, mapped)
