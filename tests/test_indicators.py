"""Indicators on a tiny hand-made authority, and totals on the real demo snapshot."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from needmap.indicators import (
    COUNT_COLUMNS,
    DECILE_MEASURES,
    FOLLOWUP_MEASURES,
    build_indicators,
    mark_rereferrals,
)


def _areas():
    lsoa = gpd.GeoDataFrame(
        {
            "lsoa_code": ["E01000001", "E01000002"],
            "lsoa_name": ["A", "B"],
            "ward_code": ["E05000001", "E05000001"],
            "ward_name": ["W", "W"],
            "children": [1000.0, 500.0],
            "population": [4000.0, 1000.0],
            "imd_rank": [100.0, 20000.0],
            "imd_decile": [1.0, 7.0],
            "imd_score": [50.0, 10.0],
            "imd_pctile": [99.7, 39.1],
            "idaci_rank": [50.0, 30000.0],
            "idaci_decile": [1.0, 10.0],
            "idaci_score": [0.40, 0.10],
            "idaci_score_from_rank": [False, False],
            "idaci_pctile": [99.8, 8.7],
        },
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs="EPSG:27700",
    )
    wards = gpd.GeoDataFrame({"ward_code": ["E05000001"], "ward_name": ["W"]},
                             geometry=[shapely.box(0, 0, 2, 1)], crs="EPSG:27700")
    return lsoa, wards


def _refs():
    return pd.DataFrame({
        "referral_id": ["r1", "r2", "r3", "r4", "r5"],
        "person_id": ["p1", "p1", "p2", "p3", "p4"],
        "referral_date": pd.to_datetime(["2024-01-10", "2024-06-01", "2024-02-01",
                                         "2024-05-01", "2023-06-01"]),
        "referral_source": ["police", "school", "police", "health", "self"],
        "outcome": ["nfa", "early_help", "nfa", "social_care", "nfa"],
        "lsoa_code": ["E01000001", "E01000001", "E01000001", "E01000002", "E01000002"],
        "ward_code": ["E05000001"] * 5,
    })


def _eng():
    return pd.DataFrame({
        "family_id": ["f1", "f1", "f2", "f3"],
        "engagement_date": pd.to_datetime(["2024-01-05", "2024-03-05", "2024-02-01",
                                           "2024-04-01"]),
        "service": ["early_help", "childrens_centre", "early_help", "childrens_centre"],
        "priority_family": [True, True, False, False],
        "lsoa_code": ["E01000001", "E01000002", "E01000001", "E01000002"],
        "ward_code": ["E05000001"] * 4,
    })


def _count(ind, level, code, period, measure):
    c = ind.cells
    sel = c[(c["level"] == level) & (c["area_code"] == code) & (c["period"] == period)
            & (c["measure"] == measure)]
    assert len(sel) == 1
    return int(sel["count"].iloc[0])


def test_period_counts_by_hand():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 12, 31))
    p = ind.configured_period
    assert p == "2024-01-01/2024-12-31"
    a = lambda m: _count(ind, "lsoa", "E01000001", p, m)  # noqa: E731
    # r1, r2, r3 fall in 2024 in LSOA A; 2 of 3 NFA; r2 is p1's second referral within 365 days.
    assert a("referrals") == 3
    assert a("referrals_police") == 2 and a("referrals_school") == 1
    assert a("referrals_nfa") == 2 and a("rereferrals") == 1
    # Families f1 and f2 engaged in A; f1 was a priority family.
    assert a("families_engaged") == 2 and a("priority_families_engaged") == 1
    assert _count(ind, "lsoa", "E01000002", p, "referrals") == 1  # r5 is in 2023
    # f1 was seen in both LSOAs: once in the ward and in the authority.
    assert _count(ind, "ward", "E05000001", p, "families_engaged") == 3
    assert _count(ind, "authority", "authority", p, "families_engaged") == 3
    assert _count(ind, "ward", "E05000001", p, "referrals") == 4
    w = ind.ward.iloc[0]
    assert w["children"] == 1500
    # Population-weighted IMD: (50*4000 + 10*1000) / 5000 = 42; children-weighted IDACI:
    # (0.4*1000 + 0.1*500) / 1500 = 0.3.
    assert w["imd_score"] == pytest.approx(42.0)
    assert w["idaci_score"] == pytest.approx(0.3)
    assert w["lsoas_imd_decile_1"] == 1 and w["n_lsoas"] == 2
    assert "referrals" not in ind.lsoa.columns  # area attributes hold no count


def test_published_periods_are_quarters_complete_years_and_the_configured_one():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 12, 31))
    periods = ind.periods.set_index("period")["kind"]
    quarters = periods[periods == "quarter"].index.tolist()
    assert quarters == ["2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert periods[periods == "year"].index.tolist() == ["FY2023-24"]  # Apr 2023 - Mar 2024
    assert periods[periods == "configured"].index.tolist() == ["2024-01-01/2024-12-31"]
    # Every area x period x measure is a cell, zeros included.
    n_areas = 2 + 1 + 1
    base = ind.cells[ind.cells["measure"].astype(str).isin(COUNT_COLUMNS)]
    assert len(base) == n_areas * len(periods) * 13
    # Outcome cells: IDACI deciles for the authority in every period, follow-up cells for the
    # three quarters whose 12 months end by 2024-12-31 at every level.
    assert len(ind.cells) == len(base) + len(DECILE_MEASURES) * len(periods) + 3 * n_areas * len(
        FOLLOWUP_MEASURES)
    assert _count(ind, "lsoa", "E01000001", "2024Q1", "referrals") == 2
    assert _count(ind, "lsoa", "E01000001", "2024Q1", "families_engaged") == 2
    # A year of referrals is the sum of its quarters; families are distinct within the year
    # (f1 and f2 in Jan-Mar 2024; f3 started in April 2024, the next financial year).
    fy = ["2023Q2", "2023Q3", "2023Q4", "2024Q1"]
    assert _count(ind, "authority", "authority", "FY2023-24", "referrals") == sum(
        _count(ind, "authority", "authority", q, "referrals") for q in fy)
    assert _count(ind, "authority", "authority", "FY2023-24", "families_engaged") == 2


def test_nothing_after_the_end_is_published():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 5, 15))
    quarters = ind.periods.loc[ind.periods["kind"] == "quarter", "period"].tolist()
    assert quarters[-1] == "2024Q1"  # 2024Q2 is not complete by 15 May


def test_cell_keys_are_sums_of_record_keys_mod_256():
    lsoa, wards = _areas()
    refs = _refs().assign(key=[200, 100, 7, 1, 2], key_b=[1, 2, 3, 4, 5])
    eng = _eng().assign(key=[250, 250, 9, 3], key_b=0)  # keys are per family
    ind = build_indicators(lsoa, wards, refs, eng, start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 12, 31))
    c = ind.cells.set_index(["level", "area_code", "period", "measure"])
    p = ind.configured_period
    assert c.loc[("lsoa", "E01000001", p, "referrals"), "key"] == (200 + 100 + 7) % 256
    assert c.loc[("lsoa", "E01000001", p, "referrals"), "key_b"] == 6
    # f1 counts once in the ward, so its key does too.
    assert c.loc[("ward", "E05000001", p, "families_engaged"), "key"] == (250 + 9 + 3) % 256


def test_default_period_is_last_four_quarters():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng())
    assert (ind.period_start, ind.period_end) == (dt.date(2023, 7, 1), dt.date(2024, 6, 30))


def test_rereferral_window():
    refs = _refs()
    refs.loc[1, "referral_date"] = pd.Timestamp("2025-03-01")  # > 365 days after r1
    assert mark_rereferrals(refs, 365).sum() == 0
    assert mark_rereferrals(refs, 500).sum() == 1


def test_demo_snapshot_child_totals_equal_iod_denominators(demo_snapshot):
    s = demo_snapshot
    assert len(s.ward) == 20 and len(s.lsoa) == 142
    # ONS mid-2022 children 0-15 (the IoD2025 IDACI denominator): 55,241 in Oldham.
    assert s.lsoa["children"].sum() == 55241
    assert s.ward["children"].sum() == 55241
    # Every demo record is located to an LSOA, so ward counts are sums of LSOA counts.
    raw = s.raw_cells()
    raw = raw[(raw["period"] == s.configured_period) & (raw["measure"] == "referrals")]
    per_ward = raw[raw["level"] == "lsoa"].assign(
        ward_code=lambda d: d["area_code"].map(s.lsoa.set_index("lsoa_code")["ward_code"])
    ).groupby("ward_code")["count"].sum()
    ward = raw[raw["level"] == "ward"].set_index("area_code")["count"]
    assert (ward.reindex(per_ward.index) == per_ward).all()
    # Alexandra ward: 7 LSOAs, 4,380 children and a population-weighted IMD score of 62.731 in
    # the shared IoD2025 ward summary (ward2024_summary_iod2025_oldham.csv).
    alex = s.ward.set_index("ward_code").loc["E05014646"]
    assert alex["n_lsoas"] == 7 and alex["children"] == 4380
    assert alex["imd_score"] == pytest.approx(62.731, abs=0.001)
