"""Change in deprivation by ward between two IoD vintages: by rank, through a lookup, never by code.

The small example is worked by hand in the comments; the demo check recomputes Alexandra ward
from the shipped CSV files with plain pandas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from needmap.config import PreviousDeprivationSource, load_config
from needmap.errors import ConfigError, InputError
from needmap.refresh import load_geography
from needmap.sources.deprivation import WARD_CHANGE_COLUMNS, read_ward_change
from tests.conftest import ROOT, write_config

#: Three 2011 LSOAs in an England of 100: A is unchanged as L1, B was split into L2 and L3, and C
#: was merged into L3. L1 and L2 are in ward W1, L3 in W2.
PREVIOUS = ("code,imd_rank,idaci_rank,pop,kids\n"
            "A,1,10,1000,200\n"    # IMD pctile 100, IDACI 91
            "B,51,20,2000,400\n"   # IMD 50, IDACI 81
            "C,100,90,500,100\n")  # IMD 1, IDACI 11
TO_LSOA = "from,to\nA,L1\nB,L2\nB,L3\nC,L3\n"
TO_WARD = "from,to\nA,W1\nB,W1\nB,W2\nC,W2\n"
CURRENT = pd.DataFrame({
    "lsoa_code": ["L1", "L2", "L3"],
    "population": [1100.0, 900.0, 2500.0],
    "children": [250.0, 150.0, 500.0],
    "imd_pctile": [80.0, 60.0, 40.0],
    "idaci_pctile": [90.0, 70.0, 50.0],
})
LOOKUP = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "ward_code": ["W1", "W1", "W2"]})


def _source(tmp_path: Path, lookup: str, to: str, previous: str = PREVIOUS, **kw):
    (tmp_path / "prev.csv").write_text(previous)
    (tmp_path / "lookup.csv").write_text(lookup)
    return PreviousDeprivationSource(
        path=tmp_path / "prev.csv", vintage="IoD2019", lsoa_vintage="LSOA2011",
        code_column="code", imd_rank_column="imd_rank", idaci_rank_column="idaci_rank",
        population_column="pop", children_column="kids", lookup=tmp_path / "lookup.csv",
        lookup_from_column="from", lookup_to_column="to", lookup_to=to,
        national_areas=kw.pop("national_areas", 100), **kw,
    )


@pytest.mark.parametrize(("lookup", "to"), [(TO_LSOA, "lsoa"), (TO_WARD, "ward")])
def test_worked_example(tmp_path, lookup, to):
    out = read_ward_change(_source(tmp_path, lookup, to), CURRENT, LOOKUP).set_index("ward_code")
    assert list(out.reset_index().columns) == WARD_CHANGE_COLUMNS
    # B is split in two, so each half carries half its population and children.
    # W1 before: IMD (100*1000 + 50*1000) / 2000 = 75;   IDACI (91*200 + 81*200) / 400 = 86.
    # W2 before: IMD (50*1000 + 1*500) / 1500 = 33.667;  IDACI (81*200 + 11*100) / 300 = 57.667.
    assert out.loc["W1", "imd_pctile_previous"] == pytest.approx(75.0)
    assert out.loc["W1", "idaci_pctile_previous"] == pytest.approx(86.0)
    assert out.loc["W2", "imd_pctile_previous"] == pytest.approx(50500 / 1500)
    assert out.loc["W2", "idaci_pctile_previous"] == pytest.approx(17300 / 300)
    # Now: W1 IMD (80*1100 + 60*900) / 2000 = 71, IDACI (90*250 + 70*150) / 400 = 82.5; W2 40, 50.
    # Positive = relatively more deprived now: W2 rose in England's IMD ranking, W1 fell.
    assert out.loc["W1", "imd_pctile_change"] == pytest.approx(71 - 75)
    assert out.loc["W2", "imd_pctile_change"] == pytest.approx(40 - 50500 / 1500)
    assert out.loc["W1", "idaci_pctile_change"] == pytest.approx(82.5 - 86)
    assert out.loc["W2", "idaci_pctile_change"] == pytest.approx(50 - 17300 / 300)


def test_a_lookup_code_missing_from_the_earlier_file_is_named(tmp_path):
    source = _source(tmp_path, TO_LSOA + "D,L3\n", "lsoa")
    with pytest.raises(InputError, match=r"prev\.csv, column 'code': 1 LSOA2011 LSOA\(s\) named "
                       r"in lookup\.csv have no row, e\.g\. D"):
        read_ward_change(source, CURRENT, LOOKUP)


def test_a_lookup_that_reaches_no_current_area_says_which_setting(tmp_path):
    with pytest.raises(InputError, match=r"lookup\.csv, column 'to': no row names one of this "
                       r"authority's current wards .*lookup_to = \"ward\""):
        read_ward_change(_source(tmp_path, TO_LSOA, "ward"), CURRENT, LOOKUP)


def test_ranks_above_national_areas_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"a rank is above national_areas = 50 \(LSOA B\)"):
        read_ward_change(_source(tmp_path, TO_LSOA, "lsoa", national_areas=50), CURRENT, LOOKUP)


def test_lookup_to_must_be_lsoa_or_ward(tmp_path):
    cfg = write_config(tmp_path, a='lookup_to = "lsoa"=>lookup_to = "lsoa21"')
    with pytest.raises(ConfigError, match=r"\[deprivation_previous\] lookup_to must be one of "
                       r"'lsoa', 'ward', found 'lsoa21'"):
        load_config(cfg)


def test_demo_change_iod2019_to_iod2025(demo_config_path):
    geo = load_geography(load_config(demo_config_path))
    change = geo.ward_change.set_index("ward_code")
    assert len(change) == 20 and change.notna().all().all()
    assert change.abs().max().max() <= 100
    # Alexandra (E05014646): its 2011 LSOAs are unchanged in 2021 (ONS change code U), so its
    # IoD2019 figure is the plain population-weighted mean of their national IMD percentiles.
    look = pd.read_csv(ROOT / "data/lookup_lsoa11_to_lsoa21_oldham.csv")
    wards = pd.read_csv(ROOT / "data/lookup_lsoa21_to_ward2024_oldham.csv")
    iod19 = pd.read_csv(ROOT / "data/iod2019_lsoa11_oldham.csv")
    iod25 = pd.read_csv(ROOT / "data/iod2025_lsoa21_oldham.csv")
    alex21 = wards.loc[wards["wd24cd"] == "E05014646", "lsoa21cd"]
    alex11 = look[look["lsoa21cd"].isin(alex21)]
    assert (alex11["chgind"] == "U").all() and len(alex11) == 7
    before = iod19[iod19["lsoa11cd"].isin(alex11["lsoa11cd"])]
    pct19 = 100 * (32844 - before["imd_rank"] + 1) / 32844
    expected19 = (pct19 * before["pop_total_mid2015"]).sum() / before["pop_total_mid2015"].sum()
    now = iod25[iod25["lsoa21cd"].isin(alex21)]
    pct25 = 100 * (33755 - now["imd_rank"] + 1) / 33755
    expected25 = (pct25 * now["pop_total_mid2022"]).sum() / now["pop_total_mid2022"].sum()
    assert change.loc["E05014646", "imd_pctile_previous"] == pytest.approx(expected19)
    assert change.loc["E05014646", "imd_pctile_change"] == pytest.approx(expected25 - expected19)
