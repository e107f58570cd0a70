"""The LSOA -> ward best-fit lookup: the official file, or largest overlap with a warning."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd

from needmap.config import LookupSource
from needmap.errors import InputError, NeedmapWarning
from needmap.sources.boundaries import assign_by_overlap
from needmap.sources.tables import ROW, read_table, require_columns


def lsoa_to_ward(
    source: LookupSource | None, lsoa: gpd.GeoDataFrame, wards: gpd.GeoDataFrame
) -> pd.DataFrame:
    """One ward per LSOA (``lsoa_code``, ``ward_code``, ``lookup_method``).

    Every LSOA must get a ward that exists in the ward boundaries; otherwise the lookup is the
    wrong vintage and the error says which codes are unknown.
    """
    if source is None:
        warnings.warn(
            "No [lookup] in the config: each LSOA is assigned to the ward it overlaps most. Add "
            "the official ONS best-fit lookup for population-weighted assignment.",
            NeedmapWarning,
            stacklevel=2,
        )
        out = assign_by_overlap(lsoa, wards)
        out["lookup_method"] = "largest_overlap"
        return out[["lsoa_code", "ward_code", "lookup_method"]]
    path = source.path
    df = read_table(path)
    require_columns(
        df, {"lsoa_column": source.lsoa_column, "ward_column": source.ward_column}, path, "lookup"
    )
    df = df[df[source.lsoa_column].isin(lsoa["lsoa_code"])]
    df = df.drop_duplicates(source.lsoa_column)
    missing = sorted(pd.Index(lsoa["lsoa_code"]).difference(df[source.lsoa_column]))
    if missing:
        raise InputError(
            f"{path}, column '{source.lsoa_column}': {len(missing)} LSOA(s) of the boundary file "
            f"have no ward, e.g. {', '.join(missing[:3])}. Use a lookup for the same LSOA vintage, "
            "or remove [lookup] to assign by overlap."
        )
    known = pd.Index(wards["ward_code"])
    unknown = df[~df[source.ward_column].isin(known)]
    if len(unknown):
        r = unknown.iloc[0]
        raise InputError(
            f"{path}, row {r[ROW]}, column '{source.ward_column}': ward code "
            f"{r[source.ward_column]!r} is not in the ward boundaries ({len(unknown)} rows like "
            "this). The lookup and the ward file are probably different ward vintages; use "
            "matching files."
        )
    out = pd.DataFrame(
        {
            "lsoa_code": df[source.lsoa_column].to_numpy(),
            "ward_code": df[source.ward_column].to_numpy(),
            "lookup_method": "lookup_file",
        }
    )
    return out.reset_index(drop=True)
