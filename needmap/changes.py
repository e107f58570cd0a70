"""What changed between two releases: flags that appeared, cleared or changed class, and areas
whose trajectory verdict changed. Published figures only: both sides are the flags and trend
tables the two snapshots publish, so a change says nothing either release does not.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["CHANGE_COLUMNS", "FLAGGED", "changes_between"]

#: The classes that put an area on a list, by flag kind; any other class is "not flagged".
FLAGGED = {
    "engagement": ("off the radar", "watch"),
    "referrals": ("hidden need", "front-door pressure", "watch"),
}
#: Trend measures whose verdict changes are reported, and how they are named.
VERDICT_MEASURES = {"families_engaged": "reach trend", "referrals": "referrals trend"}
NOT_FLAGGED = "not flagged"
CHANGE_COLUMNS = ["level", "area_code", "area_name", "what", "before", "after", "change"]
_ORDER = {"appeared": 0, "changed class": 1, "verdict changed": 2, "cleared": 3}


def _flag_state(flags: pd.DataFrame, kind: str) -> pd.DataFrame:
    f = flags[flags["kind"] == kind]
    state = f["flag"].where(f["flag"].isin(FLAGGED[kind]), NOT_FLAGGED)
    return pd.DataFrame({"level": f["level"].astype(str).to_numpy(),
                         "area_code": f["area_code"].astype(str).to_numpy(),
                         "area_name": f["area_name"].astype(str).to_numpy(),
                         "state": state.to_numpy()})


def changes_between(before_flags: pd.DataFrame, after_flags: pd.DataFrame,
                    before_trends: pd.DataFrame | None = None,
                    after_trends: pd.DataFrame | None = None,
                    names: dict[str, str] | None = None) -> pd.DataFrame:
    """Every published change from one release to the next (:data:`CHANGE_COLUMNS`).

    ``*_flags`` are snapshots' flags tables (``level, kind, area_code, area_name, flag``);
    ``*_trends`` their trend summaries (``level, area_code, measure, verdict``), or None where a
    release has none. An area present in one release only (new boundaries) is left out.
    ``names`` maps area codes to names for trend rows (flags carry their own).
    """
    rows = []
    for kind in FLAGGED:
        a, b = _flag_state(before_flags, kind), _flag_state(after_flags, kind)
        m = a.merge(b, on=["level", "area_code"], suffixes=("_a", "_b"))
        m = m[m["state_a"] != m["state_b"]]
        for r in m.itertuples(index=False):
            change = ("appeared" if r.state_a == NOT_FLAGGED else
                      "cleared" if r.state_b == NOT_FLAGGED else "changed class")
            rows.append((r.level, r.area_code, r.area_name_b, f"{kind} flag", r.state_a,
                         r.state_b, change))
    if before_trends is not None and after_trends is not None:
        names = names or {}
        for measure, what in VERDICT_MEASURES.items():
            cols = ["level", "area_code", "verdict"]
            a = before_trends.loc[before_trends["measure"] == measure, cols]
            b = after_trends.loc[after_trends["measure"] == measure, cols]
            m = a.astype(str).merge(b.astype(str), on=["level", "area_code"],
                                    suffixes=("_a", "_b"))
            m = m[m["verdict_a"] != m["verdict_b"]]
            for r in m.itertuples(index=False):
                rows.append((r.level, r.area_code, names.get(r.area_code, r.area_code), what,
                             r.verdict_a, r.verdict_b, "verdict changed"))
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    level_order = {"authority": 0, "ward": 1, "lsoa": 2}
    out = out.sort_values(
        ["change", "level", "what", "area_name"],
        key=lambda s: s.map(_ORDER) if s.name == "change" else
        s.map(level_order) if s.name == "level" else s,
    )
    return out.reset_index(drop=True)
