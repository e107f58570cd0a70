"""Build the national reference data shipped in ``needmap/reference/`` from the shared data folder.

Run from the project root::

    python tools/build_reference.py --source /path/to/shared/data

``--source`` is the folder described by its ``PROVENANCE.md`` (publisher, mirror repository and
commit of every file). The script reads those files, keeps only the columns ``needmap init`` needs,
moves every geometry to British National Grid (EPSG:27700) rounded to a 1 m grid, and writes
zstd-compressed Parquet / GeoParquet. It changes no published value: it selects, renames, joins
and converts units of storage, nothing else. Re-running it on the same inputs writes the same
tables. It prints each output's size, which ``needmap/reference/README.md`` records.

Why 1 m, vertex by vertex: the finest boundaries shipped are generalised to 20 m (BGC) and the
national ones to 200 m (BSC). Each vertex is rounded on its own (``set_precision`` in
"pointwise" mode), so a vertex shared by neighbours lands on the same grid point in both and the
layer stays a coverage without gaps or overlaps; no vertex moves more than 0.71 m. The default
(topology-repairing) mode was rejected: on the Greater Manchester LSOAs it cut narrow spikes up
to 43 m long and broke the shared edges. Where pointwise rounding to 1 m makes a polygon invalid
(4 of the 1,702 Greater Manchester LSOAs, where two vertices less than 1 m apart cross), the whole
layer is rounded to 0.1 m instead, which leaves every polygon valid. On the 33,755 national LSOAs
1 m halves the file (3.1 MB of full-precision WKB to 1.5 MB).

Why these encodings: postcodes are sorted, so DELTA_BYTE_ARRAY stores each one as the few
characters that differ from the previous (0.46 MB for 1.49 million) and DELTA_BINARY_PACKED stores
each coordinate as a small difference from its neighbour's; together 5.3 MB instead of the
source's 9.2 MB, with the same rows and values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "needmap" / "reference"
BNG = "EPSG:27700"
ZSTD = {"compression": "zstd", "compression_level": 19}
#: The File 7 columns that IoD2025 publishes only there (the mid-2022 denominators).
FILE7 = {
    "LSOA code (2021)": "lsoa21cd",
    "Income Deprivation Affecting Children Index (IDACI) Score (rate)": "idaci_score_file7",
    "Total population: mid 2022": "pop_total_mid2022",
    "Dependent Children aged 0-15: mid 2022": "pop_children_0_15_mid2022",
}


def _geo(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """To EPSG:27700 with each vertex on a 1 m grid, or 0.1 m if 1 m breaks any polygon."""
    out = gdf.to_crs(BNG)
    for grid in (1.0, 0.1):
        rounded = shapely.set_precision(out.geometry.values, grid, mode="pointwise")
        if shapely.is_valid(rounded).all() and not shapely.is_empty(rounded).any():
            break
    else:
        raise SystemExit("geometries invalid even on a 0.1 m grid")
    print(f"  {len(out):,} polygons on a {grid} m grid")
    out["geometry"] = rounded
    return out


def _write_geo(gdf: gpd.GeoDataFrame, name: str, sort: list[str]) -> Path:
    path = OUT / name
    gdf = gdf.sort_values(sort).reset_index(drop=True)
    # Row groups of ~2,000 areas sorted by authority: a filtered read skips most of the file.
    gdf.to_parquet(path, index=False, row_group_size=2000, **ZSTD)
    return path


def _write(df: pd.DataFrame, name: str, **kwargs) -> Path:
    path = OUT / name
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, **ZSTD, **kwargs)
    return path


def lsoa_table(src: Path) -> pd.DataFrame:
    """One row per LSOA 2021: IoD2025 need, Census 2021 and (where shipped) mid-2022 people."""
    iod = pd.read_csv(src / "national/iod2025_lsoa21_england.csv")
    look = pd.read_csv(src / "national/lookups/lsoa21_to_ward24_lad24_england.csv")
    f7 = pd.read_csv(src / "national/raw_iod2025/File_7_IoD2025_extract_519_LSOAs_transcribed.csv",
                     dtype=str, usecols=list(FILE7)).rename(columns=FILE7)
    for col in ("pop_total_mid2022", "pop_children_0_15_mid2022", "idaci_score_file7"):
        f7[col] = pd.to_numeric(f7[col].str.replace(",", "").str.strip())
    df = iod.merge(look[["lsoa21cd", "wd24cd", "wd24nm"]], on="lsoa21cd", how="left",
                   validate="1:1").merge(f7, on="lsoa21cd", how="left", validate="1:1")
    assert len(df) == 33755 and df["wd24cd"].notna().all()
    official = df["idaci_score_is_official"].eq(1)
    # The national file's score is the official File 7 value wherever the row was transcribed.
    assert np.allclose(df.loc[official, "idaci_score_approx"], df.loc[official,
                                                                       "idaci_score_file7"])
    out = pd.DataFrame({
        "lsoa21cd": df["lsoa21cd"],
        "lsoa21nm": df["lsoa21nm"],
        "lad24cd": df["lad24cd"],
        "lad24nm": df["lad24nm"],
        "wd24cd": df["wd24cd"],
        "wd24nm": df["wd24nm"],
        "imd_score": df["imd_score"].astype("float64"),
        "imd_rank": df["imd_rank"].astype("int32"),
        "imd_decile": df["imd_decile"].astype("int8"),
        "idaci_score": df["idaci_score_approx"].astype("float64"),
        "idaci_score_is_official": official,
        "idaci_rank": df["idaci_rank"].astype("int32"),
        "idaci_decile": df["idaci_decile"].astype("int8"),
        "idaci_numerator_published": df["idaci_numerator_published"].astype("Int32"),
        "pop_total_census2021": df["pop_total_census2021"].astype("int32"),
        "pop_children_0_15_census2021": df["pop_children_0_15_census2021"].astype("int32"),
        "pop_total_mid2022": df["pop_total_mid2022"].astype("Int32"),
        "pop_children_0_15_mid2022": df["pop_children_0_15_mid2022"].astype("Int32"),
    })
    return out.sort_values(["lad24cd", "lsoa21cd"])


def lsoa_bsc(src: Path, lad: pd.Series) -> gpd.GeoDataFrame:
    g = gpd.read_file(src / "national/lsoa21_bsc_england.gpkg", layer="lsoa21", use_arrow=True)
    g = g[["lsoa21cd", "geometry"]].assign(lad24cd=g["lsoa21cd"].map(lad))
    return _geo(g[["lsoa21cd", "lad24cd", "geometry"]])


def lsoa_bgc_gm(src: Path, lad: pd.Series) -> gpd.GeoDataFrame:
    g = gpd.read_file(src / "greater_manchester/lsoa21_bgc_gm.geojson", use_arrow=True)
    g = g[["lsoa21cd", "geometry"]].assign(lad24cd=g["lsoa21cd"].map(lad))
    assert g["lad24cd"].notna().all()
    return _geo(g[["lsoa21cd", "lad24cd", "geometry"]])


def wards(src: Path, name: str, layer: str | None) -> gpd.GeoDataFrame:
    kw = {"layer": layer} if layer else {}
    g = gpd.read_file(src / name, use_arrow=True, **kw)
    return _geo(g[["wd23cd", "wd23nm", "lad23cd", "geometry"]])


def postcodes(src: Path) -> pd.DataFrame:
    pc = pd.read_parquet(src / "national/postcodes_england_codepoint_open_2025_10.parquet")
    return pc[["postcode", "eastings", "northings", "lad_code"]].sort_values("postcode")


def schools(src: Path) -> pd.DataFrame:
    s = pd.read_csv(src / "national/schools_gias_open_20250524_ew.csv")
    s = s.dropna(subset=["easting", "northing"])
    return pd.DataFrame({
        "urn": s["urn"].astype("int64").astype(str),
        "establishment_name": s["establishment_name"],
        "education_phase": s["education_phase"],
        "establishment_type": s["establishment_type"],
        "easting": s["easting"].round().astype("int32"),
        "northing": s["northing"].round().astype("int32"),
    }).sort_values("urn")


def iod2019(src: Path) -> pd.DataFrame:
    i = pd.read_csv(src / "national/iod2019_lsoa11_england.csv")
    return pd.DataFrame({
        "lsoa11cd": i["lsoa11cd"],
        "imd_rank": i["imd_rank"].astype("int32"),
        "imd_decile": i["imd_decile"].astype("int8"),
        "idaci_rank": i["idaci_rank"].astype("int32"),
        "idaci_decile": i["idaci_decile"].astype("int8"),
        "pop_total_mid2015": i["pop_total_mid2015"].astype("int32"),
        "pop_children_0_15_mid2015": i["pop_children_0_15_mid2015"].astype("int32"),
    }).sort_values("lsoa11cd")


def lsoa11_to_lsoa21(src: Path) -> pd.DataFrame:
    lk = pd.read_csv(src / "national/lookups/lsoa11_to_lsoa21_lad22_ons_ew.csv")
    lk = lk[lk["lsoa21cd"].str.startswith("E")]
    return lk[["lsoa11cd", "lsoa21cd", "chgind"]].sort_values(["lsoa21cd", "lsoa11cd"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/shared/data"),
                        help="the shared data folder (with PROVENANCE.md)")
    src = parser.parse_args().source
    OUT.mkdir(parents=True, exist_ok=True)
    table = lsoa_table(src)
    lad = table.set_index("lsoa21cd")["lad24cd"]
    written = [
        _write(table, "lsoa21_iod2025.parquet"),
        _write_geo(lsoa_bsc(src, lad), "lsoa21_bsc_england.parquet", ["lad24cd", "lsoa21cd"]),
        _write_geo(lsoa_bgc_gm(src, lad), "lsoa21_bgc_gm.parquet", ["lad24cd", "lsoa21cd"]),
        _write_geo(wards(src, "national/wards_dec2023_bsc_england.gpkg", "wards"),
                   "wards_dec2023_bsc_england.parquet", ["lad23cd", "wd23cd"]),
        _write_geo(wards(src, "greater_manchester/wards_may2023_bgc_gm.geojson", None),
                   "wards_may2023_bgc_gm.parquet", ["lad23cd", "wd23cd"]),
        _write(postcodes(src), "postcodes_codepoint_open_2025_10.parquet",
               use_dictionary=["lad_code"],
               column_encoding={"postcode": "DELTA_BYTE_ARRAY",
                                "eastings": "DELTA_BINARY_PACKED",
                                "northings": "DELTA_BINARY_PACKED"}),
        _write(schools(src), "schools_gias_20250524.parquet"),
        _write(iod2019(src), "iod2019_lsoa11.parquet"),
        _write(lsoa11_to_lsoa21(src), "lsoa11_to_lsoa21.parquet"),
    ]
    sizes = {p.name: p.stat().st_size for p in written}
    for name, size in sizes.items():
        print(f"{name:45s} {size / 1e6:6.2f} MB")
    print(f"{'total':45s} {sum(sizes.values()) / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
