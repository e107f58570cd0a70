"""Off the radar: areas whose engagement (or referrals) is far from what their need predicts."""

from __future__ import annotations

import altair as alt
import streamlit as st

from needmap.app import outcomes, state, widgets
from needmap.app.offline import show_prepared
from needmap.errors import NeedmapError
from needmap.outputs import flags as flag_words
from needmap.outputs.files import csv_text
from needmap.outputs.maps.layers import flag_map, need_engagement_map
from needmap.outputs.tables import flags_table

MAP_HEIGHT = 520

access = state.require("off_radar")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title("Off the radar")
outcomes.what_changed(snap)
c1, c2 = st.columns(2)
level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label, key="radar_level")
measure = c2.radio(
    "Look at", ["engagement", "referrals"], key="radar_measure",
    format_func={"engagement": "Engagement (off the radar)",
                 "referrals": "Referrals (hidden need / front-door pressure)"}.get,
)
try:
    table = flags_table(snap, level, measure)
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()

counts = table["flag"].value_counts().to_dict()
what = ("engagement (families engaged) is" if measure == "engagement"
        else "number of referrals is")
st.markdown(
    f"Each area's {what} compared with what its need predicts: "
    f"{flag_words.method_words(snap)}. A gap counts only when it is beyond what chance "
    "explains, allowing for the usual spread between areas. "
    "**Flags support professional judgement: they describe areas, never families.**"
)
st.markdown("\n".join(flag_words.legend_lines(snap, measure, counts)))

tab_table, tab_funnel, tab_map, tab_bivariate = st.tabs(
    ["Ranked areas", "Funnel plot", "Flag map", "Need x engagement"], key="radar_tab",
    on_change="rerun",
)
with tab_table:
    columns = ["area_name", "area_code", "flag",
               *(["certainty"] if flag_words.has_certainty(table) else []),
               "reason", "expected", "observed", "ratio"]
    widgets.table(table[columns], widths={"reason": 380}, wrap_lines=4, height=560,
                  key=f"flags_table_{level}_{measure}")
    state.download("Download flags (CSV)", lambda: csv_text(table),
                   file_name=f"flags_{level}_{measure}.csv", mime="text/csv",
                   key=f"flags_download_{level}_{measure}")
with tab_funnel:
    strong, weak = flag_words.limit_levels(snap)
    pts, curves = flag_words.funnel_data(snap.flags(level, measure), strong=strong, weak=weak)
    shown = flag_words.colours(pts["flag"])
    base = alt.Chart(curves).mark_line(strokeDash=[4, 3]).encode(
        x=alt.X("expected:Q", title="Expected (from need)"),
        y=alt.Y("limit:Q", title="Observed / expected"),
        color=alt.Color("line:N", scale=alt.Scale(range=["#767676", "#222222"]),
                        title="Funnel limit"),
        detail="side:N",
    )
    dots = alt.Chart(pts).mark_point(size=70, filled=True, stroke="#222", strokeWidth=0.6,
                                     opacity=0.9).encode(
        x="expected:Q", y="ratio:Q",
        fill=alt.Fill("flag:N", title="Flag",
                      scale=alt.Scale(domain=list(shown), range=list(shown.values()))),
        shape=alt.Shape("flag:N", title="Flag", scale=alt.Scale(domain=list(shown))),
        tooltip=[alt.Tooltip("area_name", title="Area"), alt.Tooltip("area_code", title="Code"),
                 alt.Tooltip("flag", title="Flag"),
                 alt.Tooltip("expected:Q", title="Expected", format=",.1f"),
                 alt.Tooltip("ratio:Q", title="Observed / expected", format=".2f")],
    )
    st.altair_chart(base + dots, width="stretch")
    st.caption("Each dot is an area, its shape and colour its flag; areas whose count is hidden "
               f"are not plotted. Outside the {weak} a gap is worth a look; beyond the flag "
               "limit a high-need area is flagged. An area's own limits also depend on its "
               "need, so a dot near a line is judged by its row in the ranked list.")
common = dict(level=level, display=state.display_layer(snap.id, level),
              outline=state.outline_layer(snap.id), tiles=config.maps.tile_url,
              tiles_attribution=config.maps.tile_attribution)
# Only the open tab's map is built and drawn: a map made in a hidden tab has no size.
with tab_map:
    if tab_map.open:
        st.caption("The strongest flag is hatched and \"watch\" dotted; hover or tap an area "
                   "for its name and flag, or read the ranked list.")
        prepared = state.prepared_map((snap.id, "radar-flags", level, measure),
                                      lambda: flag_map(snap, kind=measure, **common))
        show_prepared(prepared, key=f"radar-map-{level}-{measure}", height=MAP_HEIGHT)
with tab_bivariate:
    if tab_bivariate.open:
        st.caption("Need across, engagement up, each cut into thirds. Dark red, hatched: high "
                   "need with low engagement; red: engagement below need; blue: above it; "
                   "purple: in step.")
        prepared = state.prepared_map((snap.id, "overview-bivariate", level),
                                      lambda: need_engagement_map(snap, **common))
        show_prepared(prepared, key=f"radar-bivariate-{level}", height=MAP_HEIGHT)
