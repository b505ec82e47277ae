"""Spec-driven bulk CSV loader: landing files → raw.<target> (+ raw.<target>_rejected).

Public API: :func:`load_file`, :func:`load_landing`, :class:`LoadResult`, :func:`load_specs`,
:func:`load_spec`, the :class:`LoadError` family.  CLI: ``python -m orchestration.ingest``.
"""

from orchestration.ingest.errors import (
    DatabaseUnavailableError,
    FileFailedError,
    LoadError,
    RefusedFileError,
    SpecError,
)
from orchestration.ingest.loader import LoadResult, load_file, load_landing
from orchestration.ingest.spec import Column, RowRule, SourceSpec, load_spec, load_specs

__all__ = [
    "Column",
    "DatabaseUnavailableError",
    "FileFailedError",
    "LoadError",
    "LoadResult",
    "RefusedFileError",
    "RowRule",
    "SourceSpec",
    "SpecError",
    "load_file",
    "load_landing",
    "load_spec",
    "load_specs",
]
