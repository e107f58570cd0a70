"""One area's profile: its figures beside the authority's and England's, its trend, its schools.

Everything returned here is an aggregate with small counts suppressed: it is what a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from needmap.disclosure import format_count, suppress
from needmap.errors import InputError
from needmap.measures import MEASURES
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
    "children": "Children aged 0-15",
    "idaci_score": "IDACI: children in income-deprived families",
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
TREND_COLUMNS = ["quarter", "referrals", "referral_rate", "families_engaged", "reach_rate"]


@dataclass
class AreaProfile:
    """What the detail panel shows for one area."""

    code: str
    name: str
    level: str
    ward_name: str | None
    figures: pd.DataFrame  # measure, area, authority, England (formatted text)
    trend: pd.DataFrame  # quarter x rates (suppressed cells NaN)
    schools: pd.DataFrame  # urn, name, phase


def _fmt(value, key: str, threshold: int) -> str:
    m = MEASURES[key]
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, str):
        return value
    if m.kind == "count":
        return format_count(value, threshold)
    return m.fmt.format(value)


def area_profile(snapshot: Snapshot, level: str, code: str) -> AreaProfile:
    """Build the profile of ``code`` at ``level`` ("lsoa" or "ward") from a snapshot."""
    threshold = int(snapshot.manifest.get("disclosure_threshold", 5))
    areas = snapshot.areas(level)
    key = f"{level}_code"
    if code not in set(areas[key]):
        raise InputError(f"No {level} with code {code!r} in snapshot {snapshot.id}.")
    shown = suppress(areas.drop(columns="geometry"), threshold).set_index(key)
    row = shown.loc[code]
    auth = snapshot.authority.iloc[0]
    england = snapshot.manifest.get("england", {})
    rows = []
    for m in PROFILE_MEASURES:
        if m not in shown.columns:
            continue
        rows.append({
            "measure": SHORT_LABELS[m],
            "area": _fmt(row[m], m, threshold),
            snapshot.manifest["authority_name"]: _fmt(auth.get(m), m, threshold),
            "England": _fmt(england.get(m), m, threshold),
        })
    q = snapshot.quarterly(level)
    q = q[q[key] == code]
    trend = suppress(q[[key, *TREND_COLUMNS]], threshold)
    trend = trend.drop(columns=key).set_index("quarter")
    trend = trend.apply(pd.to_numeric, errors="coerce")  # "c" -> NaN: a gap in the chart
    schools = snapshot.schools
    if len(schools):
        schools = schools[schools[key] == code][["urn", "name", "phase"]].reset_index(drop=True)
    else:
        schools = pd.DataFrame(columns=["urn", "name", "phase"])
    return AreaProfile(
        code=code,
        name=str(row[f"{level}_name"]),
        level=level,
        ward_name=str(row["ward_name"]) if level == "lsoa" and "ward_name" in row else None,
        figures=pd.DataFrame(rows),
        trend=trend,
        schools=pd.DataFrame(schools),
    )
