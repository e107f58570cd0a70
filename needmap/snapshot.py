"""Atomic, versioned snapshots: GeoParquet per geography plus a JSON manifest.

A snapshot is a folder ``<output>/snapshots/<id>/`` written first under a hidden temporary name
and renamed into place only when every file is complete and flushed, so a refresh killed half-way
never leaves a half-written snapshot; ``LATEST`` then names it, replaced atomically too. Earlier
snapshots are kept. Snapshots hold area aggregates only, never a record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from needmap.errors import SnapshotError
from needmap.locking import snapshot_lock

MANIFEST = "manifest.json"
LATEST = "LATEST"
#: Files of a snapshot. ``raw`` holds true counts: it stays on the analyst's machine and nothing
#: that publishes reads it (``needmap.outputs`` and the app read the protected tables only).
FILES = {
    "lsoa": "lsoa.parquet",
    "ward": "ward.parquet",
    "authority": "authority.parquet",
    "periods": "periods.parquet",
    "protected": "protected.parquet",
    "flags": "flags.parquet",
    "schools": "schools.parquet",
    "trends": "trends.parquet",
    "trend_lines": "trend_lines.parquet",
    "changes": "changes.parquet",
    "raw": "raw.parquet",
}
#: Files a snapshot made before they existed may lack: they load as empty tables.
OPTIONAL = ("schools", "trends", "trend_lines", "changes")


@dataclass
class Snapshot:
    """A loaded snapshot: public area attributes, the protected tables, flags and the manifest.

    Everything a reader needs is here, so no page or command looks into the manifest itself.
    """

    path: Path
    manifest: dict[str, Any]
    lsoa: gpd.GeoDataFrame
    ward: gpd.GeoDataFrame
    authority: pd.DataFrame
    periods: pd.DataFrame
    protected: pd.DataFrame
    flags_table: pd.DataFrame
    schools: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    #: Trend summaries, their fitted and forecast lines, and what changed since the release
    #: before (``needmap.trends``, ``needmap.changes``); None in a snapshot made before them.
    trends_table: pd.DataFrame | None = None
    trend_lines_table: pd.DataFrame | None = None
    changes_table: pd.DataFrame | None = None

    @property
    def id(self) -> str:
        return str(self.manifest["snapshot_id"])

    @property
    def threshold(self) -> int:
        """Counts from 1 to this are published as ``c``."""
        return int(self.manifest["disclosure"]["threshold"])

    @property
    def disclosure_method(self) -> str:
        return str(self.manifest["disclosure"]["method"])

    @property
    def authority_code(self) -> str:
        return str(self.manifest["authority_code"])

    @property
    def authority_name(self) -> str:
        return str(self.manifest["authority_name"])

    @property
    def vintage(self) -> str:
        """The deprivation vintage, e.g. ``IoD2025``."""
        return str(self.manifest["deprivation_vintage"])

    @property
    def previous_vintage(self) -> str | None:
        """The earlier IoD vintage compared by ward (``[deprivation_previous]``), if any."""
        return self.manifest.get("previous_vintage")

    @property
    def lsoa_vintage(self) -> str:
        return str(self.manifest["lsoa_vintage"])

    @property
    def children_label(self) -> str:
        """What ``children`` counts: age band and source, e.g. "0-15 (ONS mid-2022)"."""
        return str(self.manifest["children_age_band"])

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic_records"))

    @property
    def period_start(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["period_start"])

    @property
    def period_end(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["period_end"])

    @property
    def configured_period(self) -> str:
        """The id of the configured period in ``periods`` and ``protected``."""
        return str(self.manifest["configured_period"])

    @property
    def radar_settings(self) -> dict[str, Any]:
        return dict(self.manifest["radar"])

    @property
    def england(self) -> dict[str, float]:
        return dict(self.manifest.get("england") or {})

    def quarters(self) -> list[str]:
        """Published quarters, oldest first."""
        return self.periods.loc[self.periods["kind"] == "quarter", "period"].astype(str).tolist()

    def areas(self, level: str) -> gpd.GeoDataFrame:
        """Public attributes of every area of ``level`` ("lsoa" or "ward"): no counts."""
        if level not in ("lsoa", "ward"):
            raise ValueError(f"level must be 'lsoa' or 'ward', got {level!r}")
        return self.lsoa if level == "lsoa" else self.ward

    def flags(self, level: str, kind: str = "engagement") -> pd.DataFrame:
        """The published off-the-radar flags of one level and kind, strongest first."""
        sel = self.flags_table[(self.flags_table["level"] == level)
                               & (self.flags_table["kind"] == kind)]
        return sel.reset_index(drop=True)

    def cells(self, level: str, period: str) -> pd.DataFrame:
        """Protected cells of one level and period: ``area_code, measure, value, shown``.

        ``value`` is the published count, or the stand-in of a hidden one (for sums only).
        """
        t = self.protected
        sel = t[(t["level"] == level) & (t["period"].astype(str) == period)]
        return pd.DataFrame({
            "area_code": sel["area_code"].astype(str).to_numpy(),
            "measure": sel["measure"].astype(str).to_numpy(),
            "value": sel["value"].to_numpy(),
            "shown": sel["shown"].to_numpy(dtype=bool),
        })

    def trends(self, level: str | None = None) -> pd.DataFrame:
        """Trend summaries (one row per area and measure) of one level, or all levels."""
        t = self.trends_table
        if t is None:
            raise SnapshotError(
                f"{self.path}: this snapshot was made before trajectories were computed. Run "
                "`needmap refresh --force` to make a new one."
            )
        return t if level is None else t[t["level"] == level].reset_index(drop=True)

    def trend_lines(self, level: str, code: str) -> pd.DataFrame:
        """Fitted and forecast rates of one area: ``measure, quarter, forecast, rate, ...``."""
        self.trends()  # the same error for a snapshot without trends
        t = self.trend_lines_table
        sel = t[(t["level"] == level) & (t["area_code"].astype(str) == code)]
        return sel.reset_index(drop=True)

    @property
    def changes_since(self) -> str | None:
        """The snapshot this one's stored changes compare with (None: it was the first)."""
        return self.manifest.get("changes_since")

    def raw_cells(self) -> pd.DataFrame:
        """True counts (local use only: tests, benchmarks). Never call this from an output."""
        return pd.read_parquet(self.path / FILES["raw"])


def sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (inputs can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def new_snapshot_id(now: dt.datetime | None = None) -> str:
    """Sortable id from the UTC time, e.g. ``20261121T223015-123456Z``."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S-%fZ")


def write_snapshot(
    folder: Path,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    *,
    period_start: dt.date,
    period_end: dt.date,
    force: bool = False,
) -> Path:
    """Write a new snapshot under ``folder`` (the snapshots folder) and point LATEST at it.

    ``tables`` maps names of :data:`FILES` to frames (GeoDataFrames are written as GeoParquet).
    Refuses (``SnapshotError``) to replace a snapshot covering a later period unless ``force``.
    The check and the write happen under the folder's lock, so concurrent refreshes cannot
    interleave them.
    """
    with snapshot_lock(folder):
        return _write_snapshot(folder, tables, manifest, period_start=period_start,
                               period_end=period_end, force=force)


def _write_snapshot(
    folder: Path,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    *,
    period_start: dt.date,
    period_end: dt.date,
    force: bool,
) -> Path:
    current = latest_manifest(folder)
    end = period_end.isoformat()
    if current and not force and str(current.get("period_end", "")) > end:
        raise SnapshotError(
            f"{folder}: the current snapshot {current['snapshot_id']} covers a later period "
            f"(to {current['period_end']}) than this refresh (to {end}). Refresh with the newer "
            "records, or pass --force to make the older period current."
        )
    snap_id = new_snapshot_id()
    while (folder / snap_id).exists():
        snap_id = new_snapshot_id()
    _remove_abandoned(folder)
    tmp = folder / f".tmp-{snap_id}-{os.getpid()}"
    tmp.mkdir()
    try:
        for name, frame in tables.items():
            if frame is None or (name == "schools" and not len(frame)):
                continue
            frame.to_parquet(tmp / FILES[name], index=False)
        manifest = {
            **manifest,
            "snapshot_id": snap_id,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "period_start": period_start.isoformat(),
            "period_end": end,
            "files": sorted(p.name for p in tmp.iterdir()),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), "utf-8")
        for p in tmp.iterdir():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        final = folder / snap_id
        os.rename(tmp, final)
        _fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_text_atomic(folder / LATEST, snap_id + "\n")
    return final


def _remove_abandoned(folder: Path) -> None:
    """Delete temporary folders left by a refresh that was killed (its process is gone)."""
    for p in folder.glob(".tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


def list_snapshots(folder: Path) -> list[dict[str, Any]]:
    """Manifests of every complete snapshot, oldest first (temporary folders are ignored)."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file():
            try:
                out.append(json.loads((p / MANIFEST).read_text("utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
    return out


def latest_manifest(folder: Path) -> dict[str, Any] | None:
    path = latest_path(folder)
    if path is None:
        return None
    return json.loads((path / MANIFEST).read_text("utf-8"))


def latest_path(folder: Path) -> Path | None:
    """The snapshot LATEST names, or else the newest complete one; None if there is none."""
    pointer = folder / LATEST
    if pointer.is_file():
        name = pointer.read_text("utf-8").strip()
        if name and (folder / name / MANIFEST).is_file():
            return folder / name
    snaps = list_snapshots(folder)
    return folder / snaps[-1]["snapshot_id"] if snaps else None


def load_snapshot(path: Path) -> Snapshot:
    """Load a snapshot folder, or the latest one when given the snapshots folder.

    The raw (true) counts are not loaded: see :meth:`Snapshot.raw_cells`.
    """
    path = Path(path)
    if not (path / MANIFEST).is_file():
        found = latest_path(path)
        if found is None:
            raise SnapshotError(
                f"{path}: no snapshot found. Run `needmap refresh --config needmap.toml` first."
            )
        path = found
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    if "disclosure" not in manifest or not (path / FILES["protected"]).is_file():
        raise SnapshotError(
            f"{path}: this snapshot was made by an older needmap without the protected tables. "
            "Run `needmap refresh` to make a new one."
        )
    schools_file = path / FILES["schools"]
    schools = (
        gpd.read_parquet(schools_file)
        if schools_file.is_file()
        else gpd.GeoDataFrame(geometry=[], crs="EPSG:27700")
    )
    optional = {name: pd.read_parquet(path / FILES[name])
                for name in OPTIONAL[1:] if (path / FILES[name]).is_file()}
    return Snapshot(
        trends_table=optional.get("trends"),
        trend_lines_table=optional.get("trend_lines"),
        changes_table=optional.get("changes"),
        path=path,
        manifest=manifest,
        lsoa=gpd.read_parquet(path / FILES["lsoa"]),
        ward=gpd.read_parquet(path / FILES["ward"]),
        authority=pd.read_parquet(path / FILES["authority"]),
        periods=pd.read_parquet(path / FILES["periods"]),
        protected=pd.read_parquet(path / FILES["protected"]),
        flags_table=pd.read_parquet(path / FILES["flags"]),
        schools=schools,
    )
