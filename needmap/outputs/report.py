"""The quarterly report for leaders: one printable HTML page, no script and no URL.

Headline figures of the quarter beside the same quarter a year before, the authority's
trajectories (SVG drawn here: published quarters, trend line, forecast band), what changed since
the last refresh, the top off-the-radar areas, who each service reaches and what followed
engagement. Rendered from ``templates/quarterly_report.html.j2`` with autoescaping on.

No PDF: WeasyPrint needs the Pango system libraries, xhtml2pdf pulls in a PDF-signing stack
(pyHanko, cryptography) and draws no inline SVG, and fpdf2 (pure Python) would need the report
laid out a second time in its own calls, since its HTML subset ignores CSS and inline SVG. The
page carries print CSS (A4): a browser's "Print to PDF" gives the PDF, offline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from needmap.disclosure import MAX_NOISE, SUPPRESSED
from needmap.errors import InputError
from needmap.outputs.attribution import full_attribution
from needmap.outputs.changes import stored_changes
from needmap.outputs.followup import cohort_periods, followup_table
from needmap.outputs.formats import fmt
from needmap.outputs.tables import flags_table
from needmap.outputs.targeting import targeting_table
from needmap.outputs.trajectories import MEASURE_LABELS, Trajectory, area_trajectory
from needmap.snapshot import Snapshot

__all__ = ["quarterly_report_html", "trajectory_svg"]

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
TOP_AREAS = 10
TOP_CHANGES = 15


def trajectory_svg(frame: pd.DataFrame, *, width: int = 320, height: int = 150) -> str:
    """A small SVG chart of a :meth:`Trajectory.chart_frame`: dots, trend line, forecast band."""
    if frame.empty:
        return ""
    quarters = sorted(set(frame["quarter"]))
    x_of = {q: i for i, q in enumerate(quarters)}
    ys = pd.concat([frame["rate"], frame["lower"], frame["upper"]]).dropna()
    top = float(ys.max()) * 1.1 if len(ys) else 1.0
    top = top if top > 0 else 1.0
    left, right, up, down = 34, 6, 8, 20
    w, h = width - left - right, height - up - down

    def px(q: str) -> float:
        return left + w * x_of[q] / max(1, len(quarters) - 1)

    def py(v: float) -> float:
        return up + h * (1 - v / top)

    # Inline SVG in HTML needs no namespace, and the page holds no URL.
    parts = [f'<svg width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<line x1="{left}" y1="{up + h}" x2="{left + w}" y2="{up + h}" stroke="#999"/>',
             f'<text x="{left - 3}" y="{up + 4}" class="ax" text-anchor="end">{top:.0f}</text>',
             f'<text x="{left - 3}" y="{up + h}" class="ax" text-anchor="end">0</text>',
             f'<text x="{left}" y="{height - 4}" class="ax">{escape(quarters[0])}</text>',
             f'<text x="{left + w}" y="{height - 4}" class="ax" text-anchor="end">'
             f'{escape(quarters[-1])}</text>']
    fc = frame[frame["series"] == "forecast"]
    if len(fc):
        pts = [f"{px(q):.1f},{py(v):.1f}" for q, v in zip(fc["quarter"], fc["upper"],
                                                             strict=True)]
        pts += [f"{px(q):.1f},{py(v):.1f}" for q, v in zip(fc["quarter"][::-1],
                                                             fc["lower"][::-1], strict=True)]
        parts.append(f'<polygon points="{" ".join(pts)}" fill="#9ecae1" opacity="0.6"/>')
    for name, colour, dash in (("trend", "#08519c", ""), ("forecast", "#08519c", "4 3")):
        s = frame[frame["series"] == name]
        if len(s):
            pts = " ".join(f"{px(q):.1f},{py(v):.1f}" for q, v in zip(s["quarter"], s["rate"],
                                                                      strict=True))
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                         f'stroke-width="2"{extra}/>')
    pub = frame[frame["series"] == "published"].dropna(subset=["rate"])
    for q, v in zip(pub["quarter"], pub["rate"], strict=True):
        parts.append(f'<circle cx="{px(q):.1f}" cy="{py(v):.1f}" r="2.6" fill="#333"/>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict], columns: dict[str, str], num: set[str] = frozenset()) -> Markup:
    head = "".join(f"<th>{escape(label)}</th>" for label in columns.values())
    body = []
    for r in rows:
        cells = "".join(
            f"<td{' class=num' if c in num else ''}>{escape(str(r.get(c, '')))}</td>"
            for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                  "</table>")


def _headline(tr: Trajectory, quarter: str, year_before: str | None) -> list[dict]:
    rows = []
    q = tr.quarters
    for m, label in MEASURE_LABELS.items():
        now = q[(q["measure"] == m) & (q["quarter"] == quarter)]
        then = q[(q["measure"] == m) & (q["quarter"] == year_before)]

        def count(sel: pd.DataFrame) -> str:
            if sel.empty:
                return "-"
            return SUPPRESSED if bool(sel["hidden"].iloc[0]) else fmt(sel["value"].iloc[0],
                                                                       "count")

        def rate(sel: pd.DataFrame) -> str:
            return "-" if sel.empty else fmt(sel["rate"].iloc[0], "rate")

        verdict = tr.summary.loc[tr.summary["measure"] == m, "verdict"]
        rows.append({"measure": label, "now": count(now), "rate": rate(now),
                     "then": count(then), "rate_then": rate(then),
                     "trend": verdict.iloc[0] if len(verdict) else "-"})
    fam = q[(q["measure"] == "families_engaged") & (q["quarter"] == quarter)]
    fam_then = q[(q["measure"] == "families_engaged") & (q["quarter"] == year_before)]
    rows.append({"measure": "Reach against need (families engaged / expected from need)",
                 "now": fmt(fam["reach_ratio"].iloc[0], "ratio") if len(fam) else "-",
                 "rate": "", "then": (fmt(fam_then["reach_ratio"].iloc[0], "ratio")
                                      if len(fam_then) else "-"), "rate_then": "",
                 "trend": tr.verdict("families_engaged")})
    return rows


def quarterly_report_html(snapshot: Snapshot, quarter: str | None = None) -> str:
    """The quarterly report of one published quarter (default: the latest) as one HTML page."""
    quarters = snapshot.quarters()
    if not quarters:
        raise InputError(f"Snapshot {snapshot.id} publishes no quarter yet.")
    quarter = quarter or quarters[-1]
    if quarter not in quarters:
        raise InputError(f"Quarter {quarter!r} is not published in snapshot {snapshot.id}. "
                         f"Published quarters: {', '.join(quarters)}.")
    i = quarters.index(quarter)
    year_before = quarters[i - 4] if i >= 4 else None
    tr = area_trajectory(snapshot, "authority", snapshot.authority_code)
    charts = []
    for m in ("families_engaged", "priority_families_engaged", "referrals"):
        charts.append({"title": f"{MEASURE_LABELS[m]} per 1,000 children a year",
                       "svg": Markup(trajectory_svg(tr.chart_frame(m)))})
    changes = stored_changes(snapshot)
    change_rows = changes.table.head(TOP_CHANGES).to_dict("records")
    flags = flags_table(snapshot, "lsoa", "engagement")
    flagged = flags[flags["flag"].isin(["off the radar", "watch"])]
    flagged = flagged.assign(_o=flagged["flag"].map({"off the radar": 0, "watch": 1}))
    flagged = flagged.sort_values(["_o", "ratio"], key=lambda s: pd.to_numeric(
        s, errors="coerce") if s.name == "ratio" else s).head(TOP_AREAS)
    targeting = targeting_table(snapshot)
    follow_rows, cohort = [], None
    cohorts = cohort_periods(snapshot, "year") or cohort_periods(snapshot, "quarter")
    if cohorts:
        cohort = cohorts[-1]
        f = followup_table(snapshot, "authority", periods=[cohort])
        for r in f.to_dict("records"):
            follow_rows.append({**r, **{k: fmt(r[k], "share") for k in
                                        ("rereferred_share", "stepped_up_share",
                                         "no_further_referral_share")}})
    return _ENV.get_template("quarterly_report.html.j2").render(
        authority=snapshot.authority_name,
        quarter=quarter,
        year_before=year_before or "-",
        synthetic=snapshot.synthetic,
        headline=_table(_headline(tr, quarter, year_before),
                        {"measure": "Figure", "now": quarter, "rate": "per 1,000 a year",
                         "then": year_before or "a year before", "rate_then": "per 1,000 a year",
                         "trend": "Trend"}, num={"now", "rate", "then", "rate_then"}),
        sentences=tr.sentences(),
        charts=charts,
        changes_summary=changes.summary(),
        changes=(_table(change_rows, {"area_name": "Area", "area_code": "Code",
                                      "level": "Level", "what": "What", "before": "Before",
                                      "after": "After", "change": "Change"})
                 if change_rows else ""),
        more_changes=max(0, len(changes.table) - TOP_CHANGES),
        flagged=(_table(flagged.to_dict("records"),
                        {"area_name": "Area", "area_code": "Code", "flag": "Flag",
                         "reason": "Why"}) if len(flagged) else ""),
        targeting=_table(
            [{**r, "concentration": f"{r['concentration_index']:+.2f} "
              f"({r['ci_lower']:+.2f} to {r['ci_upper']:+.2f})",
              "families": fmt(r["families"], "count")}
             for r in targeting.to_dict("records")],
            {"service": "Service", "families": "Families", "concentration":
             "Concentration index (95% interval)", "targeting": "Targeting", "trend": "Trend"},
            num={"families"}),
        sentences_targeting=[s for s in targeting["sentence"] if s],
        cohort=cohort,
        followup=(_table(follow_rows, {"service": "Service", "families": "Families",
                                       "rereferred_share": "Re-referred within 12 months",
                                       "stepped_up_share": "Next referral to social care",
                                       "no_further_referral_share": "No further referral"},
                         num={"families", "rereferred_share", "stepped_up_share",
                              "no_further_referral_share"}) if follow_rows else ""),
        threshold=snapshot.threshold,
        max_noise=MAX_NOISE,
        children_label=snapshot.children_label,
        vintage=snapshot.vintage,
        attribution=full_attribution(snapshot),
        made=dt.date.today().isoformat(),
        snapshot_id=snapshot.id,
        n_flagged=int(np.sum(flags["flag"] == "off the radar")),
    )
