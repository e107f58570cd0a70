"""Data: snapshot history, data quality, sources and licences."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from needmap.app import state
from needmap.errors import NeedmapError
from needmap.refresh import check_uploaded
from needmap.snapshot import list_snapshots

access = state.require("data")
snap = state.get_snapshot()
config = state.get_config()
state.header(snap)
m = snap.manifest
st.title("Data")

st.subheader("Snapshots")
history = pd.DataFrame(list_snapshots(config.snapshots_folder))
if len(history):
    history["current"] = history["snapshot_id"] == snap.id
    st.dataframe(history[["snapshot_id", "created_at", "period_start", "period_end", "n_wards",
                          "n_lsoas", "needmap_version", "current"]].iloc[::-1],
                 hide_index=True, width="stretch")
st.caption("Refresh from the command line: `needmap refresh --config needmap.toml`. Earlier "
           "snapshots are kept.")

if access.can("data_quality_detail"):
    st.subheader("Data quality of the current snapshot")
    rows = []
    for r in m.get("records", []):
        rows.append({
            "file": r["path"], "kind": r["kind"], "rows read": r["rows_read"],
            "used": r["rows_used"], "rejected": sum(r["rejects"].values()),
            "reasons": ", ".join(f"{k}: {v}" for k, v in r["rejects"].items()),
            "located by": ", ".join(f"{k}: {v}" for k, v in r["located_by"].items()),
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Rejected rows stay in a local file beside the snapshots and are never shown here.")
    for w in m.get("warnings", []):
        st.warning(w)

if access.can("check_records"):
    st.subheader("Check a records file")
    st.markdown(
        "Try an export before a refresh: it goes through the same checks as `needmap refresh` and "
        "you see only the counts. The file is deleted straight after and no row is shown or kept."
    )
    kind = st.radio("Kind", ["referrals", "engagement"], horizontal=True, key="check_kind")
    upload = st.file_uploader("CSV or Excel export (up to 50 MB)",
                              type=["csv", "xlsx", "xls", "txt"],
                              key="check_upload")
    if upload is not None:
        try:
            quality = check_uploaded(config, upload.name, upload.getvalue(), kind)
        except NeedmapError as exc:
            state.show_error(exc)
        else:
            st.success(f"{quality.rows_read:,} rows read, {quality.rows_used:,} usable, "
                       f"{sum(quality.rejects.values()):,} would be rejected.")
            st.dataframe(pd.DataFrame({"reason": list(quality.rejects),
                                       "rows": list(quality.rejects.values())}),
                         hide_index=True)

st.subheader("Inputs")
st.dataframe(pd.DataFrame(m.get("inputs", [])), hide_index=True, width="stretch")
st.markdown(
    f"Deprivation: **{m['deprivation_vintage']}** on **{m['lsoa_vintage']}**; children aged "
    f"{m['children_age_band']}; LSOA-to-ward assignment: {m['lookup_method']}."
)

st.subheader("Sources and licences")
st.markdown(state.attribution(snap, full=True))
st.markdown(
    "- Ward and LSOA boundaries: ONS Open Geography Portal (OGL v3.0).\n"
    "- English Indices of Deprivation 2019: MHCLG (OGL v3.0).\n"
    "- Postcodes: OS Code-Point Open (OS OpenData licence).\n"
    "- Schools: DfE Get Information About Schools (OGL v3.0).\n"
    "- Definitions of every figure: `docs/indicators.md`."
)

if not access.demo and access.role in ("lead", "analyst"):
    st.subheader("Audit log")
    st.caption("Sign-ins, refusals, exports and plan saves (newest first).")
    st.dataframe(state.access_store().audit(), hide_index=True, width="stretch")
