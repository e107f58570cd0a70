"""Zones as people read them: per-zone and per-area tables, zone maps, and the printable pack.

Every table here is an aggregate with small counts suppressed (``needmap.disclosure``); the
workload column is treated as a count too, since under the caseload measure it is one. A plan is
given as ``labels``: ``area_code, area_name, zone, workload`` (from
:func:`needmap.workload.plan_zones` or :meth:`needmap.plans.PlanStore.load_plan`), and the
optional ``staff`` as ``zone, name, fte``. The pack is one HTML file with no external reference:
its map is an SVG drawn here from the EPSG:27700 geometry, so it prints crisply and opens offline.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from needmap.disclosure import COUNTS, SUPPRESSED, suppress
from needmap.errors import InputError
from needmap.maps import categorical

__all__ = [
    "COLUMN_LABELS",
    "FLAGGED",
    "ZONE_COLOURS",
    "plan_level",
    "plan_table",
    "zone_areas",
    "zone_flags",
    "zone_map",
    "zone_pack_html",
    "zone_schools",
    "zone_summary",
]

#: Flags that put an area on a worker's list (from :func:`needmap.radar.flags_table`).
FLAGGED = ("off the radar", "watch")
#: Distinct colours for zones 1..10 (Tableau 10), repeated beyond.
ZONE_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2",
                "#ff9da7", "#9c755f", "#bab0ac")
#: Column -> heading, for every table this module returns.
COLUMN_LABELS = {
    "zone": "Zone", "worker": "Worker", "fte": "FTE", "n_areas": "Areas",
    "workload": "Workload", "target": "Target", "vs_target": "vs target",
    "children": "Children 0-15", "referrals": "Referrals", "families_engaged": "Families engaged",
    "reach_rate": "Families engaged per 1,000 children", "off_radar": "Off the radar",
    "area_code": "Code", "area_name": "Area", "ward_name": "Ward",
    "idaci_pctile": "Need: IDACI percentile", "referral_rate": "Referrals per 1,000 children",
    "flag": "Radar flag", "reason": "Why", "urn": "URN", "name": "School", "phase": "Phase",
}
#: Shorter headings for the printed pack's area table, so it fits an A4 page.
_PACK_LABELS = COLUMN_LABELS | {
    "map": "#", "children": "Children", "idaci_pctile": "Need (IDACI pctile)",
    "referral_rate": "per 1,000", "reach_rate": "per 1,000", "flag": "Flag",
    "families_engaged": "Families engaged",
}
_COUNTS = (*COUNTS, "workload")
# National IDACI percentile classes for the pack's map (100 = most deprived in England).
_NEED_BREAKS = (20.0, 40.0, 60.0, 80.0)
_NEED_COLOURS = ("#f1eef6", "#d7b5d8", "#df65b0", "#dd1c77", "#980043")
_NEED_LABELS = ("least deprived 20% in England", "20-40%", "40-60%", "60-80%",
                "most deprived 20% in England")


def plan_level(snapshot: Any, labels: pd.DataFrame) -> str:
    """``"lsoa"`` or ``"ward"``: which table of the snapshot holds the plan's areas.

    Raises
    ------
    InputError
        If the plan's areas are not all in one level of the snapshot (the plan was made from
        other boundaries).
    """
    codes = set(labels["area_code"].astype(str))
    for level in ("lsoa", "ward"):
        if codes <= set(snapshot.areas(level)[f"{level}_code"]):
            return level
    lsoa_missing = sorted(codes - set(snapshot.lsoa["lsoa_code"]))
    raise InputError(
        f"The plan's {len(codes)} areas are not all LSOAs or all wards of snapshot "
        f"{snapshot.id} ({len(lsoa_missing)} not found, e.g. {lsoa_missing[:3]}). The plan was "
        "made from other boundaries: make a new plan on the Zones page or with needmap zones."
    )


def _threshold(snapshot: Any) -> int:
    return int(snapshot.manifest.get("disclosure_threshold", 5))


def _joined(snapshot: Any, labels: pd.DataFrame, level: str) -> pd.DataFrame:
    areas = pd.DataFrame(snapshot.areas(level).drop(columns="geometry"))
    plan = labels[["area_code", "zone", "workload"]].rename(columns={"area_code": f"{level}_code"})
    return plan.merge(areas, on=f"{level}_code", how="left", validate="one_to_one")


def _off_radar(flags: pd.DataFrame | None) -> set[str]:
    if flags is None:
        return set()
    return set(flags.loc[flags["flag"].isin(FLAGGED[:1]), "area_code"].astype(str))


def zone_summary(
    snapshot: Any,
    labels: pd.DataFrame,
    *,
    staff: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per zone: worker, workload against target, children, counts, flagged areas.

    Parameters
    ----------
    snapshot : needmap.snapshot.Snapshot
    labels : pandas.DataFrame
        ``area_code, zone, workload`` of every area of one level.
    staff : pandas.DataFrame, optional
        ``zone, name, fte``; targets are shared in proportion to FTE (equal shares without it).
    flags : pandas.DataFrame, optional
        From :func:`needmap.radar.flags_table` at the plan's level; adds ``off_radar``, the
        number of areas flagged off the radar in each zone.

    Returns
    -------
    pandas.DataFrame
        ``zone, [worker, fte,] n_areas, workload, target, vs_target, children, referrals,
        families_engaged, [off_radar]``; ``vs_target`` is the relative deviation from target.
        Small counts are ``"c"`` (and a deviation built on a hidden workload is hidden too).
    """
    level = plan_level(snapshot, labels)
    data = _joined(snapshot, labels, level)
    k = int(data["zone"].max())
    zones = pd.RangeIndex(1, k + 1, name="zone")
    g = data.groupby("zone")
    out = pd.DataFrame(index=zones)
    if staff is not None:
        s = staff.set_index("zone").reindex(zones)
        out["worker"] = s["name"].to_numpy()
        fte = pd.to_numeric(s["fte"]).to_numpy(dtype=float)
        out["fte"] = fte
    else:
        fte = np.ones(k)
    out["n_areas"] = g.size().reindex(zones, fill_value=0)
    load = pd.to_numeric(data["workload"], errors="coerce")
    out["workload"] = load.groupby(data["zone"]).sum().reindex(zones, fill_value=0.0)
    out["target"] = float(load.sum()) * fte / fte.sum()
    out["vs_target"] = (out["workload"] - out["target"]) / out["target"]
    out["children"] = g["children"].sum().reindex(zones, fill_value=0).round(0).astype(int)
    for c in ("referrals", "families_engaged"):
        out[c] = g[c].sum().reindex(zones, fill_value=0)
    if flags is not None:
        off = data[f"{level}_code"].astype(str).isin(_off_radar(flags))
        out["off_radar"] = off.groupby(data["zone"]).sum().reindex(zones, fill_value=0)
    out = out.reset_index()
    out["workload"] = out["workload"].round(1)
    out["target"] = out["target"].round(1)
    shown = suppress(out, _threshold(snapshot), counts=_COUNTS)
    hidden = shown["workload"].astype(object).eq(SUPPRESSED)
    if hidden.any():
        shown["vs_target"] = shown["vs_target"].astype(object)
        shown.loc[hidden, "vs_target"] = SUPPRESSED
    return shown


def zone_areas(
    snapshot: Any,
    labels: pd.DataFrame,
    zone: int,
    *,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The areas of one zone with their figures, small counts suppressed.

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_name, [ward_name,] children, idaci_pctile, referrals, referral_rate,
        families_engaged, reach_rate, workload, [flag]``, most needy first.
    """
    level = plan_level(snapshot, labels)
    _check_zone(labels, zone)
    data = _joined(snapshot, labels, level)
    data = data[data["zone"] == int(zone)].sort_values("idaci_pctile", ascending=False)
    cols = [f"{level}_code", f"{level}_name", *(["ward_name"] if level == "lsoa" else []),
            "children", "idaci_pctile", "referrals", "referral_rate", "families_engaged",
            "reach_rate", "workload"]
    out = data[cols].rename(columns={f"{level}_code": "area_code", f"{level}_name": "area_name"})
    out = out.reset_index(drop=True)
    out["children"] = pd.to_numeric(out["children"]).round(0).astype("Int64")
    out["idaci_pctile"] = pd.to_numeric(out["idaci_pctile"]).round(0).astype("Int64")
    for c in ("referral_rate", "reach_rate", "workload"):
        out[c] = pd.to_numeric(out[c], errors="coerce").round(1)
    out = _suppress_caseload(out, _threshold(snapshot))
    if flags is not None:
        flag = flags.set_index(flags["area_code"].astype(str))["flag"]
        out["flag"] = out["area_code"].astype(str).map(flag).fillna("-").to_numpy()
    return out


def plan_table(labels: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``area_code, area_name, zone, workload`` for export, small workloads suppressed.

    A workload from 1 to ``threshold`` is ``"c"`` (only the caseload measure can be that
    small), with a second cell hidden in a zone where one alone would be.
    """
    cols = [c for c in ("area_code", "area_name", "zone", "workload") if c in labels]
    out = labels[cols].reset_index(drop=True).copy()
    out["workload"] = pd.to_numeric(out["workload"], errors="coerce").round(2)
    return suppress(out, threshold, counts=("workload",), across="zone")


def zone_flags(
    flags: pd.DataFrame, labels: pd.DataFrame, zone: int, *, kinds: Sequence[str] = FLAGGED
) -> pd.DataFrame:
    """Flagged areas of one zone: ``area_code, area_name, flag, reason``, off the radar first.

    ``flags`` is :func:`needmap.radar.flags_table` output (already disclosure-controlled).
    """
    _check_zone(labels, zone)
    codes = set(labels.loc[labels["zone"] == int(zone), "area_code"].astype(str))
    rows = flags[flags["area_code"].astype(str).isin(codes) & flags["flag"].isin(kinds)]
    order = {k: i for i, k in enumerate(kinds)}
    rows = rows.assign(_o=rows["flag"].map(order)).sort_values(["_o", "area_name"])
    return rows[["area_code", "area_name", "flag", "reason"]].reset_index(drop=True)


def zone_schools(snapshot: Any, labels: pd.DataFrame, zone: int) -> pd.DataFrame:
    """Schools inside one zone's areas: ``urn, name, phase, area_code``, by name."""
    level = plan_level(snapshot, labels)
    _check_zone(labels, zone)
    schools = snapshot.schools
    cols = ["urn", "name", "phase", "area_code"]
    if schools is None or len(schools) == 0 or f"{level}_code" not in schools:
        return pd.DataFrame(columns=cols)
    codes = set(labels.loc[labels["zone"] == int(zone), "area_code"].astype(str))
    inside = schools[schools[f"{level}_code"].astype(str).isin(codes)]
    out = pd.DataFrame(inside.drop(columns=inside.geometry.name)).rename(
        columns={f"{level}_code": "area_code"})
    return out[cols].sort_values("name").reset_index(drop=True)


def zone_map(
    layer: gpd.GeoDataFrame,
    labels: pd.DataFrame,
    *,
    level: str,
    attribution: str,
    staff: pd.DataFrame | None = None,
    locked: Sequence[str] = (),
    outline: Any = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """A folium map with each zone in its own colour; the legend names zones and workers.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        Display polygons of ``level`` (:func:`needmap.geometry.display_geometry`), keyed by
        ``{level}_code``.
    labels : pandas.DataFrame
        ``area_code, zone``.
    locked : sequence of str
        Area codes locked to their zone; the tooltip says so.
    """
    code, name = f"{level}_code", f"{level}_name"
    zone_of = labels.set_index(labels["area_code"].astype(str))["zone"]
    frame = layer[layer[code].astype(str).isin(zone_of.index)].copy()
    zones = frame[code].astype(str).map(zone_of).astype(int)
    workers = _workers(staff)
    frame["zone_name"] = [_zone_name(z, workers) for z in zones]
    lock_set = {str(c) for c in locked}
    frame["Locked"] = ["yes" if c in lock_set else "no" for c in frame[code].astype(str)]
    colours = {_zone_name(z, workers): _zone_colour(z) for z in sorted(set(zones))}
    return categorical(
        frame, code_column=code, name_column=name, category_column="zone_name",
        colours=colours, title="Zone", attribution=attribution, outline=outline, tiles=tiles,
        tiles_attribution=tiles_attribution, extra_tooltip_columns=["Locked"],
    )


def zone_pack_html(
    snapshot: Any,
    labels: pd.DataFrame,
    zone: int,
    *,
    staff: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    plan: str | None = None,
    measure_label: str | None = None,
) -> str:
    """A printable HTML zone pack: who, where (an SVG map), the figures, flags and schools.

    Parameters
    ----------
    snapshot : needmap.snapshot.Snapshot
    labels : pandas.DataFrame
        ``area_code, area_name, zone, workload`` of the plan.
    zone : int
        The zone (1..k).
    staff : pandas.DataFrame, optional
        ``zone, name, fte``; names the worker.
    flags : pandas.DataFrame, optional
        :func:`needmap.radar.flags_table` at the plan's level; lists the zone's flagged areas.
    plan : str, optional
        How to name the plan in the header, e.g. "plan 7 saved 2025-11-21 by A. Lead".
    measure_label : str, optional
        What the workload column measures.

    Returns
    -------
    str
        A complete HTML document that references no URL (no script at all).
    """
    level = plan_level(snapshot, labels)
    summary = zone_summary(snapshot, labels, staff=staff, flags=flags)
    row = summary[summary["zone"] == int(zone)]
    if row.empty:
        raise InputError(f"Zone {zone} is not in the plan; zones are 1..{len(summary)}.")
    row = row.iloc[0]
    areas = zone_areas(snapshot, labels, zone, flags=flags)
    areas.insert(0, "map", range(1, len(areas) + 1))
    schools = zone_schools(snapshot, labels, zone)
    m = snapshot.manifest
    threshold = _threshold(snapshot)
    worker = _workers(staff).get(int(zone))
    title = f"Zone {int(zone)}" + (f": {worker}" if worker else "")
    synthetic = bool(m.get("synthetic_records"))

    svg = _zone_svg(snapshot.areas(level), labels, int(zone), level=level,
                    numbers=dict(zip(areas["area_code"], areas["map"], strict=True)),
                    schools=snapshot.schools)
    level_word = "LSOAs" if level == "lsoa" else "wards"
    facts = [
        ("Authority", f"{m.get('authority_name', '')} ({m.get('authority_code', '')})"),
        ("Period", f"{m.get('period_start')} to {m.get('period_end')}"),
        ("Snapshot", snapshot.id),
        ("Plan", plan or "not saved"),
        ("Areas", f"{row['n_areas']} {level_word}"),
        ("Children 0-15", _fmt(row["children"])),
        ("Workload", f"{_fmt(row['workload'])} against a target of {_fmt(row['target'])} "
                     f"({_pct(row['vs_target'])})"
                     + (f"; {measure_label}" if measure_label else "")),
        ("Referrals", _fmt(row["referrals"])),
        ("Families engaged", _fmt(row["families_engaged"])),
    ]
    if staff is not None:
        facts.insert(0, ("Worker", f"{worker} ({_fmt(row['fte'], '{:.1f}')} FTE)"))
    if flags is not None:
        facts.append(("Off the radar", f"{row['off_radar']} area(s)"))
    facts_html = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                         for k, v in facts)

    if flags is None:
        flags_html = ("<p class='note'>Off-the-radar flags were not included in this pack.</p>")
    else:
        fz = zone_flags(flags, labels, zone)
        flags_html = (_table(fz, ["area_name", "area_code", "flag", "reason"]) if len(fz) else
                      "<p>No area of this zone is flagged off the radar or to watch.</p>")
    schools_html = (_table(schools, ["name", "phase", "urn", "area_code"]) if len(schools) else
                    "<p>No school in this zone.</p>")
    area_cols = ["map", "area_name", "area_code", *(["ward_name"] if level == "lsoa" else []),
                 "children", "idaci_pctile", "referrals", "referral_rate", "families_engaged",
                 "reach_rate", "workload", *(["flag"] if flags is not None else [])]
    attribution = html.escape(m.get("attribution", "") or "")
    banner = ("<p class='synthetic'>SYNTHETIC records: the referral and engagement figures in "
              "this pack come from generated demo data, not real children or families.</p>"
              if synthetic else "")
    made = dt.date.today().isoformat()
    return _PAGE.format(
        title=html.escape(title),
        authority=html.escape(str(m.get("authority_name", ""))),
        banner=banner,
        facts=facts_html,
        svg=svg,
        legend=_need_legend(),
        areas=_table(areas, area_cols),
        flags=flags_html,
        schools=schools_html,
        n_schools=len(schools),
        threshold=threshold,
        attribution=attribution,
        synthetic_note=" Referral and engagement records are SYNTHETIC." if synthetic else "",
        made=made,
    )


# -- helpers ---------------------------------------------------------------------------------


def _suppress_caseload(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Suppress an area table; where workload is the caseload (referrals + families engaged),
    hide it wherever either part is hidden, so a hidden part cannot be worked back from it."""
    load = pd.to_numeric(table["workload"], errors="coerce")
    parts = table["referrals"].astype(float) + table["families_engaged"].astype(float)
    caseload = bool(len(table)) and bool(np.allclose(load, parts, equal_nan=True))
    out = suppress(table, threshold, counts=_COUNTS)
    if not caseload:
        return out
    hidden = out["workload"].astype(object).eq(SUPPRESSED).to_numpy().copy()
    hidden |= out["referrals"].astype(object).eq(SUPPRESSED).to_numpy()
    hidden |= out["families_engaged"].astype(object).eq(SUPPRESSED).to_numpy()
    if hidden.sum() == 1:  # the zone's total is shown elsewhere: protect the one hidden cell
        values = load.to_numpy(dtype=float)
        shown = np.flatnonzero(~hidden & (np.nan_to_num(values) > 0))
        if len(shown):
            hidden[shown[np.argmin(values[shown])]] = True
    out["workload"] = out["workload"].astype(object)
    out.loc[hidden, "workload"] = SUPPRESSED
    return out



def _check_zone(labels: pd.DataFrame, zone: int) -> None:
    zones = set(pd.to_numeric(labels["zone"]).astype(int))
    if int(zone) not in zones:
        raise InputError(f"Zone {zone} is not in the plan; it has zones 1..{max(zones)}.")


def _workers(staff: pd.DataFrame | None) -> dict[int, str]:
    if staff is None:
        return {}
    return {int(z): str(n) for z, n in zip(staff["zone"], staff["name"], strict=True)}


def _zone_colour(zone: int) -> str:
    return ZONE_COLOURS[(int(zone) - 1) % len(ZONE_COLOURS)]


def _zone_name(zone: int, workers: dict[int, str]) -> str:
    return f"Zone {zone}: {workers[zone]}" if zone in workers else f"Zone {zone}"


def _fmt(value: Any, fmt: str = "{:,.0f}") -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "-"
    return fmt.format(value)


def _pct(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:+.1%}"


def _table(df: pd.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(_PACK_LABELS.get(c, c))}</th>" for c in columns)
    body = []
    for r in df[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, r, strict=True):
            num = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            text = _fmt(v, "{:,.1f}" if c in ("referral_rate", "reach_rate")
                        else "{:,.0f}") if (num or v is None) else str(v)
            cls = (" class='num'" if num or v == SUPPRESSED
                   else " class='name'" if c in ("area_name", "area_code") else "")
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _need_class(pctile: float) -> int:
    return int(np.searchsorted(_NEED_BREAKS, pctile, side="right"))


def _need_legend() -> str:
    items = "".join(
        f"<span class='key'><span class='sw' style='background:{c}'></span>{html.escape(t)}"
        "</span>" for c, t in zip(_NEED_COLOURS, _NEED_LABELS, strict=True)
    )
    return (f"<div class='legend'><b>Need (IDACI percentile in England):</b> {items}"
            "<span class='key'><span class='sw' style='background:#fff;border-color:#bbb'>"
            "</span>outside the zone</span><span class='key'>&#9650; school</span></div>")


def _zone_svg(
    areas: gpd.GeoDataFrame,
    labels: pd.DataFrame,
    zone: int,
    *,
    level: str,
    numbers: dict[str, int],
    schools: gpd.GeoDataFrame | None,
    width: int = 680,
) -> str:
    """The zone's areas coloured by need and numbered as in the table, with their neighbours."""
    code = f"{level}_code"
    if areas.crs is None or areas.crs.to_epsg() != 27700:
        areas = areas.to_crs("EPSG:27700")
    in_zone = set(labels.loc[labels["zone"] == zone, "area_code"].astype(str))
    mine = areas[areas[code].astype(str).isin(in_zone)]
    minx, miny, maxx, maxy = mine.total_bounds
    pad = 0.06 * max(maxx - minx, maxy - miny, 1.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    scale = width / (maxx - minx)
    height = int(np.ceil((maxy - miny) * scale))
    box = shapely.box(minx, miny, maxx, maxy)
    tol = 1.5 / scale  # about 1.5 px

    def path(geom: Any) -> str:
        geom = shapely.simplify(geom, tol, preserve_topology=True)
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)
                pts = " ".join(f"{(x - minx) * scale:.1f},{(maxy - y) * scale:.1f}"
                               for x, y in xy[:, :2])
                parts.append(f"M{pts}Z")
        return " ".join(parts)

    shapes, texts = [], []
    near = areas[areas.intersects(box)]
    for r in near.itertuples(index=False):
        c = str(getattr(r, code))
        geom = getattr(r, areas.geometry.name)
        if c in in_zone:
            fill = _NEED_COLOURS[_need_class(float(r.idaci_pctile))]
            shapes.append(f"<path d='{path(geom)}' fill='{fill}' stroke='#333' "
                          "stroke-width='0.8' fill-rule='evenodd'/>")
            p = geom.representative_point()
            x, y = (p.x - minx) * scale, (maxy - p.y) * scale
            texts.append(f"<text x='{x:.1f}' y='{y:.1f}'>{numbers.get(c, '')}</text>")
        else:
            shapes.append(f"<path d='{path(geom)}' fill='#ffffff' stroke='#bbbbbb' "
                          "stroke-width='0.6' fill-rule='evenodd'/>")
    outline = path(shapely.union_all(mine.geometry.to_numpy()))
    shapes.append(f"<path d='{outline}' fill='none' stroke='#000' stroke-width='2.2'/>")
    marks = []
    if schools is not None and len(schools) and f"{level}_code" in schools:
        inside = schools[schools[f"{level}_code"].astype(str).isin(in_zone)]
        for g in inside.geometry:
            x, y = (g.x - minx) * scale, (maxy - g.y) * scale
            marks.append(f"<path d='M{x:.1f},{y - 4:.1f} L{x + 3.5:.1f},{y + 2.5:.1f} "
                         f"L{x - 3.5:.1f},{y + 2.5:.1f}Z' fill='#111' stroke='#fff' "
                         "stroke-width='0.6'/>")
    return (
        f"<svg viewBox='0 0 {width} {height}' "
        f"width='100%' role='img' aria-label='Map of zone {zone}'>"
        + "".join(shapes) + "".join(marks)
        + "<g class='labels'>" + "".join(texts) + "</g></svg>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}: {authority} zone pack</title>
<style>
@page {{ size: A4; margin: 14mm; }}
body {{ font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #111;
        max-width: 190mm; margin: 0 auto; padding: 8px; }}
h1 {{ font-size: 18pt; margin: 0 0 2px; }}
h2 {{ font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #999; }}
.sub {{ color: #444; margin: 0 0 8px; }}
.synthetic {{ border: 2px solid #b00; color: #b00; padding: 6px 8px; font-weight: bold; }}
table {{ border-collapse: collapse; width: 100%; font-size: 8.5pt; }}
th, td {{ border: 1px solid #ccc; padding: 2px 3px; text-align: left; vertical-align: top; }}
thead th {{ background: #eee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.facts th {{ width: 28%; background: #f6f6f6; }}
tr {{ page-break-inside: avoid; }}
.map {{ border: 1px solid #ccc; page-break-inside: avoid; }}
.map svg {{ display: block; margin: auto; max-height: 150mm; }}
td.name {{ white-space: nowrap; }}
.map text {{ font: bold 11px sans-serif; text-anchor: middle; dominant-baseline: middle;
            fill: #000; paint-order: stroke; stroke: #fff; stroke-width: 3px; }}
.legend {{ font-size: 8.5pt; margin: 4px 0; }}
.key {{ margin-right: 10px; white-space: nowrap; }}
.sw {{ display: inline-block; width: 11px; height: 11px; border: 1px solid #777;
       vertical-align: middle; margin-right: 3px; }}
.note, footer {{ color: #444; font-size: 8.5pt; }}
section {{ page-break-inside: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="sub">{authority}: zone pack for early-help planning. Aggregates only: no child or
family is named here.</p>
{banner}
<table class="facts">{facts}</table>
<h2>Map</h2>
<div class="map">{svg}</div>
{legend}
<p class="note">Numbers on the map match the first column of the table below. Thick line: the
zone boundary.</p>
<h2>Areas in this zone</h2>
{areas}
<p class="note">Counts from 1 to {threshold} are shown as c, and a rate built on one is hidden
too; where one cell could be worked back from a total, another is hidden. Rates are per 1,000
children aged 0-15. Need: IDACI national percentile, 100 = most deprived in England.</p>
<h2>Off the radar</h2>
{flags}
<h2>Schools ({n_schools})</h2>
{schools}
<footer>
<p>{attribution}{synthetic_note}</p>
<p>Made by needmap on {made}.</p>
</footer>
</body>
</html>
"""
