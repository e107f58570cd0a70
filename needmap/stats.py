"""Small-area statistics for counts against an expectation: tails, limits, dispersion, FDR.

Pure functions on numpy arrays, no knowledge of areas or columns; :mod:`needmap.radar` composes
them. The count model throughout is the Poisson-gamma (negative binomial) one: an area's true
reach varies around its expected count ``E`` with coefficient of variation ``tau``, so a count
has mean ``E`` and variance ``E + tau^2 E^2`` (``tau = 0`` is plain Poisson). References:

- Byar's approximation to the exact Poisson interval: Breslow & Day (1987), *Statistical Methods
  in Cancer Research II*, p. 69. Exact (Garwood 1936) limits through the chi-square distribution.
- Funnel limits of a discrete distribution with interpolation: Spiegelhalter (2005), "Funnel
  plots for comparing institutional performance", *Stat Med* 24:1185-1202, Appendix A.
- Over-dispersion as an additive random effect: Spiegelhalter (2005), "Handling over-dispersion
  of performance indicators", *Qual Saf Health Care* 14:347-351; its robust estimate here is
  Huber's "proposal 2" (Huber 1964; Huber & Ronchetti 2009, section 6.4) on Freeman-Tukey
  residuals (Freeman & Tukey 1950), which need no winsorising share and stay consistent.
- False discovery rate: Benjamini & Hochberg (1995), *JRSS B* 57:289-300; drawn on funnel plots
  by Jones, Ohlssen & Spiegelhalter (2008), *J Clin Epidemiol* 61:232-240.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

__all__ = [
    "bh_cutoff",
    "byar_interval",
    "count_cdf",
    "count_logpmf",
    "count_sf",
    "freeman_tukey",
    "huber_beta",
    "mixture_posterior",
    "posterior_limit",
    "poisson_exact_interval",
    "ratio_limit",
    "robust_tau2",
    "two_sided_z",
]

Floats = NDArray[np.float64]


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a coverage between 0 and 1 (e.g. 0.95); got {level!r}")


def two_sided_z(level: float) -> float:
    """Standard normal quantile for a two-sided interval: 1.96 for 0.95, 3.09 for 0.998."""
    _check_level(level)
    return float(stats.norm.ppf(0.5 + level / 2.0))


def poisson_exact_interval(observed: ArrayLike, *, level: float = 0.95) -> tuple[Floats, Floats]:
    """Exact (Garwood) confidence limits for a Poisson mean given an observed count.

    ``lower = chi2.ppf(a/2, 2*O) / 2`` and ``upper = chi2.ppf(1 - a/2, 2*O + 2) / 2`` with
    ``a = 1 - level``; the lower limit of ``O = 0`` is 0.
    """
    _check_level(level)
    o = np.asarray(observed, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * o) / 2.0, 0.0)
    upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
    return lower, upper


def byar_interval(
    observed: ArrayLike, expected: ArrayLike, *, level: float = 0.95
) -> tuple[Floats, Floats]:
    """Byar's approximate confidence interval for an observed/expected ratio.

    ``lower = O (1 - 1/(9 O) - z / (3 sqrt(O)))^3 / E`` and
    ``upper = (O + 1) (1 - 1/(9 (O + 1)) + z / (3 sqrt(O + 1)))^3 / E``; the lower limit for
    ``O = 0`` is 0. Close to the exact Poisson interval from ``O`` of about 5 upwards.

    Parameters
    ----------
    observed, expected : array_like
        Counts and expected counts (``expected > 0``; other entries, and NaN counts, give NaN).
    level : float, keyword-only
        Coverage of the two-sided interval.
    """
    z = two_sided_z(level)
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
        low = np.where(o > 0, low, np.where(o == 0, 0.0, np.nan))
        o1 = o + 1.0
        high = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return low / e, high / e


def _distribution(expected: np.ndarray, tau2: float):
    """Poisson(E) when ``tau2`` is 0, else the negative binomial: mean E, variance E + tau2 E^2."""
    if tau2 < 0 or not np.isfinite(tau2):
        raise ValueError(f"tau2 must be a finite number >= 0; got {tau2!r}")
    if tau2 == 0:
        return stats.poisson(expected)
    size = 1.0 / tau2
    return stats.nbinom(size, size / (size + expected))


def count_cdf(observed: ArrayLike, expected: ArrayLike, *, tau2: float = 0.0) -> Floats:
    """``P(Y <= O)`` for a count with mean ``E`` and variance ``E + tau2 E^2``: the shortfall p.

    Non-integer ``O`` is floored; ``E <= 0`` or NaN gives NaN.
    """
    o = np.floor(np.asarray(observed, dtype=float))
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    if tau2 < 0 or not np.isfinite(tau2):
        raise ValueError(f"tau2 must be a finite number >= 0; got {tau2!r}")
    # The special functions directly: scipy.stats' distribution objects cost milliseconds a
    # call, and the radar's fit calls this hundreds of times.
    with np.errstate(invalid="ignore"):
        if tau2 == 0:
            out = special.pdtr(o, e)
        else:
            size = 1.0 / tau2
            out = special.betainc(size, np.maximum(o, 0) + 1.0, size / (size + e))
    return np.asarray(np.where(o < 0, 0.0, out), dtype=float)


def count_logpmf(observed: ArrayLike, expected: ArrayLike, *, tau2: float = 0.0) -> Floats:
    """``log P(Y = O)`` for the same count (``O`` whole, ``E > 0``)."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if tau2 < 0 or not np.isfinite(tau2):
        raise ValueError(f"tau2 must be a finite number >= 0; got {tau2!r}")
    if tau2 == 0:
        return np.asarray(stats.poisson.logpmf(o, e), dtype=float)
    size = 1.0 / tau2
    return np.asarray(
        special.gammaln(o + size) - special.gammaln(size) - special.gammaln(o + 1.0)
        + size * np.log(size / (size + e)) + special.xlogy(o, e / (size + e)),
        dtype=float,
    )


def count_sf(observed: ArrayLike, expected: ArrayLike, *, tau2: float = 0.0) -> Floats:
    """``P(Y >= O)`` for the same count: the excess p. Non-integer ``O`` is rounded up."""
    o = np.ceil(np.asarray(observed, dtype=float))
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    return np.asarray(_distribution(e, tau2).sf(o - 1.0), dtype=float)


def ratio_limit(
    expected: ArrayLike, p: float, *, tau2: float = 0.0, side: str = "lower"
) -> Floats:
    """Funnel limit for ``O / E``: where a count's tail probability crosses ``p``.

    Spiegelhalter's (2005, Appendix A) interpolation between the integers of the discrete
    distribution: for the lower side, ``y`` is the ``p``-quantile, ``a = (F(y) - p) /
    (F(y) - F(y - 1))`` and the limit is ``(y - a) / E``; an integer count lies below it exactly
    when ``P(Y <= O) < p``. The upper side mirrors it so that a count lies above the limit
    exactly when ``P(Y >= O) < p``. A lower limit below 0 (even no events would not be unusual)
    is reported as 0.

    Parameters
    ----------
    expected : array_like
        Expected counts ``E > 0`` (other entries give NaN).
    p : float
        One-sided tail probability, e.g. 0.025 for the lower 95% funnel limit.
    tau2 : float, keyword-only
        Squared coefficient of variation of the true reach (0 = Poisson).
    side : {"lower", "upper"}, keyword-only
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be a probability between 0 and 1; got {p!r}")
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper'; got {side!r}")
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    dist = _distribution(e, tau2)
    target = p if side == "lower" else 1.0 - p
    y = dist.ppf(target)
    f_y = dist.cdf(y)
    f_below = dist.cdf(y - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(f_y > f_below, (f_y - target) / (f_y - f_below), 0.0)
    limit = y - a if side == "lower" else y + 1.0 - a
    return np.asarray(np.clip(limit, 0.0, None) / e, dtype=float)


def freeman_tukey(observed: ArrayLike, expected: ArrayLike, *, tau2: float = 0.0) -> Floats:
    """Freeman-Tukey residual ``(sqrt(O) + sqrt(O + 1) - sqrt(4 E + 1)) / sqrt(1 + tau2 E)``.

    Close to standard normal for a Poisson count from ``E`` of about 1 (the square root
    stabilises the variance), and for the negative binomial once divided by
    ``sqrt(1 + tau2 E)``, the variance of ``2 sqrt(O)`` under it.
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    return (np.sqrt(o) + np.sqrt(o + 1.0) - np.sqrt(4.0 * e + 1.0)) / np.sqrt(1.0 + tau2 * e)


def huber_beta(k: float) -> float:
    """``E[min(Z^2, k^2)]`` for a standard normal ``Z``: the consistency constant of proposal 2."""
    if not k > 0:
        raise ValueError(f"k must be > 0; got {k!r}")
    return float(
        (2 * stats.norm.cdf(k) - 1) - 2 * k * stats.norm.pdf(k) + 2 * k * k * stats.norm.sf(k)
    )


def robust_tau2(
    observed: ArrayLike,
    expected: ArrayLike,
    *,
    k: float = 1.5,
    weights: ArrayLike | None = None,
    n_params: int = 0,
) -> float:
    """Robust between-area variance ``tau^2`` of the true reach (Huber's proposal 2).

    Solves ``mean(min(r_i^2, k^2)) = E[min(Z^2, k^2)]`` for ``tau2 >= 0``, with ``r_i`` the
    :func:`freeman_tukey` residuals at ``tau2``: the variance at which the residuals, each capped
    at ``k``, look standard normal. A few far-out areas (the ones the radar looks for) add at
    most ``k^2`` each, so they cannot inflate the estimate much; with none, it is consistent.
    Returns 0 when the counts are no more variable than Poisson.

    Parameters
    ----------
    observed, expected : array_like
        Counts and their expected counts (entries with ``E <= 0`` or NaN are ignored).
    k : float, keyword-only
        Cap on each residual (smaller = more robust, less efficient).
    weights : array_like, optional
        Weight of each area in the mean (e.g. 0 to leave an area out).
    n_params : int, keyword-only
        Parameters fitted to get ``expected``: the target becomes ``beta (n - p) / n``, the
        usual degrees-of-freedom allowance for residuals that have been fitted.
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    w = np.ones_like(e) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0) & np.isfinite(w) & (w > 0)
    o, e, w = o[ok], e[ok], w[ok]
    if o.size < 2:
        return 0.0
    beta = huber_beta(k) * max(o.size - n_params, 1) / o.size

    def excess(tau2: float) -> float:
        r = freeman_tukey(o, e, tau2=tau2)
        return float(np.average(np.minimum(r * r, k * k), weights=w)) - beta

    if excess(0.0) <= 0:
        return 0.0
    high = 1.0
    while excess(high) > 0:
        high *= 4.0
        if high > 1e6:
            return high
    return float(optimize.brentq(excess, 0.0, high, xtol=1e-10))


def bh_cutoff(p: ArrayLike, q: float) -> float:
    """Benjamini-Hochberg threshold: flag ``p_i <= cutoff`` to hold the false discovery rate at q.

    With ``m`` p-values and ``R`` the largest ``k`` such that the ``k``-th smallest is at most
    ``q k / m``, the cutoff is ``q max(R, 1) / m``: it flags the same areas as the step-up
    procedure, and when nothing is flagged it is where the first flag would be. NaNs are not
    counted (not tested).
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be a false discovery rate between 0 and 1; got {q!r}")
    values = np.asarray(p, dtype=float)
    values = np.sort(values[np.isfinite(values)])
    m = values.size
    if m == 0:
        return 0.0
    passed = np.flatnonzero(values <= q * np.arange(1, m + 1) / m)
    r = int(passed[-1]) + 1 if passed.size else 0
    return q * max(r, 1) / m


def _log_lr_terms(expected: np.ndarray, tau2: float, reach: float) -> tuple[Floats, Floats]:
    """``log f1(y) - log f0(y) = a + b y`` for counts around ``reach E`` (f1) against ``E`` (f0)."""
    e = np.asarray(expected, dtype=float)
    if tau2 == 0:
        return e * (1.0 - reach), np.full(e.shape, np.log(reach))
    size = 1.0 / tau2
    a = size * np.log((size + e) / (size + reach * e))
    b = np.log(reach * (size + e) / (size + reach * e))
    return a, b


def mixture_posterior(
    observed: ArrayLike, expected: ArrayLike, *, tau2: float, share: float, reach: float
) -> Floats:
    """Probability that a count comes from the low component of a two-group mixture.

    Ordinary areas have mean ``E`` and low ones ``reach E`` (``0 < reach < 1``), both with
    variance ``m + tau2 m^2`` at mean ``m``; ``share`` is the prior share of low areas. The
    log likelihood ratio is linear in the count: ``a + b O`` with ``b < 0`` (see
    :func:`posterior_limit`).
    """
    if not 0.0 < reach < 1.0 or not 0.0 < share < 1.0:
        raise ValueError(f"reach and share must be in (0, 1); got {reach!r}, {share!r}")
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    a, b = _log_lr_terms(e, tau2, reach)
    log_odds = np.clip(a + b * o + np.log(share / (1.0 - share)), -700, 700)
    return 1.0 / (1.0 + np.exp(-log_odds))


def posterior_limit(
    expected: ArrayLike, *, tau2: float, share: float, reach: float, level: float = 0.5
) -> Floats:
    """Ratio ``O / E`` at or below which :func:`mixture_posterior` is at least ``level``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a probability between 0 and 1; got {level!r}")
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    a, b = _log_lr_terms(e, tau2, reach)
    target = np.log(level / (1.0 - level)) - np.log(share / (1.0 - share))
    return np.clip((target - a) / b, 0.0, None) / e
