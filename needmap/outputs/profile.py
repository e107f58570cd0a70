"""One area's profile: its published figures beside the authority's and England's, its quarters
and its schools. Everything here is read from the protected tables: it is what a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from needmap.errors import InputError
from needmap.outputs import tables
from needmap.outputs.formats import fmt
from needmap.outputs.measures import CHANGE_IN_NEED, MEASURES
from needmap.snapshot import Snapshot

PROFILE_MEASURES = (
    "children",
    "idaci_score",
    "idaci_pctile",
    "imd_score",
    "imd_pctile",
    "referrals",
    "referral_rate",
    "nfa_share",
    "rereferral_share",
    "families_engaged",
    "priority_families_engaged",
    "reach_rate",
)
#: Short names for the detail panel's narrow table (the map legend uses the long ones).
SHORT_LABELS = {
    "children": "Children",
    "idaci_score": "Children in income-deprived families",
    "idaci_pctile": "IDACI percentile (100 = most deprived)",
    "imd_score": "IMD score",
    "imd_pctile": "IMD percentile (100 = most deprived)",
    "referrals": "Referrals",
    "referral_rate": "Referrals per 1,000 children a year",
    "nfa_share": "No further action",
    "rereferral_share": "Re-referrals within a year",
    "families_engaged": "Families engaged",
    "priority_families_engaged": "Priority families engaged",
    "reach_rate": "Families engaged per 1,000 children a year",
}
TREND_MEASURES = {"referral_rate": "Referrals", "reach_rate": "Families engaged"}
TREND_COUNTS = ("referrals", "families_engaged")


@dataclass
class AreaProfile:
    """What the detail panel shows for one area."""

    code: str
    name: str
    level: str
    ward_name: str | None
    figures: pd.DataFrame  # measure, area, authority, England (formatted text)
    trend: pd.DataFrame  # quarter, series, rate (hidden quarters left out: gaps)
    schools: pd.DataFrame  # name, phase, urn
    #: What ``schools`` covers, in words: "in this area", or "in its ward, X" when an LSOA has
    #: no school of its own (most have none), so the panel never shows an empty list.
    schools_where: str = "in this area"
    #: Each quarter's counts as published (``c`` where hidden): ``quarter, referrals,
    #: families_engaged``; what the panel shows instead of a line that would be flat at 0.
    quarters: pd.DataFrame | None = None

    @property
    def trend_drawable(self) -> bool:
        """A trend line says something: some series has two shown quarters, not all zero."""
        t = self.trend
        return bool(len(t)) and any(
            len(g) >= 2 and (g["rate"] > 0).any() for _, g in t.groupby("series"))


def area_profile(snapshot: Snapshot, level: str, code: str, *,
                 period: str | None = None) -> AreaProfile:
    """Build the profile of ``code`` at ``level`` ("lsoa" or "ward") from a snapshot."""
    table = tables.area_table(snapshot, level, period)
    key = f"{level}_code"
    hit = table.data[key].astype(str) == code
    if not hit.any():
        raise InputError(f"No {level} with code {code!r} in snapshot {snapshot.id}.")
    row = table.data[hit].iloc[0]
    hidden = table.hidden[hit.to_numpy()].iloc[0]
    auth = tables.authority_figures(snapshot, period)
    england = snapshot.england
    rows = []
    for m in PROFILE_MEASURES:
        if m not in table.data:
            continue
        kind = MEASURES[m].kind
        rows.append({
            "Measure": SHORT_LABELS[m],
            "This area": fmt(row[m], kind, hidden=bool(hidden.get(m, False))),
            snapshot.authority_name: fmt(auth.get(m), kind),
            "England": fmt(england.get(m), kind),
        })
    wards = snapshot.ward.set_index("ward_code")
    ward_code = row["ward_code"] if level == "lsoa" else row["ward_code"]
    for m in CHANGE_IN_NEED:
        if m in wards.columns and ward_code in wards.index:
            index = CHANGE_IN_NEED[m].label.removeprefix("Change in ").split()[0]
            rows.append({
                "Measure": f"Change in {index} percentile, {snapshot.previous_vintage or 'before'}"
                           f" to {snapshot.vintage}" + (" (its ward)" if level == "lsoa" else "")
                           + ": + = more deprived now",
                "This area": fmt(wards.at[ward_code, m], "change"),
                snapshot.authority_name: "", "England": "",
            })
    ward_name = str(row["ward_name"]) if level == "lsoa" and "ward_name" in row else None
    schools, where = area_schools(snapshot, level, [code]), "in this area"
    if schools.empty and level == "lsoa" and ward_name:
        schools = area_schools(snapshot, "ward", [str(row["ward_code"])])
        where = f"in its ward, {ward_name} (none inside this LSOA)"
    return AreaProfile(
        code=code,
        name=str(row[f"{level}_name"]),
        level=level,
        ward_name=ward_name,
        figures=pd.DataFrame(rows),
        trend=trend(snapshot, level, code),
        schools=schools,
        schools_where=where,
        quarters=quarter_counts(snapshot, level, code),
    )


def trend(snapshot: Snapshot, level: str, code: str) -> pd.DataFrame:
    """Long table of quarterly rates for a chart: ``quarter, series, rate`` (no hidden values)."""
    q = tables.quarterly_table(snapshot, level, code)
    parts = []
    for col, label in TREND_MEASURES.items():
        keep = ~q[f"hidden_{col}"].to_numpy(dtype=bool)
        parts.append(pd.DataFrame({"quarter": q["quarter"][keep], "series": label,
                                   "rate": q[col][keep]}))
    return pd.concat(parts, ignore_index=True)


def quarter_counts(snapshot: Snapshot, level: str, code: str) -> pd.DataFrame:
    """One area's published quarterly counts as text: a number, or ``c`` where hidden."""
    q = tables.quarterly_table(snapshot, level, code)
    out = pd.DataFrame({"quarter": q["quarter"]})
    for col in TREND_COUNTS:
        out[col] = [fmt(v, "count", hidden=bool(h))
                    for v, h in zip(q[col], q[f"hidden_{col}"], strict=True)]
    return out


def area_schools(snapshot: Snapshot, level: str, codes: list[str]) -> pd.DataFrame:
    """Schools inside some areas: ``name, phase, urn, area_code``, by name."""
    schools = snapshot.schools
    cols = ["name", "phase", "urn", "area_code"]
    key = f"{level}_code"
    if schools is None or len(schools) == 0 or key not in schools:
        return pd.DataFrame(columns=cols)
    inside = schools[schools[key].astype(str).isin(set(codes))]
    out = pd.DataFrame(inside.drop(columns=inside.geometry.name)).rename(
        columns={key: "area_code"})
    return out[cols].sort_values("name").reset_index(drop=True)
