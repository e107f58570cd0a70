"""The concentration index and its interval against an example worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from needmap.concentration import concentration_index, index_trend, ranks

# Three groups, most deprived first. Children 200, 300, 500 (shares 0.2, 0.3, 0.5); families
# 50, 30, 20 (n = 100, shares 0.5, 0.3, 0.2).
#   ranks R = 0.2/2 = 0.1, 0.2 + 0.3/2 = 0.35, 0.5 + 0.5/2 = 0.75
#   E[R] = 0.5*0.1 + 0.3*0.35 + 0.2*0.75 = 0.05 + 0.105 + 0.15 = 0.305
#   C = 2 * 0.305 - 1 = -0.39
#   on the concentration curve (p = 0, 0.2, 0.5, 1; L = 0, 0.5, 0.8, 1):
#   C = (p1 L2 - p2 L1) + (p2 L3 - p3 L2) = (0.16 - 0.25) + (0.5 - 0.8) = -0.39
#   E[R^2] = 0.5*0.01 + 0.3*0.1225 + 0.2*0.5625 = 0.15425; Var(R) = 0.15425 - 0.305^2 = 0.061225
#   se(C) = 2 * sqrt(0.061225 / 100) = 0.049487; 95%: -0.39 -+ 1.96 * 0.049487
CHILDREN = np.array([200.0, 300.0, 500.0])
FAMILIES = np.array([50.0, 30.0, 20.0])


def test_ranks_are_the_midpoints_of_cumulative_children():
    assert ranks(CHILDREN) == pytest.approx([0.1, 0.35, 0.75])


def test_index_and_interval_match_the_hand_worked_example():
    c = concentration_index(FAMILIES, CHILDREN)
    assert c.index == pytest.approx(-0.39)
    assert c.se == pytest.approx(0.049487, abs=1e-6)
    assert c.lower == pytest.approx(-0.39 - 1.959964 * 0.049487, abs=1e-5)
    assert c.upper == pytest.approx(-0.39 + 1.959964 * 0.049487, abs=1e-5)
    assert c.n == 100


def test_index_equals_the_concentration_curve_formula():
    rng = np.random.default_rng(3)
    kids, fam = rng.integers(50, 900, 10).astype(float), rng.integers(0, 300, 10).astype(float)
    p = np.concatenate([[0], np.cumsum(kids) / kids.sum()])
    L = np.concatenate([[0], np.cumsum(fam) / fam.sum()])
    curve = sum(p[t] * L[t + 1] - p[t + 1] * L[t] for t in range(1, len(p) - 1))
    assert concentration_index(fam, kids).index == pytest.approx(curve)


def test_families_that_follow_children_give_zero_and_all_in_the_poorest_group_give_the_minimum():
    assert concentration_index(CHILDREN / 10, CHILDREN).index == pytest.approx(0.0, abs=1e-12)
    # Every family in the most deprived group: C = 2 * 0.1 - 1 = -0.8 (not -1: the group is 20%).
    assert concentration_index([40, 0, 0], CHILDREN).index == pytest.approx(-0.8)


def test_groups_without_children_are_left_out_and_no_families_is_undefined():
    assert concentration_index([50, 7, 30, 20], [200, 0, 300, 500]).index == pytest.approx(
        concentration_index([50, 30, 20], CHILDREN).index)
    assert np.isnan(concentration_index([0, 0, 0], CHILDREN).index)


def test_the_interval_covers_the_true_index_about_95_times_in_100():
    rng = np.random.default_rng(11)
    probs = FAMILIES / FAMILIES.sum()
    hits = 0
    for _ in range(2000):
        c = concentration_index(rng.multinomial(300, probs), CHILDREN)
        hits += c.lower <= -0.39 <= c.upper
    assert 0.93 <= hits / 2000 <= 0.97


def test_trend_recovers_a_known_slope():
    years = np.arange(12) / 4
    values = -0.2 - 0.04 * years  # 0.04 a year more concentrated
    t = index_trend(values, np.full(12, 0.01), years)
    assert t.per_year == pytest.approx(-0.04)
    assert t.lower < -0.04 < t.upper < 0
    assert np.isnan(index_trend(values[:2], np.full(2, 0.01), years[:2]).per_year)
