"""The published flags table: numbers from a fit on published counts, classes from the true ones.

:func:`radar_flags` is what the snapshot build calls once per level and kind at refresh time.
Two fits of one model: on the published (protected) counts, for every number in the table, so
each is a function of published figures; and on the true counts, for the class, so an area is
flagged exactly as it would be without protection (the test in ``tests/test_disclosure.py``
checks it). Only ``flag``, ``certainty`` and ``reason`` depend on the true counts, and only
through the class; a hidden count is judged at the edge of its range (see
:meth:`RadarModel.evidence`).

Rounding: ``expected`` to 1 decimal, ratios and limits to 2. The model's own uncertainty in an
expected count is several per cent (the spread between areas alone is 15-35%), so a second
decimal of an expected count or a third of a ratio would be noise presented as fact; two
decimals of a ratio still resolve 1% of expectation, finer than any decision turns on. Fixed
rounding also makes the same snapshot give byte-identical tables on every machine, whatever the
last bits of its floating-point arithmetic.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from needmap import stats
from needmap.config import RadarSettings
from needmap.radar import decision, reasons
from needmap.radar.model import LEVEL_COLUMNS, RadarModel

__all__ = ["OUTPUT_COLUMNS", "RadarResult", "funnel_data", "radar_flags", "radar_result"]

OUTPUT_COLUMNS = [
    "area_code", "area_name", "level", "kind", "need", "need_pctile", "need_band",
    "need_band_label", "need_group", "children", "expected", "observed", "ratio", "ratio_lower",
    "ratio_upper", "lower_limit", "upper_limit", "lower_limit_strong", "lower_limit_95",
    "upper_limit_95", "flag", "certainty", "reason",
]  # fmt: skip


@dataclass(frozen=True)
class RadarResult:
    """What :func:`radar_result` computed: the published table and what stands behind it."""

    table: pd.DataFrame
    model: RadarModel
    evidence: pd.DataFrame
    evidence_key: np.ndarray


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
    """Fit one radar model on published counts and flag every area, ranked strongest first.

    Parameters
    ----------
    areas : pandas.DataFrame or geopandas.GeoDataFrame
        One row per area: ``{level}_code``, ``{level}_name``, ``children`` and the need
        measure's ``*_score`` and ``*_pctile``.
    level : {"lsoa", "ward"}
    kind : {"engagement", "referrals"}
        Families engaged (off the radar / well reached) or referrals (hidden need / front-door
        pressure).
    settings : RadarSettings
        The ``[radar]`` settings.
    threshold : int
        Counts from 1 to this are published as "c".
    authority_name : str
        Used in the reasons ("Oldham's most deprived fifth").
    fit_counts : pandas.Series
        The published counts, aligned with ``areas`` (a stand-in where "c"): everything fitted
        comes from these.
    decide_counts : pandas.Series
        The true counts: each area's class is decided on them (a hidden count as
        ``threshold`` for a shortfall and as 0 for an excess).
    shown : pandas.Series of bool
        False where the published table shows "c".

    Returns
    -------
    pandas.DataFrame
        One row per area with :data:`OUTPUT_COLUMNS`, flags first, then by the strength of the
        published evidence, then by area code. ``observed`` is the published count (NaN where
        "c"), ``ratio`` and its Byar 95% interval come from it; ``lower_limit`` is the flag
        limit, ``lower_limit_strong`` the strong-evidence limit, ``*_95`` the watch funnel and
        ``upper_limit`` the excess flag limit, all as ratios of the expected count.
    """
    return radar_result(
        areas, level=level, kind=kind, settings=settings, threshold=threshold,
        authority_name=authority_name, fit_counts=fit_counts, decide_counts=decide_counts,
        shown=shown,
    ).table  # fmt: skip


def radar_result(
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
) -> RadarResult:
    """:func:`radar_flags` with the fitted model and the evidence behind each class (the bench).

    Same parameters as :func:`radar_flags`.
    """
    model = RadarModel(kind=kind, level=level, settings=settings, threshold=threshold)
    model.fit(areas, fit_counts, shown=shown)
    # The class: the fit needmap would make without protection, then the true counts against it
    # (started from the published fit: the counts differ by a few units at most).
    decider = copy.deepcopy(model)
    decider.warm_start = True
    decider.fit(areas, decide_counts)
    visible = np.asarray(shown, dtype=bool)
    evidence = decider.evidence(areas, decide_counts, hidden=~visible)
    flag, key = decision.classify(evidence, kind)
    code, name = LEVEL_COLUMNS[level]
    published = np.asarray(fit_counts, dtype=float)
    expected = model.expected_
    observed = np.where(visible, published, np.nan)
    finite = observed[np.isfinite(observed)]
    whole = bool(np.all(finite == np.round(finite)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = observed / np.where(expected > 0, expected, np.nan)
    ratio_lower, ratio_upper = stats.byar_interval(observed, expected)
    group = evidence["need_group"].to_numpy()
    limits = model.limits(expected, group)
    band = model.bands(areas)
    pctile = areas[model.pctile_column].to_numpy(dtype=float)
    band_text = [reasons.band_label(int(b), settings.bands, authority_name) for b in band]
    e_shown = np.round(expected, 1)
    out = pd.DataFrame(
        {
            "area_code": areas[code].to_numpy(),
            "area_name": areas[name].to_numpy(),
            "level": level,
            "kind": kind,
            "need": areas[model.score_column].to_numpy(dtype=float),
            "need_pctile": np.round(pctile, 1),
            "need_band": band,
            "need_band_label": band_text,
            "need_group": group,
            "children": areas["children"].to_numpy(),
            "expected": e_shown,
            "observed": pd.array(observed, dtype="Int64") if whole else observed,
            "ratio": np.round(ratio, 2),
            "ratio_lower": np.round(ratio_lower, 2),
            "ratio_upper": np.round(ratio_upper, 2),
            **{col: np.round(values, 2) for col, values in limits.items()},
            "flag": flag,
            "certainty": [reasons.certainty(k, kind) for k in key],
            "reason": [
                reasons.reason(kind=kind, key=k, need=model.need_measure, band_text=t, pctile=p,
                               group=g, observed=o, expected=e, threshold=threshold,
                               settings=settings, authority_name=authority_name)
                for k, t, p, g, o, e in zip(key, band_text, pctile, group, observed, e_shown,
                                            strict=True)
            ],  # fmt: skip
        }
    )
    # Rank by class, then by the published evidence (never the true counts: the order of two
    # hidden areas must not say which hidden count is smaller).
    low, high = model.published_p_values(published, visible)
    excess = np.isin(flag, [decision.FLAG_FRONT_DOOR, decision.FLAG_WELL_REACHED])
    strength = np.where(excess, high, low)
    order = np.lexsort((out["area_code"].to_numpy(), np.nan_to_num(strength, nan=2.0),
                        out["flag"].map(decision.CLASS_ORDER).to_numpy()))  # fmt: skip
    table = out.iloc[order][OUTPUT_COLUMNS].reset_index(drop=True)
    return RadarResult(table=table, model=model, evidence=evidence, evidence_key=key)


def funnel_data(full: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (areas with a shown ratio) and limit curves for a funnel plot of O/E against E.

    Reads only published columns. The curves run through the areas' own limits, sorted by
    expected count, so they are exact for the spread the model estimated; the lower flag and
    strong-evidence curves are the high-need areas'.
    """
    pts = full[pd.to_numeric(full["ratio"], errors="coerce").notna()].copy()
    pts["ratio"] = pd.to_numeric(pts["ratio"])
    limits = full.sort_values("expected")
    # The flag limits drawn are the high-need areas' (an area on the soft edge or outside high
    # need is judged at its own limit, which its row carries); the 95% funnel holds for all.
    high = limits[limits["need_group"] == "high"] if "need_group" in limits else limits
    curves = []
    for col, label, rows in (("lower_limit", "flag limit", high),
                             ("upper_limit", "flag limit", limits),
                             ("lower_limit_strong", "strong-evidence limit", high),
                             ("lower_limit_95", "95% limit", limits),
                             ("upper_limit_95", "95% limit", limits)):
        if col in rows:
            curves.append(pd.DataFrame({
                "expected": rows["expected"].to_numpy(),
                "limit": pd.to_numeric(rows[col], errors="coerce").to_numpy(),
                "line": label, "side": "lower" if col.startswith("lower") else "upper",
            }))  # fmt: skip
    if not curves:
        return pts, pd.DataFrame()
    curves_df = pd.concat(curves, ignore_index=True)
    return pts, curves_df[np.isfinite(curves_df["limit"])].reset_index(drop=True)
