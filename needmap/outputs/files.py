"""Writing what needmap publishes: atomic files, and CSVs a spreadsheet cannot run.

Area, zone and worker names come from files; a name such as ``=HYPERLINK("http://x")`` written
raw into a CSV runs as a formula when a spreadsheet opens it. :func:`neutralise` applies OWASP's
rule: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, so it is shown as text. Numbers stay numbers (including negative ones).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from needmap.errors import InputError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def neutralise(value: object) -> object:
    """A cell as written to a CSV: text that a spreadsheet would run as a formula is defused.

    Line breaks and other control characters inside a text cell become spaces, so a name cannot
    break a row either.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _is_number(value):
        value = "'" + value
    return _CONTROL.sub(" ", value)


def neutralised(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell passed through :func:`neutralise` (headers too)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """The CSV text of ``df`` as needmap publishes it (neutralised, no index)."""
    return neutralised(df).to_csv(index=False)


def check_output_path(path: Path) -> Path:
    """An output file path whose folder exists and is writable, or a clear ``InputError``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: folder {folder} does not exist; create it first.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name, e.g. {path / 'out.csv'}.")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{path}: folder {folder} is not writable; choose another --out.")
    return path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it into place."""
    path = check_output_path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a published table as CSV, neutralised and atomically."""
    write_text_atomic(path, csv_text(df))
