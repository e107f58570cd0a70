"""Published tables: every figure people read, assembled from the protected tables only.

A snapshot's ``protected`` table holds one published value per cell (area x period x measure);
this module joins those values to the public area attributes (names, children, need) and derives
rates and shares from them. It never reads a true count (``Snapshot.raw_cells``). A hidden cell
(``c``) is NaN in the numbers and True in the ``hidden`` mask; anything derived from it is hidden
too. Sums over areas (zones, workloads) use :func:`protected_values`, where a hidden cell counts
with its stand-in (see ``needmap.disclosure``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.indicators import COUNT_COLUMNS, period_years
from needmap.snapshot import Snapshot

#: Derived figure -> (numerator count, denominator count or None for "per 1,000 children a year").
DERIVED = {
    "referral_rate": ("referrals", None),
    "reach_rate": ("families_engaged", None),
    "priority_reach_rate": ("priority_families_engaged", None),
    "nfa_share": ("referrals_nfa", "referrals"),
    "rereferral_share": ("rereferrals", "referrals"),
    "priority_share": ("priority_families_engaged", "families_engaged"),
}
PERIOD_KINDS = ("quarter", "year", "configured")


@dataclass
class AreaTable:
    """One period's published figures for every area of a level.

    Attributes
    ----------
    data : GeoDataFrame
        One row per area: code, name (and ward for LSOAs), children, need, every count (NaN where
        hidden) and every derived figure (NaN where hidden or without a denominator).
    hidden : DataFrame
        Same index; True where a count or derived figure is published as ``c``.
    level, period : str
        The geography and the published period.
    """

    data: gpd.GeoDataFrame
    hidden: pd.DataFrame
    level: str
    period: str

    def shown(self) -> pd.DataFrame:
        """``data`` without geometry, hidden cells written as ``c`` (for tables and CSVs)."""
        out = pd.DataFrame(self.data.drop(columns=self.data.geometry.name, errors="ignore"))
        for col in self.hidden.columns:
            if self.hidden[col].any():
                out[col] = out[col].astype(object)
                out.loc[self.hidden[col].to_numpy(), col] = SUPPRESSED
        return out


def check_period(snapshot: Snapshot, period: str | None) -> str:
    """The period id (default: the configured one); an unpublished period is an error."""
    period = period or snapshot.configured_period
    known = snapshot.periods["period"].astype(str)
    if period not in set(known):
        raise InputError(
            f"Period {period!r} is not published in snapshot {snapshot.id}. Published periods: "
            f"{', '.join(known)}."
        )
    return period


def period_row(snapshot: Snapshot, period: str) -> pd.Series:
    p = snapshot.periods
    return p[p["period"].astype(str) == period].iloc[0]


def _years(snapshot: Snapshot, period: str) -> float:
    row = period_row(snapshot, period)
    return period_years(pd.Timestamp(row["start"]).date(), pd.Timestamp(row["end"]).date())


def protected_values(snapshot: Snapshot, level: str, period: str | None = None) -> pd.DataFrame:
    """Protected values with stand-ins for hidden cells, one column per count: for sums only.

    A sum of these (a zone, a workload) is a function of published data and of stand-ins that say
    nothing about the hidden counts, so it may be published; a single hidden value may not.
    """
    period = check_period(snapshot, period)
    cells = snapshot.cells(level, period)
    out = cells.pivot(index="area_code", columns="measure", values="value")
    return out.reindex(columns=[c for c in COUNT_COLUMNS if c in out.columns]).astype(float)


def area_table(snapshot: Snapshot, level: str, period: str | None = None) -> AreaTable:
    """The published figures of every area of ``level`` for one published period.

    Rates are per 1,000 children a year (annualised over the period's length).
    """
    if level not in ("lsoa", "ward"):
        raise InputError(f"level must be 'lsoa' or 'ward', got {level!r}.")
    period = check_period(snapshot, period)
    areas = snapshot.areas(level)
    code = f"{level}_code"
    cells = snapshot.cells(level, period)
    value = cells.pivot(index="area_code", columns="measure", values="value")
    shown = cells.pivot(index="area_code", columns="measure", values="shown")
    measures = [c for c in COUNT_COLUMNS if c in value.columns]
    value = value.reindex(index=areas[code].astype(str), columns=measures)
    shown = shown.reindex(index=areas[code].astype(str), columns=measures).fillna(False)
    data = areas.reset_index(drop=True).copy()
    hidden = pd.DataFrame(index=data.index)
    for m in measures:
        v = value[m].to_numpy(dtype=float)
        h = ~shown[m].to_numpy(dtype=bool)
        data[m] = np.where(h, np.nan, v)
        hidden[m] = h
    _derive(data, hidden, _years(snapshot, period))
    return AreaTable(data=data, hidden=hidden, level=level, period=period)


def authority_figures(snapshot: Snapshot, period: str | None = None) -> pd.Series:
    """The authority's published figures for one period: need, children, counts and rates."""
    period = check_period(snapshot, period)
    cells = snapshot.cells("authority", period).set_index("measure")
    row = snapshot.authority.iloc[0].copy()
    data = pd.DataFrame([row])
    hidden = pd.DataFrame(index=data.index)
    for m in COUNT_COLUMNS:
        if m in cells.index:
            h = not bool(cells.at[m, "shown"])
            data[m] = np.nan if h else float(cells.at[m, "value"])
            hidden[m] = [h]
    _derive(data, hidden, _years(snapshot, period))
    return data.iloc[0]


def _derive(data: pd.DataFrame, hidden: pd.DataFrame, years: float) -> None:
    children = pd.to_numeric(data["children"], errors="coerce")
    for name, (num, den) in DERIVED.items():
        if num not in data:
            continue
        h = hidden[num].to_numpy(dtype=bool).copy()
        if den is None:
            value = 1000 * data[num] / (children.where(children > 0) * years)
        else:
            h |= hidden[den].to_numpy(dtype=bool)
            value = data[num] / data[den].where(data[den] > 0)
        data[name] = np.where(h, np.nan, value)
        hidden[name] = h


def quarterly_table(snapshot: Snapshot, level: str, code: str) -> pd.DataFrame:
    """One area's published quarters: counts and rates (NaN where hidden), plus ``hidden_*``.

    ``level`` may be "lsoa", "ward" or "authority".
    """
    t = snapshot.protected
    quarters = snapshot.quarters()
    sel = t[(t["level"] == level) & (t["area_code"].astype(str) == code)
            & t["period"].astype(str).isin(quarters)]
    if sel.empty:
        raise InputError(f"No {level} with code {code!r} in snapshot {snapshot.id}.")
    value = sel.pivot(index="period", columns="measure", values="value")
    shown = sel.pivot(index="period", columns="measure", values="shown")
    value.index, shown.index = value.index.astype(str), shown.index.astype(str)
    value.columns, shown.columns = value.columns.astype(str), shown.columns.astype(str)
    value, shown = value.reindex(quarters), shown.reindex(quarters).fillna(False)
    if level == "authority":
        children = float(snapshot.authority["children"].iloc[0])
    else:
        areas = snapshot.areas(level)
        children = float(areas.loc[areas[f"{level}_code"].astype(str) == code,
                                   "children"].iloc[0])
    masks = {m: ~shown[m].to_numpy(dtype=bool) for m in value.columns}
    data = pd.DataFrame({"quarter": quarters, "children": children,
                         **{m: np.where(h, np.nan, value[m].to_numpy(dtype=float))
                            for m, h in masks.items()}})  # fmt: skip
    hidden = pd.DataFrame(masks, index=data.index)
    _derive(data, hidden, 0.25)
    flags = pd.DataFrame({f"hidden_{col}": hidden[col].to_numpy() for col in hidden.columns},
                         index=data.index)
    return pd.concat([data, flags], axis=1)


CHANGE_MEASURES = ("referral_rate", "reach_rate", "referrals", "families_engaged")


def comparable_periods(snapshot: Snapshot, kind: str) -> list[str]:
    """The published periods of one kind ("quarter" or "year") that a change can compare."""
    if kind not in ("quarter", "year"):
        raise InputError(f"A change compares quarters or years, not {kind!r}.")
    p = snapshot.periods
    return p.loc[p["kind"] == kind, "period"].astype(str).tolist()


def change_table(snapshot: Snapshot, level: str, measure: str, before: str,
                 after: str) -> AreaTable:
    """Change of a published figure between two published periods of the same kind.

    Only whole published periods are compared (two quarters, or two financial years), never
    spans a user draws: two overlapping spans would publish their difference exactly.
    """
    if measure not in CHANGE_MEASURES:
        raise InputError(
            f"Change is available for {', '.join(CHANGE_MEASURES)}, not {measure!r}."
        )
    before, after = check_period(snapshot, before), check_period(snapshot, after)
    kinds = {str(period_row(snapshot, p)["kind"]) for p in (before, after)}
    if before == after or len(kinds) != 1 or kinds & {"configured"}:
        raise InputError(
            f"Compare two different published quarters, or two different financial years; "
            f"got {before} and {after}."
        )
    a, b = area_table(snapshot, level, before), area_table(snapshot, level, after)
    data = b.data[[c for c in b.data.columns if c not in COUNT_COLUMNS and c not in DERIVED]]
    data = data.copy()
    data["before"] = a.data[measure].to_numpy()
    data["after"] = b.data[measure].to_numpy()
    data["change"] = data["after"] - data["before"]
    hidden = pd.DataFrame({"before": a.hidden[measure], "after": b.hidden[measure]})
    hidden["change"] = hidden["before"] | hidden["after"]
    return AreaTable(data=data, hidden=hidden, level=level, period=f"{before} to {after}")


# -- the protected export --------------------------------------------------------------------------


def protected_export(snapshot: Snapshot) -> dict[str, pd.DataFrame | dict]:
    """The whole protected table set as published files: tables, areas, periods, manifest.

    ``tables``: ``level, area_code, period, measure, value`` with ``c`` for hidden cells (never a
    stand-in); ``areas``: ``level, area_code, area_name, ward_code, children``; ``periods``:
    ``period, kind, start, end``.
    """
    t = snapshot.protected
    value = np.where(t["shown"].to_numpy(dtype=bool),
                     t["value"].astype(np.int64).astype(str), SUPPRESSED)
    tables = pd.DataFrame({
        "level": t["level"].astype(str), "area_code": t["area_code"].astype(str),
        "period": t["period"].astype(str), "measure": t["measure"].astype(str), "value": value,
    })
    parts = []
    for level in ("lsoa", "ward"):
        a = snapshot.areas(level)
        parts.append(pd.DataFrame({
            "level": level, "area_code": a[f"{level}_code"].astype(str),
            "area_name": a[f"{level}_name"].astype(str),
            "ward_code": a["ward_code"].astype(str) if level == "lsoa" else "",
            "children": a["children"].to_numpy(),
        }))
    auth = snapshot.authority.iloc[0]
    parts.append(pd.DataFrame({"level": ["authority"], "area_code": [snapshot.authority_code],
                               "area_name": [snapshot.authority_name], "ward_code": [""],
                               "children": [auth["children"]]}))
    periods = snapshot.periods.assign(
        start=lambda d: pd.to_datetime(d["start"]).dt.date.astype(str),
        end=lambda d: pd.to_datetime(d["end"]).dt.date.astype(str),
    )
    manifest = {
        "snapshot_id": snapshot.id,
        "authority_code": snapshot.authority_code,
        "authority_name": snapshot.authority_name,
        "threshold": snapshot.threshold,
        "method": snapshot.disclosure_method,
        "noise": snapshot.manifest["disclosure"].get("noise"),
        "deprivation_vintage": snapshot.vintage,
        "children": snapshot.children_label,
        "synthetic_records": snapshot.synthetic,
    }
    return {"tables": tables, "areas": pd.concat(parts, ignore_index=True),
            "periods": periods[["period", "kind", "start", "end"]], "manifest": manifest}


def write_protected_export(snapshot: Snapshot, folder: Path) -> list[Path]:
    """Write :func:`protected_export` as CSVs and a JSON manifest into ``folder``."""
    from needmap.outputs.files import write_csv, write_text_atomic

    export = protected_export(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("tables", "areas", "periods"):
        path = folder / f"{name}.csv"
        write_csv(export[name], path)
        written.append(path)
    path = folder / "manifest.json"
    write_text_atomic(path, json.dumps(export["manifest"], indent=2))
    written.append(path)
    return written


#: The columns of the flags CSV and the Off the radar table, in order.
FLAG_COLUMNS = ["area_code", "area_name", "level", "kind", "need_pctile", "children", "expected",
                "observed", "ratio", "lower_limit", "upper_limit", "flag", "certainty", "reason"]


def flags_table(snapshot: Snapshot, level: str, kind: str = "engagement") -> pd.DataFrame:
    """The published flags of one level and kind, strongest first; hidden counts as ``c``.

    What ``needmap flags`` writes and the Off the radar page shows (same call, same columns).
    """
    if kind not in ("engagement", "referrals"):
        raise InputError(f"kind must be 'engagement' or 'referrals', got {kind!r}.")
    flags = snapshot.flags(level, kind)
    out = flags[[c for c in FLAG_COLUMNS if c in flags.columns]].copy()
    for col in ("need_pctile", "children"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col]).round(0).astype("Int64")
    hidden = out["observed"].isna() & out["expected"].notna()
    for col in ("observed", "ratio"):
        out[col] = out[col].astype(object).where(~hidden, SUPPRESSED)
    out["observed"] = out["observed"].map(lambda v: v if isinstance(v, str) or pd.isna(v)
                                          else int(v))
    return out.reset_index(drop=True)
