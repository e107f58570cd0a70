"""Today's disclosure control as a fixture: what main at 8ec0542 publishes, cell by cell.

The suppression logic below is a frozen copy of ``needmap/disclosure.py`` at that commit (the
DfE rule: counts 1..5 shown as ``c``, shares on them hidden, and one more cell hidden wherever a
single hidden cell could be worked back from a shown total). :func:`published_cells` applies it
the way each output of that commit does, read from ``needmap/views.py``, ``profile.py``,
``measures.py``, ``zonepack.py``, ``radar.py`` (``flags_table``), ``cli.py`` and
``app/pages/*.py``:

``overview`` (Overview map, tooltips, detail panel, ``needmap map``)
    ``suppression_mask`` over the whole LSOA or ward table of the period; every count measure of
    the measure catalogue (referrals, the six sources, families engaged, priority families).
    Shares are shown to whole percent (``nfa_share``, ``rereferral_share``): with the referrals
    shown beside them they narrow ``referrals_nfa`` and ``rereferrals`` to the few counts that
    round to the shown percentage (published here as that interval). Rates repeat their count.
``authority`` (the detail panel's authority column)
    Counts through ``format_count`` (1..5 hidden, nothing else); shares unsuppressed.
``trend`` (the detail panel's quarter-by-quarter chart)
    ``suppress`` over one area's quarters; the chart draws referral and reach rates, whose exact
    values times the published children give the counts.
``change`` (Overview, "Change between two periods")
    Spans may overlap, so ``Before q..q, After q..q+1`` maps the exact count of quarter ``q+1``
    for every area whose period count is shown: every quarter, both counts, both levels.
``flags`` (``needmap flags``, Off the radar page)
    ``observed`` (the period's families engaged or referrals), suppressed over all areas.
``zones`` (``needmap zones --workload caseload`` CSV, and the zone table of the CLI and the
Zones page)
    Per LSOA ``workload = referrals + families_engaged``, hidden only when it is 1..5 (and a
    second in a zone with one alone); per zone the summed workload, referrals and families.

A hidden cell is published as ``"c"`` when the pattern of hidden cells shows it was hidden for
being small (its true value is 1..threshold), and as ``"c*"`` when the pattern allows it to be a
secondary suppression, whose true value is above the threshold: the attacker reads the rule too,
but cannot tell which of the two it was. Known simplification: the flags CSV's rows are ranked
by the radar's ratio, which decides ties of the "next smallest" cell; here they are in area
order (a secondary suppression needs exactly one small area, which does not occur at these
sizes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tests.redteam.attacker import INF, Cell

# -- frozen copy of needmap/disclosure.py (8ec0542) ---------------------------------------

SUPPRESSED = "c"
COUNT_COLUMNS = [
    "referrals", "referrals_school", "referrals_police", "referrals_health", "referrals_la",
    "referrals_self", "referrals_other", "referrals_nfa", "rereferrals", "families_engaged",
    "priority_families_engaged", "families_early_help", "families_childrens_centre",
]
COUNTS = (*COUNT_COLUMNS, "observed")
DERIVED = {
    "referral_rate": ("referrals", None),
    "nfa_share": ("referrals_nfa", "referrals"),
    "rereferral_share": ("rereferrals", "referrals"),
    "reach_rate": ("families_engaged", None),
    "priority_share": ("priority_families_engaged", "families_engaged"),
    "ratio": ("observed", None),
    "ratio_lower": ("observed", None),
    "ratio_upper": ("observed", None),
    "eb_rate": ("observed", None),
}
ROW_GROUPS = (
    ("referrals", ("referrals_school", "referrals_police", "referrals_health", "referrals_la",
                   "referrals_self", "referrals_other")),
    ("families_engaged", ("families_early_help", "families_childrens_centre")),
)


def is_small(values: pd.Series | np.ndarray, threshold: int) -> np.ndarray:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return (v >= 1) & (v <= threshold)


def _secondary(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    hidden = hidden.copy()
    if hidden.sum() == 1:
        candidates = np.flatnonzero(~hidden & (np.nan_to_num(values) > 0))
        if len(candidates):
            hidden[candidates[np.argmin(values[candidates])]] = True
    return hidden


def suppression_mask(df: pd.DataFrame, threshold: int, *, counts: Iterable[str] = COUNTS,
                     across: str | None = None, totals_shown: bool = True) -> pd.DataFrame:
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    if threshold <= 0:
        return mask
    count_cols = [c for c in counts if c in df.columns]
    for c in count_cols:
        mask[c] = is_small(df[c], threshold)
    for total, parts in ROW_GROUPS:
        parts = [p for p in parts if p in df.columns]
        if total not in df.columns or not parts:
            continue
        values = np.nan_to_num(df[parts].to_numpy(dtype=float))
        hidden = mask[parts].to_numpy().copy()
        lone = (hidden.sum(axis=1) == 1) & ~mask[total].to_numpy()
        candidates = np.where(~hidden & (values > 0), values, np.inf)
        pick = np.argmin(candidates, axis=1)
        ok = lone & np.isfinite(candidates[np.arange(len(df)), pick])
        hidden[np.flatnonzero(ok), pick[ok]] = True
        mask[parts] = hidden
    if totals_shown and len(df) > 1:
        groups = [df.index] if across is None else df.groupby(across).groups.values()
        for c in count_cols:
            values = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            for idx in groups:
                pos = df.index.get_indexer(idx)
                col = mask[c].to_numpy().copy()
                col[pos] = _secondary(values[pos], col[pos])
                mask[c] = col
    for derived, (num, den) in DERIVED.items():
        if derived not in df.columns or num not in df.columns:
            continue
        hide = mask[num].to_numpy().copy()
        if den is not None and den in df.columns:
            rest = pd.to_numeric(df[den], errors="coerce") - pd.to_numeric(df[num],
                                                                           errors="coerce")
            hide |= is_small(rest, threshold) | mask[den].to_numpy()
        mask[derived] = hide
    return mask


def format_count(value: float | int | None, threshold: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "no data"
    if 1 <= value <= threshold:
        return SUPPRESSED
    return f"{int(value):,}"


# -- what today's outputs publish ----------------------------------------------------------

#: Count measures of today's measure catalogue (``needmap/measures.py``): the Overview offers
#: each as a map, with a tooltip.
MAPPED_COUNTS = ("referrals", "referrals_school", "referrals_police", "referrals_health",
                 "referrals_la", "referrals_self", "referrals_other", "families_engaged",
                 "priority_families_engaged")
SHARES = {"referrals_nfa": "nfa_share", "rereferrals": "rereferral_share"}
TREND_COUNTS = ("referrals", "families_engaged")
OUTPUTS = ("overview", "authority", "trend", "change", "flags", "zones")


@dataclass(frozen=True)
class Tables:
    """Raw aggregates in the shapes of today's ``Snapshot`` (geometry not needed)."""

    lsoa: pd.DataFrame
    ward: pd.DataFrame
    authority: pd.DataFrame
    lsoa_quarterly: pd.DataFrame
    ward_quarterly: pd.DataFrame
    authority_quarterly: pd.DataFrame

    @classmethod
    def of(cls, snapshot) -> Tables:
        """The shapes of 8ec0542's snapshot, rebuilt from the true counts a snapshot now
        holds as cells (``raw_cells``)."""
        raw = snapshot.raw_cells()
        raw = raw[raw["measure"].astype(str).isin(COUNT_COLUMNS)]
        raw = raw.assign(**{c: raw[c].astype(str) for c in ("level", "area_code", "period",
                                                              "measure")})
        quarters = set(snapshot.quarters())
        attrs = {"lsoa": pd.DataFrame(snapshot.lsoa.drop(columns="geometry")),
                 "ward": pd.DataFrame(snapshot.ward.drop(columns="geometry")),
                 "authority": pd.DataFrame(snapshot.authority)}
        out = {}
        for level, frame in attrs.items():
            code = f"{level}_code"
            cells = raw[raw["level"] == level]
            wide = cells.pivot_table(index=["area_code", "period"], columns="measure",
                                     values="count", aggfunc="sum", fill_value=0)
            wide = wide.reindex(columns=COUNT_COLUMNS, fill_value=0).reset_index()
            wide = wide.rename(columns={"area_code": code})
            children = frame.set_index(code)["children"]
            per_child = wide[code].map(children).astype(float)
            wide["referral_rate"] = wide["referrals"] / per_child * 1000
            wide["reach_rate"] = wide["families_engaged"] / per_child * 1000
            for share, (num, den) in DERIVED.items():
                if den is not None:
                    wide[share] = wide[num] / wide[den].where(wide[den] > 0)
            period = wide[wide["period"] == snapshot.configured_period].drop(columns="period")
            counts = frame.drop(columns=[c for c in COUNT_COLUMNS if c in frame.columns])
            out[level] = counts.merge(period, on=code, how="left").fillna(
                dict.fromkeys(COUNT_COLUMNS, 0))
            quarterly = wide[wide["period"].isin(quarters)].rename(columns={"period": "quarter"})
            out[f"{level}_quarterly"] = quarterly.sort_values([code, "quarter"]).reset_index(
                drop=True)
        return cls(**out)


def legacy_bounds(value: object, threshold: int = 5) -> tuple[float, float]:
    """True values a value published by today's main can come from."""
    if value == "c":
        return 1, threshold
    if value == "c*":
        return 1, INF
    if isinstance(value, tuple):
        return value
    return int(value), int(value)


def share_interval(count: int, base: int, fmt: str = "{:.0%}") -> tuple[int, int]:
    """Counts ``k`` of ``base`` whose share ``k / base`` prints as ``count / base`` does."""
    shown = fmt.format(count / base)
    ks = [k for k in range(base + 1) if fmt.format(k / base) == shown]
    return min(ks), max(ks)


def _may_be_secondary(mask: pd.DataFrame, columns: list[str], groups: list[np.ndarray]
                      ) -> pd.DataFrame:
    """Hidden cells that the visible pattern allows to be secondary suppressions.

    A column group left with exactly two hidden cells may have had one added; a breakdown row
    with two or more hidden parts may have had one added by the within-row rule.
    """
    out = pd.DataFrame(False, index=mask.index, columns=columns)
    for c in columns:
        col = mask[c].to_numpy()
        flag = np.zeros(len(col), dtype=bool)
        for pos in groups:
            if col[pos].sum() == 2:
                flag[pos] = col[pos]
        out[c] = flag
    for _, parts in ROW_GROUPS:
        parts = [p for p in parts if p in mask.columns]
        if not parts:
            continue
        several = mask[parts].to_numpy().sum(axis=1) >= 2
        for p in parts:
            if p in columns:
                out[p] |= several & mask[p].to_numpy()
    return out


def _cells(frame: pd.DataFrame, mask: pd.DataFrame, columns: Iterable[str], key, source: str,
           groups: list[np.ndarray] | None = None) -> list[Cell]:
    """Cells of ``columns`` of ``frame``: the value, or ``c``/``c*`` where masked."""
    columns = [c for c in columns if c in frame.columns]
    groups = groups if groups is not None else [np.arange(len(frame))]
    maybe = _may_be_secondary(mask, columns, groups)
    out = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        for c in columns:
            if mask[c].iat[i]:
                value: object = "c*" if maybe[c].iat[i] else "c"
            else:
                value = int(row[c])
            out.append(Cell(key(row, c), value, source))
    return out


def published_cells(
    tables: Tables,
    *,
    authority: str,
    period: str,
    release: str = "",
    threshold: int = 5,
    zones: Mapping[str, str] | None = None,
    outputs: Iterable[str] = OUTPUTS,
) -> list[Cell]:
    """Every cell today's outputs publish for one snapshot.

    Parameters
    ----------
    tables : Tables
        The snapshot's raw aggregates.
    authority : str
        The authority's GSS code (the authority table has no code column).
    period : str
        Label of the snapshot's period, e.g. ``2022Q4-2025Q2``.
    release : str
        Name of the release, kept in each cell's ``source``.
    zones : mapping, optional
        LSOA -> zone of the published caseload plan (for ``zones``).
    outputs : iterable of str
        Which of :data:`OUTPUTS` to include.
    """
    outputs = set(outputs)
    unknown = outputs - set(OUTPUTS)
    if unknown:
        raise ValueError(f"unknown outputs {sorted(unknown)}; choose from {OUTPUTS}")
    out: list[Cell] = []
    pre = f"{release}:" if release else ""
    quarters = sorted(tables.authority_quarterly["quarter"].astype(str).unique())
    for level in ("lsoa", "ward"):
        table = getattr(tables, level).reset_index(drop=True)
        code = f"{level}_code"
        mask = suppression_mask(table, threshold)

        def key(row, c, level=level, code=code):
            return (level, str(row[code]), period, c)

        if "overview" in outputs:
            out += _cells(table, mask, MAPPED_COUNTS, key, f"{pre}overview-{level}")
            # A hidden share says only that one of three counts is small: no cell.
            for count, share in SHARES.items():
                for i, row in table.iterrows():
                    if not mask[share].iat[i] and row["referrals"] > 0:
                        out.append(Cell(key(row, count),
                                        share_interval(int(row[count]), int(row["referrals"])),
                                        f"{pre}overview-{level}"))
        if "flags" in outputs:
            for measure in TREND_COUNTS:
                flags = pd.DataFrame({code: table[code], "observed": table[measure]})
                fmask = suppression_mask(flags, threshold, counts=("observed",))
                out += _cells(flags, fmask, ["observed"],
                              lambda r, c, m=measure, key=key: key(r, m),
                              f"{pre}flags-{level}-{measure}")
        q = getattr(tables, f"{level}_quarterly")
        q = q.assign(quarter=q["quarter"].astype(str))
        if "trend" in outputs:
            for _, rows in q.groupby(code, sort=True, observed=True):
                rows = rows[[code, "quarter", "referrals", "referral_rate", "families_engaged",
                             "reach_rate"]].reset_index(drop=True)
                tmask = suppression_mask(rows, threshold)
                out += _cells(rows, tmask, TREND_COUNTS,
                              lambda r, c, level=level, code=code: (
                                  level, str(r[code]), r["quarter"], c),
                              f"{pre}trend-{level}")
        if "change" in outputs:
            shown = {m: set(table.loc[~mask[m].to_numpy(), code].astype(str))
                     for m in TREND_COUNTS}
            for r in q.itertuples(index=False):
                area = str(getattr(r, code))
                for m in TREND_COUNTS:
                    if area in shown[m] and r.quarter in quarters:
                        out.append(Cell((level, area, r.quarter, m), int(getattr(r, m)),
                                        f"{pre}change-{level}"))
    if "authority" in outputs:
        auth = tables.authority.iloc[0]
        for m in ("referrals", "families_engaged", "priority_families_engaged"):
            text = format_count(auth[m], threshold)
            value = "c" if text == SUPPRESSED else int(auth[m])
            out.append(Cell(("authority", authority, period, m), value, f"{pre}authority"))
        for count in SHARES:
            if auth["referrals"] > 0:
                out.append(Cell(("authority", authority, period, count),
                                share_interval(int(auth[count]), int(auth["referrals"])),
                                f"{pre}authority"))
    if "zones" in outputs and zones:
        lsoa = tables.lsoa.set_index("lsoa_code")
        plan = pd.DataFrame({"area_code": list(zones), "zone": [zones[a] for a in zones]})
        plan["workload"] = [int(lsoa.at[a, "referrals"] + lsoa.at[a, "families_engaged"])
                            for a in plan["area_code"]]
        zmask = suppression_mask(plan, threshold, counts=("workload",), across="zone")
        groups = [plan.index.get_indexer(ix) for ix in plan.groupby("zone").groups.values()]
        out += _cells(plan, zmask, ["workload"],
                      lambda r, c: ("lsoa", str(r["area_code"]), period, "workload"),
                      f"{pre}zones-csv", groups)
        summary = plan.assign(referrals=[int(lsoa.at[a, "referrals"]) for a in plan["area_code"]],
                              families_engaged=[int(lsoa.at[a, "families_engaged"])
                                                for a in plan["area_code"]])
        summary = summary.groupby("zone", sort=True)[
            ["workload", "referrals", "families_engaged"]].sum().reset_index()
        smask = suppression_mask(summary, threshold, counts=(*COUNTS, "workload"))
        out += _cells(summary, smask, ["workload", "referrals", "families_engaged"],
                      lambda r, c: ("zone", str(r["zone"]), period, c), f"{pre}zones-summary")
    return out
