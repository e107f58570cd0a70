"""Referral and engagement exports: column aliases, dates, de-duplication and counted rejects.

Case-management systems name the same field many ways; the Standard Safeguarding Dataset (SSD)
and the CIN census codes are recognised as well. A row that cannot be used is never silently
dropped: it is counted by reason and written to a local rejects file that nothing else shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from needmap.errors import InputError
from needmap.sources.tables import ROW, read_table

LOCATION_FIELDS = ("postcode", "lsoa_code", "ward_code", "easting", "northing", "latitude",
                   "longitude")

#: Canonical field -> accepted column names (compared after lower-casing and turning any run of
#: non-alphanumerics into "_").
ALIASES: dict[str, tuple[str, ...]] = {
    # referrals
    "referral_id": ("referral_id", "cin_referral_id", "referral_ref", "referral_number",
                    "ref_id", "referral_no"),
    "person_id": ("person_id", "child_id", "la_child_id", "child_ref", "person_ref",
                  "client_id", "child_identifier"),
    "referral_date": ("referral_date", "cin_referral_date", "date_of_referral", "date_referred",
                      "received_date", "referral_received_date"),
    "referral_source": ("referral_source", "source", "source_of_referral", "referrer",
                        "referrer_type", "cin_referral_source"),
    "primary_need": ("primary_need", "primary_need_code", "need_code", "category_of_need",
                     "cin_primary_need_code"),
    "outcome": ("outcome", "referral_outcome", "decision", "next_step", "referral_decision"),
    "nfa": ("nfa", "referral_nfa", "no_further_action", "cin_referral_nfa", "nfa_flag"),
    # engagement
    "engagement_id": ("engagement_id", "episode_id", "contact_id", "attendance_id",
                      "engagement_ref", "activity_id"),
    "family_id": ("family_id", "household_id", "family_ref", "family_identifier",
                  "family_case_id"),
    "engagement_date": ("engagement_date", "engagement_start_date", "start_date",
                        "contact_date", "attendance_date", "episode_start_date"),
    "service": ("service", "service_type", "provision", "setting", "service_name"),
    "priority_family": ("priority_family", "priority", "supporting_families",
                        "troubled_families", "priority_family_flag", "priority_families"),
    # location
    "postcode": ("postcode", "post_code", "pcode", "home_postcode", "address_postcode",
                 "postcode_of_residence"),
    "lsoa_code": ("lsoa_code", "lsoa", "lsoa11cd", "lsoa21cd", "lsoa_cd", "lsoa11_code",
                  "lsoa21_code"),
    "ward_code": ("ward_code", "ward", "wd23cd", "wd22cd", "wd24cd", "wardcode", "ward_cd"),
    "easting": ("easting", "eastings", "x_coordinate", "grid_easting", "x"),
    "northing": ("northing", "northings", "y_coordinate", "grid_northing", "y"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
}


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
    optional=("engagement_id", "service", "priority_family"),
)
KINDS = {"referrals": REFERRALS, "engagement": ENGAGEMENT}

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


def match_columns(columns: list[str], kind: RecordKind, path: Path) -> dict[str, str]:
    """Map canonical field -> the file's column, using ``ALIASES``; error on a missing field."""
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
    for fld in kind.required:
        if fld not in found:
            raise InputError(
                f"{path}: required column '{fld}' not found. Columns found: {shown}. Accepted "
                f"names for {fld}: {', '.join(ALIASES[fld])}. Rename the column in the export."
            )
    has_point = ("easting" in found and "northing" in found) or (
        "latitude" in found and "longitude" in found
    )
    if not (has_point or {"postcode", "lsoa_code", "ward_code"} & found.keys()):
        raise InputError(
            f"{path}: no location column found. Columns found: {shown}. Add one of: postcode "
            f"({', '.join(ALIASES['postcode'][:3])}), lsoa_code, ward_code, easting+northing or "
            "latitude+longitude."
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


def read_records(
    path: Path,
    kind: str,
    *,
    sheet: str | None = None,
    max_reject_share: float = 0.5,
    today: dt.date | None = None,
) -> RecordBatch:
    """Read one export into canonical columns; rows that cannot be used go to ``rejects``.

    Location is not resolved here (see ``needmap.sources.geocode``); this step checks ids, dates
    and duplicates.
    """
    spec = KINDS[kind]
    raw = read_table(path, sheet=sheet)
    total = len(raw)
    cols = match_columns(list(raw.columns), spec, path)
    # Select and rename rather than rebuild: a rebuilt frame would convert every text column
    # from Arrow to Python objects and back (a second per million rows).
    rec = raw[list(cols.values())].set_axis(list(cols), axis=1)
    rec[ROW] = raw[ROW].to_numpy()
    rejected: list[pd.DataFrame] = []
    keep = pd.Series(True, index=raw.index)

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
    "ALIASES",
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
    "read_records",
]
