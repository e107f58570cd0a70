"""Zone tables add up from protected values; the zone pack holds every area of its zone, no
small count, no URL, no script and no unescaped name; the zone map draws one feature per area."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from needmap.errors import InputError
from needmap.outputs import tables
from needmap.outputs.maps.layers import display_layer
from needmap.outputs.pack import zone_pack_html
from needmap.outputs.zone_tables import (
    plan_level,
    plan_table,
    zone_areas,
    zone_flags,
    zone_map,
    zone_schools,
    zone_summary,
)
from needmap.plans import Plan
from needmap.sources.roster import read_roster
from needmap.workload import EXAMPLE_ROSTER, plan_zones


def _small(values) -> list:
    v = pd.to_numeric(pd.Series(values), errors="coerce")
    return v[(v >= 1) & (v <= 5)].tolist()


@pytest.fixture(scope="module")
def plans(demo_snapshot):
    return {m: plan_zones(demo_snapshot, n_zones=6, measure=m) for m in ("children_need",
                                                                       "caseload")}


@pytest.fixture(scope="module")
def flags(demo_snapshot):
    return demo_snapshot.flags("lsoa", "engagement")


def test_zone_summary_adds_up_from_protected_values(demo_snapshot, plans, flags):
    labels = plans["children_need"].labels
    s = zone_summary(demo_snapshot, labels, level="lsoa", flags=flags)
    assert s["zone"].tolist() == [1, 2, 3, 4, 5, 6]
    assert s["n_areas"].sum() == len(demo_snapshot.lsoa)
    assert s["children"].sum() == round(demo_snapshot.manifest["children_total"])
    assert np.isclose(s["target"].sum(), labels["workload"].sum(), atol=6)
    assert (s["vs_target"].abs() <= 0.051).all()
    assert s["off_radar"].sum() == (flags["flag"] == "off the radar").sum()
    assert s["watch"].sum() == (flags["flag"] == "watch").sum()
    # Zone referrals are sums of the areas' protected values (stand-ins for hidden ones).
    values = tables.protected_values(demo_snapshot, "lsoa")
    zone_of = labels.set_index("area_code")["zone"]
    by_zone = values["referrals"].groupby(zone_of.reindex(values.index)).sum()
    assert s.set_index("zone")["referrals"].astype(float).tolist() == by_zone.tolist()
    assert _small(s["referrals"]) == [] and _small(s["families_engaged"]) == []


def test_fte_shares_the_target(demo_snapshot, plans):
    labels = plans["children_need"].labels
    staff = pd.DataFrame({"zone": range(1, 7), "name": list("ABCDEF"),
                          "fte": [1, 1, 1, 1, 1, 0.5]})
    s = zone_summary(demo_snapshot, labels, level="lsoa", staff=staff)
    assert s["worker"].tolist() == list("ABCDEF")
    assert np.isclose(s["target"].iloc[5], labels["workload"].sum() * 0.5 / 5.5, atol=1)


@pytest.mark.parametrize("measure", ["children_need", "caseload"])
def test_zone_areas_are_the_zone_with_no_small_count(demo_snapshot, plans, flags, measure):
    labels = plans[measure].labels
    for zone in range(1, 7):
        t = zone_areas(demo_snapshot, labels, zone, level="lsoa", flags=flags)
        assert set(t["area_code"]) == set(labels.loc[labels["zone"] == zone, "area_code"])
        for col in ("referrals", "families_engaged"):
            assert _small(t[col]) == []
        assert t["flag"].isin(set(flags["flag"])).all()


def test_plan_table_hides_a_caseload_wherever_a_part_is_hidden(demo_snapshot, plans):
    labels = plans["caseload"].labels
    t = plan_table(demo_snapshot, labels, level="lsoa", measure="caseload")
    area = tables.area_table(demo_snapshot, "lsoa").data.set_index("lsoa_code")
    hidden_part = area["referrals"].isna() | area["families_engaged"].isna()
    shown = t.set_index("area_code")["workload"]
    assert hidden_part.any()
    assert (shown[hidden_part[hidden_part].index] == "c").all()
    visible = shown[~shown.eq("c")].astype(float)
    both = (area["referrals"] + area["families_engaged"]).reindex(visible.index)
    assert np.allclose(visible, both)
    need = plan_table(demo_snapshot, plans["children_need"].labels, level="lsoa",
                      measure="children_need")
    assert not need["workload"].eq("c").any()


def test_zone_schools_are_inside_the_zone(demo_snapshot, plans):
    labels = plans["children_need"].labels
    found = pd.concat([zone_schools(demo_snapshot, labels, z, level="lsoa") for z in range(1, 7)])
    located = demo_snapshot.schools["lsoa_code"].notna().sum()
    assert len(found) == located and found["urn"].is_unique
    zone_of = labels.set_index("area_code")["zone"]
    z1 = zone_schools(demo_snapshot, labels, 1, level="lsoa")
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
        page = zone_pack_html(demo_snapshot, labels, zone, level="lsoa", staff=staff,
                              flags=flags, plan="plan 1")
        codes = labels.loc[labels["zone"] == zone, "area_code"]
        assert all(code in page for code in codes)
        assert roster["name"].iloc[zone - 1] in page
        assert "http://" not in page and "https://" not in page
        assert "<script" not in page and "<link" not in page and "src=" not in page
        assert "SYNTHETIC" in page and "Contains OS data" in page
        assert demo_snapshot.vintage in page
        assert page.count("<path") >= len(codes)
        for name in zone_flags(flags, labels, zone)["area_name"]:
            assert name in page.split("<h2>Off the radar</h2>")[1]
    bare = zone_pack_html(demo_snapshot, labels, 1, level="lsoa")
    assert "flags were not included" in bare
    assert "Worker" not in bare


def test_zone_pack_cells_are_counts_or_c(demo_snapshot, plans):
    labels = plans["caseload"].labels
    page = zone_pack_html(demo_snapshot, labels, 2, level="lsoa")
    table = page.split("<h2>Areas in this zone</h2>")[1].split("</table>")[0]
    head = re.findall(r"<th>([^<]*)</th>", table)
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in table.split("<tr>")[2:]]
    col = head.index("Referrals")
    values = [r[col] for r in rows]
    assert len(rows) == (labels["zone"] == 2).sum()
    assert all(v == "c" or int(v.replace(",", "")) == 0 or int(v.replace(",", "")) > 5
               for v in values)


def test_names_from_files_are_escaped_in_the_pack(demo_snapshot, plans):
    labels = plans["children_need"].labels
    hostile = '<img src=x onerror=alert(1)>'
    staff = pd.DataFrame({"zone": range(1, 7), "name": [hostile] * 6, "fte": 1.0})
    page = zone_pack_html(demo_snapshot, labels, 1, level="lsoa", staff=staff)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_zone_map_draws_each_area_once_with_worker_names(demo_snapshot, plans):
    labels = plans["children_need"].labels
    staff = pd.DataFrame({"zone": range(1, 7), "name": list("ABCDEF"), "fte": 1.0})
    first = labels["area_code"].iloc[0]
    m = zone_map(demo_snapshot, labels, level="lsoa",
                 display=display_layer(demo_snapshot, "lsoa"), staff=staff, locked=[first])
    page = m.get_root().render()
    assert page.count('"Locked": "') == len(demo_snapshot.lsoa)
    assert page.count('"Locked": "yes"') == 1
    assert "Zone 6: F" in page


def test_plan_level_is_recorded_or_read_off_the_areas(demo_snapshot):
    def plan(codes, level=None):
        return Plan(1, "", "", "", 1, None, pd.DataFrame({"area_code": codes}), None,
                    level=level)

    assert plan_level(demo_snapshot, plan(["E01999999"], "lsoa")) == "lsoa"
    ward = demo_snapshot.ward["ward_code"].iloc[0]
    assert plan_level(demo_snapshot, plan([ward])) == "ward"
    with pytest.raises(InputError, match="made from other boundaries"):
        plan_level(demo_snapshot, plan(["E01999999"]))


def test_pack_map_prints_numbers_and_marks_at_a_legible_size(demo_snapshot, plans, flags):
    """Area numbers and school marks printed about 1.5 mm tall on a tall zone: the map was scaled
    into a height limit. It is now drawn in millimetres, so its numbers print 3.4 mm (10 pt)."""
    labels = plans["children_need"].labels
    base = labels.loc[labels["zone"] == 2, "area_code"].iloc[0]  # zone 2's worker's base
    staff = pd.DataFrame({"zone": range(1, 7), "name": list("ABCDEF"), "fte": 1.0,
                          "base": [None, base, None, None, None, None]})
    zone = 2
    for z in range(1, 7):
        page = zone_pack_html(demo_snapshot, labels, z, level="lsoa", staff=staff, flags=flags)
        svg = re.search(r"<svg viewBox='0 0 ([\d.]+) ([\d.]+)' width='([\d.]+)mm' "
                        r"height='([\d.]+)mm'", page)
        vw, vh, w, h = (float(g) for g in svg.groups())
        assert abs(vw - w) < 0.1 and abs(vh - h) < 0.1  # one unit is one millimetre on paper
        assert w <= 182.1 and h <= 150.1 and max(w, h) > 140  # fills the A4 box
        size = float(re.search(r"<g class='labels' font-size='([\d.]+)'>", page).group(1))
        assert size >= 3.0
        # The worker base is a ring on the map of its zone only; "!" marks off-the-radar areas.
        assert ("r='3.1'" in page) == (z == zone)
        strong = zone_flags(flags, labels, z, kinds=("off the radar",))
        assert page.count("!</text>") == len(strong)
