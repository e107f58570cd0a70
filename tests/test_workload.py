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
from needmap.sources.geocode import read_postcodes
from needmap.sources.roster import read_roster
from needmap.workload import EXAMPLE_ROSTER, WORKLOAD_LABELS, plan_zones, workload
from needmap.zones import is_contiguous


def test_children_weighted_by_need_and_caseload_from_protected_values(demo_snapshot):
    lsoa = demo_snapshot.lsoa
    load, shown = workload(demo_snapshot, "lsoa")
    assert np.allclose(load.to_numpy(), lsoa["children"] * (1 + lsoa["idaci_score"]))
    assert shown.all() and load.name == "workload"
    case, visible = workload(demo_snapshot, "lsoa", "caseload")
    cells = demo_snapshot.cells("lsoa", demo_snapshot.configured_period)
    value = cells.pivot(index="area_code", columns="measure", values="value")
    seen = cells.pivot(index="area_code", columns="measure", values="shown")
    expected = value["referrals"] + value["families_engaged"]
    assert np.allclose(case.to_numpy(), expected.reindex(case.index).to_numpy())
    assert (visible == (seen["referrals"] & seen["families_engaged"]).reindex(case.index)).all()
    # Never the true counts: the workload differs from them where noise was added.
    raw = demo_snapshot.raw_cells()
    raw = raw[(raw["level"] == "lsoa") & (raw["period"] == demo_snapshot.configured_period)]
    true = raw.pivot(index="area_code", columns="measure", values="count")
    true_case = (true["referrals"] + true["families_engaged"]).reindex(case.index)
    assert (case != true_case).any() and (case - true_case).abs().max() <= 2 * 5
    assert set(WORKLOAD_LABELS) == {"children_need", "caseload"}
    with pytest.raises(InputError, match=r"expected one of \['children_need', 'caseload'\]"):
        workload(demo_snapshot, "lsoa", "staff")


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
    assert plan.warnings == [] and plan.snapshot_id == demo_snapshot.id
    again = plan_zones(demo_snapshot, n_zones=6, random_state=3)
    pd.testing.assert_frame_equal(labels, again.labels)


def test_roster_targets_follow_fte_and_zones_hold_their_bases(demo_snapshot):
    roster = read_roster(EXAMPLE_ROSTER)
    assert len(roster) == 6 and roster["name"].str.contains("fictional").all()
    config = load_config(Path(__file__).resolve().parents[1] / "needmap.toml")
    postcodes = read_postcodes(config.postcodes)
    plan = plan_zones(demo_snapshot, roster=roster, postcodes=postcodes)
    zone_of = plan.labels.set_index("area_code")["zone"]
    ada = postcodes.loc["OL1 1AA"]
    import shapely

    holder = demo_snapshot.lsoa[demo_snapshot.lsoa.contains(
        shapely.Point(ada["easting"], ada["northing"]))]["lsoa_code"].iloc[0]
    assert zone_of[holder] == 1  # Ada's base is the postcode OL1 1AA
    assert zone_of["E01005340"] == 4  # Dev's base is an LSOA code
    total = plan.labels["workload"].sum()
    fte = roster["fte"].to_numpy()
    assert np.allclose(plan.zones["target"], total * fte / fte.sum())
    assert plan.zones["deviation"].abs().max() <= 0.05
    assert plan.staff["name"].tolist() == roster["name"].tolist()


def _roster(tmp_path, text: str, name: str = "r.csv"):
    path = tmp_path / name
    path.write_text(text)
    return read_roster(path)


def test_ward_level_turns_an_lsoa_base_into_its_ward(demo_snapshot, tmp_path):
    roster = _roster(tmp_path, "name,fte,base\nA,1,E01005340\nB,1,\nC,1,\n")
    plan = plan_zones(demo_snapshot, level="ward", roster=roster)
    ward = demo_snapshot.lsoa.set_index("lsoa_code").loc["E01005340", "ward_code"]
    assert plan.labels.set_index("area_code").loc[ward, "zone"] == 1
    assert len(plan.labels) == len(demo_snapshot.ward)


def test_locks_keep_areas_in_their_zone(demo_snapshot):
    free = plan_zones(demo_snapshot, n_zones=4, random_state=0).labels.set_index("area_code")
    moved = [c for c in free.index if free.loc[c, "zone"] != 2][:2]
    plan = plan_zones(demo_snapshot, n_zones=4, random_state=0, locks=dict.fromkeys(moved, 2))
    assert (plan.labels.set_index("area_code").loc[moved, "zone"] == 2).all()


def test_locking_every_area_is_refused_in_plain_words(demo_snapshot):
    """The Zones page's "Select all" then "Lock and rebuild" dead end (issue 15)."""
    codes = demo_snapshot.lsoa["lsoa_code"].tolist()
    with pytest.raises(InputError, match="Every area is locked, or nearly: 5 zone"):
        plan_zones(demo_snapshot, n_zones=6, locks=dict.fromkeys(codes, 1))
    with pytest.raises(InputError, match="zones 1..6 only"):
        plan_zones(demo_snapshot, n_zones=6, locks={codes[0]: 9})


def test_every_zone_off_balance_is_named(demo_snapshot):
    plan = plan_zones(demo_snapshot, level="ward", n_zones=6, random_state=0, tolerance=0.01)
    off = plan.zones.index[plan.zones["deviation"].abs() > 0.01]
    assert len(off) >= 2
    message = " ".join(plan.warnings)
    assert f"{len(off)} of 6 zones are outside +-1%" in message
    for z in off:
        assert f"zone {z} (" in message


def test_plan_zones_needs_staff_or_roster_not_both(demo_snapshot):
    roster = read_roster(EXAMPLE_ROSTER)
    with pytest.raises(InputError, match="either n_zones"):
        plan_zones(demo_snapshot)
    with pytest.raises(InputError, match="either n_zones"):
        plan_zones(demo_snapshot, n_zones=6, roster=roster)
    with pytest.raises(InputError, match="level must be one of"):
        plan_zones(demo_snapshot, n_zones=6, level="county")


def test_a_base_outside_the_authority_is_named_by_row(demo_snapshot, tmp_path):
    roster = _roster(tmp_path, "name,fte,base\nA,1,\nB,1,E01000001\n", "team.csv")
    with pytest.raises(InputError, match=r"Roster row 3, column 'base': B's base E01000001"):
        plan_zones(demo_snapshot, roster=roster)


def test_postcode_bases_need_a_postcode_table(demo_snapshot):
    roster = read_roster(EXAMPLE_ROSTER)
    with pytest.raises(InputError, match=r"row 2, column 'base': postcode 'OL1 1AA' of .* "
                       "cannot be placed: the config has no \\[postcodes\\] table"):
        plan_zones(demo_snapshot, roster=roster, postcodes=None)
