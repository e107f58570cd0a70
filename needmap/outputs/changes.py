"""What changed since the last refresh, as people read it: flags that appeared, cleared or
changed class, and areas whose trajectory verdict changed.

Refresh stores the changes against the snapshot that was current before it
(``Snapshot.changes_table``); :func:`changes_since` compares any two snapshots the same way
(``needmap changes --since ID``). Both compare published tables only (``needmap.changes``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from needmap.changes import CHANGE_COLUMNS, changes_between
from needmap.errors import InputError, SnapshotError
from needmap.snapshot import Snapshot, list_snapshots, load_snapshot

__all__ = ["Changes", "changes_since", "load_since", "stored_changes"]


class Changes:
    """The changes from one release (``since``) to another (``snapshot``), with a summary."""

    def __init__(self, table: pd.DataFrame, snapshot: Snapshot, since: str | None,
                 since_label: str = "") -> None:
        self.table = table
        self.snapshot_id = snapshot.id
        self.since = since
        self.since_label = since_label

    def counts(self) -> dict[str, int]:
        c = self.table["change"].value_counts()
        return {k: int(c.get(k, 0)) for k in ("appeared", "cleared", "changed class",
                                             "verdict changed")}

    def summary(self) -> str:
        """One sentence for the top of a page or report."""
        if self.since is None:
            return ("This is the first snapshot: there is no earlier release to compare with. "
                    "The next refresh will say what changed.")
        c = self.counts()
        head = f"Since snapshot {self.since}{self.since_label}: "
        if not len(self.table):
            return head + "no flag appeared, cleared or changed class, and no trend verdict " \
                          "changed."
        return head + (f"{c['appeared']} flag(s) appeared, {c['cleared']} cleared, "
                       f"{c['changed class']} changed class; {c['verdict changed']} trend "
                       "verdict(s) changed.")


def stored_changes(snapshot: Snapshot) -> Changes:
    """The changes refresh stored with ``snapshot`` (against the release before it)."""
    table = snapshot.changes_table
    if table is None:
        if snapshot.trends_table is None:
            raise SnapshotError(f"{snapshot.path}: this snapshot was made before changes were "
                                "recorded. Run `needmap refresh --force` to make a new one.")
        table = pd.DataFrame(columns=CHANGE_COLUMNS)
    return Changes(table.reset_index(drop=True), snapshot, snapshot.changes_since)


def load_since(folder: Path, snapshot_id: str) -> Snapshot:
    """A kept snapshot by its id, or an error listing the ids kept."""
    ids = [m["snapshot_id"] for m in list_snapshots(folder)]
    if snapshot_id not in ids:
        raise InputError(f"No snapshot {snapshot_id!r} in {folder}. Snapshots kept: "
                         f"{', '.join(ids) or 'none'} (see `needmap snapshots`).")
    return load_snapshot(folder / snapshot_id)


def changes_since(snapshot: Snapshot, since: Snapshot) -> Changes:
    """Every published change from ``since`` to ``snapshot``."""
    names = {}
    for level in ("lsoa", "ward"):
        a = snapshot.areas(level)
        names |= dict(zip(a[f"{level}_code"].astype(str), a[f"{level}_name"].astype(str),
                          strict=True))
    names[snapshot.authority_code] = snapshot.authority_name
    table = changes_between(since.flags_table, snapshot.flags_table, since.trends_table,
                            snapshot.trends_table, names=names)
    label = f" (period to {since.period_end})"
    return Changes(table, snapshot, since.id, label)
