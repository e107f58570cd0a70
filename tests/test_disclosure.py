"""Disclosure control: the DfE rule, secondary suppression, and no leak in what is shared."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from needmap.disclosure import (
    SUPPRESSED,
    format_count,
    leaked_small_counts,
    suppress,
    suppression_mask,
)
from needmap.geometry import display_geometry
from needmap.maps import standalone_html
from needmap.profile import area_profile
from needmap.radar import flags_table
from needmap.views import measure_map


def test_primary_and_derived_suppression_by_hand():
    df = pd.DataFrame({"referrals": [0, 3, 12, 40], "referral_rate": [0.0, 6.0, 24.0, 80.0],
                       "referrals_nfa": [0, 1, 10, 20], "nfa_share": [np.nan, 1 / 3, 10 / 12, 0.5]})
    m = suppression_mask(df, 5, totals_shown=False)
    assert m["referrals"].tolist() == [False, True, False, False]  # 0 is shown, 3 is not
    assert m["referral_rate"].tolist() == [False, True, False, False]
    # nfa_share of row 2 is 10/12: the rest (2 not-NFA) is a small count, so it is hidden too.
    assert m["nfa_share"].tolist() == [False, True, True, False]


def test_secondary_suppression_across_areas_and_within_rows():
    df = pd.DataFrame({"referrals": [4, 9, 30, 50]})
    # One hidden area could be worked back from the authority total: hide the next smallest.
    assert suppression_mask(df, 5)["referrals"].tolist() == [True, True, False, False]
    row = pd.DataFrame({"referrals": [20], "referrals_school": [2], "referrals_police": [8],
                        "referrals_health": [10], "referrals_la": [0], "referrals_self": [0],
                        "referrals_other": [0]})
    m = suppression_mask(row, 5, totals_shown=False)
    assert m.loc[0, "referrals_school"] and m.loc[0, "referrals_police"]
    assert not m.loc[0, "referrals_health"]


def test_suppress_writes_c_and_threshold_zero_disables():
    df = pd.DataFrame({"families_engaged": [2, 7, 9], "reach_rate": [1.0, 3.5, 4.5]})
    out = suppress(df, 5)
    assert out["families_engaged"].tolist() == [SUPPRESSED, SUPPRESSED, 9]
    assert out["reach_rate"].tolist()[:2] == [SUPPRESSED, SUPPRESSED]
    assert suppress(df, 0)["families_engaged"].tolist() == [2, 7, 9]
    assert format_count(3, 5) == "c" and format_count(1234, 5) == "1,234"


def test_flags_export_has_no_small_count(demo_snapshot):
    for measure in ("engagement", "referrals"):
        table = flags_table(demo_snapshot, level="lsoa", measure=measure)
        assert leaked_small_counts(table, 5, ["observed"]) == []
        # Reasons never carry a count from 1 to 5 in front of "families" / "referrals".
        assert not table["reason"].str.contains(r"\b[1-5] (?:famil|referral)", regex=True).any()


def test_profile_and_map_have_no_small_count(demo_snapshot):
    lsoa = demo_snapshot.lsoa
    small = lsoa.loc[lsoa["families_engaged"].between(1, 5)]
    code = (small if len(small) else lsoa)["lsoa_code"].iloc[0]
    p = area_profile(demo_snapshot, "lsoa", code)
    row = p.figures.set_index("measure").loc["Families engaged", "area"]
    value = int(lsoa.set_index("lsoa_code").loc[code, "families_engaged"])
    if 1 <= value <= 5:
        assert row == "c"
    assert p.trend[["referrals", "families_engaged"]].stack().between(1, 5).sum() == 0
    layer = display_geometry(lsoa)
    html = standalone_html(measure_map(layer, level="lsoa", measure="families_engaged",
                                       threshold=5, attribution="test"))
    shown = {int(v) for v in re.findall(r'"value": "(\d+)"', html)}
    assert len(shown) > 10 and not shown & {1, 2, 3, 4, 5}
    assert "person_id" not in html and "cin_referral_id" not in html and "SYN-" not in html
