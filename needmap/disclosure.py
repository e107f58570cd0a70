"""The protected table set: every figure needmap publishes, protected once per refresh.

Threat
------
Whoever reads needmap's outputs (maps, tables, CSVs, zone packs, pages, reports) may combine
every figure with every other, across geographies (LSOA, ward, zone, authority), breakdowns
(source, outcome, priority family, service), periods (quarters, years, the configured period) and
successive releases, and solve for hidden cells, e.g. as an integer programme. Suppressing cells
table by table (the DfE rule plus secondary suppression) cannot hold against that: zones are
drawn by users at run time from any set of LSOAs, so any exact published total can be differenced
against another. The red-team test (``tests/test_redteam.py``) pinned 40 of 403 hidden cells of
the demo that way under the old per-table suppression.

Design: cell-key perturbation under the DfE rule
------------------------------------------------
The method of the Office for National Statistics (Census 2021) and of the Australian Bureau of
Statistics' TableBuilder, with the DfE rule as the floor:

1. **Record keys.** Every referral and every family gets a key from 0 to 255: a keyed hash
   (SipHash via ``pandas.util.hash_array``) of its identifier under a secret kept beside the
   snapshots (``<output>/secrets/disclosure.key``, never published, never in a snapshot). The
   same record has the same key in every refresh; nobody without the secret can compute it.
2. **Cell keys.** A cell (a count of referrals or of distinct families for one area, period and
   measure) has the key ``sum of its records' keys mod 256``. Cells made of the same records have
   the same key, wherever and whenever they are published.
3. **Published value.** A true count from 1 to ``threshold`` (5, the DfE rule; more if configured)
   is shown as ``c``, and so is a quarter of the zeros: which ones is decided by a keyed hash of
   the cell (level, area, period, measure) under the same secret, so the same empty cell is hidden
   or shown alike in every release. If zeros were always shown, ``c`` would mean "1 to 5" exactly,
   and a hidden total of at most 5 over five hidden parts pins each part at 1: the red-team
   attacker pinned 680 of 15,204 hidden demo cells and 1,384 of 5,897 in a sparse export that way
   (mostly at 1). With some zeros hidden, ``c`` means "0 to 5" to a reader, and it pinned none
   holding anyone (only empty cells proven empty). A hidden zero enters sums with a stand-in like
   any hidden cell. Above it, the published value is the count plus a perturbation read from the
   p-table at the cell key: zero with probability 80/256, then +-1 (52/256 each), +-2 (24/256), +-3
   (10/256) and +-4 (2/256): mean 0, standard deviation 1.45. A result that would fall to the
   threshold or below is reflected back above it, so no published count is ever from 1 to
   ``threshold`` (this shifts counts within four of the threshold up by at most a little over one
   on average).
4. **One protected value per cell.** The same records give the same published value in every
   table, page and release, so two releases, two overlapping tables or two outputs agree and their
   difference tells nothing the cell does not. Differences between *different* cells carry the
   noise of both: an attacker who subtracts a ward's LSOAs from the ward learns the hidden LSOA
   only to within the sum of up to nine perturbations of up to 4 each, and the test shows that no
   hidden count of 1 or more can be pinned even with every identity of every table of two
   releases combined (it may prove an empty hidden cell empty, which tells nothing of anyone).
5. **Derived figures from protected values only.** Rates and shares are protected counts over
   public denominators; zone totals, workloads, trends and report figures are sums of protected
   values. A hidden cell enters a sum with a *stand-in* drawn uniformly from 1..``threshold`` by
   a second, independent key (``key_b``): it is unbiased enough for a total and carries no
   information about the hidden count, so a zone total minus its shown areas gives the attacker
   a number that says nothing about the hidden area.
6. **Model outputs.** The off-the-radar model is fitted on the protected counts, so expected
   counts, ratios and limits are functions of published figures; each area's flag is decided on
   its true count, with a hidden count taken at the edge of the hidden range (see
   ``needmap.radar``); reasons quote published figures only.
7. **Fixed periods.** Only quarters, complete financial years and the configured period are
   published; a comparison (the Change map, "what changed") compares two published periods.

Why not the alternatives: secondary suppression over linked tables (tau-Argus, sdcTable) needs
every table known in advance and breaks on user-drawn zones and on successive releases; rounding
to base 5 is deterministic, so a difference of two rounded totals pins cells near the rounding
edges; random noise drawn afresh each time lets an attacker average releases. Cell-key
perturbation is consistent (one value per cell), bounded (a service lead's totals move by at most
4, by 1.45 on average) and keeps every small count hidden.

Why hand-written: ONS's ``cell-key-perturbation`` package (3.1.0) tabulates rows with a pandas
``groupby`` and ships only a deterministic "round to base 5 below 10" p-table; needmap counts
*distinct* families per cell, needs keys for cells it already aggregates with ``bincount`` over a
million records, and needs a p-table with real noise. This module uses the same conventions (record
keys 0..255, cell key = sum mod 256, a ``pcv, ckey, pvalue`` p-table), and ``tests/test_disclosure``
checks it against ``create_perturbed_table`` on the same records, keys and p-table.
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from needmap.config import DFE_THRESHOLD
from needmap.errors import SnapshotError

__all__ = [
    "KEY_RANGE",
    "ZERO_HIDDEN_KEYS",
    "identity_keys",
    "NOISE",
    "SUPPRESSED",
    "PTable",
    "cell_keys",
    "load_key",
    "protect",
    "record_keys",
    "true_value_range",
]

SUPPRESSED = "c"
#: Record and cell keys run from 0 to KEY_RANGE - 1.
KEY_RANGE = 256
#: The perturbation and how many of the 256 cell keys give it (the p-table of a large count).
NOISE: dict[int, int] = {0: 80, 1: 52, -1: 52, 2: 24, -2: 24, 3: 10, -3: 10, 4: 2, -4: 2}
MAX_NOISE = max(NOISE)
KEY_FILE = "disclosure.key"
_KEY_CHARS = string.ascii_letters + string.digits


# -- keys -----------------------------------------------------------------------------------------


def load_key(folder: Path, *, create: bool, snapshots_exist: bool = False) -> str:
    """The secret that turns identifiers into record keys (16 characters).

    Created on the first refresh (``create``) with mode 0600. If snapshots already exist and the
    key has gone, refuses: a new key would give every cell new noise, and two releases with
    different noise can be averaged to approach the true counts.

    Raises
    ------
    SnapshotError
        The key is missing although earlier snapshots were published with one, or it is unreadable.
    """
    path = Path(folder) / KEY_FILE
    if path.is_file():
        text = path.read_text("ascii", errors="replace").strip()
        if len(text) != 16 or any(ch not in _KEY_CHARS for ch in text):
            raise SnapshotError(
                f"{path}: the disclosure key is damaged (expected 16 letters or digits). Restore "
                "it from the backup of the output folder."
            )
        return text
    if snapshots_exist:
        raise SnapshotError(
            f"{path}: the disclosure key is missing, but snapshots were published with one. "
            "Restore it from the backup of the output folder: a new key would change every "
            "published figure's noise, and releases with different noise can be averaged. To "
            "start again on purpose, move the old snapshots away first."
        )
    if not create:
        raise SnapshotError(f"{path}: no disclosure key. Run `needmap refresh` first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "".join(secrets.choice(_KEY_CHARS) for _ in range(16))
    # Written whole to a private file, then linked into place: ``link`` fails if the name
    # exists, so of two refreshes creating a key at once one wins and the other reads its key,
    # never a half-written one.
    fd, tmp = tempfile.mkstemp(prefix=".key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return load_key(folder, create=False)
    finally:
        os.unlink(tmp)
    return key


def record_keys(ids: pd.Series | np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Two independent record keys (0..255) per identifier: one for noise, one for stand-ins.

    A keyed SipHash of the identifier's text: the same identifier always gets the same keys, and
    without the secret they look uniformly random. Identifiers are hashed once per distinct value.
    """
    values = pd.Series(ids, copy=False).astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(values)
    h = pd.util.hash_array(np.asarray(uniques, dtype=object), hash_key=key, categorize=False)
    a = (h & 0xFF).astype(np.int64)
    b = ((h >> 8) & 0xFF).astype(np.int64)
    return a[codes], b[codes]


def cell_keys(group: np.ndarray, keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Cell key of each group: the sum of its records' keys mod 256 (one ``bincount``)."""
    sums = np.bincount(group, weights=keys.astype(np.float64), minlength=n_groups)
    return (np.rint(sums).astype(np.int64) % KEY_RANGE)


# -- the p-table ---------------------------------------------------------------------------


_NOISE_BY_KEY = np.random.default_rng(20261130).permutation(
    np.repeat(list(NOISE), list(NOISE.values()))
).astype(np.int64)


@dataclass(frozen=True)
class PTable:
    """The perturbation of a count ``n`` above ``threshold`` at each cell key.

    Keys are dealt to perturbations in a fixed interleaved order (not sorted by size), so
    neighbouring keys do not share a perturbation.
    """

    threshold: int = DFE_THRESHOLD

    @property
    def noise_by_key(self) -> np.ndarray:
        """Perturbation of a large count for cell keys 0..255.

        Each perturbation ``p`` is given to ``NOISE[p]`` keys, in an order fixed by a seeded
        permutation (cell keys are uniform, so the order changes nothing but must never change).
        """
        return _NOISE_BY_KEY.copy()

    def publish(self, n: np.ndarray, key: np.ndarray) -> np.ndarray:
        """Published value of true counts ``n`` with cell keys ``key`` (hidden cells: -1)."""
        n = np.asarray(n, dtype=np.int64)
        key = np.asarray(key, dtype=np.int64) % KEY_RANGE
        t = self.threshold
        v = n + _NOISE_BY_KEY[key]
        v = np.where(v <= t, 2 * t + 1 - v, v)  # reflect back above the threshold
        v = np.where(n > t, v, np.where(n == 0, 0, -1))
        return v

    def to_frame(self, max_count: int = 750) -> pd.DataFrame:
        """The p-table in ONS's layout (``pcv, ckey, pvalue``) for counts 1..max_count.

        Hidden counts (1..threshold) have ``pvalue = -pcv``: they are not published.
        """
        pcv = np.repeat(np.arange(1, max_count + 1), KEY_RANGE)
        ckey = np.tile(np.arange(KEY_RANGE), max_count)
        published = self.publish(pcv, ckey)
        pvalue = np.where(published < 0, -pcv, published - pcv)
        return pd.DataFrame({"pcv": pcv, "ckey": ckey, "pvalue": pvalue})




def true_value_range(published: int | str, threshold: int = DFE_THRESHOLD) -> tuple[int, int]:
    """The true counts a published value can come from under this method (public knowledge).

    ``0`` -> (0, 0); ``"c"`` -> (0, threshold) (some zeros are hidden too); a published count
    ``v`` -> the smallest and largest ``n`` above the threshold that some cell key turns into ``v``.
    """
    if published == SUPPRESSED:
        return 0, threshold
    v = int(published)
    if v == 0:
        return 0, 0
    if 1 <= v <= threshold:
        raise ValueError(f"{v} is never published under threshold {threshold}")
    table = PTable(threshold)
    near = np.arange(max(threshold + 1, v - MAX_NOISE), v + MAX_NOISE + 1)
    reflected = np.arange(threshold + 1, threshold + MAX_NOISE + 1)  # pushed back above t
    candidates = np.union1d(near, reflected)
    hits = [n for n in candidates
            if (table.publish(np.full(KEY_RANGE, n), np.arange(KEY_RANGE)) == v).any()]
    return int(min(hits)), int(max(hits))


# -- protecting a set of cells -------------------------------------------------------------------


#: Of the 256 keys of an empty cell, how many hide it as ``c`` (a quarter of the zeros).
ZERO_HIDDEN_KEYS = 64
IDENTITY = ("level", "area_code", "period", "measure")


def identity_keys(cells: pd.DataFrame, secret: str) -> tuple[np.ndarray, np.ndarray]:
    """Two keys (0..255) per cell from what it is (``IDENTITY``) under the secret.

    Empty cells have no records to take keys from. Each part is hashed once per distinct value
    (keyed SipHash, as record keys: areas, periods and measures, not cells) and the parts are
    mixed with splitmix64's finaliser.
    """
    acc = np.zeros(len(cells), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in IDENTITY:
            codes, uniques = pd.factorize(cells[col].astype(str))
            text = np.asarray([f"{col}:{u}" for u in uniques], dtype=object)
            h = pd.util.hash_array(text, hash_key=secret, categorize=False)
            z = (acc ^ h[codes]) + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            acc = z ^ (z >> np.uint64(31))
    return ((acc & np.uint64(0xFF)).astype(np.int64),
            ((acc >> np.uint64(8)) & np.uint64(0xFF)).astype(np.int64))


def protect(cells: pd.DataFrame, threshold: int, *, secret: str) -> pd.DataFrame:
    """Published values of raw cells: ``count``, ``key`` and ``key_b`` in, ``value``/``shown`` out.

    Parameters
    ----------
    cells : DataFrame
        One row per cell with the true ``count`` and the cell keys ``key`` (noise) and ``key_b``
        (stand-in), plus any identifying columns (kept as they are).
    threshold : int
        Counts from 1 to ``threshold`` are hidden (at least the DfE rule's 5).
    secret : str
        The disclosure key: it decides which empty cells are hidden too (``identity_keys``).

    Returns
    -------
    DataFrame
        The identifying columns, ``value`` (the published count; for a hidden cell its stand-in,
        used only inside sums) and ``shown`` (False where the cell is published as ``c``). The true
        count and the keys are not in it.
    """
    if threshold < DFE_THRESHOLD:
        raise ValueError(f"threshold must be at least {DFE_THRESHOLD}, got {threshold}")
    n = cells["count"].to_numpy(dtype=np.int64)
    published = PTable(threshold).publish(n, cells["key"].to_numpy(dtype=np.int64))
    key_b = cells["key_b"].to_numpy(dtype=np.int64)
    empty = n == 0
    if empty.any():
        za, zb = identity_keys(cells[empty], secret)
        published[np.flatnonzero(empty)[za < ZERO_HIDDEN_KEYS]] = -1
        key_b = key_b.copy()
        key_b[empty] = zb
    hidden = published < 0
    standin = 1 + key_b % threshold
    out = cells.drop(columns=["count", "key", "key_b"])
    out["value"] = np.where(hidden, standin, published).astype(np.int32)
    out["shown"] = ~hidden
    return out


def shown_value(value: float | int, shown: bool) -> int | str:
    """A protected cell as it is written out: its value, or ``"c"``."""
    return int(value) if shown else SUPPRESSED


def leaked_small_counts(values: Sequence[object], threshold: int = DFE_THRESHOLD) -> list[object]:
    """Values from 1 to ``threshold`` among published counts (for tests and checks)."""
    out = []
    for v in values:
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 1 <= x <= threshold:
            out.append(v)
    return out
