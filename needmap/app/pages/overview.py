"""Overview: a choropleth of any published figure, a detail panel on click, need x engagement."""

from __future__ import annotations

import altair as alt
import streamlit as st

from needmap.app import outcomes, state
from needmap.app.offline import show_prepared
from needmap.errors import NeedmapError
from needmap.outputs.maps.classes import SCHEMES
from needmap.outputs.maps.layers import (
    change_map,
    measure_map,
    measures_for,
    need_engagement_map,
)
from needmap.outputs.measures import CHANGE_IN_NEED, MEASURES, change_in_need_label
from needmap.outputs.profile import area_profile
from needmap.outputs.tables import CHANGE_MEASURES, comparable_periods

CHANGE = "change"
SCHEME_LABELS = {"quantiles": "Quantiles", "natural_breaks": "Natural breaks (Fisher-Jenks)",
                 "equal_interval": "Equal interval"}
PERIOD_KINDS = {"year": "Financial years", "quarter": "Quarters"}

access = state.require("overview")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title(f"{snap.authority_name}: need, referrals and reach")
st.caption(f"Period {snap.period_start} to {snap.period_end} · deprivation {snap.vintage} · "
           f"children {snap.children_label} · snapshot {snap.id} · counts from 1 to "
           f"{snap.threshold} shown as c")
outcomes.what_changed(snap)

c1, c2, c3, c4 = st.columns([1, 2, 1.4, 1])
level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label, key="level",
                 index=["lsoa", "ward"].index(state.default_level(snap)))
options = [*measures_for(snap, level), CHANGE]


def _measure_label(key: str) -> str:
    if key == CHANGE:
        return "Change between two periods"
    if key in CHANGE_IN_NEED:
        return change_in_need_label(key, snap.previous_vintage, snap.vintage)
    return MEASURES[key].label


if st.session_state.get("measure") not in options:
    st.session_state.pop("measure", None)
measure = c2.selectbox("Measure", options, index=options.index(config.maps.measure),
                       key="measure", format_func=_measure_label)
scheme = c3.selectbox("Classes by", SCHEMES, index=list(SCHEMES).index(config.maps.scheme),
                      format_func=SCHEME_LABELS.get, key="scheme")
k = c4.slider("Classes", 3, 9, config.maps.classes, key="k")

layer = state.display_layer(snap.id, level)
outline = state.outline_layer(snap.id)
common = dict(level=level, display=layer, outline=outline, tiles=config.maps.tile_url,
              tiles_attribution=config.maps.tile_attribution)
choice: tuple = (snap.id, "overview", level, measure, scheme, k)
try:
    if measure == CHANGE:
        d1, d2, d3, d4 = st.columns(4)
        base = d1.selectbox("Of", CHANGE_MEASURES, format_func=lambda x: MEASURES[x].label,
                            key="change_measure")
        kinds = [kd for kd in PERIOD_KINDS if len(comparable_periods(snap, kd)) >= 2]
        if not kinds:
            raise NeedmapError("This snapshot publishes fewer than two quarters: there is "
                               "nothing to compare yet.")
        kind = d2.radio("Compare", kinds, format_func=PERIOD_KINDS.get, key="change_kind")
        periods = comparable_periods(snap, kind)
        before = d3.selectbox("Before", periods[:-1], index=max(0, len(periods) - 2 - (
            4 if kind == "quarter" and len(periods) > 5 else 0)), key=f"before_{kind}")
        later = [p for p in periods if p > before]
        after = d4.selectbox("After", later, index=len(later) - 1, key=f"after_{kind}")
        choice += (base, before, after)

        def build():
            return change_map(snap, measure=base, before=before, after=after, **common)
    else:
        def build():
            return measure_map(snap, measure=measure, scheme=scheme, k=k, **common)

    prepared = state.prepared_map(choice, build)
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()

# Only the open tab's map is built and sent (a national ward map is megabytes).
tab_map, tab_bivariate = st.tabs(["Map", "Need x engagement"], key="overview_tab",
                                 on_change="rerun")
with tab_map:
    left, right = st.columns([3, 2])
    with left:
        out = show_prepared(prepared, key=f"map-{level}", height=560)
        feature = (out or {}).get("last_active_drawing")
        if feature:
            st.session_state[f"selected_{level}"] = feature["properties"][f"{level}_code"]
    with right:
        code = st.session_state.get(f"selected_{level}")
        if not code:
            st.info("Click an area on the map to see its figures, trend and schools.")
        else:
            p = area_profile(snap, level, code)
            title = f"{p.name} ({p.code})"
            if p.ward_name:
                title += f", {p.ward_name} ward"
            st.subheader(title)
            st.dataframe(p.figures, hide_index=True, width="stretch")
            st.markdown("**Quarter by quarter**, per 1,000 children a year (quarters with a "
                        "hidden count are left out)")
            if len(p.trend):
                chart = alt.Chart(p.trend).mark_line(point=True).encode(
                    x=alt.X("quarter:O", title="Quarter"),
                    y=alt.Y("rate:Q", title="Per 1,000 children a year"),
                    color=alt.Color("series:N", title=None),
                    tooltip=["quarter", "series", alt.Tooltip("rate:Q", format=",.1f")],
                )
                st.altair_chart(chart, width="stretch")
            outcomes.area_trajectory(snap, level, code)
            st.markdown(f"**Schools in this area** ({len(p.schools)})")
            if len(p.schools):
                st.dataframe(p.schools.rename(columns={"name": "School", "phase": "Phase",
                                                       "urn": "URN", "area_code": "Area"}),
                             hide_index=True, width="stretch")
            else:
                st.caption("No open school lies inside this area.")
with tab_bivariate:
    st.markdown("Need (IDACI percentile) across, engagement (families engaged per 1,000 "
                "children a year) up, each cut at the authority's tertiles. **High need with "
                "low engagement is the strongest red.**")
    if tab_bivariate.open:
        bivariate = state.prepared_map(
            (snap.id, "overview-bivariate", level),
            lambda: need_engagement_map(snap, **common),
        )
        show_prepared(bivariate, key=f"bivariate-{level}", height=560)
outcomes.services_panel(snap)
