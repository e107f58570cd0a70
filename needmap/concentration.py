"""Who a service reaches: the concentration index of its families over children ranked by need.

The index
---------
The *concentration index* of health-equity analysis (Wagstaff, Paci & van Doorslaer 1991;
O'Donnell, van Doorslaer, Wagstaff & Lindelow 2008, *Analyzing Health Equity Using Household
Survey Data*, chapter 8), for grouped data. Children are ranked from the most deprived national
IDACI decile to the least; group ``t`` holds the share ``f_t`` of the children and ``s_t`` of the
families engaged; its children's mean fractional rank is ``R_t = F_{t-1} + f_t / 2`` (``F`` the
cumulative share). Then

    C = sum_t s_t (2 R_t - 1) = 2 E[R] - 1,

twice the mean rank of the families' children minus one. It equals the grouped-data formula
``C = sum_t (p_t L_{t+1} - p_{t+1} L_t)`` on the concentration curve (``p``: cumulative children,
``L``: cumulative families). ``C`` runs from -1 to 1: **negative when families are concentrated
among the most deprived children**, 0 when they follow children, positive when they lean to the
least deprived.

The interval
------------
Treating the ``n`` families as independent draws over the groups (a multinomial sample), ``C``
is twice a sample mean of ranks, so ``Var(C) = 4 Var(R) / n`` with
``Var(R) = sum_t s_t R_t^2 - (sum_t s_t R_t)^2``, and the 95% interval is the normal one,
``C +- 1.96 sqrt(Var(C))``. It ignores the spread of ranks within a decile (the index is of
deciles) and the cell-key perturbation of the counts (at most 4 a cell, which moves the index far
less than sampling does for a service of a few hundred families).

Its trend: a weighted least-squares line through the quarters' indices (weights ``1 / Var(C)``,
variances taken as known, statsmodels ``WLS`` with ``cov_type="fixed scale"``).

Why hand-written: no maintained Python package computes a grouped concentration index with an
interval (``inequality``/``pyinequality`` compute Gini indices of individual data); the formula is
four lines, and ``tests/test_concentration.py`` checks it against an example worked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Concentration", "IndexTrend", "concentration_index", "index_trend", "ranks"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Concentration:
    """A concentration index with its standard error and 95% interval (NaN if undefined)."""

    index: float
    se: float
    lower: float
    upper: float
    n: float


def ranks(children: np.ndarray) -> np.ndarray:
    """Mean fractional rank ``R_t`` of each group's children, groups ordered most deprived first."""
    f = np.asarray(children, dtype=float)
    total = f.sum()
    if total <= 0:
        return np.full(len(f), np.nan)
    f = f / total
    return np.cumsum(f) - f / 2


def concentration_index(families: np.ndarray, children: np.ndarray) -> Concentration:
    """The concentration index of ``families`` over ``children``, both by group (most deprived
    first), with its multinomial standard error and normal 95% interval.

    Groups with no children carry no rank; families in them are left out.
    """
    fam = np.asarray(families, dtype=float)
    kids = np.asarray(children, dtype=float)
    has = kids > 0
    fam, r = fam[has], ranks(kids[has])
    n = float(fam.sum())
    if n <= 0 or not np.isfinite(r).all():
        nan = float("nan")
        return Concentration(nan, nan, nan, nan, n)
    s = fam / n
    mean_r = float((s * r).sum())
    var_r = max(float((s * r * r).sum()) - mean_r**2, 0.0)
    c = 2 * mean_r - 1
    se = 2 * np.sqrt(var_r / n)
    return Concentration(c, float(se), c - Z95 * se, c + Z95 * se, n)


@dataclass(frozen=True)
class IndexTrend:
    """The change of the index a year, with its 95% interval, from ``n`` quarters."""

    per_year: float
    lower: float
    upper: float
    n: int


def index_trend(values: np.ndarray, se: np.ndarray, years: np.ndarray) -> IndexTrend:
    """Weighted least-squares slope of quarterly indices on time in years (known variances)."""
    import statsmodels.api as sm

    v, s, t = (np.asarray(a, dtype=float) for a in (values, se, years))
    ok = np.isfinite(v) & np.isfinite(s) & (s > 0)
    nan = float("nan")
    if ok.sum() < 3 or np.ptp(t[ok]) == 0:
        return IndexTrend(nan, nan, nan, int(ok.sum()))
    res = sm.WLS(v[ok], sm.add_constant(t[ok]), weights=1 / s[ok] ** 2).fit(
        cov_type="fixed scale")
    slope, se_slope = float(res.params[1]), float(res.bse[1])
    return IndexTrend(slope, slope - Z95 * se_slope, slope + Z95 * se_slope, int(ok.sum()))
