"""Zone tables add up and suppress small counts; the zone pack holds every area of its zone, no
small count, no URL and no script; the zone map draws one feature per area."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from needmap.disclosure import COUNTS, leaked_small_counts
from needmap.errors import InputError
from needmap.plans import read_roster
from needmap.radar import flags_table
from needmap.workload import EXAMPLE_ROSTER, plan_zones
from needmap.zonepack import (
    plan_level,
    plan_table,
    zone_areas,
    zone_flags,
    zone_map,
    zone_pack_html,
    zone_schools,
    zone_summary,
)

CHECKED = [*COUNTS, "workload"]


@pytest.fixture(scope="module")
def plans(demo_snapshot):
    return {m: plan_zones(demo_snapshot, n_zones=6, measure=m) for m in ("children_need",
                                                                       "caseload")}


@pytest.fixture(scope="module")
def flags(demo_snapshot):
    return flags_table(demo_snapshot, level="lsoa", measure="engagement")


def test_zone_summary_adds_up_to_the_authority(demo_snapshot, plans, flags):
    labels = plans["children_need"].labels
    s = zone_summary(demo_snapshot, labels, flags=flags)
    assert s["zone"].tolist() == [1, 2, 3, 4, 5, 6]
    assert s["n_areas"].sum() == 142
    assert s["children"].sum() == demo_snapshot.manifest["children_total"]
    assert np.isclose(s["target"].sum(), labels["workload"].sum(), rtol=1e-4)
    assert (s["vs_target"].abs() <= 0.05).all()
    assert s["off_radar"].sum() == (flags["flag"] == "off the radar").sum()
    assert leaked_small_counts(s, 5, CHECKED) == []


def test_fte_shares_the_target(demo_snapshot, plans):
    labels = plans["children_need"].labels
    staff = pd.DataFrame({"zone": range(1, 7), "name": list("ABCDEF"),
                          "fte": [1, 1, 1, 1, 1, 0.5]})
    s = zone_summary(demo_snapshot, labels, staff=staff)
    assert s["worker"].tolist() == list("ABCDEF")
    assert np.isclose(s["target"].iloc[5], labels["workload"].sum() * 0.5 / 5.5, rtol=1e-4)


@pytest.mark.parametrize("measure", ["children_need", "caseload"])
def test_zone_areas_are_the_zone_with_no_small_count(demo_snapshot, plans, flags, measure):
    labels = plans[measure].labels
    for zone in range(1, 7):
        t = zone_areas(demo_snapshot, labels, zone, flags=flags)
        assert set(t["area_code"]) == set(labels.loc[labels["zone"] == zone, "area_code"])
        assert leaked_small_counts(t, 5, CHECKED) == []
        assert t["flag"].isin(set(flags["flag"])).all()
    if measure == "caseload":
        # A caseload shown beside one hidden part would give the part away.
        all_rows = pd.concat([zone_areas(demo_snapshot, labels, z) for z in range(1, 7)])
        hidden_part = all_rows["referrals"].eq("c") | all_rows["families_engaged"].eq("c")
        assert hidden_part.any()
        assert all_rows.loc[hidden_part, "workload"].eq("c").all()


def test_plan_table_suppresses_small_caseloads():
    labels = pd.DataFrame({"area_code": ["A", "B", "C", "D"], "area_name": list("abcd"),
                           "zone": [1, 1, 1, 2], "workload": [3.0, 40.0, 50.0, 0.0]})
    t = plan_table(labels, 5)
    # 3 is hidden, and 40 with it (zone 1's total could give it back); 0 discloses nothing.
    assert t["workload"].tolist() == ["c", "c", 50.0, 0.0]


def test_zone_schools_are_inside_the_zone(demo_snapshot, plans):
    labels = plans["children_need"].labels
    found = pd.concat([zone_schools(demo_snapshot, labels, z) for z in range(1, 7)])
    located = demo_snapshot.schools["lsoa_code"].notna().sum()
    assert len(found) == located and found["urn"].is_unique
    zone_of = labels.set_index("area_code")["zone"]
    z1 = zone_schools(demo_snapshot, labels, 1)
    assert (z1["area_code"].map(zone_of) == 1).all()


def test_zone_flags_lists_only_flagged_areas_of_the_zone(demo_snapshot, plans, flags):
    labels = plans["children_need"].labels
    rows = pd.concat([zone_flags(flags, labels, z) for z in range(1, 7)])
    assert len(rows) == flags["flag"].isin(["off the radar", "watch"]).sum()
    with pytest.raises(InputError, match="Zone 9 is not in the plan"):
        zone_flags(flags, labels, 9)


def test_zone_pack_html_is_complete_offline_and_disclosure_safe(demo_snapshot, plans, flags):
    labels = plans["caseload"].labels
    roster = read_roster(EXAMPLE_ROSTER)
    staff = pd.DataFrame({"zone": range(1, 7), "name": roster["name"], "fte": roster["fte"]})
    for zone in range(1, 7):
        page = zone_pack_html(demo_snapshot, labels, zone, staff=staff, flags=flags,
                              plan="plan 1")
        codes = labels.loc[labels["zone"] == zone, "area_code"]
        assert all(code in page for code in codes)
        assert roster["name"].iloc[zone - 1] in page
        assert "http://" not in page and "https://" not in page
        assert "<script" not in page and "<link" not in page and "src=" not in page
        assert "SYNTHETIC" in page and "Contains OS data" in page
        assert page.count("<path") >= len(codes)
        # The figures rendered are those of zone_areas, whose counts are suppressed.
        shown = zone_areas(demo_snapshot, labels, zone, flags=flags)
        assert leaked_small_counts(shown, 5, CHECKED) == []
        for name in zone_flags(flags, labels, zone)["area_name"]:
            assert name in page.split("<h2>Off the radar</h2>")[1]
    bare = zone_pack_html(demo_snapshot, labels, 1)
    assert "flags were not included" in bare
    assert "Worker" not in bare


def test_zone_pack_cells_are_counts_or_c(demo_snapshot, plans):
    labels = plans["caseload"].labels
    page = zone_pack_html(demo_snapshot, labels, 2)
    table = page.split("<h2>Areas in this zone</h2>")[1].split("</table>")[0]
    head = re.findall(r"<th>([^<]*)</th>", table)
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in table.split("<tr>")[2:]]
    col = head.index("Referrals")
    values = [r[col] for r in rows]
    assert len(rows) == (labels["zone"] == 2).sum()
    assert all(v == "c" or int(v.replace(",", "")) == 0 or int(v.replace(",", "")) > 5
               for v in values)


def test_zone_map_draws_each_area_once_with_worker_names(demo_snapshot, plans):
    from needmap.geometry import display_geometry

    labels = plans["children_need"].labels
    staff = pd.DataFrame({"zone": range(1, 7), "name": list("ABCDEF"), "fte": 1.0})
    m = zone_map(display_geometry(demo_snapshot.lsoa), labels, level="lsoa", staff=staff,
                 locked=["E01005340"], attribution="Contains OS data")
    page = m.get_root().render()
    assert page.count('"Locked": "') == 142
    assert page.count('"Locked": "yes"') == 1
    assert "Zone 6: F" in page


def test_plan_level_refuses_areas_of_other_boundaries(demo_snapshot):
    assert plan_level(demo_snapshot, pd.DataFrame({"area_code": ["E05014648"]})) == "ward"
    with pytest.raises(InputError, match="not all LSOAs or all wards"):
        plan_level(demo_snapshot, pd.DataFrame({"area_code": ["E01999999"]}))
