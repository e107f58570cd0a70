"""``needmap refresh``: validate, ingest, geocode, compute, then write a snapshot.

The same function serves the CLI and the app (which builds the demo snapshot on first run).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from threadpoolctl import threadpool_limits

from needmap import __version__
from needmap.changes import changes_between
from needmap.config import Config
from needmap.disclosure import NOISE, load_key, protect, record_keys
from needmap.errors import InputError, NeedmapWarning, SnapshotError
from needmap.indicators import Indicators, build_indicators, link_families, period_years
from needmap.locking import check_output_folder
from needmap.radar import OUTPUT_COLUMNS, radar_flags
from needmap.snapshot import (
    latest_manifest,
    latest_path,
    list_snapshots,
    load_snapshot,
    sha256,
    write_snapshot,
)
from needmap.sources.boundaries import read_boundaries
from needmap.sources.deprivation import read_deprivation, read_ward_change
from needmap.sources.geocode import geocode, read_postcodes
from needmap.sources.lookups import lsoa_to_ward
from needmap.sources.records import KINDS, RecordBatch, empty_records, read_links, read_records
from needmap.sources.schools import read_schools
from needmap.sources.tables import ROW
from needmap.trends import QuarterlyTrend, area_trends

STEPS = (
    "boundaries",
    "deprivation",
    "lookup",
    "postcodes",
    "records",
    "geocode",
    "indicators",
    "protect",
    "flags",
    "trends",
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
    #: True when nothing was written: the latest snapshot was made from the same inputs.
    up_to_date: bool = False


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
    #: Change in deprivation per ward since ``[deprivation_previous]``'s vintage, when configured.
    ward_change: pd.DataFrame | None = None


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
    change = (
        read_ward_change(config.deprivation_previous,
                         dep[dep["lsoa_code"].isin(lsoa["lsoa_code"])], lookup)
        if config.deprivation_previous else None
    )
    return Geography(wards=wards, lsoa=lsoa, deprivation=dep, lookup=lookup, postcodes=postcodes,
                     ward_change=change)


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
    """Build a snapshot for ``config``. Raises ``NeedmapError`` with a user-facing message.

    When the latest snapshot was made from the same inputs, config, period and needmap version,
    nothing is written and the result says ``up_to_date`` (``force`` writes one anyway).
    """
    step = progress or (lambda name: None)
    check_output_folder(config.output.folder)  # before the work, not after it
    caught: list[str] = []
    fingerprint = _fingerprint(config, start or config.period.start, end or config.period.end)
    if not force:
        current = latest_manifest(config.snapshots_folder)
        if current and current.get("fingerprint") == fingerprint:
            path = config.snapshots_folder / current["snapshot_id"]
            return RefreshResult(snapshot_path=path, manifest=current, up_to_date=True)
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
        links = read_links(config.records)
        batches: list[RecordBatch] = [
            read_records(src.path, src.kind, sheet=src.sheet,
                         max_reject_share=config.records.max_reject_share, today=today,
                         links=links)
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
        referrals = link_families(referrals, links.families)

        step("indicators")
        key = load_key(config.secrets_folder, create=True,
                       snapshots_exist=bool(list_snapshots(config.snapshots_folder)))
        referrals = _with_keys(referrals, "referral_id", key)
        engagement = _with_keys(engagement, "family_id", key)
        ind = build_indicators(
            areas,
            wards,
            referrals,
            engagement,
            start=start or config.period.start,
            end=end or config.period.end,
            rereferral_window_days=config.records.rereferral_window_days,
            authority_code=config.authority.code,
            authority_name=config.authority.name,
        )
        if geo.ward_change is not None:
            ind.ward = ind.ward.merge(geo.ward_change, on="ward_code", how="left")
        step("protect")
        protected = protect(ind.cells, config.disclosure.threshold, secret=key)
        # One BLAS thread: the fits are hundreds of small matrix products, where a second thread
        # gains little and, on a busy machine, costs much (bench/refresh.py, England: flags 66 s
        # with OpenBLAS's default threads against 18 s with one, the machine's load average 4).
        with threadpool_limits(limits=1, user_api="blas"):
            step("flags")
            flags = snapshot_flags(ind, protected, config)
            step("trends")
            trends, trend_lines = snapshot_trends(ind, protected, flags)
        previous = _previous_snapshot(config)
        changes = (None if previous is None else changes_between(
            previous.flags_table, flags, previous.trends_table, trends,
            names=_area_names(ind)))
        caught = [str(w.message) for w in seen if issubclass(w.category, NeedmapWarning)]
    for message in caught:
        warnings.warn(message, NeedmapWarning, stacklevel=2)

    step("snapshot")
    inputs = [
        {"role": role, "path": _rel(p, config.root), "sha256": sha256(p)}
        for role, p in _input_files(config)
    ]
    dep = config.deprivation
    manifest = {
        "needmap_version": __version__,
        "fingerprint": fingerprint,
        "authority_code": config.authority.code,
        "authority_name": config.authority.name,
        "config": _rel(config.source, config.root),
        "deprivation_vintage": dep.vintage,
        "lsoa_vintage": dep.lsoa_vintage,
        "previous_vintage": (config.deprivation_previous.vintage
                             if config.deprivation_previous else None),
        "children_age_band": dep.children_age_band,
        "children_source": dep.children_source,
        "boundaries": {
            "ward": config.ward.generalisation,
            "lsoa": config.lsoa.generalisation,
        },
        "lookup_method": str(lookup["lookup_method"].iloc[0]),
        "disclosure": {
            "threshold": config.disclosure.threshold,
            "method": config.disclosure.method,
            "noise": {str(k): v for k, v in NOISE.items()},
        },
        "radar": dataclasses.asdict(config.radar),
        "configured_period": ind.configured_period,
        "synthetic_records": config.records.synthetic,
        "england": config.england.as_dict(),
        "tile_url": config.maps.tile_url,
        "tile_attribution": config.maps.tile_attribution,
        "attribution": config.maps.attribution,
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
        "changes_since": None if previous is None else previous.id,
        "trends": {"horizon": HORIZON, "min_quarters": QuarterlyTrend.min_quarters,
                   "max_hidden_share": round(QuarterlyTrend.max_hidden_share, 3)},
    }
    raw = ind.cells.drop(columns=["key", "key_b"])
    tables = {
        "lsoa": ind.lsoa, "ward": ind.ward, "authority": ind.authority, "periods": ind.periods,
        "protected": protected, "flags": flags, "schools": schools, "raw": raw,
        "trends": trends, "trend_lines": trend_lines, "changes": changes,
    }
    path = write_snapshot(config.snapshots_folder, tables, manifest, force=force,
                          period_start=ind.period_start, period_end=ind.period_end)
    snap_id = path.name
    for b, q in zip(batches, quality, strict=True):
        if len(b.rejects):
            q.rejects_file = str(_write_rejects(config, snap_id, b))
    return RefreshResult(snapshot_path=path, manifest=load_snapshot(path).manifest,
                         quality=quality, warnings=caught)


def _fingerprint(config: Config, start: dt.date | None, end: dt.date | None) -> str:
    """What a snapshot is made from: inputs' SHA-256, the config file, the period, the version."""
    parts = [__version__, str(start), str(end), sha256(config.source)]
    parts += [f"{role}={sha256(p)}" for role, p in _input_files(config) if p.is_file()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _with_keys(records: pd.DataFrame, id_column: str, key: str) -> pd.DataFrame:
    """Records with their record keys (``key``, ``key_b``) from ``id_column``."""
    if records.empty:
        return records.assign(key=pd.Series(dtype="int64"), key_b=pd.Series(dtype="int64"))
    a, b = record_keys(records[id_column], key)
    return records.assign(key=a, key_b=b)


def snapshot_flags(ind: Indicators, protected: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Off-the-radar flags of every level and kind for the configured period.

    Published numbers come from a fit on the protected counts, classes from a fit on the true
    ones (see ``needmap.radar.radar_flags``); this is the only place flags are computed. Areas
    with no children or no need figure (a ward that no LSOA is best-fitted to) cannot be judged:
    they are listed as "no data".
    """
    period = ind.configured_period
    frames = []
    for level in ("lsoa", "ward"):
        areas = getattr(ind, level)
        code = f"{level}_code"
        usable = (pd.to_numeric(areas["children"], errors="coerce") > 0) & areas[
            "idaci_score"].notna()
        judged = areas[usable.to_numpy()].reset_index(drop=True)
        for kind, measure in (("engagement", "families_engaged"), ("referrals", "referrals")):
            if len(judged) < config.radar.bands:
                # Too few areas to compare with each other (the Isles of Scilly has one LSOA):
                # every area is listed as not judged, and the refresh goes on.
                frames.append(_not_judged(
                    areas, level, kind,
                    f"Only {len(judged)} {LEVEL_WORDS[level][len(judged) != 1]} in "
                    f"{config.authority.name} can be judged; the radar compares at least "
                    f"{config.radar.bands} (one per need band), so none is judged."))
                continue
            pub = _cells(protected, level, period, measure).reindex(judged[code])
            true = _cells(ind.cells, level, period, measure).reindex(judged[code])
            frames.append(radar_flags(
                judged, level=level, kind=kind, settings=config.radar,
                threshold=config.disclosure.threshold, authority_name=config.authority.name,
                fit_counts=pub["value"].reset_index(drop=True),
                decide_counts=true["count"].reset_index(drop=True),
                shown=pub["shown"].reset_index(drop=True),
            ))
            rest = areas[~usable.to_numpy()]
            if len(rest):
                frames.append(_not_judged(
                    rest, level, kind,
                    "No children or no deprivation figure in this area: not judged."))
    # Every column of the radar's table, even where no level could be judged (text as text).
    out = pd.concat(frames, ignore_index=True).reindex(columns=OUTPUT_COLUMNS)
    text = ["need_band_label", "need_group", "certainty"]
    return out.astype({c: object for c in text if out[c].isna().all()})


def _not_judged(areas: pd.DataFrame, level: str, kind: str, reason: str) -> pd.DataFrame:
    """Flag rows for areas the radar cannot judge: class "no data" and why."""
    return pd.DataFrame({
        "area_code": areas[f"{level}_code"].to_numpy(),
        "area_name": areas[f"{level}_name"].to_numpy(),
        "level": level, "kind": kind, "flag": NO_DATA, "reason": reason,
    })


NO_DATA = "no data"
LEVEL_WORDS = {"lsoa": ("neighbourhood (LSOA)", "neighbourhoods (LSOAs)"),
               "ward": ("ward", "wards")}


#: Quarters forecast by the trajectories.
HORIZON = 4


def snapshot_trends(ind: Indicators, protected: pd.DataFrame,
                    flags: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trajectories of every LSOA, ward and the authority, fitted on protected quarterly values.

    Reach against need uses the radar's published expected families (engagement flags).
    """
    quarters = ind.periods.loc[ind.periods["kind"] == "quarter", "period"].astype(str).tolist()
    children = {
        "lsoa": ind.lsoa.set_index("lsoa_code")["children"],
        "ward": ind.ward.set_index("ward_code")["children"],
        "authority": ind.authority.set_index("authority_code")["children"],
    }
    eng = flags[flags["kind"] == "engagement"]
    expected = {level: eng[eng["level"] == level].set_index("area_code")["expected"]
                for level in ("lsoa", "ward")}
    expected["authority"] = pd.Series({ind.authority["authority_code"].iloc[0]:
                                       float(expected["lsoa"].sum())})
    n_q = period_years(ind.period_start, ind.period_end) * 4
    return area_trends(protected, quarters, children, expected=expected, expected_quarters=n_q,
                       horizon=HORIZON)


def _previous_snapshot(config: Config):
    """The current snapshot before this refresh, if it can be read (its published tables)."""
    path = latest_path(config.snapshots_folder)
    if path is None:
        return None
    try:
        return load_snapshot(path)
    except (SnapshotError, OSError, ValueError):
        return None


def _area_names(ind: Indicators) -> dict[str, str]:
    names = dict(zip(ind.lsoa["lsoa_code"].astype(str), ind.lsoa["lsoa_name"].astype(str),
                     strict=True))
    names |= dict(zip(ind.ward["ward_code"].astype(str), ind.ward["ward_name"].astype(str),
                      strict=True))
    names |= dict(zip(ind.authority["authority_code"].astype(str),
                      ind.authority["authority_name"].astype(str), strict=True))
    return names


def _cells(table: pd.DataFrame, level: str, period: str, measure: str) -> pd.DataFrame:
    sel = (table["level"] == level) & (table["period"] == period) & (table["measure"] == measure)
    return table[sel].set_index("area_code")


MAX_CHECK_BYTES = 50 * 1024 * 1024


def check_records_file(config: Config, path: Path, kind: str, *, sheet: str | None = None,
                       today: dt.date | None = None,
                       shown_name: str | None = None) -> FileQuality:
    """Validate one export exactly as refresh would, and return only its counts.

    The app uses this for uploads: nothing is kept, and only the data-quality summary (counts by
    reason) is returned, never a row. ``shown_name`` is how errors name the file.
    """
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    shown = shown_name or path.name
    size = path.stat().st_size if path.exists() else 0
    if size > MAX_CHECK_BYTES:
        raise InputError(
            f"{shown}: {size / 1e6:.0f} MB is over the {MAX_CHECK_BYTES / 1e6:.0f} MB limit "
            "for checking in the app. Check it with `needmap refresh` on the analyst's machine."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeedmapWarning)
        geo = load_geography(config)
    try:
        batch = read_records(path, kind, sheet=sheet,
                             max_reject_share=config.records.max_reject_share, today=today,
                             links=read_links(config.records))
        quality = locate(batch, geo, config, shown)[1]
    except InputError as exc:
        raise InputError(str(exc).replace(str(path), shown)) from None
    return quality


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
    files += [(f"records.{r.kind}", r.path)
              for r in config.records.families + config.records.addresses]
    if config.deprivation_previous:
        files += [("deprivation_previous", config.deprivation_previous.path),
                  ("deprivation_previous.lookup", config.deprivation_previous.lookup)]
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
