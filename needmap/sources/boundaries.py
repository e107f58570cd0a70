"""Ward and LSOA polygons from any OGR format or GeoParquet, checked and moved to EPSG:27700."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from needmap.config import BoundarySource
from needmap.errors import InputError, NeedmapWarning

BNG = "EPSG:27700"
GSS = re.compile(r"^[EWSNK]\d{8}$")


def _read_vector(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InputError(
            f"{path}: boundary file not found. Check the path in your config (relative to the "
            "config file)."
        )
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            return gpd.read_parquet(path)
        # Arrow transfer from pyogrio: about twice as fast on the 32,844 national LSOAs.
        if layer:
            return gpd.read_file(path, layer=layer, use_arrow=True)
        return gpd.read_file(path, use_arrow=True)
    except InputError:
        raise
    except Exception as exc:  # pyogrio/arrow raise several types for unreadable files
        hint = f" Check that layer '{layer}' exists." if layer else ""
        raise InputError(
            f"{path}: cannot read as a boundary file ({type(exc).__name__}: {exc}).{hint} "
            "Use GeoJSON, GeoPackage, Shapefile or GeoParquet."
        ) from None


def read_boundaries(
    source: BoundarySource, *, level: str, authority_code: str | None = None
) -> gpd.GeoDataFrame:
    """Read area polygons as ``{level}_code``, ``{level}_name``, geometry in EPSG:27700.

    Invalid polygons are repaired with ``shapely.make_valid`` and reported as a warning; duplicate
    or malformed GSS codes, a missing code column or a missing CRS are errors.
    """
    path = source.path
    gdf = _read_vector(path, source.layer)
    if gdf.empty:
        raise InputError(
            f"{path}: the boundary file has no features. Check you exported the layer."
        )
    for role, col in (("code", source.code_column), ("name", source.name_column)):
        if col not in gdf.columns:
            found = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(
                f"{path}: column '{col}' (the {level} {role} column) not found. Columns found: "
                f"{found}. Set boundaries.{level}.{role}_column in the config to one of these."
            )
    if gdf.crs is None:
        raise InputError(
            f"{path}: the boundary file has no CRS, so its coordinates cannot be placed. Save it "
            "with its CRS (EPSG:27700 British National Grid, or EPSG:4326) and try again."
        )
    if source.authority_column and authority_code:
        if source.authority_column not in gdf.columns:
            raise InputError(
                f"{path}: column '{source.authority_column}' (authority_column) not found. Columns "
                f"found: {', '.join(c for c in gdf.columns if c != 'geometry')}."
            )
        gdf = gdf[gdf[source.authority_column].astype(str) == authority_code]
        if gdf.empty:
            raise InputError(
                f"{path}: no {level} has {source.authority_column} = {authority_code}. Check the "
                "authority code in [authority]."
            )
    code = gdf[source.code_column].astype("string").str.strip()
    bad = code[~code.fillna("").str.match(GSS)]
    if len(bad):
        i = bad.index[0]
        raise InputError(
            f"{path}: feature {gdf.index.get_loc(i) + 1}, column '{source.code_column}': "
            f"{bad.iloc[0]!r} is not a GSS code (a letter and 8 digits, e.g. E05014646). "
            "Point code_column at the column of GSS codes."
        )
    dups = code[code.duplicated()]
    if len(dups):
        raise InputError(
            f"{path}: feature {gdf.index.get_loc(dups.index[0]) + 1}, column "
            f"'{source.code_column}' repeats code {dups.iloc[0]} ({dups.size} repeats). Dissolve "
            "the parts into one feature per code."
        )
    out = gpd.GeoDataFrame(
        {
            f"{level}_code": code.astype(str).to_numpy(),
            f"{level}_name": gdf[source.name_column].astype(str).str.strip().to_numpy(),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    _check_coordinates(out, path)
    empty = out.geometry.is_empty | out.geometry.isna()
    if empty.any():
        raise InputError(
            f"{path}: {int(empty.sum())} feature(s) have no geometry, e.g. "
            f"{out.loc[empty, f'{level}_code'].iloc[0]}. Fix or remove them."
        )
    source = out
    if out.crs.to_epsg() != 27700:
        out = out.to_crs(BNG)
    _check_in_england(out, source, path, f"{level}_code")
    invalid = ~out.geometry.is_valid
    if invalid.any():
        warnings.warn(
            f"{path}: repaired {int(invalid.sum())} invalid polygon(s) with make_valid, e.g. "
            f"{out.loc[invalid, f'{level}_code'].iloc[0]}.",
            NeedmapWarning,
            stacklevel=2,
        )
        fixed = shapely.make_valid(out.geometry.values[invalid.to_numpy()])
        # make_valid may return collections holding lines; keep the polygonal part only.
        out.loc[invalid, "geometry"] = [
            shapely.union_all(
                [g for g in shapely.get_parts(f) if g.geom_type in ("Polygon", "MultiPolygon")]
            )
            for f in fixed
        ]
    return out.sort_values(f"{level}_code").reset_index(drop=True)


def _check_coordinates(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse coordinates that cannot be in the CRS the file claims.

    GeoJSON is always read as EPSG:4326, so a British National Grid GeoJSON arrives labelled
    4326 with eastings in the hundreds of thousands; the reverse mistake puts degrees in a
    metre grid. Either would silently draw the authority in the wrong place.
    """
    geoms = gdf.geometry[~(gdf.geometry.is_empty | gdf.geometry.isna())]
    if geoms.empty:
        return
    xmin, ymin, xmax, ymax = geoms.total_bounds
    crs = gdf.crs
    name = crs.to_string()
    in_degrees = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    if crs.is_geographic and not in_degrees:
        raise InputError(
            f"{path}: coordinates reach x {xmax:,.0f}, y {ymax:,.0f}, beyond the "
            f"longitude/latitude range (±180, ±90) of its CRS {name}. The file is probably in "
            "British National Grid metres but labelled as degrees (GeoJSON is always read as "
            "EPSG:4326). Save it as GeoPackage with EPSG:27700, or reproject it to EPSG:4326 "
            "before saving as GeoJSON."
        )
    if crs.is_projected and in_degrees:
        raise InputError(
            f"{path}: every coordinate lies within ±180, ±90 (x {xmin:.3f} to {xmax:.3f}, y "
            f"{ymin:.3f} to {ymax:.3f}): these look like longitude/latitude degrees, but the file "
            f"says its CRS is {name}, a grid in metres. Set its CRS to EPSG:4326 (e.g. ogr2ogr "
            "-a_srs EPSG:4326) and try again."
        )


#: England's extent in British National Grid metres, with a margin of about 15 km: the national
#: LSOA 2011 boundaries reach x 85,676 to 655,606 and y 7,054 to 657,534 (Scilly to Berwick).
ENGLAND_BNG = (70_000.0, 0.0, 670_000.0, 670_000.0)
#: The same in longitude and latitude (degrees), to tell swapped axes from a wrong CRS.
_ENGLAND_LONLAT = (-7.0, 49.5, 2.5, 56.0)


def outside_england(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where a point (EPSG:27700) lies outside England's extent, or is not a number."""
    xmin, ymin, xmax, ymax = ENGLAND_BNG
    with np.errstate(invalid="ignore"):
        return ~((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))


def _inside(bounds: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return bool(box[0] <= xmin and xmax <= box[2] and box[1] <= ymin and ymax <= box[3])


def _check_in_england(gdf: gpd.GeoDataFrame, source: gpd.GeoDataFrame, path: Path,
                      code: str) -> None:
    """Every feature must touch England's extent once in EPSG:27700.

    Coordinates that fit the declared CRS can still be wrong: latitude and longitude swapped put
    Oldham's wards at E 7.86 M, N -5.9 M; metres labelled with another projected CRS land
    anywhere. ``source`` is the same features before reprojection, to say which mistake it was.
    """
    b = gdf.geometry.bounds.to_numpy()
    xmin, ymin, xmax, ymax = ENGLAND_BNG
    with np.errstate(invalid="ignore"):
        away = ~((b[:, 2] >= xmin) & (b[:, 0] <= xmax) & (b[:, 3] >= ymin) & (b[:, 1] <= ymax))
    if not away.any():
        return
    i = int(np.flatnonzero(away)[0])
    found = b[i]
    raw = source.geometry.iloc[[i]].total_bounds
    crs = source.crs
    if crs.is_geographic and _inside(raw[[1, 0, 3, 2]], _ENGLAND_LONLAT):
        why = (
            f"latitude and longitude look swapped (x runs {raw[0]:.3f} to {raw[2]:.3f}, y "
            f"{raw[1]:.3f} to {raw[3]:.3f}). Export it again with x = longitude, y = latitude"
        )
    elif _inside(raw, ENGLAND_BNG):
        why = (
            f"the file says its CRS is {crs.to_string()}, but its coordinates (x {raw[0]:,.0f} to "
            f"{raw[2]:,.0f}, y {raw[1]:,.0f} to {raw[3]:,.0f}) look like British National Grid "
            "metres: it has the wrong CRS. Set it to EPSG:27700 (e.g. ogr2ogr -a_srs EPSG:27700)"
        )
    elif _inside(raw, _ENGLAND_LONLAT):
        why = (
            f"the file says its CRS is {crs.to_string()}, but its coordinates (x {raw[0]:.3f} to "
            f"{raw[2]:.3f}, y {raw[1]:.3f} to {raw[3]:.3f}) look like longitude and latitude: "
            "it has the wrong CRS. Set it to EPSG:4326 (e.g. ogr2ogr -a_srs EPSG:4326)"
        )
    else:
        why = (
            f"the file has no CRS or the wrong CRS (it says {crs.to_string()}). Save it with the "
            "CRS its coordinates are in (EPSG:27700 British National Grid, or EPSG:4326)"
        )
    raise InputError(
        f"{path}: feature {i + 1} ({gdf[code].iloc[i]}) lands outside England in British "
        f"National Grid (x {found[0]:,.0f} to {found[2]:,.0f}, y {found[1]:,.0f} to "
        f"{found[3]:,.0f}; England lies within x {xmin:,.0f} to {xmax:,.0f}, y {ymin:,.0f} to "
        f"{ymax:,.0f}): {why}."
    )


def authority_outline(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The authority's outline: the union of its wards (shared borders dissolve away)."""
    return gpd.GeoDataFrame(geometry=[wards.union_all()], crs=wards.crs)


def assign_by_overlap(lsoa: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Best-fit LSOA -> ward by largest area of overlap, for when no official lookup is given."""
    inter = gpd.overlay(
        lsoa[["lsoa_code", "geometry"]], wards[["ward_code", "geometry"]], how="intersection",
        keep_geom_type=True,
    )
    inter["area"] = inter.geometry.area
    best = inter.sort_values("area", ascending=False).drop_duplicates("lsoa_code")
    total = lsoa.set_index("lsoa_code").geometry.area
    best["overlap_share"] = best["area"].to_numpy() / total.reindex(best["lsoa_code"]).to_numpy()
    return best[["lsoa_code", "ward_code", "overlap_share"]].reset_index(drop=True)
