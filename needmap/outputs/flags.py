"""What an off-the-radar flag means to a reader: its order, colour, pattern and plain words.

The radar decides the classes (``needmap.radar``, at refresh); this module only shows them. It
knows the classes the radar makes today and gives any other class name a neutral colour, a place
after the known ones and its own name as its description, so pages, legends and zone lists keep
working when the radar's vocabulary changes. The words about need are built from the radar
settings stored in the snapshot (how many need bands, how many count as high), never hard-coded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from needmap.config import RadarSettings
from needmap.snapshot import Snapshot


@dataclass(frozen=True)
class FlagStyle:
    """How one flag class is drawn and ordered."""

    colour: str
    order: int
    pattern: str | None = None
    #: On a worker's list (My zone, the zone pack): a shortfall worth a visit.
    listed: bool = False
    #: The strongest class (counted as "off the radar" in zone figures).
    strongest: bool = False


#: Classes the radar makes today (ColorBrewer RdBu reds and blues, a purple and greys).
KNOWN: dict[str, FlagStyle] = {
    "off the radar": FlagStyle("#b2182b", 0, "hatch", listed=True, strongest=True),
    "hidden need": FlagStyle("#b2182b", 0, "hatch", listed=True, strongest=True),
    "front-door pressure": FlagStyle("#762a83", 1, listed=True),
    "watch": FlagStyle("#f4a582", 2, "dots", listed=True),
    "as expected": FlagStyle("#f7f7f7", 3),
    "well reached": FlagStyle("#4393c3", 4),
    "too few to judge": FlagStyle("#d9d9d9", 5),
}
#: Colours for class names this module does not know yet (ColorBrewer Set2, colour-blind safe).
OTHER_COLOURS = ("#fc8d62", "#66c2a5", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f")
#: Classes that are not a shortfall: never put on a worker's list, whatever else changes.
QUIET = frozenset({"as expected", "well reached", "too few to judge", ""})


def style(flag: str, others: Iterable[str] = ()) -> FlagStyle:
    """The style of ``flag``; an unknown class gets a colour by its place among ``others``."""
    if flag in KNOWN:
        return KNOWN[flag]
    unknown = sorted({str(f) for f in others if f not in KNOWN} | {flag})
    i = unknown.index(flag)
    return FlagStyle(OTHER_COLOURS[i % len(OTHER_COLOURS)], 10 + i, listed=flag not in QUIET)


def present(flags: Iterable[str]) -> list[str]:
    """The classes that occur, strongest first (known order, then unknown ones by name)."""
    names = {str(f) for f in flags if isinstance(f, str) and f}
    return sorted(names, key=lambda f: (style(f, names).order, f))


def colours(names: Iterable[str]) -> dict[str, str]:
    """Class -> colour, in :func:`present` order, for the classes given only."""
    shown = present(names)
    return {f: style(f, shown).colour for f in shown}


def patterns(names: Iterable[str]) -> dict[str, str]:
    """Class -> pattern for the classes given that carry one."""
    shown = present(names)
    return {f: p for f in shown if (p := style(f, shown).pattern)}


def listed(flag: str) -> bool:
    """Whether an area with this flag goes on a worker's list."""
    return style(flag).listed and flag not in QUIET


def strongest(flag: str) -> bool:
    """Whether this is the strongest class (counted as "off the radar")."""
    return style(flag).strongest


def has_certainty(flags: pd.DataFrame) -> bool:
    """True when the radar says how sure each flag is (a non-empty ``certainty`` column)."""
    return "certainty" in flags and flags["certainty"].fillna("").astype(str).str.strip().ne(
        "").any()


def _pct(level: float) -> str:
    return f"{level * 100:.1f}".rstrip("0").rstrip(".") + "%"


_BAND_NOUNS = {2: "halves", 3: "thirds", 4: "quarters", 5: "fifths", 10: "tenths"}
_COUNT_WORDS = {1: "most deprived", 2: "two most deprived", 3: "three most deprived",
                4: "four most deprived"}


def high_need_words(snapshot: Snapshot) -> str:
    """E.g. "Oldham's two most deprived fifths" from the radar settings in the snapshot."""
    radar = _radar(snapshot)
    bands, high = int(radar["bands"]), int(radar["high_need_bands"])
    noun = _BAND_NOUNS.get(bands, f"of {bands} bands")
    if high == 1:
        noun = noun.rstrip("s").replace("halve", "half")
    return f"{snapshot.authority_name}'s {_COUNT_WORDS.get(high, f'{high} most deprived')} {noun}"


def _radar(snapshot: Snapshot) -> dict:
    """The radar settings the snapshot was made with, defaults where the manifest is silent."""
    return {**dataclasses.asdict(RadarSettings()), **(snapshot.manifest.get("radar") or {})}


def in_ten(share: float) -> str:
    """A share as "N in 10" (0.8 -> "8 in 10"), the way a lead would repeat it."""
    return f"{max(1, min(10, round(float(share) * 10)))} in 10"


def method_words(snapshot: Snapshot) -> str:
    """How expected counts follow need, in one clause, for the method the snapshot used."""
    radar = _radar(snapshot)
    measure = "IDACI" if radar["need"] == "idaci" else "IMD"
    if radar["method"] == "indirect":
        return ("the whole authority's rate in each need band, applied to the area's children")
    return (f"a smooth curve of the authority's rate against need (the {measure} score), "
            "applied to the area's children")


def descriptions(snapshot: Snapshot, kind: str) -> dict[str, str]:
    """Class -> one plain sentence, for the classes the radar makes today.

    The words follow the settings stored with the snapshot (``[radar] fdr``, ``watch_level``,
    the high-need bands), so they describe the method that made the flags.
    """
    radar = _radar(snapshot)
    fdr, watch = float(radar["fdr"]), _pct(float(radar["watch_level"]))
    high = high_need_words(snapshot)
    what = "families engaged" if kind == "engagement" else "referrals"
    flag_limit = (f"beyond the flag limit, which is set so that about {in_ten(1 - fdr)} areas "
                  f"flagged are real (a false discovery rate of {fdr:.0%})")
    return {
        "off the radar": f"need is high (in {high}, or just below on strong evidence) "
                         f"and far fewer {what} than that need predicts: {flag_limit}.",
        "hidden need": f"need is high (in {high}, or just below on strong evidence) "
                       f"and far fewer referrals than that need predicts: {flag_limit}.",
        "front-door pressure": f"far more referrals than need predicts: {flag_limit}.",
        "watch": (f"fewer {what} than need predicts, but short of a flag: below the {watch} "
                  f"funnel only, or beyond the flag limit with need outside {high}. Worth a "
                  "look, not a conclusion."
                  if kind == "engagement" else
                  f"fewer or more referrals than need predicts, but short of a flag (outside "
                  f"the {watch} funnel only, or with need outside {high}). Worth a look, not a "
                  "conclusion."),
        "as expected": "within what chance explains at its level of need.",
        "well reached": f"more {what} than need predicts: beyond the flag limit for an excess.",
        "too few to judge": "too few expected to judge either way.",
    }


def legend_lines(snapshot: Snapshot, kind: str, counts: Mapping[str, int]) -> list[str]:
    """One Markdown line per class present: name, count and what it means."""
    words = descriptions(snapshot, kind)
    return [
        f"- **{flag}** ({counts[flag]:,}): "
        + words.get(flag, "as the radar classes it; each area's reason says why.")
        for flag in present(counts)
    ]


def limit_levels(snapshot: Snapshot) -> tuple[str, str]:
    """The funnel plot's two kinds of line as people read them: e.g. ("flag limit (false
    discovery rate 20%)", "95% funnel")."""
    radar = _radar(snapshot)
    return (f"flag limit (false discovery rate {float(radar['fdr']):.0%})",
            f"{_pct(float(radar['watch_level']))} funnel")


def funnel_data(flags: pd.DataFrame, *, strong: str = "flag limit",
                weak: str = "95% funnel") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (areas with a shown ratio) and limit curves for a funnel plot of O/E against E.

    Read from the flags stored in the snapshot (their own limits, sorted by expected count, so
    the curves are exact for the over-dispersion the radar estimated); a hidden ratio is left
    out. Curves: ``expected, limit, line, side``.
    """
    pts = flags[pd.to_numeric(flags["ratio"], errors="coerce").notna()].copy()
    pts["ratio"] = pd.to_numeric(pts["ratio"])
    limits = flags.sort_values("expected")
    curves = []
    for col, side in (("lower_limit", "lower"), ("upper_limit", "upper"),
                      ("lower_limit_95", "lower"), ("upper_limit_95", "upper")):
        if col in limits:
            level = weak if col.endswith("_95") else strong
            curves.append(pd.DataFrame({
                "expected": limits["expected"].to_numpy(),
                "limit": pd.to_numeric(limits[col], errors="coerce").to_numpy(),
                "line": level, "side": side,
            }))
    columns = ["expected", "limit", "line", "side"]
    return pts, (pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns))


__all__ = ["KNOWN", "QUIET", "FlagStyle", "colours", "descriptions", "funnel_data",
           "has_certainty", "high_need_words", "in_ten", "legend_lines", "limit_levels",
           "listed", "method_words",
           "patterns", "present", "strongest", "style"]
