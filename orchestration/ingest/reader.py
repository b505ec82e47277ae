"""Reading landing files: plain or gzip, hashed, header first, then large chunks of whole lines."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 4 << 20
BOM = b"\xef\xbb\xbf"


def sha256_of(path: Path) -> str:
    """sha256 of the file's bytes as stored (the compressed bytes for .gz)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Header:
    """The header record: its text (decoded, BOM removed) and how many physical lines it used."""

    text: str
    lines: int


class CsvFile:
    """A landing file opened for one pass: ``header()`` first, then ``chunks()``."""

    def __init__(self, path: Path, encoding: str = "utf-8", chunk_size: int | None = None) -> None:
        self.path = Path(path)
        self.encoding = encoding
        self.chunk_size = chunk_size or CHUNK_SIZE
        self.size = self.path.stat().st_size
        self._raw: BinaryIO = open(self.path, "rb")
        self._stream: BinaryIO = gzip.GzipFile(fileobj=self._raw) if self.path.name.endswith(".gz") else self._raw
        self._pending = b""

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def position(self) -> int:
        """Bytes of the stored file consumed so far (for the progress bar)."""
        return self._raw.tell()

    def _to_utf8(self, data: bytes) -> bytes:
        if self.encoding.replace("-", "").lower() in ("utf8", "utf8sig"):
            return data
        return data.decode(self.encoding, "replace").encode("utf-8")

    def header(self) -> Header | None:
        """The header record, or None for an empty file."""
        lines: list[bytes] = []
        while True:
            line = self._readline()
            if line is None:
                break
            lines.append(line)
            if b"".join(lines).count(b'"') % 2 == 0:
                break
        if not lines:
            return None
        raw = b"\n".join(lines)
        if raw.startswith(BOM):
            raw = raw[len(BOM):]
        text = self._to_utf8(raw).decode("utf-8", "replace")
        return Header(text, len(lines))

    def _readline(self) -> bytes | None:
        while b"\n" not in self._pending:
            data = self._stream.read(self.chunk_size)
            if not data:
                if not self._pending:
                    return None
                line, self._pending = self._pending, b""
                return line.rstrip(b"\r")
            self._pending += data
        line, _, self._pending = self._pending.partition(b"\n")
        return line.rstrip(b"\r")

    def chunks(self) -> Iterator[tuple[bytes, bool]]:
        """Yield ``(bytes of whole lines, is_last)``; CRLF line ends become LF."""
        pending = self._pending
        self._pending = b""
        while True:
            data = self._stream.read(self.chunk_size)
            final = not data
            buf = pending + data
            if final:
                body, pending = buf, b""
            else:
                cut = buf.rfind(b"\n") + 1
                if cut == 0:
                    pending = buf
                    continue
                body, pending = buf[:cut], buf[cut:]
            if b"\r" in body:
                body = body.replace(b"\r\n", b"\n")
                if final and body.endswith(b"\r"):
                    body = body[:-1]
            yield self._to_utf8(body), final
            if final:
                return
