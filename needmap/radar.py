"""Off the radar: areas whose engagement (or referrals) falls far from what their need predicts.

For each area the model gives an *expected* count from need, compares the *observed* count with
it on a Spiegelhalter funnel plot, adds empirical-Bayes smoothed rates and local Moran clusters,
and turns the evidence into a class and a sentence a service lead can repeat.

Method, in the order it runs
----------------------------
1. **Need bands.** Areas are cut into ``bands`` equal-count bands of the need measure *within the
   authority* (quintiles by default; band ``bands`` is the most deprived).
2. **Expected count.** ``method="indirect"`` (default): indirect standardisation, the authority's
   own rate per child in each need band applied to each area's children. ``method="poisson"``:
   a Poisson regression of the rate on a cubic spline (4 knots) of each need covariate (log link,
   children as exposure via sample weights; scikit-learn's ``SplineTransformer`` and
   ``PoissonRegressor``), which follows need smoothly within a band.
3. **Ratio and interval.** ``ratio = observed / expected`` with Byar's 95% interval.
4. **Funnel limits** at 95% and 99.8% around a ratio of 1 (Spiegelhalter 2005). The z-score is
   taken on the square-root scale, ``z = 2 (sqrt(O) - sqrt(E))``. Over-dispersion is estimated
   from z-scores winsorised at 10%/90% (``phi``) and tested against chi-square(n - 1). If the data
   are over-dispersed, the default is Spiegelhalter's *additive random-effects* adjustment:
   ``tau^2`` is added to every area's variance, so limits become
   ``(1 +- z_level sqrt(1 / (4 E) + tau^2))^2``. Additive rather than multiplicative because
   between-area variation in true reach does not shrink with an area's size, so a multiplicative
   ``phi`` would leave large areas' limits too narrow and small areas' too wide.
   (``RadarSettings(overdispersion="multiplicative")`` or ``"none"`` are available.)
   Without over-dispersion the limits are the exact Poisson ones with interpolation; with it, a
   limit is never narrower than the exact Poisson one (which matters only for small E).
5. **Empirical-Bayes rates.** Marshall's global estimator of the rate per 1,000 children
   (``eb_rate``) and of the ratio (``eb_ratio``, with expected counts as the exposure).
6. **Local clusters.** Local Moran's I of the adjusted z-scores over Queen contiguity (islands
   joined to their nearest neighbour), permutation p-values, Benjamini-Hochberg false-discovery
   rate at ``cluster_alpha``; labels HH, LL, HL, LH (the area's own value first) or ``ns``.

Classes (engagement)
--------------------
- **off the radar**: need in the top ``high_need_bands`` bands, expected count at least
  ``min_expected``, and observed *below the 99.8% lower limit*; or below the 95% limit with support
  from a significant local cluster in which the area itself is low (LL: a cold spot; LH: a low
  area among well-reached neighbours).
- **watch**: any other area with enough expected count below the 95% lower limit (weaker
  evidence, or a significant shortfall where need is not high).
- **well reached**: above the 95% upper limit.
- **too few to judge**: expected count under ``min_expected``; never flagged on noise.
- **as expected**: the rest.

For referrals the same evidence gives **hidden need** (the off-the-radar rule) and
**front-door pressure** (above the 99.8% upper limit, or above 95% with an HH/HL cluster).

Reasons never print a count from 1 to the disclosure threshold: they say "fewer than 6 families"
and give only a lower bound on the shortfall, so the count cannot be worked back out of the text.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from needmap import stats
from needmap.config import RadarSettings
from needmap.errors import ConfigError, InputError, NeedmapError

__all__ = [
    "FLAG_AS_EXPECTED",
    "FLAG_FRONT_DOOR",
    "FLAG_HIDDEN_NEED",
    "FLAG_OFF_RADAR",
    "FLAG_TOO_FEW",
    "FLAG_WATCH",
    "FLAG_WELL_REACHED",
    "RadarModel",
    "RadarSettings",
    "find_off_the_radar",
    "find_referral_anomalies",
    "band_label",
    "naive_flags",
]

FLAG_OFF_RADAR = "off the radar"
FLAG_WATCH = "watch"
FLAG_AS_EXPECTED = "as expected"
FLAG_WELL_REACHED = "well reached"
FLAG_TOO_FEW = "too few to judge"
FLAG_HIDDEN_NEED = "hidden need"
FLAG_FRONT_DOOR = "front-door pressure"

LEVEL_COLUMNS = {"lsoa": ("lsoa_code", "lsoa_name"), "ward": ("ward_code", "ward_name")}
METHODS = ("indirect", "poisson")
KINDS = ("engagement", "referrals")
OVERDISPERSION = ("additive", "multiplicative", "none")
CLUSTER_LABELS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}

# measure -> (label in the reason, singular noun, plural noun)
_MEASURE_WORDS = {
    "families_engaged": ("Engagement", "family", "families"),
    "priority_families_engaged": ("Engagement (priority families)", "family", "families"),
    "referrals": ("Front door", "referral", "referrals"),
}
_BAND_NOUNS = {2: "half", 3: "third", 4: "quarter", 5: "fifth", 10: "tenth"}
_ORDINALS = ["", "", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]

OUTPUT_COLUMNS = [
    "area_code", "area_name", "level", "need", "need_pctile", "need_band", "need_band_label",
    "children", "expected", "observed", "ratio", "ratio_lower", "ratio_upper",
    "lower_limit", "upper_limit", "lower_limit_95", "upper_limit_95", "z", "z_adjusted",
    "eb_rate", "eb_ratio", "local_moran_i", "local_moran_p", "local_moran_cluster", "flag",
    "reason",
]  # fmt: skip


class RadarModel:
    """Expected counts from need, funnel limits and classes for one measure.

    Parameters
    ----------
    measure : str
        Observed count column (``families_engaged``, ``priority_families_engaged``,
        ``referrals``).
    need : str
        Need column that defines the bands (higher = more deprived), e.g. ``idaci_score``.
    method : {"indirect", "poisson"}
        Indirect standardisation by need band, or Poisson regression on ``covariates``.
    level : {"lsoa", "ward"}
        Geography of the input table; picks the code and name columns.
    exposure : str
        Population column the rates are per (children aged 0-15).
    covariates : sequence of str, optional
        Columns for ``method="poisson"``; defaults to ``(need,)``.
    kind : {"engagement", "referrals"}, optional
        Vocabulary of the classes; inferred from ``measure`` when omitted.
    settings : RadarSettings, optional
        Thresholds; ``RadarSettings()`` when omitted.
    random_state : int, optional
        Seed for the local Moran permutations.

    Attributes
    ----------
    band_edges_ : ndarray
        Need values that cut the bands (``bands + 1`` edges, from the fitted table).
    band_rates_ : pandas.Series
        Events per child in each band (index 1 = least deprived).
    authority_rate_ : float
        Events per child over the whole authority.
    overdispersion_ : needmap.stats.Overdispersion
        Over-dispersion estimate of the fitted table.
    phi_, tau2_ : float
        Its ``phi`` and the additive variance applied (0 when not over-dispersed or not additive).
    funnel_ : str
        Which funnel limits are used: ``"exact Poisson"`` or a description of the widening.
    regressor_ : sklearn.pipeline.Pipeline or None
        The fitted regression for ``method="poisson"``.
    """

    def __init__(
        self,
        measure: str = "families_engaged",
        *,
        need: str = "idaci_score",
        method: Literal["indirect", "poisson"] | None = None,
        level: Literal["lsoa", "ward"] = "lsoa",
        exposure: str = "children",
        covariates: Sequence[str] | None = None,
        kind: Literal["engagement", "referrals"] | None = None,
        settings: RadarSettings | None = None,
        random_state: int | None = None,
        disclosure_threshold: int = 5,
    ) -> None:
        self.measure = measure
        self.need = need
        self.method = method
        self.level = level
        self.exposure = exposure
        self.covariates = covariates
        self.kind = kind
        self.settings = settings
        self.random_state = random_state
        self.disclosure_threshold = disclosure_threshold

    # -- parameters -------------------------------------------------------------------------
    def _settings(self) -> RadarSettings:
        return self.settings if self.settings is not None else RadarSettings()

    def _method(self) -> str:
        return self.method if self.method is not None else self._settings().method

    def _kind(self) -> str:
        if self.kind is not None:
            return self.kind
        return "referrals" if self.measure.startswith("referral") else "engagement"

    def _covariates(self) -> list[str]:
        return list(self.covariates) if self.covariates is not None else [self.need]

    def _check_params(self) -> None:
        if self._method() not in METHODS:
            raise ConfigError(
                f"radar method must be one of {', '.join(METHODS)}; got {self.method!r}"
            )
        if self.level not in LEVEL_COLUMNS:
            raise ConfigError(
                f"radar level must be one of {', '.join(LEVEL_COLUMNS)}; got {self.level!r}"
            )
        if self.kind is not None and self.kind not in KINDS:
            raise ConfigError(f"radar kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.settings is not None and not isinstance(self.settings, RadarSettings):
            raise ConfigError(
                f"settings must be a RadarSettings; got {type(self.settings).__name__}"
            )

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, areas: pd.DataFrame) -> RadarModel:
        """Learn need bands, expected rates and over-dispersion from one authority's table.

        Parameters
        ----------
        areas : pandas.DataFrame
            One row per area with the code, name, exposure, need and measure columns.

        Returns
        -------
        RadarModel
            ``self``.
        """
        self._check_params()
        settings = self._settings()
        table = _validate(areas, self._required_columns(), self.level, self.measure)
        need = table[self.need].to_numpy(dtype=float)
        children = table[self.exposure].to_numpy(dtype=float)
        observed = table[self.measure].to_numpy(dtype=float)
        if (children < 0).any() or children.sum() <= 0:
            raise InputError(
                f"column '{self.exposure}' has negative values or sums to 0, so no rate per "
                "child can be learned; check that the areas table carries the children counts"
            )
        if len(table) < settings.bands:
            raise InputError(
                f"the radar needs at least {settings.bands} areas to cut {settings.bands} need "
                f"bands; got {len(table)}. Use fewer bands (RadarSettings(bands=...))"
            )
        self.band_edges_ = np.quantile(need, np.linspace(0.0, 1.0, settings.bands + 1))
        self.authority_rate_ = float(observed.sum() / children.sum())
        keep = np.ones(len(table), dtype=bool)
        self._fit_rates(table, observed, children, keep)
        if settings.robust:
            # One refit without the extreme areas, so that the areas we are looking for do not
            # drag down the reference rate of their own band.
            z = stats.sqrt_ratio_z(observed, self._expected(table))
            keep = ~(np.abs(z) > stats.two_sided_z(settings.flag_level))
            self._fit_rates(table, observed, children, keep)
        self.reference_mask_ = keep

        expected = self._expected(table)
        z = stats.sqrt_ratio_z(observed, expected)
        with np.errstate(divide="ignore"):
            se = 1.0 / (2.0 * np.sqrt(expected))
        self.overdispersion_ = stats.estimate_overdispersion(
            z, se, winsor=settings.winsor, alpha=settings.overdispersion_alpha
        )
        od = self.overdispersion_
        self.phi_ = od.phi
        self.tau2_ = od.tau2 if settings.overdispersion == "additive" else 0.0
        if not od.overdispersed or settings.overdispersion == "none":
            self.tau2_ = 0.0
            self.funnel_ = "exact Poisson"
        elif settings.overdispersion == "additive":
            self.funnel_ = f"square-root scale, additive over-dispersion tau2={self.tau2_:.4f}"
        else:
            self.funnel_ = f"square-root scale, multiplicative over-dispersion phi={od.phi:.2f}"
        return self

    def _fit_rates(
        self, table: pd.DataFrame, observed: np.ndarray, children: np.ndarray, keep: np.ndarray
    ) -> None:
        settings = self._settings()
        band = self._bands(table[self.need].to_numpy(dtype=float))[keep]
        index = pd.Index(range(1, settings.bands + 1), name="need_band")
        events = pd.Series(observed[keep]).groupby(band).sum().reindex(index, fill_value=0.0)
        exposure = pd.Series(children[keep]).groupby(band).sum().reindex(index, fill_value=0.0)
        self.band_rates_ = (events / exposure.where(exposure > 0)).fillna(self.authority_rate_)
        self.band_rates_.name = f"{self.measure}_per_child"
        self.regressor_ = None
        if self._method() == "poisson":
            self.regressor_ = self._fit_poisson(table[keep], observed[keep], children[keep])

    def _required_columns(self) -> list[str]:
        code, name = LEVEL_COLUMNS[self.level]
        cols = [code, name, self.exposure, self.need, self.measure]
        if self._method() == "poisson":
            cols += [c for c in self._covariates() if c not in cols]
        return cols

    def _bands(self, need: np.ndarray) -> np.ndarray:
        inner = self.band_edges_[1:-1]
        return np.searchsorted(inner, need, side="left") + 1

    def _fit_poisson(self, table: pd.DataFrame, observed: np.ndarray, children: np.ndarray):
        from sklearn.linear_model import PoissonRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import SplineTransformer

        x = table[self._covariates()].to_numpy(dtype=float)
        keep = children > 0
        # A cubic spline per covariate lets the rate follow need smoothly without assuming a
        # shape; linear extrapolation keeps areas beyond the fitted range sensible.
        model = make_pipeline(
            SplineTransformer(n_knots=4, degree=3, extrapolation="linear"),
            PoissonRegressor(alpha=1e-6, max_iter=1000),
        )
        # A rate weighted by exposure is the Poisson GLM with a log(children) offset.
        model.fit(
            x[keep],
            observed[keep] / children[keep],
            poissonregressor__sample_weight=children[keep],
        )
        return model

    def _expected(self, table: pd.DataFrame) -> np.ndarray:
        children = table[self.exposure].to_numpy(dtype=float)
        if self._method() == "poisson":
            x = table[self._covariates()].to_numpy(dtype=float)
            rate = self.regressor_.predict(x)
        else:
            band = self._bands(table[self.need].to_numpy(dtype=float))
            rate = self.band_rates_.reindex(band).to_numpy()
        return rate * children

    def _check_fitted(self) -> None:
        if not hasattr(self, "band_rates_"):
            raise NeedmapError("this RadarModel is not fitted yet; call fit(areas) first")

    def expected(self, areas: pd.DataFrame) -> np.ndarray:
        """Expected counts for each row of ``areas`` under the fitted need model."""
        self._check_fitted()
        table = _validate(areas, self._required_columns(), self.level, self.measure)
        return self._expected(table)

    # -- flagging ---------------------------------------------------------------------------
    def flags(self, areas: pd.DataFrame, *, authority_name: str = "the authority") -> pd.DataFrame:
        """Classify every area and explain why.

        Parameters
        ----------
        areas : pandas.DataFrame or geopandas.GeoDataFrame
            The table to classify (usually the one fitted). Local clusters need its geometry;
            without one ``local_moran_cluster`` is ``"n/a"`` and only the funnel decides.
        authority_name : str, keyword-only
            Used in the reasons ("Oldham's most deprived fifth").

        Returns
        -------
        pandas.DataFrame
            One row per area in input order with the columns of ``OUTPUT_COLUMNS``: the need
            value, its national percentile and within-authority band; ``expected`` and
            ``observed`` counts, ``ratio`` with Byar's interval (``ratio_lower``,
            ``ratio_upper``); funnel limits for the ratio at ``flag_level`` (``lower_limit``,
            ``upper_limit``) and at ``watch_level`` (``*_95``); ``z`` (square-root scale) and
            ``z_adjusted`` (over-dispersion allowed for); ``eb_rate`` per 1,000 children and
            ``eb_ratio``; local Moran ``I``, permutation p and cluster label; ``flag`` and
            ``reason``.
        """
        self._check_fitted()
        settings = self._settings()
        code, name = LEVEL_COLUMNS[self.level]
        table = _validate(areas, self._required_columns(), self.level, self.measure)
        observed = table[self.measure].to_numpy(dtype=float)
        children = table[self.exposure].to_numpy(dtype=float)
        need = table[self.need].to_numpy(dtype=float)
        expected = self._expected(table)
        valid = expected > 0
        e = np.where(valid, expected, np.nan)

        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = observed / e
        ratio_lower, ratio_upper = stats.byar_interval(observed, e, level=settings.interval_level)
        z = stats.sqrt_ratio_z(observed, e)
        limits = {
            lv: self._limits(e, lv)
            for lv in {settings.flag_level, settings.watch_level, settings.well_reached_level}
        }
        z_adj = self._adjusted_z(observed, e)

        out = pd.DataFrame(
            {
                "area_code": table[code].to_numpy(),
                "area_name": table[name].to_numpy(),
                "level": self.level,
                "need": need,
                "need_pctile": _pctile_column(table, self.need),
                "need_band": self._bands(need),
                "children": children,
                "expected": expected,
                "observed": observed,
                "ratio": ratio,
                "ratio_lower": ratio_lower,
                "ratio_upper": ratio_upper,
                "lower_limit": limits[settings.flag_level][0],
                "upper_limit": limits[settings.flag_level][1],
                "lower_limit_95": limits[settings.watch_level][0],
                "upper_limit_95": limits[settings.watch_level][1],
                "z": z,
                "z_adjusted": z_adj,
            },
            index=table.index,
        )
        out["need_band_label"] = [
            band_label(b, settings.bands, authority_name) for b in out["need_band"]
        ]
        out["eb_rate"] = np.nan
        has_children = children > 0
        if has_children.any():
            eb = stats.marshall_eb(observed[has_children], children[has_children])
            out.loc[has_children, "eb_rate"] = eb.rates * 1000.0
        out["eb_ratio"] = np.nan
        if valid.any():
            out.loc[valid, "eb_ratio"] = stats.marshall_eb(observed[valid], e[valid]).rates

        moran_i, moran_p, cluster = _local_clusters(
            areas, z_adj, settings=settings, random_state=self.random_state
        )
        out["local_moran_i"] = moran_i
        out["local_moran_p"] = moran_p
        out["local_moran_cluster"] = cluster

        out["upper_limit_well"] = limits[settings.well_reached_level][1]
        out["flag"], out["reason"] = self._classify(out, authority_name)
        return out[OUTPUT_COLUMNS].reset_index(drop=True)

    def _limits(self, e: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        exact = stats.poisson_funnel_limits(e, level=level)
        if self.funnel_ == "exact Poisson":
            return exact
        if self._settings().overdispersion == "additive":
            widened = stats.sqrt_ratio_funnel_limits(e, level=level, tau2=self.tau2_)
        else:
            widened = stats.sqrt_ratio_funnel_limits(e, level=level, phi=self.overdispersion_.phi)
        # For small E the square-root approximation can sit inside the exact Poisson limits;
        # an over-dispersion adjustment must never make a limit narrower than pure chance.
        return np.fmin(exact[0], widened[0]), np.fmax(exact[1], widened[1])

    def _adjusted_z(self, observed: np.ndarray, e: np.ndarray) -> np.ndarray:
        z = stats.sqrt_ratio_z(observed, e)
        if self.funnel_ == "exact Poisson":
            return z
        if self._settings().overdispersion == "multiplicative":
            return z / math.sqrt(self.overdispersion_.phi)
        return z / np.sqrt(1.0 + 4.0 * e * self.tau2_)

    def _classify(self, out: pd.DataFrame, authority_name: str) -> tuple[list[str], list[str]]:
        s = self._settings()
        referrals = self._kind() == "referrals"
        label, one, many = _MEASURE_WORDS.get(self.measure, (self.measure, "case", "cases"))
        need_word = _need_word(self.need)
        flags, reasons = [], []
        top = s.bands - s.high_need_bands + 1
        high_words = (
            f"{authority_name}'s most deprived {_BAND_NOUNS.get(s.bands, 'band')}"
            if s.high_need_bands == 1
            else f"{authority_name}'s {_number_word(s.high_need_bands)} most deprived "
            f"{_plural(_BAND_NOUNS.get(s.bands, 'band'))}"
        )
        for row in out.itertuples(index=False):
            expected, ratio = row.expected, row.ratio
            enough = np.isfinite(expected) and expected >= s.min_expected and expected > 0
            high_need = row.need_band >= top
            low_strong = enough and ratio < row.lower_limit
            low_weak = enough and ratio < row.lower_limit_95
            high_strong = enough and ratio > row.upper_limit
            high_weak = enough and ratio > row.upper_limit_95
            own_low = row.local_moran_cluster in ("LL", "LH")
            own_high = row.local_moran_cluster in ("HH", "HL")
            flag_pct = _pct(s.flag_level)
            watch_pct = _pct(s.watch_level)

            need_text = f"Need: {need_word} in {row.need_band_label}"
            if np.isfinite(row.need_pctile):
                need_text += f" ({_national_words(row.need_pctile)})"
            count_text = _count_words(row.observed, expected, one, many, self.disclosure_threshold)

            if not enough:
                flag = FLAG_TOO_FEW
                evidence = (
                    f"{_count_only(row.observed, one, many, self.disclosure_threshold)} against "
                    f"{_num(expected)} expected: too few to judge"
                )
            elif high_need and low_strong:
                flag = FLAG_HIDDEN_NEED if referrals else FLAG_OFF_RADAR
                evidence = f"{count_text}, below the {flag_pct} funnel limit"
            elif high_need and low_weak and own_low:
                flag = FLAG_HIDDEN_NEED if referrals else FLAG_OFF_RADAR
                evidence = (
                    f"{count_text}, below the {watch_pct} funnel limit and "
                    f"{_cluster_words(row.local_moran_cluster, referrals)}"
                )
            elif referrals and (high_strong or (high_weak and own_high)):
                flag = FLAG_FRONT_DOOR
                evidence = f"{count_text}, above the {flag_pct} funnel limit"
                if not high_strong:
                    evidence = (
                        f"{count_text}, above the {watch_pct} funnel limit and "
                        f"{_cluster_words(row.local_moran_cluster, referrals)}"
                    )
            elif low_weak:
                flag = FLAG_WATCH
                if not high_need:
                    where = "beyond" if low_strong else "below"
                    limit = flag_pct if low_strong else watch_pct
                    evidence = (
                        f"{count_text}, {where} the {limit} funnel limit, but need is outside "
                        f"{high_words}"
                    )
                else:
                    evidence = (
                        f"{count_text}, below the {watch_pct} funnel limit but within the "
                        f"{flag_pct} limit"
                    )
            elif referrals and high_weak:
                flag = FLAG_WATCH
                evidence = (
                    f"{count_text}, above the {watch_pct} funnel limit but within the "
                    f"{flag_pct} limit"
                )
            elif not referrals and enough and ratio > row.upper_limit_well:
                flag = FLAG_WELL_REACHED
                evidence = f"{count_text}, above the {_pct(s.well_reached_level)} funnel limit"
            else:
                flag = FLAG_AS_EXPECTED
                evidence = f"{count_text}, within the {watch_pct} funnel limits"
                if high_weak:
                    evidence = (
                        f"{count_text}, above the {watch_pct} funnel limit but within the "
                        f"{_pct(s.well_reached_level)} limit"
                    )
            flags.append(flag)
            reasons.append(f"{need_text}. {label}: {evidence}.")
        return flags, reasons


# -- plain functions ----------------------------------------------------------------------------
def find_off_the_radar(
    areas: pd.DataFrame,
    *,
    level: Literal["lsoa", "ward"] = "lsoa",
    measure: str = "families_engaged",
    need: str = "idaci_score",
    method: Literal["indirect", "poisson"] | None = None,
    settings: RadarSettings | None = None,
    authority_name: str = "the authority",
    period_column: str | None = None,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Flag areas whose engagement falls far below what their need predicts.

    Fits :class:`RadarModel` on ``areas`` and returns its :meth:`RadarModel.flags` table. With
    ``period_column`` (e.g. ``"quarter"``) each period is fitted and flagged separately and a
    ``period`` column is added.

    Examples
    --------
    >>> table = find_off_the_radar(snapshot.lsoa, authority_name="Oldham")  # doctest: +SKIP
    >>> table.loc[table.flag == "off the radar", ["area_name", "reason"]]  # doctest: +SKIP
    """
    return _run(
        areas, period_column=period_column, authority_name=authority_name,
        model=RadarModel(
            measure, need=need, method=method, level=level, kind="engagement",
            settings=settings, random_state=random_state,
        ),
    )  # fmt: skip


def find_referral_anomalies(
    areas: pd.DataFrame,
    *,
    level: Literal["lsoa", "ward"] = "lsoa",
    measure: str = "referrals",
    need: str = "idaci_score",
    method: Literal["indirect", "poisson"] | None = None,
    settings: RadarSettings | None = None,
    authority_name: str = "the authority",
    period_column: str | None = None,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Flag "hidden need" (far fewer referrals than need predicts) and "front-door pressure".

    Same method and output as :func:`find_off_the_radar`, with the referral vocabulary.
    """
    return _run(
        areas, period_column=period_column, authority_name=authority_name,
        model=RadarModel(
            measure, need=need, method=method, level=level, kind="referrals",
            settings=settings, random_state=random_state,
        ),
    )  # fmt: skip


def naive_flags(
    areas: pd.DataFrame,
    *,
    level: Literal["lsoa", "ward"] = "lsoa",
    measure: str = "families_engaged",
    need: str = "idaci_score",
    exposure: str = "children",
    quantiles: int = 5,
) -> pd.Series:
    """The naive rule the radar is benchmarked against: top need and bottom rate quantile.

    An area is flagged when its need is in the authority's top ``quantiles``-tile and its rate
    (``measure / exposure``) in the bottom one, with no allowance for chance or size.

    Returns
    -------
    pandas.Series
        Boolean, indexed by area code, named ``naive_flag``.
    """
    if level not in LEVEL_COLUMNS:
        raise ConfigError(f"level must be one of {', '.join(LEVEL_COLUMNS)}; got {level!r}")
    code, _ = LEVEL_COLUMNS[level]
    table = _validate(areas, [code, exposure, need, measure], level, measure)
    rate = table[measure] / table[exposure].where(table[exposure] > 0)
    q = 1.0 / quantiles
    flag = (table[need] >= table[need].quantile(1.0 - q)) & (rate <= rate.quantile(q))
    return pd.Series(flag.to_numpy(), index=pd.Index(table[code], name="area_code"),
                     name="naive_flag")  # fmt: skip


# -- helpers --------------------------------------------------------------------------------------
def _run(
    areas: pd.DataFrame, *, model: RadarModel, period_column: str | None, authority_name: str
) -> pd.DataFrame:
    if period_column is None:
        return model.fit(areas).flags(areas, authority_name=authority_name)
    if period_column not in areas.columns:
        raise InputError(
            f"period_column '{period_column}' is not in the areas table; "
            f"found columns: {', '.join(map(str, areas.columns))}"
        )
    parts = []
    for period, part in areas.groupby(period_column, sort=True):
        table = model.fit(part).flags(part, authority_name=authority_name)
        table.insert(3, "period", period)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _validate(
    areas: pd.DataFrame, columns: Sequence[str], level: str, measure: str
) -> pd.DataFrame:
    """Check the columns the radar reads; ``columns`` starts with the code and name columns."""
    if not isinstance(areas, pd.DataFrame):
        raise InputError(
            f"areas must be a pandas DataFrame or GeoDataFrame; got {type(areas).__name__}"
        )
    missing = [c for c in dict.fromkeys(columns) if c not in areas.columns]
    if missing:
        raise InputError(
            f"the areas table for the radar (level '{level}', measure '{measure}') is missing "
            f"column(s) {', '.join(repr(c) for c in missing)}; found: "
            f"{', '.join(map(str, areas.columns))}. Build it with needmap.indicators, or pass "
            "level='ward' for a ward table"
        )
    code = LEVEL_COLUMNS[level][0]
    dupes = areas[code][areas[code].duplicated()]
    if len(dupes):
        raise InputError(
            f"area code(s) {', '.join(map(str, dupes.unique()[:5]))} appear more than once in "
            f"column '{code}'; the radar needs one row per area (filter to one period first or "
            "pass period_column)"
        )
    for column in dict.fromkeys(c for c in columns if c not in LEVEL_COLUMNS[level]):
        values = pd.to_numeric(areas[column], errors="coerce").astype(float)
        bad = ~np.isfinite(values)
        if column == measure:
            bad |= (values < 0) | (values != np.round(values))
        if bad.any():
            raise InputError(
                f"column '{column}' has a missing or non-numeric value"
                f"{', a negative value or a fraction' if column == measure else ''} for area(s) "
                f"{', '.join(map(str, areas.loc[bad, code].head(5)))}; the radar needs a "
                "number for every area (fill or drop those rows first)"
            )
    return areas


def _local_clusters(
    areas: pd.DataFrame, values: np.ndarray, *, settings: RadarSettings, random_state: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(areas)
    nan = np.full(n, np.nan)
    if not settings.use_clusters or "geometry" not in getattr(areas, "columns", []) or n < 4:
        return nan, nan, np.full(n, "n/a", dtype=object)
    import esda
    import geopandas as gpd
    from libpysal import weights

    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(areas.geometry).reset_index(drop=True))
    if frame.geometry.isna().any() or frame.geometry.is_empty.any():
        return nan, nan, np.full(n, "n/a", dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = weights.Queen.from_dataframe(frame, use_index=False)
        if w.islands:
            knn = weights.KNN.from_dataframe(frame.set_geometry(frame.representative_point()), k=1)
            w = weights.attach_islands(w, knn)
    if w.islands:
        n_islands = len(w.islands)
    else:
        n_islands = 0
    w.transform = "r"
    finite = np.isfinite(values)
    y = np.where(finite, values, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lisa = esda.Moran_Local(
            y, w, transformation="r", permutations=settings.permutations,
            seed=random_state, keep_simulations=False,
        )  # fmt: skip
    threshold = esda.fdr(lisa.p_sim, settings.cluster_alpha)
    significant = (lisa.p_sim <= threshold) & finite
    labels = np.array([CLUSTER_LABELS.get(int(q), "ns") for q in lisa.q], dtype=object)
    labels[~significant] = "ns"
    labels[~finite] = "n/a"
    if n_islands:
        warnings.warn(
            f"{n_islands} area(s) still have no neighbour for the local Moran clusters",
            stacklevel=3,
        )
    return np.asarray(lisa.Is, dtype=float), np.asarray(lisa.p_sim, dtype=float), labels


def band_label(band: int, bands: int, authority_name: str = "the authority") -> str:
    """Describe a need band in words: ``"Oldham's most deprived fifth"``.

    Band ``bands`` is the most deprived, band 1 the least.
    """
    noun = _BAND_NOUNS.get(bands)
    if noun is None:
        return f"{authority_name}'s need band {band} of {bands} ({bands} = most deprived)"
    from_top = bands - band + 1
    if from_top == 1:
        position = "most deprived"
    elif band == 1:
        position = "least deprived"
    elif bands % 2 == 1 and band == (bands + 1) // 2:
        position = "middle"
    elif from_top <= band:
        position = f"{_ORDINALS[from_top]} most deprived"
    else:
        position = f"{_ORDINALS[band]} least deprived"
    return f"{authority_name}'s {position} {noun}"


def _number_word(n: int) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return words[n] if 0 <= n < len(words) else str(n)


def _plural(noun: str) -> str:
    return "halves" if noun == "half" else f"{noun}s"


def _need_word(need: str) -> str:
    head = need.split("_", 1)[0]
    return head.upper() if head in ("idaci", "imd", "idaopi") else need


def _pctile_column(table: pd.DataFrame, need: str) -> np.ndarray:
    column = f"{need.split('_', 1)[0]}_pctile"
    if column in table.columns:
        return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return np.full(len(table), np.nan)


def _national_words(pctile: float) -> str:
    if pctile >= 50:
        share = max(1, math.ceil(100.0 - pctile))
        return f"among the {share}% most deprived in England"
    return "in the less deprived half of England"


def _pct(level: float) -> str:
    return f"{level * 100:.1f}".rstrip("0").rstrip(".") + "%"


def _num(value: float) -> str:
    if not np.isfinite(value):
        return "no"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _count_only(observed: float, one: str, many: str, threshold: int) -> str:
    count = int(round(observed))
    if count == 0:
        return f"no {many}"
    if count <= threshold:
        return f"fewer than {threshold + 1} {many}"
    return f"{count:,} {one if count == 1 else many}"


def _count_words(observed: float, expected: float, one: str, many: str, threshold: int) -> str:
    """Count and distance from expectation, never leaking a count from 1 to ``threshold``."""
    count = int(round(observed))
    counted = _count_only(observed, one, many, threshold)
    if not expected > 0:
        return f"{counted} against none expected"
    if 1 <= count <= threshold:
        # Only a bound: the exact percentage and E would give the count back.
        if threshold < expected:
            share = math.floor((1.0 - threshold / expected) * 100.0)
            return (
                f"{counted}, at least {share}% below what its need predicts ("
                f"{_num(expected)} expected)"
            )
        return f"{counted} against {_num(expected)} expected"
    change = (observed / expected - 1.0) * 100.0
    if round(change) == 0:
        where = "in line with what its need predicts"
    elif change < 0:
        where = f"{round(-change)}% below what its need predicts"
    else:
        where = f"{round(change)}% above what its need predicts"
    return f"{counted}, {where} ({_num(expected)} expected)"


def _cluster_words(cluster: str, referrals: bool) -> str:
    what = "referrals" if referrals else "engagement"
    return {
        "LL": f"in a significant cluster of low {what} (local Moran's I, FDR-corrected)",
        "LH": f"a significant low spot among neighbours with higher {what} (local Moran's I, "
        "FDR-corrected)",
        "HH": f"in a significant cluster of high {what} (local Moran's I, FDR-corrected)",
        "HL": f"a significant high spot among neighbours with lower {what} (local Moran's I, "
        "FDR-corrected)",
    }.get(cluster, "")


FLAG_COLOURS = {
    FLAG_OFF_RADAR: "#b2182b",
    FLAG_HIDDEN_NEED: "#b2182b",
    FLAG_FRONT_DOOR: "#762a83",
    FLAG_WATCH: "#f4a582",
    FLAG_AS_EXPECTED: "#f7f7f7",
    FLAG_WELL_REACHED: "#4393c3",
    FLAG_TOO_FEW: "#d9d9d9",
}


def funnel_data(full: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (areas with a shown ratio) and limit curves for a funnel plot of O/E against E.

    The curves run through each area's own limits, sorted by expected count, so they are exact
    for the over-dispersion the model estimated.
    """
    pts = full[pd.to_numeric(full["ratio"], errors="coerce").notna()].copy()
    pts["ratio"] = pd.to_numeric(pts["ratio"])
    limits = full.sort_values("expected")
    curves = []
    for col, label in (("lower_limit", "99.8% limit"), ("upper_limit", "99.8% limit"),
                       ("lower_limit_95", "95% limit"), ("upper_limit_95", "95% limit")):
        if col in limits:
            curves.append(pd.DataFrame({
                "expected": limits["expected"].to_numpy(),
                "limit": pd.to_numeric(limits[col], errors="coerce").to_numpy(),
                "line": label, "side": "lower" if col.startswith("lower") else "upper",
            }))
    return pts, pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()


# -- the snapshot's flags -------------------------------------------------------------------------
PUBLISHED_COLUMNS = [
    "area_code", "area_name", "level", "kind", "need", "need_pctile", "need_band",
    "need_band_label", "children", "expected", "observed", "ratio", "ratio_lower", "ratio_upper",
    "lower_limit", "upper_limit", "lower_limit_95", "upper_limit_95", "flag", "certainty",
    "reason",
]  # fmt: skip
_LOW = {FLAG_OFF_RADAR, FLAG_HIDDEN_NEED, FLAG_WATCH}
_HIGH = {FLAG_WELL_REACHED, FLAG_FRONT_DOOR}
_ORDER = {FLAG_OFF_RADAR: 0, FLAG_HIDDEN_NEED: 0, FLAG_FRONT_DOOR: 1, FLAG_WATCH: 2,
          FLAG_AS_EXPECTED: 3, FLAG_WELL_REACHED: 4, FLAG_TOO_FEW: 5}


def radar_flags(
    areas: pd.DataFrame,
    *,
    level: Literal["lsoa", "ward"],
    kind: Literal["engagement", "referrals"],
    settings: RadarSettings,
    threshold: int,
    authority_name: str,
    fit_counts: pd.Series,
    decide_counts: pd.Series,
    shown: pd.Series,
) -> pd.DataFrame:
    """The flags a snapshot publishes for one level and kind.

    Two fits of the same model: one on the true counts (``decide_counts``) decides each area's
    class, exactly as without protection, a hidden count (1..``threshold``) being taken at the
    edge of the hidden range that makes a flag least likely, so the class says no more than ``c``
    does; one on the published, protected counts (``fit_counts``, stand-ins for hidden ones)
    gives every number that is published (expected, ratio, limits), so those are functions of
    published figures and carry no trace of a hidden count.
    """
    measure = "families_engaged" if kind == "engagement" else "referrals"
    fit = np.asarray(fit_counts, dtype=float)
    true = np.asarray(decide_counts, dtype=float)
    hidden = ~np.asarray(shown, dtype=bool)

    def model(table: pd.DataFrame) -> RadarModel:
        return RadarModel(
            measure, level=level, kind=kind, settings=settings,
            random_state=settings.random_state, disclosure_threshold=threshold,
        ).fit(table)

    fit_table = areas.assign(**{measure: fit})
    published = model(fit_table).flags(fit_table, authority_name=authority_name)
    true_table = areas.assign(**{measure: true})
    decider = model(true_table)
    flag = decider.flags(true_table, authority_name=authority_name)["flag"].to_numpy()
    if hidden.any():
        low = decider.flags(areas.assign(**{measure: np.where(hidden, threshold, true)}),
                            authority_name=authority_name)["flag"].to_numpy()
        high = decider.flags(areas.assign(**{measure: np.where(hidden, 1.0, true)}),
                             authority_name=authority_name)["flag"].to_numpy()
        edge = np.where(np.isin(low, list(_LOW)), low,
                        np.where(np.isin(high, list(_HIGH)), high,
                                 np.where(low == FLAG_TOO_FEW, FLAG_TOO_FEW, FLAG_AS_EXPECTED)))
        flag = np.where(hidden, edge, flag)
    out = published.assign(kind=kind, flag=flag, certainty="")
    for col in ("observed", "ratio", "ratio_lower", "ratio_upper"):
        out[col] = out[col].where(~hidden)
    out["expected"] = out["expected"].round(1)
    for col in ("ratio", "ratio_lower", "ratio_upper", "lower_limit", "upper_limit",
                "lower_limit_95", "upper_limit_95", "need"):
        out[col] = out[col].astype(float).round(2 if col != "need" else 3)
    out = out.assign(_o=out["flag"].map(_ORDER).fillna(9))
    out = out.sort_values(["_o", "ratio"], na_position="last").drop(columns="_o")
    return out[PUBLISHED_COLUMNS].reset_index(drop=True)
