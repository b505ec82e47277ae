"""Which landing files belong to which spec: by glob, each file to exactly one spec."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

from orchestration.ingest.errors import SpecError
from orchestration.ingest.spec import SourceSpec


def relative_path(path: Path, landing_dir: Path) -> str:
    """The path as stored in the registry: relative to the landing dir, with '/'."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(landing_dir).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def files_for(spec: SourceSpec, landing_dir: Path) -> list[Path]:
    """Files matching the spec's globs and none of its excludes, sorted."""
    landing_dir = Path(landing_dir)
    found: set[Path] = set()
    for pattern in spec.files:
        for path in landing_dir.glob(pattern):
            rel = relative_path(path, landing_dir)
            if path.is_file() and not any(fnmatch(rel, ex) for ex in spec.exclude):
                found.add(path)
    return sorted(found)


def discover(landing_dir: Path, specs: Iterable[SourceSpec]) -> list[tuple[Path, SourceSpec]]:
    """Every file in the landing dir with its spec, ordered by spec name then path.

    Raises :class:`SpecError` when two specs claim the same file.
    """
    owner: dict[Path, SourceSpec] = {}
    for spec in sorted(specs, key=lambda s: s.name):
        for path in files_for(spec, landing_dir):
            if path in owner:
                other = owner[path]
                raise SpecError(
                    f"{relative_path(path, landing_dir)} matches both {other.spec_file} and {spec.spec_file}; "
                    "narrow one spec's 'files' or add the file to its 'exclude'."
                )
            owner[path] = spec
    return sorted(((p, s) for p, s in owner.items()), key=lambda item: (item[1].name, relative_path(item[0], landing_dir)))


def spec_for_file(path: Path, landing_dir: Path, specs: Iterable[SourceSpec]) -> SourceSpec | None:
    """The one spec whose globs claim ``path`` (None when no spec does)."""
    rel = relative_path(path, landing_dir)
    matches = [
        s for s in specs
        if any(fnmatch(rel, p) for p in s.files) and not any(fnmatch(rel, ex) for ex in s.exclude)
    ]
    if len(matches) > 1:
        names = " and ".join(m.spec_file for m in matches)
        raise SpecError(f"{rel} matches both {names}; narrow one spec's 'files' or add the file to its 'exclude'.")
    return matches[0] if matches else None
