"""The radar's words: need bands, reasons and how sure each class is, as a lead would say it.

A reason is composed from published figures and the class only: the need of the area, its
published count (a count from 1 to the disclosure threshold is "fewer than N", with at most a
lower bound on the shortfall that the expected count and "c" already give), the published
expected count and the evidence key of :mod:`needmap.radar.decision`. It never holds a true
count, and it is the same for every count "c" could hide.

How sure a class is (:func:`certainty`) is measured, not assumed: the share of areas flagged on
each kind of evidence that were truly planted, over the bench's grid of synthetic authorities
(``bench/radar_accuracy.py``, its "Evidence levels" table). Those figures are written into
:data:`CERTAINTY` below; rerun the bench and update them when the method changes.
"""

from __future__ import annotations

import math

import numpy as np

from needmap.config import RadarSettings

__all__ = ["CERTAINTY", "band_label", "certainty", "high_need_words", "need_words", "reason"]

_BAND_NOUNS = {2: "half", 3: "third", 4: "quarter", 5: "fifth", 10: "tenth"}
_ORDINALS = ["", "", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# kind -> (label in the reason, singular noun, plural noun, what a true shortfall means)
_KIND_WORDS = {
    "engagement": ("Engagement", "family", "families", "truly under-reached"),
    "referrals": ("Front door", "referral", "referrals",
                  "truly had fewer referrals than their need predicts"),
}  # fmt: skip

#: Evidence key -> how sure ({what}: the kind's meaning). The figures are the bench's share of
#: areas on each kind of evidence that were truly planted, pooled over its grid with area-level
#: variation (CV 0.2 and 0.35, planted reach 20-60%, 20 seeds, Oldham's 142 LSOAs; run of
#: 2026-11-30): strong 0.95 (0.97 at CV 0.2, 0.91 at 0.35; 956 areas), moderate 0.63 (0.72,
#: 0.60; 531), weak shortfall 0.39 (269); on the soft edge, where nothing was planted, 9
#: strong-evidence flags came up in 240 runs (13 in 340 counting the runs without spread).
CERTAINTY = {
    "strong": "Strong evidence: in tests, about 19 in 20 areas flagged like this were {what} "
    "(9 in 10 where areas vary most).",
    "moderate": "Moderate evidence: in tests, about 6 in 10 areas flagged like this were "
    "{what}; look closer before acting.",
    "edge_strong": "Strong evidence, but need is just outside the high-need bands: in tests "
    "with nothing planted there, a flag like this came up by chance about once in 25 runs; "
    "check it.",
    "edge_moderate": "Weak evidence, and need is just outside the high-need bands: on watch, "
    "not flagged.",
    "low_need": "A shortfall beyond the flag limit, but need is not high: on watch, not flagged "
    "off the radar.",
    "weak_shortfall": "Weak evidence: in tests, about 4 in 10 areas on watch like this were "
    "{what}.",
    "excess": "Beyond the flag limit, set for a stated false discovery rate; not tested on "
    "planted data.",
    "weak_excess": "Weak evidence of more than expected; no action suggested.",
    "within": "No sign of a gap beyond the usual spread between areas.",
    "too_few": "Too few expected to judge either way.",
}


def certainty(key: str, kind: str) -> str:
    """How sure a class on evidence ``key`` is, in plain words (see :data:`CERTAINTY`)."""
    return CERTAINTY[key].format(what=_KIND_WORDS[kind][3])


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


def high_need_words(settings: RadarSettings, authority_name: str) -> str:
    """``"Oldham's two most deprived fifths"``: the bands that count as high need."""
    noun = _BAND_NOUNS.get(settings.bands, "band")
    n = settings.high_need_bands
    if n == 1:
        return f"{authority_name}'s most deprived {noun}"
    plural = "halves" if noun == "half" else f"{noun}s"
    word = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    return f"{authority_name}'s {word} most deprived {plural}"


def need_words(
    need: str, band_text: str, pctile: float, group: str, high_words: str
) -> str:
    """``"Need: IDACI in Oldham's most deprived fifth (among the 8% most deprived in England)"``."""
    text = f"Need: {need.upper()} in {band_text}"
    if group == "edge":
        text += f", just outside {high_words}"
    if np.isfinite(pctile):
        if pctile >= 50:
            share = max(1, math.ceil(100.0 - pctile))
            text += f" (among the {share}% most deprived in England)"
        else:
            text += " (in the less deprived half of England)"
    return text


def _count(observed: float, one: str, many: str, threshold: int) -> str:
    if not np.isfinite(observed):
        return f"fewer than {threshold + 1} {many}"
    count = int(round(observed))
    if count == 0:
        return f"no {many}"
    return f"{count:,} {one if count == 1 else many}"


def _count_words(observed: float, expected: float, one: str, many: str, threshold: int) -> str:
    """Published count and its distance from expectation; a hidden count only as a bound."""
    counted = _count(observed, one, many, threshold)
    shown_e = f"{expected:,.1f} expected"
    if not expected > 0:
        return f"{counted} against none expected"
    if not np.isfinite(observed):
        # Only a bound: "c" says 1 to threshold, so the shortfall is at least 1 - threshold / E.
        if threshold < expected:
            share = math.floor((1.0 - threshold / expected) * 100.0)
            return f"{counted}, at least {share}% below what its need predicts ({shown_e})"
        return f"{counted} against {shown_e}"
    change = round((observed / expected - 1.0) * 100.0)
    if change == 0:
        where = "in line with what its need predicts"
    elif abs(change) < 10:
        where = f"slightly {'below' if change < 0 else 'above'} what its need predicts"
    elif change < 0:
        where = f"{-change}% below what its need predicts"
    else:
        where = f"{change}% above what its need predicts"
    return f"{counted}, {where} ({shown_e})"


def _evidence_words(key: str, settings: RadarSettings, high_words: str) -> str:
    fdr = f"{settings.fdr * 100:.0f}%"
    watch = f"{settings.watch_level * 100:g}%"
    return {
        "too_few": "too few to judge",
        "strong": "below the strong-evidence limit",
        "moderate": f"below the flag limit (false discovery rate {fdr})",
        "edge_strong": "below the stricter limit for areas just outside the high-need bands "
        f"(false discovery rate {settings.strong_fdr * 100:g}% among them)",
        "edge_moderate": "below the flag limit for high-need areas but not the stricter one for "
        "areas just outside them: on watch",
        "low_need": f"below the flag limit, but need is outside {high_words}: on watch, not "
        "flagged",
        "weak_shortfall": f"below the {watch} funnel limit but above the flag limit",
        "excess": f"above the flag limit (false discovery rate {fdr})",
        "weak_excess": f"above the {watch} funnel limit but below the flag limit",
        "within": f"within the {watch} funnel limits",
    }[key]


def reason(
    *,
    kind: str,
    key: str,
    need: str,
    band_text: str,
    pctile: float,
    group: str,
    observed: float,
    expected: float,
    threshold: int,
    settings: RadarSettings,
    authority_name: str,
) -> str:
    """One area's reason from its published figures, need and evidence key.

    Parameters
    ----------
    observed : float
        The published count, NaN where the table shows "c".
    expected : float
        The published (rounded) expected count.
    """
    label, one, many, _ = _KIND_WORDS[kind]
    high = high_need_words(settings, authority_name)
    need_text = need_words(need, band_text, pctile, group, high)
    if key == "too_few":
        count_text = f"{_count(observed, one, many, threshold)} against {expected:,.1f} expected"
    else:
        count_text = _count_words(observed, expected, one, many, threshold)
    return f"{need_text}. {label}: {count_text}; {_evidence_words(key, settings, high)}."
