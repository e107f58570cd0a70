"""The malformed-input corpus, driven through the real ``needmap refresh`` command.

Every case is one row of the table in ``tests/corpus/README.md``: the file, which input of the
demo config it replaces, what is wrong with it, the exit code, and a fragment the ``Error:`` line
(exit 1) or the printed data-quality summary / ``Warning:`` line (exit 0) must contain. Small text
files are committed under ``tests/corpus/``; binary and big cases are generated here, in
``tmp_path``, by the function of the same name in ``GENERATORS``.

The selected cases run as subprocesses two at a time (a refresh is mostly single-threaded), once
per session; each test then checks its own case. Recoverable referral files share one refresh
(see ``TOGETHER``).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from needmap.sources import reference
from tests import hostile
from tests.conftest import ROOT, write_config

pytestmark = pytest.mark.slow

NEEDMAP = str(Path(sys.executable).parent / "needmap")
CORPUS = Path(__file__).parent / "corpus"

#: The demo input each role stands in for (as written in the config by ``write_config``).
ROLE_PATHS = {
    "referrals": ROOT / "data/synthetic/referrals_synthetic.csv",
    "engagement": ROOT / "data/synthetic/engagement_synthetic.csv",
    "deprivation": ROOT / "data/iod2025_lsoa21_oldham.csv",
    "lookup": ROOT / "data/lookup_lsoa21_to_ward2024_oldham.csv",
    "postcodes": ROOT / "data/postcodes_oldham_codepoint_open_2025_10.csv",
    "ward": ROOT / "boundaries/wards_may2023_bgc_oldham.parquet",
    "lsoa": ROOT / "boundaries/lsoa21_bgc_oldham.parquet",
}


@dataclass(frozen=True)
class Case:
    file: str
    role: str
    made: str  # "committed" or "generated"
    wrong: str
    exit: int
    expected: str


def corpus_table() -> list[Case]:
    """The rows of the table in tests/corpus/README.md."""
    cases = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 6 or not cells[0].startswith("`"):
            continue
        file, role, made, wrong, code, expected = cells
        cases.append(Case(file.strip("`"), role, made, wrong, int(code), expected.strip("`")))
    return cases


CASES = corpus_table()


# --- generated cases: binary, big, or derived from the real open data -------------------------

def _good_rows() -> list[list[str]]:
    with (CORPUS / "semicolon_delimited.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))


def _workbook(path: Path, rows: list[list[str]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Referrals"
    for row in rows:
        sheet.append(row)
    book.save(path)


def title_rows_xlsx(dest: Path) -> None:
    _workbook(dest, [["Referrals report"], ["Run by MASH team on 01/07/2025"], [],
                     *_good_rows()])


def header_only_xlsx(dest: Path) -> None:
    _workbook(dest, _good_rows()[:1])


def xlsx_named_csv(dest: Path) -> None:
    _workbook(dest, _good_rows())


def nul_bytes_csv(dest: Path) -> None:
    dest.write_bytes(b"cin_referral_id,person_id\n" + bytes(range(256)) * 8)


def very_large_csv(dest: Path) -> None:
    demo = pd.read_csv(ROLE_PATHS["referrals"], comment="#", dtype=str, keep_default_na=False)
    n = 200_000
    big = pd.concat([demo] * (n // len(demo) + 1), ignore_index=True).head(n)
    big["cin_referral_id"] = [f"BIG{i:07d}" for i in range(n)]
    big.to_csv(dest, index=False)


def _iod() -> pd.DataFrame:
    return pd.read_csv(ROLE_PATHS["deprivation"], dtype=str, keep_default_na=False)


def iod_missing_lsoas_csv(dest: Path) -> None:
    iod = _iod()
    iod.drop(index=[10, 50, 90]).to_csv(dest, index=False)


def iod_nan_children_csv(dest: Path) -> None:
    iod = _iod()
    iod.loc[9, "pop_children_0_15_mid2022"] = "NaN"
    iod.to_csv(dest, index=False)


def iod_invalid_gss_csv(dest: Path) -> None:
    iod = _iod()
    iod.loc[4, "lsoa21cd"] = "E0100532"
    iod.to_csv(dest, index=False)


def lookup_wrong_ward_vintage_csv(dest: Path) -> None:
    lk = pd.read_csv(ROLE_PATHS["lookup"], dtype=str, keep_default_na=False)
    lk["wd24cd"] = lk["wd24cd"].str.replace("E0501", "E0500", regex=False)
    lk.to_csv(dest, index=False)


def postcodes_text_easting_csv(dest: Path) -> None:
    pc = pd.read_csv(ROLE_PATHS["postcodes"], dtype=str, keep_default_na=False)
    pc.loc[2, "eastings"] = "3934 82m"
    pc.to_csv(dest, index=False)


def _wards() -> gpd.GeoDataFrame:
    return gpd.read_parquet(ROLE_PATHS["ward"])


def wards_no_crs_shp(dest: Path) -> None:
    _wards().to_file(dest)
    dest.with_suffix(".prj").unlink()


def wards_lonlat_labelled_27700_gpkg(dest: Path) -> None:
    _wards().to_crs("EPSG:4326").set_crs("EPSG:27700", allow_override=True).to_file(dest)


def wards_duplicate_codes_geojson(dest: Path) -> None:
    w = _wards()
    w.loc[3, "ward_code"] = w.loc[2, "ward_code"]
    w.to_file(dest)


def lsoa_bng_labelled_4326_geojson(dest: Path) -> None:
    # RFC 7946 GeoJSON has no CRS member, so British National Grid coordinates read as EPSG:4326.
    collection = json.loads(gpd.read_parquet(ROLE_PATHS["lsoa"]).to_crs("EPSG:27700").to_json())
    del collection["crs"]
    dest.write_text(json.dumps(collection))


def lsoa_invalid_polygon_geojson(dest: Path) -> None:
    lsoa = gpd.read_parquet(ROLE_PATHS["lsoa"]).to_crs("EPSG:4326")
    poly = shapely.get_parts(lsoa.geometry.iloc[0])[0]
    ring = list(poly.exterior.coords)[:-1]
    for i in range(1, len(ring) - 1):
        swapped = ring[:i] + [ring[i + 1], ring[i]] + ring[i + 2 :]
        bad = shapely.Polygon(swapped)
        if not bad.is_valid and abs(bad.area - poly.area) < 0.01 * poly.area:
            break
    else:  # pragma: no cover - the boundary always has a swappable vertex pair
        raise AssertionError("no vertex swap made the polygon invalid")
    geoms = lsoa.geometry.to_numpy().copy()
    geoms[0] = bad
    lsoa.geometry = geoms
    assert lsoa.geometry.is_valid.sum() == len(lsoa) - 1
    lsoa.to_file(dest)


def lsoa_other_authority_geojson(dest: Path) -> None:
    # Bolton's LSOA 2021 polygons, from the reference data shipped with needmap.
    bolton = reference.lsoa_polygons("E08000001", fine=True)
    bolton.assign(lsoa21nm=bolton["lsoa21cd"]).to_crs("EPSG:4326").to_file(dest)


# --- hostile files (issue 11): bombs, huge values, binary and mixed text, misplaced geography ----

def shared_string_bomb_xlsx(dest: Path) -> None:
    hostile.xlsx_long_shared_string(dest, 150_000_000)  # a 150 KB file


def sheet_zip_bomb_xlsx(dest: Path) -> None:
    hostile.xlsx_sheet_padding(dest, 200_000_000)


def long_text_cell_xlsx(dest: Path) -> None:
    hostile.xlsx_long_shared_string(dest, 1_000_000, row=7, column=3, random=True)


def long_inline_text_xlsx(dest: Path) -> None:
    hostile.xlsx_long_inline_string(dest, 200_000)


def xml_entities_xlsx(dest: Path) -> None:
    hostile.xlsx_entities(dest)


def many_styles_xlsx(dest: Path) -> None:
    hostile.xlsx_styles(dest, 400_000)


def many_parts_xlsx(dest: Path) -> None:
    hostile.xlsx_many_parts(dest, 20_000)


def sparse_grid_xlsx(dest: Path) -> None:
    hostile.xlsx_sparse(dest)


def one_text_many_cells_xlsx(dest: Path) -> None:
    hostile.xlsx_repeated_string(dest, 100_000, 2_000)


def long_field_csv(dest: Path) -> None:
    hostile.csv_long_field(dest, 200_000)


def long_field_multiline_csv(dest: Path) -> None:
    lines = _good_rows()
    lines[2][1] = '"' + "\n".join(["P" * 1000] * 140) + '"'
    dest.write_text("\n".join(",".join(r) for r in lines) + "\n", encoding="utf-8")


def long_field_in_sample_csv(dest: Path) -> None:
    lines = _good_rows()
    lines[2][1] = '"' + "\n".join(["P" * 10_000] * 15) + '"'
    dest.write_text("\n".join(";".join(r) for r in lines) + "\n", encoding="utf-8")


def nul_after_64k_csv(dest: Path) -> None:
    hostile.csv_nul_late(dest)


def wards_latlon_swapped_geojson(dest: Path) -> None:
    hostile.wards_latlon_swapped(dest)


def lsoa_latlon_swapped_geojson(dest: Path) -> None:
    hostile.lsoa_latlon_swapped(dest)


def wards_bng_labelled_3857_gpkg(dest: Path) -> None:
    hostile.wards_wrong_crs(dest)


def postcodes_swapped_csv(dest: Path) -> None:
    hostile.postcodes_swapped(dest)


GENERATORS: dict[str, Callable[[Path], None]] = {
    f.__name__.replace("_xlsx", ".xlsx").replace("_csv", ".csv").replace("_shp", ".shp")
    .replace("_gpkg", ".gpkg").replace("_geojson", ".geojson"): f
    for f in (
        title_rows_xlsx, header_only_xlsx, xlsx_named_csv, nul_bytes_csv, very_large_csv,
        iod_missing_lsoas_csv, iod_nan_children_csv, iod_invalid_gss_csv,
        lookup_wrong_ward_vintage_csv, postcodes_text_easting_csv, wards_no_crs_shp,
        wards_lonlat_labelled_27700_gpkg, wards_duplicate_codes_geojson,
        lsoa_bng_labelled_4326_geojson,
        lsoa_invalid_polygon_geojson, lsoa_other_authority_geojson,
        shared_string_bomb_xlsx, sheet_zip_bomb_xlsx, long_text_cell_xlsx, long_inline_text_xlsx,
        xml_entities_xlsx, many_styles_xlsx, many_parts_xlsx, sparse_grid_xlsx,
        one_text_many_cells_xlsx,
        long_field_csv, long_field_multiline_csv, long_field_in_sample_csv, nul_after_64k_csv,
        wards_latlon_swapped_geojson, lsoa_latlon_swapped_geojson, wards_bng_labelled_3857_gpkg,
        postcodes_swapped_csv,
    )
}


# --- running ----------------------------------------------------------------------------------

#: Recoverable referral files are read together, as the config allows several exports of a kind:
#: one refresh prints one summary block per file, and each case is checked on its own block. It
#: saves a dozen CLI runs; every other case runs alone.
TOGETHER = "recoverable referral files"


def group_of(case: Case) -> str:
    if case.role == "referrals" and case.exit == 0 and case.file != "very_large.csv":
        return TOGETHER
    return case.file


def run_group(cases: list[Case], folder: Path) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        if case.made == "generated":
            paths.append(folder / case.file)
            GENERATORS[case.file](paths[-1])
        else:
            paths.append(CORPUS / case.file)
    role = cases[0].role
    # Engagement cases stand in for an export with no person -> family table beside it.
    unlinked = ({"b": f'families = ["{ROOT}/data/synthetic/families_synthetic.csv"]\n=>'}
                if role == "engagement" else {})
    if len(cases) == 1:
        cfg = write_config(folder, a=f"{ROLE_PATHS[role]}=>{paths[0]}", **unlinked)
    else:
        listed = ", ".join(f'"{p}"' for p in paths)
        cfg = write_config(folder, a=f'"{ROLE_PATHS[role]}"=>{listed}', **unlinked)
    return subprocess.run([NEEDMAP, "refresh", "--config", str(cfg), "--quiet"],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def results(request, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Run every corpus case selected in this session, two refreshes at a time."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and "case" in item.callspec.params
    ]
    groups: dict[str, list[Case]] = {}
    for case in sorted(selected, key=lambda c: c.file != "very_large.csv"):  # longest first
        groups.setdefault(group_of(case), []).append(case)
    root = tmp_path_factory.mktemp("corpus")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_group, cases, root / re.sub(r"\W", "_", name))
                   for name, cases in groups.items()}
        return {case.file: futures[name].result()
                for name, cases in groups.items() for case in cases}


def test_table_and_files_agree():
    committed = {c.file for c in CASES if c.made == "committed"}
    generated = {c.file for c in CASES if c.made == "generated"}
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "README.md"}
    assert committed == on_disk
    assert generated == set(GENERATORS)
    assert len(CASES) >= 30 and len({c.file for c in CASES}) == len(CASES)
    assert {c.role for c in CASES} <= set(ROLE_PATHS)
    assert {c.exit for c in CASES} == {0, 1}


SUMMARY = re.compile(r"(?P<read>[\d,]+) rows read, (?P<used>[\d,]+) used, (?P<rej>[\d,]+) rejected")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_corpus_case(case: Case, results):
    proc = results[case.file]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == case.exit, proc.stdout + proc.stderr
    if case.exit:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, proc.stderr
        line = errors[0]
        stem = Path(case.file).stem
        assert stem in line, f"{line!r} does not name the file"
        assert case.expected in line, line
        return
    assert not [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    # Anything said on stderr is a one-line warning.
    assert all(line.startswith("Warning: ") for line in proc.stderr.splitlines()), proc.stderr
    if case.role not in ("referrals", "engagement"):
        assert case.expected in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        return
    # This file's block of the summary: its line, then the indented lines under it.
    lines = proc.stdout.splitlines()
    i = next(i for i, line in enumerate(lines) if "rows read" in line
             and Path(line.split(": ", 1)[0].split(" ", 3)[-1]).name == case.file)
    block = [lines[i]]
    for line in lines[i + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    assert case.expected in "\n".join(block), "\n".join(block)
    # The summary accounts for every row: read = used + rejected, and the reasons add up.
    m = SUMMARY.search(block[0])
    read, used, rejected = (_int(m[k]) for k in ("read", "used", "rej"))
    assert read == used + rejected
    reasons = [r for line in block[1:] if "rejected: " in line
               for r in line.split("rejected: ", 1)[1].split(", ")]
    assert sum(_int(r.rsplit(" ", 1)[1]) for r in reasons) == rejected
