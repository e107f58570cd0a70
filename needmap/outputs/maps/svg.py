"""A zone drawn as SVG for the printable pack: crisp on paper, no script and no URL.

Hand-written because the pack must open offline and print; folium needs Leaflet and a browser,
and matplotlib would add a dependency for one picture. The zone's areas are coloured by need in
fixed national fifths (the classes My zone's need map uses), numbered as in the pack's table,
with their neighbours in white, schools as triangles, worker bases as rings, and "!" / "?" on
areas off the radar / to watch.

The drawing is sized in millimetres for an A4 page (at most 182 x 150 mm), so its numbers and
marks print at a fixed size (numbers 3.4 mm, about 10 pt) whatever the zone's shape; scaling a
fixed-width picture into a height limit had shrunk them to about 1.5 mm on a tall zone.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from needmap.outputs.maps.classes import NEED_BREAKS, NEED_COLOURS, NEED_LABELS

#: The printable box of an A4 page with 14 mm margins, less room for the legend.
MAX_WIDTH_MM, MAX_HEIGHT_MM = 182.0, 150.0
TEXT_MM = 3.4


def need_class(pctile: float) -> int:
    return min(int(np.searchsorted(NEED_BREAKS, pctile, side="left")), len(NEED_BREAKS) - 1)


def need_legend() -> str:
    """The pack map's legend as HTML."""
    items = "".join(
        f"<span class='key'><span class='sw' style='background:{c}'></span>{html.escape(t)}"
        "</span>" for c, t in zip(NEED_COLOURS, NEED_LABELS, strict=True)
    )
    return (f"<div class='legend'><b>Need (IDACI percentile in England):</b> {items}"
            "<span class='key'><span class='sw' style='background:#fff;border-color:#bbb'>"
            "</span>outside the zone</span><span class='key'>&#9650; school</span>"
            "<span class='key'>&#9711; worker base</span>"
            "<span class='key'><b>!</b> off the radar</span>"
            "<span class='key'><b>?</b> to watch</span></div>")


def zone_svg(
    areas: gpd.GeoDataFrame,
    codes_in_zone: Sequence[str],
    *,
    level: str,
    numbers: dict[str, int],
    flagged: Sequence[str] = (),
    watched: Sequence[str] = (),
    schools: gpd.GeoDataFrame | None = None,
    bases: Sequence[tuple[float, float]] = (),
    zone: int,
) -> str:
    """The zone's areas coloured by need and numbered as in the table, with their neighbours."""
    code = f"{level}_code"
    if areas.crs is None or areas.crs.to_epsg() != 27700:
        areas = areas.to_crs("EPSG:27700")
    in_zone = {str(c) for c in codes_in_zone}
    flag_set, watch_set = {str(c) for c in flagged}, {str(c) for c in watched}
    mine = areas[areas[code].astype(str).isin(in_zone)]
    minx, miny, maxx, maxy = mine.total_bounds
    pad = 0.04 * max(maxx - minx, maxy - miny, 1.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    aspect = (maxy - miny) / (maxx - minx)
    width = min(MAX_WIDTH_MM, MAX_HEIGHT_MM / aspect)
    height = width * aspect
    scale = width / (maxx - minx)  # millimetres on paper per metre on the ground
    box = shapely.box(minx, miny, maxx, maxy)
    tol = 0.3 / scale  # about 0.3 mm on paper

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * scale, (maxy - y) * scale

    def path(geom: Any) -> str:
        geom = shapely.simplify(geom, tol, preserve_topology=True)
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                pts = " ".join("{:.2f},{:.2f}".format(*xy(x, y))
                               for x, y in np.asarray(ring.coords)[:, :2])
                parts.append(f"M{pts}Z")
        return " ".join(parts)

    shapes, texts = [], []
    near = areas[areas.intersects(box)]
    for r in near.itertuples(index=False):
        c = str(getattr(r, code))
        geom = getattr(r, areas.geometry.name)
        if c in in_zone:
            pctile = float(r.idaci_pctile) if pd.notna(r.idaci_pctile) else 0.0
            fill = NEED_COLOURS[need_class(pctile)]
            title = html.escape(str(getattr(r, f"{level}_name")))
            shapes.append(f"<path d='{path(geom)}' fill='{fill}' stroke='#333' "
                          f"stroke-width='0.25' fill-rule='evenodd'><title>{title}</title></path>")
            p = geom.representative_point()
            x, y = xy(p.x, p.y)
            mark = "!" if c in flag_set else "?" if c in watch_set else ""
            texts.append(f"<text x='{x:.2f}' y='{y:.2f}'>{numbers.get(c, '')}{mark}</text>")
        else:
            shapes.append(f"<path d='{path(geom)}' fill='#ffffff' stroke='#bbbbbb' "
                          "stroke-width='0.2' fill-rule='evenodd'/>")
    outline = path(shapely.union_all(mine.geometry.to_numpy()))
    shapes.append(f"<path d='{outline}' fill='none' stroke='#000' stroke-width='0.7'/>")
    marks = []
    if schools is not None and len(schools) and code in schools:
        inside = schools[schools[code].astype(str).isin(in_zone)]
        for g in inside.geometry:
            x, y = xy(g.x, g.y)
            marks.append(f"<path d='M{x:.2f},{y - 1.9:.2f} L{x + 1.7:.2f},{y + 1.1:.2f} "
                         f"L{x - 1.7:.2f},{y + 1.1:.2f}Z' fill='#111' stroke='#fff' "
                         "stroke-width='0.3'/>")
    for e, n in bases:
        # A ring, not a dot: a base given as an area code sits where that area's number is.
        x, y = xy(e, n)
        for colour, line in (("#fff", 1.3), ("#000", 0.7)):
            marks.append(f"<circle cx='{x:.2f}' cy='{y:.2f}' r='3.1' fill='none' "
                         f"stroke='{colour}' stroke-width='{line}'/>")
    return (
        f"<svg viewBox='0 0 {width:.2f} {height:.2f}' width='{width:.1f}mm' "
        f"height='{height:.1f}mm' role='img' aria-label='Map of zone {int(zone)}'>"
        + "".join(shapes) + "".join(marks)
        + f"<g class='labels' font-size='{TEXT_MM}'>" + "".join(texts) + "</g></svg>"
    )
