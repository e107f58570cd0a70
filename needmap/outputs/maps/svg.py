"""A zone drawn as SVG for the printable pack: crisp on paper, no script and no URL.

Hand-written because the pack must open offline and print; folium needs Leaflet and a browser,
and matplotlib would add a dependency for one picture. The zone's areas are coloured by need
(the same classes as the app's need maps), numbered as in the pack's table, with their
neighbours in white, schools as triangles and worker bases as circles.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Need classes of the pack map: national IDACI percentile (100 = most deprived), as the app's
#: need maps; ColorBrewer PuRd, colour-blind safe, with the class named in the legend.
NEED_BREAKS = (20.0, 40.0, 60.0, 80.0)
NEED_COLOURS = ("#f1eef6", "#d7b5d8", "#df65b0", "#dd1c77", "#980043")
NEED_LABELS = ("least deprived 20% in England", "20-40%", "40-60%", "60-80%",
               "most deprived 20% in England")


def need_class(pctile: float) -> int:
    return int(np.searchsorted(NEED_BREAKS, pctile, side="right"))


def need_legend() -> str:
    """The pack map's legend as HTML."""
    items = "".join(
        f"<span class='key'><span class='sw' style='background:{c}'></span>{html.escape(t)}"
        "</span>" for c, t in zip(NEED_COLOURS, NEED_LABELS, strict=True)
    )
    return (f"<div class='legend'><b>Need (IDACI percentile in England):</b> {items}"
            "<span class='key'><span class='sw' style='background:#fff;border-color:#bbb'>"
            "</span>outside the zone</span><span class='key'>&#9650; school</span>"
            "<span class='key'>&#9679; worker base</span>"
            "<span class='key'><b>!</b> off the radar</span></div>")


def zone_svg(
    areas: gpd.GeoDataFrame,
    codes_in_zone: Sequence[str],
    *,
    level: str,
    numbers: dict[str, int],
    flagged: Sequence[str] = (),
    schools: gpd.GeoDataFrame | None = None,
    bases: Sequence[tuple[float, float]] = (),
    zone: int,
    width: int = 680,
) -> str:
    """The zone's areas coloured by need and numbered as in the table, with their neighbours."""
    code = f"{level}_code"
    if areas.crs is None or areas.crs.to_epsg() != 27700:
        areas = areas.to_crs("EPSG:27700")
    in_zone = {str(c) for c in codes_in_zone}
    flag_set = {str(c) for c in flagged}
    mine = areas[areas[code].astype(str).isin(in_zone)]
    minx, miny, maxx, maxy = mine.total_bounds
    pad = 0.06 * max(maxx - minx, maxy - miny, 1.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    scale = width / (maxx - minx)
    height = int(np.ceil((maxy - miny) * scale))
    box = shapely.box(minx, miny, maxx, maxy)
    tol = 1.5 / scale  # about 1.5 px

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * scale, (maxy - y) * scale

    def path(geom: Any) -> str:
        geom = shapely.simplify(geom, tol, preserve_topology=True)
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                pts = " ".join("{:.1f},{:.1f}".format(*xy(x, y))
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
                          f"stroke-width='0.8' fill-rule='evenodd'><title>{title}</title></path>")
            p = geom.representative_point()
            x, y = xy(p.x, p.y)
            mark = "!" if c in flag_set else ""
            texts.append(f"<text x='{x:.1f}' y='{y:.1f}'>{numbers.get(c, '')}{mark}</text>")
        else:
            shapes.append(f"<path d='{path(geom)}' fill='#ffffff' stroke='#bbbbbb' "
                          "stroke-width='0.6' fill-rule='evenodd'/>")
    outline = path(shapely.union_all(mine.geometry.to_numpy()))
    shapes.append(f"<path d='{outline}' fill='none' stroke='#000' stroke-width='2.2'/>")
    marks = []
    if schools is not None and len(schools) and code in schools:
        inside = schools[schools[code].astype(str).isin(in_zone)]
        for g in inside.geometry:
            x, y = xy(g.x, g.y)
            marks.append(f"<path d='M{x:.1f},{y - 7:.1f} L{x + 6:.1f},{y + 4.5:.1f} "
                         f"L{x - 6:.1f},{y + 4.5:.1f}Z' fill='#111' stroke='#fff' "
                         "stroke-width='1'/>")
    for e, n in bases:
        x, y = xy(e, n)
        marks.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='7' fill='#f28e2b' stroke='#000' "
                     "stroke-width='1.5'/>")
    return (
        f"<svg viewBox='0 0 {width} {height}' width='100%' role='img' "
        f"aria-label='Map of zone {int(zone)}'>"
        + "".join(shapes) + "".join(marks)
        + "<g class='labels'>" + "".join(texts) + "</g></svg>"
    )
