"""``needmap init`` for any English district, through the CLI entry point.

The three slow end-to-end cases are an authority of each kind: a metropolitan district with the
20 m boundaries and mid-2022 denominators shipped (Bolton), a London borough (Hackney) and a
large county unitary (Cornwall). Each checks its LSOAs and children against the shipped national
IoD2025 table, read here with pyarrow alone, and that demo-data and refresh then run unedited.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest

from needmap import init as init_module
from needmap.cli import main
from needmap.config import load_config
from needmap.snapshot import load_snapshot
from needmap.sources.reference import REFERENCE

NATIONAL = REFERENCE / "lsoa21_iod2025.parquet"


def national(code: str) -> pd.DataFrame:
    """The authority's rows of the shipped national IoD2025 table, read without needmap."""
    t = pq.read_table(NATIONAL).to_pandas()
    return t[t["lad24cd"] == code]


def run_init(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["init", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def written(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    cfg = tomllib.loads((folder / "needmap.toml").read_text())
    dep = pd.read_csv(folder / cfg["deprivation"]["path"])
    lookup = pd.read_csv(folder / cfg["lookup"]["path"])
    wards = gpd.read_parquet(folder / cfg["boundaries"]["ward"]["path"])
    return cfg, dep, lookup, wards


@pytest.mark.slow
@pytest.mark.parametrize(
    ("authority", "code", "n_lsoas", "children_column", "generalisation"),
    [
        # PROVENANCE.md: Bolton 177 LSOAs, 64,479 mid-2022 children (the IDACI denominator).
        ("Bolton", "E08000001", 177, "pop_children_0_15_mid2022", "BGC, 20 m"),
        ("hackney", "E09000012", 149, "pop_children_0_15_census2021", "BSC, 200 m"),
        ("E06000052", "E06000052", 336, "pop_children_0_15_census2021", "BSC, 200 m"),
    ],
    ids=["metropolitan-Bolton", "london-Hackney", "county-Cornwall"],
)
def test_init_demo_data_refresh(tmp_path, capsys, authority, code, n_lsoas, children_column,
                                generalisation):
    folder = tmp_path / "la"
    status, out, err = run_init(capsys, "--authority", authority, "--out", str(folder))
    assert status == 0, err
    nat = national(code)
    children = int(nat[children_column].sum())
    assert len(nat) == n_lsoas
    assert f"{n_lsoas} LSOAs" in out and f"{children:,} children aged 0-15" in out
    cfg, dep, lookup, wards = written(folder)
    assert cfg["authority"]["code"] == code
    assert cfg["deprivation"]["children_column"] == children_column
    assert cfg["boundaries"]["lsoa"]["generalisation"].startswith(generalisation)
    # The cut is exactly the authority's LSOAs, with the national file's children.
    assert set(dep["lsoa21cd"]) == set(nat["lsoa21cd"]) and len(dep) == n_lsoas
    assert dep[children_column].sum() == children
    # Every LSOA has one ward, and every ward it names has a polygon.
    assert set(lookup["lsoa21cd"]) == set(dep["lsoa21cd"]) and lookup["lsoa21cd"].is_unique
    assert lookup["wd24cd"].notna().all() and set(lookup["wd24cd"]) <= set(wards["ward_code"])
    config = folder / "needmap.toml"
    assert main(["demo-data", "--config", str(config)]) == 0
    assert main(["refresh", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{n_lsoas} LSOAs, {children:,} children aged 0-15" in out
    snap = load_snapshot(load_config(config).snapshots_folder)
    assert snap.manifest["children_total"] == children
    assert snap.manifest["deprivation_vintage"] == "IoD2025"
    referrals = snap.cells("authority", snap.configured_period).set_index("measure")
    assert len(snap.lsoa) == n_lsoas and referrals.loc["referrals", "value"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "n_lsoas", "planted"),
    [("E06000053", 1, (0, 0)), ("E09000001", 6, (1, 0)), ("E06000017", 26, (4, 1))],
    ids=["Isles-of-Scilly", "City-of-London", "Rutland"],
)
def test_the_smallest_districts_run_demo_data_refresh_and_the_app_unedited(
    tmp_path, capsys, monkeypatch, code, n_lsoas, planted
):
    # demo-data used to plant 8 + 3 areas in the most deprived 40% of LSOAs and stopped with
    # "Only 10 LSOAs in the most deprived 40%" (Rutland; 3 districts in all); the Isles of
    # Scilly's refresh then stopped at the radar ("needs at least 5 areas") and its suggested
    # zone plan at "6 zones cannot be made from 1 LSOAs".
    folder = tmp_path / "la"
    assert run_init(capsys, "--authority", code, "--out", str(folder))[0] == 0
    assert len(national(code)) == n_lsoas
    config = folder / "needmap.toml"
    assert main(["demo-data", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"planted {planted[0]} off-the-radar and {planted[1]} hidden-need areas" in out
    assert main(["refresh", "--config", str(config), "--quiet"]) == 0
    snap = load_snapshot(load_config(config).snapshots_folder)
    assert len(snap.lsoa) == n_lsoas
    flags = snap.flags("lsoa", "engagement")
    if n_lsoas < 5:  # too few to compare: listed, not judged, and said so
        assert (flags["flag"] == "no data").all() and len(flags) == n_lsoas
        assert flags["reason"].str.startswith(
            "Only 1 neighbourhood (LSOA) in Isles of Scilly can be judged; the radar compares at "
            "least 5").all()
        assert load_config(config).zones.staff == n_lsoas
    else:
        assert (flags["flag"] != "no data").any()
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NEEDMAP_CONFIG", str(config))
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    for page in ("overview", "off_radar", "zones", "my_zone", "data"):
        at = AppTest.from_file(app, default_timeout=120).run()
        at.switch_page(f"needmap/app/pages/{page}.py").run()
        assert not at.exception and not at.error, (page, [e.value for e in at.exception],
                                                   [e.body for e in at.error])


def test_demo_data_plants_what_it_is_asked_and_refuses_what_does_not_fit(tmp_path, capsys):
    folder = tmp_path / "la"
    assert run_init(capsys, "--authority", "E06000017", "--out", str(folder))[0] == 0
    config = str(folder / "needmap.toml")
    assert main(["demo-data", "--config", config, "--off-radar", "2", "--hidden-need", "0"]) == 0
    assert "planted 2 off-the-radar and 0 hidden-need areas" in capsys.readouterr().out
    assert main(["demo-data", "--config", config, "--off-radar", "11"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Only 10 LSOAs in the authority's most deprived 40%")
    assert "needmap demo-data --off-radar N --hidden-need N" in err
    with pytest.raises(SystemExit) as bad:
        main(["demo-data", "--config", config, "--off-radar", "-1"])
    assert bad.value.code == 2
    assert "not a whole number >= 0" in capsys.readouterr().err


def test_unknown_name_is_refused_with_the_closest(tmp_path, capsys):
    status, _, err = run_init(capsys, "--authority", "Boltn", "--out", str(tmp_path / "x"))
    assert status == 1
    assert err.startswith("Error: No local authority district in England is called 'Boltn'. "
                          "Closest: Bolton")
    assert not (tmp_path / "x").exists()
    status, _, err = run_init(capsys, "--authority", "Kent", "--out", str(tmp_path / "x"))
    assert status == 1 and "counties such as Kent are split into districts" in err


def test_existing_folder_needs_force_and_is_replaced_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_init(capsys, "--authority", "OLDHAM")
    assert status == 0 and "Wrote " + str(tmp_path / "oldham") in out
    (tmp_path / "oldham" / "mine.txt").write_text("kept?")
    status, _, err = run_init(capsys, "--authority", "E08000004")
    assert status == 1 and "already exists" in err and "--force" in err
    assert (tmp_path / "oldham" / "mine.txt").exists()
    status, _, _ = run_init(capsys, "--authority", "E08000004", "--force")
    assert status == 0 and not (tmp_path / "oldham" / "mine.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["oldham"]


def test_a_failure_leaves_nothing_half_written(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(init_module, "_schools", broken)
    with pytest.raises(OSError):
        main(["init", "--authority", "Oldham", "--out", str(tmp_path / "new")])
    assert list(tmp_path.iterdir()) == []
    # With --force over an existing folder, the old folder survives the failure untouched.
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "needmap.toml").write_text("# mine")
    with pytest.raises(OSError):
        main(["init", "--authority", "Oldham", "--out", str(tmp_path / "old"), "--force"])
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (tmp_path / "old" / "needmap.toml").read_text() == "# mine"


def test_oldham_is_the_demo(tmp_path, capsys):
    """The demo's reference files are exactly what init writes for Oldham."""
    from tests.conftest import ROOT

    status, _, _ = run_init(capsys, "--authority", "Oldham", "--out", str(tmp_path / "o"))
    assert status == 0
    for path in (tmp_path / "o" / "data").glob("*.csv"):
        assert path.read_text() == (ROOT / "data" / path.name).read_text(), path.name
    for path in (tmp_path / "o" / "boundaries").glob("*.parquet"):
        ours, shipped = gpd.read_parquet(path), gpd.read_parquet(ROOT / "boundaries" / path.name)
        assert ours.drop(columns="geometry").equals(shipped.drop(columns="geometry"))
        assert ours.geom_equals_exact(shipped, tolerance=0).all() and ours.crs == shipped.crs
    dep = pd.read_csv(tmp_path / "o" / "data" / "iod2025_lsoa21_oldham.csv")
    # PROVENANCE.md: 142 LSOAs, 55,241 mid-2022 children (Census 2021: 55,053), official IDACI.
    assert len(dep) == 142 and dep["pop_children_0_15_mid2022"].sum() == 55241
    assert dep["pop_children_0_15_census2021"].sum() == 55053
    assert dep["idaci_score_is_official"].all()


def test_rewarded_authority_draws_wards_from_its_lsoas_and_says_so(tmp_path, capsys):
    status, out, err = run_init(capsys, "--authority", "Dudley", "--out", str(tmp_path / "d"))
    assert status == 0
    assert "Warning: Dudley's wards changed after December 2023" in err
    assert "dissolved" in out
    cfg, dep, lookup, wards = written(tmp_path / "d")
    assert "dissolved" in cfg["boundaries"]["ward"]["generalisation"]
    assert "wards changed after December 2023" in (tmp_path / "d" / "needmap.toml").read_text()
    # One polygon per current (WD24) ward of the lookup, covering the LSOAs exactly.
    assert set(wards["ward_code"]) == set(lookup["wd24cd"]) and len(wards) == 24
    lsoa = gpd.read_parquet(tmp_path / "d" / cfg["boundaries"]["lsoa"]["path"])
    assert wards.area.sum() == pytest.approx(lsoa.area.sum(), rel=1e-6)


def test_lsoa_best_fitted_to_another_districts_ward_stays_in_its_own(tmp_path, capsys):
    status, _, err = run_init(capsys, "--authority", "West Northamptonshire", "--out",
                              str(tmp_path / "w"))
    assert status == 0
    assert ("LSOA E01027305 is in West Northamptonshire in IoD2025 but ONS best-fits it to ward "
            "E05010929") in err
    _, dep, lookup, wards = written(tmp_path / "w")
    row = lookup.set_index("lsoa21cd").loc["E01027305"]
    assert row["method"] == "nearest_ward_in_authority" and row["wd24cd"] in set(wards["ward_code"])
    assert "E01027305" in set(dep["lsoa21cd"])


def test_postcodes_follow_2025_codes_and_coordinates(tmp_path, capsys):
    pc = pq.read_table(REFERENCE / "postcodes_codepoint_open_2025_10.parquet").to_pandas()
    # Barnsley's postcodes carry its 2025 code E08000038 in Code-Point Open; IoD2025 uses
    # E08000016. Every one of them is Barnsley's.
    status, _, _ = run_init(capsys, "--authority", "Barnsley", "--out", str(tmp_path / "b"))
    assert status == 0
    cut = pd.read_csv(tmp_path / "b" / "data" / "postcodes_barnsley_codepoint_open_2025_10.csv")
    assert set(pc.loc[pc["lad_code"] == "E08000038", "postcode"]) == set(cut["postcode"])
    # Southwark holds most of the 205 postcodes OS gives no codes: they join by coordinates.
    status, _, _ = run_init(capsys, "--authority", "Southwark", "--out", str(tmp_path / "s"))
    assert status == 0
    cut = pd.read_csv(tmp_path / "s" / "data" / "postcodes_southwark_codepoint_open_2025_10.csv")
    codeless = set(pc.loc[pc["lad_code"].isna(), "postcode"])
    assert len(codeless & set(cut["postcode"])) > 100
    assert cut["lsoa21cd"].notna().all()


@pytest.mark.parametrize(("typed", "code"), [
    ("st helens", "E08000013"),            # published "St. Helens"
    ("Bristol", "E06000023"),              # published "Bristol, City of"
    ("city of bristol", "E06000023"),
    ("newcastle under lyme", "E07000195"),  # published "Newcastle-under-Lyme"
    ("kings lynn & west norfolk", "E07000146"),
    ("e08000001", "E08000001"),
])
def test_names_as_people_type_them(typed, code):
    from needmap.sources.reference import find_authority

    assert find_authority(typed).code == code
