"""Referral and engagement exports: column aliases, dates, de-duplication and counted rejects.

Case-management systems name the same field many ways; the Standard Safeguarding Dataset (SSD)
and the CIN census codes are recognised as well, by the SSD's current table column names
(``ssd_cin_episodes``: ``cine_*``; ``ssd_early_help_episodes``: ``earl_*``; ``ssd_family``:
``fami_*``; ``ssd_address``: ``addr_*``). A row that cannot be used is never silently dropped: it
is counted by reason and written to a local rejects file that nothing else shows.

Two linked tables complete an export (:class:`RecordLinks`): a person -> family table lets
early-help *episodes*, which name the person, count *families* engaged; an address history places
each record at the address its person had on the record's date, not where they live now.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from needmap.config import RecordSource, RecordsSettings
from needmap.errors import InputError, NeedmapWarning
from needmap.sources.tables import HEADER_LINE, ROW, read_table

LOCATION_FIELDS = ("postcode", "lsoa_code", "ward_code", "easting", "northing", "latitude",
                   "longitude")

#: Canonical field -> accepted column names (compared after lower-casing and turning any run of
#: non-alphanumerics into "_").
ALIASES: dict[str, tuple[str, ...]] = {
    # referrals (SSD ssd_cin_episodes: cine_*)
    "referral_id": ("referral_id", "cin_referral_id", "cine_referral_id", "referral_ref",
                    "referral_number", "ref_id", "referral_no"),
    "person_id": ("person_id", "cine_person_id", "earl_person_id", "fami_person_id",
                  "addr_person_id", "pers_person_id", "child_id", "la_child_id", "child_ref",
                  "person_ref", "client_id", "child_identifier"),
    "referral_date": ("referral_date", "cin_referral_date", "cine_referral_date",
                      "date_of_referral", "date_referred", "received_date",
                      "referral_received_date"),
    # The CIN census code classifies more surely than free text, so it is tried first.
    "referral_source": ("referral_source", "cine_referral_source_code", "cin_referral_source",
                        "cine_referral_source_desc", "source", "source_of_referral", "referrer",
                        "referrer_type"),
    "primary_need": ("primary_need", "primary_need_code", "cine_cin_primary_need_code",
                     "cin_primary_need_code", "need_code", "category_of_need"),
    "outcome": ("outcome", "referral_outcome", "decision", "next_step", "referral_decision"),
    "nfa": ("nfa", "referral_nfa", "cine_referral_nfa", "no_further_action", "cin_referral_nfa",
            "nfa_flag"),
    # engagement (SSD ssd_early_help_episodes: earl_*)
    "engagement_id": ("engagement_id", "earl_episode_id", "earl_table_id", "episode_id",
                      "contact_id", "attendance_id", "engagement_ref", "activity_id"),
    "family_id": ("family_id", "fami_family_id", "household_id", "family_ref",
                  "family_identifier", "family_case_id"),
    "engagement_date": ("engagement_date", "engagement_start_date", "earl_episode_start_date",
                        "start_date", "contact_date", "attendance_date", "episode_start_date"),
    "engagement_end_date": ("engagement_end_date", "earl_episode_end_date", "episode_end_date",
                            "end_date"),
    "engagement_reason": ("engagement_reason", "earl_episode_reason", "episode_reason"),
    "engagement_end_reason": ("engagement_end_reason", "earl_episode_end_reason",
                              "episode_end_reason", "closure_reason"),
    "service": ("service", "service_type", "provision", "setting", "service_name"),
    "priority_family": ("priority_family", "priority", "supporting_families",
                        "troubled_families", "priority_family_flag", "priority_families"),
    # address history (SSD ssd_address: addr_*; older SSD releases: addr_address_start/_end)
    "address_start_date": ("address_start_date", "addr_address_start_date", "addr_address_start",
                           "start_date", "moved_in", "date_from", "from_date"),
    "address_end_date": ("address_end_date", "addr_address_end_date", "addr_address_end",
                         "end_date", "moved_out", "date_to", "to_date"),
    # location
    "postcode": ("postcode", "addr_address_postcode", "post_code", "pcode", "home_postcode",
                 "address_postcode", "postcode_of_residence"),
    "lsoa_code": ("lsoa_code", "lsoa", "lsoa11cd", "lsoa21cd", "lsoa_cd", "lsoa11_code",
                  "lsoa21_code"),
    "ward_code": ("ward_code", "ward", "wd23cd", "wd22cd", "wd24cd", "wardcode", "ward_cd"),
    "easting": ("easting", "eastings", "x_coordinate", "grid_easting", "x"),
    "northing": ("northing", "northings", "y_coordinate", "grid_northing", "y"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
}
#: Set on a record whose postcode came from the address history (see ``needmap.sources.geocode``).
FROM_HISTORY = "_postcode_from_history"


@dataclass(frozen=True)
class RecordKind:
    """What one kind of export must and may contain."""

    name: str
    id_field: str
    date_field: str
    subject_field: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = field(default=())


REFERRALS = RecordKind(
    name="referrals",
    id_field="referral_id",
    date_field="referral_date",
    subject_field="person_id",
    required=("referral_id", "person_id", "referral_date"),
    optional=("referral_source", "primary_need", "outcome", "nfa"),
)
ENGAGEMENT = RecordKind(
    name="engagement",
    id_field="engagement_id",
    date_field="engagement_date",
    subject_field="family_id",
    required=("family_id", "engagement_date"),
    optional=("engagement_id", "service", "priority_family", "person_id", "engagement_end_date",
              "engagement_reason", "engagement_end_reason"),
)
KINDS = {"referrals": REFERRALS, "engagement": ENGAGEMENT}
#: The linked tables: person -> family, and person -> postcode over time.
FAMILIES = RecordKind(name="families", id_field="person_id", date_field="",
                      subject_field="family_id", required=("person_id", "family_id"))
ADDRESSES = RecordKind(name="addresses", id_field="person_id", date_field="",
                       subject_field="person_id", required=("person_id", "postcode"),
                       optional=("address_start_date", "address_end_date"))

SOURCES = ("school", "police", "health", "la", "self", "other")
OUTCOMES = ("nfa", "early_help", "social_care", "other")
SERVICES = ("early_help", "childrens_centre", "other")

EARLIEST_DATE = dt.date(1990, 1, 1)
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y")


def on_distinct(values: pd.Series, func) -> pd.Series:
    """Apply a vectorised ``func`` to the distinct values only, then spread the result back.

    Exports repeat a few hundred dates and a handful of source names over millions of rows;
    parsing each distinct value once is what keeps a million-row refresh within seconds.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = func(pd.Series(uniques, dtype=object)).to_numpy()
    return pd.Series(mapped[codes], index=values.index)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def match_columns(columns: list[str], kind: RecordKind, path: Path, *, families: bool = False,
                  addresses: bool = False, header_line: int | None = None) -> dict[str, str]:
    """Map canonical field -> the file's column, using ``ALIASES``; error on a missing field.

    ``families``: a person -> family table is configured, so an engagement file may name the
    person instead of the family. ``addresses``: an address history is configured, so a file
    with a person id needs no location column of its own. ``header_line`` is the line the
    header was read from, named when nothing in it is a known column.
    """
    by_norm: dict[str, str] = {}
    for c in columns:
        if c != ROW:
            by_norm.setdefault(_norm(c), c)
    found: dict[str, str] = {}
    for fld in kind.required + kind.optional + LOCATION_FIELDS:
        for alias in ALIASES[fld]:
            if alias in by_norm and by_norm[alias] not in found.values():
                found[fld] = by_norm[alias]
                break
    shown = ", ".join(c for c in columns if c != ROW)
    needed = {a for k in (*KINDS.values(), FAMILIES, ADDRESSES)
              for f in (*k.required, *LOCATION_FIELDS) for a in ALIASES[f]}
    if not needed & by_norm.keys():
        # Not one column any export needs: the line read as the header is probably not the header
        # (a data row of a file without one, or a header with a blank cell taken for a title).
        line = f"line {header_line}" if header_line else "the first line"
        raise InputError(
            f"{path}: no column of the header row is one needmap needs for {kind.name} "
            f"({', '.join(kind.required)}). The header was read from {line}: {shown}. If that "
            "line is data, the file has no header row, or its header has a blank cell and was "
            "taken for a title line: add or complete the header, with names such as "
            f"{', '.join(ALIASES[f][0] for f in kind.required)}"
            f"{', postcode' if kind.name in KINDS else ''}."
        )
    derive_family = (kind.name == "engagement" and families and "person_id" in found
                     and "family_id" not in found)
    for fld in kind.required:
        if fld not in found and not (fld == "family_id" and derive_family):
            hint = ""
            if fld == "family_id" and {"person_id", "engagement_date"} <= found.keys():
                hint = (f" The file names persons ({found['person_id']}): add [records] "
                        "families = [\"...\"] (a person -> family table such as the SSD's "
                        "ssd_family) to count their families.")
            raise InputError(
                f"{path}: required column '{fld}' not found. Columns found: {shown}. Accepted "
                f"names for {fld}: {', '.join(ALIASES[fld])}. Rename the column in the export."
                f"{hint}"
            )
    if kind.name not in KINDS:
        return found
    has_point = ("easting" in found and "northing" in found) or (
        "latitude" in found and "longitude" in found
    )
    by_history = addresses and "person_id" in found
    if not (has_point or by_history or {"postcode", "lsoa_code", "ward_code"} & found.keys()):
        raise InputError(
            f"{path}: no location column found. Columns found: {shown}. Add one of: postcode "
            f"({', '.join(ALIASES['postcode'][:3])}), lsoa_code, ward_code, easting+northing or "
            "latitude+longitude, or a person id with [records] addresses (an address history)."
        )
    return found


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO (2024-05-31) or UK day-first (31/05/2024) dates; anything else becomes NaT.

    Formats are tried in turn on the cells still unparsed, so one file may mix them; a
    US month-first date is never guessed.
    """
    return on_distinct(values, _parse_dates).astype("datetime64[ns]")


def _parse_dates(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.slice(0, 10)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = text.notna() & text.ne("")
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok]
        todo &= out.isna()
    return out


def _truthy(values: pd.Series) -> pd.Series:
    return on_distinct(values, _truthy_distinct).astype(bool)


def _truthy_distinct(values: pd.Series) -> pd.Series:
    v = values.astype("string").str.strip().str.lower()
    return v.isin(["1", "y", "yes", "true", "t", "nfa"]).fillna(False).astype(bool)


def classify_source(values: pd.Series) -> pd.Series:
    """Free-text or CIN-census-coded referral source -> school/police/health/la/self/other."""
    return on_distinct(values, _classify_source)


def _classify_source(values: pd.Series) -> pd.Series:
    v = values.astype("string").str.strip().str.lower().fillna("")
    out = pd.Series("other", index=values.index, dtype=object)
    code = v.str.extract(r"^(\d{1,2})[a-z]?\b", expand=False)
    by_code = {"1": "self", "2": "school", "3": "health", "4": "la", "5": "la", "6": "police"}
    has_code = code.notna()
    out[has_code] = code[has_code].map(by_code).fillna("other")
    text = ~has_code
    rules = [
        ("police", r"police"),
        ("school", r"school|educat|college|nursery"),
        ("health", r"health|gp|nhs|hospital|midwi|a&e|nurse|doctor|camhs"),
        ("la", r"\bla\b|local authority|social care|housing|council|children's services"),
        ("self", r"self|individual|family|parent|relative|carer|anonymous|neighbour"),
    ]
    assigned = pd.Series(False, index=values.index)
    for label, pattern in rules:
        hit = text & ~assigned & v.str.contains(pattern, regex=True)
        out[hit] = label
        assigned |= hit
    return out


def classify_outcome(outcome: pd.Series | None, nfa: pd.Series | None, index) -> pd.Series:
    """Referral outcome -> nfa / early_help / social_care / other (an ``nfa`` flag wins)."""
    out = pd.Series("other", index=index, dtype=object)
    if outcome is not None:
        out = on_distinct(outcome, _classify_outcome)
    if nfa is not None:
        out[_truthy(nfa).to_numpy()] = "nfa"
    return out


def _classify_outcome(values: pd.Series) -> pd.Series:
    v = values.astype("string").str.strip().str.lower().fillna("")
    out = pd.Series("other", index=values.index, dtype=object)
    out[v.str.contains(r"social care|assessment|section 47|s47|cin|child in need|"
                       r"child protection|statutory", regex=True)] = "social_care"
    out[v.str.contains(r"early help|early_help|\beh\b|family support|targeted",
                       regex=True)] = "early_help"
    out[v.str.contains(r"no further action|\bnfa\b|closed", regex=True)] = "nfa"
    return out


def classify_service(values: pd.Series) -> pd.Series:
    """Service name -> early_help / childrens_centre / other."""
    return on_distinct(values, _classify_service)


def _classify_service(values: pd.Series) -> pd.Series:
    v = values.astype("string").str.strip().str.lower().fillna("")
    out = pd.Series("other", index=values.index, dtype=object)
    out[v.str.contains(r"early help|early_help|family support|intensive|family hub")] = (
        "early_help"
    )
    out[v.str.contains(r"children'?s cent|childrens_cent|stay and play|sure start|centre")] = (
        "childrens_centre"
    )
    return out


@dataclass
class RecordBatch:
    """Records of one kind from one file: the usable rows and the rejected ones."""

    kind: str
    path: Path
    rows_read: int
    records: pd.DataFrame
    rejects: pd.DataFrame  # original columns + _row + reason; stays local
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> file's column

    def rejects_by_reason(self) -> dict[str, int]:
        if self.rejects.empty:
            return {}
        return {str(k): int(v) for k, v in self.rejects["reason"].value_counts().items()}


def reject(
    batch_rejects: list[pd.DataFrame], raw: pd.DataFrame, mask: pd.Series, reason: str
) -> None:
    """Move rows flagged by ``mask`` into the rejects list with a reason."""
    if mask.any():
        r = raw.loc[mask[mask].index].copy()
        r["reason"] = reason
        batch_rejects.append(r)


def check_reject_share(
    raw: pd.DataFrame, mask: pd.Series, total: int, max_share: float, path: Path, column: str,
    problem: str, fix: str,
) -> None:
    """Stop when one reason rejects most of a file: it is the wrong file, not a messy one."""
    n = int(mask.sum())
    if total and n / total > max_share:
        i = mask.to_numpy().nonzero()[0][0]
        value = raw[column].iloc[i] if column in raw else ""
        raise InputError(
            f"{path}, row {raw[ROW].iloc[i]}, column '{column}': {problem} ({value!r}; {n} of "
            f"{total} rows, more than {max_share:.0%}). {fix}"
        )


@dataclass(frozen=True)
class RecordLinks:
    """The linked tables of ``[records]``: who belongs to which family, who lived where when."""

    #: person_id -> family_id (one family per person: the first the table gives).
    families: pd.Series | None = None
    #: ``person_id``, ``postcode``, ``start``, ``end`` (NaT: open), one row per address spell.
    addresses: pd.DataFrame | None = None


def _read_linked(source: RecordSource, kind: RecordKind) -> tuple[pd.DataFrame, dict[str, str]]:
    raw = read_table(source.path, sheet=source.sheet)
    cols = match_columns(list(raw.columns), kind, source.path,
                         header_line=raw.attrs.get(HEADER_LINE))
    rec = raw[list(cols.values())].set_axis(list(cols), axis=1)
    return rec, cols


def read_families(sources: tuple[RecordSource, ...]) -> pd.Series | None:
    """Person -> family from one or more person-family tables (e.g. the SSD's ``ssd_family``)."""
    if not sources:
        return None
    frames = []
    for src in sources:
        rec, _ = _read_linked(src, FAMILIES)
        rec = rec[rec["person_id"].fillna("").ne("") & rec["family_id"].fillna("").ne("")]
        frames.append(rec[["person_id", "family_id"]].astype(str))
    links = pd.concat(frames, ignore_index=True).drop_duplicates()
    several = links["person_id"].duplicated()
    if several.any():
        n = links.loc[several, "person_id"].nunique()
        warnings.warn(
            f"{', '.join(s.path.name for s in sources)}: {n} person(s) belong to more than one "
            "family; each counts with the first family listed.", NeedmapWarning, stacklevel=2,
        )
    return links[~several].set_index("person_id")["family_id"]


def read_addresses(sources: tuple[RecordSource, ...]) -> pd.DataFrame | None:
    """Address spells (person, postcode, start, end) from address histories (``ssd_address``).

    A blank start means "since before the records", a blank end "still there". Rows whose dates
    cannot be read are left out with a warning, as are rows without a person or postcode.
    """
    if not sources:
        return None
    frames = []
    for src in sources:
        rec, cols = _read_linked(src, ADDRESSES)
        out = pd.DataFrame({"person_id": rec["person_id"].fillna("").astype(str).to_numpy(),
                            "postcode": rec["postcode"].fillna("").astype(str).to_numpy()})
        bad = np.zeros(len(rec), dtype=bool)
        for fld, name in (("address_start_date", "start"), ("address_end_date", "end")):
            if fld in cols:
                text = rec[fld].fillna("")
                parsed = parse_dates(text)
                bad |= (parsed.isna() & text.ne("")).to_numpy()
                out[name] = parsed.to_numpy()
            else:
                out[name] = pd.NaT
        if bad.any():
            warnings.warn(
                f"{src.path}: {int(bad.sum())} address row(s) have dates that cannot be read "
                "and are left out. Write dates as YYYY-MM-DD or DD/MM/YYYY.",
                NeedmapWarning, stacklevel=2,
            )
        frames.append(out[~bad & out["person_id"].ne("") & out["postcode"].ne("")])
    return pd.concat(frames, ignore_index=True)


def read_links(settings: RecordsSettings) -> RecordLinks:
    """The families and address tables named in ``[records]`` (none: an empty ``RecordLinks``)."""
    return RecordLinks(families=read_families(settings.families),
                       addresses=read_addresses(settings.addresses))


#: A start date before every record, for spells with no start.
_SINCE_EVER = pd.Timestamp("1800-01-01")


def postcode_on_date(person: pd.Series, dates: pd.Series, addresses: pd.DataFrame) -> pd.Series:
    """The postcode each person lived at on each date; <NA> where the history has no spell.

    The spell is the latest one that started on or before the date; if it ended before the
    date, the person had no known address then.
    """
    out = pd.Series(pd.NA, index=person.index, dtype=object)
    left = pd.DataFrame({"person_id": person.fillna("").astype(str).to_numpy(),
                         "date": dates.to_numpy(), "pos": np.arange(len(person))})
    left = left[left["date"].notna() & left["person_id"].ne("")]
    if left.empty or addresses.empty:
        return out
    right = addresses.assign(start=addresses["start"].fillna(_SINCE_EVER))
    right = right.astype({"start": "datetime64[ns]"}).sort_values("start")
    left = left.astype({"date": "datetime64[ns]"}).sort_values("date")
    m = pd.merge_asof(left, right, left_on="date", right_on="start", by="person_id",
                      direction="backward")
    live = m["postcode"].notna() & (m["end"].isna() | (m["end"] >= m["date"]))
    out.iloc[m.loc[live, "pos"].to_numpy()] = m.loc[live, "postcode"].to_numpy()
    return out


def read_records(
    path: Path,
    kind: str,
    *,
    sheet: str | None = None,
    max_reject_share: float = 0.5,
    today: dt.date | None = None,
    links: RecordLinks | None = None,
) -> RecordBatch:
    """Read one export into canonical columns; rows that cannot be used go to ``rejects``.

    Location is not resolved here (see ``needmap.sources.geocode``); this step checks ids, dates
    and duplicates. With ``links``, an engagement file that names persons gets their families,
    and a record of a person with an address history gets the postcode of the address the
    person had on the record's date (it then wins over the record's own location, which is
    usually where the person lives when the export is made).
    """
    spec = KINDS[kind]
    links = links or RecordLinks()
    raw = read_table(path, sheet=sheet)
    total = len(raw)
    cols = match_columns(list(raw.columns), spec, path, families=links.families is not None,
                         addresses=links.addresses is not None,
                         header_line=raw.attrs.get(HEADER_LINE))
    # Select and rename rather than rebuild: a rebuilt frame would convert every text column
    # from Arrow to Python objects and back (a second per million rows).
    rec = raw[list(cols.values())].set_axis(list(cols), axis=1)
    rec[ROW] = raw[ROW].to_numpy()
    rejected: list[pd.DataFrame] = []
    keep = pd.Series(True, index=raw.index)

    if "family_id" in spec.required and "family_id" not in cols:
        # Episodes by person (match_columns allows it only with a families table).
        person = rec["person_id"].fillna("")
        blank_person = person.eq("")
        reject(rejected, raw, blank_person & keep, "blank person_id")
        keep &= ~blank_person
        rec["family_id"] = person.map(links.families)
        unlinked = rec["family_id"].isna() & ~blank_person
        check_reject_share(
            raw, unlinked, total, max_reject_share, path, cols["person_id"],
            "persons not in the [records] families table",
            "Check that the families table is the one for these episodes and uses the same "
            "person ids.",
        )
        reject(rejected, raw, unlinked & keep, "person not in the families table")
        keep &= ~unlinked

    for fld in spec.required:
        if fld == spec.date_field:
            continue
        blank = rec[fld].fillna("").eq("")
        reject(rejected, raw, blank & keep, f"blank {fld}")
        keep &= ~blank

    date_col = cols[spec.date_field]
    dates = parse_dates(rec[spec.date_field])
    blank_date = rec[spec.date_field].fillna("").eq("")
    unparsed = dates.isna() & ~blank_date
    check_reject_share(
        raw, unparsed, total, max_reject_share, path, date_col, "dates cannot be read",
        "Write dates as YYYY-MM-DD or DD/MM/YYYY (day first).",
    )
    reject(rejected, raw, blank_date & keep, f"blank {spec.date_field}")
    reject(rejected, raw, unparsed & keep, "unparseable date")
    keep &= ~(blank_date | unparsed)
    today = today or dt.date.today()
    out_of_range = (dates < pd.Timestamp(EARLIEST_DATE)) | (dates > pd.Timestamp(today))
    check_reject_share(
        raw, out_of_range, total, max_reject_share, path, date_col,
        f"dates in the future or before {EARLIEST_DATE.year}",
        "Check the date column is the referral or engagement date (not a date of birth or a "
        "review date) and that Excel did not turn blanks into 1900-01-01.",
    )
    reject(rejected, raw, out_of_range & keep, "date in the future or before 1990")
    keep &= ~out_of_range
    rec[spec.date_field] = dates
    if links.addresses is not None and "person_id" in cols:
        then = postcode_on_date(rec["person_id"], dates.where(keep), links.addresses)
        hit = then.notna()
        own = rec["postcode"].astype(object) if "postcode" in cols else pd.Series(
            "", index=rec.index, dtype=object)
        rec["postcode"] = own.where(~hit, then)
        rec[FROM_HISTORY] = hit.to_numpy()

    # Exact repeats of a row are export glitches; a repeated id with other content is a conflict.
    # Either way the first occurrence is kept and the rest are counted.
    id_field = spec.id_field if spec.id_field in cols else None
    if id_field:
        dup = rec[id_field].duplicated(keep="first") & keep
        check_reject_share(
            raw, dup, total, max_reject_share, path, cols[id_field], "ids repeat",
            f"The {id_field} column must be unique per row: point it at the record's own id, "
            "not the child's or family's, or remove rows exported twice.",
        )
        reject(rejected, raw, dup, "duplicate id")
    else:
        content = [c for c in rec.columns if c != ROW]
        dup = rec[content].astype("string").duplicated(keep="first") & keep
        reject(rejected, raw, dup, "duplicate row")
    keep &= ~dup

    if kind == "referrals":
        rec["referral_source"] = (
            classify_source(rec["referral_source"]) if "referral_source" in cols else "other"
        )
        rec["outcome"] = classify_outcome(rec.get("outcome"), rec.get("nfa"), rec.index)
    else:
        rec["service"] = classify_service(rec["service"]) if "service" in cols else "other"
        rec["priority_family"] = (
            _truthy(rec["priority_family"]) if "priority_family" in cols else False
        )
    records = rec.loc[keep].reset_index(drop=True)
    rejects = (
        pd.concat(rejected, ignore_index=True)
        if rejected
        else pd.DataFrame(columns=[*raw.columns, "reason"])
    )
    return RecordBatch(kind=kind, path=path, rows_read=total, records=records, rejects=rejects,
                       columns=cols)


def empty_records(kind: str) -> pd.DataFrame:
    """An empty canonical frame, for an authority with no records of a kind yet."""
    spec = KINDS[kind]
    cols = list(spec.required + spec.optional) + ["lsoa_code", "ward_code"]
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    df[spec.date_field] = pd.Series(dtype="datetime64[ns]")
    if kind == "engagement":
        df["priority_family"] = pd.Series(dtype=bool)
    return df


__all__ = [
    "ADDRESSES",
    "ALIASES",
    "FAMILIES",
    "FROM_HISTORY",
    "RecordLinks",
    "ENGAGEMENT",
    "KINDS",
    "OUTCOMES",
    "REFERRALS",
    "RecordBatch",
    "SERVICES",
    "SOURCES",
    "classify_outcome",
    "classify_service",
    "classify_source",
    "match_columns",
    "parse_dates",
    "postcode_on_date",
    "read_addresses",
    "read_families",
    "read_links",
    "read_records",
]
