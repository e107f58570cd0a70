"""IoD reading: percentiles from ranks, suppressed IDACI scores filled from the rank."""

from __future__ import annotations

import pandas as pd
import pytest

from needmap.config import load_config
from needmap.sources.deprivation import (
    fill_score_from_rank,
    rank_to_decile,
    rank_to_pctile,
    read_deprivation,
)


def test_rank_to_pctile_and_decile():
    ranks = pd.Series([1, 3284, 3285, 32844])
    assert rank_to_pctile(ranks, 32844).round(4).tolist() == [100.0, 90.0043, 90.0012, 0.003]
    assert rank_to_decile(ranks, 32844).tolist() == [1, 1, 2, 10]


def test_fill_score_from_rank_interpolates():
    score = pd.Series([0.5, None, 0.1, None])
    rank = pd.Series([100, 200, 300, 400])
    assert fill_score_from_rank(score, rank).tolist() == pytest.approx([0.5, 0.3, 0.1, 0.1])


def test_oldham_deprivation(demo_config_path):
    c = load_config(demo_config_path)
    d = read_deprivation(c.deprivation, authority_code=c.authority.code)
    # As PROVENANCE.md states for IoD2025 on LSOA 2021: 142 LSOAs, 55,241 children (mid-2022),
    # 53 LSOAs in IMD decile 1, 40 in IDACI decile 1 and 61 in IDACI deciles 1-2.
    assert len(d) == 142 and d["children"].sum() == 55241
    assert (d["imd_decile"] == 1).sum() == 53
    assert (d["idaci_decile"] == 1).sum() == 40 and (d["idaci_decile"] <= 2).sum() == 61
    # Oldham's IDACI scores are the official File 7 values: none is filled from a rank.
    assert d["idaci_score_from_rank"].sum() == 0 and d["idaci_score"].notna().all()
    assert d["idaci_pctile"].max() <= 100 and d["idaci_pctile"].min() > 0
