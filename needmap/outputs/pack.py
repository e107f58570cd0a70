"""The printable zone pack: who, where (an SVG map), the figures, flags and schools of one zone.

One HTML file with no script and no external reference, rendered from a Jinja2 template with
autoescaping on, so every name from a file is escaped and the page prints crisply offline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from needmap.disclosure import MAX_NOISE
from needmap.errors import InputError
from needmap.outputs import flags as flag_words
from needmap.outputs.attribution import full_attribution
from needmap.outputs.formats import fmt
from needmap.outputs.maps.svg import need_legend, zone_svg
from needmap.outputs.zone_tables import (
    COLUMN_LABELS,
    worker_names,
    zone_areas,
    zone_bases,
    zone_flags,
    zone_schools,
    zone_summary,
)
from needmap.snapshot import Snapshot

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
#: Shorter headings for the printed area table, so it fits an A4 page.
PACK_LABELS = COLUMN_LABELS | {
    "map": "#", "children": "Children", "idaci_pctile": "Need (IDACI pctile)",
    "referral_rate": "Referrals per 1,000", "reach_rate": "Engaged per 1,000", "flag": "Flag",
}
_KINDS = {"children": "count", "idaci_pctile": "percentile", "referrals": "count",
          "families_engaged": "count", "referral_rate": "rate", "reach_rate": "rate",
          "map": "count", "urn": "number"}


def _table(df: pd.DataFrame, columns: list[str]) -> Markup:
    head = "".join(f"<th>{escape(PACK_LABELS.get(c, c))}</th>" for c in columns)
    body = []
    for r in df[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, r, strict=True):
            kind = _KINDS.get(c)
            if kind and not isinstance(v, str):
                text, cls = (str(v) if c == "urn" else fmt(v, kind)), " class='num'"
            elif kind:
                text, cls = v, " class='num'"
            else:
                text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                cls = " class='name'" if c in ("area_name", "area_code") else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def zone_pack_html(
    snapshot: Snapshot,
    labels: pd.DataFrame,
    zone: int,
    *,
    level: str,
    staff: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    plan: str | None = None,
    measure_label: str | None = None,
    postcodes: pd.DataFrame | None = None,
) -> str:
    """A printable HTML zone pack (no script, no URL) for one zone of a plan.

    The map marks the worker's base (from ``staff``; a postcode base needs ``postcodes`` from
    :func:`needmap.sources.geocode.read_postcodes`), schools, and areas off the radar ("!") or to
    watch ("?"), as the zone's list does.
    """
    summary = zone_summary(snapshot, labels, level=level, staff=staff, flags=flags)
    row = summary[summary["zone"] == int(zone)]
    if row.empty:
        raise InputError(f"Zone {zone} is not in the plan; zones are 1..{len(summary)}.")
    row = row.iloc[0]
    areas = zone_areas(snapshot, labels, zone, level=level, flags=flags)
    areas.insert(0, "map", range(1, len(areas) + 1))
    schools = zone_schools(snapshot, labels, zone, level=level)
    worker = worker_names(staff).get(int(zone))
    title = f"Zone {int(zone)}" + (f": {worker}" if worker else "")
    listed = (zone_flags(flags, labels, zone) if flags is not None
              else pd.DataFrame(columns=["area_code", "flag"]))
    strong = listed["flag"].map(flag_words.strongest).astype(bool)
    bases = zone_bases(snapshot, staff, postcodes=postcodes)
    bases = bases[bases["zone"] == int(zone)]
    svg = zone_svg(
        snapshot.areas(level), areas["area_code"].astype(str).tolist(), level=level,
        numbers=dict(zip(areas["area_code"], areas["map"], strict=True)),
        flagged=listed.loc[strong, "area_code"].astype(str).tolist(),
        watched=listed.loc[~strong, "area_code"].astype(str).tolist(),
        schools=snapshot.schools, bases=list(zip(bases["easting"], bases["northing"],
                                                 strict=True)),
        zone=int(zone),
    )
    level_word = "LSOAs" if level == "lsoa" else "wards"
    vs = row["vs_target"]
    facts = [
        ("Authority", f"{snapshot.authority_name} ({snapshot.authority_code})"),
        ("Period", f"{snapshot.period_start} to {snapshot.period_end}"),
        ("Snapshot", snapshot.id),
        ("Plan", plan or "not saved"),
        ("Areas", f"{row['n_areas']} {level_word}"),
        ("Children", f"{fmt(row['children'], 'count')} ({snapshot.children_label})"),
        ("Workload", f"{fmt(row['workload'], 'count')} against a target of "
                     f"{fmt(row['target'], 'count')} ({fmt(vs, 'signed_share')})"
                     + (f"; {measure_label}" if measure_label else "")),
        ("Referrals", fmt(row["referrals"], "count")),
        ("Families engaged", fmt(row["families_engaged"], "count")),
    ]
    if flags is not None:
        facts.append(("Off the radar", f"{row['off_radar']} area(s); {row['watch']} to watch"))
    area_cols = ["map", "area_name", "area_code", *(["ward_name"] if level == "lsoa" else []),
                 "children", "idaci_pctile", "referrals", "referral_rate", "families_engaged",
                 "reach_rate", *(["flag"] if flags is not None else [])]
    flags_html = None
    if flags is not None:
        fz = zone_flags(flags, labels, zone)
        sure = ["certainty"] if flag_words.has_certainty(fz) else []
        flags_html = (_table(fz, ["area_name", "area_code", "flag", *sure, "reason"])
                      if len(fz) else "")
    return _ENV.get_template("zone_pack.html.j2").render(
        title=title,
        authority=snapshot.authority_name,
        synthetic=snapshot.synthetic,
        facts=facts,
        svg=Markup(svg),
        legend=Markup(need_legend()),
        areas=_table(areas, area_cols),
        flags=flags_html,
        schools=_table(schools, ["name", "phase", "urn", "area_code"]) if len(schools) else "",
        n_schools=len(schools),
        threshold=snapshot.threshold,
        max_noise=MAX_NOISE,
        children_label=snapshot.children_label,
        vintage=snapshot.vintage,
        attribution=full_attribution(snapshot),
        made=dt.date.today().isoformat(),
        snapshot_id=snapshot.id,
    )
