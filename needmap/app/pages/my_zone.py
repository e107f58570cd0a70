"""My zone: a worker's zone in the latest saved plan: figures, map, flags, schools, pack."""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

from needmap.app import outcomes, state, widgets
from needmap.app.offline import offline_folium
from needmap.errors import NeedmapError
from needmap.outputs.formats import fmt
from needmap.outputs.maps.layers import measure_map
from needmap.outputs.pack import zone_pack_html
from needmap.outputs.zone_tables import (
    plan_level,
    zone_areas,
    zone_bases,
    zone_flags,
    zone_marks,
    zone_schools,
    zone_summary,
)
from needmap.plans import PlanStore

MAP_MEASURES = {"idaci_pctile": "Need (IDACI)",
                "reach_rate": "Families engaged",
                "referral_rate": "Referrals"}
MAP_HEIGHT = 460

access = state.require("my_zone")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title("My zone")
try:
    plan = PlanStore(config.plans_db).latest_plan()
    level = None if plan is None else plan_level(snap, plan)
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()
if plan is None:
    if not access.can("any_zone"):
        # Staff: nothing to show until a lead saves a plan that gives them a zone.
        st.info("No zone plan has been saved yet, so you have no zone. Your service lead makes "
                "one on the Zones page; your zone appears here once it is saved.")
        st.stop()
    level = state.default_level(snap)
    suggested = state.suggested_plan(snap.id, level)
    st.warning(
        f"**No zone plan has been saved yet.** This is a *suggested* plan from the default "
        f"settings ({config.zones.staff} zones, seed {config.zones.seed}), not yet anyone's "
        "zone. Build, adjust and save a plan on the Zones page to make it the one staff see."
    )
    if access.can_see("zones"):
        st.page_link("needmap/app/pages/zones.py", label="Go to Zones",
                     icon=":material/grid_view:")
    plan = SimpleNamespace(plan_id=None, areas=suggested.labels, staff=None,
                           n_zones=len(suggested.zones), created_at="", author="", note="")

staff = plan.staff
workers = ({int(z): n for z, n in zip(staff["zone"], staff["name"], strict=True)}
           if staff is not None else {})
if plan.plan_id is not None:
    st.caption(f"Plan {plan.plan_id}, saved {plan.created_at.replace('T', ' ')[:16]} UTC by "
               f"{plan.author}" + (f": {plan.note}" if plan.note else "")
               + ("" if workers else ". Saved without a roster, so zones have numbers, not "
                  "names."))
if access.can("any_zone"):
    zone = st.selectbox("Worker", list(range(1, plan.n_zones + 1)), key="my_zone_worker",
                        format_func=lambda z: f"{workers[z]} (zone {z})" if z in workers
                        else f"Zone {z}")
else:
    # Staff: the zone comes from the server-side role check, never from a widget or the URL.
    if access.zone is None or access.plan_id != plan.plan_id:
        st.info("The current zone plan gives no zone to your e-mail address. Ask your service "
                "lead to add you to the roster.")
        st.stop()
    zone = access.zone
    st.markdown(f"**{workers.get(zone, 'Your zone')} (zone {zone})**")

flags = snap.flags(level, "engagement")
try:
    row = zone_summary(snap, plan.areas, level=level, staff=staff,
                       flags=flags).set_index("zone").loc[zone]
    areas = zone_areas(snap, plan.areas, zone, level=level, flags=flags)
    schools = zone_schools(snap, plan.areas, zone, level=level)
    flagged = zone_flags(flags, plan.areas, zone)
    bases = zone_bases(snap, staff, postcodes=state.postcodes())
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Areas", fmt(row["n_areas"], "count"))
m2.metric("Children", fmt(row["children"], "count"))
m3.metric("Workload against target", fmt(row["workload"], "count"),
          delta=fmt(row["vs_target"], "signed_share") if row["vs_target"] == row["vs_target"]
          else None, delta_color="off")
m4.metric("Off the radar / to watch", f"{int(row['off_radar'])} / {int(row['watch'])}")

left, right = st.columns([3, 2])
with left:
    measure = st.radio("Map", list(MAP_MEASURES), horizontal=True, key="my_zone_measure",
                       format_func=MAP_MEASURES.get)
    display = state.display_layer(snap.id, level)
    marks, mark_legend = zone_marks(snap, plan.areas, level=level, flags=flags, bases=bases,
                                    zone=zone)
    try:
        fmap = measure_map(snap, level=level, measure=measure, display=display,
                           areas=areas["area_code"].astype(str).tolist(), need_fifths=True,
                           marks=marks, mark_legend=mark_legend, tiles=config.maps.tile_url,
                           tiles_attribution=config.maps.tile_attribution)
        offline_folium(fmap, key=f"my-zone-map-{zone}-{measure}", height=MAP_HEIGHT)
    except NeedmapError as exc:
        state.show_error(exc)
    st.caption("Need in national fifths, as in the printed pack; other figures in the "
               f"authority's fifths, so a dark area is high for {snap.authority_name}.")
with right:
    st.markdown(f"**Off the radar and to watch in this zone** ({len(flagged)})")
    if flagged.empty:
        st.caption("No area of this zone is flagged off the radar or to watch.")
    for r in flagged.itertuples(index=False):
        sure = f", {r.certainty}" if getattr(r, "certainty", "") else ""
        st.markdown(f"- **{r.area_name}** ({r.area_code}), *{r.flag}*{sure}: {r.reason}")
    state.download(
        "Download zone pack (HTML, printable)",
        lambda: zone_pack_html(snap, plan.areas, zone, level=level, staff=staff, flags=flags,
                               postcodes=state.postcodes(),
                               plan=(f"plan {plan.plan_id} saved {plan.created_at[:10]} by "
                                     f"{plan.author}") if plan.plan_id is not None
                               else "suggested plan, not saved"),
        file_name=f"zone_{zone}_pack.html", mime="text/html", type="primary",
        key=f"my_zone_pack_{zone}",
    )

outcomes.zone_trajectory_panel(snap, plan.areas, zone, level)
st.subheader("Areas")
widgets.table(areas, key="my_zone_areas",
              headings={"referral_rate": "Referrals per 1,000", "reach_rate": "Engaged per 1,000",
                        "idaci_pctile": "Need (IDACI pctile)"})
st.caption(f"Rates are per 1,000 children ({snap.children_label}) a year. Need: IDACI "
           f"percentile in England, 100 = most deprived. Counts from 1 to {snap.threshold}, and "
           "some zeros, are shown as c.")
st.subheader(f"Schools ({len(schools)})")
if len(schools):
    widgets.table(schools, key="my_zone_schools", headings={"area_code": "Area code"})
else:
    st.caption("No open school lies inside this zone.")
