"""Shared fixtures: the demo config copied to a temporary folder, so tests never touch output/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, text: str | None = None, **replace: str) -> Path:
    """Write a copy of the demo needmap.toml with absolute paths and output under ``tmp_path``.

    Keyword arguments replace one string of the TOML with another (``old=new`` pairs are given as
    ``{"name": (old, new)}``-free keywords: each value is "old=>new").
    """
    text = text if text is not None else (ROOT / "needmap.toml").read_text()
    text = re.sub(r'(path|lookup) = "(?!/)([^"]+)"',
                  lambda m: f'{m.group(1)} = "{ROOT / m.group(2)}"', text)
    text = re.sub(r'"(data/synthetic/[^"]+)"', lambda m: f'"{ROOT / m.group(1)}"', text)
    text = text.replace('folder = "output"', f'folder = "{tmp_path / "output"}"')
    for spec in replace.values():
        old, new = spec.split("=>", 1)
        assert old in text, f"{old!r} not in config"
        text = text.replace(old, new)
    path = tmp_path / "needmap.toml"
    path.write_text(text)
    return path


@pytest.fixture
def demo_config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def demo_snapshot(tmp_path_factory):
    """One refresh of the bundled demo, shared by tests that only read it."""
    from needmap.config import load_config
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot

    tmp = tmp_path_factory.mktemp("demo")
    config = load_config(write_config(tmp))
    result = refresh(config)
    return load_snapshot(result.snapshot_path)


@pytest.fixture
def copy_to(tmp_path: Path):
    def _copy(src: Path, name: str | None = None) -> Path:
        dst = tmp_path / (name or src.name)
        shutil.copy(src, dst)
        return dst

    return _copy
