"""``needmap refresh``: validate, ingest, geocode, compute, then write a snapshot.

The same function serves the CLI and the app (which builds the demo snapshot on first run).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from needmap import __version__
from needmap.config import Config
from needmap.errors import InputError, NeedmapWarning
from needmap.indicators import build_indicators
from needmap.locking import check_output_folder
from needmap.snapshot import load_snapshot, sha256, write_snapshot
from needmap.sources.boundaries import read_boundaries
from needmap.sources.deprivation import read_deprivation
from needmap.sources.geocode import geocode, read_postcodes
from needmap.sources.lookups import lsoa_to_ward
from needmap.sources.records import KINDS, RecordBatch, empty_records, read_records
from needmap.sources.schools import read_schools
from needmap.sources.tables import ROW

STEPS = (
    "boundaries",
    "deprivation",
    "lookup",
    "postcodes",
    "records",
    "geocode",
    "indicators",
    "snapshot",
)


@dataclass
class FileQuality:
    """What happened to one record file."""

    path: str
    kind: str
    rows_read: int
    rows_used: int
    rejects: dict[str, int]
    located_by: dict[str, int]
    rejects_file: str | None = None


@dataclass
class RefreshResult:
    """A finished refresh: where the snapshot is and what was found on the way."""

    snapshot_path: Path
    manifest: dict[str, Any]
    quality: list[FileQuality] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


@dataclass
class Geography:
    """The reference data every refresh and file check needs, read and checked once."""

    wards: gpd.GeoDataFrame
    lsoa: gpd.GeoDataFrame
    deprivation: pd.DataFrame
    lookup: pd.DataFrame
    postcodes: pd.DataFrame | None


def load_geography(
    config: Config, step: Callable[[str], None] = lambda name: None
) -> Geography:
    """Boundaries, deprivation, LSOA -> ward lookup and postcodes, checked against each other."""
    step("boundaries")
    wards = read_boundaries(config.ward, level="ward", authority_code=config.authority.code)
    lsoa = read_boundaries(config.lsoa, level="lsoa")
    step("deprivation")
    dep = read_deprivation(config.deprivation, authority_code=config.authority.code)
    if config.deprivation.authority_column:
        in_dep = lsoa["lsoa_code"].isin(dep["lsoa_code"])
        _check_lsoas_inside(lsoa[~in_dep], wards, config)
        lsoa = lsoa[in_dep].reset_index(drop=True)
    missing = sorted(pd.Index(lsoa["lsoa_code"]).difference(dep["lsoa_code"]))
    if missing:
        raise InputError(
            f"{config.deprivation.path}, column '{config.deprivation.code_column}': "
            f"{len(missing)} LSOA(s) of {config.lsoa.path.name} have no deprivation row, "
            f"e.g. {', '.join(missing[:3])}. Use boundaries and deprivation data of the same "
            f"LSOA vintage ({config.deprivation.lsoa_vintage})."
        )
    if lsoa.empty:
        raise InputError(
            f"{config.lsoa.path}: no LSOA matches the deprivation file's "
            f"{config.authority.code} rows. Check the file is for {config.authority.name}, "
            "its LSOA vintage matches the deprivation file, and the [authority] code."
        )
    step("lookup")
    lookup = lsoa_to_ward(config.lookup, lsoa, wards)
    step("postcodes")
    postcodes = read_postcodes(config.postcodes, area=wards) if config.postcodes else None
    return Geography(wards=wards, lsoa=lsoa, deprivation=dep, lookup=lookup, postcodes=postcodes)


def locate(batch: RecordBatch, geo: Geography, config: Config,
           shown_path: str) -> tuple[pd.DataFrame, FileQuality]:
    """Geocode one batch, fold geocoding rejects into it, and describe the file's quality."""
    recs, rejects = geocode(
        batch.records,
        lsoa=geo.lsoa,
        lookup=geo.lookup,
        wards=geo.wards,
        postcodes=geo.postcodes,
        path=batch.path,
        max_reject_share=config.records.max_reject_share,
        column_names=batch.columns,
    )
    if rejects:
        batch.rejects = pd.concat([batch.rejects, *rejects], ignore_index=True)
    return recs, FileQuality(
        path=shown_path,
        kind=batch.kind,
        rows_read=batch.rows_read,
        rows_used=len(recs),
        rejects=batch.rejects_by_reason(),
        located_by={str(k): int(v) for k, v in recs["location_method"].value_counts().items()},
    )


def refresh(
    config: Config,
    *,
    force: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    today: dt.date | None = None,
) -> RefreshResult:
    """Build a snapshot for ``config``. Raises ``NeedmapError`` with a user-facing message."""
    step = progress or (lambda name: None)
    check_output_folder(config.output.folder)  # before the work, not after it
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", NeedmapWarning)
        geo = load_geography(config, step)
        wards, lsoa, lookup = geo.wards, geo.lsoa, geo.lookup
        areas = lsoa.merge(geo.deprivation, on="lsoa_code", how="left").merge(
            lookup[["lsoa_code", "ward_code"]], on="lsoa_code", how="left"
        )
        areas = areas.merge(wards[["ward_code", "ward_name"]], on="ward_code", how="left")
        schools = read_schools(config.schools, lsoa, lookup) if config.schools else None

        step("records")
        batches: list[RecordBatch] = [
            read_records(src.path, src.kind, sheet=src.sheet,
                         max_reject_share=config.records.max_reject_share, today=today)
            for src in config.records.sources
        ]
        step("geocode")
        located: dict[str, list[pd.DataFrame]] = {k: [] for k in KINDS}
        quality: list[FileQuality] = []
        for b in batches:
            recs, q = locate(b, geo, config, _rel(b.path, config.root))
            located[b.kind].append(recs)
            quality.append(q)
        referrals = _combine(located["referrals"], "referrals")
        engagement = _combine(located["engagement"], "engagement")

        step("indicators")
        ind = build_indicators(
            areas,
            wards,
            referrals,
            engagement,
            start=start or config.period.start,
            end=end or config.period.end,
            rereferral_window_days=config.records.rereferral_window_days,
        )
        caught = [str(w.message) for w in seen if issubclass(w.category, NeedmapWarning)]
    for message in caught:
        warnings.warn(message, NeedmapWarning, stacklevel=2)

    step("snapshot")
    inputs = [
        {"role": role, "path": _rel(p, config.root), "sha256": sha256(p)}
        for role, p in _input_files(config)
    ]
    manifest = {
        "needmap_version": __version__,
        "authority_code": config.authority.code,
        "authority_name": config.authority.name,
        "config": _rel(config.source, config.root),
        "deprivation_vintage": config.deprivation.vintage,
        "lsoa_vintage": config.deprivation.lsoa_vintage,
        "children_age_band": config.deprivation.children_age_band,
        "lookup_method": str(lookup["lookup_method"].iloc[0]),
        "disclosure_threshold": config.disclosure.threshold,
        "synthetic_records": config.records.synthetic,
        "england": config.england.as_dict(),
        "tile_url": config.maps.tile_url,
        "tile_attribution": config.maps.tile_attribution,
        "attribution": config.maps.attribution or DEFAULT_ATTRIBUTION,
        "n_wards": len(ind.ward),
        "n_lsoas": len(ind.lsoa),
        "children_total": float(ind.lsoa["children"].sum()),
        "inputs": inputs,
        "records": [q.__dict__ for q in quality],
        "rows": {
            "referrals_used": len(referrals),
            "engagement_used": len(engagement),
        },
        "warnings": caught,
    }
    path = write_snapshot(config.snapshots_folder, ind, schools, manifest, force=force)
    snap_id = path.name
    for b, q in zip(batches, quality, strict=True):
        if len(b.rejects):
            q.rejects_file = str(_write_rejects(config, snap_id, b))
    return RefreshResult(snapshot_path=path, manifest=load_snapshot(path).manifest,
                         quality=quality, warnings=caught)


MAX_CHECK_BYTES = 50 * 1024 * 1024


def check_records_file(config: Config, path: Path, kind: str, *, sheet: str | None = None,
                       today: dt.date | None = None) -> FileQuality:
    """Validate one export exactly as refresh would, and return only its counts.

    The app uses this for uploads: nothing is kept, and only the data-quality summary (counts by
    reason) is returned, never a row.
    """
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    size = path.stat().st_size if path.exists() else 0
    if size > MAX_CHECK_BYTES:
        raise InputError(
            f"{path.name}: {size / 1e6:.0f} MB is over the {MAX_CHECK_BYTES / 1e6:.0f} MB limit "
            "for checking in the app. Check it with `needmap refresh` on the analyst's machine."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeedmapWarning)
        geo = load_geography(config)
    batch = read_records(path, kind, sheet=sheet, max_reject_share=config.records.max_reject_share,
                         today=today)
    return locate(batch, geo, config, path.name)[1]


def check_uploaded(config: Config, name: str, data: bytes, kind: str) -> FileQuality:
    """``check_records_file`` for bytes from an upload, via a private temporary file."""
    import tempfile

    if len(data) > MAX_CHECK_BYTES:
        raise InputError(
            f"{name}: {len(data) / 1e6:.0f} MB is over the {MAX_CHECK_BYTES / 1e6:.0f} MB limit "
            "for checking in the app."
        )
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    with tempfile.TemporaryDirectory() as tmp:
        # Named as uploaded, so an error names the file the person chose.
        path = Path(tmp) / (safe or "upload.csv")
        path.write_bytes(data)
        quality = check_records_file(config, path, kind)
    quality.path = name
    return quality


DEFAULT_ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025. Contains Royal Mail data © Royal "
    "Mail copyright and database right 2025. Source: Office for National Statistics licensed under "
    "the Open Government Licence v3.0. English Indices of Deprivation 2019, MHCLG (OGL v3.0)."
)


def _check_lsoas_inside(
    dropped: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, config: Config
) -> None:
    """LSOAs left out because the deprivation file lacks them must lie outside the authority.

    A regional LSOA file is cut to the authority by the deprivation file's codes; an LSOA of the
    authority missing from that file would otherwise vanish from every map without a word.
    """
    if dropped.empty:
        return
    outline = wards.union_all().buffer(-1.0)
    inside = dropped[dropped.geometry.representative_point().within(outline)]
    if len(inside):
        codes = sorted(inside["lsoa_code"])
        raise InputError(
            f"{config.deprivation.path}, column '{config.deprivation.code_column}': "
            f"{len(codes)} LSOA(s) inside {config.authority.name}'s wards have no deprivation "
            f"row, e.g. {', '.join(codes[:3])}. Use a complete deprivation file of the same LSOA "
            f"vintage as {config.lsoa.path.name} ({config.deprivation.lsoa_vintage})."
        )


def _combine(frames: list[pd.DataFrame], kind: str) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_records(kind)
    out = pd.concat(frames, ignore_index=True)
    spec = KINDS[kind]
    # The same id in two files (e.g. overlapping exports) counts once.
    if spec.id_field in out:
        out = out.drop_duplicates(spec.id_field)
    return out.drop(columns=[ROW])


def _input_files(config: Config) -> list[tuple[str, Path]]:
    files = [
        ("boundaries.ward", config.ward.path),
        ("boundaries.lsoa", config.lsoa.path),
        ("deprivation", config.deprivation.path),
    ]
    if config.lookup:
        files.append(("lookup", config.lookup.path))
    if config.postcodes:
        files.append(("postcodes", config.postcodes.path))
    if config.schools:
        files.append(("schools", config.schools.path))
    files += [(f"records.{r.kind}", r.path) for r in config.records.sources]
    return files


def _write_rejects(config: Config, snap_id: str, batch: RecordBatch) -> Path:
    """Rejected rows go to a local file beside the snapshots; nothing in needmap reads it."""
    folder = config.rejects_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{snap_id}_{batch.kind}_{batch.path.stem}_rejects.csv"
    tmp = path.with_suffix(".tmp")
    batch.rejects.rename(columns={ROW: "row"}).to_csv(tmp, index=False)
    tmp.replace(path)
    return path
