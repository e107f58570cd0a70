"""Zones as people read them: per-zone and per-area tables, the plan export, the zone map.

A plan is given as ``labels``: ``area_code, area_name, zone, workload`` (from
:func:`needmap.workload.plan_zones` or a saved :class:`needmap.plans.Plan`) with its ``level``;
``staff`` is ``zone, name, fte``. Every count here is a protected value: a zone's referrals or
families are sums of its areas' protected values (hidden ones with their stand-ins), shown as
``c`` if the sum itself is from 1 to the threshold; an area's figures come from the published
table. Nothing here reads a true count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.outputs import flags as flag_words
from needmap.outputs import tables
from needmap.outputs.attribution import map_attribution
from needmap.outputs.formats import HEADINGS
from needmap.outputs.maps.builders import Mark, categorical
from needmap.outputs.maps.geometry import display_points
from needmap.outputs.maps.placement import label_points, opening_scale
from needmap.outputs.profile import area_schools
from needmap.snapshot import Snapshot
from needmap.sources.geocode import normalise_postcode
from needmap.workload import WORKLOAD_LABELS, WORKLOAD_MEASURES, workload

__all__ = [
    "COLUMN_LABELS",
    "FLAGGED",
    "ZONE_COLOURS",
    "balance_note",
    "plan_level",
    "plan_table",
    "plans_table",
    "zone_areas",
    "zone_bases",
    "zone_flags",
    "zone_map",
    "zone_marks",
    "zone_schools",
    "zone_summary",
]

#: Flags that put an area on a worker's list today (any class the radar adds that is a
#: shortfall goes on it too: see needmap.outputs.flags.listed).
FLAGGED = ("off the radar", "watch")
#: Distinct colours for zones 1..10 (Tableau 10), repeated beyond.
ZONE_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2",
                "#ff9da7", "#9c755f", "#bab0ac")
#: Column -> heading, for every table this module returns (the app-wide headings).
COLUMN_LABELS = HEADINGS


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
        # The same rule as the zone's list (zone_flags): the strongest class is "off the
        # radar", every other listed class is "to watch", whatever the radar calls them.
        flag = flags.set_index(flags["area_code"].astype(str))["flag"].reindex(codes)
        flag = flag.fillna("").astype(str)
        strong = flag.map(flag_words.strongest)
        watch = flag.map(flag_words.listed) & ~strong
        for col, hit in (("off_radar", strong), ("watch", watch)):
            out[col] = hit.groupby(zone.to_numpy()).sum().reindex(
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
    flags: pd.DataFrame, labels: pd.DataFrame, zone: int, *,
    kinds: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Flagged areas of one zone: ``area_code, area_name, flag, certainty, reason``.

    By default every listed class (:func:`needmap.outputs.flags.listed`), strongest first: the
    list a worker reads, and what :func:`zone_summary` counts.
    """
    _check_zone(labels, zone)
    codes = set(labels.loc[pd.to_numeric(labels["zone"]) == int(zone), "area_code"].astype(str))
    names = flags["flag"].fillna("").astype(str)
    wanted = names.isin(kinds) if kinds is not None else names.map(flag_words.listed)
    rows = flags[flags["area_code"].astype(str).isin(codes) & wanted.to_numpy()]
    order = {k: i for i, k in enumerate(flag_words.present(rows["flag"]))}
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


_CODE = re.compile(r"^[EWSN]\d{8}$")
_POINT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$")


def zone_bases(snapshot: Snapshot, staff: pd.DataFrame | None, *,
               postcodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where each worker's base is: ``zone, name, easting, northing`` (EPSG:27700).

    A base is an area code (its area's representative point), ``easting,northing``, or a
    postcode (placed with ``postcodes`` from :func:`needmap.sources.geocode.read_postcodes`); a
    base that cannot be placed is left out: the map is a picture, the plan was checked when made.
    """
    columns = ["zone", "name", "easting", "northing"]
    if staff is None or "base" not in staff:
        return pd.DataFrame(columns=columns)
    if "zone" not in staff:  # a roster: row i is the worker of zone i + 1
        staff = staff.assign(zone=range(1, len(staff) + 1))
    points = {}
    for level in ("lsoa", "ward"):
        a = snapshot.areas(level)
        p = a.geometry.representative_point()
        points.update(zip(a[f"{level}_code"].astype(str), zip(p.x, p.y, strict=True),
                          strict=True))
    rows = []
    for r in staff.itertuples(index=False):
        base = "" if r.base is None or pd.isna(r.base) else str(r.base).strip()
        where = None
        if _CODE.match(base.upper()):
            where = points.get(base.upper())
        elif (m := _POINT.match(base)):
            where = (float(m.group(1)), float(m.group(2)))
        elif base and postcodes is not None:
            key = normalise_postcode(pd.Series([base])).iloc[0]
            if key in postcodes.index:
                hit = postcodes.loc[key]
                where = (float(hit["easting"]), float(hit["northing"]))
        if where is not None:
            rows.append({"zone": int(r.zone), "name": str(r.name), "easting": where[0],
                         "northing": where[1]})
    return pd.DataFrame(rows, columns=columns)


def zone_marks(
    snapshot: Snapshot,
    labels: pd.DataFrame,
    *,
    level: str,
    flags: pd.DataFrame | None = None,
    bases: pd.DataFrame | None = None,
    zone: int | None = None,
    numbers: bool = False,
) -> tuple[list[Mark], list[tuple[str, str, str]]]:
    """Marks for a zone map and the legend lines that explain them.

    ``!`` on areas off the radar and ``?`` on areas to watch (the zone's list), a dark circle
    with the zone number on each worker's base, and with ``numbers`` each zone's number inside
    it, clear of the other marks at the scale the whole-authority map opens at
    (:mod:`needmap.outputs.maps.placement`). ``zone`` keeps one zone's marks only (My zone).
    Points are found in EPSG:27700 and drawn in EPSG:4326.
    """
    code = f"{level}_code"
    zone_of = labels.set_index(labels["area_code"].astype(str))["zone"].astype(int)
    keep = set(zone_of.index if zone is None else zone_of.index[zone_of == int(zone)])
    areas = snapshot.areas(level)
    shapes = areas[areas[code].astype(str).isin(keep)]
    spot = dict(zip(shapes[code].astype(str), shapes.geometry.representative_point(),
                    strict=True))
    flagged: list[tuple[str, str, str]] = []  # area code, text, title
    legend: list[tuple[str, str, str]] = []
    if flags is not None:
        names = dict(zip(flags["area_code"].astype(str), flags["flag"].fillna("").astype(str),
                         strict=True))
        strong = [c for c in spot if flag_words.strongest(names.get(c, ""))]
        watch = [c for c in spot if flag_words.listed(names.get(c, "")) and c not in strong]
        for codes, text, word in ((strong, "!", "off the radar"), (watch, "?", "to watch")):
            flagged += [(c, text, f"{names[c]}: {c}") for c in codes]
            if codes:
                legend.append(("flag", text, word))
        if len(flagged) > 1:
            legend.append(("more", "+2", "flags too close to show apart (zoom in)"))
    mine = None
    if bases is not None and len(bases):
        mine = bases if zone is None else bases[bases["zone"] == int(zone)]
    marks: list[Mark] = []
    if numbers:
        parts = shapes.geometry.groupby(shapes[code].astype(str).map(zone_of).to_numpy())
        outlines = gpd.GeoSeries(parts.agg(lambda g: g.union_all()), crs=areas.crs)
        taken = [spot[c] for c, _, _ in flagged]
        if mine is not None:
            taken += list(gpd.points_from_xy(mine["easting"], mine["northing"]))
        where = label_points(outlines, gpd.GeoSeries(taken, crs=areas.crs),
                             metres_per_px=opening_scale(areas.total_bounds))
        shown = display_points([(p.x, p.y) for p in where])
        for z, (lat, lon) in zip(where.index, shown, strict=True):
            marks.append(Mark(lat, lon, str(z), "zone", f"Zone {z}"))
        legend.insert(0, ("zone", "3", "zone number"))
    shown = display_points([(spot[c].x, spot[c].y) for c, _, _ in flagged])
    for (_, text, title), (lat, lon) in zip(flagged, shown, strict=True):
        marks.append(Mark(lat, lon, text, "flag", title))
    if mine is not None:
        points = display_points(list(zip(mine["easting"], mine["northing"], strict=True)))
        for (lat, lon), r in zip(points, mine.itertuples(index=False), strict=True):
            marks.append(Mark(lat, lon, str(r.zone), "base", f"Base of {r.name}"))
        if len(mine):
            legend.append(("base", "1", "worker base (zone number)"))
    return marks, legend


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
    flags: pd.DataFrame | None = None,
    bases: pd.DataFrame | None = None,
) -> folium.Map:
    """A folium map with each zone in its own colour and number; the legend names zones and
    workers. Bases (from :func:`zone_bases`) and flagged areas are marked when given."""
    code, name = f"{level}_code", f"{level}_name"
    zone_of = labels.set_index(labels["area_code"].astype(str))["zone"]
    frame = display[display[code].astype(str).isin(zone_of.index)].copy()
    zones = frame[code].astype(str).map(zone_of).astype(int)
    workers = worker_names(staff)
    frame["zone_name"] = [zone_name(z, workers) for z in zones]
    lock_set = {str(c) for c in locked}
    frame["Locked"] = ["yes" if c in lock_set else "no" for c in frame[code].astype(str)]
    colours = {zone_name(z, workers): zone_colour(z) for z in sorted(set(zones))}
    marks, mark_legend = zone_marks(snapshot, labels, level=level, flags=flags, bases=bases,
                                    numbers=True)
    return categorical(
        frame, code_column=code, name_column=name, category_column="zone_name",
        colours=colours, title="Zone", attribution=map_attribution(snapshot), outline=outline,
        tiles=tiles, tiles_attribution=tiles_attribution, extra_tooltip_columns=["Locked"],
        marks=marks, mark_legend=mark_legend,
    )


def balance_note(summary: pd.DataFrame, tolerance: float) -> str | None:
    """Every zone outside the balance tolerance, in words, or None when all are within it."""
    vs = pd.to_numeric(summary["vs_target"], errors="coerce")
    outside = summary[vs.abs() > tolerance + 1e-9]
    if outside.empty:
        return None
    which = ", ".join(f"zone {int(r.zone)} ({r.vs_target:+.0%})".replace("-", "−")
                      for r in outside.itertuples(index=False))
    return (f"{len(outside)} of {len(summary)} zones are outside ±{tolerance:.0%} of their "
            f"target workload: {which}. Try another seed or a larger tolerance, zone LSOAs "
            "rather than wards, or lock fewer areas.")


def plans_table(history: pd.DataFrame) -> pd.DataFrame:
    """Saved plans as people read them, newest first, in plain words."""
    out = history.iloc[::-1].copy()
    out["created_at"] = out["created_at"].astype(str).str.replace("T", " ").str[:16]
    out["level"] = out["level"].map({"lsoa": "LSOAs", "ward": "Wards"}).fillna("")
    out["measure"] = out["measure"].map(WORKLOAD_LABELS).fillna("").str.split(
        " (", regex=False).str[0]
    out["restored_from"] = out["restored_from"].astype(object).where(
        out["restored_from"].notna(), "")
    return out[["plan_id", "created_at", "author", "n_zones", "n_areas", "level", "measure",
                "restored_from", "note", "snapshot_id"]].reset_index(drop=True)
