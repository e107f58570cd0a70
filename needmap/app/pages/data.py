"""Data: snapshots, data quality, sources and licences, the records-file check, the audit log."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from needmap.app import state, widgets
from needmap.errors import NeedmapError
from needmap.outputs.attribution import SOURCES, full_attribution
from needmap.outputs.formats import plain_role
from needmap.refresh import MAX_CHECK_BYTES, check_records_file
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
    shown = pd.DataFrame({
        "snapshot_id": history["snapshot_id"],
        "made": history["created_at"].astype(str).str.replace("T", " ").str[:16],
        "start": history["period_start"], "end": history["period_end"],
        "n_wards": history["n_wards"], "n_lsoas": history["n_lsoas"],
        "vintage": history.get("deprivation_vintage", pd.Series("", index=history.index)),
        "version": history["needmap_version"],
        "current": (history["snapshot_id"] == snap.id).map({True: "yes", False: ""}),
    })
    widgets.table(shown.iloc[::-1], key="data_snapshots", headings={
        "made": "Made (UTC)", "start": "Period from", "end": "Period to", "n_wards": "Wards",
        "n_lsoas": "LSOAs", "vintage": "Deprivation", "version": "needmap version",
        "current": "Current"})
st.caption("Refresh from the command line: `needmap refresh --config needmap.toml`. Earlier "
           "snapshots are kept.")

if access.can("data_quality_detail"):
    st.subheader("Data quality of the current snapshot")
    rows = [{
        "file": r["path"], "kind": r["kind"].capitalize(), "rows_read": r["rows_read"],
        "used": r["rows_used"], "rejected": sum(r["rejects"].values()),
        "reasons": ", ".join(f"{k}: {v:,}" for k, v in r["rejects"].items()),
        "located": ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in r["located_by"].items()),
    } for r in m.get("records", [])]
    if rows:
        widgets.table(
            pd.DataFrame(rows), key="data_quality", wrap_lines=3,
            widths={"file": "medium", "reasons": "large", "located": "medium"},
            headings={"file": "File", "kind": "Kind", "rows_read": "Rows read", "used": "Used",
                      "rejected": "Rejected", "reasons": "Reasons rejected",
                      "located": "Located by"},
            kinds={"rows_read": "count", "used": "count", "rejected": "count"})
    st.caption("Rejected rows stay in a local file beside the snapshots and are never shown here.")
    for w in m.get("warnings", []):
        st.warning(w)

if access.can("check_records"):
    st.subheader("Check a records file")
    st.markdown(
        "Try an export before a refresh: it goes through the same checks as `needmap refresh` and "
        "you see only the counts. The file is deleted straight after and no row is shown or kept."
    )
    kind = st.radio("Kind", ["referrals", "engagement"], horizontal=True, key="check_kind",
                    format_func=str.capitalize)
    upload = st.file_uploader(f"CSV or Excel export (up to {MAX_CHECK_BYTES // 2**20} MB)",
                              type=["csv", "xlsx", "xls", "txt"], key="check_upload")
    if upload is not None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = state.save_upload(upload, Path(tmp))
                quality = check_records_file(config, path, kind, shown_name=upload.name)
            state.audit("file_check", f"{kind}: {upload.name}")
        except NeedmapError as exc:
            state.audit("file_check", f"{kind}: {upload.name} refused")
            state.show_error(exc)
        else:
            st.success(f"{quality.rows_read:,} rows read, {quality.rows_used:,} usable, "
                       f"{sum(quality.rejects.values()):,} would be rejected.")
            widgets.table(pd.DataFrame({"reason": list(quality.rejects),
                                        "rows": list(quality.rejects.values())}),
                          headings={"reason": "Reason rejected", "rows": "Rows"},
                          key="data_check")

st.subheader("Sources")
boundaries = m.get("boundaries") or {}
lines = [
    f"- **Deprivation**: English Indices of Deprivation, **{snap.vintage}**, on "
    f"**{snap.lsoa_vintage}** (MHCLG, Open Government Licence v3.0).",
    f"- **Children**: {snap.children_label}"
    + (f", {m['children_source']}" if m.get("children_source") else "") + ".",
    "- **LSOA-to-ward assignment**: "
    + {"lookup_file": "the ONS best-fit lookup",
       "largest_overlap": "each LSOA to the ward it overlaps most (no lookup given)"}.get(
        m["lookup_method"], m["lookup_method"]) + ".",
]
for level in ("ward", "lsoa"):
    if boundaries.get(level):
        lines.append(f"- **{level.upper() if level == 'lsoa' else 'Ward'} boundaries**: "
                     f"{boundaries[level]}.")
lines += [f"- **{name}**: {who} ({licence})." for name, who, licence in SOURCES]
st.markdown("\n".join(lines))
st.markdown(f"**Attribution.** {full_attribution(snap)}")
inputs = pd.DataFrame(m.get("inputs", []))
if len(inputs):
    widgets.table(pd.DataFrame({"role": inputs["role"].map(plain_role), "file": inputs["path"],
                                "sha": inputs["sha256"].str[:16] + "…"}),
                  headings={"role": "Input", "file": "File", "sha": "SHA-256 (start)"},
                  key="data_inputs")
st.caption("Definitions of every figure: docs/indicators.md. How published figures are "
           "protected: SECURITY.md.")

if not access.demo and access.role in ("lead", "analyst"):
    st.subheader("Audit log")
    st.caption("Sign-ins, refusals, exports, file checks and plan saves (newest first).")
    log = state.access_store().audit()
    widgets.table(log.assign(event=log["event"].astype(str).str.replace("_", " ")),
                  headings={"at": "When (UTC)", "user": "Who", "event": "What",
                            "detail": "Detail"}, key="data_audit")
