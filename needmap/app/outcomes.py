"""Small render functions for outcomes on the pages: trajectories, what changed, who each service
reaches and what followed. Each page calls one of these in a line; the figures come from
``needmap.outputs`` (protected values only), the same calls the CLI makes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from needmap.app import widgets
from needmap.errors import NeedmapError
from needmap.outputs.changes import stored_changes
from needmap.outputs.followup import cohort_periods, followup_table
from needmap.outputs.targeting import targeting_table
from needmap.outputs.trajectories import (
    MEASURE_LABELS,
    RATE_LABEL,
    Trajectory,
    zone_trajectory,
    zones_trends,
)
from needmap.outputs.trajectories import area_trajectory as _area_trajectory
from needmap.snapshot import Snapshot

CHANGE_LABELS = {"area_name": "Area", "area_code": "Code", "level": "Level", "what": "What",
                 "before": "Before", "after": "After", "change": "Change"}


def what_changed(snapshot: Snapshot) -> None:
    """A line on what changed since the last refresh, the list in an expander."""
    try:
        changes = stored_changes(snapshot)
    except NeedmapError as exc:
        st.caption(str(exc))
        return
    st.info(f"**What changed.** {changes.summary()}", icon=":material/update:")
    if len(changes.table):
        with st.expander(f"What changed ({len(changes.table)})"):
            st.dataframe(changes.table.rename(columns=CHANGE_LABELS), hide_index=True,
                         width="stretch", key=f"changes_{snapshot.id}")


def _chart(tr: Trajectory, measure: str) -> alt.LayerChart:
    data = tr.chart_frame(measure)
    x = alt.X("quarter:O", title="Quarter")
    y_title = f"{MEASURE_LABELS[measure]} {RATE_LABEL}"
    band = alt.Chart(data[data["series"] != "published"]).mark_area(opacity=0.25).encode(
        x=x, y=alt.Y("lower:Q", title=y_title), y2="upper:Q",
        color=alt.Color("series:N", title=None))
    line = alt.Chart(data[data["series"] != "published"]).mark_line().encode(
        x=x, y="rate:Q", color=alt.Color("series:N", title=None),
        strokeDash=alt.StrokeDash("series:N", legend=None))
    dots = alt.Chart(data[data["series"] == "published"]).mark_circle(size=45,
                                                                      color="#333").encode(
        x=x, y="rate:Q", tooltip=["quarter", alt.Tooltip("rate:Q", format=",.1f")])
    return band + line + dots


def show_trajectory(tr: Trajectory, key: str) -> None:
    """Verdict sentences and a chart (published quarters, trend, forecast band)."""
    st.markdown(f"**Trajectory** ({RATE_LABEL})")
    for sentence in tr.sentences():
        st.markdown(f"- {sentence}")
    measure = st.radio("Trajectory of", list(MEASURE_LABELS), horizontal=True,
                       format_func=MEASURE_LABELS.get, key=f"trajectory_{key}")
    if tr.lines[tr.lines["measure"] == measure].empty:
        # A chart of the published quarters alone adds nothing to the quarter-by-quarter one.
        st.caption("Too few published quarters (not 0 and not hidden) for a trend line.")
    else:
        st.altair_chart(_chart(tr, measure), width="stretch")
    ratio = tr.quarters[(tr.quarters["measure"] == "families_engaged")
                        & tr.quarters["reach_ratio"].notna()]
    if len(ratio):
        last = ratio.iloc[-1]
        st.caption(f"Reach against need in {last['quarter']}: {last['reach_ratio']:.2f} of the "
                   "families its need predicts (the radar's expected for the period, spread "
                   "over its quarters). Quarters with a hidden count are left out.")


def area_trajectory(snapshot: Snapshot, level: str, code: str) -> None:
    """The trajectory of one area in the detail panel."""
    try:
        tr = _area_trajectory(snapshot, level, code)
    except NeedmapError as exc:
        st.caption(str(exc))
        return
    show_trajectory(tr, f"{level}_{code}")


def zone_trajectory_panel(snapshot: Snapshot, labels: pd.DataFrame, zone: int,
                          level: str) -> None:
    """A zone's trajectory (fitted on its areas' protected values) on My zone."""
    try:
        tr = zone_trajectory(snapshot, labels, zone, level=level)
    except NeedmapError as exc:
        st.caption(str(exc))
        return
    show_trajectory(tr, f"zone_{zone}")


def zones_trends_table(snapshot: Snapshot, labels: pd.DataFrame, level: str) -> None:
    """Each zone's trend verdicts on the Zones page."""
    try:
        table = zones_trends(snapshot, labels, level=level)
    except NeedmapError as exc:
        st.caption(str(exc))
        return
    st.markdown("**Trajectories by zone** (a Poisson trend over the published quarters; rising "
                "or falling only when the whole 95% interval says so)")
    fmt = {c: st.column_config.NumberColumn(format="percent") for c in table.columns
           if c.endswith("change a year")}
    st.dataframe(table.rename(columns={"zone": "Zone"}), hide_index=True, width="stretch",
                 column_config=fmt, key=f"zones_trends_{level}")


TARGETING_HEADINGS = {
    "zone": "Zone", "service": "Service", "families": "Families",
    "share_top_deciles": "Families in most deprived 30%",
    "children_share_top_deciles": "Children there", "concentration_index": "Concentration index",
    "ci_lower": "Index: 95% interval from", "ci_upper": "Index: 95% interval to",
    "targeting": "Targeting", "change_a_year": "Index change a year",
    "change_lower": "Change: 95% interval from", "change_upper": "Change: 95% interval to",
    "trend": "Trend",
}
TARGETING_KINDS = {"families": "count", "share_top_deciles": "share",
                   "children_share_top_deciles": "share", "concentration_index": "index",
                   "ci_lower": "index", "ci_upper": "index",
                   "change_a_year": "index", "change_lower": "index", "change_upper": "index"}
FOLLOWUP_HEADINGS = {
    "service": "Service", "cohort": "Engaged in", "families": "Families engaged",
    "rereferred": "Referred again", "stepped_up": "Stepped up",
    "rereferred_share": "Share referred again", "stepped_up_share": "Share stepped up",
    "no_further_referral_share": "Share with no further referral",
}
FOLLOWUP_KINDS = {"families": "count", "rereferred": "count", "stepped_up": "count",
                  "rereferred_share": "share", "stepped_up_share": "share",
                  "no_further_referral_share": "share"}


def services_panel(snapshot: Snapshot) -> None:
    """Who each service reaches and what followed engagement, in an expander."""
    with st.expander("Who each service reaches, and what followed engagement"):
        try:
            table = targeting_table(snapshot)
            for sentence in table["sentence"]:
                if sentence:
                    st.markdown(f"- {sentence}")
            st.caption("Concentration index below 0: families concentrated among the most "
                       "deprived children (national IDACI deciles).")
            widgets.table(table.drop(columns=["sentence", "period"]),
                          headings=TARGETING_HEADINGS, kinds=TARGETING_KINDS,
                          key="services_targeting")
            cohorts = cohort_periods(snapshot, "year") or cohort_periods(snapshot, "quarter")
            if cohorts:
                follow = followup_table(snapshot, "authority", periods=[cohorts[-1]])
                st.markdown(f"**What followed engagement** for families engaged in "
                            f"{cohorts[-1]} (12 months of follow-up; what followed, not what "
                            "engagement caused)")
                widgets.table(follow[list(FOLLOWUP_HEADINGS)], headings=FOLLOWUP_HEADINGS,
                              kinds=FOLLOWUP_KINDS, key="services_followup")
        except NeedmapError as exc:
            st.caption(str(exc))
