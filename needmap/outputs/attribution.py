"""Data credits for maps, packs, exports and the Data page, from the snapshot (never a literal)."""

from __future__ import annotations

from needmap.snapshot import Snapshot

SOURCES = (
    ("Ward and LSOA boundaries", "ONS Open Geography Portal", "Open Government Licence v3.0"),
    ("English Indices of Deprivation", "MHCLG", "Open Government Licence v3.0"),
    ("Postcodes", "OS Code-Point Open", "OS OpenData licence"),
    ("Schools", "DfE Get Information About Schools", "Open Government Licence v3.0"),
)


def full_attribution(snapshot: Snapshot) -> str:
    """The full credit (the config's ``[maps] attribution`` if set), naming the IoD vintage."""
    m = snapshot.manifest
    text = m.get("attribution") or (
        "Contains OS data © Crown copyright and database right 2025. Contains Royal Mail data © "
        "Royal Mail copyright and database right 2025. Contains National Statistics data © Crown "
        "copyright and database right 2025. Source: Office for National Statistics licensed "
        "under the Open Government Licence v3.0. English Indices of Deprivation "
        f"{_year(snapshot.vintage)}, MHCLG (OGL v3.0)."
    )
    if snapshot.synthetic:
        text += " Referral and engagement records are SYNTHETIC."
    return text


def map_attribution(snapshot: Snapshot) -> str:
    """The short credit drawn on maps; the full text is on the Data page."""
    text = f"Contains OS data © Crown copyright 2025; ONS; MHCLG {snapshot.vintage} (OGL v3.0)"
    if snapshot.synthetic:
        text += "; referral and engagement records are SYNTHETIC"
    return text


def _year(vintage: str) -> str:
    digits = "".join(ch for ch in vintage if ch.isdigit())
    return digits or vintage
