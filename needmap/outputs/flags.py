"""What an off-the-radar flag means to a reader: its order, colour, pattern and plain words.

The radar decides the classes (``needmap.radar``, at refresh); this module only shows them. It
knows the classes the radar makes today and gives any other class name a neutral colour, a place
after the known ones and its own name as its description, so pages, legends and zone lists keep
working when the radar's vocabulary changes. The words about need are built from the radar
settings stored in the snapshot (how many need bands, how many count as high), never hard-coded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

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
    radar = snapshot.manifest.get("radar") or {}
    bands, high = int(radar.get("bands", 5)), int(radar.get("high_need_bands", 2))
    noun = _BAND_NOUNS.get(bands, f"of {bands} bands")
    if high == 1:
        noun = noun.rstrip("s").replace("halve", "half")
    return f"{snapshot.authority_name}'s {_COUNT_WORDS.get(high, f'{high} most deprived')} {noun}"


def descriptions(snapshot: Snapshot, kind: str) -> dict[str, str]:
    """Class -> one plain sentence, for the classes the radar makes today."""
    strong, weak = limit_levels(snapshot)
    high = high_need_words(snapshot)
    what = "families engaged" if kind == "engagement" else "referrals"
    return {
        "off the radar": f"need is high (in {high}) and far fewer {what} than that need "
                         f"predicts: beyond the {strong} funnel limit, or the {weak} limit "
                         "inside a cold spot.",
        "hidden need": f"need is high (in {high}) and far fewer referrals than that need "
                       f"predicts: beyond the {strong} funnel limit, or the {weak} limit inside "
                       "a cold spot.",
        "front-door pressure": f"far more referrals than need predicts (beyond the {strong} "
                               "funnel limit, or the "
                               f"{weak} limit inside a hot spot).",
        "watch": (f"fewer {what} than need predicts, with weaker evidence than off the radar, "
                  f"or with need outside {high}. Worth a look, not a conclusion."
                  if kind == "engagement" else
                  "fewer or more referrals than need predicts, with weaker evidence. Worth a "
                  "look, not a conclusion."),
        "as expected": "within what chance explains at its level of need.",
        "well reached": f"more {what} than need predicts (beyond the {weak} limit).",
        "too few to judge": "too few children for a gap to mean anything.",
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
    """The funnel limits the radar used, as people read them: e.g. ("99.8%", "95%")."""
    radar = snapshot.manifest.get("radar") or {}
    return (_pct(float(radar.get("flag_level", 0.998))),
            _pct(float(radar.get("watch_level", 0.95))))


def funnel_data(flags: pd.DataFrame, *, strong: str = "99.8%",
                weak: str = "95%") -> tuple[pd.DataFrame, pd.DataFrame]:
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
            level = f"{weak} limit" if col.endswith("_95") else f"{strong} limit"
            curves.append(pd.DataFrame({
                "expected": limits["expected"].to_numpy(),
                "limit": pd.to_numeric(limits[col], errors="coerce").to_numpy(),
                "line": level, "side": side,
            }))
    columns = ["expected", "limit", "line", "side"]
    return pts, (pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns))


__all__ = ["KNOWN", "QUIET", "FlagStyle", "colours", "descriptions", "funnel_data",
           "has_certainty", "high_need_words", "legend_lines", "limit_levels", "listed",
           "patterns", "present", "strongest", "style"]
