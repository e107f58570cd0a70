"""Trajectories: a trend, its uncertainty and a forecast band for each area's quarterly counts.

Model
-----
For one area and one measure (referrals, families engaged, priority families engaged), the
published quarterly counts ``y_q`` are fitted by a Poisson GLM with a log link (statsmodels
``GLM``), the area's child-years as exposure and the authority's seasonal pattern as an offset:

    log E[y_q] = log(children x 0.25) + s(quarter of year) + b0 + b1 t_q,

``t_q`` in years. ``exp(b1)`` is the **yearly rate ratio** (0.75: down 25% a year). Its standard
error is scaled by the Pearson dispersion (quasi-Poisson; never below 1), which absorbs
over-dispersion and the perturbation of the counts. The seasonal offsets ``s`` come from one fit
to the authority's own series (trend plus quarter-of-year terms, when it has eight quarters or
more), so a small area spends no degrees of freedom on a season it cannot estimate.

The **forecast band** for the next ``horizon`` quarters (default 4) is a 95% prediction interval
for the count, ``mu +- 1.96 sqrt(phi mu + mu^2 Var(eta))`` (the normal approximation: sampling
noise plus the uncertainty of the line), floored at zero. Rates are per 1,000 children a year.

**Verdict** (the stated rule): with at least ``min_quarters`` quarters (6) of which at most a
third are hidden, "rising" if the whole 95% interval of the yearly rate ratio lies above 1,
"falling" if it lies below 1, "no clear change" otherwise; else "too few to judge".

Disclosure
----------
Fits read published values only: a hidden quarter enters at its stand-in (drawn 1..threshold by
an independent key, see ``needmap.disclosure``), which carries nothing about the hidden count;
areas with more than a third of quarters hidden get no trend at all. Model outputs are rounded
(rates to 0.1, ratios to 0.001).

Reach against need: the radar's expected families for the configured period (published with the
flags) spread evenly over its quarters; a quarter's ratio is its published count over that.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "TREND_MEASURES",
    "VERDICTS",
    "QuarterlyTrend",
    "area_trends",
    "next_quarters",
    "quarter_index",
    "seasonal_offsets",
]

#: Measure -> the word a verdict uses for it.
TREND_MEASURES = {
    "families_engaged": "reach",
    "referrals": "referrals",
    "priority_families_engaged": "priority families' reach",
}
RISING, FALLING, NO_CHANGE, TOO_FEW = "rising", "falling", "no clear change", "too few to judge"
VERDICTS = (RISING, NO_CHANGE, FALLING, TOO_FEW)
Z95 = 1.959963984540054
SUMMARY_COLUMNS = ["level", "area_code", "measure", "n_quarters", "n_hidden", "rate_first",
                   "rate_last", "rate_ratio", "rate_ratio_lower", "rate_ratio_upper", "verdict",
                   "dispersion", "expected_per_quarter"]
_LINE = ["quarter", "rate", "lower", "upper"]
LINE_COLUMNS = ["level", "area_code", "measure", "quarter", "forecast", "rate", "lower", "upper"]


def quarter_index(label: str) -> int:
    """``2025Q3`` -> year * 4 + quarter - 1."""
    year, q = label.split("Q")
    return int(year) * 4 + int(q) - 1


def next_quarters(last: str, n: int) -> list[str]:
    """The ``n`` quarter labels after ``last``."""
    k = quarter_index(last)
    return [f"{(k + i) // 4}Q{(k + i) % 4 + 1}" for i in range(1, n + 1)]


def _glm(y: np.ndarray, X: np.ndarray, offset: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Poisson GLM coefficients, their covariance scaled by the Pearson dispersion (at least 1),
    and that dispersion; None where the fit fails (IRLS diverging on an extreme series)."""
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = GLM(y, X, family=Poisson(), offset=offset).fit()
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            return None
    if not (np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.normalized_cov_params))):
        return None
    # Pearson chi-square over residual degrees of freedom (what fit(scale="X2") gives, but
    # that fit fails on a series the line fits exactly).
    scale = float(res.pearson_chi2 / res.df_resid) if res.df_resid > 0 else 1.0
    scale = max(scale, 1.0) if np.isfinite(scale) else 1.0
    return np.asarray(res.params), np.asarray(res.normalized_cov_params) * scale, scale


def seasonal_offsets(counts: np.ndarray, exposure: np.ndarray, quarters: list[str]) -> np.ndarray:
    """Log seasonal factor of each quarter of the year (index 0 = Q1), mean 0.

    From a Poisson GLM of the series with a trend and quarter-of-year terms; zeros when the
    series is shorter than eight quarters, empty, has a quarter of the year with no count at all
    (its factor would run to minus infinity, as in a sparse export), or cannot be fitted. Each
    factor is held within a factor of 3 of the mean: a season, not a collapse.
    """
    y = np.asarray(counts, dtype=float)
    k = np.array([quarter_index(q) for q in quarters])
    if len(y) < 8 or y.sum() <= 0 or (np.asarray(exposure) <= 0).any():
        return np.zeros(4)
    qoy = k % 4
    if any(y[qoy == j].sum() <= 0 for j in range(4)):
        return np.zeros(4)
    X = np.column_stack([np.ones(len(y)), (k - k[0]) / 4.0,
                         *[(qoy == j).astype(float) for j in (1, 2, 3)]])
    fit = _glm(y, X, np.log(exposure))
    if fit is None:
        return np.zeros(4)
    s = np.array([0.0, *fit[0][2:5]])
    return np.clip(s - s.mean(), -np.log(3.0), np.log(3.0))


@dataclass
class QuarterlyTrend:
    """A quarterly count's trend, yearly rate ratio, verdict and forecast band.

    Parameters
    ----------
    horizon : int
        Quarters to forecast (2 to 4 is sensible).
    min_quarters : int
        Fewer quarters give "too few to judge".
    max_hidden_share : float
        More hidden quarters than this share give "too few to judge".

    Attributes (after ``fit``)
    --------------------------
    verdict_ : str
        One of :data:`VERDICTS`.
    rate_ratio_, rate_ratio_ci_ : float, (float, float)
        Yearly rate ratio and its 95% interval (NaN when not judged).
    dispersion_ : float
        Pearson dispersion used for the intervals (at least 1).
    fitted_, forecast_ : DataFrame
        ``quarter, rate, lower, upper`` (per 1,000 children a year): the fitted line with its
        95% confidence band over the published quarters, and the forecast with its 95%
        prediction band. Empty when not judged.
    """

    horizon: int = 4
    min_quarters: int = 6
    max_hidden_share: float = 1 / 3

    def fit(self, counts: np.ndarray, children: float, quarters: list[str], *,
            hidden: np.ndarray | None = None, season: np.ndarray | None = None) -> QuarterlyTrend:
        """Fit the counts of consecutive ``quarters`` for an area of ``children`` children."""
        y = np.asarray(counts, dtype=float)
        hid = np.zeros(len(y), dtype=bool) if hidden is None else np.asarray(hidden, dtype=bool)
        season = np.zeros(4) if season is None else np.asarray(season, dtype=float)
        self.n_quarters_, self.n_hidden_ = len(y), int(hid.sum())
        nan = float("nan")
        self.rate_ratio_, self.rate_ratio_ci_, self.dispersion_ = nan, (nan, nan), nan
        self._lines: dict[str, dict[str, np.ndarray]] = {}
        self.verdict_ = TOO_FEW
        if (len(y) < self.min_quarters or hid.sum() > self.max_hidden_share * len(y)
                or not children > 0 or y.sum() <= 0):
            return self
        k = np.array([quarter_index(q) for q in quarters])
        t = (k - k[0]) / 4.0
        exposure = children * 0.25
        offset = np.log(exposure) + season[k % 4]
        X = np.column_stack([np.ones(len(y)), t])
        fit = _glm(y, X, offset)
        if fit is None:  # a series IRLS cannot fit: not judged
            return self
        b, cov, self.dispersion_ = fit
        se = float(np.sqrt(cov[1, 1]))
        self.rate_ratio_ = float(np.exp(b[1]))
        self.rate_ratio_ci_ = (float(np.exp(b[1] - Z95 * se)), float(np.exp(b[1] + Z95 * se)))
        lo, hi = self.rate_ratio_ci_
        self.verdict_ = RISING if lo > 1 else FALLING if hi < 1 else NO_CHANGE
        per = 1000.0 / exposure

        def line(kk: np.ndarray, predict: bool) -> dict[str, np.ndarray]:
            tt = (kk - k[0]) / 4.0
            Z = np.column_stack([np.ones(len(kk)), tt])
            eta = Z @ b + np.log(exposure) + season[kk % 4]
            var_eta = np.einsum("ij,jk,ik->i", Z, cov, Z)
            mu = np.exp(eta)
            if predict:
                sd = np.sqrt(self.dispersion_ * mu + mu**2 * var_eta)
                lower, upper = np.maximum(mu - Z95 * sd, 0.0), mu + Z95 * sd
            else:
                sd = np.sqrt(var_eta)
                lower, upper = np.exp(eta - Z95 * sd), np.exp(eta + Z95 * sd)
            labels = np.array([f"{q // 4}Q{q % 4 + 1}" for q in kk], dtype=object)
            return {"quarter": labels, "rate": mu * per, "lower": lower * per,
                    "upper": upper * per}

        self._lines = {"fitted": line(k, predict=False),
                       "forecast": line(np.arange(k[-1] + 1, k[-1] + 1 + self.horizon),
                                        predict=True)}
        return self

    def _line(self, name: str) -> pd.DataFrame:
        return pd.DataFrame(self._lines.get(name, dict.fromkeys(_LINE, ())), columns=_LINE)

    @property
    def fitted_(self) -> pd.DataFrame:
        return self._line("fitted")

    @property
    def forecast_(self) -> pd.DataFrame:
        return self._line("forecast")


def area_trends(
    protected: pd.DataFrame,
    quarters: list[str],
    children: dict[str, pd.Series],
    *,
    expected: dict[str, pd.Series] | None = None,
    expected_quarters: float = 1.0,
    horizon: int = 4,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trends of every area of every level in ``children`` (level -> children by area code).

    ``protected`` is the protected table (``level, area_code, period, measure, value, shown``);
    ``expected`` gives, by level, the radar's expected families for the configured period, which
    lasts ``expected_quarters`` quarters. Returns the summary (:data:`SUMMARY_COLUMNS`) and the
    lines (:data:`LINE_COLUMNS`: fitted and forecast rates).
    """
    q_set = set(quarters)
    sel = protected[protected["period"].astype(str).isin(q_set)
                    & protected["measure"].astype(str).isin(TREND_MEASURES)]
    value = sel.pivot_table(index=["level", "area_code", "measure"], columns="period",
                            values="value", observed=True, aggfunc="first")
    shown = sel.pivot_table(index=["level", "area_code", "measure"], columns="period",
                            values="shown", observed=True, aggfunc="first")
    value.columns, shown.columns = value.columns.astype(str), shown.columns.astype(str)
    shown = shown.reindex(index=value.index, columns=quarters)
    row_of = {(str(a), str(b), str(c)): i for i, (a, b, c) in enumerate(value.index)}
    values = value.reindex(columns=quarters).to_numpy(dtype=float)
    hidden = ~shown.fillna(False).to_numpy(dtype=bool)
    filled = np.nan_to_num(values)  # once, not per area (England: 119,000 calls, 1.6 s)
    seasons = {}
    for m in TREND_MEASURES:
        auth = children.get("authority")
        key = None if auth is None or not len(auth) else ("authority", str(auth.index[0]), m)
        if key in row_of:
            y = values[row_of[key]]
            seasons[m] = seasonal_offsets(np.nan_to_num(y), np.full(len(y), float(auth.iloc[0])
                                                                    * 0.25), quarters)
        else:
            seasons[m] = np.zeros(4)
    summary, lines = [], []
    for level, kids in children.items():
        exp = (expected or {}).get(level)
        for code, n_children in kids.items():
            for m in TREND_MEASURES:
                row = row_of.get((level, str(code), m))
                if row is None:
                    continue
                fit = QuarterlyTrend(horizon=horizon).fit(
                    filled[row], float(n_children), quarters, hidden=hidden[row],
                    season=seasons[m])
                e = (float(exp.get(code, np.nan)) / expected_quarters
                     if exp is not None and m == "families_engaged" else np.nan)
                rf = fit._lines["fitted"]["rate"] if fit._lines else []
                summary.append({
                    "level": level, "area_code": str(code), "measure": m,
                    "n_quarters": fit.n_quarters_, "n_hidden": fit.n_hidden_,
                    "rate_first": rf[0] if len(rf) else np.nan,
                    "rate_last": rf[-1] if len(rf) else np.nan,
                    "rate_ratio": fit.rate_ratio_, "rate_ratio_lower": fit.rate_ratio_ci_[0],
                    "rate_ratio_upper": fit.rate_ratio_ci_[1], "verdict": fit.verdict_,
                    "dispersion": fit.dispersion_, "expected_per_quarter": e,
                })
                for name, is_forecast in (("fitted", False), ("forecast", True)):
                    if name in fit._lines:
                        lines.append((level, str(code), m, is_forecast, fit._lines[name]))
    out = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    out = round_outputs(out)
    line_frame = _lines(lines)
    return out, round_outputs(line_frame)


def _lines(parts: list[tuple[str, str, str, bool, pd.DataFrame]]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=LINE_COLUMNS)
    n = [len(p[4]["rate"]) for p in parts]
    out = {name: np.repeat([p[i] for p in parts], n)
           for i, name in enumerate(("level", "area_code", "measure", "forecast"))}
    for col in ("quarter", "rate", "lower", "upper"):
        out[col] = np.concatenate([p[4][col] for p in parts])
    return pd.DataFrame(out)[LINE_COLUMNS]


def round_outputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Model outputs as published: rates to 0.1, ratios and dispersions to 0.001."""
    out = frame.copy()
    for col in ("rate_first", "rate_last", "rate", "lower", "upper", "expected_per_quarter"):
        if col in out:
            out[col] = pd.to_numeric(out[col]).round(1 if col != "expected_per_quarter" else 2)
    for col in ("rate_ratio", "rate_ratio_lower", "rate_ratio_upper", "dispersion"):
        if col in out:
            out[col] = pd.to_numeric(out[col]).round(3)
    return out
