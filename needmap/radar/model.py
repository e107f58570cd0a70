"""The radar's model: expected counts from need, the usual spread around them, and the limits.

:class:`RadarModel` is fitted on one authority's *published* counts (every figure it learns is a
function of published data) and then judges counts against what it learned. The method, in the
order :meth:`RadarModel.fit` runs it (``needmap.radar``'s docstring says why this method):

1. **Need bands and high need.** Areas are cut into ``bands`` equal-count bands of the need
   measure's *national percentile* (from its national rank, the scale every reason quotes);
   the top ``high_need_bands`` are high need and the next ``edge_bands`` are the soft edge.
2. **Expected counts.** ``method="poisson"``: a Poisson regression of the rate per child on a
   cubic B-spline of the need score (children as exposure), which follows need smoothly within
   a band; ``method="indirect"``: the rate per child of each need band applied to its areas
   (the same regression with one indicator per band).
3. **The usual spread.** Areas differ from any need model by more than chance: a count has mean
   ``E`` and variance ``E + tau^2 E^2`` (Poisson-gamma, i.e. negative binomial), ``tau`` being
   the coefficient of variation of reach between areas. ``tau^2`` is estimated robustly
   (Huber's proposal 2 on Freeman-Tukey residuals, :func:`needmap.stats.robust_tau2`, with a
   degrees-of-freedom allowance for the fitted rates).
4. **A fit the off-the-radar areas do not drag down.** Among high-need areas the counts are
   modelled as a two-group mixture (Efron 2008, "Microarrays, empirical Bayes and the
   two-groups model", *Stat Sci* 23:1): ordinary areas around ``E`` and a share ``pi`` of
   off-the-radar areas around ``rho E`` (``rho <= RHO_MAX``). EM alternates the rates (each
   area weighted by its probability of being ordinary, an off-the-radar area counting at
   ``rho`` of its exposure), ``tau^2`` on the same weights, ``rho`` and ``pi``. Areas far
   *above* expectation are down-weighted (Huber, ``UPPER_K``). A hidden count ("c") enters the
   likelihood as ``P(1 <= Y <= threshold)``. On the bench (``bench/radar_accuracy.py``) the
   expected counts of planted areas come out at 0.98-1.00 of the truth in every cell, where a fit
   through them (``robust=False``) put them 10-20% low; the estimated spread is 0.19-0.20 where
   it is 0.2 and 0.33 where it is 0.35 (the mixture takes a little of ordinary areas' lower tail for
   itself, which is why ``RHO_MAX`` bounds it). Plain EM converges linearly, about 0.97 a step
   where the groups overlap, so the EM map is accelerated by SQUAREM (Varadhan & Roland 2008,
   :func:`_squarem`), which reaches the same fixed point: on England's 32,844 LSOAs 53 steps
   (0.9 s) where plain EM took 264 (4.4 s), with every class of the bench's 360 fits unchanged
   and expected counts within 1e-4, except one fit plain EM left 0.8% short after 1,000 steps.
5. **p-values and limits.** A shortfall's p-value is ``P(Y <= O)`` and an excess's
   ``P(Y >= O)`` under the ordinary component. The flag limit is the Benjamini-Hochberg cut-off
   at false discovery rate ``fdr`` over the high-need areas with enough expected, and for those
   areas also the count at which the mixture makes an area more likely off the radar than not
   (``POSTERIOR_MIN``): where the two groups separate cleanly, the rate alone would let through
   areas that are almost surely ordinary (on the bench, with no spread between areas, precision
   rose from 0.88 to 1.00 at the same recall). The strong-evidence limit is the same at
   ``strong_fdr``; the soft edge is its own family at ``strong_fdr``; the excess limit is the
   cut-off at ``fdr`` over every judgeable area. They are computed from the published counts,
   where a hidden count counts as ``threshold`` for a shortfall and as 0 for an excess (the
   ends of what ``c`` can hide, since some zeros are hidden too).

:meth:`RadarModel.evidence` then tests any counts (the true ones, at refresh time) against those
fitted limits, every hidden count taken as ``threshold`` for a shortfall and as 0 for an excess
(``c`` can hide 0 too), so the class of an area says nothing about a hidden count that "c" does
not already say.

The regression is solved here by Newton's method rather than scikit-learn's
``PoissonRegressor``: EM refits it dozens of times, and on 141 areas shaped like Oldham's the
default ``lbfgs`` solver stopped with predictions up to 10% off the optimum (its tolerance is
loose for weights in the hundreds) while ``newton-cholesky`` is exact but took 0.14 s a call,
mostly input checks; a warm-started Newton step on the cached design matrix takes well under a
millisecond, and ``tests/test_radar.py`` checks it against ``newton-cholesky``.
scikit-learn's ``SplineTransformer`` builds the basis.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from needmap import stats
from needmap.config import DisclosureSettings, RadarSettings
from needmap.errors import ConfigError, InputError, NeedmapError

__all__ = ["KINDS", "LEVEL_COLUMNS", "RadarModel"]

LEVEL_COLUMNS = {"lsoa": ("lsoa_code", "lsoa_name"), "ward": ("ward_code", "ward_name")}
KINDS = ("engagement", "referrals")
#: Off-the-radar areas reach on average at most this share of their expected count: bounded so
#: that the component cannot pass for the lower tail of ordinary variation when nothing is off
#: the radar (at 0.6 the bench's authorities with nothing planted and a 35% spread between
#: areas got 3.4 false flags a run; at 0.5, 1.5).
RHO_MAX = 0.5
#: Areas more than this many standard deviations above expectation are down-weighted (Huber).
UPPER_K = 2.5
#: Cap on each residual in the estimate of tau^2 (see ``needmap.stats.robust_tau2``).
TAU2_K = 1.5
#: A shortfall is flagged only when the fitted mixture also makes the area more likely off the
#: radar than not: where ordinary and off-the-radar areas separate cleanly, the false discovery
#: rate alone would let through areas that are almost surely ordinary.
POSTERIOR_MIN = 0.5
_MAX_ITERATIONS = 1000
_TOLERANCE = 1e-6


class RadarModel:
    """Expected counts from need, over-dispersion and decision limits for one measure.

    Parameters
    ----------
    kind : {"engagement", "referrals"}
        What the counts are: families engaged (off the radar / well reached) or referrals
        (hidden need / front-door pressure).
    level : {"lsoa", "ward"}
        Geography of the table; picks the code and name columns.
    need : {"idaci", "imd"}, optional
        Need measure; ``None`` takes ``settings.need``.
    method : {"poisson", "indirect"}, optional
        How expected counts follow need; ``None`` takes ``settings.method``.
    settings : RadarSettings, optional
        Thresholds; ``None`` takes ``RadarSettings()``.
    threshold : int, optional
        Largest count the published tables hide as "c"; ``None`` takes the ``[disclosure]``
        default.

    Attributes
    ----------
    band_edges_ : ndarray
        National percentiles that cut the need bands (``bands + 1`` edges).
    basis_ : sklearn.preprocessing.SplineTransformer
        The spline basis of the need score (``method="poisson"``).
    coef_ : ndarray
        Log-rate coefficients of the regression (per spline basis function or per band).
    band_rates_ : pandas.Series or None
        Events per child in each band (``method="indirect"``).
    expected_ : ndarray
        Expected count of each fitted area.
    tau2_ : float
        Squared coefficient of variation of reach between areas (0 = Poisson).
    share_, reach_ : float
        Estimated share of off-the-radar areas among high-need ones and their reach (as a
        fraction of expected); 0 and NaN when ``robust`` is off.
    responsibility_ : ndarray
        Each fitted area's estimated probability of being in the off-the-radar component.
    weights_ : ndarray
        Each area's final weight in the rates (1 = an ordinary area at full weight).
    flag_cutoff_, strong_cutoff_, excess_cutoff_, watch_cutoff_ : float
        p-value cut-offs: flag limit, strong-evidence limit, excess limit, watch (funnel) limit.
    edge_cutoff_ : float
        p-value cut-off for the soft edge: Benjamini-Hochberg at ``strong_fdr`` over its areas.
    n_edge_ : int
        Areas in the soft edge's family.
    n_tested_ : int
        Areas in the false-discovery family of the shortfall test.
    n_iter_ : int
        EM steps taken (calls of the EM map, SQUAREM's extrapolated ones included).
    """

    def __init__(
        self,
        *,
        kind: Literal["engagement", "referrals"] = "engagement",
        level: Literal["lsoa", "ward"] = "lsoa",
        need: Literal["idaci", "imd"] | None = None,
        method: Literal["poisson", "indirect"] | None = None,
        settings: RadarSettings | None = None,
        threshold: int | None = None,
        warm_start: bool = False,
    ) -> None:
        self.kind = kind
        self.level = level
        self.need = need
        self.method = method
        self.settings = settings
        self.threshold = threshold
        self.warm_start = warm_start

    # -- parameters ---------------------------------------------------------------------------
    def _settings(self) -> RadarSettings:
        return self.settings if self.settings is not None else RadarSettings()

    @property
    def need_measure(self) -> str:
        """The need measure in use: ``need``, or the settings' when ``need`` is None."""
        return self.need if self.need is not None else self._settings().need

    def _method(self) -> str:
        return self.method if self.method is not None else self._settings().method

    def _threshold(self) -> int:
        return self.threshold if self.threshold is not None else DisclosureSettings().threshold

    @property
    def score_column(self) -> str:
        """The need score column (the regression's covariate), e.g. ``idaci_score``."""
        return f"{self.need_measure}_score"

    @property
    def pctile_column(self) -> str:
        """The need percentile column (bands, high need), e.g. ``idaci_pctile``."""
        return f"{self.need_measure}_pctile"

    def _check_params(self) -> None:
        if self.settings is not None and not isinstance(self.settings, RadarSettings):
            raise ConfigError(
                f"settings must be a RadarSettings; got {type(self.settings).__name__}"
            )
        choices = {"kind": (self.kind, KINDS), "level": (self.level, tuple(LEVEL_COLUMNS)),
                   "need": (self.need_measure, ("idaci", "imd")),
                   "method": (self._method(), ("poisson", "indirect"))}  # fmt: skip
        for name, (value, valid) in choices.items():
            if value not in valid:
                raise ConfigError(f"radar {name} must be one of {', '.join(valid)}; got {value!r}")
        threshold = self._threshold()
        if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or (
            threshold < 0
        ):
            raise ConfigError(f"threshold must be a whole number >= 0; got {threshold!r}")

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        areas: pd.DataFrame,
        counts: pd.Series | np.ndarray,
        *,
        shown: pd.Series | np.ndarray | None = None,
    ) -> RadarModel:
        """Learn need bands, expected counts, their spread and the limits from published counts.

        Parameters
        ----------
        areas : pandas.DataFrame
            One row per area: code, name, ``children`` and the need score and percentile.
        counts : pandas.Series or array_like
            Published counts aligned with ``areas`` (a stand-in value where hidden).
        shown : pandas.Series or array_like of bool, optional
            False where the published table shows "c"; all shown when omitted.

        Returns
        -------
        RadarModel
            ``self``.
        """
        self._check_params()
        settings = self._settings()
        table = self._validate(areas)
        y = _aligned(counts, table, "fit_counts").astype(float)
        _check_counts(y, table, self.level, "fit_counts", whole=False)
        visible = np.ones(len(table), bool) if shown is None else _aligned(shown, table, "shown")
        visible = visible.astype(bool)
        children = table["children"].to_numpy(dtype=float)
        if len(table) < settings.bands:
            raise InputError(
                f"the radar needs at least {settings.bands} areas to cut {settings.bands} need "
                f"bands; got {len(table)}. Use fewer bands ([radar] bands)"
            )
        if children.sum() <= 0 or (children < 0).any():
            raise InputError(
                "column 'children' has negative values or sums to 0, so no rate per child can "
                "be learned; check that the areas table carries the children counts"
            )
        if y.sum() <= 0:
            raise InputError(
                f"every {self.kind} count is 0, so no rate can be learned; check the period "
                "and that the records were read"
            )
        pctile = table[self.pctile_column].to_numpy(dtype=float)
        self.band_edges_ = np.quantile(pctile, np.linspace(0.0, 1.0, settings.bands + 1))
        if self._method() == "poisson":
            from sklearn.preprocessing import SplineTransformer

            # Four knots on an authority's LSOAs; on a handful of wards six basis functions
            # would follow the noise, so two (a plain cubic).
            knots = 4 if len(table) >= 60 else 2
            self.basis_ = SplineTransformer(n_knots=knots, degree=3, extrapolation="linear")
            self.basis_.fit(table[[self.score_column]].to_numpy(dtype=float))
        group = self._group(pctile)
        self._fit_expected(table, y, visible, children, group == "high")

        e = self.expected_
        low, high = self._published_p(y, visible, e)
        enough = e >= max(settings.min_expected, np.finfo(float).tiny)
        family = enough & (group == "high")
        self.n_tested_ = int(family.sum())
        self.flag_cutoff_ = stats.bh_cutoff(low[family], settings.fdr)
        self.strong_cutoff_ = stats.bh_cutoff(low[family], settings.strong_fdr)
        # The soft edge is its own family at the strict rate: with no real shortfall there,
        # fewer than 1 authority in 20 sees an edge flag by chance.
        edge = enough & (group == "edge")
        self.n_edge_ = int(edge.sum())
        self.edge_cutoff_ = stats.bh_cutoff(low[edge], settings.strong_fdr) if edge.any() else 0.0
        self.excess_cutoff_ = stats.bh_cutoff(high[enough], settings.fdr)
        self.watch_cutoff_ = (1.0 - settings.watch_level) / 2.0
        return self

    def _fit_expected(
        self,
        table: pd.DataFrame,
        y: np.ndarray,
        shown: np.ndarray,
        children: np.ndarray,
        candidate: np.ndarray,
    ) -> None:
        """Expected counts, tau^2 and the off-the-radar component by EM (step 4 above).

        The EM map ``theta -> theta'`` on ``theta = (coef, tau2, reach, share)`` runs its
        E-step (each area's chance of being off the radar, and the Huber weights of areas far
        above expectation) at ``theta`` and its M-step on those weights. It converges linearly,
        slowly where the groups overlap, so it is accelerated by SQUAREM (:func:`_squarem`).
        """
        settings = self._settings()
        n = len(y)
        spread = settings.overdispersion == "additive"
        mixture = settings.robust and bool(candidate.any())
        threshold = self._threshold()
        design = self._design(table)
        p = design.shape[1]
        design2 = np.vstack([design, design])
        y2 = np.concatenate([y, y])
        shown2 = np.concatenate([shown, shown]).astype(float)
        hidden_at = np.flatnonzero(~shown)

        def loglik(mean: np.ndarray, t2: float) -> np.ndarray:
            out = stats.count_logpmf(np.floor(y), mean, tau2=t2)
            if hidden_at.size:
                m = mean[hidden_at]
                with np.errstate(divide="ignore"):
                    out[hidden_at] = np.log(stats.count_cdf(threshold, m, tau2=t2)
                                            - stats.count_cdf(0, m, tau2=t2))  # fmt: skip
            return out

        def e_step(e: np.ndarray, tau2: float, reach: float, share: float):
            """Chance of each area being off the radar, and the weights of far-above areas."""
            upper = np.ones(n)
            if settings.robust:
                r = stats.freeman_tukey(y, e, tau2=tau2)
                with np.errstate(divide="ignore", invalid="ignore"):
                    upper = np.where(shown & (r > UPPER_K), UPPER_K / r, 1.0)
            w = np.zeros(n)
            if mixture:
                l0, l1 = loglik(e, tau2), loglik(reach * e, tau2)
                log_odds = np.clip(l0 - l1 + np.log((1 - share) / share), -700, 700)
                w = np.where(candidate, 1.0 / (1.0 + np.exp(log_odds)), 0.0)
            return w, upper

        def m_step(coef, e, tau2, reach, w, upper):
            # Rates: an area counts as an ordinary one (weight 1 - w) and as an off-the-radar
            # one at `reach` of its exposure (weight w), with negative-binomial working weights.
            nb0, nb1 = 1.0 / (1.0 + tau2 * e), 1.0 / (1.0 + tau2 * reach * e)
            weights = np.concatenate([(1 - w) * upper * nb0, w * upper * nb1])
            exposure = np.concatenate([children, reach * children])
            coef = _poisson_newton(design2, y2, exposure, weights, coef)
            e = children * np.exp(design @ coef)
            if mixture and (w * e).sum() > 0:
                # The reach that matches the off-the-radar areas' counts to their expectation.
                reach = float(np.clip((w * y).sum() / (w * e).sum(), 0.01, RHO_MAX))
            tau2 = 0.0
            if spread:
                tau2 = stats.robust_tau2(
                    y2, np.concatenate([e, reach * e]), k=TAU2_K,
                    weights=np.concatenate([1 - w, w]) * shown2, n_params=p,
                )  # fmt: skip
            return coef, tau2, reach

        def em(theta: np.ndarray) -> np.ndarray:
            coef, tau2, reach, share = theta[:p], theta[p], theta[p + 1], theta[p + 2]
            e = children * np.exp(design @ coef)
            w, upper = e_step(e, tau2, reach, share)
            coef, tau2, reach = m_step(coef, e, tau2, reach, w, upper)
            if mixture:
                share = float(np.clip(w[candidate].mean(), 1e-4, 0.5))
            return np.concatenate([coef, [tau2, reach, share]])

        def project(theta: np.ndarray) -> np.ndarray:
            out = theta.copy()
            out[p] = max(out[p], 0.0)
            if mixture:
                out[p + 1] = np.clip(out[p + 1], 0.01, RHO_MAX)
                out[p + 2] = np.clip(out[p + 2], 1e-4, 0.5)
            return out

        def settled(old: np.ndarray, new: np.ndarray) -> bool:
            e_old, e_new = (children * np.exp(design @ t[:p]) for t in (old, new))
            return bool(np.max(np.abs(e_new - e_old) / np.maximum(e_old, 1e-9)) < _TOLERANCE) \
                and abs(new[p] - old[p]) < _TOLERANCE * max(old[p], 1e-3) \
                and bool(np.all(np.abs(new[p + 1:] - old[p + 1:]) < _TOLERANCE))

        share, reach = (0.1, 0.5) if mixture else (0.0, 1.0)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and len(self.coef_) == p and len(self.expected_) == n:
            # Start from the previous fit (sklearn's warm_start): the same areas with slightly
            # different counts settle in a few iterations instead of hundreds.
            if mixture and np.isfinite(self.reach_):
                reach, share = self.reach_, max(self.share_, 1e-4)
            theta = np.concatenate([self.coef_, [self.tau2_, reach, share]])
            n_first = 0
        else:
            # First step: every area ordinary, Poisson weights (plain Poisson regression).
            pooled = float(y.sum() / children.sum())
            coef = np.full(p, np.log(pooled))
            coef, tau2, reach = m_step(coef, np.zeros(n), 0.0, reach, np.zeros(n), np.ones(n))
            theta = np.concatenate([coef, [tau2, reach, share]])
            n_first = 1
        theta, self.n_iter_ = _squarem(em, theta, project=project, settled=settled,
                                       max_evals=_MAX_ITERATIONS)  # fmt: skip
        self.n_iter_ += n_first
        coef, tau2, reach, share = theta[:p], float(theta[p]), theta[p + 1], theta[p + 2]
        e = children * np.exp(design @ coef)
        w, upper = e_step(e, tau2, reach, share)
        self.coef_ = coef
        self.expected_ = e
        self.tau2_ = tau2
        self.share_ = float(share) if mixture else 0.0
        self.reach_ = float(reach) if mixture else float("nan")
        self.responsibility_ = w
        self.weights_ = (1 - w) * upper
        self.band_rates_ = None
        if self._method() == "indirect":
            index = pd.Index(range(1, settings.bands + 1), name="need_band")
            self.band_rates_ = pd.Series(np.exp(coef), index=index, name="events_per_child")

    def _design(self, table: pd.DataFrame) -> np.ndarray:
        """Regression design: the spline basis of the need score, or one column per band."""
        if self._method() == "poisson":
            return self.basis_.transform(table[[self.score_column]].to_numpy(dtype=float))
        band = self._bands(table[self.pctile_column].to_numpy(dtype=float))
        return (band[:, None] == np.arange(1, self._settings().bands + 1)).astype(float)

    def _published_p(
        self, counts: np.ndarray, shown: np.ndarray, expected: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        threshold = self._threshold()
        low_count = np.where(shown, counts, threshold)
        high_count = np.where(shown, counts, 0)
        return (stats.count_cdf(low_count, expected, tau2=self.tau2_),
                stats.count_sf(high_count, expected, tau2=self.tau2_))  # fmt: skip

    def published_p_values(
        self, counts: pd.Series | np.ndarray, shown: pd.Series | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shortfall and excess p-values of the fitted areas' published counts.

        A hidden count counts as ``threshold`` for the shortfall and as 0 for the excess (``c``
        hides counts from 0 to ``threshold``), as :meth:`evidence` takes it.
        """
        self._check_fitted()
        return self._published_p(np.asarray(counts, dtype=float), np.asarray(shown, dtype=bool),
                                 self.expected_)  # fmt: skip

    # -- using the fit ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "expected_"):
            raise NeedmapError("this RadarModel is not fitted yet; call fit(areas, counts) first")

    def _validate(self, areas: pd.DataFrame) -> pd.DataFrame:
        code, name = LEVEL_COLUMNS[self.level]
        return _validate(areas, code=code, name=name,
                         numeric=["children", self.score_column, self.pctile_column],
                         level=self.level)  # fmt: skip

    def _bands(self, pctile: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.band_edges_[1:-1], pctile, side="left") + 1

    def _group(self, pctile: np.ndarray) -> np.ndarray:
        s = self._settings()
        band = self._bands(pctile)
        top = s.bands - s.high_need_bands + 1
        return np.where(band >= top, "high", np.where(band >= top - s.edge_bands, "edge", "other"))

    def bands(self, areas: pd.DataFrame) -> np.ndarray:
        """Need band of each area (1 = least deprived, ``bands`` = most)."""
        self._check_fitted()
        return self._bands(self._validate(areas)[self.pctile_column].to_numpy(dtype=float))

    def need_groups(self, areas: pd.DataFrame) -> np.ndarray:
        """``"high"``, ``"edge"`` (the soft edge) or ``"other"`` for each area."""
        self._check_fitted()
        return self._group(self._validate(areas)[self.pctile_column].to_numpy(dtype=float))

    def expected(self, areas: pd.DataFrame) -> np.ndarray:
        """Expected counts for each row of ``areas`` under the fitted need model."""
        self._check_fitted()
        table = self._validate(areas)
        return table["children"].to_numpy(dtype=float) * np.exp(self._design(table) @ self.coef_)

    def limits(
        self, expected: np.ndarray, groups: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Funnel limits for the ratio ``O / E`` at each expected count.

        With ``groups`` (from :meth:`need_groups`), a high-need area's shortfall limits also hold
        the count where the mixture makes it more likely off the radar than not, and an area on
        the soft edge has the edge's limit as both its flag and strong-evidence limit. Without,
        every area gets the high-need limits from the p-values alone.

        Returns
        -------
        dict
            ``lower_limit`` (flag), ``lower_limit_strong``, ``lower_limit_95`` (watch; the
            coverage is ``watch_level``), ``upper_limit_95`` and ``upper_limit`` (excess flag).
        """
        self._check_fitted()
        e = np.asarray(expected, dtype=float)

        def limit(p: float, side: str) -> np.ndarray:
            if not 0.0 < p < 1.0:  # nothing tested: no count can be beyond it
                return np.full(e.shape, 0.0 if side == "lower" else np.inf)
            return stats.ratio_limit(e, p, tau2=self.tau2_, side=side)

        likely = self._posterior_limit(e)
        flag = limit(self.flag_cutoff_, "lower")
        strong = limit(self.strong_cutoff_, "lower")
        if groups is not None:
            groups = np.asarray(groups)
            likely = np.where(groups == "high", likely, np.inf)
            # An area on the soft edge is flagged at the edge's own, stricter limit.
            edge = limit(self.edge_cutoff_, "lower")
            flag = np.where(groups == "edge", edge, flag)
            strong = np.where(groups == "edge", edge, strong)
        return {
            "lower_limit": np.fmin(flag, likely),
            "lower_limit_strong": np.fmin(strong, likely),
            "lower_limit_95": limit(self.watch_cutoff_, "lower"),
            "upper_limit_95": limit(self.watch_cutoff_, "upper"),
            "upper_limit": limit(self.excess_cutoff_, "upper"),
        }

    def _mixed(self) -> bool:
        return self.share_ > 0 and np.isfinite(self.reach_) and 0 < self.reach_ < 1

    def _posterior_limit(self, expected: np.ndarray) -> np.ndarray:
        if not self._mixed():
            return np.full(np.shape(expected), np.inf)
        return stats.posterior_limit(expected, tau2=self.tau2_, share=self.share_,
                                     reach=self.reach_, level=POSTERIOR_MIN)  # fmt: skip

    def posterior(self, counts: pd.Series | np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Probability, under the fitted mixture, that each count is an off-the-radar one.

        All 1 when the mixture is not fitted (``robust`` off): the p-values alone decide.
        """
        self._check_fitted()
        o = np.asarray(counts, dtype=float)
        if not self._mixed():
            return np.ones(o.shape)
        return stats.mixture_posterior(o, expected, tau2=self.tau2_, share=self.share_,
                                       reach=self.reach_)  # fmt: skip

    def p_values(
        self, counts: pd.Series | np.ndarray, expected: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shortfall ``P(Y <= O)`` and excess ``P(Y >= O)`` p-values under the fitted spread."""
        self._check_fitted()
        o = np.asarray(counts, dtype=float)
        return (stats.count_cdf(o, expected, tau2=self.tau2_),
                stats.count_sf(o, expected, tau2=self.tau2_))  # fmt: skip

    def evidence(self, areas: pd.DataFrame, counts: pd.Series | np.ndarray,
                 hidden: np.ndarray | None = None) -> pd.DataFrame:
        """What the fitted limits say about ``counts`` (usually the true counts).

        A hidden count (``hidden``; by default every count from 1 to ``threshold``) is taken as
        ``threshold`` for the shortfall test and as the smallest count "c" can hide (0 when some
        zeros are hidden too, else 1) for the excess test, so the answer is the same for every
        count "c" could hide.

        Returns
        -------
        pandas.DataFrame
            One row per area (index of ``areas``) with ``need_group`` and the booleans the
            decision table reads: ``enough``, ``low_strong`` (for the soft edge: beyond its own
            limit), ``low_flag``, ``low_watch``, ``high_flag``, ``high_watch``.
        """
        self._check_fitted()
        settings = self._settings()
        table = self._validate(areas)
        o = _aligned(counts, table, "decide_counts")
        _check_counts(o, table, self.level, "decide_counts", whole=True)
        o = o.astype(float)
        e = self.expected(table)
        threshold = self._threshold()
        if hidden is None:
            small, least = (o >= 1) & (o <= threshold), 1
        else:
            small, least = np.asarray(hidden, dtype=bool), 0
            if small.shape != o.shape:
                raise ValueError(f"hidden has {small.size} values for {o.size} areas")
        low_count = np.where(small, threshold, o)
        low, _ = self.p_values(low_count, e)
        _, high = self.p_values(np.where(small, least, o), e)
        group = self._group(table[self.pctile_column].to_numpy(dtype=float))
        # The mixture describes high-need areas; elsewhere the p-values alone decide.
        likely = (self.posterior(low_count, e) >= POSTERIOR_MIN) | (group != "high")
        enough = e >= max(settings.min_expected, np.finfo(float).tiny)
        return pd.DataFrame(
            {
                "need_group": group,
                "enough": enough,
                "low_strong": enough & likely & (
                    low <= np.where(group == "edge", self.edge_cutoff_, self.strong_cutoff_)
                ),
                "low_flag": enough & (low <= self.flag_cutoff_) & likely,
                "low_watch": enough & (low <= self.watch_cutoff_),
                "high_flag": enough & (high <= self.excess_cutoff_),
                "high_watch": enough & (high <= self.watch_cutoff_),
            },
            index=table.index,
        )


# -- helpers ---------------------------------------------------------------------------------
def _poisson_newton(
    design: np.ndarray, y: np.ndarray, exposure: np.ndarray, weights: np.ndarray,
    start: np.ndarray,
) -> np.ndarray:
    """Weighted Poisson regression ``log(rate) = design @ coef`` by Newton's method.

    Maximises ``sum w (y log mu - mu)`` with ``mu = exposure exp(design @ coef)`` and a tiny
    ridge (so a column with no weight keeps its start value), halving a step that would lower it.
    """
    keep = (weights > 0) & (exposure > 0)
    if keep.all():  # most calls: no copies
        d, y, x, w = design, y, exposure, weights
    else:
        d, y, x, w = design[keep], y[keep], exposure[keep], weights[keep]
    ridge = 1e-9 * max(1.0, float((w * x).sum()))
    wy = w * y
    coef = start.copy()

    def objective(c: np.ndarray) -> tuple[float, np.ndarray]:
        eta = d @ c
        mu = x * np.exp(eta)
        diff = c - start
        return float(wy @ eta - w @ mu - 0.5 * ridge * diff @ diff), mu

    current, mu = objective(coef)
    for _ in range(100):
        wmu = w * mu
        grad = d.T @ (wy - wmu) - ridge * (coef - start)
        hess = (d.T * wmu) @ d + ridge * np.eye(d.shape[1])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        trial, trial_mu = objective(coef + step)
        while trial < current - 1e-12 * abs(current) and t > 1e-8:
            t /= 2.0
            trial, trial_mu = objective(coef + t * step)
        coef = coef + t * step
        current, mu = trial, trial_mu
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return coef


def _squarem(
    step, theta: np.ndarray, *, project, settled, max_evals: int
) -> tuple[np.ndarray, int]:
    """Fixed point of ``step`` by SQUAREM (Varadhan & Roland 2008, *Scand J Stat* 35:335).

    Two plain steps give ``r`` (the first change) and ``v`` (how it changed); the squared
    extrapolation ``theta - 2 a r + a^2 v`` with ``a = -|r| / |v|`` (scheme S3, ``a <= -1``,
    its bound growing fourfold whenever reached) is projected into the parameter space and
    followed by one plain step. An extrapolation whose step cannot be taken, is not finite, or
    moves further than ``1 + rms(theta) + |plain step|`` (the SQUAREM package's safeguard with
    ``kr = 1``: only a wild jump) is dropped for the second plain step, and the bound on ``a``
    shrinks fourfold. Returns the fixed point and the number of calls of ``step``.
    """
    evals, step_max = 0, 1.0
    while evals < max_evals:
        theta1 = step(theta)
        evals += 1
        if settled(theta, theta1):
            return theta1, evals
        theta2 = step(theta1)
        evals += 1
        if settled(theta1, theta2):
            return theta2, evals
        r = theta1 - theta
        v = theta2 - theta1 - r
        plain = float(np.linalg.norm(theta2 - theta1))
        vv = float(np.linalg.norm(v))
        if vv == 0.0:
            theta = theta2
            continue
        alpha = max(min(-float(np.linalg.norm(r)) / vv, -1.0), -step_max)
        if alpha == -step_max:
            step_max *= 4.0
        trial = project(theta - 2.0 * alpha * r + alpha * alpha * v)
        try:
            with np.errstate(all="ignore"):  # a wild extrapolation is dropped just below
                stepped = step(trial)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            stepped = np.full_like(trial, np.nan)  # e.g. a singular Hessian at absurd rates
        evals += 1
        # The SQUAREM package's safeguard (``kr = 1``): only a wild extrapolation is dropped.
        allowed = 1.0 + float(np.sqrt(np.mean(theta2 * theta2))) + plain
        if np.all(np.isfinite(stepped)) and np.linalg.norm(stepped - trial) <= allowed:
            theta = stepped
        else:
            theta, step_max = theta2, max(1.0, step_max / 4.0)
    return theta, evals


def _aligned(values, table: pd.DataFrame, name: str) -> np.ndarray:
    """Values of a Series aligned with ``table`` (same index) or an array of the same length."""
    if isinstance(values, pd.Series):
        if not values.index.equals(table.index):
            raise InputError(
                f"{name} must be aligned with the areas table (the same index, one value per "
                f"area); got an index of {len(values)} entries that differs. Build it from the "
                "same table, or pass .to_numpy()"
            )
        values = values.to_numpy()
    out = np.asarray(values)
    if out.shape != (len(table),):
        raise InputError(
            f"{name} must have one value per area ({len(table)}); got shape {out.shape}"
        )
    return out


def _check_counts(
    values: np.ndarray, table: pd.DataFrame, level: str, name: str, *, whole: bool
) -> None:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v) | (v < 0)
    if whole:
        bad |= np.isfinite(v) & (v != np.round(v))
    if bad.any():
        code = LEVEL_COLUMNS[level][0]
        areas = ", ".join(map(str, table[code].to_numpy()[bad][:5]))
        raise InputError(
            f"{name} has a missing, negative{' or fractional' if whole else ''} count for "
            f"area(s) {areas}; the radar needs a count for every area"
        )


def _validate(
    areas: pd.DataFrame, *, code: str, name: str | None, numeric: list[str], level: str
) -> pd.DataFrame:
    """Check the columns the radar reads: the code (and name) and numeric columns."""
    if not isinstance(areas, pd.DataFrame):
        raise InputError(
            f"areas must be a pandas DataFrame or GeoDataFrame; got {type(areas).__name__}"
        )
    columns = [code, *([name] if name else []), *numeric]
    missing = [c for c in dict.fromkeys(columns) if c not in areas.columns]
    if missing:
        raise InputError(
            f"the areas table for the radar (level '{level}') is missing column(s) "
            f"{', '.join(repr(c) for c in missing)}; found: "
            f"{', '.join(map(str, areas.columns))}. Build it with needmap.indicators, or pass "
            "level='ward' for a ward table"
        )
    dupes = areas[code][areas[code].duplicated()]
    if len(dupes):
        raise InputError(
            f"area code(s) {', '.join(map(str, dupes.unique()[:5]))} appear more than once in "
            f"column '{code}'; the radar needs one row per area (filter to one period first)"
        )
    for column in numeric:
        values = pd.to_numeric(areas[column], errors="coerce").astype(float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"column '{column}' has a missing or non-numeric value for area(s) "
                f"{', '.join(map(str, areas.loc[bad, code].head(5)))}; the radar needs a "
                "number for every area (fill or drop those rows first)"
            )
    return areas
