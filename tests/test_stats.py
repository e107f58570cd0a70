"""Checks of needmap.stats against values worked out by hand or published elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from needmap import stats

Z95 = 1.959963984540054  # norm.ppf(0.975)
Z998 = 3.090232306167813  # norm.ppf(0.999)


def test_two_sided_z_values():
    assert stats.two_sided_z(0.95) == pytest.approx(Z95)
    assert stats.two_sided_z(0.998) == pytest.approx(Z998)
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.two_sided_z(95)


def test_poisson_exact_interval_matches_chi2_literals():
    # O = 10: chi2.ppf(0.025, 20) / 2 and chi2.ppf(0.975, 22) / 2
    low, high = stats.poisson_exact_interval([10], level=0.95)
    assert low[0] == pytest.approx(4.7953886961, rel=1e-9)
    assert high[0] == pytest.approx(18.3903560420, rel=1e-9)
    # O = 0: lower 0, upper -ln(0.025) = 3.6889 (chi2.ppf(0.975, 2) / 2)
    low, high = stats.poisson_exact_interval([0])
    assert low[0] == 0.0
    assert high[0] == pytest.approx(-math.log(0.025), rel=1e-9)


def test_byar_interval_by_hand():
    o, e = 10, 5.0
    lower = o * (1 - 1 / (9 * o) - Z95 / (3 * math.sqrt(o))) ** 3 / e
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * math.sqrt(o + 1))) ** 3 / e
    low, high = stats.byar_interval([o], [e])
    assert low[0] == pytest.approx(lower) and lower == pytest.approx(0.95749, abs=1e-5)
    assert high[0] == pytest.approx(upper) and upper == pytest.approx(3.67829, abs=1e-5)
    # Byar approximates the exact interval: within 0.5% here (exact 0.95908, 3.67807).
    assert low[0] == pytest.approx(4.7953887 / 5, rel=5e-3)
    assert high[0] == pytest.approx(18.3903560 / 5, rel=5e-3)


def test_byar_zero_hidden_and_zero_expected():
    low, high = stats.byar_interval([0, 3, np.nan], [4.0, 0.0, 4.0])
    assert low[0] == 0.0
    # O = 0: upper = 1 * (1 - 1/9 + z/3)^3 / 4
    assert high[0] == pytest.approx((1 - 1 / 9 + Z95 / 3) ** 3 / 4)
    assert np.isnan(low[1]) and np.isnan(high[1])
    assert np.isnan(low[2]) and np.isnan(high[2])  # a hidden count has no interval


def test_count_tails_by_hand():
    # Poisson(4): P(Y <= 2) = e^-4 (1 + 4 + 8) = 0.238103; P(Y >= 7) = 1 - P(Y <= 6).
    assert stats.count_cdf([2], [4.0])[0] == pytest.approx(13 * math.exp(-4))
    below6 = math.exp(-4) * sum(4**k / math.factorial(k) for k in range(7))
    assert stats.count_sf([7], [4.0])[0] == pytest.approx(1 - below6)
    # Negative binomial with tau2 = 0.5 around E = 4: size 2, p = 2 / 6. P(Y = 0) = (1/3)^2.
    assert stats.count_cdf([0], [4.0], tau2=0.5)[0] == pytest.approx(1 / 9)
    assert math.exp(stats.count_logpmf([0], [4.0], tau2=0.5)[0]) == pytest.approx(1 / 9)
    # Its mean and variance are E and E + tau2 E^2 = 4 + 8.
    y = np.arange(400)
    pmf = np.exp(stats.count_logpmf(y, np.full(400, 4.0), tau2=0.5))
    assert pmf.sum() == pytest.approx(1.0)
    assert (y * pmf).sum() == pytest.approx(4.0)
    assert ((y - 4.0) ** 2 * pmf).sum() == pytest.approx(12.0)
    np.testing.assert_allclose(stats.count_logpmf(y[:30], np.full(30, 4.0), tau2=0.5),
                               sps.nbinom(2, 1 / 3).logpmf(y[:30]))  # fmt: skip
    assert np.isnan(stats.count_cdf([2], [0.0])[0])


def test_ratio_limit_interpolates_like_spiegelhalter():
    # E = 10, lower 95% limit: p = 0.025 lies between F(3) and F(4) of Poisson(10).
    f3 = math.exp(-10) * sum(10**k / math.factorial(k) for k in range(4))  # 0.0103361
    f4 = f3 + math.exp(-10) * 10**4 / math.factorial(4)  # 0.0292527
    alpha = (f4 - 0.025) / (f4 - f3)
    low = stats.ratio_limit([10.0], 0.025)
    assert low[0] == pytest.approx((4 - alpha) / 10, rel=1e-9)
    assert low[0] == pytest.approx(0.37752, abs=1e-5)
    # E = 2 at p = 0.001: P(O = 0) = e^-2 = 0.135 > 0.001, so no count is unusually low.
    assert stats.ratio_limit([2.0], 0.001)[0] == 0.0
    # For large E the limits approach the normal 1 +- z / sqrt(E).
    assert stats.ratio_limit([1000.0], 0.025)[0] == pytest.approx(1 - Z95 / math.sqrt(1000),
                                                                abs=2e-3)  # fmt: skip


@pytest.mark.parametrize("tau2", [0.0, 0.05])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.2])
def test_a_count_is_beyond_the_limit_exactly_when_its_tail_is_below_p(tau2, p):
    for e in (3.0, 12.5, 40.0, 97.3):
        counts = np.arange(0, int(6 * e) + 20)
        low = stats.ratio_limit([e], p, tau2=tau2)[0]
        high = stats.ratio_limit([e], p, tau2=tau2, side="upper")[0]
        cdf = stats.count_cdf(counts, np.full(counts.shape, e), tau2=tau2)
        sf = stats.count_sf(counts, np.full(counts.shape, e), tau2=tau2)
        np.testing.assert_array_equal(counts / e < low, cdf < p)
        np.testing.assert_array_equal(counts / e > high, sf < p)


def test_freeman_tukey_by_hand():
    # O = 8, E = 6: sqrt(8) + sqrt(9) - sqrt(25) = 0.828427
    assert stats.freeman_tukey([8], [6.0])[0] == pytest.approx(math.sqrt(8) - 2)
    assert stats.freeman_tukey([8], [6.0], tau2=0.5)[0] == pytest.approx((math.sqrt(8) - 2) / 2)


def test_huber_beta_values():
    # E[min(Z^2, k^2)] = (2 Phi(k) - 1) - 2 k phi(k) + 2 k^2 (1 - Phi(k))
    assert stats.huber_beta(1.5) == pytest.approx(0.7784652, abs=1e-6)
    assert stats.huber_beta(1.0) == pytest.approx(0.5160586, abs=1e-6)
    assert stats.huber_beta(50.0) == pytest.approx(1.0)


def test_robust_tau2_recovers_the_spread_and_resists_outliers():
    rng = np.random.default_rng(1)
    e = rng.uniform(5, 100, 400)
    poisson = rng.poisson(e)
    assert stats.robust_tau2(poisson, e) < 0.002
    estimates = []
    for _ in range(40):
        y = rng.poisson(e * rng.gamma(25, 1 / 25, e.size))  # CV 0.2: tau2 = 0.04
        estimates.append(stats.robust_tau2(y, e))
    assert np.mean(estimates) == pytest.approx(0.04, rel=0.08)
    # Ten areas at a tenth of their expectation move a plain variance a lot, this little.
    y = rng.poisson(e * rng.gamma(25, 1 / 25, e.size))
    spoiled = y.copy()
    spoiled[:10] = (y[:10] * 0.1).astype(int)
    moment = np.mean(((spoiled - e) ** 2 - e) / e**2)
    assert stats.robust_tau2(spoiled, e) < 0.055 < moment
    # Leaving the spoiled areas out (weight 0) gives the clean estimate back.
    weights = np.r_[np.zeros(10), np.ones(e.size - 10)]
    assert stats.robust_tau2(spoiled, e, weights=weights) == pytest.approx(
        stats.robust_tau2(y[10:], e[10:]))


def test_bh_cutoff_by_hand():
    # Benjamini & Hochberg's step-up at q = 0.2 on ten p-values: k/m q = 0.02, 0.04, ...
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    # p(5) = 0.042 <= 0.10 and p(7) = 0.074 <= 0.14; p(8) = 0.205 > 0.16: R = 7.
    assert stats.bh_cutoff(p, 0.2) == pytest.approx(0.14)
    assert stats.bh_cutoff(p, 0.05) == pytest.approx(0.01)  # p(2) = 0.008 <= 0.01: R = 2
    # Nothing passes: the cut-off is where the first flag would be, q / m.
    assert stats.bh_cutoff([0.5, 0.9], 0.2) == pytest.approx(0.1)
    assert stats.bh_cutoff([np.nan, 0.01], 0.2) == pytest.approx(0.2)  # NaN is not tested
    with pytest.raises(ValueError, match="false discovery rate"):
        stats.bh_cutoff(p, 1.5)


def test_mixture_posterior_by_hand():
    # Poisson: log LR = E (1 - r) + O log r. E = 10, r = 0.5, O = 3, share 0.2.
    log_odds = 10 * 0.5 + 3 * math.log(0.5) + math.log(0.2 / 0.8)
    expected = 1 / (1 + math.exp(-log_odds))
    got = stats.mixture_posterior([3], [10.0], tau2=0.0, share=0.2, reach=0.5)[0]
    assert got == pytest.approx(expected)
    # The same from the two Poisson probabilities directly.
    f1, f0 = sps.poisson.pmf(3, 5.0), sps.poisson.pmf(3, 10.0)
    assert got == pytest.approx(0.2 * f1 / (0.2 * f1 + 0.8 * f0))
    # And for the negative binomial.
    f1, f0 = sps.nbinom.pmf(3, 10, 10 / 15), sps.nbinom.pmf(3, 10, 10 / 20)
    got = stats.mixture_posterior([3], [10.0], tau2=0.1, share=0.2, reach=0.5)[0]
    assert got == pytest.approx(0.2 * f1 / (0.2 * f1 + 0.8 * f0))
