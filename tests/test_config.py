"""Configuration: another authority (Bolton) by editing the config only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needmap.config import load_config
from needmap.errors import ConfigError, NeedmapWarning
from needmap.refresh import refresh
from needmap.snapshot import load_snapshot
from tests.conftest import ROOT

FIX = ROOT / "tests" / "fixtures" / "bolton"

BOLTON = """
[authority]
code = "E08000001"
name = "Bolton"

[boundaries.ward]
path = "{fix}/wards_may2023_bgc_bolton.geojson"
code_column = "wd23cd"
name_column = "wd23nm"
authority_column = "lad23cd"

[boundaries.lsoa]
path = "{fix}/lsoa11_bgc_bolton.geojson"
code_column = "lsoa11cd"
name_column = "lsoa11nm"

[deprivation]
path = "{fix}/iod2019_lsoa11_bolton.csv"
vintage = "IoD2019"
lsoa_vintage = "LSOA2011"
code_column = "lsoa11cd"
authority_column = "lad19cd"
children_column = "pop_children_0_15_mid2015"
children_age_band = "0-15"
population_column = "pop_total_mid2015"
imd_rank_column = "imd_rank"
idaci_rank_column = "idaci_rank"
idaci_score_column = "idaci_rate_approx"

[records]
referrals = ["{tmp}/refs.csv"]
engagement = ["{tmp}/eng.csv"]

[output]
folder = "{tmp}/out"
"""


def test_bolton_by_config_only(tmp_path):
    lsoa = pd.read_csv(FIX / "iod2019_lsoa11_bolton.csv")
    rng = np.random.default_rng(0)
    codes = rng.choice(lsoa["lsoa11cd"], size=400)
    pd.DataFrame({
        "referral_id": [f"R{i}" for i in range(400)],
        "child_id": [f"C{i % 350}" for i in range(400)],
        "date_of_referral": "15/01/2025",
        "lsoa": codes,
    }).to_csv(tmp_path / "refs.csv", index=False)
    # Bolton town hall, by easting/northing, for every engagement record.
    pd.DataFrame({
        "family_id": [f"F{i}" for i in range(30)],
        "start_date": "2025-02-01",
        "easting": 371700, "northing": 409100,
    }).to_csv(tmp_path / "eng.csv", index=False)
    (tmp_path / "needmap.toml").write_text(BOLTON.format(fix=FIX, tmp=tmp_path))
    config = load_config(tmp_path / "needmap.toml")
    with pytest.warns(NeedmapWarning, match="assigned to the ward it overlaps most"):
        result = refresh(config)
    assert any("overlaps most" in w for w in result.warnings)
    snap = load_snapshot(result.snapshot_path)
    assert len(snap.ward) == 20 and len(snap.lsoa) == 177
    assert snap.lsoa["children"].sum() == snap.ward["children"].sum() == 58831
    raw = snap.raw_cells()
    period = raw[raw["period"] == snap.configured_period]
    ward_refs = period[(period["level"] == "ward") & (period["measure"] == "referrals")]
    assert ward_refs["count"].sum() == 400
    assert snap.manifest["lookup_method"] == "largest_overlap"
    # All 30 families sit in the one LSOA that holds the town hall point.
    fams = period[(period["level"] == "lsoa") & (period["measure"] == "families_engaged")]
    assert (fams["count"] == 30).sum() == 1 and fams["count"].sum() == 30
    # No IMD score column configured: scores blank, rank-based percentiles present.
    assert snap.lsoa["imd_score"].isna().all() and snap.lsoa["imd_pctile"].notna().all()


def test_config_errors_name_the_section(tmp_path):
    p = tmp_path / "needmap.toml"
    p.write_text('[authority]\ncode = "E08000004"\nname = "Oldham"\n')
    with pytest.raises(ConfigError, match=r"section \[boundaries.ward\] is missing"):
        load_config(p)
    p.write_text("[authority\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_demo_config_reads(demo_config_path):
    c = load_config(demo_config_path)
    assert c.authority.code == "E08000004" and c.disclosure.threshold == 5
    assert c.deprivation.vintage == "IoD2025" and c.deprivation.lsoa_vintage == "LSOA2021"
    assert c.deprivation.national_areas == 33755 and c.lookup is not None
    prev = c.deprivation_previous
    assert prev is not None and (prev.vintage, prev.lookup_to) == ("IoD2019", "lsoa")
    assert [r.kind for r in c.records.sources] == ["referrals", "engagement"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # A bool is not a number, and text is not a whole number.
        ("threshold = 5 ", "threshold = true ", r"\[disclosure\] threshold must be a whole "
         r"number, found a true/false value True"),
        ("threshold = 5 ", 'threshold = "5" ', r"\[disclosure\] threshold must be a whole number"),
        # The DfE rule is the minimum.
        ("threshold = 5 ", "threshold = 3 ", r"threshold must be a whole number >= 5"),
        # Unknown keys are refused with the list of valid ones.
        ("bands = 5 ", "bandz = 5 ", r"\[radar\] has an unknown key 'bandz'. Valid keys: method, "
         r"bands"),
        ("[schools]\n", "[schools]\nphase = 1\n", r"\[schools\] has an unknown key 'phase'"),
        ("[output]\n", "[outputs]\n", r"unknown section \[outputs\]"),
        ("fdr = 0.2 ", "fdr = 2 ", r"\[radar\] fdr must be a false discovery rate"),
        ('start = "2022-10-01"', 'start = "1 Oct 2022"', r"\[period\] start = '1 Oct 2022' is "
         "not a date"),
        ('code = "E08000004"', 'code = "Oldham"', r"\[authority\] code must be a GSS code"),
        ("synthetic = true", 'synthetic = "yes"', r"\[records\] synthetic must be true or false"),
        ("max_reject_share = 0.5", "max_reject_share = 5", r"max_reject_share must be a share"),
    ],
)
def test_config_values_are_type_checked_at_load(tmp_path, old, new, message):
    from tests.conftest import write_config

    path = write_config(tmp_path, spec=f"{old}=>{new}")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_radar_settings_come_from_the_config(tmp_path):
    from tests.conftest import write_config

    path = write_config(tmp_path, spec='bands = 5 =>bands = 4 ',
                        method='method = "poisson"=>method = "indirect"')
    radar = load_config(path).radar
    assert radar.bands == 4 and radar.method == "indirect"
