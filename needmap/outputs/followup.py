"""What followed engagement: of the families engaged in a quarter or financial year, the share
re-referred within 12 months, the share whose next referral went to social care (stepped up), and
the share with no further referral, by area, zone and service, beside the authority's.

These describe what followed, not what engagement caused: families re-referred after early help
may have been re-referred without it, or more often. Only cohorts whose 12-month follow-up is
complete by the period end are published (``needmap.indicators.follow_up_periods``). Every count
is a protected cell (the cohort is the published ``families_engaged`` or service count of the
same area and period); shares are protected parts over protected wholes, hidden where either is;
a zone sums its areas' protected values with stand-ins and hides a sum from 1 to the threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from needmap.disclosure import SUPPRESSED
from needmap.errors import InputError
from needmap.indicators import COHORT_SERVICES, FOLLOWUP_COHORTS
from needmap.snapshot import Snapshot

__all__ = ["FOLLOWUP_COLUMNS", "SERVICE_LABELS", "cohort_periods", "followup_table"]

SERVICE_LABELS = {"all": "All services", "early_help": "Early help",
                  "childrens_centre": "Children's centres"}
FOLLOWUP_COLUMNS = ["area_code", "area_name", "level", "service", "cohort", "families",
                    "rereferred", "stepped_up", "rereferred_share", "stepped_up_share",
                    "no_further_referral_share", "authority_rereferred_share",
                    "authority_stepped_up_share", "authority_no_further_referral_share"]


def _measures(service: str) -> tuple[str, str, str]:
    suffix = "" if service == "all" else f"_{service}"
    cohort = "families_engaged" if service == "all" else f"families_{service}"
    return cohort, f"rereferred_12m{suffix}", f"stepped_up_12m{suffix}"


def cohort_periods(snapshot: Snapshot, kind: str | None = None) -> list[str]:
    """Published periods with a complete follow-up (quarters and financial years), oldest first."""
    have = set(snapshot.protected.loc[snapshot.protected["measure"].astype(str)
                                      == "rereferred_12m", "period"].astype(str))
    p = snapshot.periods
    if kind is not None:
        p = p[p["kind"] == kind]
    return [x for x in p["period"].astype(str) if x in have]


def _wide(snapshot: Snapshot, level: str, periods: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = snapshot.protected
    wanted = set(FOLLOWUP_COHORTS) | set(FOLLOWUP_COHORTS.values())
    sel = t[(t["level"] == level) & t["period"].astype(str).isin(periods)
            & t["measure"].astype(str).isin(wanted)]
    idx = [sel["area_code"].astype(str), sel["period"].astype(str)]
    value = sel["value"].astype(float).groupby(idx + [sel["measure"].astype(str)]).first()
    shown = sel["shown"].astype(bool).groupby(idx + [sel["measure"].astype(str)]).first()
    return value.unstack(), shown.unstack()


def _share(num: np.ndarray, den: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return np.where(hidden, np.nan, np.round(out, 3))


def followup_table(snapshot: Snapshot, level: str, *, periods: list[str] | None = None,
                   labels: pd.DataFrame | None = None, plan_level: str | None = None
                   ) -> pd.DataFrame:
    """What followed engagement, one row per area (or zone), service and cohort period.

    ``level`` is "lsoa", "ward", "authority" or "zone" (then ``labels`` and ``plan_level``
    give the saved plan). Counts are published values (``c`` when hidden); shares are NaN where
    hidden. ``periods`` defaults to every cohort with a complete follow-up.
    """
    periods = periods or cohort_periods(snapshot)
    if not periods:
        raise InputError(
            f"Snapshot {snapshot.id} has no cohort whose 12-month follow-up is complete: the "
            "records must reach at least 12 months past the end of a published quarter."
        )
    unknown = set(periods) - set(cohort_periods(snapshot))
    if unknown:
        raise InputError(f"No complete 12-month follow-up for {sorted(unknown)}; cohorts with "
                         f"one: {', '.join(cohort_periods(snapshot))}.")
    auth_v, auth_s = _wide(snapshot, "authority", periods)
    if level == "zone":
        if labels is None or plan_level is None:
            raise InputError("Zone figures need a saved zone plan.")
        v, s = _wide(snapshot, plan_level, periods)
        zone_of = labels.set_index(labels["area_code"].astype(str))["zone"].astype(int)
        zones = v.index.get_level_values(0).map(zone_of)
        keep = zones.notna()
        v = v[keep].groupby([zones[keep].astype(int).astype(str),
                             v.index.get_level_values(1)[keep]]).sum()
        s = ~((v >= 1) & (v <= snapshot.threshold))
        names = {str(z): f"Zone {z}" for z in zone_of.unique()}
    elif level in ("lsoa", "ward"):
        v, s = _wide(snapshot, level, periods)
        areas = snapshot.areas(level)
        names = dict(zip(areas[f"{level}_code"].astype(str), areas[f"{level}_name"].astype(str),
                         strict=True))
    elif level == "authority":
        v, s = auth_v, auth_s
        names = {snapshot.authority_code: snapshot.authority_name}
    else:
        raise InputError(f"level must be lsoa, ward, authority or zone, got {level!r}.")
    frames = []
    for service in ("all", *COHORT_SERVICES):
        cohort, rer, step = _measures(service)
        if cohort not in v:
            continue
        fam, n_r, n_s = (v[c].to_numpy(dtype=float) for c in (cohort, rer, step))
        h_f, h_r, h_s = (~s[c].fillna(False).to_numpy(dtype=bool) for c in (cohort, rer, step))
        a = pd.DataFrame({c: auth_v[c] for c in (cohort, rer, step)})
        ah = pd.DataFrame({c: ~auth_s[c].astype(bool) for c in (cohort, rer, step)})
        period_of = v.index.get_level_values(1)
        a_f = a[cohort].droplevel(0).reindex(period_of).to_numpy(dtype=float)
        a_r = a[rer].droplevel(0).reindex(period_of).to_numpy(dtype=float)
        a_s = a[step].droplevel(0).reindex(period_of).to_numpy(dtype=float)
        a_hf = ah[cohort].droplevel(0).reindex(period_of).to_numpy(dtype=bool)
        a_hr = ah[rer].droplevel(0).reindex(period_of).to_numpy(dtype=bool)
        a_hs = ah[step].droplevel(0).reindex(period_of).to_numpy(dtype=bool)
        codes = v.index.get_level_values(0).astype(str)
        frames.append(pd.DataFrame({
            "area_code": codes, "area_name": [names.get(c, c) for c in codes],
            "level": level, "service": SERVICE_LABELS[service], "cohort": period_of,
            "families": _counts(fam, h_f), "rereferred": _counts(n_r, h_r),
            "stepped_up": _counts(n_s, h_s),
            "rereferred_share": _share(n_r, fam, h_r | h_f),
            "stepped_up_share": _share(n_s, fam, h_s | h_f),
            "no_further_referral_share": _share(fam - n_r, fam, h_r | h_f),
            "authority_rereferred_share": _share(a_r, a_f, a_hr | a_hf),
            "authority_stepped_up_share": _share(a_s, a_f, a_hs | a_hf),
            "authority_no_further_referral_share": _share(a_f - a_r, a_f, a_hr | a_hf),
        }))
    out = pd.concat(frames, ignore_index=True)
    order = {p: i for i, p in enumerate(periods)}
    out = out.sort_values(["cohort", "area_code"],
                          key=lambda c: c.map(order) if c.name == "cohort" else c, kind="stable")
    return out[FOLLOWUP_COLUMNS].reset_index(drop=True)


def _counts(values: np.ndarray, hidden: np.ndarray) -> list[object]:
    return [SUPPRESSED if h else int(x) for x, h in zip(values, hidden, strict=True)]
