"""What people read: tables, maps, packs and exports, built from the protected tables only.

Pages and CLI commands call these, one function per artefact, with the same defaults.
"""

from needmap.outputs.files import csv_text, write_csv, write_text_atomic
from needmap.outputs.tables import (
    AreaTable,
    area_table,
    authority_figures,
    change_table,
    flags_table,
    protected_export,
    write_protected_export,
)

__all__ = [
    "AreaTable",
    "area_table",
    "authority_figures",
    "change_table",
    "csv_text",
    "flags_table",
    "protected_export",
    "write_csv",
    "write_protected_export",
    "write_text_atomic",
]
