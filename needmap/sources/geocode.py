"""Place records in areas: LSOA code, postcode, easting/northing, latitude/longitude, ward code.

The finest usable location wins, in that order, except that a postcode taken from the person's
address history on the record's date (``needmap.sources.records``) wins over everything. Points
are placed in LSOA polygons with shapely's STRtree (vectorised; a million points take seconds),
and the ward comes from the LSOA -> ward lookup so that ward totals always equal the sum of their
LSOAs. A record with only a ward code counts in that ward but in no LSOA. A postcode table with
an LSOA column places its postcodes' records in that LSOA, not by their point.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from needmap.config import PostcodeSource
from needmap.errors import InputError
from needmap.sources.boundaries import ENGLAND_BNG, GSS, outside_england
from needmap.sources.records import FROM_HISTORY, reject
from needmap.sources.tables import ROW, numeric_column, read_table, require_columns, to_float

_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Upper-case, drop spaces and punctuation, put one space before the inward code.

    ``ol11aa``, ``OL1  1AA`` and ``ol1-1aa`` all become ``OL1 1AA``. Anything that is not then a
    well-formed UK postcode becomes <NA>.
    """
    v = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    spaced = v.str.slice(0, -3) + " " + v.str.slice(-3)
    return spaced.where(spaced.str.match(_POSTCODE).fillna(False).astype(bool))


def read_postcodes(source: PostcodeSource, *, area: gpd.GeoDataFrame | None = None
                   ) -> pd.DataFrame:
    """Postcode -> easting, northing (EPSG:27700) table, one row per normalised postcode.

    With ``lsoa_column`` the table also carries each postcode's LSOA (``lsoa_code``), which then
    places a record instead of its point: a postcode table cut with the true boundaries knows
    the LSOA better than a generalised polygon does near an edge. Most points must lie in
    England, and when ``area`` (the authority's wards) is given, some within its bounding box:
    otherwise no record could be placed, and the error would blame them.
    """
    path = source.path
    df = read_table(path)
    columns = {
        "postcode_column": source.postcode_column,
        "easting_column": source.easting_column,
        "northing_column": source.northing_column,
    }
    if source.lsoa_column:
        columns["lsoa_column"] = source.lsoa_column
    require_columns(df, columns, path, "postcodes")
    out = pd.DataFrame(
        {
            "postcode": normalise_postcode(df[source.postcode_column]).to_numpy(),
            "easting": numeric_column(df, source.easting_column, path, required=False).to_numpy(),
            "northing": numeric_column(df, source.northing_column, path,
                                       required=False).to_numpy(),
        }
    )
    if source.lsoa_column:
        codes = df[source.lsoa_column].astype("string").str.strip().str.upper()
        out["lsoa_code"] = codes.reindex(out.index).replace("", pd.NA).to_numpy()
    keep = out[["postcode", "easting", "northing"]].notna().all(axis=1).to_numpy()
    out = out[keep]
    if out.empty:
        raise InputError(f"{path}: no usable postcode with coordinates. Check the column mapping.")
    _check_points(out, df[ROW].to_numpy()[keep], path, source, area)
    return out.drop_duplicates("postcode").set_index("postcode")


def _check_points(points: pd.DataFrame, rows: np.ndarray, path: Path, source: PostcodeSource,
                  area: gpd.GeoDataFrame | None) -> None:
    x, y = points["easting"].to_numpy(), points["northing"].to_numpy()
    columns = f"columns '{source.easting_column}', '{source.northing_column}'"
    swapped = (f"eastings and northings look swapped. Point easting_column at "
               f"'{source.northing_column}' and northing_column at '{source.easting_column}'")
    away = outside_england(x, y)
    if away.mean() > 0.5:  # a national file may hold Scotland too
        i = int(np.flatnonzero(away)[0])
        why = swapped if outside_england(y, x).mean() <= 0.5 else (
            "they are not British National Grid metres (EPSG:27700). Point the columns at the "
            "grid references, or convert them")
        raise InputError(
            f"{path}, row {rows[i]}, {columns}: {int(away.sum()):,} of {len(x):,} postcodes lie "
            f"outside England (here {x[i]:,.0f}, {y[i]:,.0f}; England lies within eastings "
            f"{ENGLAND_BNG[0]:,.0f} to {ENGLAND_BNG[2]:,.0f}, northings {ENGLAND_BNG[1]:,.0f} to "
            f"{ENGLAND_BNG[3]:,.0f}): {why}."
        )
    if area is None:
        return
    xmin, ymin, xmax, ymax = area.total_bounds

    def within(a: np.ndarray, b: np.ndarray) -> int:
        return int(((a >= xmin) & (a <= xmax) & (b >= ymin) & (b <= ymax)).sum())

    # Swapped columns put few points in the authority and would put most of them there; a
    # national table puts only the authority's share there, swapped or not.
    inside, flipped = within(x, y), within(y, x)
    if flipped > max(inside, len(x) // 2) or inside == 0:
        why = swapped if flipped > max(inside, len(x) // 2) else (
            "the table covers another area. Use a postcode table that covers the authority")
        raise InputError(
            f"{path}, {columns}: {inside:,} of its {len(x):,} postcodes lie within the bounds "
            f"of the authority's wards (eastings {xmin:,.0f} to {xmax:,.0f}, northings "
            f"{ymin:,.0f} to {ymax:,.0f}; row {rows[0]} is at {x[0]:,.0f}, {y[0]:,.0f}): {why}."
        )


def area_index(x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Position in ``areas`` of the polygon holding each point (EPSG:27700), or -1.

    A point on a shared border belongs to the area that comes first in ``areas``.
    """
    result = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0:
        return result
    # The tree holds the points and the polygons are the queries: shapely prepares each query
    # polygon once, which is about 6x faster than testing each point against raw polygons.
    polygons = areas.geometry.values
    if len(x) < 50_000:
        tree = shapely.STRtree(shapely.points(x, y))
        area_idx, pt_idx = tree.query(polygons, predicate="intersects")
    else:
        # shapely releases the GIL while it makes points and queries, so both run in parallel.
        from concurrent.futures import ThreadPoolExecutor

        workers = os.cpu_count() or 2
        cuts = np.linspace(0, len(x), workers + 1).astype(int)
        bounds = np.linspace(0, len(polygons), 5).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            points = np.concatenate(list(pool.map(
                lambda ab: shapely.points(x[ab[0]:ab[1]], y[ab[0]:ab[1]]),
                zip(cuts[:-1], cuts[1:], strict=True),
            )))
            tree = shapely.STRtree(points)
            parts = list(pool.map(
                lambda ab: tree.query(polygons[ab[0]:ab[1]], predicate="intersects"),
                zip(bounds[:-1], bounds[1:], strict=True),
            ))
        area_idx = np.concatenate([p[0] + a for p, a in zip(parts, bounds[:-1], strict=True)])
        pt_idx = np.concatenate([p[1] for p in parts])
    order = np.lexsort((area_idx, pt_idx))
    pt_idx, area_idx = pt_idx[order], area_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    result[pt_idx[first]] = area_idx[first]
    return result


def points_in_areas(
    x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame, code_column: str
) -> np.ndarray:
    """Area code for each point (EPSG:27700), or None where it falls in no area."""
    idx = area_index(x, y, areas)
    codes = areas[code_column].to_numpy(dtype=object)
    result = np.full(len(x), None, dtype=object)
    result[idx >= 0] = codes[idx[idx >= 0]]
    return result


_TO_BNG = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def geocode(
    records: pd.DataFrame,
    *,
    lsoa: gpd.GeoDataFrame,
    lookup: pd.DataFrame,
    wards: gpd.GeoDataFrame,
    postcodes: pd.DataFrame | None,
    path: Path,
    max_reject_share: float = 0.5,
    column_names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Add ``lsoa_code``, ``ward_code`` and ``location_method``; return (kept, rejects).

    Rejected rows keep their ``_row`` (the line in the file) and get a ``reason``.
    """
    n = len(records)
    names = column_names or {}
    # LSOAs are tracked by position in ``lsoa`` (-1: none), so that a million records get their
    # ward by array indexing rather than by hashing a million code strings.
    lsoa_codes = lsoa["lsoa_code"].to_numpy(dtype=object)
    lsoa_idx = np.full(n, -1, dtype=np.int64)
    ward_out = np.full(n, None, dtype=object)
    method = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    # Index lookups, not Python sets: building a set walks an Arrow array in Python.
    known_lsoa = pd.Index(lsoa["lsoa_code"])
    known_ward = pd.Index(wards["ward_code"])

    def col(name: str) -> pd.Series | None:
        return records[name].astype("string").str.strip() if name in records else None

    def todo() -> np.ndarray:
        return pd.isna(method)

    history = (records[FROM_HISTORY].to_numpy(dtype=bool) if FROM_HISTORY in records
               else np.zeros(n, dtype=bool))

    # 1. LSOA code (not for a record placed by its address history)
    codes = col("lsoa_code")
    if codes is not None:
        c = codes.str.upper()
        has = c.fillna("").ne("").to_numpy() & ~history
        ok = has & c.isin(known_lsoa).fillna(False).to_numpy()
        lsoa_idx[ok] = pd.Index(lsoa_codes).get_indexer(c[ok])
        method[ok] = "lsoa_code"
        malformed = has & ~ok & ~c.fillna("").str.match(GSS).to_numpy()
        reason[malformed] = "invalid area code"
        foreign = has & ~ok & ~malformed
        reason[foreign] = "area code not in this authority"
        column = names.get("lsoa_code", "lsoa_code")
        if malformed.sum() > foreign.sum():
            _check(has & ~ok, n, max_reject_share, records, path, column,
                   "LSOA codes are not GSS codes (a letter and 8 digits, e.g. E01005320)",
                   "Point the column at the LSOA codes, not names or another identifier.",
                   first=malformed)
        _check(has & ~ok, n, max_reject_share, records, path, column,
               "LSOA codes not in this authority's LSOAs",
               "Check the LSOA vintage (2011 vs 2021) matches [boundaries.lsoa], and the "
               "authority.")

    # 2. postcode -> point
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    pcs = col("postcode")
    if pcs is not None:
        t = todo() & pcs.fillna("").ne("").to_numpy()
        norm = normalise_postcode(pcs)
        invalid = t & norm.isna().to_numpy()
        if postcodes is not None:
            hit = norm.map(postcodes["easting"]).to_numpy(dtype=float)
            found = t & ~invalid & ~np.isnan(hit)
            x[found] = hit[found]
            y[found] = norm.map(postcodes["northing"]).to_numpy(dtype=float)[found]
            method[found] = np.where(history[found], "address_history", "postcode")
            if "lsoa_code" in postcodes:
                given = pd.Index(lsoa_codes).get_indexer(norm.map(postcodes["lsoa_code"]))
                use = found & (given >= 0)
                lsoa_idx[use] = given[use]
            missing = t & ~invalid & ~found
        else:
            missing = t & ~invalid
        reason[invalid & pd.isna(reason)] = "invalid postcode"
        reason[missing & pd.isna(reason)] = (
            "postcode not found" if postcodes is not None else "postcode but no [postcodes] table"
        )

    # 3. easting / northing
    if "easting" in records and "northing" in records:
        e = to_float(records["easting"])
        nn = to_float(records["northing"])
        t = todo() & ~np.isnan(e) & ~np.isnan(nn)
        # British National Grid covers 0-700 km east and 0-1,300 km north of its false origin.
        bad = t & ((e < 0) | (e > 700_000) | (nn < 0) | (nn > 1_300_000))
        reason[bad] = "invalid coordinates"
        t &= ~bad
        x[t], y[t] = e[t], nn[t]
        method[t] = "easting_northing"

    # 4. latitude / longitude
    if "latitude" in records and "longitude" in records:
        la = to_float(records["latitude"])
        lo = to_float(records["longitude"])
        t = todo() & ~np.isnan(la) & ~np.isnan(lo)
        bad = t & ((np.abs(la) > 90) | (np.abs(lo) > 180))
        reason[bad] = "invalid coordinates"
        t &= ~bad
        if t.any():
            x[t], y[t] = _TO_BNG.transform(lo[t], la[t])
            method[t] = "latitude_longitude"

    placed = ~np.isnan(x) & (lsoa_idx < 0)
    if placed.any():
        found = area_index(x[placed], y[placed], lsoa)
        lsoa_idx[placed] = found
        outside = np.zeros(n, dtype=bool)
        outside[placed] = found < 0
        reason[outside] = "outside the authority"
        method[outside] = None

    # 5. ward code only
    wcodes = col("ward_code")
    if wcodes is not None:
        c = wcodes.str.upper()
        t = todo() & c.fillna("").ne("").to_numpy()
        ok = t & c.isin(known_ward).fillna(False).to_numpy()
        ward_out[ok] = c[ok].to_numpy()
        method[ok] = "ward_code"
        bad = t & ~ok
        reason[bad & pd.isna(reason)] = "area code not in this authority"
        _check(c.fillna("").ne("").to_numpy() & ~c.isin(known_ward).fillna(False).to_numpy()
               & (lsoa_idx < 0), n, max_reject_share, records, path,
               names.get("ward_code", "ward_code"), "ward codes not in this authority's wards",
               "Check the ward vintage matches [boundaries.ward].")

    has_lsoa = lsoa_idx >= 0
    ward_by_idx = lsoa["lsoa_code"].map(lookup.set_index("lsoa_code")["ward_code"]).to_numpy(
        dtype=object
    )
    ward_out[has_lsoa] = ward_by_idx[lsoa_idx[has_lsoa]]

    located = ~pd.isna(method)
    if FROM_HISTORY in records:
        reason[~located & pd.isna(reason) & ~history] = "no address on the record's date"
    reason[~located & pd.isna(reason)] = "no location"
    failed = pd.Series(~located, index=records.index)
    if n and (~located).sum() / n > max_reject_share:
        why = pd.Series(reason[~located]).value_counts().index[0]
        field, problem, fix = _UNPLACED[why]
        if field == "easting" and "easting" not in names:
            field = "latitude"
        column = names.get(field) or next(
            (names[f] for f in ("postcode", "easting", "latitude", "ward_code") if f in names),
            "location",
        )
        i = int(np.flatnonzero(~located & (reason == why))[0])
        value = records[field].iloc[i] if field in records else ""
        raise InputError(
            f"{path}, row {records[ROW].iloc[i]}, column '{column}': {int((~located).sum())} of "
            f"{n} rows (more than {max_reject_share:.0%}) could not be placed in the authority, "
            f"most because {problem} (here {value!r}). {fix}"
        )
    rejects: list[pd.DataFrame] = []
    for why in pd.unique(reason[~located]):
        mask = failed & pd.Series(reason == why, index=records.index)
        reject(rejects, records, mask, str(why))
    out = records.loc[located].drop(columns=[FROM_HISTORY], errors="ignore")
    out["lsoa_code"] = pd.Categorical.from_codes(lsoa_idx[located], categories=lsoa_codes)
    out["ward_code"] = ward_out[located]
    out["location_method"] = method[located]
    return out.reset_index(drop=True), rejects


#: Reason a row was not placed -> (field whose column to name, why, how to fix).
_UNPLACED = {
    "invalid postcode": (
        "postcode", "the postcode is not a well-formed UK postcode (like OL1 1AA)",
        "Check the column holds home postcodes, not another field.",
    ),
    "postcode not found": (
        "postcode", "the postcode is not in the [postcodes] table",
        "The records may be for another authority, or the postcode table may be older than the "
        "records: use the current postcode table for this authority.",
    ),
    "postcode but no [postcodes] table": (
        "postcode", "there is no [postcodes] table to look postcodes up in",
        "Add a [postcodes] section (postcode, easting, northing) to the config.",
    ),
    "outside the authority": (
        "easting", "the point falls outside the authority's LSOAs",
        "Check eastings/northings are British National Grid metres (EPSG:27700), latitude and "
        "longitude are not swapped, and the file is for this authority.",
    ),
    "invalid coordinates": (
        "easting", "the coordinates are impossible (eastings 0-700,000 and northings "
        "0-1,300,000 metres; latitude within 90 and longitude within 180 degrees)",
        "Check the coordinate columns are not swapped, scaled or in another CRS.",
    ),
    "area code not in this authority": (
        "ward_code", "the area code is not one of this authority's",
        "Check the ward and LSOA vintages match the boundaries in the config.",
    ),
    "invalid area code": (
        "lsoa_code", "the area code is not a GSS code",
        "Point the column at GSS codes (a letter and 8 digits).",
    ),
    "no address on the record's date": (
        "postcode", "the person has no address in the address history on the record's date",
        "Check that [records] addresses covers the records' dates and uses the same person ids.",
    ),
    "no location": (
        "postcode", "the row has no location at all",
        "Fill in the postcode (or another location column) in the export.",
    ),
}


def _check(mask: np.ndarray, n: int, max_share: float, records: pd.DataFrame, path: Path,
           column: str, problem: str, fix: str, first: np.ndarray | None = None) -> None:
    """Raise when ``mask`` flags more than ``max_share`` of rows; name the first ``first`` row."""
    k = int(np.sum(mask))
    if n and k / n > max_share:
        i = int(np.flatnonzero(mask if first is None else first)[0])
        raise InputError(
            f"{path}, row {records[ROW].iloc[i]}, column '{column}': {k} of {n} {problem} "
            f"(more than {max_share:.0%}). {fix}"
        )
