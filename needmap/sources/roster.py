"""Staff rosters: who works, how much (FTE), from where, and their e-mail.

Read with :func:`needmap.sources.tables.read_table`, like every other input, so a roster exported
from Excel (a title row, a byte-order mark, cp1252, ``;`` delimiters, an ``.xlsx``) reads the same
way as a records export, and errors name the file, row and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from needmap.config import GSS
from needmap.errors import InputError, where
from needmap.sources.geocode import normalise_postcode
from needmap.sources.tables import ROW, read_table

__all__ = ["ROSTER_COLUMNS", "base_points", "read_roster"]

ROSTER_COLUMNS = ["name", "fte", "base", "email"]
_ALIASES = {
    "name": "name", "worker": "name", "staff": "name",
    "fte": "fte",
    "base": "base", "base_location": "base", "location": "base", "postcode": "base",
    "email": "email", "e_mail": "email", "email_address": "email",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EN = re.compile(r"^\s*(-?[0-9.]+)\s*[, ]\s*(-?[0-9.]+)\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def read_roster(path: str | Path, *, sheet: str | None = None,
                shown_name: str | None = None) -> pd.DataFrame:
    """Read and check a staff roster (CSV or Excel).

    Columns (header case and spacing ignored): ``name`` and ``fte`` (0 < fte <= 1) required;
    ``base`` (a postcode, an area code such as ``E01005320``, or ``"easting,northing"`` in
    EPSG:27700) and ``email`` optional. Row ``i`` of the roster is the worker of zone ``i + 1``.

    Parameters
    ----------
    shown_name : str, optional
        How errors name the file (an upload's own name rather than its temporary copy).

    Returns
    -------
    pandas.DataFrame
        ``name, fte, base, base_kind, email, row``: ``base_kind`` is ``postcode``,
        ``area_code``, ``point`` or None; ``row`` is the line in the file.

    Raises
    ------
    InputError
        Naming the file, row and column of the first problem and how to fix it.
    """
    p = Path(path)
    shown = shown_name or str(p)
    if not p.is_file():
        raise InputError(f"Roster {shown} not found; expected a CSV with columns name, fte.")
    try:
        df = read_table(p, sheet=sheet)
    except InputError as exc:
        raise InputError(str(exc).replace(str(p), shown)) from None
    columns: dict[str, str] = {}
    for c in df.columns:
        if c == ROW:
            continue
        key = _ALIASES.get(_norm(c))
        if key is None:
            raise InputError(
                f"{where(shown, None, c)}: unknown roster column; expected {ROSTER_COLUMNS} "
                "(name and fte required). Rename or remove it."
            )
        if key in columns:
            raise InputError(f"{where(shown, None, c)}: a second '{key}' column; keep one.")
        columns[key] = c
    for need in ("name", "fte"):
        if need not in columns:
            found = [c for c in df.columns if c != ROW]
            raise InputError(f"{shown}: no '{need}' column; found {found}. Add it.")

    records = []
    seen: dict[str, int] = {}
    for _, raw in df.iterrows():
        line = int(raw[ROW])
        rec = {k: ("" if pd.isna(raw[c]) else str(raw[c]).strip()) for k, c in columns.items()}
        if not any(rec.values()):
            continue
        name = rec["name"]
        if not name:
            raise InputError(f"{where(shown, line, columns['name'])}: empty; give the worker's "
                             "name.")
        if name.casefold() in seen:
            raise InputError(
                f"{where(shown, line, columns['name'])}: '{name}' is also on row "
                f"{seen[name.casefold()]}; names must be unique (add an initial)."
            )
        seen[name.casefold()] = line
        try:
            fte = float(rec["fte"])
        except ValueError:
            fte = float("nan")
        if not 0 < fte <= 1:
            raise InputError(
                f"{where(shown, line, columns['fte'])}: '{rec['fte']}' is not an FTE; expected "
                "a number above 0 and at most 1 (0.5 = half time)."
            )
        base, kind = _parse_base(rec.get("base", ""), shown, line, columns.get("base", "base"))
        email = rec.get("email", "") or None
        if email is not None and not _EMAIL.match(email):
            raise InputError(
                f"{where(shown, line, columns['email'])}: '{email}' is not an email address; "
                "fix or leave it blank."
            )
        records.append({"name": name, "fte": fte, "base": base, "base_kind": kind,
                        "email": email, "row": line})
    if not records:
        raise InputError(f"{shown}: no workers listed; add one row per worker under the header.")
    return pd.DataFrame(records, columns=["name", "fte", "base", "base_kind", "email", "row"])


def _parse_base(text: str, path: str, line: int, column: str) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    up = text.upper().strip()
    if GSS.match(up):
        return up, "area_code"
    postcode = normalise_postcode(pd.Series([up])).iloc[0]
    if isinstance(postcode, str):
        return postcode, "postcode"
    m = _EN.match(text)
    if m:
        e, n = float(m.group(1)), float(m.group(2))
        if 0 <= e <= 700_000 and 0 <= n <= 1_300_000 and (e > 1_000 or n > 1_000):
            return f"{e:.0f},{n:.0f}", "point"
        raise InputError(
            f"{where(path, line, column)}: '{text}' is outside Great Britain in EPSG:27700; "
            "give easting,northing in metres (e.g. 393482,404988), not longitude,latitude."
        )
    raise InputError(
        f"{where(path, line, column)}: '{text}' is not a postcode (OL1 1AA), an area code "
        "(E01005320) or easting,northing (393482,404988). Fix it or leave it blank."
    )


def base_points(roster: pd.DataFrame, postcodes: pd.DataFrame | None = None) -> list[Any]:
    """Each worker's base as ``ZoneBuilder(bases=...)`` takes it: None, an area code or a point.

    Parameters
    ----------
    roster : pandas.DataFrame
        From :func:`read_roster`.
    postcodes : pandas.DataFrame, optional
        :func:`needmap.sources.geocode.read_postcodes` output (indexed by normalised postcode,
        with ``easting`` and ``northing``); needed if any base is a postcode.
    """
    out: list[Any] = []
    for r in roster.itertuples(index=False):
        kind = getattr(r, "base_kind", None)
        if kind is None or pd.isna(kind):
            out.append(None)
        elif kind == "area_code":
            out.append(r.base)
        elif kind == "point":
            e, n = r.base.split(",")
            out.append((float(e), float(n)))
        else:
            if postcodes is None or r.base not in postcodes.index:
                hint = ("the config has no [postcodes] table" if postcodes is None
                        else "it is not in the postcode table; check it, or give the base as "
                        "easting,northing")
                raise InputError(
                    f"Roster row {r.row}, column 'base': postcode '{r.base}' of {r.name} cannot "
                    f"be placed: {hint}."
                )
            hit = postcodes.loc[r.base]
            out.append((float(hit["easting"]), float(hit["northing"])))
    return out
