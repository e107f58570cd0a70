"""Who each service reaches: engaged families by national IDACI decile against children, the
concentration index with its interval and trend, and the QSU10-shaped return.

Families by decile are the protected authority cells ``families_<service>_idaci_<d>`` (a family
counts in the decile of the LSOA of its first engagement in the period). A zone's come from its
LSOAs' protected service counts, each LSOA in its own decile (hidden ones at their stand-ins).
Children by decile are public (the deprivation file). The index and its interval are defined in
``needmap.concentration``: negative means families are concentrated among the most deprived
children. Shares and indices are built from protected values, hidden deciles at their
stand-ins; a decile's own count is shown as ``c`` where hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from needmap.concentration import concentration_index, index_trend
from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.indicators import COHORT_SERVICES, IDACI_DECILES
from needmap.outputs.followup import SERVICE_LABELS
from needmap.outputs.tables import check_period
from needmap.snapshot import Snapshot
from needmap.trends import quarter_index

__all__ = ["QSU10_COLUMNS", "TARGETING_COLUMNS", "decile_table", "qsu10_table",
           "targeting_sentence", "targeting_table"]

DECILES = list(range(1, 11))
#: The most deprived deciles a sentence speaks of (the most deprived 30% of England's LSOAs).
TOP_DECILES = 3
SERVICES = ("all", *COHORT_SERVICES)


def _base(service: str) -> str:
    return "families_engaged" if service == "all" else f"families_{service}"


def children_by_decile(snapshot: Snapshot, codes: list[str] | None = None) -> pd.Series:
    """Children (the deprivation file's denominator) by national IDACI decile 1..10."""
    lsoa = snapshot.lsoa
    if codes is not None:
        lsoa = lsoa[lsoa["lsoa_code"].astype(str).isin(set(codes))]
    d = pd.to_numeric(lsoa["idaci_decile"], errors="coerce")
    return lsoa["children"].groupby(d).sum().reindex(DECILES, fill_value=0.0).astype(float)


def _authority_deciles(snapshot: Snapshot, service: str, periods: list[str]
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Values and shown masks (period x decile 1..10) plus the period totals."""
    t = snapshot.protected
    base = _base(service)
    names = {f"{base}_idaci_{d}": d for d in DECILES}
    sel = t[(t["level"] == "authority") & t["period"].astype(str).isin(periods)
            & t["measure"].astype(str).isin(set(names) | {base})]
    per = sel["period"].astype(str)
    m = sel["measure"].astype(str)
    dec = sel[m != base]
    idx = [per[m != base], m[m != base].map(names)]
    value = dec["value"].astype(float).groupby(idx).first().unstack()
    shown = dec["shown"].astype(bool).groupby(idx).first().unstack()
    tot = sel[m == base]
    total = pd.Series(tot["value"].astype(float).to_numpy(), index=per[m == base])
    total_shown = pd.Series(tot["shown"].astype(bool).to_numpy(), index=per[m == base])
    return (value.reindex(index=periods, columns=DECILES), shown.reindex(index=periods,
            columns=DECILES), total.reindex(periods), total_shown.reindex(periods))


def _zone_deciles(snapshot: Snapshot, service: str, periods: list[str], codes: list[str]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = snapshot.protected
    sel = t[(t["level"] == "lsoa") & t["period"].astype(str).isin(periods)
            & (t["measure"].astype(str) == _base(service))
            & t["area_code"].astype(str).isin(set(codes))]
    decile = snapshot.lsoa.set_index(snapshot.lsoa["lsoa_code"].astype(str))["idaci_decile"]
    d = sel["area_code"].astype(str).map(decile)
    value = sel["value"].astype(float).groupby([sel["period"].astype(str), d]).sum().unstack()
    value = value.reindex(index=periods, columns=DECILES).fillna(0.0)
    hidden = (value >= 1) & (value <= snapshot.threshold)
    return value, ~hidden


def _lsoas_of_zone(snapshot: Snapshot, labels: pd.DataFrame, zone: int, plan_level: str
                   ) -> list[str]:
    codes = set(labels.loc[pd.to_numeric(labels["zone"]).astype(int) == int(zone),
                           "area_code"].astype(str))
    lsoa = snapshot.lsoa
    key = "lsoa_code" if plan_level == "lsoa" else "ward_code"
    return lsoa.loc[lsoa[key].astype(str).isin(codes), "lsoa_code"].astype(str).tolist()


def decile_table(snapshot: Snapshot, period: str | None = None) -> pd.DataFrame:
    """Families by national IDACI decile per service, beside the authority's children.

    ``idaci_decile, children, children_share, <service>, <service>_share`` for each service;
    counts ``c`` where hidden, shares from protected values (hidden deciles at stand-ins).
    """
    period = check_period(snapshot, period)
    kids = children_by_decile(snapshot)
    out = pd.DataFrame({"idaci_decile": DECILES, "children": kids.round(0).astype(int).to_numpy(),
                        "children_share": (kids / kids.sum()).round(3).to_numpy()})
    for service in SERVICES:
        v, s, _, _ = _authority_deciles(snapshot, service, [period])
        vals = v.iloc[0].fillna(0.0).to_numpy()
        shown = s.iloc[0].fillna(False).to_numpy(dtype=bool)
        out[service] = [int(x) if sh else SUPPRESSED for x, sh in zip(vals, shown, strict=True)]
        out[f"{service}_share"] = np.round(vals / vals.sum(), 3) if vals.sum() else np.nan
    return out


#: Columns of ``needmap targeting``, in order.
TARGETING_COLUMNS = ["zone", "service", "period", "families", "share_top_deciles",
                     "children_share_top_deciles", "concentration_index", "ci_lower",
                     "ci_upper", "targeting", "change_a_year", "change_lower", "change_upper",
                     "trend", "sentence"]


def _words(lower: float, upper: float, neg: str, pos: str, neutral: str) -> str:
    if not np.isfinite(lower):
        return "too few to judge"
    return neg if upper < 0 else pos if lower > 0 else neutral


def targeting_sentence(service: str, share: float, children_share: float, where: str) -> str:
    """"70% of this service's families live in the most deprived 30% of neighbourhoods in
    England, where 45% of Oldham's children live." """
    who = {"all": "families engaged", "early_help": "early help's families",
           "childrens_centre": "children's centres' families"}.get(service, "families")
    if not np.isfinite(share):
        return ""
    return (f"{share:.0%} of {who} live in the most deprived {TOP_DECILES * 10}% of "
            f"neighbourhoods in England, where {children_share:.0%} of {where} children live.")


def targeting_table(snapshot: Snapshot, period: str | None = None, *,
                    labels: pd.DataFrame | None = None, plan_level: str | None = None
                    ) -> pd.DataFrame:
    """Per service (and per zone with ``labels``): share of families in the most deprived
    deciles against children, the concentration index with its 95% interval, and its trend
    over the published quarters (yearly change with its 95% interval). Sort by
    ``concentration_index``: the most negative is the best targeted on need.
    """
    period = check_period(snapshot, period)
    quarters = snapshot.quarters()
    years = np.array([(quarter_index(q) - quarter_index(quarters[0])) / 4 for q in quarters])
    groups: list[tuple[str, list[str] | None]] = [("", None)]
    if labels is not None:
        if plan_level is None:
            raise InputError("Zone figures need the plan's level.")
        zones = sorted(set(pd.to_numeric(labels["zone"]).astype(int)))
        groups = [(str(z), _lsoas_of_zone(snapshot, labels, z, plan_level)) for z in zones]
    rows = []
    for zone, codes in groups:
        kids = children_by_decile(snapshot, codes)
        where = (f"{snapshot.authority_name}'s" if codes is None else f"zone {zone}'s")
        kid_top = float(kids.loc[:TOP_DECILES].sum() / kids.sum()) if kids.sum() else np.nan
        for service in SERVICES:
            if codes is None:
                v, _, total, total_shown = _authority_deciles(snapshot, service,
                                                              [period, *quarters])
                fam_total = (int(total[period]) if bool(total_shown[period])
                             else SUPPRESSED)
            else:
                v, _ = _zone_deciles(snapshot, service, [period, *quarters], codes)
                n = float(v.loc[period].sum())
                fam_total = SUPPRESSED if 1 <= n <= snapshot.threshold else int(n)
            v = v.fillna(0.0)
            cur = v.loc[period].to_numpy()
            ci = concentration_index(cur, kids.to_numpy())
            share = float(cur[:TOP_DECILES].sum() / cur.sum()) if cur.sum() else np.nan
            q_ci = [concentration_index(v.loc[q].to_numpy(), kids.to_numpy()) for q in quarters]
            trend = index_trend(np.array([c.index for c in q_ci]), np.array([c.se for c in q_ci]),
                                years)
            rows.append({
                "zone": zone, "service": SERVICE_LABELS[service], "period": period,
                "families": fam_total, "share_top_deciles": round(share, 3),
                "children_share_top_deciles": round(kid_top, 3),
                "concentration_index": round(ci.index, 3), "ci_lower": round(ci.lower, 3),
                "ci_upper": round(ci.upper, 3),
                "targeting": _words(ci.lower, ci.upper, "concentrated on the most deprived",
                                    "concentrated on the least deprived",
                                    "in proportion to children"),
                "change_a_year": round(trend.per_year, 3),
                "change_lower": round(trend.lower, 3), "change_upper": round(trend.upper, 3),
                "trend": _words(trend.lower, trend.upper, "more concentrated on need",
                                "less concentrated on need", "no clear change"),
                "sentence": targeting_sentence(service, share, kid_top, where),
            })
    out = pd.DataFrame(rows, columns=TARGETING_COLUMNS)
    if labels is None:
        out = out.drop(columns="zone")
    return out


#: Columns of the QSU10-shaped export.
QSU10_COLUMNS = ["quarter", "idaci_decile", "all_services", "early_help", "childrens_centres"]


def qsu10_table(snapshot: Snapshot, quarter: str) -> pd.DataFrame:
    """Service users (families engaged) by national IDACI decile in one quarter, per service.

    In the shape of the Best Start Family Hubs quarterly return's service users by IDACI decile
    (QSU10): deciles 1 (most deprived) to 10, ``not known`` (placed in a ward only) and the
    total. Each figure is its own protected cell, so the deciles need not add to the total
    exactly (each is within 4 of the truth); ``c`` marks counts from 1 to the threshold and
    some zeros.
    """
    if quarter not in snapshot.quarters():
        raise InputError(f"Quarter {quarter!r} is not published in snapshot {snapshot.id}. "
                         f"Published quarters: {', '.join(snapshot.quarters())}.")
    t = snapshot.protected
    sel = t[(t["level"] == "authority") & (t["period"].astype(str) == quarter)]
    cell = {m: (v, s) for m, v, s in zip(sel["measure"].astype(str), sel["value"], sel["shown"],
                                         strict=True)}
    columns = {"all_services": "families_engaged", "early_help": "families_early_help",
               "childrens_centres": "families_childrens_centre"}
    rows = []
    for d in (*IDACI_DECILES, "total"):
        row = {"quarter": quarter, "idaci_decile": "not known" if d == "unknown" else d}
        for col, base in columns.items():
            v, s = cell.get(base if d == "total" else f"{base}_idaci_{d}", (0, True))
            row[col] = int(v) if s else SUPPRESSED
        rows.append(row)
    return pd.DataFrame(rows, columns=QSU10_COLUMNS)
