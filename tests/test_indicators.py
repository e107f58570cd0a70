"""Indicators on a tiny hand-made authority, and totals on the real demo snapshot."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from needmap.indicators import build_indicators, mark_rereferrals


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


def test_period_counts_rates_and_shares_by_hand():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 12, 31))
    a = ind.lsoa.set_index("lsoa_code").loc["E01000001"]
    # r1, r2, r3 fall in 2024 in LSOA A: 3 per 1,000 children; 2 of 3 NFA; r2 is p1's second
    # referral within 365 days.
    assert a["referrals"] == 3
    assert a["referral_rate"] == pytest.approx(3.0)
    assert a["referrals_police"] == 2 and a["referrals_school"] == 1
    assert a["nfa_share"] == pytest.approx(2 / 3)
    assert a["rereferral_share"] == pytest.approx(1 / 3)
    # Families f1 and f2 engaged in A; f1 was a priority family.
    assert a["families_engaged"] == 2 and a["priority_families_engaged"] == 1
    assert a["reach_rate"] == pytest.approx(2.0)
    b = ind.lsoa.set_index("lsoa_code").loc["E01000002"]
    assert b["referrals"] == 1  # r5 is in 2023
    assert b["referral_rate"] == pytest.approx(2.0)
    w = ind.ward.iloc[0]
    # f1 was seen in both LSOAs: once in the ward.
    assert w["families_engaged"] == 3
    assert w["referrals"] == 4 and w["children"] == 1500
    # Population-weighted IMD: (50*4000 + 10*1000) / 5000 = 42; children-weighted IDACI:
    # (0.4*1000 + 0.1*500) / 1500 = 0.3.
    assert w["imd_score"] == pytest.approx(42.0)
    assert w["idaci_score"] == pytest.approx(0.3)
    assert w["lsoas_imd_decile_1"] == 1 and w["n_lsoas"] == 2


def test_quarterly_tables_cover_every_area_and_quarter():
    lsoa, wards = _areas()
    ind = build_indicators(lsoa, wards, _refs(), _eng(), start=dt.date(2024, 1, 1),
                           end=dt.date(2024, 12, 31))
    q = ind.lsoa_quarterly
    # 2023Q2 (r5) to 2024Q4: 7 quarters x 2 LSOAs
    assert len(q) == 14
    a1 = q[(q["lsoa_code"] == "E01000001") & (q["quarter"] == "2024Q1")].iloc[0]
    assert a1["referrals"] == 2 and a1["families_engaged"] == 2
    assert q["referrals"].sum() == 5
    assert ind.authority["referrals"].iloc[0] == 4
    assert ind.authority_quarterly["referrals"].sum() == 5


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
    per_ward = s.lsoa.groupby("ward_code")["referrals"].sum()
    assert (s.ward.set_index("ward_code")["referrals"] == per_ward).all()
    # Alexandra ward: 7 LSOAs, 4,380 children and a population-weighted IMD score of 62.731 in
    # the shared IoD2025 ward summary (ward2024_summary_iod2025_oldham.csv).
    alex = s.ward.set_index("ward_code").loc["E05014646"]
    assert alex["n_lsoas"] == 7 and alex["children"] == 4380
    assert alex["imd_score"] == pytest.approx(62.731, abs=0.001)
