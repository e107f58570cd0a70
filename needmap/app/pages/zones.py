"""Zones: one contiguous, workload-balanced zone per worker; lock areas, rebuild, save a version."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from needmap.app import outcomes, state, widgets
from needmap.app.offline import offline_folium
from needmap.errors import NeedmapError
from needmap.outputs.files import csv_text
from needmap.outputs.zone_tables import (
    balance_note,
    plan_table,
    plans_table,
    zone_bases,
    zone_map,
    zone_summary,
)
from needmap.plans import PlanStore
from needmap.sources.geocode import read_postcodes
from needmap.sources.roster import read_roster
from needmap.workload import EXAMPLE_ROSTER, WORKLOAD_LABELS, WORKLOAD_MEASURES, plan_zones

SOURCES = {"count": "Staff count", "example": "Example roster (fictional)",
           "file": "Roster file (CSV)"}
MAP_HEIGHT = 520

access = state.require("zones")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
st.title("Zones")
st.markdown(
    "Share the authority into **one zone per worker**: each zone is one connected piece, carries "
    "a workload within the balance tolerance of its target (the total shared in proportion to "
    "FTE), and contains its worker's base when the roster gives one. Lock areas to a zone and "
    "rebuild; save a plan to make it the one **My zone** shows."
)
with st.expander("How workload is counted"):
    st.markdown(
        "- **Children weighted by need**: children aged 0-15 × (1 + IDACI share), so a child "
        "in an income-deprived family counts twice. Published data only.\n"
        "- **Expected caseload**: referrals + families engaged in the period: the work the "
        "service saw, gaps included."
    )

with st.form("zones_form"):
    c1, c2, c3 = st.columns([1, 2, 1])
    level = c1.radio("Geography", ["lsoa", "ward"], format_func=state.level_label,
                     key="zones_level")
    measure = c2.selectbox("Workload", list(WORKLOAD_LABELS), format_func=WORKLOAD_LABELS.get,
                           key="zones_measure")
    seed = int(c3.number_input("Seed", 0, 1_000_000, config.zones.seed, key="zones_seed",
                               help="Another seed gives another plan from the same inputs."))
    c4, c5, c6 = st.columns([1, 1, 2])
    source = c4.radio("Staff from", list(SOURCES), format_func=SOURCES.get, key="zones_source")
    n_staff = int(c5.number_input("Staff count", 1, 40, config.zones.staff, key="zones_staff"))
    tolerance = c5.number_input(
        "Balance tolerance (± %)", 1, 25, int(round(config.zones.tolerance * 100)),
        key="zones_tolerance",
        help="How far a zone's workload may be from its target. Wider is easier to meet.",
    ) / 100
    upload = c6.file_uploader("Roster CSV: name, fte (0-1), optional base (postcode, area code "
                              "or easting,northing)", type=["csv"], key="zones_upload")
    if st.form_submit_button("Build zones", type="primary"):
        st.session_state["zones_built"] = True

locks_by_level: dict = st.session_state.setdefault("zones_locks", {"lsoa": {}, "ward": {}})
locks = locks_by_level[level]
plan = None
flags = snap.flags(level, "engagement")
if not st.session_state.get("zones_built"):
    st.info("Choose the staff and the workload measure, then press **Build zones**.")
else:
    try:
        roster = None
        if source == "example":
            roster = read_roster(EXAMPLE_ROSTER)
        elif source == "file":
            if upload is None:
                raise NeedmapError("Upload a roster CSV, or choose Staff count.")
            with tempfile.TemporaryDirectory() as tmp:
                roster = read_roster(state.save_upload(upload, Path(tmp)),
                                     shown_name=upload.name)
        postcodes = None
        if roster is not None and (roster["base_kind"] == "postcode").any():
            if config.postcodes is None:
                raise NeedmapError("A roster base is a postcode, but the config has no "
                                   "[postcodes] table to place it.")
            postcodes = read_postcodes(config.postcodes)
        plan = plan_zones(
            snap, level=level, measure=measure, random_state=seed, locks=locks,
            n_zones=None if roster is not None else n_staff, roster=roster,
            postcodes=postcodes, tolerance=tolerance,
        )
    except NeedmapError as exc:
        state.show_error(exc)

if plan is not None:
    summary = zone_summary(snap, plan.labels, level=level, staff=plan.staff, flags=flags)
    # The builder's balance warning names its worst zone in its own terms; the page names
    # every zone outside the tolerance and the controls that can help.
    for message in plan.warnings:
        if "tolerance of their target workload" not in message:
            st.warning(message)
    note = balance_note(summary, tolerance)
    if note:
        st.warning(note)
    bases = zone_bases(snap, plan.roster, postcodes=state.postcodes())
    fmap = zone_map(snap, plan.labels, level=level, display=state.display_layer(snap.id, level),
                    staff=plan.staff, locked=list(locks),
                    outline=state.outline_layer(snap.id), tiles=config.maps.tile_url,
                    tiles_attribution=config.maps.tile_attribution, flags=flags, bases=bases)
    offline_folium(fmap, key=f"zones-map-{level}", height=MAP_HEIGHT)
    st.markdown(f"**{len(summary)} zones** · workload: {WORKLOAD_LABELS[measure]}")
    widgets.table(summary, key="zones_summary")
    st.caption(f"Against target: the zone's workload against its FTE share of the total. Counts "
               f"from 1 to {snap.threshold}, and some zeros, are shown as c. Off the radar and to "
               "watch: areas flagged on engagement (marked ! and ? on the map).")
    state.download(
        "Download plan (CSV)",
        lambda: csv_text(plan_table(snap, plan.labels, level=level, measure=measure)),
        file_name=f"zones_{level}.csv", mime="text/csv", key=f"zones_download_{level}",
    )
    outcomes.zones_trends_table(snap, plan.labels, level)

    st.subheader("Lock areas")
    names = dict(zip(plan.labels["area_code"], plan.labels["area_name"], strict=True))
    zone_of = dict(zip(plan.labels["area_code"], plan.labels["zone"], strict=True))
    k = len(summary)

    def lock() -> None:
        wanted = {**locks, **dict.fromkeys(st.session_state["zones_lock_areas"],
                                            int(st.session_state["zones_lock_zone"]))}
        unseeded = k - len(set(wanted.values()))
        if unseeded > len(names) - len(wanted):
            # Refused here, before a rebuild could fail: the dead end never happens.
            st.session_state["zones_lock_refused"] = (
                f"Not locked: {unseeded} zone(s) would have no area left to start from. Lock "
                "fewer areas, or lock some areas to every zone."
            )
            return
        locks.update(wanted)
        st.session_state["zones_lock_areas"] = []

    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    c1.multiselect("Areas", list(names), key="zones_lock_areas",
                   format_func=lambda c: f"{names[c]} ({c}), now zone {zone_of[c]}")
    c2.number_input("Keep in zone", 1, k, 1, key="zones_lock_zone")
    c3.button("Lock and rebuild", on_click=lock, key="zones_lock")
    refused = st.session_state.pop("zones_lock_refused", None)
    if refused:
        st.warning(refused)
if locks:
    st.markdown("Locked: " + ", ".join(f"{c} → zone {z}" for c, z in locks.items()))
    st.button("Clear locks", on_click=locks.clear, key="zones_clear")

st.subheader("Plans")
author = (access.user if not access.demo else
          st.text_input("Your name (recorded with a save or a restore)", key="zones_author"))
if plan is not None:
    unit = "LSOAs" if level == "lsoa" else "wards"
    with st.form("zones_save"):
        # No key: the suggested note follows the plan shown (a keyed widget would keep the
        # first one).
        note = st.text_input("Note",
                             value=f"{len(plan.zones)} zones of {unit}, workload: "
                                   f"{WORKLOAD_MEASURES[measure].label}, seed {seed}"
                                   + (f", {len(locks)} locked" if locks else ""))
        if st.form_submit_button("Save plan"):
            try:
                pid = PlanStore(config.plans_db).save_plan(
                    plan.labels, author=author, note=note, roster=plan.roster, level=level,
                    measure=measure, snapshot_id=snap.id)
                state.audit("plan_save", f"plan {pid}: {note}")
                st.success(f"Saved as plan {pid}. **My zone** now shows this plan.")
            except NeedmapError as exc:
                state.show_error(exc)

try:
    store = PlanStore(config.plans_db)
    history = store.list_plans()
    if not history.empty:
        c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
        pid = c1.selectbox("Saved plan", history["plan_id"].iloc[::-1].tolist(),
                           key="zones_restore_id")
        if c2.button("Restore as the newest plan", key="zones_restore"):
            new = store.restore(int(pid), author=author)
            state.audit("plan_restore", f"plan {pid} restored as plan {new}")
            st.success(f"Plan {pid} restored as plan {new}; My zone now shows it.")
            history = store.list_plans()
except NeedmapError as exc:
    state.show_error(exc)
    st.stop()
if history.empty:
    st.caption("No plan saved yet.")
else:
    widgets.table(plans_table(history), widths={"note": "medium"}, wrap_lines=2,
                  key="zones_history")
