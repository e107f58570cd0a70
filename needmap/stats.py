"""Small-area statistics for counts against an expectation: intervals, funnels, over-dispersion, EB.

Pure functions on numpy arrays, no knowledge of areas or columns; :mod:`needmap.radar` composes
them. References:

- Byar's approximation to the exact Poisson interval: Breslow & Day (1987), *Statistical Methods
  in Cancer Research II*, p. 69.
- Exact (Garwood 1936) Poisson limits through the chi-square distribution.
- Wilson (1927) score interval for a proportion.
- Funnel plots and their exact Poisson limits with interpolation: Spiegelhalter (2005), "Funnel
  plots for comparing institutional performance", *Stat Med* 24:1185-1202, Appendix A.
- Over-dispersion, winsorised z-scores and the additive random-effects ``tau^2``: Spiegelhalter
  (2005), "Handling over-dispersion of performance indicators", *Qual Saf Health Care* 14:347-351.
- Global empirical-Bayes rates: Marshall (1991), "Mapping disease and mortality rates using
  empirical Bayes estimators", *Applied Statistics* 40:283-294 (method of moments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "EmpiricalBayes",
    "Overdispersion",
    "byar_interval",
    "estimate_overdispersion",
    "marshall_eb",
    "poisson_exact_interval",
    "poisson_funnel_limits",
    "proportion_funnel_limits",
    "sqrt_ratio_funnel_limits",
    "sqrt_ratio_z",
    "two_sided_z",
    "wilson_interval",
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

    Parameters
    ----------
    observed : array_like
        Non-negative counts.
    level : float, keyword-only
        Coverage of the two-sided interval.

    Returns
    -------
    lower, upper : ndarray
        Limits for the Poisson mean (divide by an expected count for ratio limits).
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
        Counts and expected counts (``expected > 0``; other entries give NaN).
    level : float, keyword-only
        Coverage of the two-sided interval.

    Returns
    -------
    lower, upper : ndarray
        Limits for the ratio ``O / E``.
    """
    z = two_sided_z(level)
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
        low = np.where(o > 0, low, 0.0)
        o1 = o + 1.0
        high = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return low / e, high / e


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, *, level: float = 0.95
) -> tuple[Floats, Floats]:
    """Wilson score interval for a binomial proportion ``successes / trials``.

    Returns NaN where ``trials`` is 0.
    """
    z = two_sided_z(level)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    n = np.where(n > 0, n, np.nan)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def proportion_funnel_limits(
    trials: ArrayLike, target: float, *, level: float = 0.95
) -> tuple[Floats, Floats]:
    """Normal-approximation funnel limits for a proportion: ``p0 +- z sqrt(p0 (1 - p0) / n)``.

    Parameters
    ----------
    trials : array_like
        Denominators ``n`` (the funnel's x axis).
    target : float
        The proportion ``p0`` every unit is compared with.
    level : float, keyword-only
        Two-sided coverage, e.g. 0.95 or 0.998.
    """
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a proportion between 0 and 1; got {target!r}")
    z = two_sided_z(level)
    n = np.asarray(trials, dtype=float)
    n = np.where(n > 0, n, np.nan)
    half = z * np.sqrt(target * (1.0 - target) / n)
    return target - half, target + half


def poisson_funnel_limits(expected: ArrayLike, *, level: float = 0.998) -> tuple[Floats, Floats]:
    """Exact Poisson funnel limits for an observed/expected ratio with target 1.

    Spiegelhalter (2005, Appendix A): ``y_p`` is the ``p``-quantile of ``Poisson(E)``, smoothed by
    ``alpha = (F(y_p) - p) / (F(y_p) - F(y_p - 1))``; the limit is ``(y_p - alpha) / E`` for
    ``p = (1 - level) / 2`` (lower) and ``p = (1 + level) / 2`` (upper). A lower limit below 0
    (when even no events at all would not be unusual) is reported as 0.

    Parameters
    ----------
    expected : array_like
        Expected counts ``E > 0`` (other entries give NaN).
    level : float, keyword-only
        Two-sided coverage, e.g. 0.95 or 0.998.
    """
    _check_level(level)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    limits = []
    for p in ((1.0 - level) / 2.0, (1.0 + level) / 2.0):
        y = stats.poisson.ppf(p, e)
        f_y = stats.poisson.cdf(y, e)
        f_below = stats.poisson.cdf(y - 1.0, e)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = (f_y - p) / (f_y - f_below)
        limits.append(np.clip(y - alpha, 0.0, None) / e)
    return limits[0], limits[1]


def sqrt_ratio_z(observed: ArrayLike, expected: ArrayLike) -> Floats:
    """z-score of a ratio on the square-root scale: ``2 (sqrt(O) - sqrt(E))``.

    Spiegelhalter's recommended transform for standardised ratios: ``sqrt(O / E)`` has target 1
    and standard error ``1 / (2 sqrt(E))``, so the z-score stays near-normal for small counts.
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    return 2.0 * (np.sqrt(o) - np.sqrt(e))


def sqrt_ratio_funnel_limits(
    expected: ArrayLike, *, level: float = 0.998, tau2: float = 0.0, phi: float = 1.0
) -> tuple[Floats, Floats]:
    """Funnel limits for ``O / E`` built on the square-root scale, with over-dispersion.

    ``sqrt(ratio) = 1 +- z sqrt(phi / (4 E) + tau2)``, squared back (a negative lower bound
    becomes 0). ``tau2`` is the additive random-effects variance, ``phi`` the multiplicative
    factor; leave both at their defaults for pure Poisson variation.
    """
    z = two_sided_z(level)
    e = np.asarray(expected, dtype=float)
    e = np.where(e > 0, e, np.nan)
    half = z * np.sqrt(phi / (4.0 * e) + tau2)
    return np.clip(1.0 - half, 0.0, None) ** 2, (1.0 + half) ** 2


@dataclass(frozen=True)
class Overdispersion:
    """Result of :func:`estimate_overdispersion`.

    Attributes
    ----------
    phi : float
        Mean of the squared winsorised z-scores (1 under pure Poisson variation, before
        winsorising pulls it slightly below).
    tau2 : float
        Additive between-area variance on the z-score's scale (0 if not over-dispersed).
    n : int
        Number of units used.
    p_value : float
        P(chi2 with n - 1 df >= n * phi): small values mean over-dispersion.
    overdispersed : bool
        ``p_value < alpha``.
    """

    phi: float
    tau2: float
    n: int
    p_value: float
    overdispersed: bool


def estimate_overdispersion(
    z: ArrayLike, standard_errors: ArrayLike, *, winsor: float = 0.10, alpha: float = 0.05
) -> Overdispersion:
    """Spiegelhalter's (2005) over-dispersion estimate from winsorised z-scores.

    The lowest and highest ``winsor`` share of z-scores are pulled in to the ``winsor`` and
    ``1 - winsor`` quantiles so that a few genuine outliers do not inflate the estimate; then
    ``phi = mean(z_w^2)`` and, if ``n phi`` exceeds the chi-square(n - 1) critical value at
    ``alpha``, ``tau2 = (n phi - (n - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1 / s^2``.

    Parameters
    ----------
    z : array_like
        z-scores ``(y - target) / s`` (NaNs are ignored).
    standard_errors : array_like
        Their standard errors ``s`` under the null.
    winsor : float, keyword-only
        Share winsorised at each end (0 turns winsorising off).
    alpha : float, keyword-only
        Significance level of the chi-square test for over-dispersion.
    """
    if not 0.0 <= winsor < 0.5:
        raise ValueError(f"winsor must be in [0, 0.5); got {winsor!r}")
    z = np.asarray(z, dtype=float)
    s = np.asarray(standard_errors, dtype=float)
    ok = np.isfinite(z) & np.isfinite(s) & (s > 0)
    z, s = z[ok], s[ok]
    n = int(z.size)
    if n < 2:
        return Overdispersion(phi=1.0, tau2=0.0, n=n, p_value=1.0, overdispersed=False)
    low, high = np.quantile(z, [winsor, 1.0 - winsor])
    zw = np.clip(z, low, high)
    phi = float(np.mean(zw**2))
    p_value = float(stats.chi2.sf(n * phi, n - 1))
    overdispersed = p_value < alpha
    tau2 = 0.0
    if overdispersed:
        w = 1.0 / s**2
        tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return Overdispersion(
        phi=phi, tau2=float(tau2), n=n, p_value=p_value, overdispersed=overdispersed
    )


@dataclass(frozen=True)
class EmpiricalBayes:
    """Result of :func:`marshall_eb`.

    Attributes
    ----------
    rates : ndarray
        Smoothed rates, one per unit.
    prior_mean : float
        Pooled rate ``sum(events) / sum(population)``.
    prior_variance : float
        Method-of-moments between-unit variance of the true rates (floored at 0).
    shrinkage : ndarray
        Weight on each unit's own rate, ``A / (A + m / n_i)`` (0 = fully pooled).
    """

    rates: Floats
    prior_mean: float
    prior_variance: float
    shrinkage: Floats


def marshall_eb(events: ArrayLike, population: ArrayLike) -> EmpiricalBayes:
    """Marshall's (1991) global empirical-Bayes smoothing of rates by the method of moments.

    With ``r_i = O_i / n_i``, ``m = sum O / sum n``,
    ``s^2 = sum n_i (r_i - m)^2 / sum n``, ``A = max(0, s^2 - m / mean(n))`` and
    ``C_i = A / (A + m / n_i)``, the smoothed rate is ``m + C_i (r_i - m)``: small units move
    towards the pooled rate, large ones keep most of their own.

    Parameters
    ----------
    events : array_like
        Counts per unit.
    population : array_like
        Population at risk per unit (all > 0). Pass expected counts instead to smooth an
        observed/expected ratio.
    """
    o = np.asarray(events, dtype=float)
    n = np.asarray(population, dtype=float)
    if o.shape != n.shape:
        raise ValueError(f"events and population differ in shape: {o.shape} vs {n.shape}")
    if o.size == 0 or np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("population must be a non-empty array of positive numbers")
    rate = o / n
    m = o.sum() / n.sum()
    s2 = float((n * (rate - m) ** 2).sum() / n.sum())
    a = max(0.0, s2 - m / n.mean())
    with np.errstate(invalid="ignore"):
        shrink = np.where(a > 0, a / (a + m / n), 0.0)
    return EmpiricalBayes(
        rates=m + shrink * (rate - m), prior_mean=float(m), prior_variance=a, shrinkage=shrink
    )
