"""Areas x records x need -> one tidy table per geography (LSOA, ward, authority) and period.

Definitions (also in docs/indicators.md):

* ``children``: the deprivation file's child denominator (IoD2019: dependent children aged 0-15,
  mid-2015), summed over LSOAs; the age band is named in the snapshot manifest.
* need at LSOA level is the published value. At ward level: ``imd_score`` and ``imd_pctile`` are
  population-weighted means of the ward's LSOAs; ``idaci_score`` and ``idaci_pctile`` are
  weighted by children (IDACI is a share of children). ``*_pctile`` comes from the national rank
  (100 = most deprived LSOA in England) and exists even where a score is missing.
* ``referrals``: referrals dated in the period; ``referral_rate`` = referrals per 1,000 children;
  ``referrals_<source>`` by source; ``nfa_share`` = share with no further action;
  ``rereferral_share`` = share made within ``rereferral_window_days`` (default 365) of the same
  child's previous referral (looked for over the whole file, not only the period).
* ``families_engaged``: distinct families with an engagement starting in the period;
  ``priority_families_engaged`` those marked as priority families; ``reach_rate`` = families
  engaged per 1,000 children; ``families_early_help`` / ``families_childrens_centre`` by service.

Rates are annualised: per 1,000 children a year, whatever the length of the period (a quarter's
count is multiplied by four). Distinct
families are counted at each level on its own, so a family seen in two LSOAs of one ward counts
once in the ward.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.sources.records import SOURCES

COUNT_COLUMNS = [
    "referrals",
    *[f"referrals_{s}" for s in SOURCES],
    "referrals_nfa",
    "rereferrals",
    "families_engaged",
    "priority_families_engaged",
    "families_early_help",
    "families_childrens_centre",
]
RATE_COLUMNS = ["referral_rate", "nfa_share", "rereferral_share", "reach_rate"]
NEED_COLUMNS = ["imd_score", "imd_pctile", "idaci_score", "idaci_pctile"]


@dataclass
class Indicators:
    """The tables a snapshot holds."""

    lsoa: gpd.GeoDataFrame
    ward: gpd.GeoDataFrame
    lsoa_quarterly: pd.DataFrame
    ward_quarterly: pd.DataFrame
    authority: pd.DataFrame
    authority_quarterly: pd.DataFrame
    period_start: dt.date
    period_end: dt.date


def mark_rereferrals(referrals: pd.DataFrame, window_days: int = 365) -> pd.Series:
    """True where a referral follows the same child's previous one within ``window_days``."""
    if referrals.empty:
        return pd.Series(False, index=referrals.index)
    r = referrals[["person_id", "referral_date"]].sort_values(["person_id", "referral_date"])
    gap = r.groupby("person_id")["referral_date"].diff()
    flag = gap.notna() & (gap <= pd.Timedelta(days=window_days))
    return flag.reindex(referrals.index)


def quarter_of(dates: pd.Series) -> pd.Series:
    """Calendar quarter label, e.g. ``2024Q2``.

    Built from the few distinct quarters rather than per row: pandas' Period conversion costs
    seconds on a million dates.
    """
    key = quarter_key(dates)
    labels = {k: f"{k // 4}Q{k % 4 + 1}" for k in sorted(pd.unique(key.dropna()))}
    return pd.Series(
        pd.Categorical(key.map(labels), categories=list(labels.values())), index=dates.index
    )


def quarter_key(dates: pd.Series) -> pd.Series:
    """Quarters as integers (year * 4 + quarter - 1): cheap to group by."""
    return dates.dt.year * 4 + (dates.dt.month - 1) // 3


def default_period(referrals: pd.DataFrame, engagement: pd.DataFrame) -> tuple[dt.date, dt.date]:
    """The four quarters ending with the quarter of the latest record."""
    latest = max(
        [d.max() for d in (referrals.get("referral_date"), engagement.get("engagement_date"))
         if d is not None and len(d.dropna())],
        default=pd.Timestamp(dt.date.today()),
    )
    q = pd.Period(latest, freq="Q")
    return (q - 3).start_time.date(), q.end_time.date()


def _counts(ref: pd.DataFrame, eng: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts per group of ``keys`` (columns present in both tables)."""
    parts = []
    if len(ref):
        # One grouping, then counts by np.bincount on the group numbers: four pandas groupbys
        # (with an unstack) cost a second on a million referrals.
        g = ref.groupby(keys, observed=True, sort=True)
        index = g.size().index
        gid = g.ngroup().to_numpy(dtype=np.int64)
        n = len(index)
        source = pd.Categorical(ref["referral_source"], categories=list(SOURCES)).codes
        source = np.where(source < 0, list(SOURCES).index("other"), source).astype(np.int64)
        by_source = np.bincount(gid * len(SOURCES) + source, minlength=n * len(SOURCES))
        c = pd.DataFrame(by_source.reshape(n, len(SOURCES)), index=index,
                         columns=[f"referrals_{s}" for s in SOURCES])
        c.insert(0, "referrals", np.bincount(gid, minlength=n))
        nfa = (ref["outcome"] == "nfa").to_numpy(dtype=float)
        c["referrals_nfa"] = np.bincount(gid, weights=nfa, minlength=n).astype(np.int64)
        again = ref["rereferral"].to_numpy(dtype=float)
        c["rereferrals"] = np.bincount(gid, weights=again, minlength=n).astype(np.int64)
        parts.append(c)
    if len(eng):
        c = _distinct_counts(eng, keys, {
            "families_engaged": np.ones(len(eng), dtype=bool),
            "priority_families_engaged": eng["priority_family"].to_numpy(dtype=bool),
            "families_early_help": (eng["service"] == "early_help").to_numpy(dtype=bool),
            "families_childrens_centre": (eng["service"] == "childrens_centre").to_numpy(
                dtype=bool),
        })
        parts.append(c)
    if not parts:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    out = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    out = out.reindex(columns=COUNT_COLUMNS)
    return out.fillna(0).astype("int64")


def period_years(start: dt.date, end: dt.date) -> float:
    """Length of a period in years, rounded to whole quarters (a calendar year is exactly 1)."""
    days = (end - start).days + 1
    return max(1, round(days / 91.3125)) / 4


def _distinct_counts(
    eng: pd.DataFrame, keys: list[str], subsets: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Distinct families per group, for several subsets of the rows at once.

    Each (group, family) pair becomes one integer and distinct pairs are found with
    ``np.unique``: one grouping for all subsets instead of a ``nunique`` each, which took
    seconds on a million rows. ``family_id`` must already be integer codes (see ``_compact``).
    """
    g = eng.groupby(keys, observed=True, sort=True)
    index = g.size().index
    gid = g.ngroup().to_numpy(dtype=np.int64)
    fam = eng["family_id"].to_numpy(dtype=np.int64)
    base = int(fam.max()) + 1 if len(fam) else 1
    pair = gid * base + fam
    out = {}
    for name, keep in subsets.items():
        distinct = pd.unique(pair[keep])  # hashing: no sort needed
        out[name] = np.bincount(distinct // base, minlength=len(index))
    return pd.DataFrame(out, index=index)


def add_rates(df: pd.DataFrame, years: float = 1.0) -> pd.DataFrame:
    """Rates per 1,000 children a year and shares of referrals (NaN where the base is zero).

    Rates are annualised (divided by the period's length in years) so that a quarter, a year
    and three years can be compared on one scale.
    """
    out = df.copy()
    children = out["children"].where(out["children"] > 0) * years
    refs = out["referrals"].where(out["referrals"] > 0)
    out["referral_rate"] = 1000 * out["referrals"] / children
    out["nfa_share"] = out["referrals_nfa"] / refs
    out["rereferral_share"] = out["rereferrals"] / refs
    out["reach_rate"] = 1000 * out["families_engaged"] / children
    return out


def _weighted(df: pd.DataFrame, by: str, value: str, weight: str) -> pd.Series:
    ok = df[value].notna() & (df[weight] > 0)
    d = df[ok]
    num = (d[value] * d[weight]).groupby(d[by]).sum()
    den = d[weight].groupby(d[by]).sum()
    return num / den


def ward_need(lsoa: pd.DataFrame) -> pd.DataFrame:
    """Population-weighted need and summed denominators per ward."""
    g = lsoa.groupby("ward_code")
    out = pd.DataFrame(
        {
            "children": g["children"].sum(),
            "population": g["population"].sum(),
            "n_lsoas": g.size(),
            "lsoas_imd_decile_1": (lsoa["imd_decile"] == 1).groupby(lsoa["ward_code"]).sum(),
            "lsoas_idaci_decile_1_2": (lsoa["idaci_decile"] <= 2).groupby(lsoa["ward_code"]).sum(),
        }
    )
    out["imd_score"] = _weighted(lsoa, "ward_code", "imd_score", "population")
    out["imd_pctile"] = _weighted(lsoa, "ward_code", "imd_pctile", "population")
    out["idaci_score"] = _weighted(lsoa, "ward_code", "idaci_score", "children")
    out["idaci_pctile"] = _weighted(lsoa, "ward_code", "idaci_pctile", "children")
    return out


def build_indicators(
    lsoa: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    referrals: pd.DataFrame,
    engagement: pd.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    rereferral_window_days: int = 365,
) -> Indicators:
    """Compute every indicator for LSOAs (with need and ``ward_code``), wards and the authority.

    ``lsoa`` holds deprivation columns and ``ward_code``; ``referrals`` and ``engagement`` are
    geocoded records (``lsoa_code`` may be missing for ward-only locations).
    """
    ref = _compact(referrals, "person_id", lsoa, wards)
    eng = _compact(engagement, "family_id", lsoa, wards)
    ref["rereferral"] = mark_rereferrals(ref, rereferral_window_days)
    if start is None or end is None:
        d_start, d_end = default_period(ref, eng)
        start, end = start or d_start, end or d_end
    ref["quarter"] = quarter_of(ref["referral_date"])
    eng["quarter"] = quarter_of(eng["engagement_date"])
    in_ref = ref["referral_date"].between(pd.Timestamp(start), pd.Timestamp(end))
    in_eng = eng["engagement_date"].between(pd.Timestamp(start), pd.Timestamp(end))
    ref_p, eng_p = ref[in_ref], eng[in_eng]
    ref_l, eng_l = ref[ref["lsoa_code"].notna()], eng[eng["lsoa_code"].notna()]

    quarters = _quarters(ref, eng, start, end)

    # LSOA, chosen period
    lsoa_tab = lsoa.set_index("lsoa_code")
    counts = _counts(ref_p[ref_p["lsoa_code"].notna()], eng_p[eng_p["lsoa_code"].notna()],
                     ["lsoa_code"])
    lsoa_out = lsoa_tab.join(counts.reindex(lsoa_tab.index).fillna(0).astype("int64"))
    years = period_years(start, end)
    lsoa_out = add_rates(lsoa_out, years).reset_index()
    lsoa_out = gpd.GeoDataFrame(lsoa_out, geometry="geometry", crs=lsoa.crs)

    # Ward, chosen period
    need = ward_need(lsoa_tab.reset_index())
    ward_tab = wards.set_index("ward_code").join(need)
    for col in ("children", "population", "n_lsoas"):
        ward_tab[col] = ward_tab[col].fillna(0)
    counts = _counts(ref_p, eng_p, ["ward_code"])
    ward_out = ward_tab.join(counts.reindex(ward_tab.index).fillna(0).astype("int64"))
    ward_out = add_rates(ward_out, years).reset_index()
    ward_out = gpd.GeoDataFrame(ward_out, geometry="geometry", crs=wards.crs)

    # Quarterly tables (every area x every quarter, zeros kept)
    lq = _quarterly(ref_l, eng_l, "lsoa_code", lsoa_tab[["children"]], quarters)
    wq = _quarterly(ref, eng, "ward_code", ward_tab[["children"]], quarters)

    # Authority
    total_children = float(lsoa_tab["children"].sum())
    auth_counts = _counts(ref_p.assign(_all=1), eng_p.assign(_all=1), ["_all"])
    authority = auth_counts.reindex([1]).fillna(0).astype("int64").reset_index(drop=True)
    authority.insert(0, "children", total_children)
    authority.insert(1, "population", float(lsoa_tab["population"].sum()))
    for col, w in (("imd_score", "population"), ("imd_pctile", "population"),
                   ("idaci_score", "children"), ("idaci_pctile", "children")):
        ok = lsoa_tab[col].notna() & (lsoa_tab[w] > 0)
        authority[col] = (
            np.average(lsoa_tab.loc[ok, col], weights=lsoa_tab.loc[ok, w]) if ok.any() else np.nan
        )
    authority = add_rates(authority, years)
    aq = _quarterly(ref.assign(_all=1), eng.assign(_all=1), "_all",
                    pd.DataFrame({"children": [total_children]}, index=[1]), quarters)
    aq = aq.drop(columns="_all")

    return Indicators(
        lsoa=lsoa_out,
        ward=ward_out,
        lsoa_quarterly=lq,
        ward_quarterly=wq,
        authority=authority,
        authority_quarterly=aq,
        period_start=start,
        period_end=end,
    )


def _compact(
    records: pd.DataFrame, id_column: str, lsoa: pd.DataFrame, wards: pd.DataFrame
) -> pd.DataFrame:
    """Area codes as categoricals and ids as integers: grouping a million rows by strings
    spends most of its time hashing them again and again."""
    out = records.copy()
    out[id_column] = pd.factorize(out[id_column])[0]
    out["lsoa_code"] = pd.Categorical(out["lsoa_code"], categories=lsoa["lsoa_code"].unique())
    out["ward_code"] = pd.Categorical(out["ward_code"], categories=wards["ward_code"].unique())
    for col in ("referral_source", "outcome", "service"):
        if col in out:
            out[col] = out[col].astype("category")
    return out


def _quarters(ref: pd.DataFrame, eng: pd.DataFrame, start: dt.date, end: dt.date) -> list[str]:
    dates = pd.concat([ref["referral_date"], eng["engagement_date"]]).dropna()
    first = min(dates.min(), pd.Timestamp(start)) if len(dates) else pd.Timestamp(start)
    last = max(dates.max(), pd.Timestamp(end)) if len(dates) else pd.Timestamp(end)
    return [str(p) for p in pd.period_range(first, last, freq="Q")]


def _quarterly(
    ref: pd.DataFrame, eng: pd.DataFrame, key: str, children: pd.DataFrame, quarters: list[str]
) -> pd.DataFrame:
    counts = _counts(ref, eng, [key, "quarter"])
    full = pd.MultiIndex.from_product([children.index, quarters], names=[key, "quarter"])
    out = counts.reindex(full).fillna(0).astype("int64").reset_index()
    out = out.merge(children, left_on=key, right_index=True, how="left")
    out = add_rates(out, 0.25)
    starts = {q: pd.Period(q, freq="Q").start_time.date() for q in quarters}
    out.insert(2, "quarter_start", out["quarter"].map(starts))
    return out
