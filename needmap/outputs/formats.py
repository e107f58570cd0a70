"""One number format per kind of figure, used by every page, table, pack and CSV label.

Counts with thousands separators (``10,410``), rates to one decimal (``88.4``), shares as whole
percentages (``84%``, ``+2%`` for a difference), percentiles as whole numbers, ratios to two
decimals; a hidden figure is ``c`` and a missing one ``–`` (an en dash: a lone hyphen is a
list bullet to Markdown, which Streamlit's static tables render). :func:`readable` turns a table
into what a page shows: every figure in its format and every column under a plain heading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError

MISSING = "–"
KINDS = ("count", "rate", "share", "signed_share", "percentile", "score", "ratio", "change",
         "number", "identifier", "index", "text")


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def fmt(value: object, kind: str, *, hidden: bool = False) -> str:
    """A figure as people read it (``kind`` is one of :data:`KINDS`)."""
    if hidden or value == SUPPRESSED:
        return SUPPRESSED
    if isinstance(value, str):
        return value
    if _missing(value):
        return MISSING
    x = float(value)  # type: ignore[arg-type]
    if kind == "count":
        return f"{x:,.0f}"
    if kind == "rate":
        return f"{x:,.1f}"
    if kind == "share":
        return f"{x:.0%}"
    if kind == "signed_share":
        return f"{x:+.0%}"
    if kind == "identifier":
        return f"{x:.0f}"
    if kind == "percentile":
        return f"{x:,.0f}"
    if kind == "ratio":
        return f"{x:.2f}"
    if kind == "change":
        return f"{x:+,.1f}"
    if kind == "score":
        return f"{x:,.1f}"
    if kind == "index":
        return f"{x:+.3f}"
    return f"{x:,.1f}"


#: Column -> kind of figure, for the columns of every table a page or pack shows.
COLUMN_KINDS: dict[str, str] = {
    "children": "count", "referrals": "count", "families_engaged": "count",
    "priority_families_engaged": "count", "observed": "count", "workload": "count",
    "target": "count", "n_areas": "count", "off_radar": "count", "watch": "count",
    "n_zones": "count", "n_lsoas": "count", "n_wards": "count", "rows": "count",
    "referral_rate": "rate", "reach_rate": "rate", "expected": "number", "fte": "number",
    "vs_target": "signed_share", "nfa_share": "share", "rereferral_share": "share",
    "priority_share": "share", "idaci_pctile": "percentile", "imd_pctile": "percentile",
    "need_pctile": "percentile", "ratio": "ratio", "lower_limit": "ratio",
    "upper_limit": "ratio", "urn": "identifier", "plan_id": "identifier",
    "restored_from": "identifier", "zone": "identifier", "map": "identifier",
}
#: Column -> heading, for every column a page or pack shows (one wording everywhere).
HEADINGS: dict[str, str] = {
    "zone": "Zone", "worker": "Worker", "fte": "FTE", "n_areas": "Areas",
    "workload": "Workload", "target": "Target", "vs_target": "Against target",
    "children": "Children", "referrals": "Referrals", "families_engaged": "Families engaged",
    "reach_rate": "Families engaged per 1,000 children a year", "off_radar": "Off the radar",
    "watch": "To watch", "area_code": "Code", "area_name": "Area", "ward_name": "Ward",
    "idaci_pctile": "Need: IDACI percentile", "need_pctile": "Need: percentile in England",
    "need_band_label": "Need in the authority",
    "referral_rate": "Referrals per 1,000 children a year", "flag": "Flag", "reason": "Why",
    "certainty": "How sure", "urn": "URN", "name": "School", "phase": "Phase",
    "expected": "Expected", "observed": "Observed", "ratio": "Observed / expected",
    "plan_id": "Plan", "created_at": "Saved (UTC)", "author": "By", "note": "Note",
    "n_zones": "Zones", "restored_from": "Restored from plan", "level": "Geography",
    "measure": "Workload", "snapshot_id": "Snapshot",
}


def readable(df: pd.DataFrame, *, headings: Mapping[str, str] | None = None,
             kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` as a page shows it: figures as text in their format, columns under plain headings.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns named as needmap names them (``area_code``, ``referral_rate``...).
    headings, kinds : mapping, optional
        Headings and kinds for columns beyond :data:`HEADINGS` and :data:`COLUMN_KINDS` (or to
        override them). A column with neither keeps its text as it is.

    Raises
    ------
    InputError
        If a column has no heading: a raw column name never reaches a reader.
    """
    names = {**HEADINGS, **(headings or {})}
    kind_of = {**COLUMN_KINDS, **(kinds or {})}
    missing = [c for c in df.columns if c not in names]
    if missing:
        raise InputError(f"No heading for column(s) {missing}; add them to "
                         "needmap.outputs.formats.HEADINGS or pass headings=.")
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        kind = kind_of.get(c, "text")
        if kind == "text":
            out[names[c]] = ["" if _missing(v) else str(v) for v in df[c]]
        else:
            out[names[c]] = [fmt(v, kind) for v in df[c]]
    return out.reset_index(drop=True)


def numeric_headings(df: pd.DataFrame, *, headings: Mapping[str, str] | None = None,
                     kinds: Mapping[str, str] | None = None) -> list[str]:
    """The headings of ``df``'s figure columns (to right-align them)."""
    names = {**HEADINGS, **(headings or {})}
    kind_of = {**COLUMN_KINDS, **(kinds or {})}
    return [names[c] for c in df.columns if kind_of.get(c, "text") != "text" and c in names]


#: Manifest input roles as people read them (the Data page's list of files).
INPUT_ROLES = {
    "boundaries.ward": "Ward boundaries", "boundaries.lsoa": "LSOA boundaries",
    "deprivation": "Deprivation (Indices of Deprivation)", "lookup": "LSOA-to-ward lookup",
    "postcodes": "Postcodes", "schools": "Schools", "records.referrals": "Referral records",
    "records.engagement": "Engagement records",
    "deprivation_previous": "Earlier deprivation (for the change in need)",
    "deprivation_previous.lookup": "Earlier LSOAs to today's",
}


def plain_role(role: str) -> str:
    """An input's role in words: ``records.referrals`` -> "Referral records"."""
    return INPUT_ROLES.get(role) or role.replace("_", " ").replace(".", ": ").capitalize()


#: Python format strings for map legends and tooltips, by kind.
FORMAT_STRINGS = {
    "count": "{:,.0f}",
    "rate": "{:,.1f}",
    "share": "{:.0%}",
    "percentile": "{:,.0f}",
    "score": "{:,.1f}",
    "ratio": "{:.2f}",
    "change": "{:+,.1f}",
    "number": "{:,.1f}",
    "signed_share": "{:+.0%}",
    "identifier": "{:.0f}",
    "index": "{:+.3f}",
}
