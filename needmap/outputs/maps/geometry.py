"""Display geometry: polygons made light enough to send to a browser, with shared borders kept.

Geometry is stored in EPSG:27700; this module is the one place that turns it into what a web map
draws (EPSG:4326, simplified, coordinates rounded). It is pure: the caller caches the result per
authority.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from needmap.errors import InputError

STORAGE_CRS = "EPSG:27700"
DISPLAY_CRS = "EPSG:4326"

#: Default simplification tolerance in metres, for LSOAs and wards of one authority.
DEFAULT_TOLERANCE_M = 15.0

#: Five decimals of a degree are about 1.1 m north-south and 0.7 m east-west in England.
DEFAULT_PRECISION = 5


def display_geometry(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    precision: int = DEFAULT_PRECISION,
) -> gpd.GeoDataFrame:
    """Simplify a polygon coverage without opening gaps, and return it in EPSG:4326.

    The polygons are simplified together with :func:`shapely.coverage_simplify`
    (Visvalingam-Whyatt on the shared edges), so neighbouring areas keep one common border;
    per-polygon simplification would open slivers between them. The result is reprojected to
    EPSG:4326 and every coordinate is rounded to ``precision`` decimals, which shrinks the JSON a
    map embeds; identical input vertices round to identical output vertices, so borders stay
    shared.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons or multipolygons forming a coverage (no overlaps), in EPSG:27700. Another
        projected or geographic CRS is reprojected to EPSG:27700 first, with a warning.
    tolerance_m : float, default 15.0
        Roughly the square root of the largest triangle area (in m²) that may be removed. 0 keeps
        every vertex. About 15 m suits LSOAs of one authority; a few hundred metres suits a
        national ward map.
    precision : int, default 5
        Decimals kept in longitude and latitude.

    Returns
    -------
    GeoDataFrame
        A new frame with the same index and columns, geometry in EPSG:4326. The input is not
        modified.

    Raises
    ------
    InputError
        If the frame has no CRS, holds non-polygonal geometry, or an argument is out of range.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"display_geometry expects a GeoDataFrame of polygons, got {type(gdf).__name__}."
        )
    if gdf.crs is None:
        raise InputError(
            "display_geometry needs to know the CRS of the polygons, but the GeoDataFrame has "
            "none. Set it with gdf.set_crs('EPSG:27700') (British National Grid)."
        )
    if not np.isfinite(tolerance_m) or tolerance_m < 0:
        raise InputError(f"tolerance_m must be a finite number >= 0 metres, got {tolerance_m!r}.")
    if not isinstance(precision, int) or not 0 <= precision <= 15:
        raise InputError(f"precision must be an integer from 0 to 15 decimals, got {precision!r}.")

    geoms = gdf.geometry.array
    present = ~(geoms.isna() | geoms.is_empty)
    kinds = set(geoms[present].geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            "display_geometry simplifies polygon coverages only; found geometry types "
            f"{sorted(kinds)}. Pass area boundaries, not points or lines."
        )

    out = gdf.copy()
    if not out.crs.equals(STORAGE_CRS):
        warnings.warn(
            f"display_geometry expected EPSG:27700 and got {out.crs.to_string()}; reprojecting to "
            "EPSG:27700 before simplifying, so tolerance_m is in metres. Store boundaries in "
            "EPSG:27700 (use to_crs()) to avoid this.",
            UserWarning,
            stacklevel=2,
        )
        out = out.to_crs(STORAGE_CRS)

    values = np.asarray(out.geometry.array, dtype=object)
    if tolerance_m > 0 and present.any():
        values[present] = shapely.coverage_simplify(values[present], tolerance_m)
    out = out.set_geometry(gpd.GeoSeries(values, index=out.index, crs=STORAGE_CRS))
    out = out.to_crs(DISPLAY_CRS)

    # Snapping to the grid gives the same numbers as np.round(xy, precision) and drops repeated
    # vertices deterministically, so neighbours that shared an edge still share it; unlike
    # rounding alone it also drops a ring or part that collapses (a sliver of a national ward
    # file did, and a LinearRing of two points cannot be built).
    rounded = shapely.set_precision(
        np.asarray(out.geometry.array, dtype=object), 10.0**-precision
    )
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=DISPLAY_CRS))


def display_points(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Easting, northing pairs (EPSG:27700) as latitude, longitude pairs for a web map."""
    if not points:
        return []
    xs, ys = zip(*points, strict=True)
    moved = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=STORAGE_CRS).to_crs(DISPLAY_CRS)
    return [(float(p.y), float(p.x)) for p in moved]
