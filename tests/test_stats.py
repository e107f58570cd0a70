"""Checks of needmap.stats against values worked out by hand or published elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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
    # 99.8%: chi2.ppf(0.001, 20) / 2 and chi2.ppf(0.999, 22) / 2
    low, high = stats.poisson_exact_interval([10], level=0.998)
    assert low[0] == pytest.approx(2.9605203727, rel=1e-9)
    assert high[0] == pytest.approx(24.1339711454, rel=1e-9)
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


def test_byar_zero_count_and_zero_expected():
    low, high = stats.byar_interval([0, 3], [4.0, 0.0])
    assert low[0] == 0.0
    # O = 0: upper = 1 * (1 - 1/9 + z/3)^3 / 4
    assert high[0] == pytest.approx((1 - 1 / 9 + Z95 / 3) ** 3 / 4)
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_wilson_interval_by_hand():
    # k = 8, n = 20: p = 0.4, centre = (0.4 + z^2/40) / (1 + z^2/20)
    k, n = 8, 20
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    low, high = stats.wilson_interval([k], [n])
    assert low[0] == pytest.approx(centre - half) and low[0] == pytest.approx(0.2188, abs=1e-4)
    assert high[0] == pytest.approx(centre + half) and high[0] == pytest.approx(0.6134, abs=1e-4)


def test_proportion_funnel_for_known_n_and_p():
    # n = 100, p0 = 0.2: sd = sqrt(0.2 * 0.8 / 100) = 0.04
    low, high = stats.proportion_funnel_limits([100], 0.2, level=0.95)
    assert low[0] == pytest.approx(0.2 - Z95 * 0.04)
    assert low[0] == pytest.approx(0.12160, abs=1e-5)
    assert high[0] == pytest.approx(0.27840, abs=1e-5)
    low, high = stats.proportion_funnel_limits([400], 0.5, level=0.998)  # sd = 0.025
    assert low[0] == pytest.approx(0.5 - Z998 * 0.025)
    assert high[0] == pytest.approx(0.5 + Z998 * 0.025)


def test_poisson_funnel_interpolation_by_hand():
    # E = 10, lower 95% limit: p = 0.025 lies between F(3) and F(4) of Poisson(10).
    f3 = math.exp(-10) * sum(10**k / math.factorial(k) for k in range(4))  # 0.0103361
    f4 = f3 + math.exp(-10) * 10**4 / math.factorial(4)  # 0.0292527
    alpha = (f4 - 0.025) / (f4 - f3)
    low, high = stats.poisson_funnel_limits([10.0], level=0.95)
    assert low[0] == pytest.approx((4 - alpha) / 10, rel=1e-9)
    assert low[0] == pytest.approx(0.37752, abs=1e-5)
    # Upper limit sits above 1 and the funnel narrows as E grows.
    low_big, high_big = stats.poisson_funnel_limits([1000.0], level=0.95)
    assert 1 < high_big[0] < high[0] and low[0] < low_big[0] < 1
    # For large E the exact limits approach the normal 1 +- z / sqrt(E).
    assert low_big[0] == pytest.approx(1 - Z95 / math.sqrt(1000), abs=2e-3)
    # E = 2 at 99.8%: P(O = 0) = e^-2 = 0.135 > 0.001, so no count is unusually low: limit 0.
    low_small, _ = stats.poisson_funnel_limits([2.0], level=0.998)
    assert low_small[0] == 0.0


def test_sqrt_ratio_limits_and_z_agree():
    # A ratio sitting exactly on the 99.8% lower limit has z = -3.09 on the sqrt scale.
    e = np.array([4.0, 25.0, 100.0])
    low, high = stats.sqrt_ratio_funnel_limits(e, level=0.998)
    # E = 25: sqrt(ratio) = 1 - 3.0902 / 10, ratio = 0.6909^2 = 0.47737
    assert low[1] == pytest.approx((1 - Z998 / 10) ** 2)
    assert high[1] == pytest.approx((1 + Z998 / 10) ** 2)
    np.testing.assert_allclose(stats.sqrt_ratio_z(low * e, e), [-Z998] * 3)
    # E = 4: 1 - 3.09 / 4 > 0 so the limit is not clipped: (0.2274)^2
    assert low[0] == pytest.approx((1 - Z998 / 4) ** 2)
    # tau2 widens every limit, phi scales the Poisson part only.
    low_t, _ = stats.sqrt_ratio_funnel_limits(e, level=0.998, tau2=0.01)
    assert np.all(low_t < low)
    low_p, _ = stats.sqrt_ratio_funnel_limits([25.0], level=0.998, phi=4.0)
    assert low_p[0] == pytest.approx((1 - Z998 * 2 / 10) ** 2)


def test_sqrt_ratio_z_by_hand():
    assert stats.sqrt_ratio_z([16], [25])[0] == pytest.approx(2 * (4 - 5))
    assert np.isnan(stats.sqrt_ratio_z([3], [0])[0])


def test_overdispersion_by_hand_without_winsorising():
    z = np.array([3.0, -3.0, 1.0, -1.0, 2.0, -2.0])
    s = np.array([0.1, 0.1, 0.2, 0.2, 0.5, 0.5])
    od = stats.estimate_overdispersion(z, s, winsor=0.0, alpha=0.05)
    phi = (9 + 9 + 1 + 1 + 4 + 4) / 6  # 4.6667
    w = 1 / s**2  # 100, 100, 25, 25, 4, 4: sum 258, sum of squares 21282
    tau2 = (6 * phi - 5) / (258 - 21282 / 258)  # 23 / 175.512 = 0.13105
    assert od.phi == pytest.approx(phi)
    assert od.overdispersed
    assert w.sum() == 258
    assert od.tau2 == pytest.approx(tau2) and od.tau2 == pytest.approx(0.131045, abs=1e-6)


def test_overdispersion_winsorising_tames_an_outlier_and_null_is_not_flagged():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(200)
    od = stats.estimate_overdispersion(z, np.ones(200))
    assert not od.overdispersed and od.tau2 == 0.0 and od.phi < 1.2
    z_out = z.copy()
    z_out[:5] = -12.0  # five planted outliers (2.5%) fall inside the winsorised tail
    od_out = stats.estimate_overdispersion(z_out, np.ones(200))
    assert not od_out.overdispersed
    od_raw = stats.estimate_overdispersion(z_out, np.ones(200), winsor=0.0)
    assert od_raw.overdispersed and od_raw.phi > 4


def test_marshall_eb_small_example_by_hand():
    # Three areas: 2/100, 10/200, 30/700. m = 42/1000 = 0.042.
    o = np.array([2.0, 10.0, 30.0])
    n = np.array([100.0, 200.0, 700.0])
    m = 42 / 1000
    r = o / n  # 0.02, 0.05, 0.042857
    s2 = (100 * (0.02 - m) ** 2 + 200 * (0.05 - m) ** 2 + 700 * (r[2] - m) ** 2) / 1000
    a = s2 - m / (1000 / 3)  # 6.7e-05 - 1.26e-04 < 0, so A = 0: every rate is pooled
    assert a < 0
    eb = stats.marshall_eb(o, n)
    assert eb.prior_mean == pytest.approx(0.042)
    assert eb.prior_variance == 0.0
    np.testing.assert_allclose(eb.rates, [0.042] * 3)

    # Spread the rates out: 1/100, 20/200, 21/700, m = 0.042 again.
    o = np.array([1.0, 20.0, 21.0])
    r = o / n  # 0.01, 0.10, 0.03
    s2 = (100 * 0.032**2 + 200 * 0.058**2 + 700 * 0.012**2) / 1000  # 0.0008760
    a = s2 - 0.042 / (1000 / 3)  # 0.000876 - 0.000126 = 0.000750
    c = a / (a + 0.042 / n)  # 0.641, 0.781, 0.926
    eb = stats.marshall_eb(o, n)
    assert s2 == pytest.approx(0.000876)
    assert eb.prior_variance == pytest.approx(0.00075)
    np.testing.assert_allclose(eb.shrinkage, c)
    np.testing.assert_allclose(eb.rates, 0.042 + c * (r - 0.042))
    # Shrinkage pulls every rate towards the pooled one, the smallest area most.
    assert np.all(np.abs(eb.rates - m) <= np.abs(r - m))
    assert eb.shrinkage[0] < eb.shrinkage[1] < eb.shrinkage[2]


def test_marshall_eb_reproduces_published_st_louis_example():
    # esda's Empirical_Bayes docstring (St Louis homicides 1979-84, HC7984 / PO7984) publishes
    # these smoothed rates for the first ten counties; the data ship with libpysal.
    libpysal = pytest.importorskip("libpysal")
    data = pd.read_csv(libpysal.examples.get_path("stl_hom.csv"))
    eb = stats.marshall_eb(data["HC7984"].to_numpy(), data["PO7984"].to_numpy())
    published = [
        2.36718950e-05, 4.54539167e-05, 4.78114019e-05, 2.76907146e-05, 6.58989323e-05,
        3.66494122e-05, 5.79952721e-05, 2.03064590e-05, 3.31152999e-05, 3.02748380e-05,
    ]  # fmt: skip
    np.testing.assert_allclose(eb.rates[:10], published, rtol=1e-7)


def test_marshall_eb_rejects_bad_population():
    with pytest.raises(ValueError, match="positive"):
        stats.marshall_eb([1, 2], [10, 0])
