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

What followed engagement (``rereferred_12m*``, ``stepped_up_12m*``) and families by IDACI decile
(``families_*_idaci_<d>``, authority only) belong to a family's first engagement in the period,
so fewer identities hold for them (no period is at least each of its parts, for one):
:func:`outcome_identities` writes those that do and says why each holds.

Periods a measure is never published for are merged: where only ``2022Q4-2025Q2`` and
``2022Q4-2025Q3`` of a measure are published, its unknowns are those two spans and ``2025Q3``,
not twelve quarters. The identities over merged periods are sums of the quarter identities,
so they are true; they drop only what the non-negativity of the unpublished quarters would add,
which keeps the programme small.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tests.redteam.attacker import INF, Identity, Key

SOURCES = ("school", "police", "health", "la", "self", "other")
SOURCE_MEASURES = tuple(f"referrals_{s}" for s in SOURCES)
REFERRAL_MEASURES = ("referrals", *SOURCE_MEASURES, "referrals_nfa", "rereferrals")
FAMILY_MEASURES = ("families_engaged", "priority_families_engaged", "families_early_help",
                   "families_childrens_centre")
COUNT_MEASURES = (*REFERRAL_MEASURES, *FAMILY_MEASURES)
#: Services with their own cohorts, and each follow-up base: measure suffix -> its cohort.
COHORT_SERVICES = ("early_help", "childrens_centre")
FOLLOWUP_BASES = {"": "families_engaged",
                  **{f"_{s}": f"families_{s}" for s in COHORT_SERVICES}}
#: What followed engagement (quarters and financial years with a complete 12-month follow-up).
FOLLOWUP_MEASURES = tuple(f"{m}{suffix}" for suffix in FOLLOWUP_BASES
                          for m in ("rereferred_12m", "stepped_up_12m"))
#: Families by the national IDACI decile of their first engagement's LSOA (authority only).
IDACI_DECILES = (*(str(d) for d in range(1, 11)), "unknown")
DECILE_BASES = tuple(FOLLOWUP_BASES.values())
DECILE_MEASURES = tuple(f"{b}_idaci_{d}" for b in DECILE_BASES for d in IDACI_DECILES)
OUTCOME_MEASURES = (*FOLLOWUP_MEASURES, *DECILE_MEASURES)
#: Every count of the protected table set the attacker reads.
PUBLISHED_MEASURES = (*COUNT_MEASURES, *OUTCOME_MEASURES)
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
    period to the published zone plan made on its figures (LSOA -> zone); ``lsoa_decile`` maps
    each LSOA to its national IDACI decile ("1" to "10", from the public Indices of Deprivation
    file; an LSOA without one is left out).
    """

    authority: str
    lsoa_ward: Mapping[str, str]
    zone_plans: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    lsoa_decile: Mapping[str, str] = field(default_factory=dict)

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
    Follow-up and decile measures get theirs from :func:`outcome_identities` only.
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
        if measure == "workload" or measure in OUTCOME_MEASURES:  # see outcome_identities
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
    out += outcome_identities(structure, has)
    return out


# -- what followed engagement, and families by IDACI decile -----------------------------------

#: A follow-up cohort's three disjoint parts as signed sums of published cells: families
#: stepped up, re-referred but not stepped up, and not re-referred (``suffix`` picks the service).
def followup_parts(suffix: str) -> dict[str, tuple[tuple[str, int], ...]]:
    rereferred, stepped = f"rereferred_12m{suffix}", f"stepped_up_12m{suffix}"
    return {"stepped up": ((stepped, 1),),
            "re-referred, not stepped up": ((rereferred, 1), (stepped, -1)),
            "not re-referred": ((FOLLOWUP_BASES[suffix], 1), (rereferred, -1))}


Terms = Sequence[tuple[Key, int]]


def _at_most(part: Terms, whole: Terms, name: str) -> Identity:
    """``sum(part) <= sum(whole)`` for signed sums of unknowns."""
    return Identity((*part, *((k, -a) for k, a in whole)), -INF, 0.0, name)


def _first_parts(period: str, periods: Iterable[str]) -> list[str]:
    """Periods among ``periods`` that start ``period`` (same first quarter, fewer quarters)."""
    qs = quarters_of(period)
    return [o for o in periods if o != period and quarters_of(o)[0] == qs[0]
            and quarters_of(o)[-1] < qs[-1]]


def _parts_tiling(period: str, periods: Iterable[str]) -> list[str] | None:
    inner = {o for o in periods if o != period
             and set(quarters_of(o)) < set(quarters_of(period))}
    return _tiling(period, inner) if inner else None


def _follow_up_window(period: str) -> list[str]:
    """Quarters holding every day a referral following an anchor in ``period`` can fall on: from
    the period's first day to 365 days after its last (``needmap.indicators.FOLLOW_UP_DAYS``)."""
    qs = quarters_of(period)
    last = qs[-1] + 1
    end = dt.date(last // 4, 3 * (last % 4) + 1, 1) - dt.timedelta(days=1) + dt.timedelta(days=365)
    return [quarter_label(q) for q in range(qs[0], end.year * 4 + (end.month - 1) // 3 + 1)]


def outcome_identities(structure: Structure, periods: Mapping[str, set[str]]) -> list[Identity]:
    """Identities of the follow-up cells and of the IDACI-decile cells (``needmap.indicators``).

    Both belong to a *family in a period* through its *anchor*, its first engagement in the
    period (earliest day, any service, any area): a family is re-referred (``rereferred_12m``)
    when a referral of its members falls in the 365 days after the anchor day, stepped up
    (``stepped_up_12m``) when the first such referral went to social care, and counted in the
    IDACI decile of the anchor's LSOA (``unknown``: the anchor is placed in a ward only).
    Follow-up cells count the families of an area's cohort (``families_engaged``, or the
    service's count: families with an engagement of that service in the area and period) that
    are re-referred or stepped up; decile cells count the authority's families, or those with an
    engagement of a service, by decile. What follows, and only that:

    * A cohort splits into three disjoint parts (stepped up; re-referred, not stepped up; not
      re-referred), each a signed sum of published cells and each >= 0. The re-referral and
      step-up are the family's in the period, whatever the area, so each part is a distinct
      count of families with an engagement in the area and a property of the family: it obeys
      the family identities LSOA <= ward <= authority <= sum of wards, and a service's part is
      at most the all-services part (its cohort is a subset of families engaged).
    * Periods: the anchor in a period's *first part* (a quarter or year that starts it) is the
      anchor in the period, so each part of a first part is at most the period's. Nothing holds
      for a later part (a family's anchor and so its outcome can differ). At the authority, the
      all-services part of a period is at most the sum over a tiling by its parts (a family
      counts in the part holding its anchor, with the same outcome); not in an area, where the
      family's engagement there may fall in another part, nor for a service, whose engagement may
      fall in another part than the anchor.
    * Each re-referred family has a referral of its own dated in the period or in the 365 days
      after it, so at the authority re-referred families are at most the referrals of those
      quarters, and stepped-up families at most those not closed with no further action.
    * Deciles partition their total: the authority's count of the base = the sum of its eleven
      deciles (every engagement is the authority's). A service's decile is at most the
      all-services one (same anchor). A family in decile ``d`` counts in the families engaged of
      its anchor's LSOA, of decile ``d``: the decile is at most the sum of those LSOAs' cells
      (0 when no LSOA of the authority is in that decile). The first part of a period is at
      most the period, and (all services only) a period at most the sum of a tiling, as above;
      a later part's decile can exceed the period's.
    """
    out: list[Identity] = []
    has = {m: set(ps) for m, ps in periods.items()}

    def kept(measure: str, period: str) -> bool:
        return period in has.get(measure, ())

    auth = structure.authority
    wards = structure.lsoas_of()
    places = [("lsoa", a) for a in structure.areas("lsoa")]
    places += [("ward", w) for w in structure.wards] + [("authority", auth)]

    def at(level: str, area: str, period: str, combo: Iterable[tuple[str, int]]) -> list:
        return [((level, area, period, m), a) for m, a in combo]

    for suffix in FOLLOWUP_BASES:
        parts = followup_parts(suffix)
        wanted = {m for combo in parts.values() for m, _ in combo}
        ps = sorted(p for p in set().union(*(has.get(m, set()) for m in wanted))
                    if all(kept(m, p) for m in wanted))
        for p in ps:
            for name, combo in parts.items():
                for level, area in places:
                    mine = at(level, area, p, combo)
                    if len(combo) > 1:
                        out.append(_at_most([], mine, f"follow-up: {name} >= 0"))
                    whole = followup_parts("")[name]
                    if suffix and all(kept(m, p) for m, _ in whole):
                        out.append(_at_most(mine, at(level, area, p, whole),
                                            f"follow-up: a service's {name} <= all services'"))
                top = at("authority", auth, p, combo)
                out.append(_at_most(top, [t for w in wards for t in at("ward", w, p, combo)],
                                    f"follow-up: {name}, authority <= sum of wards"))
                for w, lsoas in wards.items():
                    ward = at("ward", w, p, combo)
                    out.append(_at_most(ward, top, f"follow-up: {name}, ward <= authority"))
                    for a in lsoas:
                        out.append(_at_most(at("lsoa", a, p, combo), ward,
                                            f"follow-up: {name}, LSOA <= ward"))
            for o in _first_parts(p, ps):
                for name, combo in parts.items():
                    for level, area in places:
                        out.append(_at_most(at(level, area, o, combo), at(level, area, p, combo),
                                            f"follow-up: {name}, first part <= period"))
            tiling = None if suffix else _parts_tiling(p, ps)
            if tiling:
                for name, combo in parts.items():
                    out.append(_at_most(
                        at("authority", auth, p, combo),
                        [t for q in tiling for t in at("authority", auth, q, combo)],
                        f"follow-up: {name}, authority period <= sum of its parts"))
            if suffix:
                continue
            window = _follow_up_window(p)
            if all(kept("referrals", q) for q in window):
                out.append(Identity.at_most_sum(
                    ("authority", auth, p, "rereferred_12m"),
                    [("authority", auth, q, "referrals") for q in window],
                    "follow-up: re-referred families <= referrals in the follow-up"))
                if all(kept("referrals_nfa", q) for q in window):
                    out.append(_at_most(
                        [(("authority", auth, p, "stepped_up_12m"), 1)],
                        [t for q in window for t in at("authority", auth, q,
                                                       (("referrals", 1), ("referrals_nfa", -1)))],
                        "follow-up: stepped-up families <= referrals not NFA in the follow-up"))

    for base in DECILE_BASES:
        names = {d: f"{base}_idaci_{d}" for d in IDACI_DECILES}
        ps = sorted(set().union(*(has.get(m, set()) for m in names.values())))
        for p in ps:
            def k(measure: str, p: str = p) -> Key:
                return ("authority", auth, p, measure)

            if kept(base, p) and all(kept(m, p) for m in names.values()):
                out.append(Identity.total(k(base), [k(m) for m in names.values()],
                                          "deciles: sum of deciles = total"))
            for d, m in names.items():
                if not kept(m, p):
                    continue
                every = f"families_engaged_idaci_{d}"
                if base != "families_engaged" and kept(every, p):
                    out.append(Identity.at_most(k(m), k(every),
                                                "deciles: a service's decile <= all services'"))
                if (base == "families_engaged" and d != "unknown" and structure.lsoa_decile
                        and kept("families_engaged", p)):
                    lsoas = sorted(a for a, x in structure.lsoa_decile.items()
                                   if x == d and a in structure.lsoa_ward)
                    out.append(Identity.at_most_sum(
                        k(m), [("lsoa", a, p, "families_engaged") for a in lsoas],
                        "deciles: decile <= its LSOAs' families engaged"))
        for m in names.values():
            mine = sorted(has.get(m, set()))
            for p in mine:
                for o in _first_parts(p, mine):
                    out.append(Identity.at_most(("authority", auth, o, m),
                                                ("authority", auth, p, m),
                                                "deciles: first part <= period"))
                tiling = _parts_tiling(p, mine) if base == "families_engaged" else None
                if tiling:
                    out.append(Identity.at_most_sum(
                        ("authority", auth, p, m), [("authority", auth, q, m) for q in tiling],
                        "deciles: period <= sum of its parts"))
    return out
