"""Off the radar: areas where need is high but engagement (or referrals) is far below expected."""

from __future__ import annotations

import altair as alt
import streamlit as st

from needmap.app import outcomes, state
from needmap.app.offline import offline_folium
from needmap.errors import NeedmapError
from needmap.outputs.files import csv_text
from needmap.outputs.maps.layers import FLAG_COLOURS, flag_map, need_engagement_map
from needmap.outputs.tables import flags_table
from needmap.radar import funnel_data

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
if measure == "engagement":
    st.markdown(
        "Areas where need is high but far fewer families are engaged than their need predicts. "
        "Expected engagement comes from the whole authority's engagement at each level of need; "
        "an area is flagged only when the gap is beyond what chance explains (funnel limits, "
        "allowing for the usual spread between areas). **Flags support professional judgement: "
        "they describe areas, never families.**"
    )
else:
    st.markdown(
        "Areas with far fewer referrals than their need predicts (**hidden need**), or far more "
        "(**front-door pressure**). **Flags support professional judgement: they describe "
        "areas, never families.**"
    )
try:
    table = flags_table(snap, level, measure)
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()

counts = table["flag"].value_counts()
st.caption(" · ".join(f"{k}: {v}" for k, v in counts.items()))
tab_table, tab_funnel, tab_map, tab_bivariate = st.tabs(
    ["Ranked areas", "Funnel plot", "Flag map", "Need x engagement"], key="radar_tab",
    on_change="rerun",
)
with tab_table:
    shown = table[["area_name", "area_code", "flag", "reason", "expected", "observed", "ratio"]]
    st.dataframe(shown.astype({"observed": str, "ratio": str}), hide_index=True,
                 width="stretch",
                 column_config={"area_name": "Area", "area_code": "Code", "flag": "Flag",
                                "reason": st.column_config.TextColumn("Why", width="large"),
                                "expected": st.column_config.NumberColumn("Expected",
                                                                          format="%.1f"),
                                "observed": "Observed", "ratio": "Observed / expected"})
    state.download("Download flags (CSV)", lambda: csv_text(table),
                   file_name=f"flags_{level}_{measure}.csv", mime="text/csv",
                   key=f"flags_download_{level}_{measure}")
with tab_funnel:
    pts, curves = funnel_data(snap.flags(level, measure))
    base = alt.Chart(curves).mark_line(strokeDash=[4, 3]).encode(
        x=alt.X("expected:Q", title="Expected (from need)"),
        y=alt.Y("limit:Q", title="Observed / expected"),
        color=alt.Color("line:N", scale=alt.Scale(range=["#999999", "#333333"]), title="Limit"),
        detail="side:N",
    )
    present = [f for f in FLAG_COLOURS if f in set(pts["flag"])]
    dots = alt.Chart(pts).mark_circle(size=60, stroke="#333", strokeWidth=0.5).encode(
        x="expected:Q", y="ratio:Q",
        fill=alt.Color("flag:N", scale=alt.Scale(domain=present,
                                                 range=[FLAG_COLOURS[f] for f in present]),
                       title="Flag"),
        tooltip=["area_name", "area_code", "flag",
                 alt.Tooltip("expected:Q", format=".1f"), alt.Tooltip("ratio:Q", format=".2f")],
    )
    st.altair_chart(base + dots, width="stretch")
    st.caption("Each dot is an area; areas whose count is hidden are not plotted. Outside the "
               "dashed lines the gap is beyond chance at that level.")
layer = state.display_layer(snap.id, level)
outline = state.outline_layer(snap.id)
common = dict(level=level, display=layer, outline=outline, tiles=config.maps.tile_url,
              tiles_attribution=config.maps.tile_attribution)
with tab_map:
    if tab_map.open:
        offline_folium(flag_map(snap, kind=measure, **common),
                       key=f"radar-map-{level}-{measure}", height=520)
with tab_bivariate:
    if tab_bivariate.open:
        offline_folium(need_engagement_map(snap, **common), key=f"radar-bivariate-{level}",
                       height=520)
