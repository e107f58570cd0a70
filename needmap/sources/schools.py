"""Schools (GIAS extract) as points in EPSG:27700, placed in the authority's LSOAs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from needmap.config import SchoolSource
from needmap.sources.geocode import points_in_areas
from needmap.sources.tables import numeric_column, read_table, require_columns


def read_schools(
    source: SchoolSource, lsoa: gpd.GeoDataFrame, lookup: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Schools inside the authority with ``urn``, ``name``, ``phase``, ``lsoa_code``, ``ward_code``.

    Location comes from the coordinates, not from any code in the file, so the LSOA vintage always
    matches the boundaries. Schools outside every LSOA are left out.
    """
    path = source.path
    df = read_table(path)
    require_columns(
        df,
        {
            "id_column": source.id_column,
            "name_column": source.name_column,
            "easting_column": source.easting_column,
            "northing_column": source.northing_column,
        },
        path,
        "schools",
    )
    x = numeric_column(df, source.easting_column, path, required=False)
    y = numeric_column(df, source.northing_column, path, required=False)
    ok = (x.notna() & y.notna()).to_numpy()
    df, x, y = df[ok], x[ok].to_numpy(), y[ok].to_numpy()
    codes = points_in_areas(x, y, lsoa, "lsoa_code")
    inside = pd.notna(codes)
    urn = df[source.id_column].str.replace(r"\.0$", "", regex=True)
    out = gpd.GeoDataFrame(
        {
            "urn": urn.to_numpy()[inside],
            "name": df[source.name_column].to_numpy()[inside],
            "phase": (
                df[source.phase_column].to_numpy()[inside]
                if source.phase_column in df
                else ""
            ),
            "lsoa_code": codes[inside],
        },
        geometry=shapely.points(x[inside], y[inside]),
        crs="EPSG:27700",
    )
    out["ward_code"] = out["lsoa_code"].map(lookup.set_index("lsoa_code")["ward_code"])
    return out.sort_values("urn").reset_index(drop=True)
