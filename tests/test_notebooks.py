"""The analyst notebook runs top to bottom on the demo."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_off_the_radar_notebook_runs():
    nb = nbformat.read(ROOT / "notebooks" / "off_the_radar.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "142 LSOAs" in outputs  # Oldham, LSOA 2021
    assert "needmap: flagged" in outputs and "naive rule: flagged" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
