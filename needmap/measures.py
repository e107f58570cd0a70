"""The measures a map or table can show: column, label, format, and how to compute a change."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from needmap.errors import InputError


@dataclass(frozen=True)
class Measure:
    """One mappable figure of an area."""

    key: str
    label: str
    fmt: str = "{:,.1f}"
    kind: str = "rate"  # "need" | "count" | "rate" | "share"
    palette: str = "YlOrRd"


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("idaci_pctile", "Need: IDACI (percentile, 100 = most deprived in England)",
                "{:,.0f}", "need", "PuRd"),
        Measure("imd_pctile", "Need: IMD (percentile, 100 = most deprived in England)",
                "{:,.0f}", "need", "PuRd"),
        Measure("idaci_score", "IDACI: share of children in income-deprived families",
                "{:.1%}", "need", "PuRd"),
        Measure("imd_score", "IMD score", "{:,.1f}", "need", "PuRd"),
        Measure("children", "Children aged 0-15", "{:,.0f}", "need", "Blues"),
        Measure("referral_rate", "Referrals per 1,000 children a year", "{:,.1f}", "rate",
                "YlOrRd"),
        Measure("referrals", "Referrals", "{:,.0f}", "count", "YlOrRd"),
        Measure("referrals_school", "Referrals from schools", "{:,.0f}", "count", "Oranges"),
        Measure("referrals_police", "Referrals from police", "{:,.0f}", "count", "Oranges"),
        Measure("referrals_health", "Referrals from health", "{:,.0f}", "count", "Oranges"),
        Measure("referrals_la", "Referrals from LA services", "{:,.0f}", "count", "Oranges"),
        Measure("referrals_self", "Referrals from individuals", "{:,.0f}", "count", "Oranges"),
        Measure("referrals_other", "Referrals from other sources", "{:,.0f}", "count",
                "Oranges"),
        Measure("nfa_share", "Referrals with no further action", "{:.0%}", "share", "Greys"),
        Measure("rereferral_share", "Re-referrals within a year", "{:.0%}", "share", "Greys"),
        Measure("reach_rate", "Families engaged per 1,000 children a year", "{:,.1f}", "rate",
                "YlGn"),
        Measure("families_engaged", "Families engaged", "{:,.0f}", "count", "YlGn"),
        Measure("priority_families_engaged", "Priority families engaged", "{:,.0f}", "count",
                "YlGn"),
    )
}
CHANGE_MEASURES = ("referral_rate", "reach_rate", "referrals", "families_engaged")


def get_measure(key: str) -> Measure:
    """Look up a measure by key; the error lists the valid keys."""
    try:
        return MEASURES[key]
    except KeyError:
        raise InputError(
            f"Unknown measure {key!r}. Choose one of: {', '.join(MEASURES)}."
        ) from None


def quarters_between(quarterly: pd.DataFrame, start: str, end: str) -> list[str]:
    """The quarter labels from ``start`` to ``end`` inclusive that the table holds."""
    qs = sorted(quarterly["quarter"].astype(str).unique())
    return [q for q in qs if start <= q <= end]


def change_between(
    quarterly: pd.DataFrame,
    *,
    code_column: str,
    measure: str,
    before: tuple[str, str],
    after: tuple[str, str],
) -> pd.DataFrame:
    """Change of a count or rate between two spans of quarters, per area.

    Counts are summed over each span; rates are recomputed from the summed counts and the
    children of the area, so a span of four quarters gives a yearly rate.
    """
    if measure not in CHANGE_MEASURES:
        raise InputError(f"Change is available for {', '.join(CHANGE_MEASURES)}, not {measure!r}.")
    count = {"referral_rate": "referrals", "reach_rate": "families_engaged"}.get(measure, measure)
    q = quarterly.assign(quarter=quarterly["quarter"].astype(str))
    out = pd.DataFrame(index=pd.Index(q[code_column].unique(), name=code_column))
    for name, (a, b) in (("before", before), ("after", after)):
        span = q[(q["quarter"] >= a) & (q["quarter"] <= b)]
        if span.empty:
            raise InputError(f"No quarters between {a} and {b} in the snapshot.")
        # Families are summed over quarters: a family engaged in two quarters counts twice.
        summed = span.groupby(code_column)[count].sum()
        out[f"{count}_{name}"] = summed
        children = span.groupby(code_column)["children"].first()
        out["children"] = children
        years = len(quarters_between(q, a, b)) / 4
        out[name] = (
            1000 * summed / (children.where(children > 0) * years) if count != measure else summed
        )
    out["change"] = out["after"] - out["before"]
    out["change_pct"] = 100 * out["change"] / out["before"].where(out["before"] > 0)
    return out.reset_index()
