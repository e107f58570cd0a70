"""``needmap init``: a ready folder for any English authority, cut from the shipped national data.

One call writes a config and every reference file it names: LSOA 2021 and ward polygons, IoD2025
need with child denominators, the LSOA -> ward best-fit lookup, postcodes and schools, and the
IoD2019 files for the ward-level change in deprivation. ``needmap demo-data`` then adds synthetic
records and ``needmap refresh`` runs with no edits.

Choices, and why:

* **Boundaries.** The 20 m generalised (BGC) LSOA and ward polygons are shipped for Greater
  Manchester only; elsewhere the super-generalised (BSC, 200 m) national layers are used and the
  config says so in each ``generalisation`` key.
* **Wards.** Ward figures in needmap are sums of whole LSOAs by the ONS best-fit lookup (WD24
  codes), so every ward a lookup names must have a polygon. The newest national ward polygons are
  December 2023; 24 districts were re-warded after that (mostly May 2024), so their current wards
  have no published polygon here. For those, the ward polygons are built by dissolving the
  authority's LSOAs by the best-fit lookup: each polygon is then exactly the area whose figures
  it shows, and it carries the current code that records and the lookup use. Drawing December
  2023 wards instead would show codes and boundaries that no longer exist, and no LSOA would join
  to them. The config and a warning say which was done.
* **Postcodes.** OS Code-Point Open gives each postcode a district code; membership follows it
  (Barnsley's and Sheffield's 2025 codes are mapped back to the 2024 codes IoD2025 uses), and the
  205 postcodes with no code belong to the authority when their point lies in its LSOAs. Each
  postcode's LSOA comes from its coordinates; where a generalised polygon leaves one of the
  authority's own postcodes outside every LSOA, it takes the nearest of the authority's LSOAs, so
  its records are not rejected for a drawing simplification.
* **Children.** The IoD2025 IDACI denominator (ONS mid-2022, dependent children 0-15) is shipped
  only where it was transcribed for every LSOA of an authority (Oldham and Bolton); elsewhere the
  Census 2021 count of children aged 0-15 is used, and ``children_source`` says which.
* **Atomic.** Everything is written to a temporary folder beside the target and renamed into place
  at the end, so a failure leaves nothing half-written; an existing folder is replaced only with
  ``force``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from needmap import __version__
from needmap.config import ZoneSettings
from needmap.errors import InputError, NeedmapWarning
from needmap.sources import reference as ref
from needmap.sources.geocode import area_index

BSC_LSOA = "BSC, 200 m: ONS LSOA (Dec 2021) Boundaries Generalised Super-Clipped"
BGC_LSOA = "BGC, 20 m: ONS LSOA (Dec 2021) Boundaries Generalised Clipped"
BSC_WARDS = "BSC, 200 m: ONS Wards (Dec 2023) Boundaries Generalised Super-Clipped"
BGC_WARDS = "BGC, 20 m: ONS Wards (May 2023) Boundaries Generalised Clipped (codes = WD24)"
DISSOLVED_WARDS = (
    "BSC, 200 m, dissolved: LSOA 2021 BSC polygons merged by the ONS LSOA21->WD24 best-fit "
    "lookup (the ONS Dec 2023 ward polygons predate this authority's current wards)"
)
MID2022 = "ONS mid-2022 estimates (the IoD2025 IDACI denominator)"
CENSUS2021 = "Census 2021 (21 March 2021; IoD2025's mid-2022 denominators are not shipped)"
#: How far beyond the LSOAs' bounding box postcodes are read: wider than any generalisation.
POSTCODE_MARGIN = 2_000.0


@dataclass
class InitResult:
    """What ``init_authority`` wrote and what the user should know."""

    folder: Path
    config: Path
    authority: ref.Authority
    n_lsoas: int
    n_wards: int
    children: int
    children_source: str
    lsoa_generalisation: str
    ward_generalisation: str
    n_postcodes: int
    n_postcodes_nearest: int
    n_schools: int
    warnings: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    """A file-name form of an authority name: ``King's Lynn and West Norfolk`` ->
    ``kings_lynn_and_west_norfolk``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower().replace("'", "")).strip("_")


def init_authority(
    authority: str, folder: Path | None = None, *, force: bool = False,
    today: dt.date | None = None,
) -> InitResult:
    """Write a config and the reference data for one authority into ``folder``.

    Parameters
    ----------
    authority : str
        A district's name (any case, e.g. ``"bolton"``) or GSS code (``"E08000001"``).
    folder : Path, optional
        Where to write; default ``./<authority slug>``.
    force : bool
        Replace ``folder`` (and everything in it) if it exists.

    Raises
    ------
    InputError
        Unknown authority (with the closest names), or ``folder`` exists and ``force`` is False.
    """
    auth = ref.find_authority(authority)
    s = slug(auth.name)
    folder = Path(folder) if folder is not None else Path.cwd() / s.replace("_", "-")
    folder = folder.expanduser().absolute()
    if folder.exists() and not force:
        raise InputError(
            f"{folder} already exists. Choose another folder with --out, or add --force to "
            "replace it and everything in it."
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder. Choose another --out.")
    if not folder.parent.is_dir():
        raise InputError(f"{folder.parent} does not exist. Create it first, or choose another "
                         "--out.")
    tmp = folder.parent / f".{folder.name}.init-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", NeedmapWarning)
            result = _write(auth, s, tmp, today or dt.date.today())
        result.warnings += [str(w.message) for w in seen
                            if issubclass(w.category, NeedmapWarning)]
        _replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.folder = folder
    result.config = folder / "needmap.toml"
    return result


def _replace(tmp: Path, folder: Path) -> None:
    """Move ``tmp`` to ``folder``; an existing ``folder`` goes only once the new one is in place."""
    if not folder.exists():
        tmp.rename(folder)
        return
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    folder.rename(old)
    try:
        tmp.rename(folder)
    except BaseException:
        old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


# -- the cut ------------------------------------------------------------------------------------


def _write(auth: ref.Authority, s: str, out: Path, today: dt.date) -> InitResult:
    notes: list[str] = []
    (out / "boundaries").mkdir(parents=True)
    (out / "data" / "synthetic").mkdir(parents=True)
    table = ref.lsoa_table(auth.code).sort_values("lsoa21cd").reset_index(drop=True)
    fine = auth.code in ref.fine_authorities()
    lsoa = ref.lsoa_polygons(auth.code, fine=fine).sort_values("lsoa21cd").reset_index(drop=True)
    missing = sorted(set(table["lsoa21cd"]) ^ set(lsoa["lsoa21cd"]))
    if missing:  # the build checks this; a mismatch means a damaged install
        raise InputError(f"Shipped reference data disagree on {auth.name}'s LSOAs, e.g. "
                         f"{missing[0]}. Reinstall needmap.")
    lsoa = lsoa.merge(table[["lsoa21cd", "lsoa21nm"]], on="lsoa21cd")
    lsoa_gen = BGC_LSOA if fine else BSC_LSOA

    lookup = _lookup(auth, table, lsoa, notes)
    wards, ward_gen, ward_note = _wards(auth, lsoa, lookup, fine, notes)
    ward_kind = {BGC_WARDS: "may2023_bgc", BSC_WARDS: "dec2023_bsc",
                 DISSOLVED_WARDS: "2024_dissolved_lsoa21_bsc"}[ward_gen]

    gpd.GeoDataFrame(lsoa[["lsoa21cd", "lsoa21nm", "geometry"]], crs=lsoa.crs).to_parquet(
        out / "boundaries" / (lsoa_file := f"lsoa21_{'bgc' if fine else 'bsc'}_{s}.parquet"),
        index=False, compression="zstd")
    wards.to_parquet(out / "boundaries" / (ward_file := f"wards_{ward_kind}_{s}.parquet"),
                     index=False, compression="zstd")
    lookup.to_csv(out / "data" / (lookup_file := f"lookup_lsoa21_to_ward2024_{s}.csv"),
                  index=False)

    dep, dep_cols = _deprivation(table)
    dep.to_csv(out / "data" / (dep_file := f"iod2025_lsoa21_{s}.csv"), index=False)

    pcs, n_nearest = _postcodes(auth, lsoa)
    pcs.to_csv(out / "data" / (pc_file := f"postcodes_{s}_codepoint_open_2025_10.csv"),
               index=False)
    if n_nearest:
        notes.append(
            f"{n_nearest} of {auth.name}'s {len(pcs):,} postcodes lie outside its generalised "
            "LSOA polygons; each was given the nearest of its LSOAs (column lsoa21cd)."
        )
    schools = _schools(lsoa)
    schools.to_csv(out / "data" / (school_file := f"schools_{s}_gias_open_20250524.csv"),
                   index=False)

    prev, prev_lookup = _previous(table)
    prev.to_csv(out / "data" / (prev_file := f"iod2019_lsoa11_{s}.csv"), index=False)
    prev_lookup.to_csv(out / "data" / (prev_lookup_file := f"lookup_lsoa11_to_lsoa21_{s}.csv"),
                       index=False)

    for message in notes:
        warnings.warn(message, NeedmapWarning, stacklevel=3)
    children = int(dep[dep_cols["children_column"]].sum())
    text = config_text(
        auth, today=today, files={
            "wards": f"boundaries/{ward_file}", "lsoa": f"boundaries/{lsoa_file}",
            "deprivation": f"data/{dep_file}", "lookup": f"data/{lookup_file}",
            "postcodes": f"data/{pc_file}", "schools": f"data/{school_file}",
            "previous": f"data/{prev_file}", "previous_lookup": f"data/{prev_lookup_file}",
        }, dep_cols=dep_cols, lsoa_gen=lsoa_gen, ward_gen=ward_gen, ward_note=ward_note,
        children=children, england=ref.england_figures(),
    )
    (out / "needmap.toml").write_text(text, encoding="utf-8")
    (out / "DATA_NOTICE.md").write_text(
        data_notice(auth, fine=fine, dissolved=ward_gen == DISSOLVED_WARDS,
                    mid2022=dep_cols["children_column"].endswith("mid2022")),
        encoding="utf-8")
    return InitResult(
        folder=out, config=out / "needmap.toml", authority=auth, n_lsoas=len(lsoa),
        n_wards=len(wards), children=children, children_source=dep_cols["children_source"],
        lsoa_generalisation=lsoa_gen, ward_generalisation=ward_gen, n_postcodes=len(pcs),
        n_postcodes_nearest=n_nearest, n_schools=len(schools),
    )


def _lookup(auth: ref.Authority, table: pd.DataFrame, lsoa: gpd.GeoDataFrame,
            notes: list[str]) -> pd.DataFrame:
    """The ONS best fit, except where it puts one of the authority's LSOAs in another's ward.

    IoD2025 and the ONS lookup disagree on one LSOA in England (E01027305: West
    Northamptonshire in IoD2025, best-fitted to a Cherwell ward). Such an LSOA takes the
    authority ward nearest to it, so that it is counted in the authority's map at all.
    """
    national = ref.lsoa_table_all()[["wd24cd", "lad24cd"]]
    national = national[national["wd24cd"].isin(table["wd24cd"])]
    # A ward belongs to the district most of its best-fitted LSOAs are in.
    counts = national.value_counts().rename("n").reset_index().sort_values("n", kind="stable")
    owner = counts.drop_duplicates("wd24cd", keep="last").set_index("wd24cd")["lad24cd"]
    look = table[["lsoa21cd", "lsoa21nm", "wd24cd", "wd24nm"]].copy()
    look["method"] = "ons_best_fit"
    stray = look["wd24cd"].map(owner).ne(auth.code).to_numpy()
    if stray.any():
        own = look[~stray]
        dissolved = lsoa[~stray].merge(own[["lsoa21cd", "wd24cd"]], on="lsoa21cd").dissolve(
            "wd24cd").reset_index()
        points = lsoa.loc[stray, "geometry"].representative_point()
        codes = [dissolved["wd24cd"].iloc[int(np.argmin(dissolved.distance(p)))]
                 for p in points]
        names = own.drop_duplicates("wd24cd").set_index("wd24cd")["wd24nm"]
        for i, code in zip(np.flatnonzero(stray), codes, strict=True):
            notes.append(
                f"LSOA {look.at[i, 'lsoa21cd']} is in {auth.name} in IoD2025 but ONS best-fits "
                f"it to ward {look.at[i, 'wd24cd']} of another district; it is assigned to the "
                f"nearest {auth.name} ward, {code} {names[code]}."
            )
            look.loc[i, ["wd24cd", "wd24nm", "method"]] = [code, names[code],
                                                         "nearest_ward_in_authority"]
    return look.reset_index(drop=True)


def _wards(auth: ref.Authority, lsoa: gpd.GeoDataFrame, lookup: pd.DataFrame, fine: bool,
           notes: list[str]) -> tuple[gpd.GeoDataFrame, str, str]:
    """Ward polygons (``ward_code``, ``ward_name``), their generalisation, a note for the config."""
    polys = ref.ward_polygons(auth.code, fine=fine)
    needed = set(lookup["wd24cd"])
    if needed <= set(polys["wd23cd"]):
        empty = sorted(set(polys["wd23cd"]) - needed)
        note = ("ONS ward polygons; their codes are the current (WD24) codes of the best-fit "
                "lookup.")
        if empty:
            names = polys.set_index("wd23cd").loc[empty, "wd23nm"]
            note += (f" {len(empty)} of its {len(polys)} wards get no LSOA under the ONS best "
                     "fit (an LSOA counts whole in one ward), so they are drawn but show no "
                     f"figures: {', '.join(names.iloc[:5])}{' ...' if len(empty) > 5 else ''}.")
            notes.append(f"{auth.name}: {len(empty)} of its {len(polys)} wards get no LSOA under "
                         "the ONS best fit, so they are drawn but show no figures: "
                         f"{', '.join(names.iloc[:5])}{' ...' if len(empty) > 5 else ''}.")
        out = gpd.GeoDataFrame(
            {"ward_code": polys["wd23cd"].to_numpy(), "ward_name": polys["wd23nm"].to_numpy()},
            geometry=polys.geometry.to_numpy(), crs=polys.crs)
        return out.sort_values("ward_code").reset_index(drop=True), (
            BGC_WARDS if fine else BSC_WARDS), note
    missing = sorted(needed - set(polys["wd23cd"]))
    note = (
        f"{auth.name}'s wards changed after December 2023 ({len(missing)} of its {len(needed)} "
        "current wards have no ONS polygon here), so the ward polygons are the authority's LSOAs "
        "dissolved by the ONS best-fit lookup: each shows exactly the LSOAs its figures count, "
        "and its edges follow LSOA edges, not the official ward boundary."
    )
    notes.append(note)
    merged = lsoa.merge(lookup[["lsoa21cd", "wd24cd", "wd24nm"]], on="lsoa21cd")
    out = merged.dissolve("wd24cd", aggfunc={"wd24nm": "first"}).reset_index()
    out = gpd.GeoDataFrame(
        {"ward_code": out["wd24cd"].to_numpy(), "ward_name": out["wd24nm"].to_numpy()},
        geometry=out.geometry.to_numpy(), crs=lsoa.crs)
    return out.sort_values("ward_code").reset_index(drop=True), DISSOLVED_WARDS, note


def _deprivation(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The IoD2025 table written for the config, and the column names the config gives."""
    mid2022 = bool(table["pop_children_0_15_mid2022"].notna().all())
    official = bool(table["idaci_score_is_official"].all())
    score = "idaci_score" if official else "idaci_score_approx"
    cols = ["lsoa21cd", "lsoa21nm", "lad24cd", "lad24nm", "imd_score", "imd_rank", "imd_decile",
            "idaci_score", "idaci_score_is_official", "idaci_rank", "idaci_decile",
            "pop_total_census2021", "pop_children_0_15_census2021"]
    if mid2022:
        cols += ["pop_total_mid2022", "pop_children_0_15_mid2022"]
    out = table[cols].rename(columns={"idaci_score": score})
    out["idaci_score_is_official"] = out["idaci_score_is_official"].astype(int)
    return out, {
        "children_column": ("pop_children_0_15_mid2022" if mid2022
                            else "pop_children_0_15_census2021"),
        "population_column": "pop_total_mid2022" if mid2022 else "pop_total_census2021",
        "children_source": MID2022 if mid2022 else CENSUS2021,
        "idaci_score_column": score,
        "idaci_score_note": (
            "official IoD2025 IDACI scores (File 7)" if official else
            "an estimate of the IDACI score that never contradicts the official rank (typical "
            "error 0.002; see needmap/reference/README.md); ranks and deciles are official"
        ),
    }


def _postcodes(auth: ref.Authority, lsoa: gpd.GeoDataFrame) -> tuple[pd.DataFrame, int]:
    """The authority's postcodes with coordinates and the LSOA each lies in (or is nearest)."""
    pc = ref.postcodes_in_box(tuple(lsoa.total_bounds), POSTCODE_MARGIN)
    x = pc["eastings"].to_numpy(float)
    y = pc["northings"].to_numpy(float)
    idx = area_index(x, y, lsoa)
    member = (pc["lad_code"] == auth.code).fillna(False).to_numpy() | (
        pc["lad_code"].isna().to_numpy() & (idx >= 0)
    )
    pc, idx, x, y = pc[member].reset_index(drop=True), idx[member], x[member], y[member]
    outside = idx < 0
    if outside.any():
        tree = shapely.STRtree(lsoa.geometry.values)
        idx[outside] = tree.nearest(shapely.points(x[outside], y[outside]))
    pc["lsoa21cd"] = lsoa["lsoa21cd"].to_numpy()[idx]
    return pc[["postcode", "eastings", "northings", "lsoa21cd"]], int(outside.sum())


def _schools(lsoa: gpd.GeoDataFrame) -> pd.DataFrame:
    """Open schools whose coordinates lie in the authority's LSOAs."""
    s = ref.schools_in_box(tuple(lsoa.total_bounds))
    idx = area_index(s["easting"].to_numpy(float), s["northing"].to_numpy(float), lsoa)
    s = s[idx >= 0].copy()
    s["lsoa21cd"] = lsoa["lsoa21cd"].to_numpy()[idx[idx >= 0]]
    return s.reset_index(drop=True)


def _previous(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IoD2019 rows for the 2011 LSOAs that became this authority's 2021 LSOAs, and the lookup."""
    look = ref.lsoa11_lookup(table["lsoa21cd"].tolist())
    prev = ref.iod2019(sorted(look["lsoa11cd"].unique()))
    return prev, look.sort_values(["lsoa11cd", "lsoa21cd"]).reset_index(drop=True)


# -- what is written ----------------------------------------------------------------------------


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(auth: ref.Authority, *, today: dt.date, files: dict[str, str],
                dep_cols: dict[str, str], lsoa_gen: str, ward_gen: str, ward_note: str,
                children: int, england: dict[str, float]) -> str:
    """The needmap.toml ``init`` writes, with a comment on every choice it made."""
    q = _toml_str
    ward_comment = "\n".join(f"# {line}" for line in _wrap(ward_note))
    idaci_comment = "\n".join(f"# {line}" for line in _wrap(
        "English Indices of Deprivation 2025 (MHCLG) on 2021 LSOAs. IDACI score: "
        f"{dep_cols['idaci_score_note']}."))
    return f"""\
# needmap configuration for {auth.name} ({auth.code}), written by `needmap init` (needmap
# {__version__}) on {today.isoformat()} from the national data shipped with needmap. Every path is
# relative to this file. Sources, licences and attribution: DATA_NOTICE.md.
#
# Next: `needmap demo-data` writes SYNTHETIC records into data/synthetic/, `needmap refresh`
# builds a snapshot from them. For real records, point [records] at your exports and set
# synthetic = false.

[authority]
code = {q(auth.code)}
name = {q(auth.name)}

{ward_comment}
[boundaries.ward]
path = {q(files["wards"])}
code_column = "ward_code"
name_column = "ward_name"
generalisation = {q(ward_gen)}

[boundaries.lsoa]
path = {q(files["lsoa"])}
code_column = "lsoa21cd"
name_column = "lsoa21nm"
generalisation = {q(lsoa_gen)}

{idaci_comment}
# Children aged 0-15: {children:,} in {auth.n_lsoas} LSOAs. Source: {dep_cols["children_source"]}.
[deprivation]
path = {q(files["deprivation"])}
vintage = "IoD2025"
lsoa_vintage = "LSOA2021"
national_areas = 33755
code_column = "lsoa21cd"
children_column = {q(dep_cols["children_column"])}
children_age_band = "0-15"
children_source = {q(dep_cols["children_source"])}
population_column = {q(dep_cols["population_column"])}
imd_rank_column = "imd_rank"
imd_decile_column = "imd_decile"
imd_score_column = "imd_score"
idaci_rank_column = "idaci_rank"
idaci_decile_column = "idaci_decile"
idaci_score_column = {q(dep_cols["idaci_score_column"])}

# IoD2019 on 2011 LSOAs, for the ward-level change in deprivation (by national percentile, never
# by LSOA code): each 2011 LSOA reaches the current wards through the ONS LSOA 2011 -> 2021 lookup.
[deprivation_previous]
path = {q(files["previous"])}
vintage = "IoD2019"
lsoa_vintage = "LSOA2011"
national_areas = 32844
code_column = "lsoa11cd"
imd_rank_column = "imd_rank"
idaci_rank_column = "idaci_rank"
population_column = "pop_total_mid2015"
children_column = "pop_children_0_15_mid2015"
lookup = {q(files["previous_lookup"])}
lookup_from_column = "lsoa11cd"
lookup_to_column = "lsoa21cd"
lookup_to = "lsoa"

# ONS LSOA (2021) -> ward (2024) best fit: each LSOA counts whole in one ward.
[lookup]
path = {q(files["lookup"])}
lsoa_column = "lsoa21cd"
ward_column = "wd24cd"

# OS Code-Point Open 2025.4.0: the authority's live postcodes, each with the LSOA it lies in.
[postcodes]
path = {q(files["postcodes"])}
postcode_column = "postcode"
easting_column = "eastings"
northing_column = "northings"
lsoa_column = "lsoa21cd"

# Open schools (DfE GIAS, 24 May 2025) inside the authority's LSOAs.
[schools]
path = {q(files["schools"])}

# Record-level exports. These paths are where `needmap demo-data` writes SYNTHETIC records.
[records]
referrals = ["data/synthetic/referrals_synthetic.csv"]
engagement = ["data/synthetic/engagement_synthetic.csv"]
families = ["data/synthetic/families_synthetic.csv"]   # person -> family (SSD ssd_family)
synthetic = true

# England's figures, from the shipped IoD2025 table (33,755 LSOAs), weighted as needmap weights an
# authority's: children = Census 2021 children 0-15; imd_score and imd_pctile weighted by Census
# 2021 population; idaci_score and idaci_pctile weighted by Census 2021 children.
[england]
children = {england["children"]:.0f}
imd_score = {england["imd_score"]}
idaci_score = {england["idaci_score"]}
imd_pctile = {england["imd_pctile"]}
idaci_pctile = {england["idaci_pctile"]}

[maps]
attribution = {q(ATTRIBUTION)}

[output]
folder = "output"

[disclosure]
threshold = 5
""" + _zones_section(auth.n_lsoas)


def _zones_section(n_lsoas: int) -> str:
    """``[zones]`` where the authority has fewer LSOAs than the default staff count (one zone
    each): the Isles of Scilly has 1, so its suggested plan has 1 zone rather than failing."""
    staff = ZoneSettings().staff
    if n_lsoas >= staff:
        return ""
    return (f"\n# One zone per member of staff; with {n_lsoas} LSOA(s) at most {n_lsoas} zone(s).\n"
            f"[zones]\nstaff = {max(n_lsoas, 1)}\n")


#: The credit every map and export carries for the shipped data.
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025. Contains Royal Mail data © Royal "
    "Mail copyright and database right 2025. Contains National Statistics data © Crown copyright "
    "and database right 2025. Source: Office for National Statistics licensed under the Open "
    "Government Licence v3.0. English Indices of Deprivation 2025 and 2019, MHCLG, licensed under "
    "the Open Government Licence v3.0. Schools: DfE Get Information About Schools (OGL v3.0)."
)


def _wrap(text: str, width: int = 98) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def data_notice(auth: ref.Authority, *, fine: bool, dissolved: bool, mid2022: bool) -> str:
    """DATA_NOTICE.md for an init folder: every file, its source, vintage, licence."""
    lsoa = ("ONS LSOA (Dec 2021) Boundaries Generalised Clipped (BGC, 20 m)" if fine else
            "ONS LSOA (Dec 2021) Boundaries Generalised Super-Clipped (BSC, 200 m)")
    if dissolved:
        wards = ("the LSOA polygons above dissolved by the ONS LSOA (2021) to Ward (2024) best-fit "
                 "lookup (the authority was re-warded after the newest ward polygons shipped, "
                 "ONS Wards Dec 2023)")
    elif fine:
        wards = "ONS Wards (May 2023) Boundaries Generalised Clipped (BGC, 20 m); codes = WD24"
    else:
        wards = "ONS Wards (December 2023) Boundaries Generalised Super-Clipped (BSC, 200 m)"
    children = ("ONS mid-2022 dependent children aged 0-15 (IoD2025 File 7, the IDACI "
                "denominator)" if mid2022 else "Census 2021 children aged 0-15 (ONS)")
    rows = [
        ("boundaries/lsoa21_*", lsoa, "LSOA 2021", "OGL v3.0"),
        ("boundaries/wards_*", wards, "wards 2024 (WD24 codes)", "OGL v3.0"),
        ("data/iod2025_lsoa21_*", "MHCLG English Indices of Deprivation 2025 (IMD and IDACI "
         f"scores, ranks, deciles); children: {children}; population to match", "IoD2025",
         "OGL v3.0"),
        ("data/lookup_lsoa21_to_ward2024_*", "ONS LSOA (2021) to Electoral Ward (2024) to LAD "
         "(2024) Best Fit Lookup", "2024", "OGL v3.0"),
        ("data/postcodes_*", "Ordnance Survey Code-Point Open 2025.4.0 (LSOA by point in "
         "polygon)", "Oct 2025", "OS OpenData (OGL v3.0)"),
        ("data/schools_*", "DfE Get Information About Schools, open establishments",
         "24 May 2025", "OGL v3.0"),
        ("data/iod2019_lsoa11_*", "MHCLG English Indices of Deprivation 2019 (ranks, deciles, "
         "mid-2015 people)", "IoD2019", "OGL v3.0"),
        ("data/lookup_lsoa11_to_lsoa21_*", "ONS LSOA (2011) to LSOA (2021) lookup", "2021",
         "OGL v3.0"),
    ]
    table = "\n".join(f"| `{f}` | {src} | {vintage} | {lic} |" for f, src, vintage, lic in rows)
    return f"""\
# Data notice: {auth.name} ({auth.code})

Written by `needmap init` from the national files shipped in `needmap/reference/` (see its
README for mirrors, processing and sizes). Everything here is real published open data, cut to
{auth.name}; `data/synthetic/` (after `needmap demo-data`) is SYNTHETIC.

| File | Source | Vintage | Licence |
|---|---|---|---|
{table}

Required attribution, shown on every map:

> {ATTRIBUTION}
"""


__all__ = ["ATTRIBUTION", "InitResult", "config_text", "init_authority", "slug"]
