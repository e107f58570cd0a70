"""Trajectories as people read them: each area's quarters, its trend, forecast and verdict.

LSOAs, wards and the authority read what refresh stored (``Snapshot.trends``, fitted by
``needmap.trends`` on protected quarterly values); a zone is fitted here, on demand, by the same
model on the sums of its areas' protected values (hidden ones at their stand-ins), with the
authority's seasonal pattern. Nothing here reads a true count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.outputs.formats import fmt
from needmap.snapshot import Snapshot
from needmap.trends import (
    FALLING,
    RISING,
    TOO_FEW,
    TREND_MEASURES,
    QuarterlyTrend,
    round_outputs,
    seasonal_offsets,
)

__all__ = [
    "MEASURE_LABELS",
    "Trajectory",
    "area_trajectory",
    "trajectory_rows",
    "trends_table",
    "verdict_words",
    "zone_trajectory",
    "zones_trends",
]

MEASURE_LABELS = {
    "families_engaged": "Families engaged",
    "referrals": "Referrals",
    "priority_families_engaged": "Priority families engaged",
}
RATE_LABEL = "per 1,000 children a year"
HORIZON = 4


def verdict_words(measure: str, verdict: str) -> str:
    """``reach falling``, ``referrals: no clear change``, ..."""
    noun = TREND_MEASURES[measure]
    if verdict in (RISING, FALLING):
        return f"{noun} {verdict}"
    return f"{noun}: {verdict}"


def _change_words(row: pd.Series) -> str:
    """"down 25% a year (95% interval: down 6% to down 48%)" from a summary row."""
    if not np.isfinite(row["rate_ratio"]):
        return ""

    def pct(r: float) -> str:
        return f"{'up' if r >= 1 else 'down'} {abs(r - 1):.0%}"

    return (f"{pct(row['rate_ratio'])} a year (95% interval: {pct(row['rate_ratio_lower'])} "
            f"to {pct(row['rate_ratio_upper'])})")


@dataclass
class Trajectory:
    """One area's (or zone's) quarters, trend lines and verdicts.

    Attributes
    ----------
    quarters : DataFrame
        ``quarter, measure, value, hidden, rate``, plus ``reach_ratio`` (families engaged against
        the radar's expected for the quarter); NaN where the count is hidden.
    lines : DataFrame
        ``measure, quarter, forecast, rate, lower, upper``: the fitted trend (95% confidence
        band) over the published quarters and the forecast (95% prediction band).
    summary : DataFrame
        One row per measure: verdict, yearly rate ratio and interval, quarters used and hidden.
    """

    level: str
    code: str
    name: str
    children: float
    quarters: pd.DataFrame
    lines: pd.DataFrame
    summary: pd.DataFrame

    def verdict(self, measure: str = "families_engaged") -> str:
        row = self.summary[self.summary["measure"] == measure]
        return str(row["verdict"].iloc[0]) if len(row) else TOO_FEW

    def sentences(self) -> list[str]:
        """A plain sentence per measure, e.g. "Reach falling: down 25% a year (...)"."""
        out = []
        for r in self.summary.itertuples(index=False):
            words = verdict_words(r.measure, r.verdict)
            text = words[0].upper() + words[1:]
            change = _change_words(pd.Series(r._asdict()))
            if r.verdict == TOO_FEW:
                text += (f" (more than a third of {r.n_quarters} quarters have a hidden count, "
                         "or fewer than 6 quarters are published)")
            elif change:
                text += (f": {MEASURE_LABELS[r.measure].lower()} {RATE_LABEL} "
                         f"{fmt(r.rate_first, 'rate')} to {fmt(r.rate_last, 'rate')} on the "
                         f"trend line over {r.n_quarters} quarters, {change}")
            out.append(text + ".")
        return out

    def chart_frame(self, measure: str = "families_engaged") -> pd.DataFrame:
        """Long table for a chart: ``quarter, series, rate, lower, upper``.

        Series: "published" (hidden quarters left out), "trend", "forecast".
        """
        q = self.quarters[(self.quarters["measure"] == measure) & ~self.quarters["hidden"]]
        parts = [pd.DataFrame({"quarter": q["quarter"], "series": "published",
                               "rate": q["rate"], "lower": np.nan, "upper": np.nan})]
        lines = self.lines[self.lines["measure"] == measure]
        for is_forecast, name in ((False, "trend"), (True, "forecast")):
            sel = lines[lines["forecast"] == is_forecast]
            parts.append(pd.DataFrame({"quarter": sel["quarter"], "series": name,
                                       "rate": sel["rate"], "lower": sel["lower"],
                                       "upper": sel["upper"]}))
        return pd.concat(parts, ignore_index=True)


def _quarter_cells(snapshot: Snapshot, level: str, codes: list[str]) -> pd.DataFrame:
    quarters = snapshot.quarters()
    t = snapshot.protected
    sel = t[(t["level"] == level) & t["area_code"].astype(str).isin(set(codes))
            & t["period"].astype(str).isin(quarters)
            & t["measure"].astype(str).isin(TREND_MEASURES)]
    return pd.DataFrame({"area_code": sel["area_code"].astype(str).to_numpy(),
                         "quarter": sel["period"].astype(str).to_numpy(),
                         "measure": sel["measure"].astype(str).to_numpy(),
                         "value": sel["value"].to_numpy(dtype=float),
                         "shown": sel["shown"].to_numpy(dtype=bool)})


def _quarters_table(values: pd.DataFrame, hidden: pd.DataFrame, children: float,
                    expected_per_quarter: float) -> pd.DataFrame:
    """From wide (quarter x measure) values and hidden masks to the long published table."""
    rows = []
    for m in TREND_MEASURES:
        if m not in values:
            continue
        v = values[m].to_numpy(dtype=float)
        h = hidden[m].to_numpy(dtype=bool)
        shown_v = np.where(h, np.nan, v)
        rate = 1000 * shown_v / (children * 0.25) if children > 0 else np.full(len(v), np.nan)
        ratio = (shown_v / expected_per_quarter
                 if m == "families_engaged" and expected_per_quarter > 0
                 else np.full(len(v), np.nan))
        rows.append(pd.DataFrame({"quarter": values.index, "measure": m, "value": shown_v,
                                  "hidden": h, "rate": np.round(rate, 1),
                                  "reach_ratio": np.round(ratio, 2)}))
    return pd.concat(rows, ignore_index=True)


def _area_info(snapshot: Snapshot, level: str, code: str) -> tuple[str, float]:
    if level == "authority":
        if code != snapshot.authority_code:
            raise InputError(f"No authority with code {code!r} in snapshot {snapshot.id}.")
        return snapshot.authority_name, float(snapshot.authority["children"].iloc[0])
    if level not in ("lsoa", "ward"):
        raise InputError(f"level must be 'lsoa', 'ward' or 'authority', got {level!r}.")
    areas = snapshot.areas(level)
    hit = areas[areas[f"{level}_code"].astype(str) == code]
    if hit.empty:
        raise InputError(f"No {level} with code {code!r} in snapshot {snapshot.id}.")
    return str(hit[f"{level}_name"].iloc[0]), float(hit["children"].iloc[0])


def area_trajectory(snapshot: Snapshot, level: str, code: str) -> Trajectory:
    """The stored trajectory of one LSOA, ward or the authority."""
    return _trajectories(snapshot, level, [code])[0]


def _trajectories(snapshot: Snapshot, level: str, codes: list[str]) -> list[Trajectory]:
    """Stored trajectories of several areas of one level (the tables are split once)."""
    info = [_area_info(snapshot, level, c) for c in codes]
    summary_all = snapshot.trends(level)
    summaries = dict(tuple(summary_all.groupby(summary_all["area_code"].astype(str))))
    lines_all = snapshot.trend_lines_table
    lines_all = lines_all[lines_all["level"] == level]
    lines_by = dict(tuple(lines_all.groupby(lines_all["area_code"].astype(str))))
    cells_all = _quarter_cells(snapshot, level, codes)
    cells_by = dict(tuple(cells_all.groupby("area_code")))
    quarters = snapshot.quarters()
    empty_lines = pd.DataFrame(columns=["measure", "quarter", "forecast", "rate", "lower",
                                        "upper"])
    out = []
    for code, (name, children) in zip(codes, info, strict=True):
        summary = summaries.get(code, summary_all.iloc[0:0]).reset_index(drop=True)
        cells = cells_by[code]
        values = cells.pivot(index="quarter", columns="measure", values="value")
        hidden = ~cells.pivot(index="quarter", columns="measure", values="shown").astype(bool)
        values, hidden = values.reindex(quarters), hidden.reindex(quarters).fillna(True)
        fam = summary[summary["measure"] == "families_engaged"]
        expected = float(fam["expected_per_quarter"].iloc[0]) if len(fam) else np.nan
        lines = lines_by.get(code)
        lines = (empty_lines if lines is None else
                 lines[list(empty_lines.columns)].reset_index(drop=True))
        out.append(Trajectory(level=level, code=code, name=name, children=children,
                              quarters=_quarters_table(values, hidden, children, expected),
                              lines=lines, summary=summary))
    return out


def _zone_codes(snapshot: Snapshot, labels: pd.DataFrame, zone: int, level: str) -> list[str]:
    zones = pd.to_numeric(labels["zone"]).astype(int)
    if int(zone) not in set(zones):
        raise InputError(f"Zone {zone} is not in the plan; it has zones 1..{zones.max()}.")
    codes = labels.loc[zones == int(zone), "area_code"].astype(str).tolist()
    known = set(snapshot.areas(level)[f"{level}_code"].astype(str))
    if not set(codes) <= known:
        raise InputError(f"The plan's areas are not {level.upper()}s of snapshot {snapshot.id}: "
                         "make a new plan on the Zones page or with needmap zones.")
    return codes


def _seasons(snapshot: Snapshot) -> dict[str, np.ndarray]:
    """The authority's seasonal offsets, as refresh fitted them (same call, same values)."""
    quarters = snapshot.quarters()
    cells = _quarter_cells(snapshot, "authority", [snapshot.authority_code])
    values = cells.pivot(index="quarter", columns="measure", values="value").reindex(quarters)
    kids = float(snapshot.authority["children"].iloc[0])
    return {m: seasonal_offsets(np.nan_to_num(values[m].to_numpy(dtype=float)),
                                np.full(len(quarters), kids * 0.25), quarters)
            if m in values else np.zeros(4) for m in TREND_MEASURES}


def zone_trajectory(snapshot: Snapshot, labels: pd.DataFrame, zone: int, *, level: str,
                    seasons: dict[str, np.ndarray] | None = None) -> Trajectory:
    """A zone's trajectory, fitted now on the sums of its areas' protected quarterly values.

    A quarter's sum counts each hidden area at its stand-in and is itself shown as hidden when
    it is from 1 to the threshold.
    """
    codes = _zone_codes(snapshot, labels, zone, level)
    quarters = snapshot.quarters()
    cells = _quarter_cells(snapshot, level, codes)
    values = cells.pivot_table(index="quarter", columns="measure", values="value",
                               aggfunc="sum").reindex(quarters).fillna(0.0)
    hidden = (values >= 1) & (values <= snapshot.threshold)
    areas = snapshot.areas(level).set_index(f"{level}_code")
    children = float(areas["children"].reindex(codes).sum())
    flags = snapshot.flags(level, "engagement")
    expected = flags.set_index(flags["area_code"].astype(str))["expected"].reindex(codes)
    n_q = max(1, sum(1 for q in quarters if _in_configured(snapshot, q)))
    expected_q = float(expected.sum()) / n_q if expected.notna().any() else np.nan
    seasons = seasons if seasons is not None else _seasons(snapshot)
    summary, lines = [], []
    for m in TREND_MEASURES:
        if m not in values:
            continue
        fit = QuarterlyTrend(horizon=HORIZON).fit(values[m].to_numpy(), children, quarters,
                                                  hidden=hidden[m].to_numpy(),
                                                  season=seasons[m])
        rf = fit.fitted_["rate"]
        summary.append({
            "level": "zone", "area_code": str(zone), "measure": m,
            "n_quarters": fit.n_quarters_, "n_hidden": fit.n_hidden_,
            "rate_first": rf.iloc[0] if len(rf) else np.nan,
            "rate_last": rf.iloc[-1] if len(rf) else np.nan,
            "rate_ratio": fit.rate_ratio_, "rate_ratio_lower": fit.rate_ratio_ci_[0],
            "rate_ratio_upper": fit.rate_ratio_ci_[1], "verdict": fit.verdict_,
            "dispersion": fit.dispersion_,
            "expected_per_quarter": expected_q if m == "families_engaged" else np.nan,
        })
        for frame, is_forecast in ((fit.fitted_, False), (fit.forecast_, True)):
            if len(frame):
                lines.append(frame.assign(measure=m, forecast=is_forecast))
    summary_frame = round_outputs(pd.DataFrame(summary))
    line_frame = (round_outputs(pd.concat(lines, ignore_index=True))[
        ["measure", "quarter", "forecast", "rate", "lower", "upper"]] if lines else
        pd.DataFrame(columns=["measure", "quarter", "forecast", "rate", "lower", "upper"]))
    return Trajectory(level="zone", code=str(zone), name=f"Zone {zone}", children=children,
                      quarters=_quarters_table(values, hidden, children, expected_q),
                      lines=line_frame, summary=summary_frame)


def _in_configured(snapshot: Snapshot, quarter: str) -> bool:
    p = snapshot.periods.set_index(snapshot.periods["period"].astype(str))
    start, end = pd.Timestamp(p.at[quarter, "start"]), pd.Timestamp(p.at[quarter, "end"])
    return (start >= pd.Timestamp(snapshot.period_start)
            and end <= pd.Timestamp(snapshot.period_end))


def zones_trends(snapshot: Snapshot, labels: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """One row per zone: the verdict and yearly change of each measure (for the Zones page)."""
    seasons = _seasons(snapshot)
    rows = []
    for zone in sorted(set(pd.to_numeric(labels["zone"]).astype(int))):
        tr = zone_trajectory(snapshot, labels, zone, level=level, seasons=seasons)
        row = {"zone": zone}
        for r in tr.summary.itertuples(index=False):
            label = MEASURE_LABELS[r.measure]
            row[label] = verdict_words(r.measure, r.verdict)
            row[f"{label}: change a year"] = (r.rate_ratio - 1 if np.isfinite(r.rate_ratio)
                                              else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


#: Columns of ``needmap trends``, in order.
TREND_COLUMNS = ["area_code", "area_name", "level", "measure", "verdict", "quarters",
                 "hidden_quarters", "rate_first", "rate_last", "change_a_year",
                 "change_lower", "change_upper", "latest_quarter", "latest_value",
                 "latest_reach_vs_need", "forecast_quarter", "forecast_rate",
                 "forecast_lower", "forecast_upper"]


def trends_table(snapshot: Snapshot, level: str, *, labels: pd.DataFrame | None = None,
                 plan_level: str | None = None) -> pd.DataFrame:
    """What ``needmap trends`` writes: one row per area (or zone) and measure.

    Rates are per 1,000 children a year; ``change_*`` the yearly change of the trend (-0.25:
    down 25% a year) with its 95% interval; ``latest_value`` the last quarter's published count
    (``c`` if hidden) and ``latest_reach_vs_need`` its families engaged against expected;
    ``forecast_*`` the next quarter's forecast rate with its 95% prediction band.
    """
    if level == "zone":
        if labels is None or plan_level is None:
            raise InputError("Zone trends need a saved zone plan.")
        seasons = _seasons(snapshot)
        trajs = [zone_trajectory(snapshot, labels, z, level=plan_level, seasons=seasons)
                 for z in sorted(set(pd.to_numeric(labels["zone"]).astype(int)))]
    else:
        if level not in ("lsoa", "ward", "authority"):
            raise InputError(f"level must be lsoa, ward, authority or zone, got {level!r}.")
        codes = ([snapshot.authority_code] if level == "authority"
                 else snapshot.areas(level)[f"{level}_code"].astype(str).tolist())
        trajs = _trajectories(snapshot, level, codes)
    rows = []
    for tr in trajs:
        for r in tr.summary.itertuples(index=False):
            q = tr.quarters[tr.quarters["measure"] == r.measure]
            last = q.iloc[-1] if len(q) else None
            fc = tr.lines[(tr.lines["measure"] == r.measure) & tr.lines["forecast"]]
            first_fc = fc.iloc[0] if len(fc) else None
            rows.append({
                "area_code": tr.code, "area_name": tr.name, "level": tr.level,
                "measure": r.measure, "verdict": verdict_words(r.measure, r.verdict),
                "quarters": r.n_quarters, "hidden_quarters": r.n_hidden,
                "rate_first": r.rate_first, "rate_last": r.rate_last,
                "change_a_year": _minus_one(r.rate_ratio),
                "change_lower": _minus_one(r.rate_ratio_lower),
                "change_upper": _minus_one(r.rate_ratio_upper),
                "latest_quarter": None if last is None else last["quarter"],
                "latest_value": (None if last is None else SUPPRESSED if last["hidden"]
                                 else int(last["value"])),
                "latest_reach_vs_need": None if last is None else last["reach_ratio"],
                "forecast_quarter": None if first_fc is None else first_fc["quarter"],
                "forecast_rate": None if first_fc is None else first_fc["rate"],
                "forecast_lower": None if first_fc is None else first_fc["lower"],
                "forecast_upper": None if first_fc is None else first_fc["upper"],
            })
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def _minus_one(x: float) -> float:
    return round(float(x) - 1, 3) if np.isfinite(x) else np.nan


def trajectory_rows(snapshot: Snapshot, level: str, code: str) -> pd.DataFrame:
    """One area's quarters and forecast in one table: published value (``c`` if hidden), rate,
    trend and band (``needmap trends --area CODE``)."""
    tr = area_trajectory(snapshot, level, code)
    q = tr.quarters.assign(forecast=False)
    q["value"] = [SUPPRESSED if h else (None if np.isnan(v) else int(v))
                  for v, h in zip(q["value"], q["hidden"], strict=True)]
    out = q.merge(tr.lines.rename(columns={"rate": "trend", "lower": "trend_lower",
                                           "upper": "trend_upper"}),
                  on=["measure", "quarter", "forecast"], how="outer")
    out.insert(0, "area_code", code)
    out.insert(1, "area_name", tr.name)
    out = out.drop(columns=["hidden"])
    order = {m: i for i, m in enumerate(TREND_MEASURES)}
    out = out.sort_values(["measure", "quarter"], key=lambda s: s.map(order)
                          if s.name == "measure" else s)
    return out.reset_index(drop=True)
