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
from needmap.indicators import Indicators
from needmap.locking import snapshot_lock

MANIFEST = "manifest.json"
LATEST = "LATEST"
TABLES = {
    "lsoa": "lsoa.parquet",
    "ward": "ward.parquet",
    "schools": "schools.parquet",
}
FRAMES = {
    "lsoa_quarterly": "lsoa_quarterly.parquet",
    "ward_quarterly": "ward_quarterly.parquet",
    "authority": "authority.parquet",
    "authority_quarterly": "authority_quarterly.parquet",
}


@dataclass
class Snapshot:
    """A loaded snapshot: the area tables, the quarterly tables and the manifest."""

    path: Path
    manifest: dict[str, Any]
    lsoa: gpd.GeoDataFrame
    ward: gpd.GeoDataFrame
    lsoa_quarterly: pd.DataFrame
    ward_quarterly: pd.DataFrame
    authority: pd.DataFrame
    authority_quarterly: pd.DataFrame
    schools: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)

    @property
    def id(self) -> str:
        return str(self.manifest["snapshot_id"])

    def areas(self, level: str) -> gpd.GeoDataFrame:
        """The period table for ``level`` ("lsoa" or "ward")."""
        if level not in ("lsoa", "ward"):
            raise ValueError(f"level must be 'lsoa' or 'ward', got {level!r}")
        return self.lsoa if level == "lsoa" else self.ward

    def quarterly(self, level: str) -> pd.DataFrame:
        return self.lsoa_quarterly if level == "lsoa" else self.ward_quarterly


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
    indicators: Indicators,
    schools: gpd.GeoDataFrame | None,
    manifest: dict[str, Any],
    *,
    force: bool = False,
) -> Path:
    """Write a new snapshot under ``folder`` (the snapshots folder) and point LATEST at it.

    Refuses (``SnapshotError``) to replace a snapshot covering a later period unless ``force``.
    The check and the write happen under the folder's lock, so concurrent refreshes cannot
    interleave them.
    """
    with snapshot_lock(folder):
        return _write_snapshot(folder, indicators, schools, manifest, force=force)


def _write_snapshot(
    folder: Path,
    indicators: Indicators,
    schools: gpd.GeoDataFrame | None,
    manifest: dict[str, Any],
    *,
    force: bool,
) -> Path:
    current = latest_manifest(folder)
    end = indicators.period_end.isoformat()
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
        indicators.lsoa.to_parquet(tmp / TABLES["lsoa"], index=False)
        indicators.ward.to_parquet(tmp / TABLES["ward"], index=False)
        if schools is not None and len(schools):
            schools.to_parquet(tmp / TABLES["schools"], index=False)
        for name, filename in FRAMES.items():
            getattr(indicators, name).to_parquet(tmp / filename, index=False)
        manifest = {
            **manifest,
            "snapshot_id": snap_id,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "period_start": indicators.period_start.isoformat(),
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
    """Load a snapshot folder, or the latest one when given the snapshots folder."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        found = latest_path(path)
        if found is None:
            raise SnapshotError(
                f"{path}: no snapshot found. Run `needmap refresh --config needmap.toml` first."
            )
        path = found
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    schools_file = path / TABLES["schools"]
    schools = (
        gpd.read_parquet(schools_file)
        if schools_file.is_file()
        else gpd.GeoDataFrame(geometry=[], crs="EPSG:27700")
    )
    return Snapshot(
        path=path,
        manifest=manifest,
        lsoa=gpd.read_parquet(path / TABLES["lsoa"]),
        ward=gpd.read_parquet(path / TABLES["ward"]),
        schools=schools,
        **{name: pd.read_parquet(path / filename) for name, filename in FRAMES.items()},
    )
