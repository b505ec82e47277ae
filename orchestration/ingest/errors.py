"""Errors of the CSV loader: each carries one sentence that tells the user what to fix."""

from __future__ import annotations

from orchestration.errors import UserFacingError, describe_connection_error


class LoadError(UserFacingError):
    """Base class: a file or a run could not be loaded; ``str(err)`` is one clear sentence."""


class SpecError(LoadError):
    """A source spec (YAML) is malformed; the message names the spec file and the fix."""


class RefusedFileError(LoadError):
    """A file was refused whole (e.g. its header lacks a required column); nothing was loaded."""


class FileFailedError(LoadError):
    """Loading a file failed unexpectedly; its transaction was rolled back."""


class DatabaseUnavailableError(LoadError):
    """The warehouse database cannot be reached or refused our credentials."""


def database_unavailable(exc: BaseException, dsn: str) -> DatabaseUnavailableError:
    """Wrap a psycopg.OperationalError into one sentence naming the server and the fix."""
    return DatabaseUnavailableError(str(describe_connection_error(exc, dsn)))
