"""Areas x records x need -> the raw aggregates: one count per area, period and measure.

Definitions (also in docs/indicators.md):

* ``children``: the deprivation file's child denominator (its age band and source are in the
  snapshot manifest), summed over LSOAs.
* need at LSOA level is the published value. At ward level: ``imd_score`` and ``imd_pctile`` are
  population-weighted means of the ward's LSOAs; ``idaci_score`` and ``idaci_pctile`` are
  weighted by children (IDACI is a share of children). ``*_pctile`` comes from the national rank
  (100 = most deprived LSOA in England) and exists even where a score is missing.
* ``referrals``: referrals dated in the period; ``referrals_<source>`` by source;
  ``referrals_nfa`` those with no further action; ``rereferrals`` those made within
  ``rereferral_window_days`` (default 365) of the same child's previous referral (looked for over
  the whole file, not only the period).
* ``families_engaged``: distinct families with an engagement starting in the period;
  ``priority_families_engaged`` those marked as priority families; ``families_early_help`` /
  ``families_childrens_centre`` by service. Distinct families are counted at each level and period
  on its own, so a family seen in two LSOAs of one ward, or in two quarters of a year, counts once
  in the ward, or in the year.

What followed engagement and whom it reached (new cells; families counted as above):

* ``rereferred_12m``: families engaged in the period (the ``families_engaged`` cell is the cohort)
  with a referral of any of their members (linked through ``[records] families``) dated within
  365 days after the family's first engagement in the period (the *anchor*; a referral on the
  anchor day itself is the one that led to it and does not count). ``stepped_up_12m``: those
  whose next referral after the anchor went to social care. ``*_early_help`` /
  ``*_childrens_centre``: the same for the service cohorts. These cells exist only for quarters
  and financial years whose 12-month follow-up is complete by the period end.
* ``families_engaged_idaci_<d>`` (authority only, every period): families engaged by the
  national IDACI decile ``d`` (1 = most deprived tenth of England) of the LSOA of their first
  engagement in the period; ``_unknown`` where that engagement is placed in a ward only. The
  deciles partition ``families_engaged``; ``families_early_help_idaci_<d>`` and
  ``families_childrens_centre_idaci_<d>`` partition the service counts the same way.

Periods are the published ones only (:func:`published_periods`): calendar quarters, complete
financial years (April to March) and the configured period. Each count is one *cell*
``(level, area_code, period, measure)`` with its true ``count`` and two cell keys (``key``,
``key_b``: the sums of the records' keys mod 256, see ``needmap.disclosure``), for LSOAs, wards and
the authority, zeros included. Rates are not computed here: they are derived from protected counts
by ``needmap.outputs``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.sources.records import SOURCES

REFERRAL_MEASURES = [
    "referrals",
    *[f"referrals_{s}" for s in SOURCES],
    "referrals_nfa",
    "rereferrals",
]
FAMILY_MEASURES = [
    "families_engaged",
    "priority_families_engaged",
    "families_early_help",
    "families_childrens_centre",
]
COUNT_COLUMNS = [*REFERRAL_MEASURES, *FAMILY_MEASURES]
#: Days after the anchor in which a referral counts as following engagement (12 months).
FOLLOW_UP_DAYS = 365
#: Services with their own cohorts (``needmap.sources.records.SERVICES`` less "other").
COHORT_SERVICES = ("early_help", "childrens_centre")
#: Follow-up measure -> its cohort (the family count it is a part of).
FOLLOWUP_COHORTS = {
    "rereferred_12m": "families_engaged",
    "stepped_up_12m": "families_engaged",
    **{f"{m}_{s}": f"families_{s}" for s in COHORT_SERVICES
       for m in ("rereferred_12m", "stepped_up_12m")},
}
FOLLOWUP_MEASURES = list(FOLLOWUP_COHORTS)
#: National IDACI deciles (1 = most deprived) and "unknown" (placed in a ward only).
IDACI_DECILES = (*[str(d) for d in range(1, 11)], "unknown")
DECILE_BASES = ("families_engaged", *[f"families_{s}" for s in COHORT_SERVICES])
DECILE_MEASURES = [f"{b}_idaci_{d}" for b in DECILE_BASES for d in IDACI_DECILES]
NEED_COLUMNS = ["imd_score", "imd_pctile", "idaci_score", "idaci_pctile"]
LEVELS = ("lsoa", "ward", "authority")
KEY_RANGE = 256
PERIOD_KINDS = ("quarter", "year", "configured")


@dataclass
class Indicators:
    """The raw aggregates a snapshot holds: area attributes, periods and count cells."""

    lsoa: gpd.GeoDataFrame  # public attributes: code, name, ward, children, need, geometry
    ward: gpd.GeoDataFrame
    authority: pd.DataFrame  # one row: code, name, children, population, need
    periods: pd.DataFrame  # period, kind, start, end
    cells: pd.DataFrame  # level, area_code, period, measure, count, key, key_b
    period_start: dt.date
    period_end: dt.date

    @property
    def configured_period(self) -> str:
        return period_id(self.period_start, self.period_end)


def period_id(start: dt.date, end: dt.date) -> str:
    """The configured period's label: an ISO 8601 interval, e.g. ``2022-10-01/2025-09-30``."""
    return f"{start.isoformat()}/{end.isoformat()}"


def mark_rereferrals(referrals: pd.DataFrame, window_days: int = 365) -> pd.Series:
    """True where a referral follows the same child's previous one within ``window_days``."""
    if referrals.empty:
        return pd.Series(False, index=referrals.index)
    r = referrals[["person_id", "referral_date"]].sort_values(["person_id", "referral_date"])
    gap = r.groupby("person_id")["referral_date"].diff()
    flag = gap.notna() & (gap <= pd.Timedelta(days=window_days))
    return flag.reindex(referrals.index)


def quarter_key(dates: pd.Series) -> pd.Series:
    """Quarters as integers (year * 4 + quarter - 1): cheap to group by."""
    return dates.dt.year * 4 + (dates.dt.month - 1) // 3


def quarter_label(key: int) -> str:
    return f"{key // 4}Q{key % 4 + 1}"


def _quarter_start(key: int) -> dt.date:
    return dt.date(key // 4, 3 * (key % 4) + 1, 1)


def _quarter_end(key: int) -> dt.date:
    return _quarter_start(key + 1) - dt.timedelta(days=1)


def default_period(referrals: pd.DataFrame, engagement: pd.DataFrame) -> tuple[dt.date, dt.date]:
    """The four quarters ending with the quarter of the latest record."""
    latest = max(
        [d.max() for d in (referrals.get("referral_date"), engagement.get("engagement_date"))
         if d is not None and len(d.dropna())],
        default=pd.Timestamp(dt.date.today()),
    )
    q = pd.Period(latest, freq="Q")
    return (q - 3).start_time.date(), q.end_time.date()


def period_years(start: dt.date, end: dt.date) -> float:
    """Length of a period in years, rounded to whole quarters (a calendar year is exactly 1)."""
    days = (end - start).days + 1
    return max(1, round(days / 91.3125)) / 4


def published_periods(first: dt.date, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The periods a snapshot publishes: quarters, complete financial years, the configured one.

    Quarters run from the one holding ``first`` (the earliest record, or ``start``) to the last
    quarter that ends on or before ``end``; nothing after ``end`` is published, so a release never
    shows part of a quarter it will show whole later. Financial years (April to March, e.g.
    ``FY2024-25``) are those whose four quarters are all published.
    """
    q0 = int(quarter_key(pd.Series([pd.Timestamp(min(first, start))])).iloc[0])
    q_end = int(quarter_key(pd.Series([pd.Timestamp(end)])).iloc[0])
    if _quarter_end(q_end) > end:
        q_end -= 1
    rows = [(quarter_label(k), "quarter", _quarter_start(k), _quarter_end(k))
            for k in range(q0, q_end + 1)]
    first_q, last_q = _quarter_start(q0), _quarter_end(q_end) if q_end >= q0 else None
    year = first_q.year - 1
    while last_q is not None:
        fy_start, fy_end = dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
        if fy_start > last_q:
            break
        if fy_start >= first_q and fy_end <= last_q:
            rows.append((f"FY{year}-{(year + 1) % 100:02d}", "year", fy_start, fy_end))
        year += 1
    rows.append((period_id(start, end), "configured", start, end))
    return pd.DataFrame(rows, columns=["period", "kind", "start", "end"])


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
    authority_code: str = "authority",
    authority_name: str = "the authority",
) -> Indicators:
    """Count every measure for every LSOA, ward and the authority in every published period.

    ``lsoa`` holds deprivation columns and ``ward_code``; ``referrals`` and ``engagement`` are
    geocoded records (``lsoa_code`` may be missing for ward-only locations). Records may carry
    record keys in ``key`` and ``key_b`` (referrals: per referral; engagement: per family, see
    ``needmap.disclosure.record_keys``); without them the cell keys are 0.
    """
    ref = _compact(referrals, "person_id", lsoa, wards)
    eng = _compact(engagement, "family_id", lsoa, wards)
    ref["rereferral"] = mark_rereferrals(ref, rereferral_window_days).to_numpy(dtype=bool)
    if start is None or end is None:
        d_start, d_end = default_period(ref, eng)
        start, end = start or d_start, end or d_end
    dates = pd.concat([ref["referral_date"], eng["engagement_date"]]).dropna()
    first = dates.min().date() if len(dates) else start
    periods = published_periods(first, start, end)

    lsoa_tab = lsoa.set_index("lsoa_code")
    need = ward_need(lsoa_tab.reset_index())
    ward_tab = wards.set_index("ward_code").join(need)
    for col in ("children", "population", "n_lsoas"):
        ward_tab[col] = ward_tab[col].fillna(0)
    lsoa_out = gpd.GeoDataFrame(lsoa_tab.reset_index(), geometry="geometry", crs=lsoa.crs)
    ward_out = gpd.GeoDataFrame(ward_tab.reset_index(), geometry="geometry", crs=wards.crs)

    authority = pd.DataFrame({
        "authority_code": [authority_code], "authority_name": [authority_name],
        "children": [float(lsoa_tab["children"].sum())],
        "population": [float(lsoa_tab["population"].sum())],
    })
    for col, w in (("imd_score", "population"), ("imd_pctile", "population"),
                   ("idaci_score", "children"), ("idaci_pctile", "children")):
        ok = lsoa_tab[col].notna() & (lsoa_tab[w] > 0)
        authority[col] = (
            np.average(lsoa_tab.loc[ok, col], weights=lsoa_tab.loc[ok, w]) if ok.any() else np.nan
        )

    areas = {
        "lsoa": pd.Index(lsoa_out["lsoa_code"]),
        "ward": pd.Index(ward_out["ward_code"]),
        "authority": pd.Index([authority_code]),
    }
    cells = count_cells(ref, eng, periods, areas)
    decile = pd.Series(lsoa_tab["idaci_decile"].to_numpy(dtype=float), index=areas["lsoa"])
    extra = outcome_cells(ref, eng, periods, areas, lsoa_decile=decile,
                          ref_family=_referral_families(referrals, engagement), end=end)
    cells = _stack(cells, extra)
    return Indicators(
        lsoa=lsoa_out, ward=ward_out, authority=authority, periods=periods, cells=cells,
        period_start=start, period_end=end,
    )


def _memberships(dates: pd.Series, periods: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row, period index) pairs: each record in each published period that holds its date."""
    day = dates.to_numpy(dtype="datetime64[D]")
    rows, idx = [], []
    for i, p in enumerate(periods.itertuples(index=False)):
        inside = (day >= np.datetime64(p.start)) & (day <= np.datetime64(p.end))
        hit = np.flatnonzero(inside)
        rows.append(hit)
        idx.append(np.full(len(hit), i, dtype=np.int64))
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(idx)


def count_cells(
    ref: pd.DataFrame, eng: pd.DataFrame, periods: pd.DataFrame, areas: dict[str, pd.Index]
) -> pd.DataFrame:
    """Every (level, area, period, measure) cell: true count and cell keys, zeros included.

    One ``bincount`` per level and measure on the group number ``area * n_periods + period``
    (pandas groupbys cost seconds on a million records). Distinct families: the distinct
    ``(group, family)`` integer pairs are found once per level (``np.unique``), and a subset
    (priority families, a service) keeps the pairs with at least one row in it. Codes are stored
    as categoricals: a national snapshot has millions of cells.
    """
    n_p = len(periods)
    levels = list(areas)
    all_codes = pd.Index(np.concatenate([areas[lv].to_numpy(dtype=object) for lv in levels]))
    offsets = np.cumsum([0] + [len(areas[lv]) for lv in levels[:-1]])
    member = {"ref": _memberships(ref["referral_date"], periods),
              "eng": _memberships(eng["engagement_date"], periods)}
    frames = []
    for level, offset in zip(levels, offsets, strict=True):
        index = areas[level]
        n_groups = len(index) * n_p
        for kind, table, measures in (("ref", ref, REFERRAL_MEASURES),
                                      ("eng", eng, FAMILY_MEASURES)):
            rows, pidx = member[kind]
            area = _area_index(table, level, index)[rows]
            keep = area >= 0
            rows, pidx, area = rows[keep], pidx[keep], area[keep]
            gid = area * n_p + pidx
            masks = _referral_masks(table) if kind == "ref" else _family_masks(table)
            key_a = _column(table, "key")[rows]
            key_b = _column(table, "key_b")[rows]
            if kind == "eng":
                fam = table["family_id"].to_numpy(dtype=np.int64)[rows]
                base = int(fam.max()) + 1 if len(fam) else 1
                pairs, first, inverse = np.unique(gid * base + fam, return_index=True,
                                                  return_inverse=True)
                pair_group = pairs // base
            for measure in measures:
                m = masks[measure][rows]
                if kind == "ref":
                    g, wa, wb = gid[m], key_a[m], key_b[m]
                else:
                    hit = np.bincount(inverse, weights=m, minlength=len(pairs)) > 0
                    g, wa, wb = pair_group[hit], key_a[first[hit]], key_b[first[hit]]
                count = np.bincount(g, minlength=n_groups)
                ka = np.bincount(g, weights=wa, minlength=n_groups)
                kb = np.bincount(g, weights=wb, minlength=n_groups)
                frames.append(pd.DataFrame({
                    "level": level,
                    "area_code": np.repeat(np.arange(len(index)) + offset, n_p),
                    "period": np.tile(np.arange(n_p), len(index)),
                    "measure": measure,
                    "count": count.astype(np.int64),
                    "key": np.rint(ka).astype(np.int64) % KEY_RANGE,
                    "key_b": np.rint(kb).astype(np.int64) % KEY_RANGE,
                }))
    out = pd.concat(frames, ignore_index=True)
    out["area_code"] = pd.Categorical.from_codes(out["area_code"].to_numpy(), all_codes)
    out["period"] = pd.Categorical.from_codes(out["period"].to_numpy(),
                                              periods["period"].astype(str).tolist())
    for col in ("level", "measure"):
        out[col] = out[col].astype("category")
    return out


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name in table:
        return table[name].to_numpy(dtype=np.float64)
    return np.zeros(len(table))


def _area_index(table: pd.DataFrame, level: str, index: pd.Index) -> np.ndarray:
    if level == "authority":
        return np.zeros(len(table), dtype=np.int64)
    codes = table[f"{level}_code"]
    return index.get_indexer(codes.astype(object).where(codes.notna(), None)).astype(np.int64)


def _referral_masks(ref: pd.DataFrame) -> dict[str, np.ndarray]:
    n = len(ref)
    source = (ref["referral_source"].astype(object).to_numpy() if "referral_source" in ref
              else np.full(n, "other", dtype=object))
    outcome = (ref["outcome"].astype(object).to_numpy() if "outcome" in ref
               else np.full(n, "other", dtype=object))
    masks = {"referrals": np.ones(n, dtype=bool)}
    known = np.isin(source, list(SOURCES))
    for s in SOURCES:
        masks[f"referrals_{s}"] = (source == s) | ((s == "other") & ~known)
    masks["referrals_nfa"] = outcome == "nfa"
    masks["rereferrals"] = ref["rereferral"].to_numpy(dtype=bool)
    return masks


def _family_masks(eng: pd.DataFrame) -> dict[str, np.ndarray]:
    n = len(eng)
    service = (eng["service"].astype(object).to_numpy() if "service" in eng
               else np.full(n, "other", dtype=object))
    priority = (eng["priority_family"].to_numpy(dtype=bool) if "priority_family" in eng
                else np.zeros(n, dtype=bool))
    return {
        "families_engaged": np.ones(n, dtype=bool),
        "priority_families_engaged": priority,
        "families_early_help": service == "early_help",
        "families_childrens_centre": service == "childrens_centre",
    }


def _compact(
    records: pd.DataFrame, id_column: str, lsoa: pd.DataFrame, wards: pd.DataFrame
) -> pd.DataFrame:
    """Area codes as categoricals and ids as integers: grouping a million rows by strings
    spends most of its time hashing them again and again."""
    out = records.copy()
    out[id_column] = pd.factorize(out[id_column])[0]
    out["lsoa_code"] = pd.Categorical(out["lsoa_code"], categories=lsoa["lsoa_code"].unique())
    out["ward_code"] = pd.Categorical(out["ward_code"], categories=wards["ward_code"].unique())
    return out


def wide(cells: pd.DataFrame, level: str, period: str, *, value: str = "count") -> pd.DataFrame:
    """One row per area of ``level`` and one column per measure, for one period."""
    sel = cells[(cells["level"] == level) & (cells["period"] == period)]
    out = sel.pivot(index="area_code", columns="measure", values=value)
    out.columns = out.columns.astype(str)
    out.index = out.index.astype(str)
    return out.reindex(columns=[c for c in COUNT_COLUMNS if c in out.columns])


def quarterly(cells: pd.DataFrame, level: str, periods: pd.DataFrame, *,
              value: str = "count") -> pd.DataFrame:
    """Long-to-wide for every quarter: ``area_code, quarter, <measures>``."""
    quarters = periods.loc[periods["kind"] == "quarter", "period"].astype(str)
    sel = cells[(cells["level"] == level) & cells["period"].astype(str).isin(set(quarters))]
    out = sel.pivot_table(index=["area_code", "period"], columns="measure", values=value,
                          observed=True, aggfunc="first")
    out.columns = out.columns.astype(str)
    out = out.reset_index().rename(columns={"period": "quarter"})
    out["area_code"] = out["area_code"].astype(str)
    out["quarter"] = out["quarter"].astype(str)
    return out


# -- what followed engagement, and whom it reached ------------------------------------------------


def link_families(referrals: pd.DataFrame, families: pd.Series | None) -> pd.DataFrame:
    """Referrals with the ``family_id`` of their person (``[records] families``), where known."""
    if families is None or "person_id" not in referrals:
        return referrals
    person = referrals["person_id"].astype(str)
    return referrals.assign(family_id=person.map(families).to_numpy())


def _referral_families(referrals: pd.DataFrame, engagement: pd.DataFrame) -> np.ndarray:
    """Each referral's family as the integer id :func:`_compact` gives that family (-1: none)."""
    if "family_id" not in referrals or not len(engagement):
        return np.full(len(referrals), -1, dtype=np.int64)
    _, uniques = pd.factorize(engagement["family_id"])
    ids = referrals["family_id"].astype(object).where(referrals["family_id"].notna(), None)
    return pd.Index(uniques).get_indexer(ids).astype(np.int64)


def _stack(cells: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Existing cells first and unchanged, the new ones after them."""
    if extra.empty:
        return cells
    cols = ("level", "area_code", "period", "measure")
    out = pd.concat([cells.astype(dict.fromkeys(cols, object)), extra], ignore_index=True)
    for col in cols:
        out[col] = out[col].astype("category")
    return out


def follow_up_periods(periods: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Quarters and financial years whose 12-month follow-up ends by ``end``."""
    last = pd.Timestamp(end) - pd.Timedelta(days=FOLLOW_UP_DAYS)
    ok = periods["kind"].isin(["quarter", "year"]) & (pd.to_datetime(periods["end"]) <= last)
    return periods[ok].reset_index(drop=True)


def outcome_cells(
    ref: pd.DataFrame,
    eng: pd.DataFrame,
    periods: pd.DataFrame,
    areas: dict[str, pd.Index],
    *,
    lsoa_decile: pd.Series,
    ref_family: np.ndarray,
    end: dt.date,
) -> pd.DataFrame:
    """Follow-up cells (every level, complete cohorts) and IDACI-decile cells (authority).

    ``eng`` carries integer ``family_id`` (from :func:`_compact`) and per-family keys;
    ``ref_family`` gives each referral's family in the same integers (-1: not linked). A family's
    outcome and decile belong to the family in a period, from its first engagement in it (the
    anchor), so they are the same in every area that counts the family, and the identities the
    cells publish hold on the true counts: a part never exceeds its cohort, a ward never exceeds
    its LSOAs plus its ward-only records, and the deciles add up to their total.
    """
    frames = []
    if not len(eng):
        return pd.DataFrame(columns=["level", "area_code", "period", "measure", "count", "key",
                                     "key_b"])
    rows, pidx = _memberships(eng["engagement_date"], periods)
    fam = eng["family_id"].to_numpy(dtype=np.int64)
    day = eng["engagement_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    n_p = len(periods)
    pair = fam[rows] * n_p + pidx
    # The anchor row of each (family, period): earliest date, then first row.
    order = np.lexsort((rows, day[rows], pair))
    first_of = np.ones(len(order), dtype=bool)
    first_of[1:] = pair[order][1:] != pair[order][:-1]
    anchor_pos = order[first_of]  # positions (into rows/pidx) of each pair's anchor
    pairs = pair[anchor_pos]
    pair_anchor_row = rows[anchor_pos]
    where = np.searchsorted(pairs, pair)  # each membership's pair index (pairs are sorted)

    service = (eng["service"].astype(object).to_numpy() if "service" in eng
               else np.full(len(eng), "other", dtype=object))
    key_a, key_b = _column(eng, "key"), _column(eng, "key_b")
    auth = areas["authority"]

    # IDACI deciles of each pair, from its anchor's LSOA (authority, every period).
    lsoa_codes = eng["lsoa_code"].astype(object).where(eng["lsoa_code"].notna(), None)
    dec = lsoa_decile.reindex(pd.Index(lsoa_codes)).to_numpy(dtype=float)
    pair_dec = dec[pair_anchor_row]
    dec_idx = np.where(np.isfinite(pair_dec), np.clip(pair_dec, 1, 10) - 1, 10).astype(np.int64)
    pair_p = pairs % n_p
    n_dec = len(IDACI_DECILES)
    for base in DECILE_BASES:
        if base == "families_engaged":
            in_base = np.ones(len(pairs), dtype=bool)
        else:
            hit = service[rows] == base.removeprefix("families_")
            in_base = np.bincount(where[hit], minlength=len(pairs)) > 0
        g = pair_p[in_base] * n_dec + dec_idx[in_base]
        count = np.bincount(g, minlength=n_p * n_dec)
        ka = np.bincount(g, weights=key_a[pair_anchor_row][in_base], minlength=n_p * n_dec)
        kb = np.bincount(g, weights=key_b[pair_anchor_row][in_base], minlength=n_p * n_dec)
        for d, label in enumerate(IDACI_DECILES):
            sel = np.arange(n_p) * n_dec + d
            frames.append(_outcome_frame("authority", auth, periods, f"{base}_idaci_{label}",
                                      count[sel], ka[sel], kb[sel]))

    # What followed: complete cohorts only.
    follow = follow_up_periods(periods, end)
    if len(follow):
        rereferred, stepped = _follow_up(pairs // n_p, day[pair_anchor_row], ref, ref_family)
        keep_p = periods["period"].isin(follow["period"]).to_numpy()
        sub_index = np.cumsum(keep_p) - 1
        member = keep_p[pidx]
        m_rows, m_p, m_where = rows[member], sub_index[pidx[member]], where[member]
        n_f = len(follow)
        for level, index in areas.items():
            area = _area_index(eng, level, index)[m_rows]
            inside = area >= 0
            gid = area * n_f + m_p
            n_groups = len(index) * n_f
            for measure, cohort in FOLLOWUP_COHORTS.items():
                flag = (rereferred if measure.startswith("rereferred") else stepped)[m_where]
                mask = inside & flag
                if cohort != "families_engaged":
                    mask &= service[m_rows] == cohort.removeprefix("families_")
                count, ka, kb = _distinct_families(gid[mask], fam[m_rows][mask],
                                                   key_a[m_rows][mask], key_b[m_rows][mask],
                                                   n_groups)
                frames.append(_outcome_frame(level, index, follow, measure, count, ka, kb))
    return pd.concat(frames, ignore_index=True)


def _follow_up(pair_family: np.ndarray, anchor_day: np.ndarray, ref: pd.DataFrame,
               ref_family: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (family, anchor): re-referred within the follow-up, and next referral stepped up.

    The next referral is the family's first referral dated after the anchor day; on a day with
    several, one that went to social care counts as the step-up.
    """
    linked = ref_family >= 0
    if not linked.any():
        none = np.zeros(len(pair_family), dtype=bool)
        return none, none.copy()
    r_fam = ref_family[linked]
    r_day = ref["referral_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)[linked]
    outcome = (ref["outcome"].astype(object).to_numpy() if "outcome" in ref
               else np.full(len(ref), "other", dtype=object))
    social = outcome[linked] == "social_care"
    order = np.lexsort((~social, r_day, r_fam))
    r_fam, r_day, social = r_fam[order], r_day[order], social[order]
    span = int(max(r_day.max(), anchor_day.max()) - min(r_day.min(), anchor_day.min())) + 2
    base = int(min(r_day.min(), anchor_day.min()))
    r_key = r_fam * span + (r_day - base)
    a_key = pair_family * span + (anchor_day - base)
    nxt = np.searchsorted(r_key, a_key, side="right")
    found = nxt < len(r_key)
    nxt_c = np.minimum(nxt, len(r_key) - 1)
    found &= (r_fam[nxt_c] == pair_family) & (r_day[nxt_c] <= anchor_day + FOLLOW_UP_DAYS)
    return found, found & social[nxt_c]


def _outcome_frame(level: str, index: pd.Index, periods: pd.DataFrame, measure: str,
                   count: np.ndarray, ka: np.ndarray, kb: np.ndarray) -> pd.DataFrame:
    """One measure's cells for every area of ``index`` and period of ``periods``."""
    n_p = len(periods)
    return pd.DataFrame({
        "level": level,
        "area_code": np.repeat(index.to_numpy(dtype=object), n_p),
        "period": np.tile(periods["period"].to_numpy(dtype=object), len(index)),
        "measure": measure,
        "count": np.asarray(count).astype(np.int64),
        "key": np.rint(ka).astype(np.int64) % KEY_RANGE,
        "key_b": np.rint(kb).astype(np.int64) % KEY_RANGE,
    })


def _distinct_families(gid: np.ndarray, fam: np.ndarray, key_a: np.ndarray, key_b: np.ndarray,
                       n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (group, family) counts and their key sums (keys are per family)."""
    if not len(gid):
        z = np.zeros(n_groups)
        return z.astype(np.int64), z, z
    base = int(fam.max()) + 1
    pairs, first = np.unique(gid * base + fam, return_index=True)
    g = pairs // base
    return (np.bincount(g, minlength=n_groups),
            np.bincount(g, weights=key_a[first], minlength=n_groups),
            np.bincount(g, weights=key_b[first], minlength=n_groups))
