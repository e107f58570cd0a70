"""Where a zone's number goes on the zone map: well inside its zone and clear of every other mark.

The number used to sit at the zone's representative point and each flag ("!", "?") at its area's,
so in a zone of small areas the two often landed a few pixels apart: on the demo's six-zone plan
5 of 6 zone numbers covered a flag at 1440x900 and 1366x768, and 10 number-flag pairs overlapped
at 390x844. After this placement: 0 at all three sizes (``tests/test_zone_labels_browser.py``).

Marks have a fixed size in pixels, so whether two overlap depends on the scale the map opens at.
The zone map opens fitted to the authority, so that scale follows from the authority's extent:
its longer side gets at least :data:`OPEN_PX` pixels, and Leaflet's zoom snap (a quarter level)
can zoom out by up to 2^0.25 more (:func:`opening_scale`). At that scale a number's centre stays
out of a square of half-side :data:`CLEAR_PX` around any other mark's centre (so the two boxes
cannot touch) and, to read as its own zone's, :data:`INSET_PX` from its zone's edge.

:func:`label_points` puts each number at the centre of the largest circle inscribed
(:func:`shapely.maximum_inscribed_circle`) in the zone shrunk by the inset, less squares of the
clearance around every mark: the middle of the room that is left. Where nothing is left (a small
zone crowded with flags) the inset shrinks first, then the clearance, each by bisection, so the
label keeps as much of the clearance as the zone allows. Everything is in EPSG:27700 metres;
points go to EPSG:4326 only to be drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from needmap.errors import InputError
from needmap.outputs.maps.geometry import STORAGE_CRS

#: Pixels the authority's longer side gets, at least, when the map opens: a 1024-px screen's
#: frame (about 560 px) less its open legend (up to 200 px) and padding. A 360-px phone's frame
#: (328 px, legend folded) gives 308, but its marks are smaller (see CLEAR_PX).
OPEN_PX = 340
#: Leaflet's fit snaps to a quarter zoom level, so the map can open up to 2^0.25 further out.
ZOOM_SNAP = 0.25
#: Half the side of the square around another mark's centre that a zone number's centre keeps
#: out of, so their boxes cannot meet: half the summed widths of a number (20x20 px, 28 px wide
#: with two digits) and a flag (up to 23x21 px) in Chromium, plus a pixel or two. Under 480 px
#: the marks shrink (14x13 and 17x15 px), so 19 px would do on a phone: 19/308 < 26/340.
CLEAR_PX = 26.0
#: Pixels between a zone number's centre and its zone's edge: half a number, and a little.
INSET_PX = 14.0
#: Bisection steps when the full clearance does not fit (1/4096 of it at the end).
STEPS = 12


def opening_scale(bounds: Sequence[float]) -> float:
    """Metres per pixel, at most, of a map opened fitted to ``bounds`` (EPSG:27700
    ``minx, miny, maxx, maxy``), by the rule in the module docstring."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    extent = max(maxx - minx, maxy - miny)
    if not np.isfinite(extent) or extent <= 0:
        raise InputError(f"The map's bounds {list(bounds)} have no extent.")
    return extent / OPEN_PX * 2.0**ZOOM_SNAP


def label_points(
    zones: gpd.GeoSeries,
    marks: gpd.GeoSeries,
    *,
    metres_per_px: float,
    clear_px: float = CLEAR_PX,
    inset_px: float = INSET_PX,
) -> gpd.GeoSeries:
    """A point for each zone's label, inside the zone and as clear of ``marks`` as it can be.

    Parameters
    ----------
    zones : GeoSeries
        One (multi)polygon per zone, in EPSG:27700.
    marks : GeoSeries
        Points of the other marks drawn on the map (flags, bases), in EPSG:27700; may be empty.
    metres_per_px : float
        The map's scale where it opens (:func:`opening_scale`).
    clear_px, inset_px : float
        Pixels kept between a label's centre and a mark's, and the zone's edge.

    Returns
    -------
    GeoSeries
        Points in EPSG:27700 with the index of ``zones``; each lies in its zone.
    """
    for name, series in (("zones", zones), ("marks", marks)):
        if not isinstance(series, gpd.GeoSeries) or series.crs is None \
                or not series.crs.equals(STORAGE_CRS):
            raise InputError(f"label_points needs {name} as a GeoSeries in EPSG:27700.")
    if not np.isfinite(metres_per_px) or metres_per_px <= 0:
        raise InputError(f"metres_per_px must be a positive number, got {metres_per_px!r}.")
    clear, inset = clear_px * metres_per_px, inset_px * metres_per_px
    obstacles = shapely.union_all(np.asarray(marks.array, dtype=object))
    # The full clearance is the same for every zone and every step that keeps it: buffer once.
    blocked = obstacles.buffer(clear, cap_style="square")
    points = []
    for zone in zones.array:
        # A pixel's detail cannot move a label by a pixel; dropping it keeps buffering cheap.
        shape = shapely.make_valid(zone.simplify(metres_per_px))
        if shape.is_empty or shape.area == 0:
            shape = zone

        def room(c: float, i: float, shape=shape):
            """The zone less ``i`` of the inset, less squares of ``c`` of the clearance."""
            inner = shape.buffer(-i * inset) if i > 0 else shape
            if c <= 0:
                return inner
            if c == 1.0:
                return inner.difference(blocked)
            return inner.difference(obstacles.buffer(c * clear, cap_style="square"))

        free = room(1.0, 1.0)
        if free.is_empty:
            # The clearance matters more than the inset: give up inset first, then clearance.
            for vary in (lambda f: room(1.0, f), lambda f: room(f, 0.0)):
                lo, hi = 0.0, 1.0
                for _ in range(STEPS):
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if not vary(mid).is_empty else (lo, mid)
                free = vary(lo)
                if not free.is_empty:
                    break
        free = free.intersection(zone)  # the simplified zone can stray a pixel outside it
        if free.is_empty:
            points.append(zone.representative_point())
            continue
        points.append(shapely.get_point(shapely.maximum_inscribed_circle(free), 0))
    return gpd.GeoSeries(points, index=zones.index, crs=STORAGE_CRS)


__all__ = ["CLEAR_PX", "INSET_PX", "OPEN_PX", "label_points", "opening_scale"]
