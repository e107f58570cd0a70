"""The output folder: checked before a refresh works, and written by one refresh at a time.

Two refreshes writing to one folder at once could each check the current snapshot's period
before the other moved ``LATEST``; then an older period could become current without
``--force`` (5 of 10 trials, issue 11). ``snapshot_lock`` serialises the write: the period
check, the new snapshot and the ``LATEST`` update all happen while it is held. The lock is an
OS file lock (``filelock``, ``flock`` on Linux), so a refresh that is killed releases it with its
process and a stale lock file is harmless.

A refresh that finds the lock taken says so (a ``NeedmapWarning``, which the CLI prints as a
``Warning:`` line) and waits: the other refresh holds the lock only while it writes its
snapshot, a second or so. After ``WAIT_SECONDS`` it gives up with a ``SnapshotError``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from needmap.errors import ConfigError, NeedmapWarning, SnapshotError

LOCK_NAME = ".needmap.lock"
WAIT_SECONDS = 600.0
#: Kernel and device file systems: writing there fails or does harm, never stores a snapshot.
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_output_folder(folder: Path, *, setting: str = "[output] folder") -> None:
    """Make sure ``folder`` is, or can become, a folder this process can write; create it.

    ``setting`` names the folder in messages.

    Raises
    ------
    ConfigError
        The folder is a file or lies under one, is a system folder, or cannot be written.
    """
    folder = Path(folder)
    real = Path(os.path.realpath(folder))
    fix = "Set [output] folder in the config to a folder you can write to."
    for system in SYSTEM_FOLDERS:
        if real == system or system in real.parents:
            raise ConfigError(
                f"{setting} {folder}: it lies under {system}, a system folder that cannot "
                f"hold snapshots. {fix}"
            )
    existing = real
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == real else f"lies under {existing}, which is a file"
        raise ConfigError(f"{setting} {folder}: it {what}, not a folder. {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{setting} {folder}: cannot create it ({exc.strerror}). {fix}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{setting} {folder}: it cannot be written (permissions). {fix}")


@contextmanager
def snapshot_lock(folder: Path, *, timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock on ``folder`` (a snapshots folder) while the body writes to it.

    Warns (``NeedmapWarning``) when another refresh holds it, then waits up to ``timeout``
    seconds; raises ``SnapshotError`` after that, and ``ConfigError`` if the folder cannot be
    written.
    """
    check_output_folder(folder, setting="snapshots folder")
    path = Path(folder) / LOCK_NAME
    lock = FileLock(path)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            warnings.warn(
                f"{folder}: another refresh is writing a snapshot here; waiting for it to finish "
                f"(at most {timeout:.0f} s).",
                NeedmapWarning,
                stacklevel=3,
            )
            lock.acquire(timeout=timeout)
    except Timeout:
        raise SnapshotError(
            f"{folder}: another refresh has held {path.name} for more than {timeout:.0f} s. A "
            "killed refresh releases it, so one is still running or stuck: wait for it or stop "
            "it, then refresh again."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"snapshots folder {folder}: cannot create the lock file {path.name} "
            f"({exc.strerror}). Set [output] folder in the config to a folder you can write to."
        ) from None
    try:
        yield
    finally:
        lock.release()
