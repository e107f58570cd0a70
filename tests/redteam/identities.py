"""Identities between true counts that follow from public structure alone.

Keys are ``(level, area_code, period, measure)``: ``level`` is ``lsoa``, ``ward``, ``authority``,
``zone`` or ``rest`` (a ward's records located only to the ward, never published: an unknown
the attacker must allow for); ``period`` is a quarter (``2025Q3``) or a span of whole quarters
(``2022Q4-2025Q2``). The same key in two releases is the same unknown: a quarter's records do not
change once it is complete (``tests/test_redteam.py`` checks this on the truth).

Referral-based counts add up (authority = its wards; ward = its LSOAs + its rest; referrals = the
six sources; a span = its quarters; nfa and re-referrals at most the referrals). Distinct-family
counts do not: a family seen in two LSOAs, quarters or services counts once in the whole, so
only the inequalities hold (a part at most the whole, the whole at most the sum of a partition).

Periods a measure is never published for are merged: where only ``2022Q4-2025Q2`` and
``2022Q4-2025Q3`` of a measure are published, its unknowns are those two spans and ``2025Q3``,
not twelve quarters. The identities over merged periods are sums of the quarter identities,
so they are true; they drop only what the non-negativity of the unpublished quarters would add,
which keeps the programme small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tests.redteam.attacker import Identity, Key

SOURCES = ("school", "police", "health", "la", "self", "other")
SOURCE_MEASURES = tuple(f"referrals_{s}" for s in SOURCES)
REFERRAL_MEASURES = ("referrals", *SOURCE_MEASURES, "referrals_nfa", "rereferrals")
FAMILY_MEASURES = ("families_engaged", "priority_families_engaged", "families_early_help",
                   "families_childrens_centre")
COUNT_MEASURES = (*REFERRAL_MEASURES, *FAMILY_MEASURES)
#: Counts that add up over areas, periods and breakdowns. (A caseload, referrals + families
#: engaged, adds up over areas of a zone, as zone tables sum it, but not over periods.)
ADDITIVE = frozenset(REFERRAL_MEASURES)
#: Zone tables in today's outputs sum their areas' figures, families included.
ZONE_MEASURES = ("referrals", "families_engaged", "workload")


# -- periods ---------------------------------------------------------------------------------


def quarter_index(label: str) -> int:
    """``2025Q3`` -> year * 4 + quarter - 1."""
    year, q = label.split("Q")
    return int(year) * 4 + int(q) - 1


def quarter_label(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def span_label(first: int, last: int) -> str:
    """A quarter's own label, or ``first-last`` for a span of several."""
    if first == last:
        return quarter_label(first)
    return f"{quarter_label(first)}-{quarter_label(last)}"


def quarters_of(period: str) -> range:
    """Quarter indices of a period label."""
    first, _, last = period.partition("-")
    return range(quarter_index(first), quarter_index(last or first) + 1)


def atoms(periods: Iterable[str]) -> set[str]:
    """The common refinement of ``periods``: maximal runs of quarters that every period either
    holds whole or misses."""
    periods = set(periods)
    cover: dict[int, frozenset[str]] = defaultdict(frozenset)
    for p in periods:
        for q in quarters_of(p):
            cover[q] = cover[q] | {p}
    out, run = set(), []
    for q in sorted(cover):
        if run and (q != run[-1] + 1 or cover[q] != cover[run[-1]]):
            out.add(span_label(run[0], run[-1]))
            run = []
        run.append(q)
    if run:
        out.add(span_label(run[0], run[-1]))
    return out


def _tiling(period: str, pieces: set[str]) -> list[str] | None:
    """Fewest ``pieces`` (other than ``period``) that tile ``period``, or None."""
    qs = list(quarters_of(period))
    by_start: dict[int, list[str]] = defaultdict(list)
    for p in pieces:
        r = quarters_of(p)
        if p != period and r[0] >= qs[0] and r[-1] <= qs[-1]:
            by_start[r[0]].append(p)
    best: dict[int, list[str]] = {qs[0]: []}
    for q in qs:
        if q not in best:
            continue
        for p in by_start[q]:
            end = quarters_of(p)[-1] + 1
            if end not in best or len(best[end]) > len(best[q]) + 1:
                best[end] = [*best[q], p]
    return best.get(qs[-1] + 1)


def lattice_periods(keys: Iterable[Key]) -> dict[str, set[str]]:
    """Measure -> the periods its unknowns are kept at: published ones and their atoms."""
    published: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        published[key[3]].add(key[2])
    return {m: ps | atoms(ps) for m, ps in published.items()}


# -- structure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    """What anyone knows about the geography of a release.

    ``lsoa_ward`` maps each LSOA to its ward (the public best-fit lookup); ``zone_plans`` maps a
    period to the published zone plan made on its figures (LSOA -> zone).
    """

    authority: str
    lsoa_ward: Mapping[str, str]
    zone_plans: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def wards(self) -> list[str]:
        return sorted(set(self.lsoa_ward.values()))

    def lsoas_of(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for lsoa, ward in sorted(self.lsoa_ward.items()):
            out[ward].append(lsoa)
        return out

    def areas(self, level: str) -> list[str]:
        if level == "lsoa":
            return sorted(self.lsoa_ward)
        if level in ("ward", "rest"):
            return self.wards
        if level == "authority":
            return [self.authority]
        raise ValueError(level)


def build_identities(structure: Structure, periods: Mapping[str, set[str]]) -> list[Identity]:
    """Every identity between the unknowns of ``periods`` (measure -> period labels).

    An identity is made only when each of its unknowns exists in the lattice (its measure is
    kept at that period), so nothing is asked of a figure that is never published in any form.
    """
    out: list[Identity] = []
    has = {m: set(ps) for m, ps in periods.items()}

    def kept(measure: str, period: str) -> bool:
        return period in has.get(measure, ())

    wards = structure.lsoas_of()
    levels = ("lsoa", "ward", "authority", "rest")
    # Within an area and period: breakdowns.
    for period in set().union(*has.values()) if has else ():
        for level in levels:
            for area in structure.areas(level):
                def k(m: str, level=level, area=area, period=period) -> Key:
                    return (level, area, period, m)

                if all(kept(m, period) for m in ("referrals", *SOURCE_MEASURES)):
                    out.append(Identity.total(k("referrals"), [k(m) for m in SOURCE_MEASURES],
                                              "referrals = sum of sources"))
                for m in ("referrals_nfa", "rereferrals"):
                    if kept(m, period) and kept("referrals", period):
                        out.append(Identity.at_most(k(m), k("referrals"), f"{m} <= referrals"))
                if level == "rest":
                    continue
                for m in FAMILY_MEASURES[1:]:
                    if kept(m, period) and kept("families_engaged", period):
                        out.append(Identity.at_most(k(m), k("families_engaged"),
                                                    f"{m} <= families_engaged"))
                if level == "lsoa" and kept("workload", period) and all(
                        kept(m, period) for m in ("referrals", "families_engaged")):
                    out.append(Identity.total(k("workload"),
                                              [k("referrals"), k("families_engaged")],
                                              "workload = referrals + families engaged"))
    # Across areas: geography and zones.
    for measure, ps in has.items():
        for period in ps:
            def k(level: str, area: str, measure=measure, period=period) -> Key:
                return (level, area, period, measure)

            auth = k("authority", structure.authority)
            if measure in ADDITIVE:
                out.append(Identity.total(auth, [k("ward", w) for w in wards],
                                          "authority = sum of wards"))
                for w, lsoas in wards.items():
                    out.append(Identity.total(k("ward", w),
                                              [*(k("lsoa", a) for a in lsoas), k("rest", w)],
                                              "ward = sum of LSOAs + rest"))
            elif measure in FAMILY_MEASURES:
                out.append(Identity.at_most_sum(auth, [k("ward", w) for w in wards],
                                                "authority <= sum of wards"))
                for w, lsoas in wards.items():
                    out.append(Identity.at_most(k("ward", w), auth, "ward <= authority"))
                    for a in lsoas:
                        out.append(Identity.at_most(k("lsoa", a), k("ward", w), "LSOA <= ward"))
            plan = structure.zone_plans.get(period)
            if plan and measure in ZONE_MEASURES:
                members: dict[str, list[str]] = defaultdict(list)
                for a, z in sorted(plan.items()):
                    members[z].append(a)
                for z, lsoas in members.items():
                    out.append(Identity.total(k("zone", z), [k("lsoa", a) for a in lsoas],
                                              "zone = sum of its areas"))
    # Across periods.
    for measure, ps in has.items():
        if measure == "workload":
            continue
        if measure in ADDITIVE:
            levels_m = ["lsoa", "ward", "authority", "rest"]
        else:
            levels_m = ["lsoa", "ward", "authority"]
        finest = {p for p in ps if not any(
            set(quarters_of(o)) < set(quarters_of(p)) for o in ps)}
        for period in ps:
            parts = _tiling(period, finest) if period not in finest else None
            inner = [o for o in ps if o != period
                     and set(quarters_of(o)) < set(quarters_of(period))]
            coarse = _tiling(period, set(inner)) if inner else None
            for level in levels_m:
                for area in structure.areas(level):
                    def k(p: str, level=level, area=area, measure=measure) -> Key:
                        return (level, area, p, measure)

                    if measure in ADDITIVE:
                        if parts:
                            out.append(Identity.total(k(period), [k(p) for p in parts],
                                                      "span = sum of its quarters"))
                        continue
                    for o in inner:
                        out.append(Identity.at_most(k(o), k(period), "span >= a part"))
                    if coarse:
                        out.append(Identity.at_most_sum(k(period), [k(p) for p in coarse],
                                                        "span <= sum of its parts"))
    return out
