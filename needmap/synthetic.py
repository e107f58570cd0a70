"""Seeded generator of realistic SYNTHETIC referral and engagement records for a demo and the bench.

Real record-level data are personal data, so the demo ships these instead. Every file says it is
synthetic: a ``#`` banner line above the header and a ``synthetic`` column on every row.

The model, in the order it runs, per LSOA ``i`` with children ``c_i``, IDACI score ``d_i``
(``dbar`` = the authority's children-weighted mean) over a window of ``T`` years:

1. **Need** (:func:`need_model`): what a perfect model of need would expect,
   ``referrals_expected = REFERRAL_RATE / 1000 * (d_i / dbar) ** 0.9 * c_i * T`` and
   ``engagement_expected = ENGAGEMENT_RATE / 1000 * (d_i / dbar) ** 0.7 * c_i * T`` (families).
2. **Area-level variation** (:func:`area_variation`): real neighbourhoods differ from any need
   model for reasons nobody planted, so each area's reach is multiplied by its own factor
   ``g_i ~ Gamma(1 / cv^2, cv^2)`` (mean 1, coefficient of variation ``area_cv``, default 0.2;
   0 = none), drawn separately for referrals and engagement.
3. **Planted areas** (:func:`plant`), the ground truth in ``planted_truth.csv``: ``n_off_radar``
   LSOAs whose engagement is multiplied by a *reach* drawn uniformly from ``reach`` (default 20-40%
   of expected: "off the radar") and ``n_hidden_need`` others whose referrals are ("hidden
   need"). They are drawn from the authority's most deprived ``pool_share`` (40%) of LSOAs by
   national IDACI rank, the scale the radar calls high need, either ``"scattered"`` at random or
   ``"clustered"``: one area and its nearest pool neighbours. By default 8 and 3
   (:data:`PLANTED`); an authority whose pool has fewer than 22 LSOAs (33 districts) gets as
   many as half its pool holds, in the same proportion (:func:`planted_counts`): Rutland's pool
   of 10 gets 4 and 1. Before, the 3 districts whose pool held fewer than 11 (Rutland, the City
   of London, the Isles of Scilly) could make no demo records.
4. **Counts** (:func:`draw_counts`): referrals ``~ Poisson(referrals_expected * g_i * reach_i)``
   and families engaged ``~ Poisson(engagement_expected * h_i * reach_i)`` (reach 1 when not
   planted). :func:`simulate` runs steps 1-4 without records: the bench uses it.
5. **Records** (:func:`referral_records`, :func:`engagement_records`): each area's referrals go to
   children (about 20% are repeats, dated about 7 months after the child's first, dropped if
   that falls after the window), with a +5% a year trend and an August dip, national-like sources
   (police 29%, school 20%, ...) and outcomes (NFA 30%, early help 38%, social care 32%). Each
   engaged family has ``1 + Poisson(0.15)`` engagements in early help or a children's centre,
   dated uniformly, and is a priority family with probability ``0.15 + 0.6 d_i``. Homes are
   real postcodes of the area.
6. **Mess** (:func:`_messy_postcodes`, :func:`_duplicate_some`), as real exports have: ~3% blank
   or unknown postcodes, ~15% lower-case or unspaced postcodes, ~1% duplicated rows, dd/mm/yyyy
   dates in the referrals file (ISO in engagement), and ~10% of engagement rows located by
   easting/northing instead of postcode.

7. **Planted outcomes** (``needmap.synthetic_outcomes``, whose docstring gives them): a families
   table linking children to families, a ward whose families engaged fall by 25% a year,
   re-referral and step-up shares by service, and early help targeted by need.

Each step draws from its own random stream (``SeedSequence(seed).spawn``), so the same seed
plants the same areas whatever ``area_cv`` is, and a step added later does not change the others.
The families engaged per LSOA that :func:`simulate` returns are exactly the families the records
carry (before the ~3% of rows with an unusable postcode are rejected by ``needmap refresh``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.config import Config
from needmap.errors import InputError
from needmap.sources.boundaries import read_boundaries
from needmap.sources.deprivation import read_deprivation
from needmap.sources.geocode import points_in_areas, read_postcodes

REFERRAL_RATE = 60.0  # per 1,000 children a year at the authority's mean need
ENGAGEMENT_RATE = 45.0  # families per 1,000 children a year at the authority's mean need
AREA_CV = 0.2  # between-area coefficient of variation of reach, beyond need and chance
REACH = (0.2, 0.4)  # planted areas keep 20-40% of their expected count
POOL_SHARE = 0.4  # planted among the authority's most deprived 40% by national IDACI rank
#: Planted areas where the pool has room: (off the radar, hidden need).
PLANTED = (8, 3)
SOURCES = {
    "Police": 0.29,
    "Schools": 0.20,
    "Health services": 0.15,
    "LA services": 0.10,
    "Individual": 0.07,
    "Other": 0.19,
}
OUTCOMES = {"No further action": 0.30, "Early help": 0.38, "Social care assessment": 0.32}
NEEDS = {"N1": 0.52, "N2": 0.03, "N3": 0.08, "N4": 0.17, "N5": 0.02, "N6": 0.02, "N7": 0.01,
         "N8": 0.06, "N9": 0.09}
BANNER = (
    "# SYNTHETIC DATA generated by needmap demo-data (seed {seed}). Not real people or families: "
    "for demonstration and testing only."
)
#: Planted kind -> the count it lowers.
PLANTED_MEASURES = {"off_radar": "families_engaged", "hidden_need": "referrals"}
_STREAMS = ("variation", "planting", "counts", "records")


@dataclass(frozen=True)
class DemoFiles:
    """Where the generator wrote its files, how many rows each has and how many were planted."""

    referrals: Path
    engagement: Path
    truth: Path
    n_referrals: int
    n_engagement: int
    n_off_radar: int = 0
    n_hidden_need: int = 0


@dataclass(frozen=True)
class Simulation:
    """Steps 1-4 of the model for one seed: per-area truth and counts, no records.

    Attributes
    ----------
    areas : pandas.DataFrame
        One row per LSOA: ``lsoa_code``, ``children``, ``idaci_score``, ``idaci_pctile``,
        ``referrals_expected`` and ``engagement_expected`` (step 1), ``referrals_factor`` and
        ``engagement_factor`` (step 2), ``referrals_reach`` and ``engagement_reach`` (1 unless
        planted), ``referrals`` and ``families_engaged`` (step 4).
    truth : pandas.DataFrame
        The planted areas, as written to ``planted_truth.csv``.
    """

    areas: pd.DataFrame
    truth: pd.DataFrame


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children, strict=True)}


def _quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def default_window(years: int = 3, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """``years`` whole years of complete calendar quarters ending before the fixed demo date.

    The demo ends on 30 September 2025 so that the shipped files are the same whenever they are
    regenerated; pass ``today`` to move it.
    """
    today = today or dt.date(2025, 10, 1)
    end = _quarter_start(today) - dt.timedelta(days=1)
    start = dt.date(end.year - years, end.month, 1) + dt.timedelta(days=31)
    return _quarter_start(start), end


# -- steps 1-4: the model ----------------------------------------------------------------------
def need_model(areas: pd.DataFrame, *, years: float) -> pd.DataFrame:
    """Step 1: expected referrals and families engaged from need alone, over ``years`` years."""
    need = areas["idaci_score"].to_numpy(dtype=float)
    children = areas["children"].to_numpy(dtype=float)
    dbar = np.average(need, weights=children)
    return pd.DataFrame(
        {
            "referrals_expected": REFERRAL_RATE / 1000 * (need / dbar) ** 0.9 * children * years,
            "engagement_expected": ENGAGEMENT_RATE / 1000 * (need / dbar) ** 0.7 * children
            * years,
        },
        index=areas.index,
    )


def area_variation(n: int, *, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Step 2: ``n`` reach factors ``~ Gamma(1 / cv^2, cv^2)``: mean 1, coefficient ``cv``."""
    if cv < 0:
        raise InputError(f"area_cv must be >= 0 (0 = no area-level variation); got {cv!r}")
    if cv == 0:
        return np.ones(n)
    return rng.gamma(1.0 / cv**2, cv**2, size=n)


def _pool(areas: pd.DataFrame, share: float) -> np.ndarray:
    """Positions of the most deprived ``share`` of areas by national IDACI percentile.

    Above the ``1 - share`` quantile, as the radar cuts its need bands (so with the default
    share the pool is exactly the radar's high-need bands).
    """
    pctile = areas["idaci_pctile"].to_numpy(dtype=float)
    if share >= 1.0:
        return np.arange(len(pctile))
    return np.flatnonzero(pctile > np.quantile(pctile, 1.0 - share))


def _pick(
    areas: pd.DataFrame, candidates: np.ndarray, n: int, layout: str, rng: np.random.Generator
) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=int)
    if layout == "scattered":
        return rng.choice(candidates, size=n, replace=False)
    # Clustered: one area of the pool and its nearest pool neighbours (by centroid distance).
    centre = areas.geometry.iloc[candidates].centroid
    x, y = centre.x.to_numpy(), centre.y.to_numpy()
    first = rng.integers(len(candidates))
    order = np.argsort(np.hypot(x - x[first], y - y[first]), kind="stable")
    return candidates[order[:n]]


def planted_counts(areas: pd.DataFrame, *, pool_share: float = POOL_SHARE) -> tuple[int, int]:
    """How many off-the-radar and hidden-need areas to plant in ``areas`` by default.

    :data:`PLANTED` where the pool (the most deprived ``pool_share`` of LSOAs) holds twice as
    many; else half the pool, in the same proportion, so that planted areas stay the exception
    among the pool's ordinary ones.
    """
    want = sum(PLANTED)
    total = min(want, len(_pool(areas, pool_share)) // 2)
    hidden = round(total * PLANTED[1] / want)
    return total - hidden, hidden


def plant(
    areas: pd.DataFrame,
    *,
    n_off_radar: int,
    n_hidden_need: int,
    reach: tuple[float, float] = REACH,
    layout: Literal["scattered", "clustered"] = "scattered",
    pool_share: float = POOL_SHARE,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Step 3: choose the planted areas and their reach.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code, kind, reach, measure`` (one row per planted area, sorted by kind and code)
        and ``position`` (row position in ``areas``).
    """
    lo, hi = reach
    if not 0.0 <= lo <= hi <= 1.0:
        raise InputError(f"reach must be two fractions 0 <= low <= high <= 1; got {reach!r}")
    if layout not in ("scattered", "clustered"):
        raise InputError(f"layout must be 'scattered' or 'clustered'; got {layout!r}")
    if not 0.0 < pool_share <= 1.0:
        raise InputError(f"pool_share must be in (0, 1]; got {pool_share!r}")
    pool = _pool(areas, pool_share)
    for name, n in (("n_off_radar", n_off_radar), ("n_hidden_need", n_hidden_need)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InputError(f"{name} must be a whole number >= 0; got {n!r}")
    if len(pool) < n_off_radar + n_hidden_need:
        raise InputError(
            f"Only {len(pool)} LSOAs in the authority's most deprived {pool_share:.0%}, too few "
            f"to plant {n_off_radar} off-the-radar and {n_hidden_need} hidden-need areas; ask "
            "for fewer (needmap demo-data --off-radar N --hidden-need N)"
        )
    off = _pick(areas, pool, n_off_radar, layout, rng)
    hidden = _pick(areas, np.setdiff1d(pool, off), n_hidden_need, layout, rng)
    picks = np.concatenate([off, hidden]).astype(int)
    kind = ["off_radar"] * len(off) + ["hidden_need"] * len(hidden)
    truth = pd.DataFrame(
        {
            "lsoa_code": areas["lsoa_code"].to_numpy()[picks],
            "kind": kind,
            "reach": np.round(rng.uniform(lo, hi, size=len(picks)), 4),
            "measure": [PLANTED_MEASURES[k] for k in kind],
            "position": picks,
        }
    )
    return truth.sort_values(["kind", "lsoa_code"]).reset_index(drop=True)


def draw_counts(areas: pd.DataFrame, *, rng: np.random.Generator) -> pd.DataFrame:
    """Step 4: Poisson counts from expected x area factor x reach (see :class:`Simulation`)."""
    out = pd.DataFrame(index=areas.index)
    for measure, stem in (("referrals", "referrals"), ("families_engaged", "engagement")):
        mean = areas[f"{stem}_expected"] * areas[f"{stem}_factor"] * areas[f"{stem}_reach"]
        out[measure] = rng.poisson(mean.to_numpy())
    return out


def simulate(
    areas: pd.DataFrame,
    *,
    seed: int = 42,
    years: float = 3.0,
    area_cv: float = AREA_CV,
    n_off_radar: int = PLANTED[0],
    n_hidden_need: int = PLANTED[1],
    reach: tuple[float, float] = REACH,
    layout: Literal["scattered", "clustered"] = "scattered",
    pool_share: float = POOL_SHARE,
) -> Simulation:
    """Steps 1-4 for one authority: truth and per-area counts, without records.

    Parameters
    ----------
    areas : pandas.DataFrame or geopandas.GeoDataFrame
        One row per LSOA with ``lsoa_code``, ``children``, ``idaci_score``, ``idaci_pctile``
        (and ``geometry`` in EPSG:27700 for ``layout="clustered"``).
    seed : int
        Seed of every random stream.
    years : float
        Length of the window the expected counts cover.
    area_cv : float
        Between-area coefficient of variation of reach (step 2).
    n_off_radar, n_hidden_need : int
        Planted areas of each kind (step 3).
    reach : (float, float)
        Range of the planted areas' reach, as fractions of their expected count.
    layout : {"scattered", "clustered"}
        Where the planted areas lie.
    pool_share : float
        Planted areas come from this most deprived share of LSOAs (national IDACI rank).
    """
    rng = _streams(seed)
    table = pd.DataFrame(areas).reset_index(drop=True)
    out = table[["lsoa_code", "children", "idaci_score", "idaci_pctile"]].copy()
    out = out.join(need_model(table, years=years))
    out["referrals_factor"] = area_variation(len(out), cv=area_cv, rng=rng["variation"])
    out["engagement_factor"] = area_variation(len(out), cv=area_cv, rng=rng["variation"])
    truth = plant(
        gpd.GeoDataFrame(table) if layout == "clustered" else table,
        n_off_radar=n_off_radar, n_hidden_need=n_hidden_need, reach=reach, layout=layout,
        pool_share=pool_share, rng=rng["planting"],
    )  # fmt: skip
    for stem, kind in (("referrals", "hidden_need"), ("engagement", "off_radar")):
        reach_of = np.ones(len(out))
        mine = truth[truth["kind"] == kind]
        reach_of[mine["position"].to_numpy()] = mine["reach"].to_numpy()
        out[f"{stem}_reach"] = reach_of
    out = out.join(draw_counts(out, rng=rng["counts"]))
    stem = truth["kind"].map({"off_radar": "engagement", "hidden_need": "referrals"})
    pos = truth["position"].to_numpy()
    truth["expected"] = [
        round(float(out.at[p, f"{s}_expected"]), 2) for p, s in zip(pos, stem, strict=True)
    ]
    truth["area_factor"] = [
        round(float(out.at[p, f"{s}_factor"]), 4) for p, s in zip(pos, stem, strict=True)
    ]
    truth["idaci_score"] = out["idaci_score"].to_numpy()[pos]
    truth["idaci_pctile"] = np.round(out["idaci_pctile"].to_numpy()[pos], 2)
    truth["children"] = out["children"].to_numpy()[pos]
    truth["synthetic"] = "yes"
    return Simulation(areas=out, truth=truth.drop(columns="position"))


# -- step 5: records ---------------------------------------------------------------------------
def _random_dates(
    rng: np.random.Generator, n: int, start: dt.date, end: dt.date, trend: float = 0.05
) -> np.ndarray:
    """Dates with a yearly trend and an August dip, drawn by rejection from a uniform window."""
    span = (end - start).days + 1
    out = np.empty(0, dtype="datetime64[D]")
    base = np.datetime64(start)
    while out.size < n:
        k = max(2 * (n - out.size), 16)
        days = rng.integers(0, span, size=k)
        dates = base + days.astype("timedelta64[D]")
        months = (dates.astype("datetime64[M]").astype(int) % 12) + 1
        weight = (1 + trend * days / 365.25) * np.where(months == 8, 0.6, 1.0)
        keep = rng.random(k) < weight / (1 + trend * span / 365.25)
        out = np.concatenate([out, dates[keep]])
    return out[:n]


def referral_records(
    sim: Simulation,
    homes: dict[str, np.ndarray],
    *,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Step 5a: one row per referral, children referred once or more, tidy (no mess yet)."""
    rows = []
    person = 0
    for code, n in zip(sim.areas["lsoa_code"], sim.areas["referrals"], strict=True):
        if n == 0:
            continue
        # About 20% of referrals are repeats for a child already referred.
        n_children = max(1, int(round(n / 1.25)))
        child_of = np.concatenate(
            [np.arange(n_children), rng.integers(0, n_children, size=max(0, n - n_children))]
        )
        home = rng.choice(homes[code], size=n_children)
        firsts = _random_dates(rng, n_children, start, end)
        dates = firsts[child_of].copy()
        repeat = np.arange(n) >= n_children
        gaps = rng.exponential(210, size=repeat.sum()).astype(int) + 14
        dates[repeat] = dates[repeat] + gaps.astype("timedelta64[D]")
        keep = dates <= np.datetime64(end)
        rows.append(pd.DataFrame({"person_id": person + child_of[keep],
                                  "cin_referral_date": dates[keep],
                                  "postcode": home[child_of[keep]]}))  # fmt: skip
        person += n_children
    ref = pd.concat(rows, ignore_index=True).sort_values("cin_referral_date", kind="stable")
    ref = ref.reset_index(drop=True)
    m = len(ref)
    ref.insert(0, "cin_referral_id", [f"SYN-R{j + 1:06d}" for j in range(m)])
    ref["person_id"] = [f"SYN-P{p + 1:06d}" for p in ref["person_id"]]
    ref["referral_source"] = rng.choice(list(SOURCES), p=list(SOURCES.values()), size=m)
    outcome = rng.choice(list(OUTCOMES), p=list(OUTCOMES.values()), size=m)
    ref["primary_need"] = rng.choice(list(NEEDS), p=list(NEEDS.values()), size=m)
    ref["referral_outcome"] = outcome
    ref["nfa"] = np.where(outcome == "No further action", "Y", "N")
    ref["cin_referral_date"] = pd.to_datetime(ref["cin_referral_date"]).dt.strftime("%d/%m/%Y")
    return ref


def engagement_records(
    sim: Simulation,
    homes: dict[str, np.ndarray],
    *,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Step 5b: one row per engagement; each family has ``1 + Poisson(0.15)`` of them."""
    rows = []
    family = 0
    table = sim.areas
    for code, n_fam, need in zip(table["lsoa_code"], table["families_engaged"],
                                 table["idaci_score"], strict=True):  # fmt: skip
        if n_fam == 0:
            continue
        per_family = 1 + rng.poisson(0.15, size=n_fam)
        fam_of = np.repeat(np.arange(n_fam), per_family)
        home = rng.choice(homes[code], size=n_fam)
        priority = rng.random(n_fam) < (0.15 + 0.6 * need)
        rows.append(pd.DataFrame({
            "family_id": family + fam_of,
            "engagement_start_date": _random_dates(rng, len(fam_of), start, end, trend=0.0),
            "postcode": home[fam_of],
            "priority_family": np.where(priority[fam_of], "Yes", "No"),
        }))  # fmt: skip
        family += n_fam
    eng = pd.concat(rows, ignore_index=True).sort_values("engagement_start_date", kind="stable")
    eng = eng.reset_index(drop=True)
    k = len(eng)
    eng.insert(0, "engagement_id", [f"SYN-E{j + 1:06d}" for j in range(k)])
    eng["family_id"] = [f"SYN-F{f + 1:06d}" for f in eng["family_id"]]
    eng["service"] = rng.choice(["Early help", "Children's centre"], p=[0.45, 0.55], size=k)
    eng["engagement_start_date"] = pd.to_datetime(eng["engagement_start_date"]).dt.strftime(
        "%Y-%m-%d"
    )
    return eng


# -- step 6: mess --------------------------------------------------------------------------------
def _messy_postcodes(rng: np.random.Generator, pcs: np.ndarray) -> np.ndarray:
    pcs = pcs.astype(object).copy()
    u = rng.random(len(pcs))
    lower = u < 0.08
    unspaced = (u >= 0.08) & (u < 0.15)
    blank = (u >= 0.15) & (u < 0.165)
    unknown = (u >= 0.165) & (u < 0.18)
    bogus = (u >= 0.18) & (u < 0.185)
    pcs[lower] = [p.lower() for p in pcs[lower]]
    pcs[unspaced] = [p.replace(" ", "") for p in pcs[unspaced]]
    pcs[blank] = ""
    pcs[unknown] = "UNKNOWN"
    pcs[bogus] = "ZZ99 9ZZ"
    return pcs


def _duplicate_some(rng: np.random.Generator, df: pd.DataFrame, share: float = 0.01):
    dups = df.sample(frac=share, random_state=int(rng.integers(0, 2**31 - 1)))
    return pd.concat([df, dups]).sort_index(kind="stable").reset_index(drop=True)


def _make_messy(
    ref: pd.DataFrame, eng: pd.DataFrame, postcodes: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = ref.copy()
    ref["postcode"] = _messy_postcodes(rng, ref["postcode"].to_numpy())
    ref["synthetic"] = "yes"
    eng = eng.copy()
    by_en = rng.random(len(eng)) < 0.10
    eng["easting"] = ""
    eng["northing"] = ""
    xy = postcodes.loc[eng.loc[by_en, "postcode"]]
    eng.loc[by_en, "easting"] = xy["easting"].astype(int).astype(str).to_numpy()
    eng.loc[by_en, "northing"] = xy["northing"].astype(int).astype(str).to_numpy()
    eng.loc[by_en, "postcode"] = ""
    eng.loc[~by_en, "postcode"] = _messy_postcodes(rng, eng.loc[~by_en, "postcode"].to_numpy())
    eng = eng[["engagement_id", "family_id", "service", "engagement_start_date",
               "priority_family", "postcode", "easting", "northing"]]  # fmt: skip
    eng["synthetic"] = "yes"
    return _duplicate_some(rng, ref), _duplicate_some(rng, eng)


# -- the demo ------------------------------------------------------------------------------------
def demo_areas(config: Config) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """The config's LSOAs with need, its postcodes, and the postcodes of each LSOA.

    Only LSOAs with at least one postcode are kept: a record needs a home.
    """
    if config.postcodes is None:
        raise InputError(
            f"{config.source}: demo-data places records on real postcodes; add a [postcodes] "
            "table to the config."
        )
    lsoa = read_boundaries(config.lsoa, level="lsoa")
    dep = read_deprivation(config.deprivation, authority_code=config.authority.code)
    areas = lsoa[["lsoa_code", "geometry"]].merge(dep, on="lsoa_code", how="inner")
    pcs = read_postcodes(config.postcodes)
    pcs["lsoa_code"] = points_in_areas(
        pcs["easting"].to_numpy(), pcs["northing"].to_numpy(), lsoa, "lsoa_code"
    )
    pcs = pcs.dropna(subset=["lsoa_code"])
    homes = {code: grp.index.to_numpy() for code, grp in pcs.groupby("lsoa_code")}
    areas = areas[areas["lsoa_code"].isin(homes)].reset_index(drop=True)
    return areas, pcs, homes


def generate(
    config: Config,
    *,
    seed: int = 42,
    years: int = 3,
    area_cv: float = AREA_CV,
    n_off_radar: int | None = None,
    n_hidden_need: int | None = None,
    reach: tuple[float, float] = REACH,
    layout: Literal["scattered", "clustered"] = "scattered",
    pool_share: float = POOL_SHARE,
    end: dt.date | None = None,
) -> dict[str, pd.DataFrame]:
    """Make the synthetic referral and engagement tables and their ground truth (in memory).

    The parameters after ``years`` are those of :func:`simulate`; ``n_off_radar`` and
    ``n_hidden_need`` left out are :func:`planted_counts` of the authority.
    """
    start, stop = default_window(years, end)
    areas, pcs, homes = demo_areas(config)
    default_off, default_hidden = planted_counts(areas, pool_share=pool_share)
    n_off_radar = default_off if n_off_radar is None else n_off_radar
    n_hidden_need = default_hidden if n_hidden_need is None else n_hidden_need
    span_years = ((stop - start).days + 1) / 365.25
    sim = simulate(
        areas, seed=seed, years=span_years, area_cv=area_cv, n_off_radar=n_off_radar,
        n_hidden_need=n_hidden_need, reach=reach, layout=layout, pool_share=pool_share,
    )  # fmt: skip
    rng = _streams(seed)["records"]
    ref = referral_records(sim, homes, start=start, end=stop, rng=rng)
    eng = engagement_records(sim, homes, start=start, end=stop, rng=rng)
    ref, eng = _make_messy(ref, eng, pcs, rng)
    from needmap.synthetic_outcomes import add_outcomes  # planted outcomes (issue 16)

    return add_outcomes(config, {"referrals": ref, "engagement": eng, "truth": sim.truth},
                        seed=seed, start=start, end=stop)


def write_demo_data(
    config: Config, folder: Path, *, seed: int = 42, years: int = 3, **kwargs
) -> DemoFiles:
    """Generate and write ``referrals_synthetic.csv``, ``engagement_synthetic.csv`` and
    ``planted_truth.csv`` into ``folder``, each under a SYNTHETIC banner line.

    ``kwargs`` go to :func:`generate` (``area_cv``, ``reach``, ``layout``, ...).
    """
    tables = generate(config, seed=seed, years=years, **kwargs)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "referrals": folder / "referrals_synthetic.csv",
        "engagement": folder / "engagement_synthetic.csv",
        "truth": folder / "planted_truth.csv",
        "families": folder / "families_synthetic.csv",
    }
    for name, df in tables.items():
        tmp = paths[name].with_suffix(".csv.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(BANNER.format(seed=seed) + "\n")
            df.to_csv(fh, index=False)
        tmp.replace(paths[name])
    return DemoFiles(
        referrals=paths["referrals"],
        engagement=paths["engagement"],
        truth=paths["truth"],
        n_referrals=len(tables["referrals"]),
        n_engagement=len(tables["engagement"]),
        n_off_radar=int((tables["truth"]["kind"] == "off_radar").sum()),
        n_hidden_need=int((tables["truth"]["kind"] == "hidden_need").sum()),
    )


def read_truth(path: Path) -> pd.DataFrame:
    """The planted ground truth written by ``write_demo_data``."""
    return pd.read_csv(path, comment="#")


__all__ = [
    "AREA_CV",
    "PLANTED",
    "DemoFiles",
    "Simulation",
    "area_variation",
    "default_window",
    "demo_areas",
    "draw_counts",
    "engagement_records",
    "generate",
    "need_model",
    "plant",
    "planted_counts",
    "read_truth",
    "referral_records",
    "simulate",
    "write_demo_data",
]
