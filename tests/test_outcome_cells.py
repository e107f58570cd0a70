"""What followed engagement and families by IDACI decile, counted by hand on a tiny authority;
the identities these cells publish hold on the true counts, and the existing cells are unchanged.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from needmap.indicators import (
    COUNT_COLUMNS,
    build_indicators,
    follow_up_periods,
    link_families,
)
from tests.test_indicators import _areas, _count

FAMILIES = pd.Series({"c1": "f1", "c2": "f1", "c3": "f2", "c4": "f3", "c5": "f4"})


def _eng():
    return pd.DataFrame({
        "family_id": ["f1", "f1", "f2", "f3", "f4", "f5"],
        "engagement_date": pd.to_datetime(["2023-01-10", "2023-03-01", "2023-02-01",
                                           "2023-02-15", "2023-03-20", "2023-02-02"]),
        "service": ["early_help", "childrens_centre", "early_help", "childrens_centre",
                    "early_help", "early_help"],
        "priority_family": [True, True, False, False, False, False],
        "lsoa_code": ["E01000001", "E01000002", "E01000001", "E01000002", "E01000001", None],
        "ward_code": ["E05000001"] * 6,
    })


def _refs():
    # c1 (f1): 2023-06-01, social care: f1 re-referred and stepped up (anchor 2023-01-10).
    # c2 (f1): 2023-09-01, NFA: later than f1's next referral, changes nothing.
    # c3 (f2): on the anchor day (the referral that led to it) and 2024-03-01 (past 12 months).
    # c4 (f3): 2023-04-01 NFA then 2023-04-01 social care: one next day with a social care one.
    # c5 (f4): 2023-03-25, early help: re-referred, not stepped up.
    # c9: no family.
    return pd.DataFrame({
        "referral_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"],
        "person_id": ["c1", "c2", "c3", "c3", "c4", "c4", "c5", "c9"],
        "referral_date": pd.to_datetime(["2023-06-01", "2023-09-01", "2023-02-01",
                                         "2024-03-01", "2023-04-01", "2023-04-01",
                                         "2023-03-25", "2023-02-10"]),
        "referral_source": ["police"] * 8,
        "outcome": ["social_care", "nfa", "nfa", "social_care", "nfa", "social_care",
                    "early_help", "social_care"],
        "lsoa_code": ["E01000001"] * 8,
        "ward_code": ["E05000001"] * 8,
    })


def _ind(end=dt.date(2024, 12, 31)):
    lsoa, wards = _areas()
    return build_indicators(lsoa, wards, link_families(_refs(), FAMILIES), _eng(),
                            start=dt.date(2024, 1, 1), end=end)


def test_follow_up_counted_by_hand():
    ind = _ind()
    q = "2023Q1"
    auth = lambda m: _count(ind, "authority", "authority", q, m)  # noqa: E731
    assert auth("families_engaged") == 5
    # Re-referred within 12 months of the anchor: f1, f3, f4 (not f2: same day and past a year;
    # not f5: no linked person).
    assert auth("rereferred_12m") == 3
    # Stepped up: f1 (next referral social care) and f3 (a social care referral on its next day).
    assert auth("stepped_up_12m") == 2
    # By service: f1 counts for early help and children's centres (both in the quarter).
    assert auth("rereferred_12m_early_help") == 2  # f1, f4
    assert auth("stepped_up_12m_early_help") == 1  # f1
    assert auth("rereferred_12m_childrens_centre") == 2  # f1, f3
    assert auth("stepped_up_12m_childrens_centre") == 2
    # By area: LSOA A holds f1, f2, f4; B holds f1 and f3; the ward counts f1 once.
    assert _count(ind, "lsoa", "E01000001", q, "rereferred_12m") == 2
    assert _count(ind, "lsoa", "E01000002", q, "rereferred_12m") == 2
    assert _count(ind, "ward", "E05000001", q, "rereferred_12m") == 3


def test_only_cohorts_with_a_complete_follow_up_are_published():
    ind = _ind(end=dt.date(2024, 3, 31))
    follow = set(ind.cells.loc[ind.cells["measure"] == "rereferred_12m", "period"].astype(str))
    # 2023Q1 ends 2023-03-31, 365 days before 2024-03-30: complete; 2023Q2 is not.
    assert follow == {"2023Q1"}
    assert list(follow_up_periods(ind.periods, dt.date(2024, 3, 31))["period"]) == ["2023Q1"]


def test_deciles_partition_families_by_their_first_engagement_of_the_period():
    ind = _ind()
    q = "2023Q1"
    auth = lambda m: _count(ind, "authority", "authority", q, m)  # noqa: E731
    # Anchors: f1 in A (decile 1), f2 A, f3 B (decile 10), f4 A, f5 placed in a ward only.
    assert auth("families_engaged_idaci_1") == 3
    assert auth("families_engaged_idaci_10") == 1
    assert auth("families_engaged_idaci_unknown") == 1
    # f1's children's centre engagement was in B, but its decile is that of its anchor (A).
    assert auth("families_childrens_centre_idaci_1") == 1
    assert auth("families_childrens_centre_idaci_10") == 1


def test_identities_hold_on_the_true_counts():
    ind = _ind()
    cells = ind.cells.astype({"level": str, "period": str, "measure": str})
    wide = cells.pivot_table(index=["level", "area_code", "period"], columns="measure",
                             values="count", observed=True)
    for part, whole in (("rereferred_12m", "families_engaged"),
                        ("stepped_up_12m", "rereferred_12m"),
                        ("rereferred_12m_early_help", "families_early_help"),
                        ("rereferred_12m_early_help", "rereferred_12m"),
                        ("stepped_up_12m_childrens_centre", "rereferred_12m_childrens_centre")):
        ok = wide[part].notna()
        assert (wide.loc[ok, part] <= wide.loc[ok, whole]).all(), (part, whole)
    auth = wide.xs("authority", level="level")
    for base in ("families_engaged", "families_early_help", "families_childrens_centre"):
        deciles = [c for c in auth.columns if c.startswith(f"{base}_idaci_")]
        assert (auth[deciles].sum(axis=1) == auth[base]).all()
    lsoa = wide.xs("lsoa", level="level")
    ward = wide.xs("ward", level="level")
    for m in ("rereferred_12m", "stepped_up_12m"):
        by_period = lsoa[m].groupby(level="period").sum()
        assert (ward[m].droplevel(0).dropna() <= by_period.reindex(
            ward[m].droplevel(0).dropna().index)).all()


def test_existing_cells_do_not_change_with_the_new_ones():
    ind = _ind()
    lsoa, wards = _areas()
    plain = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                             end=dt.date(2024, 12, 31))
    old = ind.cells[ind.cells["measure"].astype(str).isin(COUNT_COLUMNS)]
    new = plain.cells[plain.cells["measure"].astype(str).isin(COUNT_COLUMNS)]
    pd.testing.assert_frame_equal(old.astype(str).reset_index(drop=True),
                                  new.astype(str).reset_index(drop=True))
    # Without family links nothing is re-referred.
    follow = plain.cells[plain.cells["measure"].astype(str).str.startswith("rereferred")]
    assert follow["count"].sum() == 0
