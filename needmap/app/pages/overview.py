"""Overview: a choropleth of any published figure, a detail panel on click or by name, need x
engagement."""

from __future__ import annotations

import altair as alt
import streamlit as st

from needmap.app import outcomes, state, widgets
from needmap.app.offline import show_prepared
from needmap.errors import NeedmapError
from needmap.outputs.maps.classes import SCHEMES
from needmap.outputs.maps.layers import (
    change_map,
    measure_map,
    measures_for,
    need_engagement_map,
)
from needmap.outputs.measures import CHANGE_IN_NEED, MEASURES
from needmap.outputs.profile import area_profile
from needmap.outputs.tables import CHANGE_MEASURES, comparable_periods

CHANGE = "change"
SCHEME_LABELS = {"quantiles": "Quantiles", "natural_breaks": "Natural breaks (Fisher-Jenks)",
                 "equal_interval": "Equal interval"}
PERIOD_KINDS = {"year": "Financial years", "quarter": "Quarters"}
#: Short enough that the map and the panel beside it fit a laptop screen.
MAP_HEIGHT = 520

access = state.require("overview")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title(f"{snap.authority_name}: need, referrals and reach")
st.caption(f"Period {snap.period_start} to {snap.period_end} · deprivation {snap.vintage} · "
           f"children {snap.children_label} · snapshot {snap.id} · counts from 1 to "
           f"{snap.threshold} (and some zeros) shown as c")
outcomes.what_changed(snap)

c1, c2, c3, c4 = st.columns([1, 2.4, 1.3, 1])
level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label, key="level",
                 index=["lsoa", "ward"].index(state.default_level(snap)))
options = [*measures_for(snap, level), CHANGE]


def _measure_label(key: str) -> str:
    if key == CHANGE:
        return "Change between two periods"
    if key in CHANGE_IN_NEED:  # the map's legend gives the full wording
        return (f"{CHANGE_IN_NEED[key].label}, {snap.previous_vintage or 'before'} to "
                f"{snap.vintage}")
    return MEASURES[key].label


if st.session_state.get("measure") not in options:
    st.session_state.pop("measure", None)
measure = c2.selectbox("Measure", options, index=options.index(config.maps.measure),
                       key="measure", format_func=_measure_label)
# A change is drawn on its own diverging scale: the class choices do not apply to it.
fixed_scale = measure == CHANGE or measure in CHANGE_IN_NEED
scheme = c3.selectbox("Classes by", SCHEMES, index=list(SCHEMES).index(config.maps.scheme),
                      format_func=SCHEME_LABELS.get, key="scheme", disabled=fixed_scale)
k = c4.slider("Classes", 3, 9, config.maps.classes, key="k", disabled=fixed_scale)

layer = state.display_layer(snap.id, level)
outline = state.outline_layer(snap.id)
common = dict(level=level, display=layer, outline=outline, tiles=config.maps.tile_url,
              tiles_attribution=config.maps.tile_attribution)
choice: tuple = (snap.id, "overview", level, measure, scheme, k)
try:
    if measure == CHANGE:
        d1, d2, d3, d4 = st.columns([2, 1, 1, 1])
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
    selected, map_key = f"selected_{level}", f"map-{level}"
    picked, seen, marked = f"pick_{level}", f"_click_{level}", f"_marked_{level}"
    # A click reaches the session before this run starts (the map's on_change) and the map has
    # already marked its area; the page marks an area only when it was picked in the list, or
    # when a new map is drawn (each change of mark resends the map's script).
    clicked = st.session_state.get(map_key) or {}
    if clicked.get("last_active_drawing"):
        click = (clicked["last_active_drawing"]["properties"][f"{level}_code"],
                 str(clicked.get("last_object_clicked")))
        if click != st.session_state.get(seen):
            st.session_state[seen] = click
            st.session_state[selected] = click[0]
    code = st.session_state.get(selected)
    if st.session_state.get(picked) != code:
        st.session_state[picked] = code
    mark = st.session_state.get(marked)
    if mark is None or mark["map"] != choice:
        mark = st.session_state[marked] = {"map": choice, "code": code,
                                           "version": (mark or {}).get("version", 0) + 1}

    def on_pick() -> None:
        st.session_state[selected] = st.session_state[picked]
        st.session_state[marked] = {"map": choice, "code": st.session_state[picked],
                                    "version": st.session_state[marked]["version"] + 1}

    left, right = st.columns([3, 2])
    with left:
        show_prepared(prepared, key=map_key, height=MAP_HEIGHT, selected=mark["code"],
                      version=mark["version"])
    with right:
        names = dict(zip(layer[f"{level}_code"].astype(str), layer[f"{level}_name"].astype(str),
                         strict=True))
        widgets.area_picker(sorted(names, key=lambda c: (names[c], c)), names, key=picked,
                            on_pick=on_pick)
        if not code:
            st.info("Click an area on the map, or find it by name above, to see its figures, "
                    "trend and schools.")
        else:
            p = area_profile(snap, level, code)
            title = f"{p.name} ({p.code})"
            if p.ward_name:
                title += f", {p.ward_name} ward"
            st.subheader(title)
            st.table(p.figures, hide_index=True, border="horizontal")
            st.markdown("**Quarter by quarter**, per 1,000 children a year (quarters with a "
                        "hidden count are left out)")
            if p.trend_drawable:
                ink = "#333333"
                series = alt.Legend(orient="top", title=None, labelColor=ink)
                chart = alt.Chart(p.trend).mark_line(point=True).encode(
                    x=alt.X("quarter:O", title="Quarter",
                            axis=alt.Axis(labelAngle=-45, labelColor=ink, titleColor=ink)),
                    y=alt.Y("rate:Q", title="Per 1,000 a year",
                            axis=alt.Axis(format=",.0f", tickMinStep=1, labelColor=ink,
                                          titleColor=ink)),
                    # ColorBrewer Dark2 (3:1 or more on white) and a dash: not colour alone.
                    color=alt.Color("series:N", legend=series,
                                    scale=alt.Scale(range=["#7570b3", "#d95f02"])),
                    strokeDash=alt.StrokeDash("series:N", legend=series),
                    tooltip=[alt.Tooltip("quarter", title="Quarter"),
                             alt.Tooltip("series", title="Figure"),
                             alt.Tooltip("rate:Q", title="Per 1,000 children a year",
                                         format=",.1f")],
                ).properties(height=320)
                st.altair_chart(chart, width="stretch")
            else:
                st.caption(f"Too few for a trend line: every quarter's count here is 0 or "
                           f"hidden (1 to {snap.threshold}, shown as c).")
                widgets.table(p.quarters, headings={"quarter": "Quarter"},
                              key=f"quarters_{level}")
            outcomes.area_trajectory(snap, level, code)
            st.markdown(f"**Schools {p.schools_where}** ({len(p.schools)})")
            if len(p.schools):
                widgets.table(p.schools[["name", "phase", "urn"]], key=f"schools_{level}")
            else:
                st.caption("No open school lies inside this area or its ward.")
with tab_bivariate:
    st.markdown(
        "Need (IDACI percentile) across, engagement (families engaged per 1,000 children a "
        f"year) up, each cut into thirds within {snap.authority_name}. **Dark red, hatched: high "
        "need with low engagement**, the areas to look at first. Red: engagement below what "
        "need suggests; blue: above it; purple: in step. The key counts the areas in each cell."
    )
    if tab_bivariate.open:
        bivariate = state.prepared_map(
            (snap.id, "overview-bivariate", level),
            lambda: need_engagement_map(snap, **common),
        )
        show_prepared(bivariate, key=f"bivariate-{level}", height=MAP_HEIGHT)
outcomes.services_panel(snap)
