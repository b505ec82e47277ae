"""Turn one chunk of raw CSV bytes into COPY data for the raw table plus rejected lines.

The fast path does the cheap work per chunk, not per line in Python:

1. one compiled regex (built from the spec) checks every unquoted line at C speed:
   column count, number syntax and sign, date shape, required values;
2. numpy reads the comma positions once and checks what a regex cannot: calendar dates
   (Feb 30, leap years), row rules (clicks <= impressions), non-zero minimums, and
   fingerprints the natural key of every valid row (duplicates are found after the last
   chunk, in bounded memory, by :mod:`orchestration.ingest.keyspill`);
3. good lines go to COPY nearly unchanged (``file_id,line_number,`` prefixed).

Everything else (quoted fields, lines the regex refused, anything numpy is unsure about)
goes through :mod:`orchestration.ingest.values`, which is the authority on what is valid and
writes every rejection reason.  The fast path never accepts a line the exact path rejects.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import numpy as np

from orchestration.ingest.keys import (
    MAX_VECTOR_WIDTH,
    scalar_text_hash,
    vector_combine,
    vector_int_hash,
    vector_text_hashes,
)
from orchestration.ingest.keyspill import KeyRows
from orchestration.ingest.plan import FilePlan
from orchestration.ingest.spec import Column
from orchestration.ingest.values import Accepted, Invalid, validate_record

csv.field_size_limit(1 << 30)
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)


@dataclass
class ChunkResult:
    """What one chunk produced."""

    copy_data: bytes = b""
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw line, reason)
    rows_read: int = 0
    rows_loaded: int = 0
    carry: bytes = b""  # an unfinished quoted record, to be prepended to the next chunk
    carry_line: int = 0  # physical line number where the carry starts
    keys: KeyRows | None = None  # natural keys of the valid rows (duplicates included)


def quote_copy_value(value: str | None) -> str:
    """One value in COPY CSV form: empty for NULL, quoted when it holds a delimiter or quote."""
    if value is None or value == "":
        return ""
    if any(ch in value for ch in ',"\n\r') or value == "\\.":
        return '"' + value.replace('"', '""') + '"'
    return value


class _CountingLines:
    """Iterator over decoded physical lines that remembers how many csv consumed."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.used = 0
        self.exhausted = False

    def __iter__(self) -> _CountingLines:
        return self

    def __next__(self) -> str:
        if self.used >= len(self.lines):
            self.exhausted = True
            raise StopIteration
        self.used += 1
        return self.lines[self.used - 1]


class ChunkProcessor:
    """Processes the chunks of one file, in order."""

    def __init__(self, plan: FilePlan, file_id: int) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.file_id = file_id
        self.keyed = bool(plan.spec.natural_key)
        self.k = plan.ncols - 1
        self.line_format = f"{file_id},%d,%b\n".encode()
        self.mapped_cols = plan.mapped_columns
        self.mapped_idx = [j for j, _ in plan.mapped]
        self.rewrites = [
            (j, col) for j, col in plan.mapped if col.type in ("date", "timestamp") and any(
                lay.rewrite_map() for lay in col.layouts
            )
        ]
        self.needs_reshape = bool(plan.unmapped or self.rewrites)

    # ------------------------------------------------------------------ public

    def process(self, buf: bytes, first_line: int, final: bool) -> ChunkResult:
        """Process complete lines ``buf`` whose first line is physical line ``first_line``."""
        if not buf:
            return ChunkResult()
        if not buf.endswith(b"\n"):
            buf += b"\n"
        a = np.frombuffer(buf, dtype=np.uint8)
        nl = np.flatnonzero(a == 10)
        n = len(nl)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
        # status: 0 fast candidate, 1 exact record start, 2 blank, 3 continuation line
        status = np.zeros(n, dtype=np.int8)
        status[starts == nl] = 2
        exact: list[tuple[int, str, list[str] | None, str | None]] = []  # (line idx, raw, fields, reason)

        bad_encoding = self._bad_encoding_lines(buf, starts, nl)
        if bad_encoding or b'"' in buf or b"\r" in buf or b"\x00" in buf:
            carry_at = self._special_lines(buf, a, starts, nl, status, exact, bad_encoding, final)
            if carry_at is not None:
                head = self.process(buf[: int(starts[carry_at])], first_line, False) if carry_at else ChunkResult()
                head.carry = buf[int(starts[carry_at]):]
                head.carry_line = first_line + carry_at
                return head

        failed = self._regex_failures(buf, starts, nl)
        for li in failed:
            if status[li] == 0:
                status[li] = 1
                raw = buf[starts[li] : nl[li]].decode("utf-8")
                exact.append((li, raw, raw.split(","), None))

        fast = np.flatnonzero(status == 0)
        ok = np.ones(len(fast), dtype=bool)
        keys: tuple[np.ndarray, np.ndarray] | None = None
        fields: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if len(fast) and self._needs_fields():
            all_fast = len(fast) == n
            fields = self._field_bounds(a, starts, nl, fast, all_fast)
            stamps = self._check_calendar(a, fields, ok)
            self._check_numbers(a, fields, ok)
            if self.keyed:
                keys = self._fast_keys(a, buf, fields, stamps)
        # lines numpy doubted go to the exact path
        for pos in np.flatnonzero(~ok):
            li = int(fast[pos])
            raw = buf[starts[li] : nl[li]].decode("utf-8")
            exact.append((li, raw, raw.split(","), None))

        result = ChunkResult()
        exact_ok: list[tuple[int, Accepted, str]] = []
        for li, raw, flds, reason in exact:
            ln = first_line + li
            result.rows_read += 1
            if reason is None:
                reason, accepted = self._validate(flds)
                if accepted is not None:
                    exact_ok.append((li, accepted, raw))
                    continue
            result.rejects.append((ln, raw, reason))
        fast_ok = fast[ok]
        result.rows_read += len(fast_ok)

        if self.keyed:
            result.keys = self._key_rows(first_line, fast_ok, keys, ok, exact_ok)
        exact_ok.sort(key=lambda item: item[0])

        parts = [self._fast_copy_data(buf, a, starts, nl, fast_ok, fields, ok, first_line, n)]
        for li, accepted, _ in exact_ok:
            row = ",".join(quote_copy_value(v) for v in accepted.values)
            parts.append(b"%d,%d,%s\n" % (self.file_id, first_line + li, row.encode("utf-8")))
        result.copy_data = b"".join(parts)
        result.rows_loaded = len(fast_ok) + len(exact_ok)
        result.rejects.sort(key=lambda r: r[0])
        return result

    # ------------------------------------------------------------------ exact path

    def _validate(self, flds: list[str] | None) -> tuple[str, Accepted | None]:
        if flds is None or len(flds) != self.plan.ncols:
            found = 0 if flds is None else len(flds)
            return f"wrong_column_count: expected {self.plan.ncols} fields, found {found}", None
        try:
            return "", validate_record(self.spec, self.mapped_cols, [flds[j] for j in self.mapped_idx])
        except Invalid as exc:
            return exc.reason, None

    def _bad_encoding_lines(self, buf: bytes, starts: np.ndarray, nl: np.ndarray) -> set[int]:
        try:
            buf.decode("utf-8")
            return set()
        except UnicodeDecodeError:
            pass
        bad = set()
        for li in range(len(nl)):
            try:
                buf[starts[li] : nl[li]].decode("utf-8")
            except UnicodeDecodeError:
                bad.add(li)
        return bad

    def _special_lines(
        self, buf: bytes, a: np.ndarray, starts: np.ndarray, nl: np.ndarray, status: np.ndarray,
        exact: list, bad_encoding: set[int], final: bool,
    ) -> int | None:
        """Handle lines with quotes, CR, NUL or bad UTF-8; returns where to carry from, if anywhere."""
        special = np.flatnonzero((a == 34) | (a == 13) | (a == 0))
        lines = set(np.unique(np.searchsorted(nl, special)).tolist()) | bad_encoding
        for li in sorted(lines):
            if status[li] != 0:
                continue
            if li in bad_encoding:
                status[li] = 1
                raw = buf[starts[li] : nl[li]].decode("utf-8", "backslashreplace")
                exact.append((li, raw, None, "invalid_encoding: the line is not valid UTF-8"))
                continue
            raw_first = buf[starts[li] : nl[li]].decode("utf-8")
            if "\x00" in raw_first:
                status[li] = 1
                exact.append((li, raw_first.replace("\x00", "\\x00"), None, "invalid_encoding: NUL byte in line"))
                continue
            if '"' not in raw_first:
                continue  # a lone CR: the regex refuses it, the exact path splits on commas
            record, used, state = self._read_quoted(buf, starts, nl, li, bad_encoding)
            if state == "need_more" and not final:
                return li
            status[li] = 1
            status[li + 1 : li + used] = 3
            raw = "\n".join(record)
            if state != "done":
                exact.append((li, raw, None, "malformed_csv: unterminated quoted field"))
                continue
            try:
                flds = next(csv.reader([line + "\n" for line in record]))
            except (csv.Error, StopIteration) as exc:
                exact.append((li, raw, None, f"malformed_csv: {exc}"))
                continue
            exact.append((li, raw, flds, None))
        return None

    def _read_quoted(
        self, buf: bytes, starts: np.ndarray, nl: np.ndarray, li: int, bad_encoding: set[int]
    ) -> tuple[list[str], int, str]:
        """The physical lines of the record starting at ``li`` (csv decides where it ends).

        The state is ``done``, ``need_more`` (the chunk ended inside a quoted field) or
        ``broken`` (a line that is not UTF-8 interrupted it).
        """
        n = len(nl)
        texts: list[str] = []
        j = li
        window = 4
        while True:
            while len(texts) < window and j < n and j not in bad_encoding:
                texts.append(buf[starts[j] : nl[j]].decode("utf-8"))
                j += 1
            it = _CountingLines([t + "\n" for t in texts])
            try:
                next(csv.reader(it))
            except (csv.Error, StopIteration):
                return texts[:1], 1, "done"
            if not it.exhausted:
                return texts[: it.used], it.used, "done"
            if j >= n:
                return texts, len(texts), "need_more"
            if j in bad_encoding:
                return texts, len(texts), "broken"
            window *= 2

    def _regex_failures(self, buf: bytes, starts: np.ndarray, nl: np.ndarray) -> list[int]:
        """Indexes of lines the chunk regex refuses (blank lines included)."""
        rx = self.plan.chunk_regex
        failed: list[int] = []
        pos = 0
        size = len(buf)
        while pos < size:
            end = rx.match(buf, pos).end()
            if end >= size:
                break
            li = int(np.searchsorted(starts, end, side="right")) - 1
            failed.append(li)
            pos = int(nl[li]) + 1
        return failed

    # ------------------------------------------------------------------ numpy checks

    def _needs_fields(self) -> bool:
        spec = self.spec
        return bool(
            spec.natural_key or spec.rules or self.needs_reshape
            or any(c.type in ("date", "timestamp") for c in self.mapped_cols)
            or any(c.min is not None and c.min != 0 for c in self.mapped_cols)
        )

    def _field_bounds(
        self, a: np.ndarray, starts: np.ndarray, nl: np.ndarray, fast: np.ndarray, all_fast: bool
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """(start, end) of every file column for the fast lines."""
        k = self.k
        delims = np.flatnonzero((a == 44) | (a == 10))
        if not all_fast or len(delims) != len(nl) * (k + 1):
            line_of = np.searchsorted(nl, delims)
            keep = np.zeros(len(nl), dtype=bool)
            keep[fast] = True
            delims = delims[keep[line_of]]
        table = delims.reshape(-1, k + 1)
        bounds = {}
        line_starts = starts[fast]
        for j in range(k + 1):
            s = line_starts if j == 0 else table[:, j - 1] + 1
            bounds[j] = (s, table[:, j])
        return bounds

    def _check_calendar(
        self, a: np.ndarray, fields: dict[int, tuple[np.ndarray, np.ndarray]], ok: np.ndarray
    ) -> dict[int, np.ndarray]:
        """Reject impossible dates (Feb 30, Feb 29 off leap years, year 0); returns yyyymmddHHMMSS."""
        stamps: dict[int, np.ndarray] = {}
        for j, col in self.plan.mapped:
            if col.type not in ("date", "timestamp"):
                continue
            s, e = fields[j]
            length = e - s
            stamp = np.zeros(len(s), dtype=np.int64)
            undecided = length > 0
            for layout in sorted(col.layouts, key=lambda lay: -lay.length):
                sel = undecided & (length == layout.length)
                for pos, byte in layout.literals:
                    sel &= a[np.minimum(s + pos, len(a) - 1)] == byte
                if not sel.any():
                    continue
                idx = np.flatnonzero(sel)
                ss = s[idx]
                part = {}
                for name, pos, width in layout.parts:
                    v = np.zeros(len(idx), dtype=np.int64)
                    for t in range(width):
                        v = v * 10 + (a[ss + pos + t].astype(np.int64) - 48)
                    part[name] = v
                y, m, d = part["Y"], part["m"], part["d"]
                leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
                dim = _DAYS[m] + ((m == 2) & leap)
                good = (y >= 1) & (d <= dim)
                ok[idx[~good]] = False
                hh, mm, sec = (part.get(x, np.zeros_like(y)) for x in ("H", "M", "S"))
                stamp[idx] = ((((y * 100 + m) * 100 + d) * 100 + hh) * 100 + mm) * 100 + sec
                undecided &= ~sel
            ok[undecided] = False  # present but no layout recognised: let the exact path say why
            stamps[j] = stamp
        return stamps

    def _parse_numbers(self, a: np.ndarray, s: np.ndarray, e: np.ndarray, col: Column) -> tuple[np.ndarray, np.ndarray]:
        """Values of number fields the regex accepted (int64 exact, or float64 for numeric)."""
        length = e - s
        present = length > 0
        width = int(length.max()) if len(length) else 0
        if width == 0:
            return np.zeros(len(s)), present
        cols = np.arange(width)
        idx = np.minimum(s[:, None] + cols[None, :], len(a) - 1)
        inside = cols[None, :] < length[:, None]
        m = np.where(inside, a[idx], 48).astype(np.int64)
        neg = m[:, 0] == 45
        m[:, 0] = np.where(neg, 48, m[:, 0])
        if col.type != "numeric":
            # right-align digits: value = sum(d * 10^(len-1-pos))
            place = (length[:, None] - 1 - cols[None, :]).clip(0, 18)
            vals = ((m - 48) * _POW10[place] * inside).sum(axis=1)
            return np.where(neg, -vals, vals), present
        dot = m == 46
        has_dot = dot.any(axis=1)
        dot_at = np.where(has_dot, dot.argmax(axis=1), length)
        digit = np.where(dot, 0, m - 48).astype(np.float64)
        place = (dot_at[:, None] - cols[None, :] - 1).astype(np.float64)
        place = np.where(cols[None, :] > dot_at[:, None], place + 1, place)
        vals = (digit * np.power(10.0, place) * inside).sum(axis=1)
        return np.where(neg, -vals, vals), present

    def _check_numbers(self, a: np.ndarray, fields: dict[int, tuple[np.ndarray, np.ndarray]], ok: np.ndarray) -> None:
        """Row rules and non-zero minimums, vectorized; close calls go to the exact path."""
        spec = self.spec
        needed = {r.left for r in spec.rules} | {r.right for r in spec.rules if isinstance(r.right, str)}
        needed |= {c.name for c in self.mapped_cols if c.min is not None and c.min != 0}
        values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in needed:
            j = self.plan.index_of(name)
            if j is not None:
                values[name] = self._parse_numbers(a, *fields[j], spec.column(name))

        def compare(lv, rv, op, exact_ints):
            if exact_ints:
                res = {"<=": lv <= rv, ">=": lv >= rv, "<": lv < rv, ">": lv > rv, "=": lv == rv, "!=": lv != rv}[op]
                return res, np.zeros(len(lv), dtype=bool)
            lv = lv.astype(np.float64)
            rv = rv.astype(np.float64)
            close = np.abs(lv - rv) <= 1e-9 * np.maximum(1.0, np.maximum(np.abs(lv), np.abs(rv)))
            res = {"<=": lv <= rv, ">=": lv >= rv, "<": lv < rv, ">": lv > rv, "=": close, "!=": ~close}[op]
            return res, close

        for col in self.mapped_cols:
            if col.min is None or col.min == 0 or col.name not in values:
                continue
            v, present = values[col.name]
            is_int = col.type != "numeric" and col.min == int(col.min)
            res, close = compare(v, np.full(len(v), int(col.min) if is_int else float(col.min)), ">=", is_int)
            ok &= ~present | (res & ~close)
        for rule in spec.rules:
            if rule.left not in values or (isinstance(rule.right, str) and rule.right not in values):
                continue
            lv, lp = values[rule.left]
            if isinstance(rule.right, str):
                rv, rp = values[rule.right]
                ints = spec.column(rule.left).type != "numeric" and spec.column(rule.right).type != "numeric"
            else:
                ints = spec.column(rule.left).type != "numeric" and rule.right == int(rule.right)
                rv = np.full(len(lv), int(rule.right) if ints else float(rule.right))
                rp = np.ones(len(lv), dtype=bool)
            res, close = compare(lv, rv, rule.op, ints)
            ok &= ~(lp & rp) | (res & ~close)

    # ------------------------------------------------------------------ keys

    def _fast_keys(
        self, a: np.ndarray, buf: bytes, fields: dict[int, tuple[np.ndarray, np.ndarray]], stamps: dict[int, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        parts: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        for name in self.spec.natural_key:
            j = self.plan.index_of(name)
            col = self.spec.column(name)
            s, e = fields[j]
            if col.type == "text":
                length = e - s
                long = length > MAX_VECTOR_WIDTH
                hashes = vector_text_hashes(a, s, np.where(long, 0, length))
                for which in (0, 1):
                    h = hashes[which]
                    for i in np.flatnonzero(long):
                        h[i] = scalar_text_hash(buf[s[i] : e[i]], which)
                    parts[which].append(h)
            else:
                value = stamps[j] if col.type in ("date", "timestamp") else self._parse_numbers(a, s, e, col)[0]
                for which in (0, 1):
                    parts[which].append(vector_int_hash(value, which))
        return vector_combine(parts[0], 0), vector_combine(parts[1], 1)

    def _key_rows(self, first_line: int, fast_ok: np.ndarray, keys: tuple[np.ndarray, np.ndarray] | None,
                  ok: np.ndarray, exact_ok: list[tuple[int, Accepted, str]]) -> KeyRows:
        """Line, span (physical lines) and key fingerprints of every valid row, in line order."""
        k1 = keys[0][ok] if keys is not None else np.empty(0, dtype=np.uint64)
        k2 = keys[1][ok] if keys is not None else np.empty(0, dtype=np.uint64)
        lines = fast_ok.astype(np.int64)
        spans = np.ones(len(lines), dtype=np.uint32)
        if exact_ok:
            lines = np.concatenate([lines, np.array([li for li, _, _ in exact_ok], dtype=np.int64)])
            spans = np.concatenate([spans, np.array([raw.count("\n") + 1 for _, _, raw in exact_ok], dtype=np.uint32)])
            k1 = np.concatenate([k1, np.array([acc.key[0] for _, acc, _ in exact_ok], dtype=np.uint64)])
            k2 = np.concatenate([k2, np.array([acc.key[1] for _, acc, _ in exact_ok], dtype=np.uint64)])
            order = np.argsort(lines, kind="stable")
            lines, spans, k1, k2 = lines[order], spans[order], k1[order], k2[order]
        return KeyRows(lines + first_line, spans, k1, k2)

    # ------------------------------------------------------------------ output

    def _fast_copy_data(self, buf, a, starts, nl, fast_ok, fields, ok, first_line, n) -> bytes:
        """COPY rows for the fast lines: ``file_id,line,<line>`` with unmapped fields dropped."""
        if len(fast_ok) == 0:
            return b""
        fmt = self.line_format
        if not self.needs_reshape:
            lines = buf.split(b"\n")
            if len(fast_ok) == n:
                return b"".join([fmt % (ln, line) for ln, line in zip(range(first_line, first_line + n), lines)])
            return b"".join([fmt % (first_line + li, lines[li]) for li in fast_ok.tolist()])
        out = a.copy()
        keep_rows = ok
        for j, col in self.rewrites:
            s, e = fields[j]
            for layout in col.layouts:
                moves = layout.rewrite_map()
                if not moves:
                    continue
                sel = keep_rows & (e - s == layout.length)
                for pos, byte in layout.literals:
                    sel &= a[np.minimum(s + pos, len(a) - 1)] == byte
                ss = s[sel]
                for target, source, const in moves:
                    out[ss + target] = a[ss + source] if source is not None else const
        # bytes to drop: whole lines not loaded here, and unmapped fields with one comma each
        delta = np.zeros(len(a) + 1, dtype=np.int32)
        drop_lines = np.ones(n, dtype=bool)
        drop_lines[fast_ok] = False
        np.add.at(delta, starts[drop_lines], 1)
        np.add.at(delta, nl[drop_lines] + 1, -1)
        rows = keep_rows
        for j in self.plan.unmapped:
            s, e = fields[j]
            if j == 0:
                lo, hi = s[rows], e[rows] + 1
            else:
                lo, hi = s[rows] - 1, e[rows]
            np.add.at(delta, lo, 1)
            np.add.at(delta, hi, -1)
        keep = np.cumsum(delta[:-1]) == 0
        kept = out[keep].tobytes()
        lines = kept.split(b"\n")
        return b"".join([fmt % (first_line + li, line) for li, line in zip(fast_ok.tolist(), lines)])
