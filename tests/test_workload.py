"""Workload measures by hand, and plan_zones on the demo snapshot: count, cover, contiguity,
balance, determinism, FTE targets, roster bases, locks and the errors a person can make."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from needmap.config import load_config
from needmap.errors import InputError
from needmap.plans import read_roster
from needmap.workload import (
    EXAMPLE_ROSTER,
    WORKLOAD_LABELS,
    plan_zones,
    read_roster_upload,
    roster_postcodes,
    workload,
)
from needmap.zones import is_contiguous
from tests.conftest import write_config

OL1_1AA_LSOA = "E01005427"  # the LSOA holding postcode OL1 1AA (Code-Point Open, Oct 2025)


def test_children_weighted_by_need_by_hand():
    areas = pd.DataFrame({"children": [100, 200, 0], "idaci_score": [0.25, 0.0, 0.5],
                          "referrals": [1, 2, 3], "families_engaged": [4, 5, 6]})
    before = areas.copy()
    assert workload(areas).tolist() == [125.0, 200.0, 0.0]
    assert workload(areas, "caseload").tolist() == [5.0, 7.0, 9.0]
    assert workload(areas).name == "workload"
    pd.testing.assert_frame_equal(areas, before)
    assert set(WORKLOAD_LABELS) == {"children_need", "caseload"}


@pytest.mark.parametrize(("frame", "measure", "match"), [
    ({"children": [1]}, "children_need", r"needs column\(s\) \['idaci_score'\]"),
    ({"children": [1], "idaci_score": [1.5]}, "children_need", "share from 0 to 1"),
    ({"children": [-1], "idaci_score": [0.1]}, "children_need", "missing or negative"),
    ({"referrals": [None], "families_engaged": [1]}, "caseload", "'referrals' is missing"),
    ({"children": [1]}, "staff", r"expected one of \['children_need', 'caseload'\]"),
])  # fmt: skip
def test_workload_errors_say_what_is_wrong(frame, measure, match):
    with pytest.raises(InputError, match=match):
        workload(pd.DataFrame(frame), measure)


def test_six_zones_cover_every_lsoa_once_contiguous_and_balanced(demo_snapshot):
    plan = plan_zones(demo_snapshot, n_zones=6, random_state=3)
    labels = plan.labels
    assert list(labels.columns) == ["area_code", "area_name", "zone", "workload"]
    assert sorted(labels["area_code"]) == sorted(demo_snapshot.lsoa["lsoa_code"])
    assert sorted(labels["zone"].unique()) == [1, 2, 3, 4, 5, 6]
    geoms = demo_snapshot.lsoa.set_index("lsoa_code").loc[labels["area_code"], "geometry"]
    assert is_contiguous(gpd.GeoSeries(geoms.to_numpy(), crs=27700), labels["zone"])
    loads = labels.groupby("zone")["workload"].sum()
    target = labels["workload"].sum() / 6
    assert (loads / target - 1).abs().max() <= 0.05
    assert np.isclose(labels["workload"].sum(),
                      (demo_snapshot.lsoa["children"] * (1 + demo_snapshot.lsoa["idaci_score"]))
                      .sum())
    assert plan.warnings == []
    again = plan_zones(demo_snapshot, n_zones=6, random_state=3)
    pd.testing.assert_frame_equal(labels, again.labels)


def test_roster_targets_follow_fte_and_zones_hold_their_bases(demo_snapshot):
    roster = read_roster(EXAMPLE_ROSTER)
    assert len(roster) == 6 and roster["name"].str.contains("fictional").all()
    config = load_config(Path(__file__).resolve().parents[1] / "needmap.toml")
    plan = plan_zones(demo_snapshot, roster=roster, postcodes=roster_postcodes(roster, config))
    zone_of = plan.labels.set_index("area_code")["zone"]
    assert zone_of[OL1_1AA_LSOA] == 1  # Ada's base is the postcode OL1 1AA
    assert zone_of["E01005340"] == 4  # Dev's base is an LSOA code
    total = plan.labels["workload"].sum()
    fte = roster["fte"].to_numpy()
    assert np.allclose(plan.zones["target"], total * fte / fte.sum())
    assert plan.zones["deviation"].abs().max() <= 0.05
    assert plan.staff["name"].tolist() == roster["name"].tolist()


def test_ward_level_turns_an_lsoa_base_into_its_ward(demo_snapshot):
    roster = read_roster_upload(b"name,fte,base\nA,1,E01005340\nB,1,\nC,1,\n", "r.csv")
    plan = plan_zones(demo_snapshot, level="ward", roster=roster)
    ward = demo_snapshot.lsoa.set_index("lsoa_code").loc["E01005340", "ward_code"]
    assert plan.labels.set_index("area_code").loc[ward, "zone"] == 1
    assert len(plan.labels) == 20


def test_locks_keep_areas_in_their_zone(demo_snapshot):
    free = plan_zones(demo_snapshot, n_zones=4, random_state=0).labels.set_index("area_code")
    moved = [c for c in free.index if free.loc[c, "zone"] != 2][:2]
    plan = plan_zones(demo_snapshot, n_zones=4, random_state=0, locks=dict.fromkeys(moved, 2))
    assert (plan.labels.set_index("area_code").loc[moved, "zone"] == 2).all()


def test_plan_zones_needs_staff_or_roster_not_both(demo_snapshot):
    roster = read_roster(EXAMPLE_ROSTER)
    with pytest.raises(InputError, match="either n_zones"):
        plan_zones(demo_snapshot)
    with pytest.raises(InputError, match="either n_zones"):
        plan_zones(demo_snapshot, n_zones=6, roster=roster)
    with pytest.raises(InputError, match="level must be one of"):
        plan_zones(demo_snapshot, n_zones=6, level="county")


def test_a_base_outside_the_authority_is_named_by_row(demo_snapshot):
    roster = read_roster_upload(b"name,fte,base\nA,1,\nB,1,E01000001\n", "team.csv")
    with pytest.raises(InputError, match=r"Roster row 3, column 'base': B's base E01000001"):
        plan_zones(demo_snapshot, roster=roster)


def test_uploaded_roster_errors_name_the_uploaded_file():
    with pytest.raises(InputError, match=r"^my team\.csv, row 3, column 'fte'"):
        read_roster_upload(b"name,fte\nA,1\nB,2\n", "my team.csv")


def test_postcode_bases_need_a_postcode_table(tmp_path):
    text = (Path(__file__).resolve().parents[1] / "needmap.toml").read_text()
    start = text.index("[postcodes]")
    end = text.index("[schools]")
    config = load_config(write_config(tmp_path, text=text[:start] + text[end:]))
    roster = read_roster(EXAMPLE_ROSTER)
    with pytest.raises(InputError, match=r"row 2, column 'base': 'OL1 1AA' is a postcode"):
        roster_postcodes(roster, config)
    assert roster_postcodes(roster.assign(base=None, base_kind=None), config) is None
