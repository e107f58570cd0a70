"""Zones as people read them: per-zone and per-area tables, the plan export, the zone map.

A plan is given as ``labels``: ``area_code, area_name, zone, workload`` (from
:func:`needmap.workload.plan_zones` or a saved :class:`needmap.plans.Plan`) with its ``level``;
``staff`` is ``zone, name, fte``. Every count here is a protected value: a zone's referrals or
families are sums of its areas' protected values (hidden ones with their stand-ins), shown as
``c`` if the sum itself is from 1 to the threshold; an area's figures come from the published
table. Nothing here reads a true count.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.outputs import tables
from needmap.outputs.attribution import map_attribution
from needmap.outputs.maps.builders import categorical
from needmap.outputs.profile import area_schools
from needmap.snapshot import Snapshot
from needmap.workload import WORKLOAD_MEASURES, workload

__all__ = [
    "COLUMN_LABELS",
    "FLAGGED",
    "ZONE_COLOURS",
    "plan_level",
    "plan_table",
    "zone_areas",
    "zone_flags",
    "zone_map",
    "zone_schools",
    "zone_summary",
]

#: Flags that put an area on a worker's list.
FLAGGED = ("off the radar", "watch")
#: Distinct colours for zones 1..10 (Tableau 10), repeated beyond.
ZONE_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2",
                "#ff9da7", "#9c755f", "#bab0ac")
#: Column -> heading, for every table this module returns.
COLUMN_LABELS = {
    "zone": "Zone", "worker": "Worker", "fte": "FTE", "n_areas": "Areas",
    "workload": "Workload", "target": "Target", "vs_target": "Against target",
    "children": "Children", "referrals": "Referrals", "families_engaged": "Families engaged",
    "reach_rate": "Families engaged per 1,000 children a year", "off_radar": "Off the radar",
    "watch": "To watch",
    "area_code": "Code", "area_name": "Area", "ward_name": "Ward",
    "idaci_pctile": "Need: IDACI percentile",
    "referral_rate": "Referrals per 1,000 children a year",
    "flag": "Flag", "reason": "Why", "certainty": "How sure", "urn": "URN", "name": "School",
    "phase": "Phase",
}


def _check_level(snapshot: Snapshot, labels: pd.DataFrame, level: str) -> None:
    if level not in ("lsoa", "ward"):
        raise InputError(f"level must be 'lsoa' or 'ward', got {level!r}.")
    known = set(snapshot.areas(level)[f"{level}_code"].astype(str))
    missing = sorted(set(labels["area_code"].astype(str)) - known)
    if missing:
        raise InputError(
            f"The plan's areas are not {level.upper()}s of snapshot {snapshot.id} "
            f"({len(missing)} not found, e.g. {missing[:3]}). The plan was made from other "
            "boundaries: make a new plan on the Zones page or with needmap zones."
        )


def plan_level(snapshot: Snapshot, plan) -> str:
    """The level a saved plan zones: recorded with it, or (older plans) read off its areas."""
    if getattr(plan, "level", None):
        return str(plan.level)
    codes = set(plan.areas["area_code"].astype(str))
    for level in ("lsoa", "ward"):
        if codes <= set(snapshot.areas(level)[f"{level}_code"].astype(str)):
            return level
    raise InputError(
        f"Plan {plan.plan_id} was made from other boundaries than snapshot {snapshot.id}: make "
        "a new plan on the Zones page or with needmap zones."
    )


def _check_zone(labels: pd.DataFrame, zone: int) -> None:
    zones = set(pd.to_numeric(labels["zone"]).astype(int))
    if int(zone) not in zones:
        raise InputError(f"Zone {zone} is not in the plan; it has zones 1..{max(zones)}.")


def _hide_small(values: pd.Series, threshold: int) -> pd.Series:
    """A sum of protected values is shown unless it is from 1 to the threshold."""
    v = values.astype(float)
    small = (v >= 1) & (v <= threshold)
    return v.astype(object).where(~small, SUPPRESSED)


def zone_summary(
    snapshot: Snapshot,
    labels: pd.DataFrame,
    *,
    level: str,
    staff: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per zone: worker, workload against target, children, counts, flagged areas.

    Returns
    -------
    pandas.DataFrame
        ``zone, [worker, fte,] n_areas, workload, target, vs_target, children, referrals,
        families_engaged, [off_radar, watch]``. Counts are sums of protected values, ``c`` where
        from 1 to the threshold.
    """
    _check_level(snapshot, labels, level)
    values = tables.protected_values(snapshot, level)
    codes = labels["area_code"].astype(str)
    data = labels.assign(area_code=codes)
    zone = pd.to_numeric(data["zone"]).astype(int)
    k = int(zone.max())
    zones = pd.RangeIndex(1, k + 1, name="zone")
    out = pd.DataFrame(index=zones)
    if staff is not None:
        s = staff.set_index("zone").reindex(zones)
        out["worker"] = s["name"].to_numpy()
        fte = pd.to_numeric(s["fte"]).to_numpy(dtype=float)
        out["fte"] = fte
    else:
        fte = np.ones(k)
    out["n_areas"] = zone.value_counts().reindex(zones, fill_value=0)
    load = pd.to_numeric(data["workload"], errors="coerce").fillna(0.0)
    out["workload"] = load.groupby(zone.to_numpy()).sum().reindex(zones, fill_value=0.0).round(0)
    out["target"] = (float(load.sum()) * fte / fte.sum()).round(0)
    out["vs_target"] = (out["workload"] - out["target"]) / out["target"].where(out["target"] > 0)
    children = snapshot.areas(level).set_index(f"{level}_code")["children"]
    out["children"] = children.reindex(codes).groupby(zone.to_numpy()).sum().reindex(
        zones, fill_value=0).round(0).astype(int)
    threshold = snapshot.threshold
    for c in ("referrals", "families_engaged"):
        summed = values[c].reindex(codes).groupby(zone.to_numpy()).sum().reindex(
            zones, fill_value=0)
        out[c] = _hide_small(summed, threshold)
    if flags is not None:
        flag = flags.set_index(flags["area_code"].astype(str))["flag"].reindex(codes)
        for col, name in (("off_radar", "off the radar"), ("watch", "watch")):
            out[col] = (flag == name).groupby(zone.to_numpy()).sum().reindex(
                zones, fill_value=0).astype(int)
    return out.reset_index()


def zone_areas(
    snapshot: Snapshot,
    labels: pd.DataFrame,
    zone: int,
    *,
    level: str,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The areas of one zone with their published figures, most needy first.

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_name, [ward_name,] children, idaci_pctile, referrals, referral_rate,
        families_engaged, reach_rate, [flag]``; hidden figures are ``c``.
    """
    _check_level(snapshot, labels, level)
    _check_zone(labels, zone)
    codes = set(labels.loc[pd.to_numeric(labels["zone"]) == int(zone), "area_code"].astype(str))
    shown = tables.area_table(snapshot, level).shown()
    shown = shown[shown[f"{level}_code"].astype(str).isin(codes)]
    shown = shown.sort_values("idaci_pctile", ascending=False)
    cols = [f"{level}_code", f"{level}_name", *(["ward_name"] if level == "lsoa" else []),
            "children", "idaci_pctile", "referrals", "referral_rate", "families_engaged",
            "reach_rate"]
    out = shown[cols].rename(columns={f"{level}_code": "area_code", f"{level}_name": "area_name"})
    out = out.reset_index(drop=True)
    out["children"] = pd.to_numeric(out["children"]).round(0).astype("Int64")
    out["idaci_pctile"] = pd.to_numeric(out["idaci_pctile"]).round(0).astype("Int64")
    for c in ("referral_rate", "reach_rate"):
        out[c] = out[c].map(lambda v: v if isinstance(v, str) or pd.isna(v) else round(v, 1))
    if flags is not None:
        flag = flags.set_index(flags["area_code"].astype(str))["flag"]
        out["flag"] = out["area_code"].astype(str).map(flag).fillna("-").to_numpy()
    return out


def plan_table(snapshot: Snapshot, labels: pd.DataFrame, *, level: str,
               measure: str) -> pd.DataFrame:
    """``area_code, area_name, zone, workload`` for export.

    The workload of an area is its published workload: always shown for children weighted by
    need (published data only); for the caseload, ``c`` wherever one of its parts is hidden.
    """
    _check_level(snapshot, labels, level)
    if measure not in WORKLOAD_MEASURES:
        raise InputError(f"Unknown workload measure {measure!r}; expected one of "
                         f"{list(WORKLOAD_MEASURES)}.")
    load, visible = workload(snapshot, level, measure)
    codes = labels["area_code"].astype(str)
    out = pd.DataFrame({
        "area_code": codes.to_numpy(),
        "area_name": labels["area_name"].to_numpy() if "area_name" in labels else "",
        "zone": pd.to_numeric(labels["zone"]).astype(int).to_numpy(),
    })
    value = load.reindex(codes).round(0).to_numpy()
    shown = visible.reindex(codes).fillna(False).to_numpy(dtype=bool)
    out["workload"] = [int(v) if s else SUPPRESSED for v, s in zip(value, shown, strict=True)]
    return out


def zone_flags(
    flags: pd.DataFrame, labels: pd.DataFrame, zone: int, *, kinds: Sequence[str] = FLAGGED
) -> pd.DataFrame:
    """Flagged areas of one zone: ``area_code, area_name, flag, certainty, reason``."""
    _check_zone(labels, zone)
    codes = set(labels.loc[pd.to_numeric(labels["zone"]) == int(zone), "area_code"].astype(str))
    rows = flags[flags["area_code"].astype(str).isin(codes) & flags["flag"].isin(kinds)]
    order = {k: i for i, k in enumerate(kinds)}
    rows = rows.assign(_o=rows["flag"].map(order)).sort_values(["_o", "area_name"])
    cols = [c for c in ("area_code", "area_name", "flag", "certainty", "reason") if c in rows]
    return rows[cols].reset_index(drop=True)


def zone_schools(snapshot: Snapshot, labels: pd.DataFrame, zone: int, *,
                 level: str) -> pd.DataFrame:
    """Schools inside one zone's areas: ``name, phase, urn, area_code``, by name."""
    _check_zone(labels, zone)
    codes = labels.loc[pd.to_numeric(labels["zone"]) == int(zone), "area_code"].astype(str)
    return area_schools(snapshot, level, codes.tolist())


def worker_names(staff: pd.DataFrame | None) -> dict[int, str]:
    if staff is None:
        return {}
    return {int(z): str(n) for z, n in zip(staff["zone"], staff["name"], strict=True)}


def zone_colour(zone: int) -> str:
    return ZONE_COLOURS[(int(zone) - 1) % len(ZONE_COLOURS)]


def zone_name(zone: int, workers: dict[int, str]) -> str:
    return f"Zone {zone}: {workers[zone]}" if zone in workers else f"Zone {zone}"


def zone_map(
    snapshot: Snapshot,
    labels: pd.DataFrame,
    *,
    level: str,
    display: gpd.GeoDataFrame,
    staff: pd.DataFrame | None = None,
    locked: Sequence[str] = (),
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """A folium map with each zone in its own colour; the legend names zones and workers."""
    code, name = f"{level}_code", f"{level}_name"
    zone_of = labels.set_index(labels["area_code"].astype(str))["zone"]
    frame = display[display[code].astype(str).isin(zone_of.index)].copy()
    zones = frame[code].astype(str).map(zone_of).astype(int)
    workers = worker_names(staff)
    frame["zone_name"] = [zone_name(z, workers) for z in zones]
    lock_set = {str(c) for c in locked}
    frame["Locked"] = ["yes" if c in lock_set else "no" for c in frame[code].astype(str)]
    colours = {zone_name(z, workers): zone_colour(z) for z in sorted(set(zones))}
    return categorical(
        frame, code_column=code, name_column=name, category_column="zone_name",
        colours=colours, title="Zone", attribution=map_attribution(snapshot), outline=outline,
        tiles=tiles, tiles_attribution=tiles_attribution, extra_tooltip_columns=["Locked"],
    )
