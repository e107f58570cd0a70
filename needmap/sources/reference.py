"""The national reference data shipped with needmap (``needmap/reference/``), read by filter.

``tools/build_reference.py`` writes these tables from the published files (see
``needmap/reference/README.md`` for each source, vintage, licence and size). Every reader here
takes the authority it needs and asks Parquet for those rows only: the LSOA and ward tables are
sorted by authority in row groups of about 2,000 areas, so cutting one authority reads a few
row groups, not England.

Geometry is EPSG:27700 on a 1 m grid. LSOAs are 2021 LSOAs and deprivation is IoD2025 (MHCLG,
30 October 2025); ``iod2019_lsoa11`` and ``lsoa11_to_lsoa21`` carry the previous vintage.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from needmap.errors import InputError

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
#: LSOAs in England: 2021 LSOAs (IoD2025) and 2011 LSOAs (IoD2019).
NATIONAL_AREAS = {"LSOA2021": 33755, "LSOA2011": 32844}
#: Code-Point Open (Oct 2025) carries the 2025 codes of Barnsley and Sheffield, whose boundary
#: moved slightly in 2025; IoD2025 and the 2024 lookups use the older ones.
POSTCODE_LAD_2025 = {"E08000038": "E08000016", "E08000039": "E08000019"}

FILES = {
    "lsoa": "lsoa21_iod2025.parquet",
    "lsoa_bsc": "lsoa21_bsc_england.parquet",
    "lsoa_bgc": "lsoa21_bgc_gm.parquet",
    "wards_bsc": "wards_dec2023_bsc_england.parquet",
    "wards_bgc": "wards_may2023_bgc_gm.parquet",
    "postcodes": "postcodes_codepoint_open_2025_10.parquet",
    "schools": "schools_gias_20250524.parquet",
    "iod2019": "iod2019_lsoa11.parquet",
    "lsoa11_to_lsoa21": "lsoa11_to_lsoa21.parquet",
}


def reference_path(name: str) -> Path:
    """Path of a shipped table by its short name (a key of ``FILES``)."""
    path = REFERENCE / FILES[name]
    if not path.is_file():
        raise InputError(
            f"{path}: the shipped reference data is missing. Reinstall needmap, or rebuild it "
            "with tools/build_reference.py."
        )
    return path


@dataclass(frozen=True)
class Authority:
    """A local authority district (LAD 2024, as in IoD2025)."""

    code: str
    name: str
    n_lsoas: int


def fine_authorities() -> frozenset[str]:
    """Authorities whose 20 m (BGC) LSOA and ward boundaries are shipped (Greater Manchester)."""
    codes = pq.read_table(reference_path("lsoa_bgc"), columns=["lad24cd"]).column("lad24cd")
    return frozenset(codes.unique().to_pylist())


def authorities() -> pd.DataFrame:
    """England's 296 local authority districts: ``code``, ``name``, ``n_lsoas``."""
    t = pq.read_table(reference_path("lsoa"), columns=["lad24cd", "lad24nm"]).to_pandas()
    out = t.groupby(["lad24cd", "lad24nm"]).size().rename("n_lsoas").reset_index()
    return out.rename(columns={"lad24cd": "code", "lad24nm": "name"})


def _key(text: str) -> str:
    """A name as people type it: any case, & or and, no punctuation, hyphens as spaces."""
    text = text.lower().replace("&", " and ").replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9 ]", "", text).split())


def _keys(name: str) -> list[str]:
    """Every way a district's name is matched: "Bristol, City of" is also "Bristol" and
    "City of Bristol"."""
    keys = [_key(name)]
    if name.endswith(", City of"):
        base = name[: -len(", City of")]
        keys += [_key(base), _key(f"City of {base}")]
    return keys


def find_authority(text: str) -> Authority:
    """The district named ``text`` (any case, punctuation ignored) or with GSS code ``text``.

    Raises
    ------
    InputError
        When nothing matches; the message lists the closest names.
    """
    table = authorities()
    query = text.strip()
    wanted = _key(query)
    hit = table[table["code"] == query.upper()]
    if hit.empty:
        hit = table[table["name"].map(lambda n: wanted in _keys(n))]
    if len(hit) == 1:
        r = hit.iloc[0]
        return Authority(code=r["code"], name=r["name"], n_lsoas=int(r["n_lsoas"]))
    keys = {k: n for n in table["name"] for k in _keys(n)}
    close = [n for n in table["name"] if wanted and any(wanted in k for k in _keys(n))]
    close += [keys[k] for k in difflib.get_close_matches(wanted, keys, n=5, cutoff=0.6)
              if keys[k] not in close]
    hint = (
        f"Closest: {', '.join(close[:5])}." if close
        else "Give a name as in the IoD2025 tables (e.g. Bolton) or a GSS code (e.g. E08000001)."
    )
    raise InputError(
        f"No local authority district in England is called {text!r}. {hint} "
        "Districts are the 296 of May 2024 used by IoD2025 (counties such as Kent are split "
        "into districts)."
    )


def lsoa_table(authority_code: str) -> pd.DataFrame:
    """The authority's LSOAs (IoD2025 district), with need, people and best-fit ward."""
    return pd.read_parquet(reference_path("lsoa"), filters=[("lad24cd", "==", authority_code)])


def lsoa_table_all() -> pd.DataFrame:
    """Every LSOA in England (33,755 rows)."""
    return pd.read_parquet(reference_path("lsoa"))


def lsoa_polygons(authority_code: str, *, fine: bool) -> gpd.GeoDataFrame:
    """LSOA 2021 polygons of an authority: 20 m BGC when ``fine`` (Greater Manchester), else BSC."""
    path = reference_path("lsoa_bgc" if fine else "lsoa_bsc")
    return gpd.read_parquet(path, filters=[("lad24cd", "==", authority_code)])


def ward_polygons(authority_code: str, *, fine: bool) -> gpd.GeoDataFrame:
    """Ward polygons of an authority: May 2023 BGC when ``fine``, else December 2023 BSC.

    Columns ``wd23cd``, ``wd23nm``, ``lad23cd``, geometry. A ward's code is its WD24 code where the
    ward did not change after December 2023 (``needmap.init`` checks which).
    """
    path = reference_path("wards_bgc" if fine else "wards_bsc")
    return gpd.read_parquet(path, filters=[("lad23cd", "==", authority_code)])


def postcodes_in_box(bounds: tuple[float, float, float, float], margin: float) -> pd.DataFrame:
    """Postcodes (OS Code-Point Open 2025.4.0) within ``margin`` metres of a bounding box.

    Columns ``postcode``, ``eastings``, ``northings``, ``lad_code`` (Barnsley's and Sheffield's
    2025 codes mapped back to the 2024 ones IoD2025 uses; blank where OS gives none).
    """
    xmin, ymin, xmax, ymax = bounds
    pc = pd.read_parquet(
        reference_path("postcodes"),
        filters=[("eastings", ">=", xmin - margin), ("eastings", "<=", xmax + margin),
                 ("northings", ">=", ymin - margin), ("northings", "<=", ymax + margin)],
    )
    pc["lad_code"] = pc["lad_code"].replace(POSTCODE_LAD_2025)
    return pc.reset_index(drop=True)


def schools_in_box(bounds: tuple[float, float, float, float]) -> pd.DataFrame:
    """Open schools (GIAS, 24 May 2025) whose coordinates fall in a bounding box."""
    xmin, ymin, xmax, ymax = bounds
    return pd.read_parquet(
        reference_path("schools"),
        filters=[("easting", ">=", xmin), ("easting", "<=", xmax),
                 ("northing", ">=", ymin), ("northing", "<=", ymax)],
    ).reset_index(drop=True)


def lsoa11_lookup(lsoa21_codes: list[str]) -> pd.DataFrame:
    """ONS LSOA 2011 -> LSOA 2021 lookup rows whose 2021 LSOA is one of ``lsoa21_codes``."""
    return pd.read_parquet(reference_path("lsoa11_to_lsoa21"),
                           filters=[("lsoa21cd", "in", list(lsoa21_codes))])


def iod2019(lsoa11_codes: list[str]) -> pd.DataFrame:
    """IoD2019 ranks, deciles and mid-2015 people of the given 2011 LSOAs."""
    return pd.read_parquet(reference_path("iod2019"),
                           filters=[("lsoa11cd", "in", list(lsoa11_codes))])


def england_figures() -> dict[str, float]:
    """England's figures, weighted as needmap weights an authority's (see ``indicators``).

    ``children``: Census 2021 children aged 0-15 (the national mid-2022 denominators are not
    shipped); ``imd_score`` and ``imd_pctile``: LSOA values weighted by Census 2021 population;
    ``idaci_score`` and ``idaci_pctile``: weighted by Census 2021 children (the IDACI score is a
    share of children, so this is England's share of children in income-deprived families).
    A percentile averaged over people is not 50: children live more often in deprived LSOAs.
    """
    t = lsoa_table_all()
    n = NATIONAL_AREAS["LSOA2021"]
    pop = t["pop_total_census2021"].to_numpy(float)
    kids = t["pop_children_0_15_census2021"].to_numpy(float)
    return {
        "children": float(kids.sum()),
        "imd_score": round(float(np.average(t["imd_score"], weights=pop)), 2),
        "idaci_score": round(float(np.average(t["idaci_score"], weights=kids)), 3),
        "imd_pctile": round(float(np.average(100 * (n - t["imd_rank"] + 1) / n, weights=pop)), 1),
        "idaci_pctile": round(
            float(np.average(100 * (n - t["idaci_rank"] + 1) / n, weights=kids)), 1
        ),
    }


__all__ = [
    "NATIONAL_AREAS",
    "Authority",
    "authorities",
    "england_figures",
    "find_authority",
    "fine_authorities",
    "iod2019",
    "lsoa11_lookup",
    "lsoa_polygons",
    "lsoa_table",
    "lsoa_table_all",
    "postcodes_in_box",
    "reference_path",
    "schools_in_box",
    "ward_polygons",
]
