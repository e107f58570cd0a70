"""Read the protected table set that ``needmap tables --config C --out DIR`` writes.

The format (fixed with the lead, issue 10):

``DIR/tables.csv``
    ``level,area_code,period,measure,value``; ``level`` in lsoa|ward|authority, ``value`` an
    integer or ``c``.
``DIR/areas.csv``
    ``level,area_code,area_name,ward_code,children``; ``ward_code`` filled for LSOAs.
``DIR/periods.csv``
    ``period,kind,start,end``; ``kind`` in quarter|year|configured; every period is a union of
    whole quarters.
``DIR/manifest.json``
    at least ``threshold``, ``method``, ``snapshot_id``.

Cells are keyed as the attacker keys them (``tests/redteam/identities.py``): a period becomes
its span of quarters, so the same quarter or span in two releases is one unknown whatever it is
called. The bounds of a published value come from the published method,
``needmap.disclosure.true_value_range(value, threshold)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tests.redteam.attacker import Cell
from tests.redteam.identities import PUBLISHED_MEASURES, Structure, span_label

LEVELS = ("lsoa", "ward", "authority")
PERIOD_KINDS = ("quarter", "year", "configured")


class ExportFormatError(ValueError):
    """The folder is not a protected table set in the agreed format."""


@dataclass(frozen=True)
class Export:
    """One release's protected tables, read for the attacker."""

    cells: list[Cell]
    structure: Structure
    periods: dict[str, str]  # published label -> span label
    kinds: dict[str, str]  # published label -> quarter | year | configured
    manifest: dict
    ignored_measures: frozenset[str]

    @property
    def threshold(self) -> int:
        return int(self.manifest["threshold"])

    @property
    def configured(self) -> str:
        """Span label of the configured period."""
        (label,) = [k for k, kind in self.kinds.items() if kind == "configured"]
        return self.periods[label]


def _quarter(day: dt.date, *, first: bool, where: str) -> int:
    q = day.year * 4 + (day.month - 1) // 3
    start = dt.date(day.year, 3 * (q % 4) + 1, 1)
    end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
    if day != (start if first else end):
        edge = "first" if first else "last"
        raise ExportFormatError(f"{where}: {day} is not the {edge} day of a quarter")
    return q


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise ExportFormatError(f"{path}: missing")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ExportFormatError(f"{path}: columns {missing} missing; found {list(frame.columns)}")
    return frame


def read_export(folder: Path, *, release: str = "") -> Export:
    """Cells, structure and periods of the protected table set in ``folder``."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ExportFormatError(f"{manifest_path}: missing")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    for k in ("threshold", "method", "snapshot_id"):
        if k not in manifest:
            raise ExportFormatError(f"{manifest_path}: no {k!r}")

    periods, kinds = {}, {}
    pf = _read_csv(folder / "periods.csv", ("period", "kind", "start", "end"))
    for i, row in pf.iterrows():
        where = f"{folder / 'periods.csv'} row {i + 2}"
        if row["kind"] not in PERIOD_KINDS:
            raise ExportFormatError(f"{where}: kind {row['kind']!r} not in {PERIOD_KINDS}")
        first = _quarter(dt.date.fromisoformat(row["start"]), first=True, where=where)
        last = _quarter(dt.date.fromisoformat(row["end"]), first=False, where=where)
        if row["kind"] == "quarter" and first != last:
            raise ExportFormatError(f"{where}: a quarter spanning {first - last + 1} quarters")
        periods[row["period"]] = span_label(first, last)
        kinds[row["period"]] = row["kind"]

    af = _read_csv(folder / "areas.csv", ("level", "area_code", "ward_code"))
    lsoas = af[af["level"] == "lsoa"]
    if (lsoas["ward_code"] == "").any():
        raise ExportFormatError(f"{folder / 'areas.csv'}: an LSOA without ward_code")
    authority = af.loc[af["level"] == "authority", "area_code"].tolist()
    if len(authority) != 1:
        raise ExportFormatError(f"{folder / 'areas.csv'}: {len(authority)} authority rows")
    wards = set(af.loc[af["level"] == "ward", "area_code"])
    stray = set(lsoas["ward_code"]) - wards
    if stray:
        raise ExportFormatError(f"{folder / 'areas.csv'}: LSOAs in unlisted wards {sorted(stray)}")
    structure = Structure(authority[0], dict(zip(lsoas["area_code"], lsoas["ward_code"],
                                                 strict=True)))

    tf = _read_csv(folder / "tables.csv", ("level", "area_code", "period", "measure", "value"))
    bad_level = sorted(set(tf["level"]) - set(LEVELS))
    if bad_level:
        raise ExportFormatError(f"{folder / 'tables.csv'}: unknown levels {bad_level}")
    unknown_period = sorted(set(tf["period"]) - set(periods))
    if unknown_period:
        raise ExportFormatError(f"{folder / 'tables.csv'}: periods {unknown_period[:3]} are "
                                "not in periods.csv")
    known = set(PUBLISHED_MEASURES)
    ignored = frozenset(set(tf["measure"]) - known)
    cells = []
    source = f"{release}:tables" if release else "tables"
    for row in tf[tf["measure"].isin(known)].itertuples(index=False):
        text = row.value.strip()
        if text == "c":
            value: object = "c"
        else:
            try:
                value = int(text)
            except ValueError:
                raise ExportFormatError(
                    f"{folder / 'tables.csv'}: value {text!r} is neither an integer nor c"
                ) from None
        cells.append(Cell((row.level, row.area_code, periods[row.period], row.measure), value,
                          source))
    return Export(cells, structure, periods, kinds, manifest, ignored)


#: ``needmap flags --measure`` -> the count its ``observed`` column holds.
FLAG_MEASURES = {"engagement": "families_engaged", "referrals": "referrals"}


def read_flags(path: Path, *, measure: str, period: str, release: str = "") -> list[Cell]:
    """The ``observed`` counts of a flags CSV as cells of the configured ``period``.

    Whether they are the protected table's values (then they add nothing) or anything else a
    true count can be published as under the method, the attacker reads them with the same
    bounds, so they may only narrow what it knows.
    """
    frame = _read_csv(Path(path), ("area_code", "level", "observed"))
    source = f"{release}:flags-{measure}" if release else f"flags-{measure}"
    cells = []
    for row in frame.itertuples(index=False):
        text = row.observed.strip()
        value: object = "c" if text == "c" else int(float(text))
        cells.append(Cell((row.level, row.area_code, period, FLAG_MEASURES[measure]), value,
                          source))
    return cells


def protected_bounds(threshold: int) -> Callable[[object], tuple[float, float]]:
    """``bounds`` for the attacker from the published method (the lead's
    ``needmap.disclosure.true_value_range``)."""
    from needmap.disclosure import true_value_range

    def bounds(value: object) -> tuple[float, float]:
        return true_value_range(value, threshold)

    return bounds
