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
    assert len(d) == 141 and d["children"].sum() == 52119
    # 11 Oldham LSOAs have a suppressed IDACI numerator; they get a score from their rank.
    assert d["idaci_score_from_rank"].sum() == 11
    assert d["idaci_score"].notna().all()
    assert (d["imd_decile"] == 1).sum() == 43  # as PROVENANCE.md states
