"""Typed errors: a user mistake becomes one ``Error: ...`` line, never a traceback."""

from __future__ import annotations


class NeedmapError(Exception):
    """Base class for every error needmap raises on purpose.

    The message is written for the person running needmap: what was expected, what was found, and
    how to fix it. The CLI prints it after ``Error: `` and exits non-zero; pages show it.
    """


class ConfigError(NeedmapError):
    """The TOML configuration is missing, malformed or names something that does not exist."""


class InputError(NeedmapError):
    """An input file (boundaries, deprivation, lookup, records) cannot be used as it is."""


class SnapshotError(NeedmapError):
    """No usable snapshot, or a snapshot that may not replace the current one."""


def where(path: object, row: int | None = None, column: str | None = None) -> str:
    """Name a place in a file the way error messages do: ``file.csv, row 12, column 'date'``.

    ``row`` is the 1-based line number a person sees in a spreadsheet or text editor (header = 1).
    """
    parts = [str(path)]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return ", ".join(parts)


class NeedmapWarning(UserWarning):
    """Recovered soundly, but the user should know (the CLI prints ``Warning: ...``)."""
