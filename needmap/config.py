"""The configuration, declared once: one frozen dataclass per TOML section, checked at load.

Every key needmap reads is a field below, with its type and its one default. :func:`load_config`
walks the TOML against these declarations: an unknown key is an error that lists the valid ones,
a value of the wrong type is an error that names the key and the type expected (a ``true`` is not
a number, a ``"5"`` is not a whole number), and each section's ``__post_init__`` checks ranges.
Nothing is checked later: a config that loads is a config every command can use.

Every file path in the TOML is relative to the folder that holds the TOML, so a config and its data
can move together. Another authority, or another IoD vintage, is a change to this file, not to code.
Settings that the radar, the zones and the disclosure control need live here too, so no lower
module has to import a higher one to learn its defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from needmap.errors import ConfigError

LEVELS = ("lsoa", "ward")
#: A GSS code: a letter for the nation, then eight digits (E08000004, E01005320, E05014284).
GSS = re.compile(r"^[EWSNK]\d{8}$")
#: The DfE rule: counts from 1 to 5 are never shown. A config may hide more, never fewer.
DFE_THRESHOLD = 5


# -- sections ---------------------------------------------------------------------------------


def _check_choices(obj: Any) -> None:
    """Literal-typed fields of a settings object must hold one of their choices."""
    hints = typing.get_type_hints(type(obj))
    section = type(obj).__doc__.split(":", 1)[0].strip("`") if type(obj).__doc__ else ""
    for f in dataclasses.fields(obj):
        hint = hints[f.name]
        if typing.get_origin(hint) is Literal:
            value = getattr(obj, f.name)
            if value not in typing.get_args(hint):
                raise ConfigError(
                    f"{section} {f.name} must be one of "
                    f"{', '.join(map(str, typing.get_args(hint)))}; found {value!r}."
                )


@dataclass(frozen=True)
class AuthoritySettings:
    """``[authority]``: the local authority district the snapshot covers."""

    code: str
    name: str

    def __post_init__(self) -> None:
        if not GSS.match(self.code):
            raise ConfigError(
                f"[authority] code must be a GSS code such as E08000004, found {self.code!r}."
            )
        if not self.name.strip():
            raise ConfigError("[authority] name must not be empty, e.g. name = \"Oldham\".")


@dataclass(frozen=True)
class BoundarySource:
    """``[boundaries.ward]``, ``[boundaries.lsoa]``: polygons and their code and name columns."""

    path: Path
    code_column: str
    name_column: str
    layer: str | None = None
    #: Keep only rows whose ``authority_column`` equals the authority code (cut a regional file).
    authority_column: str | None = None
    #: How the polygons were generalised, said on the Data page (e.g. "BGC, 20 m").
    generalisation: str | None = None


@dataclass(frozen=True)
class DeprivationSource:
    """``[deprivation]``: an Indices of Deprivation table at LSOA level, by column mapping."""

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
    #: Where the child denominator comes from, said beside every rate (e.g. "ONS mid-2022").
    children_source: str | None = None

    def __post_init__(self) -> None:
        if self.national_areas < 1:
            raise ConfigError(
                f"[deprivation] national_areas must be the number of LSOAs in England (32844 "
                f"for LSOA 2011, 33755 for LSOA 2021), found {self.national_areas}."
            )


@dataclass(frozen=True)
class PreviousDeprivationSource:
    """``[deprivation_previous]``: an earlier IoD vintage, compared with the current one by ward.

    Scores are not comparable across vintages (indicators, denominators and LSOAs all change),
    so only national ranks are used: each vintage's ranks become percentiles of its own England,
    and the earlier LSOAs reach the current wards through ``lookup``, never by LSOA code.
    """

    path: Path
    vintage: str
    lsoa_vintage: str
    code_column: str
    imd_rank_column: str
    idaci_rank_column: str
    #: Weights of the ward averages: population for IMD, children for IDACI (as for the current).
    population_column: str
    children_column: str
    #: A lookup from the earlier LSOAs to the current LSOAs (e.g. ONS LSOA 2011 -> 2021) or
    #: straight to the current wards (a best-fit LSOA 2011 -> ward lookup).
    lookup: Path
    lookup_from_column: str
    lookup_to_column: str
    lookup_to: Literal["lsoa", "ward"] = "lsoa"
    national_areas: int = 32844
    sheet: str | None = None

    def __post_init__(self) -> None:
        _check_choices(self)
        if self.national_areas < 1:
            raise ConfigError(
                f"[deprivation_previous] national_areas must be the number of LSOAs in England "
                f"for that vintage (32844 for LSOA 2011), found {self.national_areas}."
            )


@dataclass(frozen=True)
class LookupSource:
    """``[lookup]``: an LSOA-to-ward best-fit lookup."""

    path: Path
    lsoa_column: str
    ward_column: str


@dataclass(frozen=True)
class PostcodeSource:
    """``[postcodes]``: postcodes with coordinates (EPSG:27700), optionally LSOA/ward each."""

    path: Path
    postcode_column: str = "postcode"
    easting_column: str = "eastings"
    northing_column: str = "northings"
    lsoa_column: str | None = None
    ward_column: str | None = None
    #: Keep only rows whose ``authority_column`` equals the authority code (a national file).
    authority_column: str | None = None


@dataclass(frozen=True)
class SchoolSource:
    """``[schools]``: schools (GIAS) as points, to show which schools sit in an area."""

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
    sheet: str | None = None
    kind: Literal["referrals", "engagement", "families", "addresses"] = "referrals"


@dataclass(frozen=True)
class RecordsSettings:
    """``[records]``: the record-level exports and how strictly they are read."""

    referrals: tuple[RecordSource, ...] = ()
    engagement: tuple[RecordSource, ...] = ()
    #: Person -> family links (e.g. the SSD's ssd_family), for engagement files that name the
    #: person but not the family (ssd_early_help_episodes).
    families: tuple[RecordSource, ...] = ()
    #: Address histories (person, postcode, start and end date; e.g. the SSD's ssd_address): a
    #: record is placed at the address its person had on the record's date.
    addresses: tuple[RecordSource, ...] = ()
    #: The records are synthetic (the demo): pages and exports say so.
    synthetic: bool = False
    #: A rejection reason that hits more than this share of a file's rows stops the refresh: the
    #: file is probably the wrong one (another authority, another code vintage), not a bit messy.
    max_reject_share: float = 0.5
    #: A referral within this many days of the same child's previous one is a re-referral.
    rereferral_window_days: int = 365

    def __post_init__(self) -> None:
        if not 0.0 < self.max_reject_share <= 1.0:
            raise ConfigError(
                f"[records] max_reject_share must be a share above 0 and at most 1 (e.g. 0.5), "
                f"found {self.max_reject_share!r}."
            )
        if self.rereferral_window_days < 1:
            raise ConfigError(
                "[records] rereferral_window_days must be a whole number of days >= 1 (e.g. "
                f"365), found {self.rereferral_window_days!r}."
            )

    @property
    def sources(self) -> tuple[RecordSource, ...]:
        """Every export, referrals first."""
        return self.referrals + self.engagement


@dataclass(frozen=True)
class PeriodSettings:
    """``[period]``: the period maps and flags summarise (default: the latest four quarters)."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"[period] start {self.start} is after end {self.end}. Swap them.")


@dataclass(frozen=True)
class RadarSettings:
    """``[radar]``: the off-the-radar method and its thresholds (see ``needmap.radar``).

    Parameters
    ----------
    method : {"poisson", "indirect"}
        Expected counts from a Poisson regression on a spline of the need score, or by indirect
        standardisation on the need bands.
    need : {"idaci", "imd"}
        The need measure: its national percentile (from the national rank) cuts the bands and
        decides high need; its score is the regression's covariate.
    bands : int
        Number of within-authority need bands, cut on the national percentile (5 = fifths).
    high_need_bands : int
        How many of the most deprived bands count as high need (2 = top two fifths).
    edge_bands : int
        Bands just below high need that are flagged only on strong evidence (the soft edge);
        0 makes the edge hard.
    fdr : float
        False discovery rate of the flags: about this share of flagged areas are expected to be
        flagged by chance (0.2: about 8 in 10 are real).
    strong_fdr : float
        Stricter rate for "strong evidence", which an area on the soft edge needs.
    watch_level : float
        Funnel coverage below which an unflagged shortfall is put on watch (0.95).
    min_expected : float
        Areas expecting fewer events than this are "too few to judge".
    overdispersion : {"additive", "none"}
        Allow for the usual spread of reach between areas (a Poisson-gamma model with its
        variance estimated robustly), or treat counts as Poisson.
    robust : bool
        Down-weight far-out areas when fitting, so the areas looked for do not drag down their
        own expected counts.
    """

    method: Literal["poisson", "indirect"] = "poisson"
    bands: int = 5
    high_need_bands: int = 2
    edge_bands: int = 1
    need: Literal["idaci", "imd"] = "idaci"
    fdr: float = 0.2
    strong_fdr: float = 0.05
    watch_level: float = 0.95
    min_expected: float = 5.0
    overdispersion: Literal["additive", "none"] = "additive"
    robust: bool = True

    def __post_init__(self) -> None:
        _check_choices(self)
        if self.bands < 2:
            raise ConfigError(f"[radar] bands must be a whole number >= 2; found {self.bands!r}.")
        if not 1 <= self.high_need_bands < self.bands:
            raise ConfigError(
                f"[radar] high_need_bands must be from 1 to bands - 1 = {self.bands - 1}; "
                f"found {self.high_need_bands!r}."
            )
        if not 0 <= self.edge_bands <= self.bands - self.high_need_bands:
            raise ConfigError(
                f"[radar] edge_bands must be from 0 to bands - high_need_bands = "
                f"{self.bands - self.high_need_bands}; found {self.edge_bands!r}."
            )
        if not 0.0 < self.fdr <= 0.5:
            raise ConfigError(
                f"[radar] fdr must be a false discovery rate in (0, 0.5], e.g. 0.2; "
                f"found {self.fdr!r}."
            )
        if not 0.0 < self.strong_fdr <= self.fdr:
            raise ConfigError(
                f"[radar] strong_fdr must be in (0, fdr = {self.fdr}]: strong evidence needs the "
                f"stricter rate; found {self.strong_fdr!r}."
            )
        if not 0.5 < self.watch_level < 1.0:
            raise ConfigError(
                "[radar] watch_level must be a coverage between 0.5 and 1 (e.g. 0.95); "
                f"found {self.watch_level!r}."
            )
        if self.min_expected < 0:
            raise ConfigError(f"[radar] min_expected must be >= 0; found {self.min_expected!r}.")


@dataclass(frozen=True)
class ZoneSettings:
    """``[zones]``: defaults of the zone builder, shared by the Zones page and ``needmap zones``."""

    workload: Literal["children_need", "caseload"] = "children_need"
    staff: int = 6
    seed: int = 0
    #: Accepted relative deviation of a zone's workload from its target.
    tolerance: float = 0.05

    def __post_init__(self) -> None:
        _check_choices(self)
        if not 1 <= self.staff <= 200:
            raise ConfigError(f"[zones] staff must be from 1 to 200, found {self.staff!r}.")
        if not 0.0 < self.tolerance < 1.0:
            raise ConfigError(
                f"[zones] tolerance must be a share between 0 and 1 (e.g. 0.05), found "
                f"{self.tolerance!r}."
            )
        if self.seed < 0:
            raise ConfigError(f"[zones] seed must be a whole number >= 0, found {self.seed!r}.")


@dataclass(frozen=True)
class DisclosureSettings:
    """``[disclosure]``: how published figures are protected (see ``needmap.disclosure``)."""

    #: Counts from 1 to this are shown as ``c``; at least the DfE rule's 5.
    threshold: int = DFE_THRESHOLD
    #: ``cell_key``: every published count carries the same small noise in every table and
    #: release (the ONS / ABS cell key method), on top of the threshold.
    method: Literal["cell_key"] = "cell_key"

    def __post_init__(self) -> None:
        _check_choices(self)
        if self.threshold < DFE_THRESHOLD:
            raise ConfigError(
                f"[disclosure] threshold must be a whole number >= {DFE_THRESHOLD} (counts 1.."
                f"threshold are shown as c; the DfE rule is {DFE_THRESHOLD}), found "
                f"{self.threshold!r}."
            )


@dataclass(frozen=True)
class EnglandFigures:
    """``[england]``: England's figures shown beside each area's (from the national IoD file)."""

    children: float | None = None
    imd_score: float | None = None
    idaci_score: float | None = None
    imd_pctile: float | None = None
    idaci_pctile: float | None = None

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class MapSettings:
    """``[maps]``: basemap and the defaults of every choropleth."""

    #: No basemap by default: nothing is fetched. E.g. an internal tile server's URL template.
    tile_url: str | None = None
    tile_attribution: str | None = None
    #: The data credit; the default names every bundled source.
    attribution: str | None = None
    measure: str = "referral_rate"
    scheme: Literal["quantiles", "natural_breaks", "equal_interval"] = "quantiles"
    classes: int = 5

    def __post_init__(self) -> None:
        _check_choices(self)
        if not 3 <= self.classes <= 9:
            raise ConfigError(f"[maps] classes must be from 3 to 9, found {self.classes!r}.")
        if self.tile_url and "{" in self.tile_url and not self.tile_attribution:
            raise ConfigError(
                "[maps] tile_url needs tile_attribution, the credit its provider requires "
                "(e.g. '© OpenStreetMap contributors')."
            )


@dataclass(frozen=True)
class OutputSettings:
    """``[output]``: where snapshots, rejects and the plans database go."""

    folder: Path = Path("output")


ROLES = ("lead", "analyst", "staff")


@dataclass(frozen=True)
class AccessSettings:
    """``[access]``: roles by e-mail; the roles table in the plans database takes precedence."""

    roles: dict[str, str] = field(default_factory=dict)
    #: Allow the app without sign-in on real (not synthetic) records: only for a single-user
    #: analyst machine that nobody else can reach.
    allow_unauthenticated: bool = False

    def __post_init__(self) -> None:
        for email, role in self.roles.items():
            if role not in ROLES:
                raise ConfigError(
                    f"[access.roles] gives {email} the role {role!r}; roles are "
                    f"{', '.join(ROLES)}."
                )


@dataclass(frozen=True)
class Config:
    """Everything needmap needs for one authority, as read from ``needmap.toml``."""

    source: Path
    authority: AuthoritySettings
    ward: BoundarySource
    lsoa: BoundarySource
    deprivation: DeprivationSource
    deprivation_previous: PreviousDeprivationSource | None = None
    lookup: LookupSource | None = None
    postcodes: PostcodeSource | None = None
    schools: SchoolSource | None = None
    records: RecordsSettings = field(default_factory=RecordsSettings)
    period: PeriodSettings = field(default_factory=PeriodSettings)
    radar: RadarSettings = field(default_factory=RadarSettings)
    zones: ZoneSettings = field(default_factory=ZoneSettings)
    disclosure: DisclosureSettings = field(default_factory=DisclosureSettings)
    england: EnglandFigures = field(default_factory=EnglandFigures)
    maps: MapSettings = field(default_factory=MapSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    access: AccessSettings = field(default_factory=AccessSettings)

    @property
    def root(self) -> Path:
        return self.source.parent

    @property
    def rejects_folder(self) -> Path:
        """Record-level rejects stay here, on the analyst's machine; nothing else reads them."""
        return self.output.folder / "rejects"

    @property
    def snapshots_folder(self) -> Path:
        return self.output.folder / "snapshots"

    @property
    def plans_db(self) -> Path:
        return self.output.folder / "needmap.sqlite"

    @property
    def secrets_folder(self) -> Path:
        """Local secrets (the disclosure key): never published, never in a snapshot."""
        return self.output.folder / "secrets"


#: TOML section -> (field of Config, dataclass). ``records`` and ``access`` have nested tables.
SECTIONS: dict[str, tuple[str, type]] = {
    "authority": ("authority", AuthoritySettings),
    "boundaries.ward": ("ward", BoundarySource),
    "boundaries.lsoa": ("lsoa", BoundarySource),
    "deprivation": ("deprivation", DeprivationSource),
    "deprivation_previous": ("deprivation_previous", PreviousDeprivationSource),
    "lookup": ("lookup", LookupSource),
    "postcodes": ("postcodes", PostcodeSource),
    "schools": ("schools", SchoolSource),
    "records": ("records", RecordsSettings),
    "period": ("period", PeriodSettings),
    "radar": ("radar", RadarSettings),
    "zones": ("zones", ZoneSettings),
    "disclosure": ("disclosure", DisclosureSettings),
    "england": ("england", EnglandFigures),
    "maps": ("maps", MapSettings),
    "output": ("output", OutputSettings),
    "access": ("access", AccessSettings),
}
REQUIRED = ("authority", "boundaries.ward", "boundaries.lsoa", "deprivation")
#: Sections written as an empty table or left out: the feature is off.
OPTIONAL_SOURCES = ("deprivation_previous", "lookup", "postcodes", "schools")


# -- loading ------------------------------------------------------------------------------------


def load_config(path: str | Path) -> Config:
    """Read and check a needmap TOML file; paths become absolute, relative to the file.

    Raises
    ------
    ConfigError
        For a missing file, invalid TOML, a missing section or key, an unknown key (the message
        lists the valid ones), a value of the wrong type or out of range.
    """
    src = Path(path).expanduser().resolve()
    if not src.is_file():
        raise ConfigError(
            f"{src}: config file not found. Pass --config with the path to your needmap.toml "
            "(the demo's is needmap.toml in the project root)."
        )
    try:
        raw = tomllib.loads(src.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{src}: not UTF-8 text. Save the config as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: not valid TOML ({exc}). Fix the line it names.") from None
    return parse_config(raw, src)


def parse_config(raw: dict[str, Any], src: Path) -> Config:
    """Build a :class:`Config` from parsed TOML (``src`` names the file in errors)."""
    root = src.parent
    top = {name.split(".")[0] for name in SECTIONS}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise ConfigError(
            f"{src}: unknown section [{unknown[0]}]. Valid sections: "
            f"{', '.join(f'[{s}]' for s in SECTIONS)}."
        )
    boundaries = raw.get("boundaries", {})
    if isinstance(boundaries, dict):
        extra = sorted(set(boundaries) - {"ward", "lsoa"})
        if extra:
            raise ConfigError(
                f"{src}: unknown section [boundaries.{extra[0]}]. Valid: [boundaries.ward], "
                "[boundaries.lsoa]."
            )
    values: dict[str, Any] = {"source": src}
    for name, (attr, cls) in SECTIONS.items():
        section = _section(raw, name, src)
        if section is None:
            if name in REQUIRED:
                raise ConfigError(
                    f"{src}: section [{name}] is missing. Add it; the documented needmap.toml in "
                    "the project root shows every key."
                )
            continue
        if name in OPTIONAL_SOURCES and not section.get("path"):
            if set(section) - {"path"}:
                raise ConfigError(
                    f"{src}: [{name}] has keys but no path. Add path = \"...\" or remove the "
                    "section."
                )
            continue
        if name == "records":
            values[attr] = _records(section, root, src)
        else:
            values[attr] = build_section(cls, section, name, src, root)
    return Config(**values)


def _section(raw: dict[str, Any], name: str, src: Path) -> dict[str, Any] | None:
    value: Any = raw
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if not isinstance(value, dict):
        raise ConfigError(
            f"{src}: [{name}] must be a table of keys, found {_type_word(value)} {value!r}."
        )
    return value


def build_section(cls: type, section: dict[str, Any], name: str, src: Path,
                  root: Path | None = None) -> Any:
    """Check ``section`` against the fields of ``cls`` and build it.

    Unknown keys, missing required keys and values of the wrong type are ``ConfigError``.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "kind"}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(
            f"{src}: [{name}] has an unknown key '{unknown[0]}'. Valid keys: "
            f"{', '.join(fields)}."
        )
    kwargs = {}
    for key, f in fields.items():
        if key in section:
            kwargs[key] = _check_value(section[key], hints[key], f"[{name}] {key}", src,
                                       root or src.parent)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{src}: key '{key}' is missing from [{name}]. Add {key} = ...")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{src}: {exc}") from None


RECORD_LISTS = ("referrals", "engagement", "families", "addresses")


def _records(section: dict[str, Any], root: Path, src: Path) -> RecordsSettings:
    rest = {k: v for k, v in section.items() if k not in RECORD_LISTS}
    base = build_section(RecordsSettings, rest, "records", src, root)
    lists: dict[str, tuple[RecordSource, ...]] = {}
    for kind in RECORD_LISTS:
        entries = section.get(kind, [])
        if isinstance(entries, str | dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise ConfigError(
                f"{src}: [records] {kind} must be a list of paths or of tables "
                f"{{ path = \"...\", sheet = \"...\" }}, found {_type_word(entries)}."
            )
        out = []
        for i, entry in enumerate(entries, start=1):
            if isinstance(entry, str):
                entry = {"path": entry}
            if not isinstance(entry, dict):
                raise ConfigError(
                    f"{src}: [records] {kind} entry {i} must be a path or a table "
                    f"{{ path = \"...\", sheet = \"...\" }}, found {_type_word(entry)}."
                )
            source = build_section(RecordSource, entry, f"records.{kind}", src, root)
            out.append(dataclasses.replace(source, kind=kind))
        lists[kind] = tuple(out)
    return dataclasses.replace(base, **lists)


def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.date):
        return "a date"
    return type(value).__name__


def _check_value(value: Any, hint: Any, where: str, src: Path, root: Path) -> Any:
    """``value`` as the type ``hint`` declares, or a ConfigError naming ``where``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None or (value == "" and type(None) in args):
            return None
        errors = []
        for option in options:
            try:
                return _check_value(value, option, where, src, root)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"{src}: {where} must be one of {', '.join(map(repr, args))}, found {value!r}."
            )
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"{src}: {where} must be true or false, found {_type_word(value)} {value!r}."
            )
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{src}: {where} must be a whole number, found {_type_word(value)} {value!r}."
            )
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{src}: {where} must be a number, found {_type_word(value)} {value!r}."
            )
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{src}: {where} must be a finite number, found {value!r}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(
                f"{src}: {where} must be text in quotes, found {_type_word(value)} {value!r}."
            )
        return value
    if hint is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{src}: {where} must be a path in quotes, found {_type_word(value)} {value!r}."
            )
        p = Path(value).expanduser()
        return p if p.is_absolute() else root / p
    if hint is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f"{src}: {where} = {value!r} is not a date. Write it as YYYY-MM-DD, e.g. "
                "2024-04-01."
            ) from None
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{src}: {where} must be a table, found {_type_word(value)}.")
        kt, vt = args
        return {_check_value(k, kt, where, src, root): _check_value(v, vt, f"{where}.{k}", src,
                                                                     root)
                for k, v in value.items()}
    raise ConfigError(f"{src}: {where}: values of type {hint} cannot be set in the config.")


__all__ = [
    "DFE_THRESHOLD",
    "GSS",
    "LEVELS",
    "ROLES",
    "AccessSettings",
    "AuthoritySettings",
    "BoundarySource",
    "Config",
    "DeprivationSource",
    "DisclosureSettings",
    "EnglandFigures",
    "LookupSource",
    "MapSettings",
    "OutputSettings",
    "PeriodSettings",
    "PostcodeSource",
    "PreviousDeprivationSource",
    "RadarSettings",
    "RecordSource",
    "RecordsSettings",
    "SchoolSource",
    "ZoneSettings",
    "build_section",
    "load_config",
    "parse_config",
]
