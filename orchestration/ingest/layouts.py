"""Fixed-width date/timestamp layouts parsed from a strftime-like format.

Only fixed-width directives are supported (``%Y`` 4 digits, ``%m %d %H %M %S`` 2 digits)
plus literal separator characters, so a value can be validated by length, the literal
characters at their positions and digits everywhere else, without a regex.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTHS = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
DATE_PARTS = ("Y", "m", "d")


class LayoutError(ValueError):
    """The format string is not a supported fixed-width layout."""


@dataclass(frozen=True)
class Layout:
    """Where each part of a date/time value sits inside a fixed-width string."""

    format: str
    length: int
    parts: tuple[tuple[str, int, int], ...]  # (directive, position, width)
    literals: tuple[tuple[int, int], ...]  # (position, byte value)

    def position(self, part: str) -> int | None:
        for name, pos, _ in self.parts:
            if name == part:
                return pos
        return None

    @property
    def has_time(self) -> bool:
        return self.position("H") is not None

    @property
    def iso_date_prefix(self) -> bool:
        """True when the value already starts with ``YYYY-MM-DD`` (Postgres reads it as is)."""
        return self.position("Y") == 0 and self.position("m") == 5 and self.position("d") == 8 and (
            (4, ord("-")) in self.literals and (7, ord("-")) in self.literals
        )

    def rewrite_map(self) -> list[tuple[int, int | None, int]]:
        """Byte moves that turn a value into canonical ``YYYY-MM-DD…`` of the same length.

        Returns ``(target_pos, source_pos, constant)`` triples; source_pos None means write
        the constant byte.  Empty when the layout needs no rewrite (already ISO order) or
        cannot be rewritten in place (then it must be ``YYYYMMDD``-like, which Postgres reads).
        """
        if self.iso_date_prefix:
            return []
        y, m, d = (self.position(p) for p in DATE_PARTS)
        date_end = max(y + 4, m + 2, d + 2)
        if date_end != 10:
            return []  # compact YYYYMMDD: Postgres reads it as ISO
        moves: list[tuple[int, int | None, int]] = []
        for k in range(4):
            moves.append((k, y + k, 0))
        moves.append((4, None, ord("-")))
        for k in range(2):
            moves.append((5 + k, m + k, 0))
        moves.append((7, None, ord("-")))
        for k in range(2):
            moves.append((8 + k, d + k, 0))
        return moves

    def parse(self, text: str) -> dt.datetime | None:
        """The value as a datetime, or None when it does not match the layout or the calendar."""
        if len(text) != self.length:
            return None
        for pos, byte in self.literals:
            if ord(text[pos]) != byte:
                return None
        values = {}
        for name, pos, width in self.parts:
            chunk = text[pos : pos + width]
            if not (chunk.isascii() and chunk.isdigit()):
                return None
            values[name] = int(chunk)
        try:
            return dt.datetime(
                values["Y"], values["m"], values["d"],
                values.get("H", 0), values.get("M", 0), values.get("S", 0),
            )
        except ValueError:
            return None

    def canonical(self, text: str) -> str:
        """The same value written the way the fast path writes it (date part as YYYY-MM-DD)."""
        moves = self.rewrite_map()
        if not moves:
            return text
        out = list(text)
        for target, source, const in moves:
            out[target] = text[source] if source is not None else chr(const)
        return "".join(out)


def parse_layout(fmt: str, kind: str) -> Layout:
    """Parse ``fmt`` (e.g. ``%Y-%m-%d %H:%M:%S``) for a column of type ``kind`` (date|timestamp)."""
    parts: list[tuple[str, int, int]] = []
    literals: list[tuple[int, int]] = []
    pos = 0
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in WIDTHS:
                raise LayoutError(f"unsupported directive in {fmt!r} (use %Y %m %d %H %M %S)")
            name = fmt[i + 1]
            if any(p[0] == name for p in parts):
                raise LayoutError(f"directive %{name} appears twice in {fmt!r}")
            parts.append((name, pos, WIDTHS[name]))
            pos += WIDTHS[name]
            i += 2
            continue
        if ch.isdigit() or ch in ',"\n\r' or not ch.isascii():
            raise LayoutError(f"literal {ch!r} not allowed in {fmt!r}")
        literals.append((pos, ord(ch)))
        pos += 1
        i += 1
    names = [p[0] for p in parts]
    if not all(p in names for p in DATE_PARTS):
        raise LayoutError(f"{fmt!r} must contain %Y, %m and %d")
    if kind == "date" and len(names) != 3:
        raise LayoutError(f"{fmt!r} has time directives but the column is a date")
    if "S" in names and "M" not in names or "M" in names and "H" not in names:
        raise LayoutError(f"{fmt!r}: a time needs %H, %H:%M or %H:%M:%S")
    layout = Layout(fmt, pos, tuple(parts), tuple(literals))
    y, m, d = (layout.position(p) for p in DATE_PARTS)
    date_end = max(y + 4, m + 2, d + 2)
    if date_end not in (8, 10) or (date_end == 8 and not (y == 0 and m == 4 and d == 6)):
        raise LayoutError(f"{fmt!r}: the date part must be YYYYMMDD or three parts with one separator each")
    if layout.has_time:
        h = layout.position("H")
        if h != date_end + 1 or fmt.count("%") == 6 and layout.position("S") != h + 6:
            raise LayoutError(f"{fmt!r}: write the time as %H:%M[:%S] after one separator")
        if (date_end, ord(" ")) not in literals and (date_end, ord("T")) not in literals:
            raise LayoutError(f"{fmt!r}: separate the date and the time with ' ' or 'T'")
        for pos_, byte in literals:
            if pos_ > h and byte != ord(":"):
                raise LayoutError(f"{fmt!r}: separate hours, minutes and seconds with ':'")
    return layout
