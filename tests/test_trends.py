"""The trajectory model: a known yearly rate ratio is recovered, the verdict rule is the stated
one, the forecast band holds what follows, and too many hidden quarters give no trend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needmap.trends import (
    FALLING,
    NO_CHANGE,
    RISING,
    TOO_FEW,
    QuarterlyTrend,
    area_trends,
    next_quarters,
    seasonal_offsets,
)

QUARTERS = [f"{y}Q{q}" for y in (2022, 2023, 2024, 2025) for q in (1, 2, 3, 4)][3:15]  # 12


def _series(rng, rate_ratio: float, base: float = 40.0, n: int = 12) -> np.ndarray:
    t = np.arange(n) / 4
    return rng.poisson(base * rate_ratio ** t)


def test_next_quarters_cross_the_year():
    assert next_quarters("2025Q3", 3) == ["2025Q4", "2026Q1", "2026Q2"]


def test_a_planted_fall_is_recovered_within_its_interval_95_times_in_100():
    rng = np.random.default_rng(5)
    hits, falling = 0, 0
    for _ in range(300):
        fit = QuarterlyTrend().fit(_series(rng, 0.75), 1000.0, QUARTERS)
        lo, hi = fit.rate_ratio_ci_
        hits += lo <= 0.75 <= hi
        falling += fit.verdict_ == FALLING
    assert hits / 300 >= 0.92
    assert falling / 300 >= 0.95  # a 25% fall a year from 40 a quarter is plain to see


def test_verdicts_follow_the_stated_rule():
    rng = np.random.default_rng(6)
    assert QuarterlyTrend().fit(_series(rng, 1.4), 1000.0, QUARTERS).verdict_ == RISING
    flat = [QuarterlyTrend().fit(_series(rng, 1.0), 1000.0, QUARTERS).verdict_
            for _ in range(200)]
    assert flat.count(NO_CHANGE) / 200 >= 0.9  # rising or falling only about 5% of the time
    fit = QuarterlyTrend().fit(_series(rng, 1.0), 1000.0, QUARTERS)
    lo, hi = fit.rate_ratio_ci_
    assert (fit.verdict_ == RISING) == (lo > 1) and (fit.verdict_ == FALLING) == (hi < 1)


def test_too_few_quarters_or_too_many_hidden_give_no_trend():
    y = np.full(12, 8)
    assert QuarterlyTrend().fit(y[:5], 1000.0, QUARTERS[:5]).verdict_ == TOO_FEW
    hidden = np.zeros(12, dtype=bool)
    hidden[:5] = True  # 5 of 12 hidden: more than a third
    fit = QuarterlyTrend().fit(y, 1000.0, QUARTERS, hidden=hidden)
    assert fit.verdict_ == TOO_FEW and fit.fitted_.empty and fit.forecast_.empty
    hidden[4] = False  # 4 of 12: judged
    assert QuarterlyTrend().fit(y, 1000.0, QUARTERS, hidden=hidden).verdict_ == NO_CHANGE


def test_rates_are_per_1000_children_a_year_and_the_forecast_band_holds_what_follows():
    rng = np.random.default_rng(8)
    inside, n = 0, 0
    for _ in range(200):
        y = _series(rng, 0.9, n=16)
        fit = QuarterlyTrend(horizon=4).fit(y[:12], 2000.0, QUARTERS)
        assert list(fit.forecast_["quarter"]) == next_quarters(QUARTERS[-1], 4)
        later = 1000 * y[12:] / (2000 * 0.25)
        inside += ((later >= fit.forecast_["lower"]) & (later <= fit.forecast_["upper"])).sum()
        n += 4
    assert inside / n >= 0.9
    flat = QuarterlyTrend().fit(np.full(12, 50), 2000.0, QUARTERS)
    assert flat.fitted_["rate"].to_numpy() == pytest.approx(100.0)  # 50 a quarter = 100/1,000/yr


def test_seasonal_offsets_find_a_summer_dip():
    rng = np.random.default_rng(9)
    k = np.array([int(q[:4]) * 4 + int(q[-1]) - 1 for q in QUARTERS])
    mu = 400 * np.where(k % 4 == 2, 0.7, 1.0)  # Q3 (July to September) 30% lower
    s = seasonal_offsets(rng.poisson(mu), np.full(12, 1000.0), QUARTERS)
    assert s.mean() == pytest.approx(0.0)
    assert np.exp(s[2] - s[[0, 1, 3]].mean()) == pytest.approx(0.7, abs=0.06)


def test_area_trends_read_protected_values_and_mark_hidden_quarters():
    rng = np.random.default_rng(10)
    rows = []
    for code, base, ratio in (("A", 40, 0.75), ("B", 3, 1.0)):
        y = _series(rng, ratio, base=base)
        for q, v in zip(QUARTERS, y, strict=True):
            hidden = 1 <= v <= 5
            rows.append({"level": "lsoa", "area_code": code, "period": q,
                         "measure": "families_engaged", "value": 3 if hidden else v,
                         "shown": not hidden})
    protected = pd.DataFrame(rows)
    summary, lines = area_trends(protected, QUARTERS,
                                 {"lsoa": pd.Series({"A": 1000.0, "B": 1000.0})},
                                 expected={"lsoa": pd.Series({"A": 240.0, "B": 36.0})},
                                 expected_quarters=12)
    a = summary.set_index("area_code").loc["A"]
    assert a["verdict"] == FALLING and 0.55 <= a["rate_ratio"] <= 0.95
    assert a["expected_per_quarter"] == 20.0
    b = summary.set_index("area_code").loc["B"]
    assert b["verdict"] == TOO_FEW and b["n_hidden"] > 4
    assert set(lines["area_code"]) == {"A"} and lines["forecast"].sum() == 4


def test_extreme_series_are_not_judged_and_never_raise():
    """A hostile-file bench run crashed a refresh: a sparse export left a quarter of the year
    empty, its seasonal factor ran to exp(-18.7), and a fit then raised "NaN, inf or invalid
    value detected in weights" from statsmodels."""
    qs = [f"{y}Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)]
    empty_q1 = np.array([0, 50, 50, 50] * 3, dtype=float)
    season = seasonal_offsets(empty_q1, np.full(12, 100.0), qs)
    assert np.all(np.abs(season) <= np.log(3.0) + 1e-9)
    wild = np.array([1e-300] * 11 + [1e300])
    assert seasonal_offsets(wild, np.full(12, 100.0), qs).tolist() == [0.0] * 4
    fit = QuarterlyTrend().fit(wild, 400.0, qs)
    assert fit.verdict_ == TOO_FEW and fit.fitted_.empty
