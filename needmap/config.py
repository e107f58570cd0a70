"""One frozen settings object read from ``needmap.toml``: the one home of defaults.

Every file path in the TOML is relative to the folder that holds the TOML, so a config and its data
can move together. Another authority, or IoD2025 on LSOA 2021, is a change to this file,
not to code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from needmap.errors import ConfigError

LEVELS = ("lsoa", "ward")


@dataclass(frozen=True)
class BoundarySource:
    """A polygon file and the columns that hold its GSS code and name."""

    path: Path
    code_column: str
    name_column: str
    layer: str | None = None
    #: Keep only rows whose ``authority_column`` equals the authority code (cut a regional file).
    authority_column: str | None = None


@dataclass(frozen=True)
class DeprivationSource:
    """An Indices of Deprivation table at LSOA level, described by column mapping."""

    path: Path
    vintage: str
    lsoa_vintage: str
    code_column: str
    children_column: str
    children_age_band: str
    population_column: str
    imd_rank_column: str
    idaci_rank_column: str
    imd_score_column: str | None = None
    idaci_score_column: str | None = None
    imd_decile_column: str | None = None
    idaci_decile_column: str | None = None
    #: Number of LSOAs in England for this vintage: turns national ranks into percentiles.
    national_areas: int = 32844
    sheet: str | None = None
    authority_column: str | None = None


@dataclass(frozen=True)
class LookupSource:
    """An LSOA-to-ward best-fit lookup."""

    path: Path
    lsoa_column: str
    ward_column: str


@dataclass(frozen=True)
class PostcodeSource:
    """A postcode table with coordinates (EPSG:27700), and optionally LSOA/ward per postcode."""

    path: Path
    postcode_column: str = "postcode"
    easting_column: str = "eastings"
    northing_column: str = "northings"
    lsoa_column: str | None = None
    ward_column: str | None = None


@dataclass(frozen=True)
class SchoolSource:
    """Schools (GIAS) as points, to show which schools sit in an area."""

    path: Path
    id_column: str = "urn"
    name_column: str = "establishment_name"
    phase_column: str = "education_phase"
    easting_column: str = "easting"
    northing_column: str = "northing"


@dataclass(frozen=True)
class RecordSource:
    """One record-level export: referrals or engagement, CSV or Excel."""

    path: Path
    kind: str  # "referrals" | "engagement"
    sheet: str | None = None


@dataclass(frozen=True)
class Config:
    """Everything needmap needs to build a snapshot for one authority."""

    source: Path
    authority_code: str
    authority_name: str
    ward: BoundarySource
    lsoa: BoundarySource
    deprivation: DeprivationSource
    lookup: LookupSource | None
    postcodes: PostcodeSource | None
    schools: SchoolSource | None
    records: tuple[RecordSource, ...]
    output: Path
    disclosure_threshold: int = 5
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    #: A rejection reason that hits more than this share of a file's rows stops the refresh: the
    #: file is probably the wrong one (another authority, another code vintage), not a bit messy.
    max_reject_share: float = 0.5
    rereferral_window_days: int = 365
    tile_url: str | None = None
    tile_attribution: str | None = None
    attribution: str = ""
    synthetic: bool = False
    #: ``[access.roles]``: e-mail -> role (lead, analyst, staff); the roles table in the plans
    #: database takes precedence.
    access_roles: dict[str, str] = field(default_factory=dict)
    #: ``[radar]`` thresholds (keys of ``needmap.radar.RadarSettings``), checked when used.
    radar_settings: dict[str, Any] = field(default_factory=dict)
    #: England reference values shown beside each area (measure -> value).
    england: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def radar(self):
        """The ``[radar]`` section as ``RadarSettings`` (unknown keys are a ConfigError)."""
        from needmap.radar import RadarSettings

        try:
            return RadarSettings(
                disclosure_threshold=self.disclosure_threshold, **self.radar_settings
            )
        except TypeError as exc:
            raise ConfigError(
                f"{self.source}: [radar] has an unknown key ({exc}). Valid keys: bands, "
                "high_need_bands, flag_level, watch_level, well_reached_level, interval_level, "
                "min_expected, overdispersion, use_clusters, cluster_alpha, permutations."
            ) from None

    @property
    def root(self) -> Path:
        return self.source.parent

    @property
    def rejects_folder(self) -> Path:
        """Record-level rejects stay here, on the analyst's machine; nothing else reads them."""
        return self.output / "rejects"

    @property
    def snapshots_folder(self) -> Path:
        return self.output / "snapshots"

    @property
    def plans_db(self) -> Path:
        return self.output / "needmap.sqlite"


def _section(raw: dict[str, Any], name: str, src: Path, required: bool = True) -> dict[str, Any]:
    value = raw
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            if required:
                raise ConfigError(
                    f"{src}: section [{name}] is missing. Add it; see the documented "
                    "needmap.toml in the project root for every key."
                )
            return {}
        value = value[part]
    if not isinstance(value, dict):
        raise ConfigError(f"{src}: [{name}] must be a table of keys, found {type(value).__name__}.")
    return value


def _get(sec: dict[str, Any], key: str, name: str, src: Path, default: Any = ...) -> Any:
    if key in sec:
        return sec[key]
    if default is ...:
        raise ConfigError(f"{src}: key '{key}' is missing from [{name}]. Add {key} = \"...\".")
    return default


def _path(root: Path, value: Any, name: str, src: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{src}: [{name}] path must be a non-empty string, found {value!r}.")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (root / p)


def _date(value: Any, key: str, src: Path) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"{src}: [period] {key} = {value!r} is not a date. Write it as YYYY-MM-DD, "
            "e.g. 2024-04-01."
        ) from None


def load_config(path: str | Path) -> Config:
    """Read and check a needmap TOML file; paths become absolute, relative to the file."""
    src = Path(path).expanduser().resolve()
    if not src.is_file():
        raise ConfigError(
            f"{src}: config file not found. Pass --config with the path to your needmap.toml "
            "(the demo's is needmap.toml in the project root)."
        )
    try:
        raw = tomllib.loads(src.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: not valid TOML ({exc}). Fix the line it names.") from None
    root = src.parent

    auth = _section(raw, "authority", src)

    def boundary(level: str) -> BoundarySource:
        name = f"boundaries.{level}"
        sec = _section(raw, name, src)
        return BoundarySource(
            path=_path(root, _get(sec, "path", name, src), name, src),
            code_column=_get(sec, "code_column", name, src),
            name_column=_get(sec, "name_column", name, src),
            layer=sec.get("layer"),
            authority_column=sec.get("authority_column"),
        )

    ward, lsoa = boundary("ward"), boundary("lsoa")
    dep = _section(raw, "deprivation", src)
    deprivation = DeprivationSource(
        path=_path(root, _get(dep, "path", "deprivation", src), "deprivation", src),
        vintage=_get(dep, "vintage", "deprivation", src),
        lsoa_vintage=_get(dep, "lsoa_vintage", "deprivation", src),
        code_column=_get(dep, "code_column", "deprivation", src),
        children_column=_get(dep, "children_column", "deprivation", src),
        children_age_band=_get(dep, "children_age_band", "deprivation", src),
        population_column=_get(dep, "population_column", "deprivation", src),
        imd_rank_column=_get(dep, "imd_rank_column", "deprivation", src),
        idaci_rank_column=_get(dep, "idaci_rank_column", "deprivation", src),
        imd_score_column=dep.get("imd_score_column"),
        idaci_score_column=dep.get("idaci_score_column"),
        imd_decile_column=dep.get("imd_decile_column"),
        idaci_decile_column=dep.get("idaci_decile_column"),
        national_areas=int(dep.get("national_areas", 32844)),
        sheet=dep.get("sheet"),
        authority_column=dep.get("authority_column"),
    )

    lk = _section(raw, "lookup", src, required=False)
    lookup = None
    if lk.get("path"):
        lookup = LookupSource(
            path=_path(root, lk["path"], "lookup", src),
            lsoa_column=_get(lk, "lsoa_column", "lookup", src),
            ward_column=_get(lk, "ward_column", "lookup", src),
        )

    pc = _section(raw, "postcodes", src, required=False)
    postcodes = None
    if pc.get("path"):
        postcodes = PostcodeSource(
            path=_path(root, pc["path"], "postcodes", src),
            postcode_column=pc.get("postcode_column", "postcode"),
            easting_column=pc.get("easting_column", "eastings"),
            northing_column=pc.get("northing_column", "northings"),
            lsoa_column=pc.get("lsoa_column"),
            ward_column=pc.get("ward_column"),
        )

    sc = _section(raw, "schools", src, required=False)
    schools = None
    if sc.get("path"):
        schools = SchoolSource(
            path=_path(root, sc["path"], "schools", src),
            **{k: v for k, v in sc.items() if k != "path"},
        )

    rec = _section(raw, "records", src, required=False)
    records: list[RecordSource] = []
    for kind in ("referrals", "engagement"):
        entries = rec.get(kind, [])
        if isinstance(entries, (str, dict)):
            entries = [entries]
        for entry in entries:
            if isinstance(entry, str):
                entry = {"path": entry}
            records.append(
                RecordSource(
                    path=_path(root, entry.get("path"), f"records.{kind}", src),
                    kind=kind,
                    sheet=entry.get("sheet"),
                )
            )

    out = _section(raw, "output", src, required=False)
    disc = _section(raw, "disclosure", src, required=False)
    per = _section(raw, "period", src, required=False)
    maps = _section(raw, "maps", src, required=False)
    threshold = disc.get("threshold", 5)
    if not isinstance(threshold, int) or threshold < 0:
        raise ConfigError(
            f"{src}: [disclosure] threshold must be a whole number >= 0 (counts 1..threshold "
            f"are suppressed; DfE's rule is 5), found {threshold!r}."
        )
    start = _date(per.get("start"), "start", src)
    end = _date(per.get("end"), "end", src)
    if start and end and start > end:
        raise ConfigError(f"{src}: [period] start {start} is after end {end}. Swap them.")

    return Config(
        source=src,
        authority_code=_get(auth, "code", "authority", src),
        authority_name=_get(auth, "name", "authority", src),
        ward=ward,
        lsoa=lsoa,
        deprivation=deprivation,
        lookup=lookup,
        postcodes=postcodes,
        schools=schools,
        records=tuple(records),
        output=_path(root, out.get("folder", "output"), "output", src),
        disclosure_threshold=threshold,
        period_start=start,
        period_end=end,
        max_reject_share=float(rec.get("max_reject_share", 0.5)),
        rereferral_window_days=int(rec.get("rereferral_window_days", 365)),
        tile_url=maps.get("tile_url") or None,
        tile_attribution=maps.get("tile_attribution") or None,
        attribution=maps.get("attribution", ""),
        synthetic=bool(rec.get("synthetic", False)),
        access_roles={str(k): str(v) for k, v in
                      _section(raw, "access", src, required=False).get("roles", {}).items()},
        radar_settings=dict(_section(raw, "radar", src, required=False)),
        england={k: float(v) for k, v in _section(raw, "england", src, required=False).items()},
        raw=raw,
    )
