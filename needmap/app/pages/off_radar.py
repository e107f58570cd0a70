"""Off the radar: areas where need is high but engagement (or referrals) is far below expected."""

from __future__ import annotations

import altair as alt
import streamlit as st

from needmap.app import state
from needmap.app.offline import offline_folium
from needmap.disclosure import for_display
from needmap.errors import NeedmapError
from needmap.maps import categorical
from needmap.radar import FLAG_COLOURS, funnel_data
from needmap.views import need_engagement_map

access = state.require("off_radar")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title("Off the radar")
st.markdown(
    "Areas where need is high but far fewer families are engaged than their need predicts. "
    "Expected engagement comes from the whole authority's engagement at each level of need; an "
    "area is flagged only when the gap is beyond what chance explains (funnel limits, allowing "
    "for the usual spread between areas). **Flags support professional judgement: they describe "
    "areas, never families.**"
)
c1, c2 = st.columns(2)
level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label, key="radar_level")
measure = c2.radio(
    "Look at", ["engagement", "referrals"], key="radar_measure",
    format_func={"engagement": "Engagement (off the radar)",
                 "referrals": "Referrals (hidden need / front-door pressure)"}.get,
)
try:
    full = state.flags(snap.id, level, measure)
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()

counts = full["flag"].value_counts()
st.caption(" · ".join(f"{k}: {v}" for k, v in counts.items()))
tab_table, tab_funnel, tab_map, tab_bivariate = st.tabs(
    ["Ranked areas", "Funnel plot", "Flag map", "Need x engagement"]
)
with tab_table:
    shown = full[["area_code", "area_name", "flag", "reason", "expected", "observed", "ratio"]]
    st.dataframe(for_display(shown), hide_index=True, width="stretch",
                 column_config={"reason": st.column_config.TextColumn(width="large"),
                                "expected": st.column_config.NumberColumn(format="%.1f")})
    csv = full[["area_code", "area_name", "level", "need", "expected", "observed", "ratio",
                "lower_limit", "upper_limit", "flag", "reason"]].to_csv(index=False)
    st.download_button("Download flags (CSV)", csv, file_name=f"flags_{level}_{measure}.csv",
                       mime="text/csv", on_click=state.audit,
                       args=("export", f"flags_{level}_{measure}.csv"))
with tab_funnel:
    pts, curves = funnel_data(full)
    base = alt.Chart(curves).mark_line(strokeDash=[4, 3]).encode(
        x=alt.X("expected:Q", title="Expected (from need)"),
        y=alt.Y("limit:Q", title="Observed / expected"),
        color=alt.Color("line:N", scale=alt.Scale(range=["#999999", "#333333"]), title="Limit"),
        detail="side:N",
    )
    dots = alt.Chart(pts).mark_circle(size=60, stroke="#333", strokeWidth=0.5).encode(
        x="expected:Q", y="ratio:Q",
        fill=alt.Color("flag:N", scale=alt.Scale(domain=list(FLAG_COLOURS),
                                                 range=list(FLAG_COLOURS.values())),
                       title="Flag"),
        tooltip=["area_name", "area_code", "flag",
                 alt.Tooltip("expected:Q", format=".1f"), alt.Tooltip("ratio:Q", format=".2f")],
    )
    st.altair_chart(base + dots, width="stretch")
    st.caption("Each dot is an area; areas whose count is suppressed are not plotted. Outside the "
               "dashed lines the gap is beyond chance at that level.")
layer = state.display_layer(snap.id, level)
outline = state.outline_layer(snap.id)
with tab_map:
    flagged = layer.merge(full[["area_code", "flag"]], left_on=f"{level}_code",
                          right_on="area_code", how="left")
    present = [f for f in FLAG_COLOURS if f in set(full["flag"])]
    fmap = categorical(flagged, code_column=f"{level}_code", name_column=f"{level}_name",
                       category_column="flag", colours={f: FLAG_COLOURS[f] for f in present},
                       title="Flag", attribution=state.attribution(snap), outline=outline,
                       tiles=config.maps.tile_url,
                           tiles_attribution=config.maps.tile_attribution)
    offline_folium(fmap, key=f"radar-map-{level}-{measure}", height=520)
with tab_bivariate:
    bmap = need_engagement_map(layer, level=level,
                               threshold=int(snap.manifest["disclosure_threshold"]),
                               attribution=state.attribution(snap), outline=outline,
                               tiles=config.maps.tile_url,
                           tiles_attribution=config.maps.tile_attribution)
    offline_folium(bmap, key=f"radar-bivariate-{level}", height=520)
