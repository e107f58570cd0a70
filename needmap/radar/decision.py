"""The decision table: from what the limits say about an area to its class.

Each row of :data:`RULES` is read left to right: when every condition holds, the area takes the
class for its kind and the evidence key that :mod:`needmap.radar.reasons` puts into words. The
first matching row wins, so the table reads top-down as "the strongest finding first".

Conditions (from :meth:`needmap.radar.model.RadarModel.evidence`):

- ``enough``: the expected count is at least ``min_expected``; ``few`` is its opposite.
- ``high`` / ``edge`` / ``other``: the area's need group (high need, the soft edge just below it,
  or neither), on the national percentile of the need measure.
- ``low_strong``, ``low_flag``, ``low_watch``: the count is below the strong-evidence limit
  (false discovery rate ``strong_fdr``), the flag limit (``fdr``) or the watch limit (the
  ``watch_level`` funnel).
- ``high_flag``, ``high_watch``: above the excess flag limit (``fdr``) or the watch funnel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "CLASS_ORDER",
    "FLAG_AS_EXPECTED",
    "FLAG_COLOURS",
    "FLAG_FRONT_DOOR",
    "FLAG_HIDDEN_NEED",
    "FLAG_OFF_RADAR",
    "FLAG_TOO_FEW",
    "FLAG_WATCH",
    "FLAG_WELL_REACHED",
    "RULES",
    "Rule",
    "classify",
]

FLAG_OFF_RADAR = "off the radar"
FLAG_HIDDEN_NEED = "hidden need"
FLAG_FRONT_DOOR = "front-door pressure"
FLAG_WATCH = "watch"
FLAG_AS_EXPECTED = "as expected"
FLAG_WELL_REACHED = "well reached"
FLAG_TOO_FEW = "too few to judge"

OFF, HIDDEN, FRONT, WATCH = FLAG_OFF_RADAR, FLAG_HIDDEN_NEED, FLAG_FRONT_DOOR, FLAG_WATCH
CALM, WELL, FEW = FLAG_AS_EXPECTED, FLAG_WELL_REACHED, FLAG_TOO_FEW


class Rule(NamedTuple):
    """One row of the decision table."""

    when: tuple[str, ...]
    engagement: str
    referrals: str
    evidence: str


# fmt: off
RULES: tuple[Rule, ...] = (
    #     when (all must hold)          engagement  referrals  evidence key
    Rule(("few",),                      FEW,        FEW,       "too_few"),
    Rule(("high", "low_strong"),        OFF,        HIDDEN,    "strong"),
    Rule(("high", "low_flag"),          OFF,        HIDDEN,    "moderate"),
    Rule(("edge", "low_strong"),        OFF,        HIDDEN,    "edge_strong"),
    Rule(("edge", "low_flag"),          WATCH,      WATCH,     "edge_moderate"),
    Rule(("other", "low_flag"),         WATCH,      WATCH,     "low_need"),
    Rule(("low_watch",),                WATCH,      WATCH,     "weak_shortfall"),
    Rule(("high_flag",),                WELL,       FRONT,     "excess"),
    Rule(("high_watch",),               CALM,       WATCH,     "weak_excess"),
    Rule((),                            CALM,       CALM,      "within"),
)
# fmt: on

#: Ranking of classes in the published table: strongest flags first.
CLASS_ORDER = {OFF: 0, HIDDEN: 0, FRONT: 1, WATCH: 2, CALM: 3, WELL: 4, FEW: 5}

FLAG_COLOURS = {
    FLAG_OFF_RADAR: "#b2182b",
    FLAG_HIDDEN_NEED: "#b2182b",
    FLAG_FRONT_DOOR: "#762a83",
    FLAG_WATCH: "#f4a582",
    FLAG_AS_EXPECTED: "#f7f7f7",
    FLAG_WELL_REACHED: "#4393c3",
    FLAG_TOO_FEW: "#d9d9d9",
}


def _conditions(evidence: pd.DataFrame) -> dict[str, np.ndarray]:
    group = evidence["need_group"].to_numpy()
    out = {name: evidence[name].to_numpy(dtype=bool)
           for name in ("enough", "low_strong", "low_flag", "low_watch", "high_flag",
                        "high_watch")}  # fmt: skip
    out["few"] = ~out["enough"]
    for name in ("high", "edge", "other"):
        out[name] = group == name
    return out


def classify(evidence: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Class and evidence key of every area by the first rule of :data:`RULES` that holds.

    Parameters
    ----------
    evidence : pandas.DataFrame
        From :meth:`RadarModel.evidence`.
    kind : {"engagement", "referrals"}
        Which column of the table names the class.
    """
    if kind not in ("engagement", "referrals"):
        raise ValueError(f"kind must be 'engagement' or 'referrals'; got {kind!r}")
    cond = _conditions(evidence)
    n = len(evidence)
    flag = np.empty(n, dtype=object)
    key = np.empty(n, dtype=object)
    done = np.zeros(n, dtype=bool)
    for rule in RULES:
        hit = ~done
        for name in rule.when:
            hit &= cond[name]
        flag[hit] = getattr(rule, kind)
        key[hit] = rule.evidence
        done |= hit
    return flag, key
