"""Overview: a choropleth of any measure, a detail panel on click, and need x engagement."""

from __future__ import annotations

import streamlit as st

from needmap.app import state
from needmap.app.offline import show_prepared
from needmap.errors import NeedmapError
from needmap.maps import SCHEMES
from needmap.measures import CHANGE_MEASURES, MEASURES, change_between
from needmap.profile import area_profile
from needmap.views import measure_map, need_engagement_map

CHANGE = "change"
SCHEME_LABELS = {"quantiles": "Quantiles", "natural_breaks": "Natural breaks (Fisher-Jenks)",
                 "equal_interval": "Equal interval"}

access = state.require("overview")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
m = snap.manifest
st.title(f"{m['authority_name']}: need, referrals and reach")
st.caption(f"Period {m['period_start']} to {m['period_end']} · snapshot {snap.id} · counts from 1 "
           f"to {m['disclosure_threshold']} shown as c")

c1, c2, c3, c4 = st.columns([1, 2, 1.4, 1])
level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label, key="level",
                 index=["lsoa", "ward"].index(state.default_level(snap)))
options = [*MEASURES, CHANGE]
measure = c2.selectbox(
    "Measure", options, index=options.index("referral_rate"), key="measure",
    format_func=lambda k: "Change between two periods" if k == CHANGE else MEASURES[k].label,
)
scheme = c3.selectbox("Classes by", SCHEMES, format_func=SCHEME_LABELS.get, key="scheme")
k = c4.slider("Classes", 3, 9, 5, key="k")

layer = state.display_layer(snap.id, level)
outline = state.outline_layer(snap.id)
threshold = int(m["disclosure_threshold"])
kwargs = dict(level=level, threshold=threshold, attribution=state.attribution(snap),
              scheme=scheme, k=k, outline=outline, tiles=config.maps.tile_url,
              tiles_attribution=config.maps.tile_attribution)
choice: tuple = (snap.id, "overview", level, measure, scheme, k)
try:
    if measure == CHANGE:
        quarters = state.quarters(snap)
        d1, d2, d3 = st.columns(3)
        base = d1.selectbox("Of", CHANGE_MEASURES, format_func=lambda x: MEASURES[x].label,
                            key="change_measure")
        default_before = quarters[max(0, len(quarters) - 8): max(1, len(quarters) - 4)]
        before = d2.select_slider("Before", quarters, value=(default_before[0], default_before[-1]),
                                  key="before")
        after = d3.select_slider("After", quarters, value=(quarters[-4], quarters[-1]),
                                 key="after")
        ch = change_between(snap.quarterly(level), code_column=f"{level}_code", measure=base,
                            before=before, after=after).set_index(f"{level}_code")
        values = ch["change"].reindex(layer[f"{level}_code"])
        choice += (base, before, after)

        def build():
            return measure_map(layer, measure=base, values=values,
                               value_label=f"Change in {MEASURES[base].label.lower()}", **kwargs)
    else:
        def build():
            return measure_map(layer, measure=measure, **kwargs)

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
            st.markdown("**Quarter by quarter** (rates per 1,000 children a year; gaps are "
                        "suppressed)")
            st.line_chart(p.trend[["referral_rate", "reach_rate"]], height=220)
            st.markdown(f"**Schools in this area** ({len(p.schools)})")
            if len(p.schools):
                st.dataframe(p.schools, hide_index=True, width="stretch")
with tab_bivariate:
    st.markdown("Need (IDACI percentile) across, engagement (families engaged per 1,000 "
                "children) up, each cut at the authority's tertiles. **Dark red: high need, low "
                "engagement.**")
    if tab_bivariate.open:
        bivariate = state.prepared_map(
            (snap.id, "overview-bivariate", level),
            lambda: need_engagement_map(layer, level=level, threshold=threshold,
                                        attribution=state.attribution(snap), outline=outline,
                                        tiles=config.maps.tile_url,
                                        tiles_attribution=config.maps.tile_attribution),
        )
        show_prepared(bivariate, key=f"bivariate-{level}", height=560)
