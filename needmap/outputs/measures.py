"""The figures a map or table can show: key, label, kind (hence format) and palette.

Labels are plain words; the deprivation vintage and the child age band are added by the caller
from the snapshot (never written here as a literal).
"""

from __future__ import annotations

from dataclasses import dataclass

from needmap.errors import InputError
from needmap.outputs.formats import FORMAT_STRINGS


@dataclass(frozen=True)
class Measure:
    """One mappable figure of an area."""

    key: str
    label: str
    kind: str = "rate"  # see needmap.outputs.formats.KINDS
    palette: str = "YlOrRd"
    #: Counts of people: hidden when small, and derived figures with them.
    protected: bool = False

    @property
    def fmt(self) -> str:
        return FORMAT_STRINGS[self.kind]


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("idaci_pctile", "Need: IDACI percentile (100 = most deprived)", "percentile",
                "PuRd"),
        Measure("imd_pctile", "Need: IMD percentile (100 = most deprived)", "percentile",
                "PuRd"),
        Measure("idaci_score", "Children in income-deprived families (IDACI)", "share", "PuRd"),
        Measure("imd_score", "IMD score", "score", "PuRd"),
        Measure("children", "Children", "count", "Blues"),
        Measure("referral_rate", "Referrals per 1,000 children a year", "rate", "YlOrRd", True),
        Measure("referrals", "Referrals", "count", "YlOrRd", True),
        Measure("referrals_school", "Referrals from schools", "count", "Oranges", True),
        Measure("referrals_police", "Referrals from police", "count", "Oranges", True),
        Measure("referrals_health", "Referrals from health", "count", "Oranges", True),
        Measure("referrals_la", "Referrals from council services", "count", "Oranges", True),
        Measure("referrals_self", "Referrals from families and the public", "count", "Oranges",
                True),
        Measure("referrals_other", "Referrals from other sources", "count", "Oranges", True),
        # Not Greys: the suppressed grey must not be a class colour.
        Measure("nfa_share", "Referrals with no further action", "share", "Purples", True),
        Measure("rereferral_share", "Re-referrals within a year", "share", "Purples", True),
        Measure("reach_rate", "Families engaged per 1,000 children a year", "rate", "YlGn", True),
        Measure("families_engaged", "Families engaged", "count", "YlGn", True),
        Measure("priority_families_engaged", "Priority families engaged", "count", "YlGn", True),
        Measure("priority_share", "Share of engaged families that are priority families",
                "share", "YlGn", True),
    )
}
#: Ward-level change in deprivation between two IoD vintages (when the snapshot has it). The
#: labels are completed with the vintages by :func:`change_in_need_label`.
CHANGE_IN_NEED = {
    "imd_pctile_change": Measure("imd_pctile_change", "Change in IMD percentile", "change",
                                 "RdBu_r"),
    "idaci_pctile_change": Measure("idaci_pctile_change", "Change in IDACI percentile",
                                   "change", "RdBu_r"),
}


def change_in_need_label(key: str, previous: str | None, current: str) -> str:
    """E.g. "Change in IMD percentile, IoD2019 to IoD2025 (+ = relatively more deprived now)"."""
    return (f"{CHANGE_IN_NEED[key].label}, {previous or 'previous IoD'} to {current} "
            "(+ = relatively more deprived now)")


def get_measure(key: str) -> Measure:
    """Look up a measure by key; the error lists the valid keys."""
    found = MEASURES.get(key) or CHANGE_IN_NEED.get(key)
    if found is None:
        raise InputError(f"Unknown measure {key!r}. Choose one of: {', '.join(MEASURES)}.")
    return found
