"""Planted outcomes for the SYNTHETIC demo: linked families, a falling reach, step-ups, targeting.

:func:`add_outcomes` takes the tables :func:`needmap.synthetic.generate` makes (``referrals``,
``engagement``, ``truth``) and adds what the outcome figures need, each with a known answer
written to the truth table:

1. **Targeting.** Each family gets one service for all its engagements: early help with
   probability ``EARLY_HELP_BY_DECILE[d]`` (from 0.65 in national IDACI decile 1, the most
   deprived, down to 0.15 in decile 10), a children's centre otherwise. Truth (``kind =
   targeting``): each service's concentration index over the authority's children ranked by
   decile over the whole period, as drawn (``value``: what the published index must recover,
   within what protection moves it) and as the design expects given where the engaged families
   live (``expected``: the draw adds sampling noise around it), and the share of families in
   deciles 1-3 as drawn.
2. **A falling reach.** In one ward (the one whose need, its children-weighted IDACI score, is
   closest to the median ward's, among wards holding no LSOA planted off the radar or with hidden
   need) each engagement is kept with probability ``REACH_FALL ** t``, ``t`` in years
   since the first day of the records: families engaged fall by 25% a year. Truth (``kind =
   reach_trend``): the yearly rate ratio 0.75.
3. **Linked families.** Every engaged family has one to three children (new ``SYN-P`` persons),
   listed in the ``families`` table with the Standard Safeguarding Dataset's ``ssd_family`` names
   (``fami_family_id``, ``fami_person_id``), which the demo config reads as ``[records]
   families``.
4. **What followed.** A family is *re-referred* with probability ``REREFERRAL[service]``; a
   re-referred family *steps up* with probability ``STEP_UP_GIVEN_REREFERRAL[service]``. After
   each *anchor* of a re-referred family (its first engagement in a calendar quarter, counting
   only rows a refresh keeps), one referral dated 1 to 365 days later is given to one of its
   children: one that went to social care for a step-up family, one that did not otherwise.
   Families not re-referred have no referral after any engagement. So every cohort (quarter or
   financial year) has, in expectation, the planted shares. Referrals are *taken* from the
   generated ones in the family's LSOA (unused, right outcome, inside the window; their person
   changes, their area, date and outcome do not), so area referral counts do not move; where
   none fits, one is added. Truth (``kind = rereferral`` and ``step_up``, per service): 0.30 and
   0.12 for early help (0.30 x 0.40), 0.15 and 0.03 for children's centres (0.15 x 0.20).
5. **The referral before.** With probability 0.6 a family's first engagement follows a referral
   of one of its children (outcome early help, in the 90 days before); it is dated before every
   anchor, so it changes no outcome figure.

Randomness comes from its own stream (``seed`` and a fixed salt), so the generator's own draws
are the same with or without this step.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from needmap.concentration import concentration_index
from needmap.config import Config
from needmap.sources.boundaries import read_boundaries
from needmap.sources.deprivation import read_deprivation
from needmap.sources.geocode import normalise_postcode, points_in_areas, read_postcodes
from needmap.sources.lookups import lsoa_to_ward

__all__ = [
    "EARLY_HELP_BY_DECILE",
    "REACH_FALL",
    "REREFERRAL",
    "STEP_UP_GIVEN_REREFERRAL",
    "add_outcomes",
]

#: P(early help | national IDACI decile d) for d = 1..10; a children's centre otherwise.
EARLY_HELP_BY_DECILE = {d: round(0.65 - (d - 1) * 0.5 / 9, 4) for d in range(1, 11)}
#: Yearly rate ratio of families engaged in the planted ward.
REACH_FALL = 0.75
REREFERRAL = {"early_help": 0.30, "childrens_centre": 0.15}
STEP_UP_GIVEN_REREFERRAL = {"early_help": 0.40, "childrens_centre": 0.20}
ORIGIN_SHARE = 0.6
ORIGIN_DAYS = 90
SERVICE_NAMES = {"early_help": "Early help", "childrens_centre": "Children's centre"}
_SALT = 16  # issue 16: a stream of its own
_NOT_SOCIAL = ("No further action", "Early help")
_SOCIAL = ("Social care assessment",)


def _day(values: pd.Series, fmt: str) -> np.ndarray:
    return pd.to_datetime(values, format=fmt).to_numpy(dtype="datetime64[D]").astype(np.int64)


def _locate(postcodes: pd.Series, pcs: pd.DataFrame, easting: pd.Series | None = None,
            northing: pd.Series | None = None, lsoa=None) -> np.ndarray:
    """The LSOA of each row as refresh would find it (None where refresh would reject it)."""
    norm = normalise_postcode(postcodes.fillna(""))
    out = norm.map(pcs["lsoa_code"]).astype(object).to_numpy().copy()
    if easting is not None:
        e = pd.to_numeric(easting, errors="coerce")
        n = pd.to_numeric(northing, errors="coerce")
        has = (e.notna() & n.notna()).to_numpy()
        if has.any():
            out[has] = points_in_areas(e[has].to_numpy(), n[has].to_numpy(), lsoa, "lsoa_code")
    return np.array([v if isinstance(v, str) else None for v in out], dtype=object)


def add_outcomes(config: Config, tables: dict[str, pd.DataFrame], *, seed: int,
                 start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """The generator's tables with targeting, a falling ward, families and follow-ups planted.

    Returns new ``referrals``, ``engagement`` and ``truth`` tables and a ``families`` table; the
    inputs are not changed.
    """
    rng = np.random.default_rng([seed, _SALT])
    ref = tables["referrals"].copy()
    eng = tables["engagement"].copy()
    truth = tables["truth"]

    lsoa = read_boundaries(config.lsoa, level="lsoa")
    wards = read_boundaries(config.ward, level="ward", authority_code=config.authority.code)
    dep = read_deprivation(config.deprivation, authority_code=config.authority.code)
    areas = lsoa[["lsoa_code"]].merge(dep, on="lsoa_code", how="inner")
    lookup = lsoa_to_ward(config.lookup, lsoa[lsoa["lsoa_code"].isin(areas["lsoa_code"])], wards)
    areas = areas.merge(lookup[["lsoa_code", "ward_code"]], on="lsoa_code", how="left")
    pcs = read_postcodes(config.postcodes)
    # As refresh places them: the postcode table's own LSOA where it has one, else the point.
    by_point = points_in_areas(pcs["easting"].to_numpy(), pcs["northing"].to_numpy(), lsoa,
                               "lsoa_code")
    own = pcs["lsoa_code"] if "lsoa_code" in pcs else pd.Series(pd.NA, index=pcs.index)
    pcs["lsoa_code"] = own.astype(object).where(own.notna(), by_point)
    pcs = pcs.dropna(subset=["lsoa_code"])
    decile = areas.set_index("lsoa_code")["idaci_decile"]
    ward_of = areas.set_index("lsoa_code")["ward_code"]

    # Where each engagement row is, and each family's home (its first located row).
    eng_lsoa = _locate(eng["postcode"], pcs, eng["easting"], eng["northing"], lsoa)
    home = (pd.Series(eng_lsoa, index=eng.index).dropna()
            .groupby(eng["family_id"]).first())

    # 2. The falling ward.
    ward = _falling_ward(areas, truth)
    e_day = _day(eng["engagement_start_date"], "%Y-%m-%d")
    t = (e_day - e_day.min()) / 365.25
    in_ward = eng["family_id"].map(home).map(ward_of).eq(ward).to_numpy()
    # One draw per engagement id, so a duplicated row shares its original's fate.
    u = pd.Series(rng.random(len(eng)), index=eng.index).groupby(eng["engagement_id"]).transform(
        "first").to_numpy()
    keep = ~in_ward | (u < REACH_FALL ** t)
    eng = eng[keep].reset_index(drop=True)
    eng_lsoa = eng_lsoa[keep]
    e_day = e_day[keep]

    # 1. Targeting: one service per family, by its home decile.
    families = pd.Index(pd.unique(eng["family_id"]))
    fam_dec = families.map(home).map(decile).to_numpy(dtype=float)
    p_eh = np.array([EARLY_HELP_BY_DECILE.get(int(d), 0.45) if np.isfinite(d) else 0.45
                     for d in fam_dec])
    fam_service = np.where(rng.random(len(families)) < p_eh, "early_help", "childrens_centre")
    service_of = pd.Series(fam_service, index=families)
    eng["service"] = eng["family_id"].map(service_of).map(SERVICE_NAMES).to_numpy()

    # 3. Children of each family.
    n_children = rng.integers(1, 4, size=len(families))
    first_person = _max_id(ref["person_id"], "SYN-P") + 1
    person_ids = [f"SYN-P{first_person + i:06d}" for i in range(int(n_children.sum()))]
    fam_table = pd.DataFrame({"fami_family_id": np.repeat(families.to_numpy(), n_children),
                              "fami_person_id": person_ids})
    children_of = fam_table.groupby("fami_family_id")["fami_person_id"].agg(list)

    # 4 and 5. Anchors from the rows a refresh keeps, then referrals given to children.
    valid = (eng_lsoa != None) & ~eng["engagement_id"].duplicated().to_numpy()  # noqa: E711
    anchors = (pd.DataFrame({"family_id": eng["family_id"][valid].to_numpy(),
                             "day": e_day[valid]})
               .assign(q=lambda d: _quarter(d["day"]))
               .groupby(["family_id", "q"], as_index=False)["day"].min())
    rereferred = pd.Series(rng.random(len(families)) < families.map(
        lambda f: REREFERRAL[service_of[f]]).to_numpy(dtype=float), index=families)
    steps = pd.Series(rng.random(len(families)) < families.map(
        lambda f: STEP_UP_GIVEN_REREFERRAL[service_of[f]]).to_numpy(dtype=float),
        index=families) & rereferred
    pool = _Pool(ref, pcs, rng, end)
    for fam, first_day in pd.Series(e_day, index=eng["family_id"]).groupby(level=0).min().items():
        if fam not in home.index or rng.random() >= ORIGIN_SHARE:
            continue
        pool.give(home[fam], first_day - ORIGIN_DAYS, first_day - 1, ("Early help",),
                  rng.choice(children_of[fam]), add=False)
    for r in anchors[anchors["family_id"].map(rereferred)].itertuples(index=False):
        if r.family_id not in home.index:
            continue
        outcomes = _SOCIAL if steps[r.family_id] else _NOT_SOCIAL
        pool.give(home[r.family_id], r.day + 1, r.day + 365, outcomes,
                  rng.choice(children_of[r.family_id]), add=True)
    ref = pool.referrals()

    # Truth.
    children = areas.groupby("idaci_decile")["children"].sum()
    rows = [{"kind": "reach_trend", "level": "ward", "area_code": ward,
             "measure": "families_engaged", "value": REACH_FALL,
             "note": "yearly rate ratio of families engaged"}]
    for s in ("early_help", "childrens_centre"):
        rows.append({"kind": "rereferral", "level": "authority", "service": s,
                     "measure": f"rereferred_12m_{s}", "value": REREFERRAL[s],
                     "note": "share of each cohort re-referred within 12 months"})
        rows.append({"kind": "step_up", "level": "authority", "service": s,
                     "measure": f"stepped_up_12m_{s}",
                     "value": round(REREFERRAL[s] * STEP_UP_GIVEN_REREFERRAL[s], 4),
                     "note": "share of each cohort whose next referral went to social care"})
        p = np.array([EARLY_HELP_BY_DECILE[int(d)] if s == "early_help"
                      else 1 - EARLY_HELP_BY_DECILE[int(d)] for d in children.index])
        located = np.isfinite(fam_dec) & _has_valid_row(eng, eng_lsoa, families)
        n_by_dec = pd.Series(fam_dec[located]).value_counts().reindex(children.index,
                                                                      fill_value=0)
        expected = n_by_dec.to_numpy(dtype=float) * p
        realised = pd.Series(fam_dec[located & (fam_service == s)]).value_counts().reindex(
            children.index, fill_value=0).to_numpy(dtype=float)
        kids = children.to_numpy(dtype=float)
        rows.append({
            "kind": "targeting", "level": "authority", "service": s, "measure": f"families_{s}",
            "value": round(concentration_index(realised, kids).index, 4),
            "expected": round(concentration_index(expected, kids).index, 4),
            "share_deciles_1_3": round(float(realised[children.index <= 3].sum()
                                             / realised.sum()), 4),
            "note": "concentration index over the whole period of the families as drawn "
                    "(value) and as the design expects given where families live (expected)"})
    extra = pd.DataFrame(rows).assign(synthetic="yes")
    truth = pd.concat([truth, extra], ignore_index=True)
    fam_table["synthetic"] = "yes"
    return {"referrals": ref, "engagement": eng, "truth": truth, "families": fam_table}


def _has_valid_row(eng: pd.DataFrame, eng_lsoa: np.ndarray, families: pd.Index) -> np.ndarray:
    """True for families with a row a refresh keeps (they are the ones counted)."""
    ok = pd.Series(eng_lsoa != None, index=eng.index)  # noqa: E711
    return families.map(ok.groupby(eng["family_id"]).any()).to_numpy(dtype=bool)


def _falling_ward(areas: pd.DataFrame, truth: pd.DataFrame) -> str:
    planted = set(truth.get("lsoa_code", pd.Series(dtype=object)).dropna())
    g = areas.groupby("ward_code")
    wards = pd.DataFrame({
        "children": g["children"].sum(),
        "need": g.apply(lambda d: np.average(d["idaci_score"], weights=d["children"]),
                        include_groups=False),
        "planted": g["lsoa_code"].agg(lambda c: bool(set(c) & planted)),
    })
    ok = wards[~wards["planted"]] if (~wards["planted"]).any() else wards
    return str((ok["need"] - wards["need"].median()).abs().idxmin())


def _quarter(days: pd.Series) -> np.ndarray:
    d = pd.to_datetime(np.asarray(days, dtype="datetime64[D]"))
    return (d.year * 4 + (d.month - 1) // 3).to_numpy()


def _max_id(ids: pd.Series, prefix: str) -> int:
    nums = pd.to_numeric(ids.astype(str).str.removeprefix(prefix), errors="coerce")
    return int(nums.max()) if nums.notna().any() else 0


class _Pool:
    """Generated referrals to give to family children, by LSOA and outcome, in date order."""

    def __init__(self, ref: pd.DataFrame, pcs: pd.DataFrame, rng: np.random.Generator,
                 end: dt.date) -> None:
        self.ref = ref
        self.rng = rng
        self.end = int(np.datetime64(end, "D").astype(np.int64))
        self.day = _day(ref["cin_referral_date"], "%d/%m/%Y")
        self.lsoa = _locate(ref["postcode"], pcs)
        first = ~ref["cin_referral_id"].duplicated().to_numpy()
        self.by = {}
        ok = first & (self.lsoa != None)  # noqa: E711
        frame = pd.DataFrame({"i": np.flatnonzero(ok), "lsoa": self.lsoa[ok],
                              "outcome": ref["referral_outcome"].to_numpy()[ok],
                              "day": self.day[ok]}).sort_values("day", kind="stable")
        for (lsoa, outcome), grp in frame.groupby(["lsoa", "outcome"]):
            self.by[(lsoa, outcome)] = (grp["day"].to_numpy(), grp["i"].to_numpy())
        self.used: set[int] = set()
        self.person: dict[str, str] = {}
        self.added: list[dict] = []
        self.next_id = _max_id(ref["cin_referral_id"], "SYN-R") + 1
        self.home_postcode = (pd.DataFrame({"lsoa": self.lsoa, "pc": ref["postcode"]})
                              .dropna().groupby("lsoa")["pc"].first())

    def give(self, lsoa: str, lo: int, hi: int, outcomes: tuple[str, ...], person: str, *,
             add: bool) -> None:
        """Give one unused referral of ``lsoa`` dated ``lo``..``hi`` with one of ``outcomes``."""
        hi = min(hi, self.end)
        if hi < lo:
            return
        candidates = []
        for outcome in outcomes:
            days, idx = self.by.get((lsoa, outcome), (np.empty(0), np.empty(0, dtype=int)))
            a, b = np.searchsorted(days, lo, "left"), np.searchsorted(days, hi, "right")
            candidates += [int(i) for i in idx[a:b] if int(i) not in self.used]
        if candidates:
            i = candidates[int(self.rng.integers(len(candidates)))]
            self.used.add(i)
            self.person[str(self.ref["cin_referral_id"].iat[i])] = person
        elif add:
            day = int(self.rng.integers(lo, hi + 1))
            self.added.append({
                "cin_referral_id": f"SYN-R{self.next_id:06d}", "person_id": person,
                "cin_referral_date": pd.Timestamp(np.datetime64(day, "D")).strftime("%d/%m/%Y"),
                "postcode": self.home_postcode.get(lsoa, ""), "referral_source": "Other",
                "primary_need": "N1", "referral_outcome": outcomes[0],
                "nfa": "Y" if outcomes[0] == "No further action" else "N", "synthetic": "yes",
            })
            self.next_id += 1

    def referrals(self) -> pd.DataFrame:
        out = self.ref.copy()
        given = out["cin_referral_id"].map(self.person)
        out["person_id"] = given.fillna(out["person_id"]).to_numpy()
        if self.added:
            out = pd.concat([out, pd.DataFrame(self.added)[out.columns]], ignore_index=True)
            day = _day(out["cin_referral_date"], "%d/%m/%Y")
            out = out.iloc[np.argsort(day, kind="stable")].reset_index(drop=True)
        return out
